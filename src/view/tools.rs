//! What MCP tool events say (the `describe` of `tool_call` … `tool_interrupted`, and of a
//! `tool_result` of an MCP call): one line each, arguments folded to one line, a result as its
//! first line with its size and duration. Pure, like [`super::describe`].
//!
//! [`ToolCalls`] is the screen's side of the calls: core's
//! [`Calls`](crate::core::state::calls::Calls) folds what the orchestrator needs (who asked,
//! what, how the call stands); a screen also shows when a call started waiting (the window
//! countdown), its result, its duration and why it was rejected, so the view keeps those, and
//! [`ToolCalls::get`] joins both into one [`CallView`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::core::event::{Event, EventKind};
use crate::core::state::SessionState;
use crate::core::state::calls::{BY_POLICY, CallRecord, CallStatus};

use super::parts::{Mark, Parts, Shape, Tone};

/// Longest folded arguments or result line shown.
pub const FOLD: usize = 120;

/// `text` on one line, cut to `max` characters with `…`.
pub fn fold(text: &str, max: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let cut: String = one.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `server.tool` of call `id`, or the id when the call was never seen.
fn subject(state: &SessionState, id: &str) -> String {
    state
        .calls
        .get(id)
        .map_or(id.to_string(), |c| format!("{}.{}", c.server, c.tool))
}

fn line(tone: Tone) -> Parts {
    Parts::new(Shape::Line, Mark::Tool, tone)
}

/// The parts of one tool event (others are hidden).
pub fn describe(kind: &EventKind, state: &SessionState) -> Parts {
    match kind {
        EventKind::ToolCall {
            agent,
            turn,
            server,
            tool,
            arguments,
            ..
        } => {
            let mut p = line(Tone::Normal)
                .who(agent)
                .verb("calls")
                .target(&format!("{server}.{tool}"))
                .detail_sep(" ", &fold(arguments, FOLD));
            p.turn = Some(*turn);
            p
        }
        EventKind::ToolApprovalRequested {
            call_id,
            approval,
            window_ms,
        } => {
            let how = match window_ms {
                Some(ms) => format!("(runs in {:.1} s unless rejected)", *ms as f64 / 1000.0),
                None => format!("({}: approve or reject)", approval.as_str()),
            };
            line(Tone::Warn)
                .word(subject(state, call_id))
                .verb("waits")
                .word(how)
        }
        EventKind::ToolApproved { call_id, by, .. } => {
            let mut p = line(Tone::Good)
                .word(subject(state, call_id))
                .verb("approved")
                .word(format!("by {by}"));
            p.routine = by == BY_POLICY;
            p
        }
        EventKind::ToolRejected {
            call_id,
            by,
            reason,
            ..
        } => line(Tone::Bad)
            .word(subject(state, call_id))
            .verb("rejected")
            .word(format!("by {by}"))
            .detail(reason),
        EventKind::ToolInterrupted { call_id } => line(Tone::Warn)
            .word(subject(state, call_id))
            .verb("interrupted")
            .word("(the process stopped during the call; not re-run)"),
        EventKind::ToolResult {
            call_id,
            content,
            is_error,
            ms,
            turn,
            ..
        } => {
            let tone = if *is_error { Tone::Bad } else { Tone::Normal };
            let first = content.lines().next().unwrap_or("");
            let size = match ms {
                Some(ms) => format!("({} bytes, {ms} ms)", content.len()),
                None => format!("({} bytes)", content.len()),
            };
            let verb = if *is_error { "failed" } else { "returned" };
            let mut p = line(tone)
                .word(subject(state, call_id))
                .verb(verb)
                .word(size)
                .detail(&fold(first, FOLD));
            p.body = Some(content.clone());
            p.turn = Some(*turn);
            p
        }
        _ => Parts::hidden(),
    }
}

/// What a screen keeps of one call beside core's record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallExtra {
    /// When it began waiting for the person, and the window it waits (none: `confirm`).
    pub waiting_since: Option<DateTime<Utc>>,
    pub window_ms: Option<u64>,
    /// Its `tool_result`: content, error or not, and how long the server took.
    pub result: Option<(String, bool, Option<u64>)>,
    /// Who rejected it and why.
    pub rejected: Option<(String, String)>,
}

/// The extras of every MCP call of the session, by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCalls {
    extras: BTreeMap<String, CallExtra>,
}

/// One call as a screen shows it: core's record joined with the view's extras.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallView<'a> {
    pub id: &'a str,
    pub record: &'a CallRecord,
    pub extra: Option<&'a CallExtra>,
}

impl CallView<'_> {
    /// `server.tool`.
    pub fn subject(&self) -> String {
        format!("{}.{}", self.record.server, self.record.tool)
    }

    /// The result: content, whether it is an error, and the server's time.
    pub fn result(&self) -> Option<(&str, bool, Option<u64>)> {
        let (content, is_error, ms) = self.extra?.result.as_ref()?;
        Some((content.as_str(), *is_error, *ms))
    }

    /// Milliseconds left in its approval window at `now` (none: it does not wait in a window).
    pub fn window_left_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        if self.record.status != CallStatus::Waiting {
            return None;
        }
        let extra = self.extra?;
        let (since, window) = (extra.waiting_since?, extra.window_ms?);
        let spent = u64::try_from((now - since).num_milliseconds()).unwrap_or(0);
        Some(window.saturating_sub(spent))
    }
}

