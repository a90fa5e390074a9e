//! The negotiation of a transfer, from the request to its end: a reply's `transfer_to_<agent>`
//! becomes a [`Request`] (refused when it would pass `max_depth` or ping-pong), which `auto`
//! accepts at once, `--approve` settles when nobody is present, and otherwise waits for the person
//! (or, under `window`, for its timer). Accepted, the target holds control; rejected, the
//! target's configured fallback takes over, else the requester goes on. The person can also
//! cancel a handoff (control returns to the requester) or redirect it to another allowed target,
//! while it waits or once it is active.

use super::{
    DEFAULT_MAX_DEPTH, DEFAULT_WINDOW_MS, Handoff, Request, finish, result, running_of, timer_name,
};
use crate::config::Approval;
use crate::core::command::Command;
use crate::core::event::{ContextMessage, EventKind, Outcome, Purpose, ToolCallInfo, USER};
use crate::core::patterns::common::{answer, command_error};
use crate::core::patterns::{Effect, UnattendedApproval};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

use crate::core::event::Boundary;
use crate::core::patterns::Ctx;
use crate::core::patterns::guard::{self, Check, Decision};

/// The reason of a handoff the guard allowed.
fn allowed_by(ctx: &Ctx, why: &str) -> String {
    let guard = ctx.team.guard.as_deref().unwrap_or("guard");
    format!("the guard {guard} allowed it: {why}")
}

impl Handoff {
    /// Accept `r`, once the team's guard (if any) allows it: until then, ask it (a second
    /// approval while it decides changes nothing).
    pub(super) fn accept(&self, state: &SessionState, r: &Request, reason: &str) -> Vec<Effect> {
        let crossing = guard::handoff(&r.id, &r.from, &r.to, &r.reason);
        match guard::check(&self.ctx, state, crossing) {
            Check::Pass(None) => self.accepted(r, reason),
            Check::Pass(Some(why)) => self.accepted(r, &allowed_by(&self.ctx, &why)),
            Check::Ask(effects) => effects,
            Check::Wait | Check::Denied(_) => Vec::new(),
        }
    }

    /// The guard's turn `turn` about a handoff ended: accept, reject (and fall back), or ask
    /// it again.
    pub(super) fn on_guard(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let Some(asked) = state.guards.of_turn(turn).filter(|a| {
            a.open && a.crossing.boundary == Boundary::Handoff && a.turns.last() == Some(&turn)
        }) else {
            return Vec::new();
        };
        let Some(r) = self.pending(state).filter(|r| r.id == asked.crossing.id) else {
            return Vec::new();
        };
        let decision = guard::decide(state, asked);
        let mut out = guard::answer_calls(state, asked, &decision);
        out.extend(match decision {
            Decision::Wait => Vec::new(),
            Decision::Ask(note) => {
                guard::ask(&self.ctx, &asked.guard, &asked.crossing, note.as_deref())
            }
            Decision::Allow(why) => self.accepted(&r, &allowed_by(&self.ctx, &why)),
            Decision::Deny(why) => {
                let mut out = vec![guard::tripped(&asked.guard, &asked.crossing, &why)];
                out.extend(self.reject(
                    state,
                    &r,
                    &format!("blocked by the guard {}: {why}", asked.guard),
                ));
                out
            }
        });
        out
    }

    /// `handoff_accepted`, the answer to the call that asked for it, and the target's turn.
    pub(super) fn accepted(&self, r: &Request, reason: &str) -> Vec<Effect> {
        let mut out = vec![Effect::Emit(EventKind::HandoffAccepted {
            id: r.id.clone(),
            reason: reason.to_string(),
        })];
        out.extend(result(
            r,
            &format!("control transferred to {}", r.to),
            false,
        ));
        out.push(self.accepted_turn(&r.to, &r.from, &r.reason, None));
        out
    }

