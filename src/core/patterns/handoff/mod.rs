//! `handoff`: one agent holds the conversation and may transfer it with `transfer_to_<agent>`
//! (only to its allowed targets) or hand it back with `complete_handoff`.
//!
//! A transfer is negotiated: `handoff_requested` → approval (`auto` at once; `confirm` waits for
//! the person; `window` accepts when the timer `handoff:<id>` runs out unless the person
//! approves, rejects, cancels or redirects first; headless, with nobody present, `confirm` and
//! `window` follow `--approve` at once) →
//! accepted (the target holds control) or rejected (the configured fallback of the target takes
//! over, else control stays with the requester). A failed target also falls back. Cancelling an
//! active handoff returns control to the agent that made it; redirecting moves it to another
//! allowed target. Loops stop: a chain deeper than `max_depth` (default 8) or A→B→A→B ping-pong
//! ends the task with an `error` event. Two handoffs in one reply: the first wins, the second is
//! answered with an error result. A malformed handoff (unknown target, bad JSON) is answered with
//! the error and the agent is asked once more; then its reply stands without a handoff. The
//! person's messages go to the holder: one sent while it answers is queued and answered by the
//! holder next. Pause holds the holder's reply until resume (a running turn finishes first).
//!
//! A team with a `guard` asks it before a transfer is accepted (`negotiate::accept`, after the
//! approval); its denial rejects the transfer, which then falls back as any rejection does.
//!
//! Resumed after the process died mid-task: the holder keeps control and answers again when its
//! turn was cut off; a handoff waiting in its approval window gets the whole window again.
//!
//! This file is who holds the conversation and what a holder's reply means; `negotiate` is the
//! life of one transfer (request, approval, accept or reject and fallback, cancel, redirect).

mod negotiate;

