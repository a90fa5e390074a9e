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
//! person's messages go to the holder: one sent while it answers gets one more turn of it.
//!
//! Resumed after the process died mid-task: the holder keeps control and answers again when its
//! turn was cut off; a handoff waiting in its approval window gets the whole window again.

use crate::config::Approval;
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose, ToolCallInfo, USER};
use crate::core::patterns::common::{self, answer, command_error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec, UnattendedApproval};
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
        self.ctx
            .team
            .handoffs
            .get(agent)
            .cloned()
            .unwrap_or_default()
    }

    /// A speak turn of `agent` with its transfer tools, and `complete_handoff` when `chain`'s
    /// last link hands control to it.
    fn turn(&self, agent: &str, chain: &[HandoffLink], instructions: Option<String>) -> Effect {
        let can_complete = chain.last().is_some_and(|l| l.to == agent);
        let targets: Vec<(String, Option<String>)> = self
            .targets(agent)
            .into_iter()
            .map(|t| {
                let d = self.ctx.agents.get(&t).and_then(|a| a.description.clone());
                (t, d)
            })
            .collect();
        let mut spec = TurnSpec::speak(&self.ctx, agent, None);
        spec.tools = tools::handoff_tools(&targets, can_complete);
        spec.instructions = instructions;
        Effect::StartTurn(spec)
    }

    fn accepted_turn(&self, to: &str) -> Effect {
        let link = HandoffLink {
            id: String::new(),
            from: String::new(),
            to: to.to_string(),
        };
        self.turn(to, &[link], None)
    }

    fn accept(&self, r: &Request, reason: &str) -> Vec<Effect> {
        let mut out = vec![Effect::Emit(EventKind::HandoffAccepted {
            id: r.id.clone(),
            reason: reason.to_string(),
        })];
        out.extend(result(
            r,
            &format!("control transferred to {}", r.to),
            false,
        ));
        out.push(self.accepted_turn(&r.to));
        out
    }

    fn reject(&self, state: &SessionState, r: &Request, reason: &str) -> Vec<Effect> {
        let mut out = vec![
            Effect::CancelTimer(timer_name(&r.id)),
            Effect::Emit(EventKind::HandoffRejected {
                id: r.id.clone(),
                reason: reason.to_string(),
            }),
        ];
        out.extend(result(
            r,
            &format!("the handoff to {} was rejected: {reason}", r.to),
            true,
        ));
        match self.fallback_for(state, &r.to, &r.from) {
            Some(fb) => {
                out.push(Effect::Emit(EventKind::HandoffFallback {
                    id: r.id.clone(),
                    failed: r.to.clone(),
                    to: fb.clone(),
                }));
                out.push(self.accepted_turn(&fb));
            }
            None => out.push(self.turn(
                &r.from,
                &state.handoff.chain,
                Some(format!(
                    "Your handoff to {} was rejected ({reason}). Continue with the person yourself.",
                    r.to
                )),
            )),
        }
        out
    }

    /// The first configured fallback of `failed` that is neither `except` nor failed already.
    fn fallback_for(&self, state: &SessionState, failed: &str, except: &str) -> Option<String> {
        self.ctx
            .team
            .fallback
            .get(failed)?
            .iter()
            .find(|c| {
                c.as_str() != failed
                    && c.as_str() != except
                    && !state.task.failed.contains(c)
                    && self.ctx.agents.contains_key(*c)
            })
            .cloned()
    }

    /// The pending request with the tool call that made it.
    fn pending(&self, state: &SessionState) -> Option<Request> {
        let p = state.handoff.pending.as_ref()?;
        let (turn, record) = state.task_turns().rev().find(|(_, t)| {
            t.agent == p.from && t.purpose == Purpose::Speak && t.status == TurnStatus::Completed
        })?;
        let call = tools::parse_handoffs(&record.text, &record.tool_calls, &self.targets(&p.from))
            .into_iter()
            .find(|f| f.item.is_ok())
            .and_then(|f| f.call);
        Some(Request {
            id: p.id.clone(),
            from: p.from.clone(),
            to: p.to.clone(),
            turn: *turn,
            call,
        })
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
                    out.extend(self.accept(&r, "approved by the person"));
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
            Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
            Command::Stop {} => common::stop(state),
            _ => common::not_here(&cmd, "handoff"),
        }
    }

    fn cancel(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
        if let Some(r) = self.pending(state) {
            let mut out = vec![
                Effect::CancelTimer(timer_name(&r.id)),
                Effect::Emit(EventKind::HandoffCancelled {
                    id: r.id.clone(),
                    by: USER.into(),
                }),
            ];
            out.extend(result(&r, "the person cancelled this handoff", true));
            out.push(self.turn(
                &r.from,
                &state.handoff.chain,
                Some(format!(
                    "The person cancelled your handoff to {}. Continue yourself.",
                    r.to
                )),
            ));
            return out;
        }
        let chain = &state.handoff.chain;
        let Some(top) = chain.last() else {
            return vec![command_error(cmd, "no handoff to cancel")];
        };
        let mut out = running_of(state, &top.to);
        out.push(Effect::Emit(EventKind::HandoffCancelled {
            id: top.id.clone(),
            by: USER.into(),
        }));
        if state.task.active {
            out.push(self.turn(
                &top.from,
                &chain[..chain.len() - 1],
                Some(format!(
                    "The person cancelled your handoff to {}; you hold the conversation again.",
                    top.to
                )),
            ));
        }
        out
    }

    fn redirect(&self, state: &SessionState, cmd: &Command, to: &str) -> Vec<Effect> {
        let check = |from: &str, current: &str| -> Result<(), String> {
            let allowed = self.targets(from);
            if to == current {
                Err(format!("the handoff already goes to {to}"))
            } else if !allowed.iter().any(|a| a == to) {
                Err(format!(
                    "{to} is not an allowed target of {from}: choose one of {}",
                    allowed.join(", ")
                ))
            } else {
                Ok(())
            }
        };
        if let Some(r) = self.pending(state) {
            if let Err(e) = check(&r.from, &r.to) {
                return vec![command_error(cmd, e)];
            }
            let mut out = vec![
                Effect::CancelTimer(timer_name(&r.id)),
                Effect::Emit(EventKind::HandoffRedirected {
                    id: r.id.clone(),
                    from_target: r.to.clone(),
                    to: to.to_string(),
                    by: USER.into(),
                }),
            ];
            let r = Request {
                to: to.to_string(),
                ..r
            };
            out.extend(self.accept(&r, "redirected by the person"));
            return out;
        }
        let Some(top) = state.handoff.chain.last() else {
            return vec![command_error(cmd, "no handoff to redirect")];
        };
        if let Err(e) = check(&top.from, &top.to) {
            return vec![command_error(cmd, e)];
        }
        let mut out = running_of(state, &top.to);
        out.push(Effect::Emit(EventKind::HandoffRedirected {
            id: top.id.clone(),
            from_target: top.to.clone(),
            to: to.to_string(),
            by: USER.into(),
        }));
        if state.task.active {
            out.push(self.accepted_turn(to));
        }
        out
    }

    fn on_turn_ended(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let Some(t) = common::ended(state, turn) else {
            return Vec::new();
        };
        let holder = self.holder(state);
        // A summary turn reaches the pattern only when cancelled: the holder's turn with it.
        if t.agent != holder || !matches!(t.purpose, Purpose::Speak | Purpose::Summarize) {
            return Vec::new();
        }
        match t.status {
            TurnStatus::Running => Vec::new(),
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
                        self.accepted_turn(&fb),
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
                        out.push(self.turn(
                            &link.from,
                            &chain[..chain.len() - 1],
                            Some(format!("{agent} completed the handoff: {summary}")),
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

    fn transfer(
        &self,
        state: &SessionState,
        turn: u64,
        call: Option<ToolCallInfo>,
        to: String,
        reason: String,
    ) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let from = t.agent.clone();
        let max_depth = self.ctx.team.max_depth.unwrap_or(DEFAULT_MAX_DEPTH) as usize;
        let hops = &state.task.hops;
        let n = hops.len();
        let refusal = if state.handoff.chain.len() >= max_depth {
            Some(format!("handoff depth limit {max_depth} reached"))
        } else if n >= 2
            && hops[n - 1] == (to.clone(), from.clone())
            && hops[n - 2] == (from.clone(), to.clone())
        {
            Some(format!("ping-pong detected: {from} → {to} → {from} → {to}"))
        } else {
            None
        };
        if let Some(why) = refusal {
            let mut out = answer(
                &from,
                turn,
                call.as_ref(),
                &format!("handoff refused: {why}"),
                true,
            );
            out.push(Effect::Emit(EventKind::Error {
                message: format!("{why}; the loop is stopped"),
                command: None,
            }));
            out.push(finish(Outcome::Failed, &t.text));
            return out;
        }
        let approval = self.ctx.team.approval.unwrap_or_default();
        let window = self
            .ctx
            .team
            .approval_window_ms
            .unwrap_or(DEFAULT_WINDOW_MS);
        let r = Request {
            id: format!("h{}", state.handoff.requested + 1),
            from,
            to,
            turn,
            call,
        };
        let mut out = vec![Effect::Emit(EventKind::HandoffRequested {
            id: r.id.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            reason,
            approval: Some(approval_name(approval).into()),
            window_ms: (approval == Approval::Window).then_some(window),
        })];
        match self.settle(state, &r) {
            Some(settled) => out.extend(settled),
            None if approval == Approval::Window => out.push(Effect::SetTimer {
                name: timer_name(&r.id),
                ms: window,
            }),
            None => {}
        }
        out
    }

    /// The decision on `r` that needs nobody: `auto` approval, or `--approve` when nobody is
    /// present (for `confirm` and `window` alike: an unattended window has nobody to wait for).
    /// `None` when a person decides (or, for `window`, may decide until the timer runs out).
    fn settle(&self, state: &SessionState, r: &Request) -> Option<Vec<Effect>> {
        let approval = self.ctx.team.approval.unwrap_or_default();
        match (approval, self.ctx.unattended) {
            (Approval::Auto, _) => Some(self.accept(r, "auto")),
            (_, Some(UnattendedApproval::Auto)) => {
                let mut out = Vec::new();
                if approval == Approval::Window {
                    out.push(Effect::CancelTimer(timer_name(&r.id)));
                }
                out.extend(self.accept(r, "approved by --approve auto"));
                Some(out)
            }
            (_, Some(UnattendedApproval::Reject)) => {
                Some(self.reject(state, r, "rejected by --approve reject"))
            }
            (_, None) => None,
        }
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
                Some(r) if timer_name(&r.id) == name => self.accept(&r, "approval window ran out"),
                _ => Vec::new(),
            },
            // Handoff teams never pause, so Continue only comes when the session has just become
            // unattended: a handoff waiting for the person is settled by `--approve`.
            Input::Continue => match self.pending(state) {
                Some(r) => self.settle(state, &r).unwrap_or_default(),
                None => Vec::new(),
            },
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        if let Some(r) = self.pending(state) {
            return match self.settle(state, &r) {
                Some(settled) => settled,
                None if self.ctx.team.approval == Some(Approval::Window) => {
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

pub fn timer_name(id: &str) -> String {
    format!("handoff:{id}")
}

fn approval_name(a: Approval) -> &'static str {
    match a {
        Approval::Auto => "auto",
        Approval::Confirm => "confirm",
        Approval::Window => "window",
    }
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
mod tests {
    use serde_json::json;

    use crate::config::Approval;
    use crate::core::Command;
    use crate::core::event::{EventKind, Outcome, PatternKind};
    use crate::core::patterns::sim::{Sim, reply, tool, tools};
    use crate::core::patterns::{Input, UnattendedApproval};

    fn support(approval: Approval) -> Sim {
        Sim::new(PatternKind::Handoff, &["triage", "billing", "tech"], |t| {
            t.entry = Some("triage".into());
            t.approval = Some(approval);
            for (from, to) in [
                ("triage", vec!["billing", "tech"]),
                ("billing", vec!["triage", "tech"]),
                ("tech", vec!["triage"]),
            ] {
                t.handoffs
                    .insert(from.into(), to.into_iter().map(String::from).collect());
            }
            t.fallback.insert("billing".into(), vec!["tech".into()]);
        })
    }

    fn transfer(to: &str) -> crate::core::patterns::sim::Reply {
        tool(
            "",
            &format!("transfer_to_{to}"),
            json!({"reason": "because"}),
        )
    }

    fn tool_names(sim: &Sim, agent: &str) -> Vec<String> {
        sim.spec_of(agent)
            .tools
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    fn has(sim: &Sim, pred: impl Fn(&EventKind) -> bool) -> bool {
        sim.recent().iter().any(pred)
    }

    #[test]
    fn resumed_with_an_active_handoff_the_holder_answers_again() {
        let mut sim = Sim::new(PatternKind::Handoff, &["triage", "billing"], |t| {
            t.approval = Some(Approval::Auto);
            t.handoffs.insert("triage".into(), vec!["billing".into()]);
        });
        sim.send("refund please");
        sim.complete(
            "triage",
            tool("", "transfer_to_billing", json!({"reason": "money"})),
        );
        sim.stream("billing", "let me");
        sim.restart(0);
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
        assert_eq!(sim.running_agents(), ["billing"]);
        assert!(
            sim.spec_of("billing")
                .tools
                .iter()
                .any(|t| t.name == "complete_handoff")
        );
        sim.complete("billing", reply("refunded"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("refunded".into())))
        );
    }

    #[test]
    fn resumed_during_an_approval_window_rearms_the_whole_window() {
        let mut sim = Sim::new(PatternKind::Handoff, &["triage", "billing"], |t| {
            t.approval = Some(Approval::Window);
            t.approval_window_ms = Some(2500);
            t.handoffs.insert("triage".into(), vec!["billing".into()]);
        });
        sim.send("refund please");
        sim.complete(
            "triage",
            tool("", "transfer_to_billing", json!({"reason": "money"})),
        );
        assert!(sim.state.handoff.pending.is_some());
        sim.restart(10_000);
        assert_eq!(sim.timer_ms.get("handoff:h1"), Some(&2500));
        sim.timer("handoff:h1");
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
        assert_eq!(sim.running_agents(), ["billing"]);
    }

    #[test]
    fn auto_handoff_moves_control_and_complete_hands_it_back() {
        let mut sim = support(Approval::Auto);
        sim.send("my card was charged twice");
        assert_eq!(
            tool_names(&sim, "triage"),
            ["transfer_to_billing", "transfer_to_tech"]
        );
        sim.complete("triage", transfer("billing"));
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffAccepted { id, .. } if id == "h1")
        ));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::ToolResult {
                is_error: false,
                turn: 0,
                ..
            }
        )));
        assert_eq!(sim.running_agents(), ["billing"]);
        assert!(tool_names(&sim, "billing").contains(&"complete_handoff".to_string()));
        sim.complete(
            "billing",
            tool(
                "refunded",
                "complete_handoff",
                json!({"summary": "refund issued"}),
            ),
        );
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffCompleted { summary, .. } if summary == "refund issued")
        ));
        assert_eq!(sim.running_agents(), ["triage"]);
        assert!(
            sim.spec_of("triage")
                .instructions
                .as_deref()
                .is_some_and(|i| i.contains("refund issued"))
        );
        sim.complete("triage", reply("anything else?"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("anything else?".into())))
        );
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("triage"));
    }

    #[test]
    fn messages_of_the_person_go_to_the_holder() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.send("it was 40 euros");
        assert!(
            sim.recent().iter().any(
                |e| matches!(e, EventKind::UserMessage { to: Some(to), .. } if to == "billing")
            )
        );
        sim.complete("billing", reply("looking"));
        assert_eq!(sim.running_agents(), ["billing"]);
        sim.complete("billing", reply("refunded 40 euros"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("refunded 40 euros".into())))
        );
        sim.send("thanks");
        assert_eq!(sim.running_agents(), ["billing"]);
    }

    #[test]
    fn window_accepts_when_the_timer_runs_out() {
        let mut sim = support(Approval::Window);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffRequested { window_ms: Some(3000), approval: Some(a), .. } if a == "window")
        ));
        assert!(sim.running_agents().is_empty());
        sim.timer("handoff:h1");
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::HandoffAccepted { .. }
        )));
        assert_eq!(sim.running_agents(), ["billing"]);
    }

    #[test]
    fn unattended_a_window_is_settled_at_once_by_the_policy() {
        let mut sim = support(Approval::Window).unattended(UnattendedApproval::Reject);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::HandoffRejected { reason, .. } if reason == "rejected by --approve reject"
        )));
        assert!(sim.timers.is_empty());
        assert_eq!(sim.running_agents(), ["triage"]);

        let mut sim = support(Approval::Window).unattended(UnattendedApproval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::HandoffAccepted { reason, .. } if reason == "approved by --approve auto"
        )));
        assert!(sim.timers.is_empty());
        assert_eq!(sim.running_agents(), ["tech"]);
    }

    #[test]
    fn becoming_unattended_settles_the_waiting_handoff() {
        for approval in [Approval::Confirm, Approval::Window] {
            let mut sim = support(approval);
            sim.send("help");
            sim.complete("triage", transfer("tech"));
            sim.input(Input::Continue);
            assert!(sim.state.handoff.pending.is_some(), "{approval:?}");
            sim.ctx.unattended = Some(UnattendedApproval::Reject);
            sim.pattern = crate::core::patterns::build(sim.ctx.clone());
            sim.input(Input::Continue);
            assert!(sim.state.handoff.pending.is_none(), "{approval:?}");
            assert!(sim.timers.is_empty(), "{approval:?}");
            assert_eq!(sim.running_agents(), ["triage"], "{approval:?}");
        }
    }

    #[test]
    fn cancel_during_the_window_returns_control_to_the_requester() {
        let mut sim = support(Approval::Window);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.command(Command::CancelHandoff {});
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffCancelled { id, by } if id == "h1" && by == "user")
        ));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::ToolResult { is_error: true, .. }
        )));
        assert!(sim.timers.is_empty());
        assert_eq!(sim.running_agents(), ["triage"]);
        assert!(sim.state.handoff.pending.is_none());
    }

    #[test]
    fn redirect_to_a_non_member_is_an_error_and_to_an_allowed_target_accepts() {
        let mut sim = support(Approval::Window);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.command(Command::RedirectHandoff { to: "ghost".into() });
        assert!(sim.last_error().is_some_and(|e| e.contains("ghost")));
        assert!(sim.state.handoff.pending.is_some());
        sim.command(Command::RedirectHandoff { to: "tech".into() });
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffRedirected { from_target, to, .. } if from_target == "billing" && to == "tech")
        ));
        assert_eq!(sim.running_agents(), ["tech"]);
        assert!(sim.timers.is_empty());
    }

    #[test]
    fn confirm_waits_for_approval_and_reject_falls_back() {
        let mut sim = support(Approval::Confirm);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        assert!(sim.running_agents().is_empty());
        sim.send("hello?");
        assert!(sim.last_error().is_some());
        sim.command(Command::RejectHandoff {
            reason: Some("not billing".into()),
        });
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffRejected { reason, .. } if reason == "not billing")
        ));
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffFallback { failed, to, .. } if failed == "billing" && to == "tech")
        ));
        assert_eq!(sim.running_agents(), ["tech"]);
        assert_eq!(sim.state.handoff.chain.len(), 1);
        sim.command(Command::ApproveHandoff {});
        assert!(sim.last_error().is_some());
    }

    #[test]
    fn confirm_approve_and_unattended_policies() {
        let mut sim = support(Approval::Confirm);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        sim.command(Command::ApproveHandoff {});
        assert_eq!(sim.running_agents(), ["tech"]);

        let mut sim = support(Approval::Confirm).unattended(UnattendedApproval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        assert_eq!(sim.running_agents(), ["tech"]);

        let mut sim = support(Approval::Confirm).unattended(UnattendedApproval::Reject);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::HandoffRejected { .. }
        )));
        assert_eq!(sim.running_agents(), ["triage"]);
    }

    #[test]
    fn cancel_a_handoff_two_levels_deep() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.complete("billing", transfer("tech"));
        assert_eq!(sim.state.handoff.chain.len(), 2);
        sim.stream("tech", "let me check");
        sim.command(Command::CancelHandoff {});
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "tech" && partial_text == "let me check")
        ));
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffCancelled { id, .. } if id == "h2")
        ));
        assert_eq!(sim.running_agents(), ["billing"]);
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
        assert_eq!(sim.state.handoff.chain.len(), 1);
        assert!(sim.finished().is_none());
    }

    #[test]
    fn redirect_an_active_handoff() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.command(Command::RedirectHandoff { to: "tech".into() });
        assert_eq!(sim.running_agents(), ["tech"]);
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("tech"));
    }

    #[test]
    fn a_failed_target_falls_back() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.fail("billing", "overloaded");
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::HandoffFallback { failed, to, .. } if failed == "billing" && to == "tech")
        ));
        assert_eq!(sim.running_agents(), ["tech"]);
        sim.fail("tech", "overloaded");
        assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
    }

    #[test]
    fn two_handoffs_in_one_reply_first_wins() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete(
            "triage",
            tools(
                "",
                &[
                    ("transfer_to_tech", json!({"reason": "a"})),
                    ("transfer_to_billing", json!({"reason": "b"})),
                ],
            ),
        );
        assert_eq!(sim.running_agents(), ["tech"]);
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::ToolResult { call_id, is_error: true, .. } if call_id == "call_1")
        ));
        assert!(has(
            &sim,
            |e| matches!(e, EventKind::ToolResult { call_id, is_error: false, .. } if call_id == "call_0")
        ));
    }

    #[test]
    fn ping_pong_is_stopped() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        sim.complete("billing", transfer("triage"));
        sim.complete("triage", transfer("billing"));
        assert!(sim.last_error().is_some_and(|e| e.contains("ping-pong")));
        assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
        assert!(sim.running_agents().is_empty());
    }

    #[test]
    fn depth_limit_stops_the_chain() {
        let mut sim = Sim::new(PatternKind::Handoff, &["a", "b", "c"], |t| {
            t.max_depth = Some(1);
            t.handoffs.insert("a".into(), vec!["b".into()]);
            t.handoffs.insert("b".into(), vec!["c".into()]);
        });
        sim.send("go");
        sim.complete("a", transfer("b"));
        sim.complete("b", transfer("c"));
        assert!(sim.last_error().is_some_and(|e| e.contains("depth")));
        assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
    }

    #[test]
    fn malformed_handoff_is_retried_once_then_the_reply_stands() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", tool("hm", "transfer_to_nobody", json!({})));
        assert!(has(&sim, |e| matches!(
            e,
            EventKind::ToolResult { is_error: true, .. }
        )));
        assert!(
            sim.spec_of("triage")
                .instructions
                .as_deref()
                .is_some_and(|i| i.contains("billing"))
        );
        sim.complete("triage", reply("HANDOFF: nobody: still wrong"));
        assert_eq!(
            sim.finished(),
            Some((
                Outcome::Completed,
                Some("HANDOFF: nobody: still wrong".into())
            ))
        );
    }

    #[test]
    fn text_marker_handoff_works_without_tools() {
        let mut sim = support(Approval::Auto);
        sim.send("help");
        sim.complete("triage", reply("Passing you on.\nHANDOFF: tech: printer"));
        assert_eq!(sim.running_agents(), ["tech"]);
    }

    #[test]
    fn commands_without_a_handoff_are_errors() {
        let mut sim = support(Approval::Auto);
        for cmd in [
            Command::ApproveHandoff {},
            Command::RejectHandoff { reason: None },
            Command::CancelHandoff {},
            Command::RedirectHandoff { to: "tech".into() },
            Command::PickSpeaker {
                agent: "tech".into(),
            },
            Command::CallVote {},
            Command::Interject { text: "x".into() },
        ] {
            sim.command(cmd.clone());
            assert!(sim.last_error().is_some(), "{cmd:?}");
        }
    }

    #[test]
    fn a_resumed_pattern_decides_like_the_live_one() {
        let mut sim = support(Approval::Window);
        sim.send("help");
        sim.complete("triage", transfer("billing"));
        let live = sim.decide(crate::core::patterns::Input::Timer("handoff:h1".into()));
        sim.resume();
        let resumed = sim.decide(crate::core::patterns::Input::Timer("handoff:h1".into()));
        assert_eq!(live, resumed);
        assert!(!live.is_empty());
    }
}
