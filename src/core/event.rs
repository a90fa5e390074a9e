//! The event stream: the one record of everything that happens in a session (DESIGN section 3).
//!
//! Every projection is a fold over these events: the console's view, `conclave run`'s output, the
//! journal, the metrics and the state rebuilt on resume. An [`Event`] is an envelope (`v`, gap-free
//! `seq`, `ts`, `session`) around an [`EventKind`], serialized flat with a `type` tag:
//! `{"v":1,"seq":3,"ts":"…","session":"…","type":"token","agent":"skeptic","turn":2,"text":"No"}`.
//! Fields may be added (optional ones are skipped when absent and default when missing on read);
//! none may be removed or renamed without bumping [`SCHEMA_VERSION`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod fields;

pub use crate::llm::FinishReason;
pub use fields::{Approval, ErrorKind, USER};

/// The `v` of every event this build writes. A journal with a larger `v` is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// One event with its envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub seq: u64,
    pub ts: DateTime<Utc>,
    pub session: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Which pattern a team runs: config's vocabulary, named here too so events can say it.
pub use crate::config::PatternKind;

/// What a model call is for. Only `speak` turns are part of the conversation; the others produce
/// structured events (votes, speaker picks, scores, summaries) but still count in the metrics,
/// attributed to the agent that made the call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    Speak,
    Vote,
    SelectSpeaker,
    Judge,
    Summarize,
    Aggregate,
    // Plans (issue 11).
    /// The planner writing (or rewriting) the plan: answers `submit_plan`.
    Planner,
    /// The planner writing the final answer from the task outputs.
    Synthesize,
}

/// An agent as announced at session start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    pub backend: String,
    pub model: String,
    /// The agent's colour from the config, if set (a ratatui colour name or `#rrggbb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The agent's price per million tokens from the config, if set (additive), so that a journal
    /// alone gives the same cost as the live session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<crate::config::Price>,
    /// The agent's `fallback` models with their prices (additive), so a call a fallback served
    /// is priced at its own model from the journal alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<crate::config::FallbackModel>,
}

/// Token counts of one call; `null` when unknown (journals written before estimates).
/// `estimated` (additive): a count the server did not report was estimated from the text
/// ([`crate::llm::estimate`]); shown with `~`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageInfo {
    pub input: Option<u64>,
    pub output: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub estimated: bool,
}

impl UsageInfo {
    /// No count at all, not even an estimate: a journal from before usage was recorded here.
    pub fn is_unrecorded(&self) -> bool {
        self.input.is_none() && self.output.is_none() && !self.estimated
    }

    /// Input plus output, the unknown counting nothing.
    pub fn total(&self) -> u64 {
        self.input.unwrap_or(0) + self.output.unwrap_or(0)
    }
}

/// Which backend and model served a call (`backend_fallback`'s `from`/`to`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub backend: String,
    pub model: String,
}

/// A failure as recorded in `turn_failed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// An `llm::ErrorKind` name (`auth`, `rate_limit`, …), or `cancelled`/`malformed`/`deadline`
    /// for failures the orchestrator itself decides.
    pub kind: ErrorKind,
    pub message: String,
}

/// A tool call made in a `message` (handoffs, votes, picks, scores), kept so that the
/// conversation can be rebuilt exactly on resume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallInfo {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectedBy {
    RoundRobin,
    Manager,
    Human,
    Random,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteChoice {
    Agree,
    Disagree,
    Abstain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Cancelled,
    Failed,
    MaxRounds,
    Budget,
    Consensus,
    Timeout,
    /// `max_messages` was reached (additive: earlier builds reported `max_rounds`).
    MaxMessages,
}

/// Who did something: the person (console or `--control`), a policy, or the system.
/// Serialized as a plain string: [`USER`], `"auto"`, `"system"`, or an agent name.
pub type Actor = String;

/// One message of an edited context (`context_edited`, `edit_context`): `role` is `user` or
/// `assistant`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextMessage {
    pub role: String,
    pub text: String,
}

