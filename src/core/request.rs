//! What a turn sends its model: the [`ChatRequest`] for one [`TurnSpec`], assembled from the
//! session's state with no IO, so it can be checked without a runtime.
//!
//! The messages are the conversation as the agent sees it under the turn's context mode
//! ([`context::messages`]: `full`, `last_n`, `none`), or, once a summary exists, the summary and
//! the current prompt ([`context::from_summary`]); the turn's instructions come last as a `user`
//! message. A handoff's target whose context the person edited (`context_edited`) gets the
//! edited messages instead of all that, once ([`SessionState::edited_context`]). Summary chaining: a `summary` turn is preceded by a `summarize` turn of the same agent
//! ([`summarize_first`]); when that ends, [`chain_summary`] hands its text to the waiting turn, or
//! falls back to the full conversation if it failed. Tools: a backend that takes tool definitions
//! gets the turn's tools and its forced `tool_choice`; one that does not gets no tools, and the
//! text-marker instructions of each tool appended to the agent's system prompt instead.

use crate::config::{AgentConfig, ContextMode, TeamConfig};
use crate::core::context;
use crate::core::event::{ContextMessage, Purpose};
use crate::core::patterns::TurnSpec;
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;
use crate::llm::vocab::SUMMARIZE_MARKER;
use crate::llm::{ChatMessage, ChatRequest, ToolChoice};

/// The request for `spec`, run by `agent` on a backend that does (or does not) take tools.
/// `summary`: the text of the `summarize` turn that ran first, which replaces the conversation.
pub fn build(
    state: &SessionState,
    team: &TeamConfig,
    agent: &AgentConfig,
    spec: &TurnSpec,
    summary: Option<&str>,
    supports_tools: bool,
) -> ChatRequest {
    let edited = state
        .edited_context(&spec.agent)
        .filter(|_| spec.purpose == Purpose::Speak);
    let messages = match edited {
        // The person's edit (`context_edited`) is the whole of what the target receives.
        Some(edited) => edited.iter().map(ContextMessage::to_chat).collect(),
        None => {
            let mut messages = match summary {
                Some(s) => context::from_summary(state, s),
                None => context::messages(state, team, &spec.agent, spec.context),
            };
            if let Some(instructions) = &spec.instructions {
                messages.push(ChatMessage::User {
                    text: instructions.clone(),
                });
            }
            messages
        }
    };
    let with_markers = || {
        let markers: Vec<String> = spec.tools.iter().map(tools::marker_instructions).collect();
        let markers = markers.join("\n");
        Some(match &agent.system {
            Some(s) => format!("{s}\n\n{markers}"),
            None => markers,
        })
    };
    let mut system = agent.system.clone();
    let mut marker_system = None;
    if !supports_tools && !spec.tools.is_empty() {
        system = with_markers();
    } else if matches!(spec.tool_choice, ToolChoice::Tool(_)) && !spec.tools.is_empty() {
        // In case the backend turns out unable to force the call.
        marker_system = with_markers();
    }
    let (tools, tool_choice) = if supports_tools && !spec.tools.is_empty() {
        (spec.tools.clone(), spec.tool_choice.clone())
    } else {
        (Vec::new(), ToolChoice::Auto)
    };
    ChatRequest {
        model: agent.model.clone(),
        system,
        messages,
        tools,
        tool_choice,
        max_tokens: max_tokens(agent, spec),
        temperature: agent.temperature,
        marker_system,
    }
}

/// The agent's `max_tokens`, raised for a forced structured answer to its floor
/// ([`tools::answer_floor`]) so the answer is not cut off.
fn max_tokens(agent: &AgentConfig, spec: &TurnSpec) -> Option<u32> {
    let ToolChoice::Tool(name) = &spec.tool_choice else {
        return agent.max_tokens;
    };
    let floor = spec
        .tools
        .iter()
        .find(|t| &t.name == name)
        .map_or(0, tools::answer_floor);
    agent.max_tokens.map(|m| m.max(floor))
}

/// The `summarize` turn to run before `spec` when its context is a summary and there is a
/// conversation to summarize; `None` when `spec` can run as it is.
pub fn summarize_first(state: &SessionState, spec: &TurnSpec) -> Option<TurnSpec> {
    // An edited context (`context_edited`) replaces the conversation: nothing to summarize.
    let edited = spec.purpose == Purpose::Speak && state.edited_context(&spec.agent).is_some();
    let wants_summary = spec.context == ContextMode::Summary
        && spec.purpose != Purpose::Summarize
        && !edited
        && !state.entries.is_empty();
    wants_summary.then(|| TurnSpec {
        agent: spec.agent.clone(),
        purpose: Purpose::Summarize,
        round: None,
        // Starts with the marker the scripted backend recognises a summary request by.
        instructions: Some(format!(
            "{SUMMARIZE_MARKER} the conversation so far in a few sentences for {}: keep facts, decisions and open questions.",
            spec.agent
        )),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        context: ContextMode::Full,
        timeout_ms: spec.timeout_ms,
    })
}

/// The summary the `summarize` turn `turn` produced for the waiting `spec`: its text when it
/// completed with some. Otherwise `None`, and `spec` falls back to the full conversation.
pub fn chain_summary(state: &SessionState, turn: u64, spec: &mut TurnSpec) -> Option<String> {
    let summary = state
        .turns
        .get(&turn)
        .filter(|t| t.status == TurnStatus::Completed && !t.text.trim().is_empty())
        .map(|t| t.text.clone());
    if summary.is_none() {
        spec.context = ContextMode::Full;
    }
    summary
}

mod fit;
pub use fit::{ANSWER_ROOM, Trimmed, fit};

#[cfg(test)]
mod tests;
