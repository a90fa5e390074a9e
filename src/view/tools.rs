//! What MCP tool events say (the `describe` of `tool_call` … `tool_interrupted`, and of a
//! `tool_result` of an MCP call): one line each, arguments folded to one line, a result as its
//! first line with its size and duration. Pure, like [`super::describe`].

use crate::core::event::EventKind;
use crate::core::state::SessionState;
use crate::core::state::calls::BY_POLICY;

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
}
