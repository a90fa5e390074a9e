//! `--events text`: the event stream as readable lines, one idea per line.
//!
//! Mental model: a small fold that turns each event into zero or more lines. Whole messages, not
//! tokens (`token` and `turn_started` print nothing); votes, picks and scores print through their
//! own events, so the model calls behind them print nothing either. The printer remembers each
//! handoff's endpoints so that later events about it (accepted, completed, …) can name them.
//! The run ends with one [`usage_line`] from the session's metrics. No colour, no cursor
//! movement: the output is meant for logs and pipes, and every line passes through
//! [`sanitize_text`], so no text from a model or a journal can carry a terminal escape sequence.

use std::collections::HashMap;

use crate::core::event::{
    Approval, Event, EventKind, FinishReason, Purpose, SelectedBy, VoteChoice,
};
use crate::core::metrics::Metrics;
use crate::text::sanitize_text;

/// Renders events as text lines.
#[derive(Debug, Default)]
pub struct TextPrinter {
    handoffs: HashMap<String, (String, String)>,
}

impl TextPrinter {
    pub fn new() -> Self {
        TextPrinter::default()
    }

    /// The lines for one event (none for events that text mode does not show), with every
    /// control character removed: reasons, error messages and replies come from models and
    /// people, and must not steer the terminal.
    pub fn lines(&mut self, e: &Event) -> Vec<String> {
        self.render(e)
            .into_iter()
            .map(|line| sanitize_text(&line))
            .collect()
    }

