//! Checks over a session's event stream shared by the session tests (scripted and over HTTP).

use conclave::core::Event;
use conclave::core::event::{EventKind, Outcome};
use conclave::core::state::SessionState;

/// The invariants every run keeps: schema version 1, `seq` gap-free from 0, every tool call of a
/// message answered by exactly one `tool_result`, and the fold of the stream deterministic.
pub fn check_invariants(events: &[Event]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "seq is gap-free");
        assert_eq!(e.v, 1);
    }
    for e in events {
        if let EventKind::Message {
            turn, tool_calls, ..
        } = &e.kind
        {
            for call in tool_calls {
                let answers = events
                    .iter()
                    .filter(|r| matches!(&r.kind, EventKind::ToolResult { turn: t, call_id, .. } if t == turn && call_id == &call.id))
                    .count();
                assert_eq!(
                    answers, 1,
                    "call {} of turn {turn} answered once",
                    call.name
                );
            }
        }
    }
    let state = SessionState::replay(events);
    assert_eq!(state.next_seq, events.len() as u64);
    assert_eq!(SessionState::replay(events), state);
}

/// The outcome and final answer of the first `session_finished`.
pub fn finished(events: &[Event]) -> (Outcome, Option<String>) {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => Some((*outcome, final_text.clone())),
            _ => None,
        })
        .expect("session_finished")
}

/// How many events match `pred`.
pub fn count(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.kind)).count()
}
