//! Rendering a journal for people and programs: `show` (plain text transcript), `export --format
//! md` (Markdown with agents, conversation, handoffs, votes, the plan, scores, metrics and the
//! final answer)
//! and `export --format json` (the full event array).
//!
//! Mental model: the journal is folded once through the [`View`]; the words of every event come
//! from the view's [`Parts`] and the numbers from its ledger, so `show`, the export and the live
//! console say the same things and agree on cost. This module only lays them out: speeches as
//! headings with their text (a cancelled turn too, and at the end any turn that never finished,
//! marked `interrupted`), everything else as one-line notes; each entry carries the `seq` of its
//! event (a left margin in `show`, a code span in Markdown) so a fork point can be read off.

mod plan;

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::error::JournalError;
use super::index::summarize;
use super::journal::Journal;
use crate::view::{Mark, Parts, Shape, View, one_line};

/// The events as a pretty JSON array.
pub fn to_json(journal: &Journal) -> Result<String, JournalError> {
    serde_json::to_string_pretty(&journal.events).map_err(|source| JournalError::Encode {
        path: journal.path.clone(),
        source,
    })
}

/// The session as a Markdown document.
pub fn to_markdown(journal: &Journal) -> String {
    let h = &journal.header;
    let summary = summarize(journal);
    let (view, items) = fold(journal);
    let mut out = String::new();
    let _ = writeln!(out, "# {} ({})\n", h.team, h.pattern.as_str());
    let _ = write!(
        out,
        "Session `{}` · started {} · outcome: **{}**",
        h.session,
        stamp(h.started),
        summary.outcome
    );
    if let Some((from, seq)) = &h.forked_from {
        let _ = write!(out, " · forked from `{from}` at seq {seq}");
    }
    out.push_str("\n\n## Agents\n\n| agent | backend | model |\n|---|---|---|\n");
    for a in &view.state.agents {
        let _ = writeln!(out, "| {} | {} | {} |", a.name, a.backend, a.model);
    }
    out.push_str("\n## Conversation\n");
    for (seq, item) in &items {
        // The seq of each entry, so `sessions fork ID --at SEQ` can be typed from what is read.
        let at = seq.map(|s| format!("`{s}` ")).unwrap_or_default();
        match item {
            Item::Speech {
                heading,
                body,
                status,
            } => {
                let _ = writeln!(out, "\n### {at}{heading}\n");
                if !body.is_empty() {
                    let _ = writeln!(out, "{body}");
                }
                if let Some(status) = status {
                    let _ = writeln!(out, "\n_({status})_");
                }
            }
            Item::Note(note) => {
                let _ = writeln!(out, "\n> {at}{note}");
            }
        }
    }
    plan::push_plan(&mut out, &view.state.plan);
    if !view.scores.is_empty() {
        out.push_str("\n## Scores\n\n| agent | score | reason |\n|---|---|---|\n");
        for (agent, score, reason) in &view.scores {
            let _ = writeln!(out, "| {agent} | {score} | {} |", one_line(reason));
        }
    }
    out.push_str("\n## Metrics\n\n| agent | turns | tokens in | tokens out | cost |\n|---|---:|---:|---:|---:|\n");
    let ledger = view.ledger();
    for row in &ledger {
        let m = row.metrics;
        // `~`: the counts include an estimate (the server reported no usage for some call).
        let mark = if m.estimated > 0 { "~" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {} | {mark}{} | {mark}{} | {} |",
            row.agent,
            m.messages,
            m.input_tokens.unwrap_or(0),
            m.output_tokens.unwrap_or(0),
            money(m.cost)
        );
    }
    let _ = writeln!(
        out,
        "| **total** | {} | {} | {} | {} |",
        ledger.iter().map(|r| r.metrics.messages).sum::<u64>(),
        summary.tokens_in,
        summary.tokens_out,
        money(summary.cost)
    );
    if let Some(text) = &view.final_text {
        let _ = writeln!(out, "\n## Final answer\n\n{text}");
    }
    out
}