use crate::config::{Approval, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose, ToolCallInfo};
use crate::core::patterns::common::{self, answer, command_error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{HandoffLink, SessionState, TurnStatus};
use crate::core::tools::{self, Found, HandoffAction};

/// Longest chain of nested handoffs when the team does not say.
pub const DEFAULT_MAX_DEPTH: u32 = 8;
/// The approval window when the team does not say.
pub const DEFAULT_WINDOW_MS: u64 = 3000;

pub struct Handoff {
    ctx: Ctx,
}

/// The transfer being decided.
struct Request {
    id: String,
    from: String,
    to: String,
    /// The turn whose reply asked for it, and the call (none for a text marker).
    turn: u64,
    call: Option<ToolCallInfo>,
    /// Why `from` hands over (the target is told, with who).
    reason: String,
}

impl Handoff {
    pub fn new(ctx: Ctx) -> Self {
        Handoff { ctx }
    }

    fn holder(&self, state: &SessionState) -> String {
        state
            .handoff
            .holder
            .clone()
            .or_else(|| self.ctx.team.entry.clone())
            .or_else(|| self.ctx.team.members.first().cloned())
            .unwrap_or_default()
    }

    fn targets(&self, agent: &str) -> Vec<String> {
        allowed_targets(&self.ctx.team, agent)
    }

    /// A speak turn of `agent` with its transfer tools, and `complete_handoff` when `chain`'s
    /// last link hands control to it. Its context is the team's edge `from->agent` when the turn
    /// follows a transfer from `from` (the link's requester), else the team's.
    fn turn(&self, agent: &str, chain: &[HandoffLink], instructions: Option<String>) -> Effect {
        let from = chain
            .last()
            .filter(|l| l.to == agent)
            .map(|l| l.from.clone());
        self.turn_from(agent, chain, from.as_deref(), instructions)
    }

    fn turn_from(
        &self,
        agent: &str,
        chain: &[HandoffLink],
        from: Option<&str>,
        instructions: Option<String>,
    ) -> Effect {
        let can_complete = chain.last().is_some_and(|l| l.to == agent);
        let targets: Vec<(String, Option<String>)> = self
            .targets(agent)
            .into_iter()
            .map(|t| {
                let d = self.ctx.agents.get(&t).and_then(|a| a.description.clone());
                (t, d)
            })
            .collect();
        let mut spec = TurnSpec::speak(&self.ctx, agent, from);
        spec.tools = tools::handoff_tools(&targets, can_complete);
        spec.instructions = instructions;
        Effect::StartTurn(spec)
    }

    /// The first turn of `to` once it holds control from `from`: it is told who handed over and
    /// why (and `note`: a redirect, a fallback), redacted when the team sanitizes.
    fn accepted_turn(&self, to: &str, from: &str, reason: &str, note: Option<String>) -> Effect {
        let link = HandoffLink {
            id: String::new(),
            from: from.to_string(),
            to: to.to_string(),
            reason: reason.to_string(),
        };
        let mut told = format!("{from} handed the conversation over to you. Reason: {reason}");
        if let Some(note) = note {
            told.push_str(&format!(" ({note})"));
        }
        self.turn(to, &[link], Some(self.crossing(&told)))
    }

    /// Text that crosses from one agent to another: redacted when the team sanitizes.
    fn crossing(&self, text: &str) -> String {
        if self.ctx.team.sanitize == Some(true) {
            crate::core::sanitize::redact(text)
        } else {
            text.to_string()
        }
    }

    fn on_command(&self, state: &SessionState, cmd: Command) -> Vec<Effect> {
        match &cmd {
            Command::Send { text, to } => {
                if state.handoff.pending.is_some() {
                    return vec![command_error(
                        &cmd,
                        "a handoff is waiting for approval: approve, reject, cancel or redirect it first",
                    )];
                }
                let holder = self.holder(state);
                if let Some(to) = to.as_deref().filter(|t| *t != holder) {
                    return vec![command_error(
                        &cmd,
                        format!("{holder} holds the conversation, not {to}"),
                    )];
                }
                if state.task.active {
                    return vec![common::follow_up(text, &holder)];
                }
                vec![
                    common::user_message(text, Some(holder.clone())),
                    self.turn(&holder, &state.handoff.chain, None),
                ]
            }
            Command::ApproveHandoff {} => match self.pending(state) {
                Some(r) => {
                    let mut out = vec![Effect::CancelTimer(timer_name(&r.id))];
                    out.extend(self.accept(state, &r, "approved by the person"));
                    out
                }
                None => vec![command_error(&cmd, "no handoff is waiting for approval")],
            },
            Command::RejectHandoff { reason } => match self.pending(state) {
                Some(r) => {
                    let reason = reason
                        .clone()
                        .unwrap_or_else(|| "rejected by the person".into());
                    self.reject(state, &r, &reason)
                }
                None => vec![command_error(&cmd, "no handoff is waiting for approval")],
            },
            Command::CancelHandoff {} => self.cancel(state, &cmd),
            Command::RedirectHandoff { to } => self.redirect(state, &cmd, to),
            Command::HoldHandoff {} => self.hold(state, &cmd),
            Command::EditContext { messages } => self.edit_context(state, &cmd, messages),
            Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
            Command::Stop {} => common::stop(state),
            Command::Pause {} => common::pause(state, &cmd),
            Command::Resume {} => common::resume(state, &cmd),
            _ => common::not_here(&cmd, "handoff"),
        }
    }

    fn on_turn_ended(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let Some(t) = common::ended(state, turn) else {
            return Vec::new();
        };
        if t.purpose == Purpose::Guard {
            return self.on_guard(state, turn);
        }
        let holder = self.holder(state);
        // A summary turn reaches the pattern only when cancelled: the holder's turn with it.
        if t.agent != holder || !matches!(t.purpose, Purpose::Speak | Purpose::Summarize) {
            return Vec::new();
        }
        match t.status {
            TurnStatus::Running => Vec::new(),
            // Paused: the reply is acted on when the person resumes.
            TurnStatus::Completed if state.paused => Vec::new(),
            TurnStatus::Cancelled => vec![Effect::Finish {
                outcome: Outcome::Cancelled,
                final_text: Some(t.text.clone()),
            }],
            TurnStatus::Failed => {
                let top = state.handoff.chain.last().filter(|l| l.to == t.agent);
                match top.and_then(|l| Some((l, self.fallback_for(state, &t.agent, &l.from)?))) {
                    Some((link, fb)) => vec![
                        Effect::Emit(EventKind::HandoffFallback {
                            id: link.id.clone(),
                            failed: t.agent.clone(),
                            to: fb.clone(),
                        }),
                        self.accepted_turn(
                            &fb,
                            &link.from,
                            &link.reason,
                            Some(format!("{} could not take it over", t.agent)),
                        ),
                    ],
                    None => vec![Effect::Finish {
                        outcome: Outcome::Failed,
                        final_text: None,
                    }],
                }
            }
            TurnStatus::Completed => self.on_reply(state, turn),
        }
    }

    fn on_reply(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let agent = t.agent.clone();
        let found = tools::parse_handoffs(&t.text, &t.tool_calls, &self.targets(&agent));
        let winner = found.iter().position(|f| f.item.is_ok());
        let mut out = Vec::new();
        for (i, f) in found.iter().enumerate() {
            if Some(i) == winner {
                continue;
            }
            let msg = match &f.item {
                Err(e) => e.0.clone(),
                Ok(_) => "only one handoff per reply: this one was ignored".into(),
            };
            out.extend(answer(&agent, turn, f.call.as_ref(), &msg, true));
        }
        let Some(w) = winner else {
            if found.is_empty() {
                out.push(if state.spoke_after(turn) {
                    self.turn(&agent, &state.handoff.chain, None)
                } else {
                    finish(Outcome::Completed, &t.text)
                });
                return out;
            }
            let why = found
                .iter()
                .filter_map(|f| f.item.as_ref().err().map(|e| e.0.clone()))
                .collect::<Vec<_>>()
                .join("; ");
            if self.previous_was_malformed(state, &agent, turn) {
                out.push(Effect::Emit(EventKind::Error {
                    message: format!("{agent} asked for an invalid handoff twice ({why}); its reply stands without a handoff"),
                    command: None,
                }));
                out.push(finish(Outcome::Completed, &t.text));
            } else {
                out.push(Effect::Emit(EventKind::Error {
                    message: format!("{agent} asked for an invalid handoff ({why}); asking again"),
                    command: None,
                }));
                out.push(self.turn(
                    &agent,
                    &state.handoff.chain,
                    Some(format!(
                        "Your handoff could not be done: {why}. Allowed targets: {}.",
                        self.targets(&agent).join(", ")
                    )),
                ));
            }
            return out;
        };
        let call = found[w].call.clone();
        match found[w].item.clone() {
            Ok(HandoffAction::Complete { summary }) => {
                let chain = &state.handoff.chain;
                match chain.last().filter(|l| l.to == agent) {
                    Some(link) => {
                        out.extend(answer(
                            &agent,
                            turn,
                            call.as_ref(),
                            "control handed back",
                            false,
                        ));
                        out.push(Effect::Emit(EventKind::HandoffCompleted {
                            id: link.id.clone(),
                            summary: summary.clone(),
                        }));
                        out.push(self.turn_from(
                            &link.from,
                            &chain[..chain.len() - 1],
                            Some(&agent),
                            Some(self.crossing(&format!(
                                "{agent} completed the handoff and hands the conversation back to you. Summary: {summary}"
                            ))),
                        ));
                    }
                    None => {
                        out.extend(answer(
                            &agent,
                            turn,
                            call.as_ref(),
                            "no handoff to complete",
                            true,
                        ));
                        out.push(finish(Outcome::Completed, &t.text));
                    }
                }
            }
            Ok(HandoffAction::Transfer { to, reason }) => {
                out.extend(self.transfer(state, turn, call, to, reason));
            }
            Err(_) => {}
        }
        out
    }

    /// Whether `agent`'s previous speak turn of this task was an invalid handoff too.
    fn previous_was_malformed(&self, state: &SessionState, agent: &str, turn: u64) -> bool {
        state
            .task_turns()
            .rev()
            .filter(|(id, t)| **id < turn && t.agent == agent && t.purpose == Purpose::Speak)
            .find(|(_, t)| t.status == TurnStatus::Completed)
            .is_some_and(|(_, t)| {
                let found: Vec<Found<HandoffAction>> =
                    tools::parse_handoffs(&t.text, &t.tool_calls, &self.targets(agent));
                !found.is_empty() && found.iter().all(|f| f.item.is_err())
            })
    }
}

impl Pattern for Handoff {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => self.on_command(state, cmd),
            Input::TurnEnded { turn } => self.on_turn_ended(state, turn),
            Input::Timer(name) => match self.pending(state) {
                Some(r) if timer_name(&r.id) == name && !is_held(state) => {
                    self.accept(state, &r, "approval window ran out")
                }
                _ => Vec::new(),
            },
            // Continue comes when the session has just become unattended (a handoff waiting for the
            // person is settled by `--approve`) or after a resume.
            Input::Continue => match self.pending(state) {
                Some(r) => self.settle(state, &r).unwrap_or_default(),
                // Resumed after a pause: act on the holder's reply that was held.
                None if !state.paused && state.running_turns().is_empty() => {
                    match common::last_ended(state) {
                        Some(turn) => self.on_turn_ended(state, turn),
                        None => Vec::new(),
                    }
                }
                None => Vec::new(),
            },
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        if let Some(r) = self.pending(state) {
            return match self.settle(state, &r) {
                Some(settled) => settled,
                None if self.ctx.team.approval == Some(Approval::Window) && !is_held(state) => {
                    vec![Effect::SetTimer {
                        name: timer_name(&r.id),
                        ms: self
                            .ctx
                            .team
                            .approval_window_ms
                            .unwrap_or(DEFAULT_WINDOW_MS),
                    }]
                }
                None => Vec::new(),
            };
        }
        let holder = self.holder(state);
        let last_of_holder = common::last_ended(state)
            .filter(|t| interrupted.is_empty() && state.turns[t].agent == holder);
        match last_of_holder {
            Some(turn) => self.on_turn_ended(state, turn),
            None => vec![self.turn(&holder, &state.handoff.chain, None)],
        }
    }
}

