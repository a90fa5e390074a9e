//! `sessions diff A B`: where two recorded sessions first go different ways, and how they end.
//!
//! Mental model: each journal becomes a list of *steps*: its events as JSON objects without the
//! envelope (`v`, `seq`, `ts`, `session`), without `token` events (the writer coalesces them
//! differently from run to run; every `message` carries the full text anyway) and without the
//! fields that are timing, not behaviour (`ttft_ms`, `latency_ms`, `ms`). `session_started` is
//! compared apart (other backends or models are listed as `setup`, and the steps still compare,
//! so a live run and its replay can be diffed). The rest is walked in step; a run of steps that
//! both sides hold in another order (parallel votes finishing differently) is concurrency, not a
//! divergence; the first pair that is not equal is the divergence, classified by what it is about
//! (speaker, handoff, vote, tool call, plan, text, outcome, or the event type itself) and shown as
//! the fields in which the two differ. This works on JSON, not on [`crate::core::EventKind`], so an
//! event type this module has never heard of is compared like any other: by type and fields.
//! The rest is summed up per side by the view's [`summarize`] (messages, tokens, cost, outcome).

use serde::Serialize;
use serde_json::{Map, Value};

use super::index::summarize;
use super::journal::Journal;

/// Fields that measure time, not behaviour: never a divergence.
const TIMING: &[&str] = &["ttft_ms", "latency_ms", "ms"];

/// What two sessions have in common and where they part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionDiff {
    pub a: Side,
    pub b: Side,
    /// Both sessions did the same things in the same order.
    #[serde(rename = "match")]
    pub matches: bool,
    /// The fields of `session_started` that differ (`agents` when a backend or model differs):
    /// reported apart, so a replay of a live session on other backends still compares step by step.
    pub setup: Vec<String>,
    /// Runs of steps that both sessions took in a different order (concurrent calls finishing
    /// in another order: parallel votes, fan-out candidates). Not a divergence.
    pub reordered: usize,
    /// The first step at which they differ, `null` when they match.
    pub divergence: Option<Divergence>,
}

/// One session's summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Side {
    pub id: String,
    pub team: String,
    /// Model replies (`message` events).
    pub turns: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    pub outcome: String,
    /// Steps compared (events other than tokens).
    pub steps: usize,
}

/// The first pair of steps that differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    /// `speaker`, `handoff`, `vote`, `tool_call`, `plan`, `text`, `outcome`, or the event
    /// type when none of these fits.
    pub category: String,
    /// Steps both sessions share before it.
    pub common: usize,
    /// The seq of A's event there (`null`: A had ended).
    pub a_seq: Option<u64>,
    pub b_seq: Option<u64>,
    /// A's event without its envelope (`null`: A had ended).
    pub a_event: Option<Value>,
    pub b_event: Option<Value>,
    /// The fields whose values differ (`type` when the events are of different types).
    pub fields: Vec<String>,
}

/// Compare two journals.
pub fn diff(a: &Journal, b: &Journal) -> SessionDiff {
    let (mut sa, mut sb) = (steps(a), steps(b));
    let start = |s: &mut Vec<Step>| {
        let first = s
            .first()
            .and_then(|(_, m)| m.get("type"))
            .and_then(Value::as_str);
        (first == Some("session_started")).then(|| s.remove(0).1)
    };
    let setup = match (start(&mut sa), start(&mut sb)) {
        (None, None) => Vec::new(),
        (x, y) => differing_fields(x.as_ref(), y.as_ref()),
    };
    let (common, reordered) = walk(&sa, &sb);
    let divergence = (common < sa.len() || common < sb.len()).then(|| {
        let ea = sa.get(common);
        let eb = sb.get(common);
        let fields = differing_fields(ea.map(|s| &s.1), eb.map(|s| &s.1));
        Divergence {
            category: category(ea.map(|s| &s.1), eb.map(|s| &s.1), &fields),
            common,
            a_seq: ea.map(|s| s.0),
            b_seq: eb.map(|s| s.0),
            a_event: ea.map(|s| Value::Object(s.1.clone())),
            b_event: eb.map(|s| Value::Object(s.1.clone())),
            fields,
        }
    });
    SessionDiff {
        a: side(a, sa.len()),
        b: side(b, sb.len()),
        matches: divergence.is_none() && setup.is_empty(),
        setup,
        reordered,
        divergence,
    }
}

