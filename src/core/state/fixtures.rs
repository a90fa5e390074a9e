//! Sessions built event by event, for the unit tests of pure code that reads a [`SessionState`]
//! (context, request assembly): each helper applies the next event with the next `seq`.

use crate::core::event::{Event, EventKind, Purpose, ToolCallInfo, UsageInfo};
use crate::core::state::SessionState;

/// Apply `kind` as the next event.
pub fn push(state: &mut SessionState, kind: EventKind) {
    let event = Event {
        v: 1,
        seq: state.next_seq,
        ts: chrono::DateTime::UNIX_EPOCH,
        session: "s".into(),
        kind,
    };
    state.apply(&event);
}

/// The person says `text` (an interjection while a task runs, when `interject`).
pub fn asked(state: &mut SessionState, text: &str, interject: bool) {
    push(
        state,
        EventKind::UserMessage {
            text: text.into(),
            to: None,
            interject,
            queued_id: None,
        },
    );
}

/// `agent` starts turn `turn`.
pub fn started(state: &mut SessionState, agent: &str, turn: u64, purpose: Purpose) {
    push(
        state,
        EventKind::TurnStarted {
            agent: agent.into(),
            turn,
            round: None,
            purpose,
        },
    );
}

/// `agent` takes turn `turn` and finishes it saying `text` and making `calls`.
pub fn said(
    state: &mut SessionState,
    agent: &str,
    turn: u64,
    purpose: Purpose,
    text: &str,
    calls: Vec<ToolCallInfo>,
) {
    started(state, agent, turn, purpose);
    push(
        state,
        EventKind::Message {
            agent: agent.into(),
            turn,
            text: text.into(),
            usage: UsageInfo::default(),
            ttft_ms: None,
            latency_ms: 0,
            finish: "stop".into(),
            purpose,
            tool_calls: calls,
            served_by: None,
            continues: false,
        },
    );
}