    fn render(&mut self, e: &Event) -> Vec<String> {
        match &e.kind {
            EventKind::SessionStarted {
                team,
                pattern,
                agents,
            } => {
                let names: Vec<String> = agents
                    .iter()
                    .map(|a| format!("{} ({}/{})", a.name, a.backend, a.model))
                    .collect();
                vec![format!(
                    "== team {team} ({}): {}",
                    pattern.as_str(),
                    names.join(", ")
                )]
            }
            EventKind::UserMessage {
                text,
                to,
                interject,
            } => {
                let who = match (to, interject) {
                    (_, true) => "you (interjecting)".to_string(),
                    (Some(to), false) => format!("you -> {to}"),
                    (None, false) => "you".to_string(),
                };
                block(&who, text)
            }
            EventKind::Message {
                agent,
                text,
                finish,
                purpose,
                ..
            } => {
                let shown = matches!(
                    purpose,
                    Purpose::Speak | Purpose::Aggregate | Purpose::Summarize
                );
                if !shown || text.trim().is_empty() {
                    return Vec::new();
                }
                let who = match purpose {
                    Purpose::Summarize => format!("{agent} (summary)"),
                    Purpose::Aggregate => format!("{agent} (synthesis)"),
                    _ => agent.clone(),
                };
                let mut out = block(&who, text.trim_end());
                if *finish == FinishReason::Length {
                    out.push("  [cut off at max_tokens]".into());
                }
                out
            }
            EventKind::TurnFailed {
                agent,
                error,
                will_retry,
                ..
            } => vec![format!(
                "! {agent} failed ({}): {}{}",
                error.kind,
                error.message,
                if *will_retry { " (retrying)" } else { "" }
            )],
            EventKind::TurnCancelled {
                agent,
                partial_text,
                ..
            } => {
                let mut line = format!("x {agent}'s turn was cancelled");
                if !partial_text.trim().is_empty() {
                    line.push_str(&format!(" after: {}", one_line(partial_text)));
                }
                vec![line]
            }
            EventKind::SpeakerSelected { agent, by, reason } => match by {
                SelectedBy::RoundRobin => Vec::new(),
                _ => {
                    let by = match by {
                        SelectedBy::Manager => "manager",
                        SelectedBy::Human => "you",
                        _ => "random",
                    };
                    let why = reason
                        .as_deref()
                        .map(|r| format!(": {}", one_line(r)))
                        .unwrap_or_default();
                    vec![format!("-> next speaker {agent} (picked by {by}{why})")]
                }
            },
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                approval,
                window_ms,
            } => {
                self.handoffs.insert(id.clone(), (from.clone(), to.clone()));
                let wait = match (approval, window_ms) {
                    (Some(Approval::Confirm), _) => " [awaiting approval]".to_string(),
                    (Some(Approval::Window), Some(ms)) => {
                        format!(" [{ms} ms to cancel or redirect]")
                    }
                    _ => String::new(),
                };
                vec![format!(
                    "=> handoff {from} -> {to}: {}{wait}",
                    one_line(reason)
                )]
            }
            EventKind::HandoffAccepted { id, reason } => {
                vec![format!(
                    "=> handoff {} accepted{}",
                    self.edge(id),
                    because(reason)
                )]
            }
            EventKind::HandoffRejected { id, reason } => {
                vec![format!(
                    "=> handoff {} rejected{}",
                    self.edge(id),
                    because(reason)
                )]
            }
            EventKind::HandoffRedirected {
                id,
                from_target,
                to,
                by,
            } => {
                if let Some(link) = self.handoffs.get_mut(id) {
                    link.1 = to.clone();
                }
                vec![format!(
                    "=> handoff redirected from {from_target} to {to} by {by}"
                )]
            }
            EventKind::HandoffCancelled { id, by } => {
                vec![format!("=> handoff {} cancelled by {by}", self.edge(id))]
            }
            EventKind::HandoffCompleted { id, summary } => {
                let (from, to) = self
                    .handoffs
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| ("?".into(), "?".into()));
                vec![format!(
                    "<= {to} hands back to {from}: {}",
                    one_line(summary)
                )]
            }
            EventKind::HandoffFallback { failed, to, .. } => {
                vec![format!(
                    "=> {failed} could not take over; falling back to {to}"
                )]
            }
            EventKind::Vote {
                round,
                agent,
                choice,
                reason,
            } => {
                let verb = match choice {
                    VoteChoice::Agree => "agrees",
                    VoteChoice::Disagree => "disagrees",
                    VoteChoice::Abstain => "abstains",
                };
                vec![format!(
                    "vote (round {round}): {agent} {verb}{}",
                    because(reason)
                )]
            }
            EventKind::Consensus {
                round,
                reached,
                agree,
                disagree,
                abstain,
                threshold,
            } => vec![format!(
                "consensus (round {round}): {} — {agree} agree, {disagree} disagree, {abstain} abstain (threshold {:.0}%)",
                if *reached { "reached" } else { "not reached" },
                threshold * 100.0
            )],
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => vec![format!("score {agent}: {score}/10{}", because(reason))],
            EventKind::Paused { by } => vec![format!("-- paused by {by}")],
            EventKind::Resumed { by } => vec![format!("-- resumed by {by}")],
            EventKind::Error { message, command } => {
                let mut line = format!("error: {message}");
                if let Some(c) = command {
                    line.push_str(&format!(" (command: {c})"));
                }
                vec![line]
            }
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => {
                let outcome = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let mut out = vec![format!("== finished: {outcome}")];
                if let Some(text) = final_text.as_deref().filter(|t| !t.trim().is_empty()) {
                    out.extend(block("final answer", text.trim_end()));
                }
                out
            }
            EventKind::TurnStarted { .. }
            | EventKind::Token { .. }
            | EventKind::ToolResult { .. } => Vec::new(),
        }
    }

    fn edge(&self, id: &str) -> String {
        match self.handoffs.get(id) {
            Some((from, to)) => format!("{from} -> {to}"),
            None => id.to_string(),
        }
    }
}

/// The closing line of a text run: the session's tokens, cost when priced and model calls, and
/// `run_ms`, the wall time of this run (a resumed session's earlier runs not counted).
pub fn usage_line(m: &Metrics, run_ms: Option<u64>) -> String {
    let count = |n: Option<u64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
    let mut line = format!(
        "== usage: {} tokens in, {} out",
        count(m.totals.input_tokens),
        count(m.totals.output_tokens)
    );
    if let Some(cost) = m.totals.cost {
        line.push_str(&format!(", ${cost:.4}"));
    }
    line.push_str(&format!(", {} model calls", m.totals.turns));
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

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn because(reason: &str) -> String {
    let r = one_line(reason);
    if r.is_empty() { r } else { format!(": {r}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{ErrorInfo, Outcome, UsageInfo};

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
            },
            ttft_ms: None,
            latency_ms: 1,
            finish: "stop".into(),
            purpose: Purpose::Speak,
            tool_calls: vec![],
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
            ["=> handoff triage -> billing: refund [awaiting approval]"]
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
