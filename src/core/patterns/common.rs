//! What every pattern does the same way: stop, cancel a turn, pause and resume, refuse a command
//! that makes no sense now (an `error` event carrying the command), and look up the turn that ended.

use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, ToolCallInfo, USER};
use crate::core::patterns::Effect;
use crate::core::state::{SessionState, TurnRecord, TurnStatus};

/// An `error` event answering `command`.
pub fn command_error(command: &Command, message: impl Into<String>) -> Effect {
    Effect::Emit(EventKind::Error {
        message: message.into(),
        command: serde_json::to_value(command).ok(),
    })
}

/// Cancel every running turn and finish with `cancelled`. Nothing to do between tasks.
pub fn stop(state: &SessionState) -> Vec<Effect> {
    if !state.task.active {
        return Vec::new();
    }
    let mut out: Vec<Effect> = state
        .running_turns()
        .into_iter()
        .map(Effect::CancelTurn)
        .collect();
    out.push(Effect::Finish {
        outcome: Outcome::Cancelled,
        final_text: None,
    });
    out
}

/// `cancel_turn`: the running turns of `agent` (all when `None`).
pub fn cancel_turn(state: &SessionState, command: &Command, agent: Option<&str>) -> Vec<Effect> {
    let turns: Vec<u64> = state
        .running_turns()
        .into_iter()
        .filter(|t| agent.is_none_or(|a| state.turns.get(t).is_some_and(|r| r.agent == a)))
        .collect();
    if turns.is_empty() {
        let who = agent.map(|a| format!(" of {a}")).unwrap_or_default();
        return vec![command_error(
            command,
            format!("no running turn{who} to cancel"),
        )];
    }
    turns.into_iter().map(Effect::CancelTurn).collect()
}

/// `pause`: new turns wait; running turns finish. Followed by nothing: the pattern checks
/// `state.paused` before starting a turn.
pub fn pause(state: &SessionState, command: &Command) -> Vec<Effect> {
    if !state.task.active {
        return vec![command_error(command, "nothing is running to pause")];
    }
    if state.paused {
        return vec![command_error(command, "already paused")];
    }
    vec![Effect::Emit(EventKind::Paused { by: USER.into() })]
}

/// `resume`: continue where the pattern stopped.
pub fn resume(state: &SessionState, command: &Command) -> Vec<Effect> {
    if !state.paused {
        return vec![command_error(command, "not paused")];
    }
    vec![
        Effect::Emit(EventKind::Resumed { by: USER.into() }),
        Effect::Continue,
    ]
}

/// The record of a turn that just ended, if it belongs to the running task.
pub fn ended(state: &SessionState, turn: u64) -> Option<&TurnRecord> {
    if !state.task.active || turn < state.task.first_turn {
        return None;
    }
    state.turns.get(&turn)
}

/// The newest turn of the running task that has ended (completed, failed or cancelled): on resume
/// with nothing interrupted, the turn whose end the pattern may not have acted on yet.
pub fn last_ended(state: &SessionState) -> Option<u64> {
    if !state.task.active {
        return None;
    }
    state
        .task_turns()
        .next_back()
        .filter(|(_, t)| t.status != TurnStatus::Running)
        .map(|(id, _)| *id)
}

/// Commands only one pattern understands, refused by the others.
pub fn not_here(command: &Command, pattern: &str) -> Vec<Effect> {
    vec![command_error(
        command,
        format!("{} does not apply to a {pattern} team", command.type_name()),
    )]
}

/// A new prompt while the previous one is still being worked on.
pub fn busy(command: &Command) -> Vec<Effect> {
    vec![command_error(
        command,
        "the team is still working on the previous message: wait, or cancel_turn / stop",
    )]
}

/// A message from the person while the task runs: it enters the conversation addressed to `to`
/// and is answered by `to`'s next turn.
pub fn follow_up(text: &str, to: &str) -> Effect {
    Effect::Emit(EventKind::UserMessage {
        text: text.to_string(),
        to: Some(to.to_string()),
        interject: true,
        queued_id: None,
    })
}

/// The `user_message` opening a task.
pub fn user_message(text: &str, to: Option<String>) -> Effect {
    Effect::Emit(EventKind::UserMessage {
        text: text.to_string(),
        to,
        interject: false,
        queued_id: None,
    })
}

/// `@agent`: the person picked who speaks next in a group chat.
pub fn addressed(to: &str) -> Effect {
    Effect::Emit(EventKind::SpeakerSelected {
        agent: to.to_string(),
        by: crate::core::event::SelectedBy::Human,
        reason: Some("addressed by the person".into()),
    })
}

/// A message sent while agents work: it waits (`message_queued`) for the pattern's next boundary.
pub fn queue(state: &SessionState, text: &str, to: Option<String>) -> Effect {
    Effect::Emit(EventKind::MessageQueued {
        id: format!("q{}", state.queued_count + 1),
        text: text.to_string(),
        to,
    })
}

/// `cancel_queued`: take a waiting message back.
pub fn cancel_queued(state: &SessionState, command: &Command, id: &str) -> Vec<Effect> {
    match state.queued.iter().find(|q| q.id == id) {
        Some(q) => vec![Effect::Emit(EventKind::QueuedCancelled {
            id: q.id.clone(),
            text: q.text.clone(),
            to: q.to.clone(),
        })],
        None => vec![command_error(
            command,
            format!("no queued message {id} (it was delivered or taken back already)"),
        )],
    }
}

/// Deliver every waiting message into the running task (a boundary was reached).
pub fn deliver_queued(state: &SessionState) -> Vec<Effect> {
    state
        .queued
        .iter()
        .map(|q| {
            Effect::Emit(EventKind::UserMessage {
                text: q.text.clone(),
                to: q.to.clone(),
                interject: true,
                queued_id: Some(q.id.clone()),
            })
        })
        .collect()
}

/// The `tool_result` answering `call` of `agent`'s reply in `turn` (nothing for a text marker).
pub fn answer(
    agent: &str,
    turn: u64,
    call: Option<&ToolCallInfo>,
    content: &str,
    is_error: bool,
) -> Vec<Effect> {
    call.map(|c| {
        Effect::Emit(EventKind::ToolResult {
            agent: agent.to_string(),
            turn,
            call_id: c.id.clone(),
            name: c.name.clone(),
            content: content.to_string(),
            is_error,
            server: None,
            ms: None,
        })
    })
    .into_iter()
    .collect()
}

/// An `error` event not caused by a command (a malformed answer, a loop, a failed judge).
pub fn error(message: impl Into<String>) -> Effect {
    Effect::Emit(EventKind::Error {
        message: message.into(),
        command: None,
    })
}

/// Error results for every call of a reply but the one that was used (`used`), so each call is
/// answered exactly once.
pub fn answer_others(
    agent: &str,
    turn: u64,
    calls: &[ToolCallInfo],
    used: Option<&ToolCallInfo>,
) -> Vec<Effect> {
    calls
        .iter()
        .filter(|c| used.is_none_or(|u| u.id != c.id))
        .flat_map(|c| {
            answer(
                agent,
                turn,
                Some(c),
                &format!("{} was not expected here and was ignored", c.name),
                true,
            )
        })
        .collect()
}