/// The session as a plain-text transcript.
pub fn to_text(journal: &Journal) -> String {
    let h = &journal.header;
    let summary = summarize(journal);
    let (view, items) = fold(journal);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Session {} · team {} ({}) · started {}",
        h.session,
        h.team,
        h.pattern.as_str(),
        stamp(h.started)
    );
    if let Some((from, seq)) = &h.forked_from {
        let _ = writeln!(out, "Forked from {from} at seq {seq}");
    }
    let agents: Vec<String> = view
        .state
        .agents
        .iter()
        .map(|a| format!("{} ({}/{})", a.name, a.backend, a.model))
        .collect();
    if !agents.is_empty() {
        let _ = writeln!(out, "Agents: {}", agents.join(", "));
    }
    // A margin with each entry's seq, as wide as the largest.
    let width = journal.last_seq().unwrap_or(0).to_string().len();
    let margin = |seq: &Option<u64>| match seq {
        Some(s) => format!("{s:>width$}  "),
        None => " ".repeat(width + 2),
    };
    let blank = " ".repeat(width + 2);
    for (seq, item) in &items {
        match item {
            Item::Speech {
                heading,
                body,
                status,
            } => {
                let _ = writeln!(out, "\n{}{heading}:", margin(seq));
                let mut indented = String::new();
                push_indented(&mut indented, body);
                if let Some(status) = status {
                    let _ = writeln!(indented, "  ({status})");
                }
                for line in indented.lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "{blank}{line}");
                    }
                }
            }
            Item::Note(note) => {
                let _ = writeln!(out, "{}· {note}", margin(seq));
            }
        }
    }
    let _ = writeln!(
        out,
        "\nOutcome: {} · {} messages · {} tokens · cost {}",
        summary.outcome,
        summary.messages,
        summary.tokens(),
        money(summary.cost)
    );
    if let Some(text) = &view.final_text {
        out.push_str("Final answer:\n");
        push_indented(&mut out, text);
    }
    // Replies, reasons and error messages come from models and people: the journal reader
    // sanitized every string of every event, so none can steer the terminal `sessions show`
    // prints to.
    out
}

/// One item of a transcript, as both text forms lay it out.
enum Item {
    Speech {
        /// `optimist (turn 1, round 1)`, `you → skeptic (interjection)`.
        heading: String,
        body: String,
        /// `cancelled`, `interrupted`, … for turns that did not end with a message.
        status: Option<String>,
    },
    Note(String),
}

/// The journal through the view: the folded view and the transcript items in order, each with
/// the seq of its event (none for a turn that never finished).
fn fold(journal: &Journal) -> (View, Vec<(Option<u64>, Item)>) {
    let mut view = View::new(journal.header.prices.clone());
    let mut items = Vec::new();
    for event in &journal.events {
        let parts = view.push(event);
        items.extend(item(&parts).map(|i| (Some(event.seq), i)));
    }
    items.extend(view.unfinished().iter().filter_map(item).map(|i| (None, i)));
    (view, items)
}

fn item(p: &Parts) -> Option<Item> {
    match p.shape {
        // The header already names the team and its agents.
        Shape::Hidden | Shape::Line if p.mark == Mark::Session => None,
        Shape::Hidden => None,
        Shape::Speech => Some(speech(p, p.plain(ARROW))),
        // A cancelled turn still said something: show it as a speech where it was said.
        Shape::Line if p.mark == Mark::Cancel => Some(speech(p, p.who.clone().unwrap_or_default())),
        Shape::Line => Some(Item::Note(p.plain(ARROW))),
    }
}

/// `heading (turn 3, round 1)` with the body and status of `p`.
fn speech(p: &Parts, mut heading: String) -> Item {
    match (p.turn, p.round) {
        (Some(t), Some(r)) => {
            let _ = write!(heading, " (turn {t}, round {r})");
        }
        (Some(t), None) => {
            let _ = write!(heading, " (turn {t})");
        }
        _ => {}
    }
    Item::Speech {
        heading,
        body: p.body.clone().unwrap_or_default(),
        status: p.status.clone(),
    }
}

const ARROW: &str = "→";

fn push_indented(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
}

/// `$0.0123`, or `-` when unknown.
pub(crate) fn money(cost: Option<f64>) -> String {
    match cost {
        Some(c) if c >= 1.0 => format!("${c:.2}"),
        Some(c) => format!("${c:.4}"),
        None => "-".into(),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