/// The longest run of steps a window may reorder and still count as the same.
const REORDER_WINDOW: usize = 64;

type Step = (u64, Map<String, Value>);

/// How many steps the two sessions share (and how many runs of them came in another order).
/// Where they first differ, a run of the next steps that holds the same steps on both sides in
/// another order is concurrency, not a divergence: turn numbers are given out as calls start, so
/// two speakers taking turns in another order never look alike, while parallel votes finishing
/// in another order do.
fn walk(a: &[Step], b: &[Step]) -> (usize, usize) {
    let n = a.len().min(b.len());
    let (mut i, mut reordered) = (0, 0);
    loop {
        while i < n && a[i].1 == b[i].1 {
            i += 1;
        }
        if i == n {
            return (i, reordered);
        }
        let key = |s: &Step| serde_json::to_string(&s.1).unwrap_or_default();
        let end = (i + REORDER_WINDOW).min(n);
        let same = (i + 2..=end).find(|&j| {
            let mut x: Vec<String> = a[i..j].iter().map(key).collect();
            let mut y: Vec<String> = b[i..j].iter().map(key).collect();
            x.sort_unstable();
            y.sort_unstable();
            x == y
        });
        match same {
            Some(j) => {
                reordered += 1;
                i = j;
            }
            None => return (i, reordered),
        }
    }
}

fn side(journal: &Journal, steps: usize) -> Side {
    let s = summarize(journal);
    Side {
        id: s.id,
        team: s.team,
        turns: s.messages,
        tokens_in: s.tokens_in,
        tokens_out: s.tokens_out,
        cost: s.cost,
        outcome: s.outcome,
        steps,
    }
}

/// The journal's events as comparable steps, each with its seq.
fn steps(journal: &Journal) -> Vec<Step> {
    journal
        .events
        .iter()
        .filter_map(|e| match serde_json::to_value(e) {
            Ok(Value::Object(mut m)) => {
                if m.get("type").and_then(Value::as_str) == Some("token") {
                    return None;
                }
                for key in ["v", "seq", "ts", "session"].iter().chain(TIMING) {
                    m.remove(*key);
                }
                Some((e.seq, m))
            }
            _ => None,
        })
        .collect()
}