/// Exactly the request the pending handoff's target would send if the handoff were accepted
/// now (`None`: no handoff waits, or its target is not configured): the acceptance's events
/// are folded into a copy of `state` and the target's first turn is built by [`request::build`],
/// the code the session runs, so an edited context (`context_edited`) shows as it will be sent.
/// Only the fitting to the model's context window, done when the turn runs, is left out.
pub fn pending_request(
    ctx: &Ctx,
    state: &SessionState,
    supports_tools: bool,
) -> Option<crate::llm::ChatRequest> {
    let handoff = Handoff::new(ctx.clone());
    let r = handoff.pending(state)?;
    let agent = ctx.agents.get(&r.to)?;
    let mut sim = state.clone();
    let mut spec = None;
    for effect in handoff.accepted(&r, "preview") {
        match effect {
            Effect::Emit(kind) => {
                let event = crate::core::event::Event {
                    v: crate::core::event::SCHEMA_VERSION,
                    seq: sim.next_seq,
                    ts: chrono::Utc::now(),
                    session: sim.session.clone(),
                    kind,
                };
                sim.apply(&event);
            }
            Effect::StartTurn(s) => spec = Some(s),
            _ => {}
        }
    }
    let spec = spec?;
    Some(crate::core::request::build(
        &sim,
        &ctx.team,
        agent,
        &spec,
        None,
        supports_tools,
    ))
}