impl ToolCalls {
    /// Fold one event in (only tool events change anything).
    pub fn apply(&mut self, e: &Event) {
        match &e.kind {
            EventKind::ToolApprovalRequested {
                call_id, window_ms, ..
            } => {
                let x = self.extras.entry(call_id.clone()).or_default();
                x.waiting_since = Some(e.ts);
                x.window_ms = *window_ms;
            }
            EventKind::ToolRejected {
                call_id,
                by,
                reason,
            } => {
                self.extras.entry(call_id.clone()).or_default().rejected =
                    Some((by.clone(), reason.clone()));
            }
            EventKind::ToolResult {
                call_id,
                content,
                is_error,
                ms,
                server: Some(_),
                ..
            } => {
                self.extras.entry(call_id.clone()).or_default().result =
                    Some((content.clone(), *is_error, *ms));
            }
            _ => {}
        }
    }

    /// Call `id` of `state`, if the session saw it asked for.
    pub fn get<'a>(&'a self, state: &'a SessionState, id: &'a str) -> Option<CallView<'a>> {
        let record = state.calls.get(id)?;
        Some(CallView {
            id,
            record,
            extra: self.extras.get(id),
        })
    }

    /// The calls waiting for the person, oldest first.
    pub fn waiting<'a>(&'a self, state: &'a SessionState) -> Vec<CallView<'a>> {
        state
            .calls
            .waiting()
            .map(|(id, record)| CallView {
                id,
                record,
                extra: self.extras.get(id),
            })
            .collect()
    }
}

/// `340 B`, `2.1 KB`, `1.5 MB`: a result's size.
pub fn size(bytes: usize) -> String {
    match bytes {
        0..1000 => format!("{bytes} B"),
        1000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1000.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_to_one_short_line() {
        assert_eq!(fold("a\n  b\tc", 10), "a b c");
        assert_eq!(fold("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn a_result_says_its_first_line_size_and_time() {
        let p = describe(
            &EventKind::ToolResult {
                agent: "a".into(),
                turn: 1,
                call_id: "c".into(),
                name: "fs__read".into(),
                content: "line one\nline two".into(),
                is_error: false,
                server: Some("fs".into()),
                ms: Some(12),
            },
            &SessionState::default(),
        );
        assert_eq!(p.plain("->"), "c returned (17 bytes, 12 ms): line one");
    }

    #[test]
    fn the_view_joins_core_records_with_wait_result_and_rejection() {
        use crate::core::event::Approval;
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut state = SessionState::default();
        let mut calls = ToolCalls::default();
        let feed = |state: &mut SessionState, calls: &mut ToolCalls, ms: i64, kind: EventKind| {
            let e = Event {
                v: 1,
                seq: 0,
                ts: t0 + chrono::TimeDelta::milliseconds(ms),
                session: "s".into(),
                kind,
            };
            state.calls.apply(&e.kind);
            calls.apply(&e);
        };
        feed(
            &mut state,
            &mut calls,
            0,
            EventKind::ToolCall {
                agent: "a".into(),
                turn: 1,
                call_id: "c1".into(),
                server: "fs".into(),
                tool: "write".into(),
                arguments: "{}".into(),
            },
        );
        feed(
            &mut state,
            &mut calls,
            10,
            EventKind::ToolApprovalRequested {
                call_id: "c1".into(),
                approval: Approval::Window,
                window_ms: Some(3000),
            },
        );
        let now = t0 + chrono::TimeDelta::milliseconds(1010);
        let c = calls.get(&state, "c1").unwrap();
        assert_eq!(c.subject(), "fs.write");
        assert_eq!(c.window_left_ms(now), Some(2000));
        assert_eq!(calls.waiting(&state).len(), 1);
        feed(
            &mut state,
            &mut calls,
            20,
            EventKind::ToolRejected {
                call_id: "c1".into(),
                by: "person".into(),
                reason: "not now".into(),
            },
        );
        feed(
            &mut state,
            &mut calls,
            30,
            EventKind::ToolResult {
                agent: "a".into(),
                turn: 1,
                call_id: "c1".into(),
                name: "fs__write".into(),
                content: "rejected by the person: not now".into(),
                is_error: true,
                server: Some("fs".into()),
                ms: None,
            },
        );
        let c = calls.get(&state, "c1").unwrap();
        assert_eq!(c.window_left_ms(now), None);
        assert!(calls.waiting(&state).is_empty());
        assert_eq!(c.result().map(|r| r.1), Some(true));
        assert_eq!(
            c.extra.and_then(|x| x.rejected.clone()),
            Some(("person".into(), "not now".into()))
        );
        assert_eq!(size(340), "340 B");
        assert_eq!(size(2100), "2.1 KB");
    }
}