impl ContextMessage {
    /// The roles a request's messages can have in an edited context.
    pub const ROLES: [&'static str; 2] = ["user", "assistant"];

    /// `message` as the person sees and edits it (a tool result reads as a `user` message,
    /// the way it reaches a model that continues from it).
    pub fn from_chat(message: &crate::llm::ChatMessage) -> ContextMessage {
        use crate::llm::ChatMessage as M;
        let (role, text) = match message {
            M::User { text } => ("user", text.clone()),
            M::Assistant { text, .. } => ("assistant", text.clone()),
            M::ToolResult { name, content, .. } => ("user", format!("[{name}] {content}")),
        };
        ContextMessage {
            role: role.into(),
            text,
        }
    }

    /// The request message this stands for.
    pub fn to_chat(&self) -> crate::llm::ChatMessage {
        if self.role == "assistant" {
            crate::llm::ChatMessage::Assistant {
                text: self.text.clone(),
                tool_calls: Vec::new(),
            }
        } else {
            crate::llm::ChatMessage::User {
                text: self.text.clone(),
            }
        }
    }
}

/// One task of a plan (`plan_proposed`, `plan_edited`, `submit_plan`, `edit_plan`): `agent`
/// runs `instructions` once every task in `depends_on` finished; `compensation` is what undoes
/// it when a later task fails under `on_failure = "compensate"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanTask {
    pub id: String,
    pub agent: String,
    pub instructions: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub compensation: Option<String>,
}

