//! Checks over a session's event stream shared by the session tests (scripted and over HTTP).

use std::time::Duration;

use conclave::core::event::{EventKind, Outcome};
use conclave::core::session::{EventStream, Session, SessionSpec};
use conclave::core::state::SessionState;
use conclave::core::{Command, Event};

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

/// Collect events until `session_finished` (a generous timeout only guards against hangs).
pub async fn until_finished(events: &mut EventStream, seen: &mut Vec<Event>) {
    let wait = async {
        while let Some(e) = events.recv().await {
            let done = matches!(e.kind, EventKind::SessionFinished { .. });
            seen.push(e);
            if done {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the session finishes within 30 s");
}

/// Start `spec`, send `prompt`, and return every event up to `session_finished`, checked with
/// [`check_invariants`].
pub async fn run_to_end(spec: SessionSpec, prompt: &str) -> Vec<Event> {
    run_observed(spec, prompt, |_| {}).await
}

/// [`run_to_end`], with `on_event` seeing every event as it comes (a generous timeout only
/// guards against hangs).
pub async fn run_observed(
    spec: SessionSpec,
    prompt: &str,
    mut on_event: impl FnMut(&Event),
) -> Vec<Event> {
    let mut session = Session::new(spec).expect("valid spec");
    let mut events = session.subscribe();
    let handle = session.start();
    handle
        .send(Command::Send {
            text: prompt.into(),
            to: None,
        })
        .expect("session is running");
    let mut seen = Vec::new();
    let wait = async {
        while let Some(e) = events.recv().await {
            on_event(&e);
            let done = matches!(e.kind, EventKind::SessionFinished { .. });
            seen.push(e);
            if done {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the session finishes within 30 s");
    check_invariants(&seen);
    seen
}
