//! The shared vocabulary between the orchestrator and the models: the names of the tools it asks
//! models to call, the text markers models without tool support write instead, and the word that
//! starts a summary request.
//!
//! Mental model: these strings are a protocol spoken across layers. `core::tools` builds the tool
//! specs and parses the answers with them; `llm::scripted` recognises the same requests and
//! writes the same answers when it plays a model. They live here, at the lowest layer that needs
//! them, so both sides import one spelling instead of re-typing it.

/// The prefix of a handoff tool: `transfer_to_<agent>` (agent name sanitized).
pub const TRANSFER_PREFIX: &str = "transfer_to_";
/// The tool an agent holding a handoff calls to give control back.
pub const COMPLETE_HANDOFF: &str = "complete_handoff";
/// The tool a group-chat member votes with.
pub const CAST_VOTE: &str = "cast_vote";
/// The tool a group-chat manager picks the next speaker with.
pub const SELECT_SPEAKER: &str = "select_speaker";
/// The tool a best-of judge scores the candidates with.
pub const SUBMIT_SCORES: &str = "submit_scores";

/// The tool a plan team's planner submits its plan with (issue 11).
pub const SUBMIT_PLAN: &str = "submit_plan";

/// Text marker for a transfer: `HANDOFF: <agent>: <reason>`.
pub const HANDOFF_MARKER: &str = "HANDOFF:";
/// Text marker for completing a handoff: `DONE: <summary>`.
pub const DONE_MARKER: &str = "DONE:";
/// Text marker for a vote: `VOTE: <agree|disagree|abstain>: <reason>`.
pub const VOTE_MARKER: &str = "VOTE:";
/// Text marker for a speaker pick: `NEXT: <agent>: <reason>`.
pub const NEXT_MARKER: &str = "NEXT:";
/// Text marker for one score: `SCORE: <agent>: <0-10>: <reason>`.
pub const SCORE_MARKER: &str = "SCORE:";

/// Text marker for a plan: `PLAN: <json>` (`{"tasks": [...]}` or the array alone).
pub const PLAN_MARKER: &str = "PLAN:";

/// A summarize request is one whose system prompt or last message starts with this word
/// (case-insensitive, after leading whitespace); the session builds its summary requests so.
pub const SUMMARIZE_MARKER: &str = "Summarize";