    pub(super) fn reject(&self, state: &SessionState, r: &Request, reason: &str) -> Vec<Effect> {
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
                out.push(self.accepted_turn(
                    &fb,
                    &r.from,
                    &r.reason,
                    Some(format!("{} could not take it over", r.to)),
                ));
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
    pub(super) fn fallback_for(
        &self,
        state: &SessionState,
        failed: &str,
        except: &str,
    ) -> Option<String> {
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
    pub(super) fn pending(&self, state: &SessionState) -> Option<Request> {
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
            reason: p.reason.clone(),
        })
    }

    pub(super) fn cancel(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
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

    /// `hold_handoff`: the person is deciding, so a `window` stops counting until they approve,
    /// reject, cancel or redirect (`confirm` waits anyway; a second hold changes nothing).
    pub(super) fn hold(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
        let Some(p) = state.handoff.pending.as_ref() else {
            return vec![command_error(cmd, "no handoff is waiting for approval")];
        };
        if p.held || self.ctx.team.approval != Some(Approval::Window) {
            return Vec::new();
        }
        vec![
            Effect::CancelTimer(timer_name(&p.id)),
            Effect::Emit(EventKind::HandoffHeld {
                id: p.id.clone(),
                by: USER.into(),
            }),
        ]
    }

    /// `edit_context`: what the pending handoff's target receives instead of its context and
    /// instructions, once accepted (`context_edited`; a later edit replaces an earlier one).
    pub(super) fn edit_context(
        &self,
        state: &SessionState,
        cmd: &Command,
        messages: &[ContextMessage],
    ) -> Vec<Effect> {
        let Some(p) = state.handoff.pending.as_ref() else {
            return vec![command_error(cmd, "no handoff is waiting for approval")];
        };
        if messages.is_empty() {
            return vec![command_error(
                cmd,
                "an edited context needs at least one message",
            )];
        }
        if let Some(m) = messages
            .iter()
            .find(|m| !ContextMessage::ROLES.contains(&m.role.as_str()))
        {
            return vec![command_error(
                cmd,
                format!("role {:?} is not one of user, assistant", m.role),
            )];
        }
        vec![Effect::Emit(EventKind::ContextEdited {
            handoff: p.id.clone(),
            agent: p.to.clone(),
            by: USER.into(),
            messages: messages.to_vec(),
        })]
    }

    pub(super) fn redirect(&self, state: &SessionState, cmd: &Command, to: &str) -> Vec<Effect> {
        let check = |from: &str, current: &str| -> Result<(), String> {
            let allowed = super::redirect_targets(&self.ctx.team, from, current);
            if to == current {
                Err(format!("the handoff already goes to {to}"))
            } else if !allowed.iter().any(|a| a == to) {
                Err(format!(
                    "{to} is not an allowed target of {from}: choose one of {}",
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
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
            out.extend(self.accept(state, &r, "redirected by the person"));
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
            out.push(self.accepted_turn(
                to,
                &top.from,
                &top.reason,
                Some(format!("the person redirected it from {}", top.to)),
            ));
        }
        out
    }

    pub(super) fn transfer(
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
            reason: reason.clone(),
        };
        let mut out = vec![Effect::Emit(EventKind::HandoffRequested {
            id: r.id.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            reason,
            approval: Some(approval.into()),
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
    pub(super) fn settle(&self, state: &SessionState, r: &Request) -> Option<Vec<Effect>> {
        let approval = self.ctx.team.approval.unwrap_or_default();
        match (approval, self.ctx.unattended) {
            (Approval::Auto, _) => Some(self.accept(state, r, "auto")),
            (_, Some(UnattendedApproval::Auto)) => {
                let mut out = Vec::new();
                if approval == Approval::Window {
                    out.push(Effect::CancelTimer(timer_name(&r.id)));
                }
                out.extend(self.accept(state, r, "approved by --approve auto"));
                Some(out)
            }
            (_, Some(UnattendedApproval::Reject)) => {
                Some(self.reject(state, r, "rejected by --approve reject"))
            }
            (_, None) => None,
        }
    }
}