fn differing_fields(a: Option<&Map<String, Value>>, b: Option<&Map<String, Value>>) -> Vec<String> {
    let (Some(a), Some(b)) = (a, b) else {
        return vec!["type".into()];
    };
    if a.get("type") != b.get("type") {
        return vec!["type".into()];
    }
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// What a divergence is about, from the event type(s) and the fields that differ.
fn category(
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
    fields: &[String],
) -> String {
    let ty = |m: Option<&Map<String, Value>>| {
        m.and_then(|m| m.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (ta, tb) = (ty(a), ty(b));
    // When one side has a step the other does not, the side that has one says what it is about.
    let t = if ta.is_empty() {
        tb.clone()
    } else {
        ta.clone()
    };
    let has = |f: &str| fields.iter().any(|x| x == f);
    let by_type = |t: &str| -> Option<&'static str> {
        Some(match t {
            "speaker_selected" => "speaker",
            "turn_started" if has("agent") => "speaker",
            "vote" | "consensus" => "vote",
            "message" | "user_message" | "turn_cancelled" => "text",
            "session_finished" => "outcome",
            _ if t.starts_with("handoff_") || t == "context_edited" => "handoff",
            _ if t.starts_with("tool_") || t == "guard_tripped" => "tool_call",
            _ if t.starts_with("plan_")
                || t.starts_with("task_")
                || t.starts_with("compensation_")
                || t == "replanned" =>
            {
                "plan"
            }
            _ => return None,
        })
    };
    if ta != tb && !ta.is_empty() && !tb.is_empty() {
        // Different kinds of step (one handed off where the other voted): the more telling of
        // the two names it, in the order of [`PRIORITY`].
        let rank = |c: Option<&str>| c.and_then(|c| PRIORITY.iter().position(|p| *p == c));
        let (ca, cb) = (by_type(&ta), by_type(&tb));
        return match (rank(ca), rank(cb)) {
            (Some(x), Some(y)) if y < x => cb.map_or(t, str::to_string),
            (Some(_), _) => ca.map_or(t, str::to_string),
            (None, Some(_)) => cb.map_or(t, str::to_string),
            (None, None) => t,
        };
    }
    by_type(&t).map_or(t, str::to_string)
}

/// Which category names a divergence between steps of two different kinds: the first found.
const PRIORITY: &[&str] = &[
    "handoff",
    "tool_call",
    "plan",
    "speaker",
    "vote",
    "outcome",
    "text",
];

/// The diff as text for a person: where the sessions part, then the two summaries side by side.
pub fn to_text(d: &SessionDiff) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if !d.setup.is_empty() {
        let _ = writeln!(
            out,
            "The sessions start differently: {} (see `sessions show`).",
            d.setup.join(", ")
        );
    }
    match &d.divergence {
        None if !d.setup.is_empty() => {
            let _ = writeln!(out, "After that, the same {} steps.", d.a.steps);
        }
        None => {
            let _ = writeln!(
                out,
                "{} and {} match: the same {} steps.",
                d.a.id, d.b.id, d.a.steps
            );
        }
        Some(_) => {}
    }
    if d.reordered > 0 {
        let _ = writeln!(
            out,
            "({} run(s) of concurrent steps finished in another order; that is not a divergence.)",
            d.reordered
        );
    }
    match &d.divergence {
        None => {}
        Some(v) => {
            let at = |seq: Option<u64>| seq.map_or("(ended)".to_string(), |s| format!("seq {s}"));
            let _ = writeln!(
                out,
                "First divergence: {} after {} common steps (A {}, B {}).",
                v.category,
                v.common,
                at(v.a_seq),
                at(v.b_seq)
            );
            for (name, event) in [("A", &v.a_event), ("B", &v.b_event)] {
                let _ = writeln!(out, "  {name}: {}", describe(event.as_ref(), &v.fields));
            }
        }
    }
    let cells = |s: &Side| {
        [
            s.id.clone(),
            s.team.clone(),
            s.turns.to_string(),
            format!("{} in / {} out", s.tokens_in, s.tokens_out),
            super::export::money(s.cost),
            s.outcome.clone(),
        ]
    };
    let (ca, cb) = (cells(&d.a), cells(&d.b));
    let names = ["session", "team", "turns", "tokens", "cost", "outcome"];
    let width = ca.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let _ = writeln!(out, "\n{:<8} {:<width$}  B", "", "A");
    for ((name, a), b) in names.iter().zip(&ca).zip(&cb) {
        let _ = writeln!(out, "{name:<8} {a:<width$}  {b}");
    }
    out
}

/// `message agent=optimist text="We should…"`: the type and the differing fields, one line.
fn describe(event: Option<&Value>, fields: &[String]) -> String {
    let Some(Value::Object(m)) = event else {
        return "(no more events)".into();
    };
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("?");
    let mut shown: Vec<&str> = ["agent", "turn"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    for f in fields {
        if f != "type" && !shown.contains(&f.as_str()) {
            shown.push(f);
        }
    }
    if fields.iter().any(|f| f == "type") {
        // A different kind of step: its identifying fields say enough.
        for k in ["to", "choice", "tool", "outcome", "id"] {
            if m.contains_key(k) && !shown.contains(&k) {
                shown.push(k);
            }
        }
    }
    let mut line = ty.to_string();
    for k in shown {
        if let Some(v) = m.get(k) {
            let v = match v {
                Value::String(s) => format!("{:?}", crate::view::one_line(s)),
                other => other.to_string(),
            };
            line.push_str(&format!(" {k}={}", crate::text::clip(&v, 100)));
        }
    }
    line
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
