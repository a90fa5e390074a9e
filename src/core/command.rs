//! Commands: everything a person or a script can ask of a running session (DESIGN section 4).
//!
//! The console's keys and slash commands and `conclave run --control jsonl` produce the same
//! values; serialized with a `type` tag: `{"type":"redirect_handoff","to":"tech"}`.
//! A command that makes no sense in the session's current state is answered with an `error`
//! event and the session goes on. Commands without fields are empty struct variants (`Stop {}`)
//! so that unknown fields are rejected for them too.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// A message from the person. `to` addresses one agent (`@agent` in the console); `None`
    /// goes wherever the pattern sends it (the handoff holder, the next speaker, every candidate).
    Send {
        text: String,
        #[serde(default)]
        to: Option<String>,
    },
    /// A remark dropped into a running group chat: enters the transcript, the next speaker sees it.
    Interject {
        text: String,
    },
    /// Cancel the running turn of `agent` (or every running turn when `None`).
    CancelTurn {
        #[serde(default)]
        agent: Option<String>,
    },
    ApproveHandoff {},
    RejectHandoff {
        #[serde(default)]
        reason: Option<String>,
    },
    CancelHandoff {},
    RedirectHandoff {
        to: String,
    },
    PickSpeaker {
        agent: String,
    },
    CallVote {},
    Pause {},
    Resume {},
    Stop {},
    // Steering (issue 12).
    /// Stop a pending handoff's approval window from counting while the person decides.
    HoldHandoff {},
    /// Replace what the pending handoff's target receives in its first request (its messages;
    /// the system prompt stays).
    EditContext {
        messages: Vec<crate::core::event::ContextMessage>,
    },
    /// Take back a queued message (`message_queued`) before it is delivered.
    CancelQueued {
        id: String,
    },
    /// Run a tool call waiting for approval (`call_id` unset: the oldest waiting call).
    ApproveTool {
        #[serde(default)]
        call_id: Option<String>,
    },
    /// Answer a waiting tool call with a rejection the model sees.
    RejectTool {
        #[serde(default)]
        call_id: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    // Plans (issue 11).
    /// Run the plan under review.
    ApprovePlan {},
    /// Send the plan under review back to the planner with `reason`.
    RejectPlan {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Replace the plan under review with `tasks` (a new version, reviewed again).
    EditPlan {
        tasks: Vec<crate::core::event::PlanTask>,
    },
    /// Stop the plan review window from counting while the person decides.
    HoldPlan {},
}

impl Command {
    /// Parse one `--control` line; the error text is what the `error` event says.
    pub fn parse_line(line: &str) -> Result<Command, String> {
        serde_json::from_str(line).map_err(|e| format!("invalid command {line:?}: {e}"))
    }

    /// The `type` tag of this command.
    pub fn type_name(&self) -> &'static str {
        match self {
            Command::Send { .. } => "send",
            Command::Interject { .. } => "interject",
            Command::CancelTurn { .. } => "cancel_turn",
            Command::ApproveHandoff {} => "approve_handoff",
            Command::RejectHandoff { .. } => "reject_handoff",
            Command::CancelHandoff {} => "cancel_handoff",
            Command::RedirectHandoff { .. } => "redirect_handoff",
            Command::PickSpeaker { .. } => "pick_speaker",
            Command::CallVote {} => "call_vote",
            Command::Pause {} => "pause",
            Command::Resume {} => "resume",
            Command::Stop {} => "stop",
            Command::HoldHandoff {} => "hold_handoff",
            Command::EditContext { .. } => "edit_context",
            Command::CancelQueued { .. } => "cancel_queued",
            Command::ApproveTool { .. } => "approve_tool",
            Command::RejectTool { .. } => "reject_tool",
            Command::ApprovePlan {} => "approve_plan",
            Command::RejectPlan { .. } => "reject_plan",
            Command::EditPlan { .. } => "edit_plan",
            Command::HoldPlan {} => "hold_plan",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_control_line_of_the_design() {
        let lines = [
            r#"{"type":"send","text":"hi"}"#,
            r#"{"type":"interject","text":"consider cost"}"#,
            r#"{"type":"cancel_turn","agent":"skeptic"}"#,
            r#"{"type":"approve_handoff"}"#,
            r#"{"type":"reject_handoff","reason":"no"}"#,
            r#"{"type":"cancel_handoff"}"#,
            r#"{"type":"redirect_handoff","to":"tech"}"#,
            r#"{"type":"pick_speaker","agent":"optimist"}"#,
            r#"{"type":"call_vote"}"#,
            r#"{"type":"pause"}"#,
            r#"{"type":"resume"}"#,
            r#"{"type":"stop"}"#,
            r#"{"type":"hold_handoff"}"#,
            r#"{"type":"edit_context","messages":[{"role":"user","text":"only this"}]}"#,
            r#"{"type":"cancel_queued","id":"q1"}"#,
            r#"{"type":"approve_tool","call_id":"c1"}"#,
            r#"{"type":"reject_tool","call_id":"c1","reason":"no"}"#,
            r#"{"type":"reject_tool"}"#,
            r#"{"type":"approve_plan"}"#,
            r#"{"type":"reject_plan","reason":"split the tests"}"#,
            r#"{"type":"edit_plan","tasks":[{"id":"a","agent":"dev","instructions":"x","depends_on":[]}]}"#,
            r#"{"type":"hold_plan"}"#,
        ];
        for line in lines {
            let c = Command::parse_line(line).unwrap();
            let back = serde_json::to_value(&c).unwrap();
            assert_eq!(back["type"], c.type_name(), "{line}");
        }
    }

    #[test]
    fn rejects_unknown_type_and_fields() {
        assert!(Command::parse_line(r#"{"type":"dance"}"#).is_err());
        assert!(Command::parse_line(r#"{"type":"stop","now":true}"#).is_err());
        assert!(Command::parse_line("not json").is_err());
    }
}