/// The payload of an event, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    SessionStarted {
        team: String,
        pattern: PatternKind,
        agents: Vec<AgentInfo>,
    },
    UserMessage {
        text: String,
        to: Option<String>,
        /// True for an interjection into a running group chat.
        #[serde(default, skip_serializing_if = "is_false")]
        interject: bool,
        /// The `message_queued` this delivers (a message typed while agents worked). Additive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queued_id: Option<String>,
    },
    TurnStarted {
        agent: String,
        turn: u64,
        round: Option<u32>,
        #[serde(default)]
        purpose: Purpose,
    },
    Token {
        agent: String,
        turn: u64,
        text: String,
    },
    Message {
        agent: String,
        turn: u64,
        text: String,
        usage: UsageInfo,
        ttft_ms: Option<u64>,
        latency_ms: u64,
        finish: FinishReason,
        #[serde(default)]
        purpose: Purpose,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallInfo>,
        /// The fallback model that served this call, when it was not the agent's own (additive).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        served_by: Option<Box<ModelRef>>,
        /// The turn goes on: this reply's MCP tool calls are answered and the model is asked
        /// again (a step of the tool loop, not the turn's answer). Additive.
        #[serde(default, skip_serializing_if = "is_false")]
        continues: bool,
    },
    TurnFailed {
        agent: String,
        turn: u64,
        error: ErrorInfo,
        will_retry: bool,
        /// What the failed attempt cost (additive; DESIGN section 3). Absent only in journals
        /// written before it existed, and left out again when such a journal is re-written.
        #[serde(default, skip_serializing_if = "UsageInfo::is_unrecorded")]
        usage: UsageInfo,
    },
    TurnCancelled {
        agent: String,
        turn: u64,
        partial_text: String,
        /// What the cancelled call cost (additive; DESIGN section 3). Absent only in journals
        /// written before it existed, and left out again when such a journal is re-written.
        #[serde(default, skip_serializing_if = "UsageInfo::is_unrecorded")]
        usage: UsageInfo,
    },
    /// The answer given to one tool call of an earlier `message` (so the conversation sent to the
    /// model next time answers every call exactly once). Additive to DESIGN section 3.
    ToolResult {
        agent: String,
        turn: u64,
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
        /// For an MCP call: the server that ran it and how long it took. Additive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ms: Option<u64>,
    },
    SpeakerSelected {
        agent: String,
        by: SelectedBy,
        reason: Option<String>,
    },
    HandoffRequested {
        id: String,
        from: String,
        to: String,
        reason: String,
        /// `auto`, `confirm` or `window`. Additive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<Approval>,
        /// For `window`: how long the person has to cancel or redirect. Additive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ms: Option<u64>,
    },
    HandoffAccepted {
        id: String,
        reason: String,
    },
    HandoffRejected {
        id: String,
        reason: String,
    },
    HandoffRedirected {
        id: String,
        from_target: String,
        to: String,
        by: Actor,
    },
    HandoffCancelled {
        id: String,
        by: Actor,
    },
    HandoffCompleted {
        id: String,
        summary: String,
    },
    HandoffFallback {
        id: String,
        failed: String,
        to: String,
    },
    Vote {
        round: u32,
        agent: String,
        choice: VoteChoice,
        reason: String,
    },
    Consensus {
        round: u32,
        reached: bool,
        agree: u32,
        disagree: u32,
        abstain: u32,
        threshold: f64,
    },
    CandidateScored {
        agent: String,
        score: f64,
        reason: String,
    },
    Paused {
        by: Actor,
    },
    Resumed {
        by: Actor,
    },
    Error {
        message: String,
        command: Option<serde_json::Value>,
    },
    SessionFinished {
        outcome: Outcome,
        #[serde(rename = "final")]
        final_text: Option<String>,
    },
    /// The turn's request waits in its backend's queue (`max_concurrent` requests are in flight);
    /// it goes out when the turn's next event comes. Additive (issue 17).
    TurnWaiting {
        agent: String,
        turn: u64,
        backend: String,
    },
    /// One line about how a turn's backend is asked, for the transcript: `kind`
    /// `text_markers` (a forced tool call was refused or ignored; structured answers use text
    /// markers on this backend from now on) or `context_trimmed` (the oldest shared context was
    /// left out to fit the context window). Additive (issue 17).
    TurnNotice {
        agent: String,
        turn: u64,
        kind: String,
        text: String,
    },
    /// An agent's backend failed after its retries and the turn went on with its next
    /// `fallback` model (DESIGN section 3).
    BackendFallback {
        agent: String,
        turn: u64,
        from: ModelRef,
        to: ModelRef,
        error: ErrorInfo,
    },
    // Steering (issue 12): holds, queued messages and edited context.
    /// A pending handoff's approval window stopped counting: the person is deciding.
    HandoffHeld {
        id: String,
        by: Actor,
    },
    /// The person edited what the pending handoff `handoff`'s target `agent` receives:
    /// `messages` replace the messages of its first request (the system prompt is unchanged).
    ContextEdited {
        handoff: String,
        agent: String,
        by: Actor,
        messages: Vec<ContextMessage>,
    },
    /// A message typed while agents work, waiting for the next boundary of the pattern.
    MessageQueued {
        id: String,
        text: String,
        to: Option<String>,
    },
    /// A queued message the person took back before it was delivered.
    QueuedCancelled {
        id: String,
        text: String,
        to: Option<String>,
    },
    // --- MCP tools (issue 10) ---
    /// An MCP tool the model asked for (`arguments`: the raw JSON text the model wrote).
    ToolCall {
        agent: String,
        turn: u64,
        call_id: String,
        server: String,
        tool: String,
        arguments: String,
    },
    /// The call waits for the person (`confirm`), or runs when `window_ms` pass unless rejected.
    ToolApprovalRequested {
        call_id: String,
        approval: Approval,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ms: Option<u64>,
    },
    /// `by`: `person`, `policy` or `guard`.
    ToolApproved {
        call_id: String,
        by: Actor,
        #[serde(default)]
        reason: Option<String>,
    },
    ToolRejected {
        call_id: String,
        by: Actor,
        reason: String,
    },
    /// The call was running when the process died: not re-run unless read-only or approved.
    ToolInterrupted {
        call_id: String,
    },
    // --- Plans (issue 11) ---
    /// The planner's plan, version `version` (1, then one more per replan or edit). `approval`
    /// and `window_ms` (additive) say how it is reviewed: `auto` runs it at once, `confirm` waits
    /// for `approve_plan` / `reject_plan`, `window` runs it when `window_ms` pass.
    PlanProposed {
        version: u32,
        tasks: Vec<PlanTask>,
        by: Actor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<Approval>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ms: Option<u64>,
    },
    /// The person changed the plan under review: `tasks` is the whole new version.
    PlanEdited {
        version: u32,
        tasks: Vec<PlanTask>,
        by: Actor,
    },
    PlanApproved {
        version: u32,
        by: Actor,
        #[serde(default)]
        reason: Option<String>,
    },
    /// The plan goes back to the planner with `reason`.
    PlanRejected {
        version: u32,
        by: Actor,
        reason: String,
    },
    /// The plan's review window stopped counting: the person is deciding (additive to DESIGN).
    PlanHeld {
        version: u32,
        by: Actor,
    },
    /// `agent` works on `task` in `turn`; `attempt` counts from 1.
    TaskStarted {
        task: String,
        agent: String,
        turn: u64,
        attempt: u32,
    },
    /// The task's turn ended: `ok`, or failed with `error` (its output is the turn's message).
    TaskFinished {
        task: String,
        agent: String,
        ok: bool,
        #[serde(default)]
        error: Option<String>,
    },
    /// The task will not run: `because` is the failed (or skipped) task it depends on.
    TaskSkipped {
        task: String,
        because: String,
    },
    /// The compensation of a completed task runs in `turn` (additive field) after a failure.
    CompensationStarted {
        task: String,
        agent: String,
        #[serde(default)]
        turn: u64,
    },
    CompensationFinished {
        task: String,
        agent: String,
        ok: bool,
    },
    /// The planner replaced the unfinished part of the plan: version `version` follows.
    Replanned {
        version: u32,
        reason: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl EventKind {
    /// The `type` tag of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::SessionStarted { .. } => "session_started",
            EventKind::UserMessage { .. } => "user_message",
            EventKind::TurnStarted { .. } => "turn_started",
            EventKind::Token { .. } => "token",
            EventKind::Message { .. } => "message",
            EventKind::TurnFailed { .. } => "turn_failed",
            EventKind::TurnCancelled { .. } => "turn_cancelled",
            EventKind::ToolResult { .. } => "tool_result",
            EventKind::SpeakerSelected { .. } => "speaker_selected",
            EventKind::HandoffRequested { .. } => "handoff_requested",
            EventKind::HandoffAccepted { .. } => "handoff_accepted",
            EventKind::HandoffRejected { .. } => "handoff_rejected",
            EventKind::HandoffRedirected { .. } => "handoff_redirected",
            EventKind::HandoffCancelled { .. } => "handoff_cancelled",
            EventKind::HandoffCompleted { .. } => "handoff_completed",
            EventKind::HandoffFallback { .. } => "handoff_fallback",
            EventKind::Vote { .. } => "vote",
            EventKind::Consensus { .. } => "consensus",
            EventKind::CandidateScored { .. } => "candidate_scored",
            EventKind::Paused { .. } => "paused",
            EventKind::Resumed { .. } => "resumed",
            EventKind::Error { .. } => "error",
            EventKind::SessionFinished { .. } => "session_finished",
            EventKind::TurnWaiting { .. } => "turn_waiting",
            EventKind::TurnNotice { .. } => "turn_notice",
            EventKind::BackendFallback { .. } => "backend_fallback",
            EventKind::HandoffHeld { .. } => "handoff_held",
            EventKind::ContextEdited { .. } => "context_edited",
            EventKind::MessageQueued { .. } => "message_queued",
            EventKind::QueuedCancelled { .. } => "queued_cancelled",
            EventKind::ToolCall { .. } => "tool_call",
            EventKind::ToolApprovalRequested { .. } => "tool_approval_requested",
            EventKind::ToolApproved { .. } => "tool_approved",
            EventKind::ToolRejected { .. } => "tool_rejected",
            EventKind::ToolInterrupted { .. } => "tool_interrupted",
            EventKind::PlanProposed { .. } => "plan_proposed",
            EventKind::PlanEdited { .. } => "plan_edited",
            EventKind::PlanApproved { .. } => "plan_approved",
            EventKind::PlanRejected { .. } => "plan_rejected",
            EventKind::PlanHeld { .. } => "plan_held",
            EventKind::TaskStarted { .. } => "task_started",
            EventKind::TaskFinished { .. } => "task_finished",
            EventKind::TaskSkipped { .. } => "task_skipped",
            EventKind::CompensationStarted { .. } => "compensation_started",
            EventKind::CompensationFinished { .. } => "compensation_finished",
            EventKind::Replanned { .. } => "replanned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: u64, kind: EventKind) -> Event {
        Event {
            v: SCHEMA_VERSION,
            seq,
            ts: DateTime::parse_from_rfc3339("2026-11-21T13:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            session: "s1".into(),
            kind,
        }
    }

    #[test]
    fn serializes_flat_with_type_tag() {
        let e = at(
            3,
            EventKind::Token {
                agent: "skeptic".into(),
                turn: 2,
                text: "No".into(),
            },
        );
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"seq":3,"ts":"2026-11-21T13:00:00Z","session":"s1","type":"token","agent":"skeptic","turn":2,"text":"No"}"#
        );
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn session_finished_uses_final_field() {
        let e = at(
            9,
            EventKind::SessionFinished {
                outcome: Outcome::Consensus,
                final_text: Some("ship it".into()),
            },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "session_finished");
        assert_eq!(v["outcome"], "consensus");
        assert_eq!(v["final"], "ship it");
    }

    #[test]
    fn reads_events_without_additive_fields() {
        let line = r#"{"v":1,"seq":0,"ts":"2026-11-21T13:00:00Z","session":"s","type":"turn_started","agent":"a","turn":0,"round":null}"#;
        let e: Event = serde_json::from_str(line).unwrap();
        assert_eq!(
            e.kind,
            EventKind::TurnStarted {
                agent: "a".into(),
                turn: 0,
                round: None,
                purpose: Purpose::Speak
            }
        );
    }
}