/// Whom `agent` may hand off to: the one list the core checks transfers and redirects against
/// and the console's redirect picker offers.
pub fn allowed_targets(team: &TeamConfig, agent: &str) -> Vec<String> {
    team.handoffs.get(agent).cloned().unwrap_or_default()
}

/// Where the person may redirect a transfer `from` → `current`: `from`'s allowed targets but
/// `current` (what [`Command::RedirectHandoff`] accepts).
pub fn redirect_targets(team: &TeamConfig, from: &str, current: &str) -> Vec<String> {
    allowed_targets(team, from)
        .into_iter()
        .filter(|t| t != current)
        .collect()
}

/// Whether the pending request is held (`handoff_held`): its window does not count.
fn is_held(state: &SessionState) -> bool {
    state.handoff.pending.as_ref().is_some_and(|p| p.held)
}

pub fn timer_name(id: &str) -> String {
    format!("handoff:{id}")
}

fn finish(outcome: Outcome, text: &str) -> Effect {
    Effect::Finish {
        outcome,
        final_text: Some(text.to_string()),
    }
}

fn running_of(state: &SessionState, agent: &str) -> Vec<Effect> {
    state
        .running_turns()
        .into_iter()
        .filter(|t| state.turns[t].agent == agent)
        .map(Effect::CancelTurn)
        .collect()
}

/// The `tool_result` answering the call that made the request (none for a text marker).
fn result(r: &Request, content: &str, is_error: bool) -> Vec<Effect> {
    answer(&r.from, r.turn, r.call.as_ref(), content, is_error)
}

#[cfg(test)]
mod tests;
