//! The orchestration patterns (DESIGN section 2) as state machines without IO: input in, effects out.
//!
//! A pattern reads the [`SessionState`] (the fold of every event so far) and an [`Input`] (a
//! command, the end of a turn, a timer) and answers with [`Effect`]s that the session actor
//! performs in order: emit an event (folded into the state at once), start or cancel a turn, set
//! or cancel a timer, finish the task, or [`Effect::Continue`] ("ask me again once the events
//! above are folded", so a decision can build on the events just emitted).
//!
//! Patterns keep no state of their own: everything they decide from is in `SessionState`, so the
//! pattern of a resumed session is simply built again with [`build`] and decides exactly as the live
//! one would; [`Pattern::resume`] then picks up a task the previous process left unfinished. Commands that make no sense in the current state are answered with an `error` event
//! carrying the command; the session goes on.

mod best_of;
mod common;
mod concurrent;
mod group_chat;
mod handoff;
mod plan;
#[cfg(test)]
pub(crate) mod props;
mod queue;
mod sequential;
#[cfg(test)]
pub(crate) mod sim;
mod single;

use std::collections::BTreeMap;

use crate::config::{AgentConfig, ContextMode, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, PatternKind, Purpose};
use crate::core::state::SessionState;
use crate::llm::{ToolChoice, ToolSpec};

pub use common::{command_error, stop};
pub use handoff::{allowed_targets, pending_request, redirect_targets};

/// What a pattern reacts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A command from the person (console or `--control`).
    Command(Command),
    /// A turn ended: completed (`message`), failed or cancelled; its record is in the state.
    TurnEnded { turn: u64 },
    /// A timer set with [`Effect::SetTimer`] ran out.
    Timer(String),
    /// The answer to [`Effect::Continue`].
    Continue,
}

/// What a pattern asks the session actor to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Emit(EventKind),
    StartTurn(TurnSpec),
    /// Cancel a running turn: the actor emits `turn_cancelled` and then feeds `TurnEnded` back.
    CancelTurn(u64),
    SetTimer {
        name: String,
        ms: u64,
    },
    CancelTimer(String),
    /// The task is done: running turns are cancelled, timers dropped, `session_finished` emitted.
    Finish {
        outcome: Outcome,
        final_text: Option<String>,
    },
    /// Feed [`Input::Continue`] back once the effects before it are performed.
    Continue,
}

/// One model call to make.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnSpec {
    pub agent: String,
    pub purpose: Purpose,
    pub round: Option<u32>,
    /// Added after the conversation as a last `user` message (the step's instructions, the
    /// error of a malformed answer, the vote question, …).
    pub instructions: Option<String>,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    pub context: ContextMode,
    /// Overrides the agent's `timeout_ms`.
    pub timeout_ms: Option<u64>,
}

impl TurnSpec {
    /// A plain conversation turn with the team's context mode for `from -> agent`.
    pub fn speak(ctx: &Ctx, agent: &str, from: Option<&str>) -> TurnSpec {
        TurnSpec {
            agent: agent.to_string(),
            purpose: Purpose::Speak,
            round: None,
            instructions: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            context: crate::core::context::mode_for(&ctx.team, from, agent),
            timeout_ms: None,
        }
    }

    /// A turn that must answer with one tool (`tool_choice` forcing it).
    pub fn forced(agent: &str, purpose: Purpose, tool: ToolSpec, instructions: String) -> Self {
        TurnSpec {
            agent: agent.to_string(),
            purpose,
            round: None,
            instructions: Some(format!("{instructions} {SHORT_REASON}")),
            tool_choice: ToolChoice::Tool(tool.name.clone()),
            tools: vec![tool],
            context: ContextMode::Full,
            timeout_ms: None,
        }
    }
}

/// Asked of every forced structured answer, so it fits in its token floor.
pub const SHORT_REASON: &str = "Keep the reason to one short sentence.";

/// What a headless run does with handoffs that need a person's approval (`--approve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnattendedApproval {
    Auto,
    Reject,
}

/// The configuration a pattern decides with.
#[derive(Clone, Debug, PartialEq)]
pub struct Ctx {
    pub team: TeamConfig,
    pub agents: BTreeMap<String, AgentConfig>,
    /// `None`: a person is present; `Some`: headless, nobody to ask.
    pub unattended: Option<UnattendedApproval>,
}

/// The decision logic of one pattern.
pub trait Pattern: Send {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect>;

    /// The session was rebuilt from a journal that stopped in the middle of a task (called only
    /// while `state.task.active`). `interrupted` are the turns that were streaming when the
    /// previous process died, already closed with `turn_cancelled`; `elapsed_ms` is how long the
    /// task had run by then. Answer with what carries the task on to its end: run an interrupted
    /// turn again, carry on the round, re-arm timers, or take up a turn whose end was recorded but
    /// not yet acted on.
    fn resume(&mut self, state: &SessionState, interrupted: &[u64], elapsed_ms: u64)
    -> Vec<Effect>;
}

/// The pattern of `ctx.team`. Patterns hold no state of their own, so this is also how a resumed
/// session rebuilds its pattern after replaying the journal into a `SessionState`.
pub fn build(ctx: Ctx) -> Box<dyn Pattern> {
    let queueing = ctx.clone();
    let inner: Box<dyn Pattern> = match ctx.team.pattern {
        PatternKind::Single => Box::new(single::Single::new(ctx)),
        PatternKind::Sequential => Box::new(sequential::Sequential::new(ctx)),
        PatternKind::Concurrent => Box::new(concurrent::Concurrent::new(ctx)),
        PatternKind::Handoff => Box::new(handoff::Handoff::new(ctx)),
        PatternKind::GroupChat => Box::new(group_chat::GroupChat::new(ctx)),
        PatternKind::BestOf => Box::new(best_of::BestOf::new(ctx)),
        PatternKind::Plan => Box::new(plan::Plan::new(ctx)),
    };
    Box::new(queue::Queueing::new(&queueing, inner))
}

/// Every agent a team needs: members, steps, entry, handoff targets and fallbacks, manager,
/// aggregator, judge, planner. Used to check a session's spec before it starts.
pub fn referenced_agents(team: &TeamConfig) -> Vec<String> {
    let mut out: Vec<String> = team.members.clone();
    out.extend(team.steps.iter().map(|s| s.agent.clone()));
    out.extend(team.entry.clone());
    for (from, tos) in team.handoffs.iter().chain(team.fallback.iter()) {
        out.push(from.clone());
        out.extend(tos.iter().cloned());
    }
    out.extend(team.manager.clone());
    out.extend(team.aggregator.clone());
    out.extend(team.judge.clone());
    out.extend(team.planner.clone());
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|a| seen.insert(a.clone()));
    out
}
