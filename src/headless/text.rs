//! `--events text`: the event stream as readable lines, one idea per line.
//!
//! Mental model: the words come from the view ([`describe`]); this printer only lays them out for
//! a log: a prefix per kind of event (`==`, `=>`, `!`, …), `->` for arrows, whole messages as
//! `who: first line` blocks. Events the view hides (tokens, turn starts, the model calls behind
//! votes and picks) and routine ones (round-robin picks) print nothing. The printer keeps core's
//! [`SessionState`] so that later events about a handoff can name its endpoints. The run ends
//! with one [`usage_line`] from the session's metrics. No colour, no cursor movement: every line
//! passes through [`sanitize_text`], so no text from a model or a journal can carry a terminal
//! escape sequence.

use crate::core::event::Event;
use crate::core::metrics::Metrics;
use crate::core::state::SessionState;
use crate::text::sanitize_text;
use crate::view::{Mark, Parts, Shape, describe};

/// Renders events as text lines.
#[derive(Debug, Default)]
pub struct TextPrinter {
    state: SessionState,
}

impl TextPrinter {
    pub fn new() -> Self {
        TextPrinter::default()
    }

    /// The lines for one event (none for events that text mode does not show), with every
    /// control character removed: reasons, error messages and replies come from models and
    /// people, and must not steer the terminal.
    pub fn lines(&mut self, e: &Event) -> Vec<String> {
        let parts = describe(e, &self.state);
        self.state.apply(e);
        render(&parts)
            .into_iter()
            .map(|line| sanitize_text(&line))
            .collect()
    }
}

fn render(p: &Parts) -> Vec<String> {
    if p.routine {
        return Vec::new();
    }
    let body = p.body.as_deref().unwrap_or("").trim_end();
    match p.shape {
        Shape::Hidden => Vec::new(),
        Shape::Speech => {
            let mut out = block(&p.plain(ARROW), body);
            if let Some(status) = &p.status {
                out.push(format!("  [{status}]"));
            }
            out
        }
        Shape::Line => {
            let mut out = vec![format!("{}{}", prefix(p.mark), p.plain(ARROW))];
            if p.mark == Mark::End && !body.is_empty() {
                out.extend(block("final answer", body));
            }
            if p.mark == Mark::Plan && !body.is_empty() {
                out.extend(body.lines().map(|l| format!("   {l}")));
            }
            out
        }
    }
}

const ARROW: &str = "->";

fn prefix(mark: Mark) -> &'static str {
    match mark {
        Mark::Session | Mark::End => "== ",
        Mark::Failure => "! ",
        Mark::Cancel => "x ",
        Mark::Pick => "-> ",
        Mark::Handoff => "=> ",
        Mark::HandBack => "<= ",
        Mark::Control => "-- ",
        Mark::Tool => "# ",
        Mark::Plan => "[] ",
        _ => "",
    }
}

/// The closing line of a text run: the session's tokens (`~` when some were estimated), cost
/// when priced and model calls, and `run_ms`, the wall time of this run (a resumed session's
/// earlier runs not counted).
pub fn usage_line(m: &Metrics, run_ms: Option<u64>) -> String {
    let mark = if m.totals.estimated { "~" } else { "" };
    let count = |n: Option<u64>| n.map_or_else(|| "?".to_string(), |n| format!("{mark}{n}"));
    let mut line = format!(
        "== usage: {} tokens in, {} out",
        count(m.totals.input_tokens),
        count(m.totals.output_tokens)
    );
    if let Some(cost) = m.totals.cost {
        line.push_str(&format!(", ${cost:.4}"));
    }
    let calls = m.totals.turns;
    line.push_str(&format!(
        ", {calls} model call{}",
        if calls == 1 { "" } else { "s" }
    ));
    if let Some(ms) = run_ms {
        line.push_str(&format!(", {:.1} s", ms as f64 / 1000.0));
    }
    line
}

/// `who: first line` and the following lines indented by two spaces.
fn block(who: &str, text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let mut out = vec![format!("{who}: {first}")];
    out.extend(lines.map(|l| {
        if l.is_empty() {
            String::new()
        } else {
            format!("  {l}")
        }
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{ErrorInfo, EventKind, Outcome, Purpose, UsageInfo, VoteChoice};

    fn ev(kind: EventKind) -> Event {
        Event {
            v: 1,
            seq: 0,
            ts: chrono::DateTime::from_timestamp_millis(0).unwrap(),
            session: "s".into(),
            kind,
        }
    }

    #[test]
    fn messages_print_whole_with_continuation_lines() {
        let mut p = TextPrinter::new();
        let lines = p.lines(&ev(EventKind::Message {
            agent: "developer".into(),
            turn: 3,
            text: "Here:\n\n```rust\nfn f() {}\n```\n".into(),
            usage: UsageInfo::default(),
            ttft_ms: None,
            latency_ms: 5,
            finish: "length".into(),
            purpose: Purpose::Speak,
            tool_calls: vec![],
            served_by: None,
            continues: false,
        }));
        assert_eq!(
            lines,
            [
                "developer: Here:",
                "",
                "  ```rust",
                "  fn f() {}",
                "  ```",
                "  [cut off at max_tokens]"
            ]
        );
        let vote_call = ev(EventKind::Message {
            agent: "a".into(),
            turn: 4,
            text: "".into(),
            usage: UsageInfo::default(),
            ttft_ms: None,
            latency_ms: 5,
            finish: "tool_calls".into(),
            purpose: Purpose::Vote,
            tool_calls: vec![],
            served_by: None,
            continues: false,
        });
        assert!(p.lines(&vote_call).is_empty());
    }

    #[test]
    fn usage_line_marks_unknown_counts() {
        let mut m = Metrics::new(Default::default());
        assert_eq!(
            usage_line(&m, None),
            "== usage: ? tokens in, ? out, 0 model calls"
        );
        m.apply(&ev(EventKind::Message {
            agent: "a".into(),
            turn: 0,
            text: "x".into(),
            usage: UsageInfo {
                input: Some(12),
                output: None,
                estimated: false,
            },
            ttft_ms: None,
            latency_ms: 1,
            finish: "stop".into(),
            purpose: Purpose::Speak,
            tool_calls: vec![],
            served_by: None,
            continues: false,
        }));
        assert_eq!(
            usage_line(&m, Some(2345)),
            "== usage: 12 tokens in, ? out, 0 model calls, 2.3 s"
        );
    }

    #[test]
    fn no_line_carries_a_control_sequence() {
        let mut p = TextPrinter::new();
        let evil = "x\u{1b}]0;pwned\u{7}y\u{1b}[2Jz\u{9b}";
        let mut all = p.lines(&ev(EventKind::Vote {
            round: 1,
            agent: "a".into(),
            choice: VoteChoice::Agree,
            reason: evil.into(),
        }));
        all.extend(p.lines(&ev(EventKind::Error {
            message: evil.into(),
            command: None,
        })));
        assert_eq!(all, ["vote (round 1): a agrees: xyz", "error: xyz"]);
    }

    #[test]
    fn handoffs_are_named_by_their_endpoints() {
        let mut p = TextPrinter::new();
        let req = p.lines(&ev(EventKind::HandoffRequested {
            id: "h1".into(),
            from: "triage".into(),
            to: "billing".into(),
            reason: "refund".into(),
            approval: Some("confirm".into()),
            window_ms: None,
        }));
        assert_eq!(
            req,
            ["=> handoff triage -> billing requested: refund [awaiting approval]"]
        );
        p.lines(&ev(EventKind::HandoffRedirected {
            id: "h1".into(),
            from_target: "billing".into(),
            to: "tech".into(),
            by: "user".into(),
        }));
        let done = p.lines(&ev(EventKind::HandoffCompleted {
            id: "h1".into(),
            summary: "fixed".into(),
        }));
        assert_eq!(done, ["<= tech hands back to triage: fixed"]);
    }

    #[test]
    fn votes_consensus_failures_and_the_end() {
        let mut p = TextPrinter::new();
        let mut all = Vec::new();
        for kind in [
            EventKind::Vote {
                round: 1,
                agent: "skeptic".into(),
                choice: VoteChoice::Disagree,
                reason: "too risky".into(),
            },
            EventKind::Consensus {
                round: 1,
                reached: false,
                agree: 1,
                disagree: 2,
                abstain: 0,
                threshold: 0.67,
            },
            EventKind::TurnFailed {
                agent: "a".into(),
                turn: 1,
                error: ErrorInfo {
                    kind: "overloaded".into(),
                    message: "busy".into(),
                },
                will_retry: true,
                usage: Default::default(),
            },
            EventKind::SessionFinished {
                outcome: Outcome::Consensus,
                final_text: Some("ship it".into()),
            },
        ] {
            all.extend(p.lines(&ev(kind)));
        }
        assert_eq!(
            all,
            [
                "vote (round 1): skeptic disagrees: too risky",
                "consensus (round 1): not reached — 1 agree, 2 disagree, 0 abstain (threshold 67%)",
                "! a failed (overloaded): busy (retrying)",
                "== finished: consensus",
                "final answer: ship it",
            ]
        );
    }
}
