//! [`Guarded`]: the final-answer boundary of every pattern. It wraps a guarded team's pattern
//! and holds each finish that gives a final text until the guard allows it.
//!
//! A `finish` with a final text becomes a question to the guard instead (the task's running turns
//! cancelled, as the finish would have): allowed, the task finishes as the pattern said; denied
//! (or no usable verdict: fail closed), `guard_tripped` and the task ends `failed` with no final
//! text. While the question is open the wrapped pattern hears nothing (it has finished): `stop`
//! ends the task `cancelled`, `cancel_turn` cancels the guard's call (which counts as an answer
//! that could not be used), other commands are refused with an `error` event. A finish the guard
//! cannot be asked about (`cancelled`, `budget`: the person stopped it, or no call may be paid
//! for) keeps its outcome but gives no final text: a guarded team never gives an unchecked one.
//! A handoff's question is the wrapped `handoff` pattern's to act on; a tool call's the actor's.

use super::{Decision, answer_calls, ask, decide, tripped};
use crate::core::command::Command;
use crate::core::event::{Boundary, Outcome};
use crate::core::patterns::common::{self, command_error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern};
use crate::core::state::SessionState;
use crate::core::state::guards::{Asked, Crossing};

pub struct Guarded {
    ctx: Ctx,
    guard: String,
    inner: Box<dyn Pattern>,
}

impl Guarded {
    /// `inner` unchanged when the team has no guard.
    pub fn wrap(ctx: &Ctx, inner: Box<dyn Pattern>) -> Box<dyn Pattern> {
        match ctx.team.guard.clone() {
            Some(guard) => Box::new(Guarded {
                ctx: ctx.clone(),
                guard,
                inner,
            }),
            None => inner,
        }
    }

    /// The pattern's effects with each finish that gives a final text held for the guard.
    fn hold(&self, state: &SessionState, effects: Vec<Effect>) -> Vec<Effect> {
        let mut out = Vec::with_capacity(effects.len());
        for effect in effects {
            let Effect::Finish {
                outcome,
                final_text,
            } = effect
            else {
                out.push(effect);
                continue;
            };
            let text = final_text.filter(|t| !t.trim().is_empty());
            match text {
                Some(text) if !matches!(outcome, Outcome::Cancelled | Outcome::Budget) => {
                    out.extend(state.running_turns().into_iter().map(Effect::CancelTurn));
                    let crossing = final_crossing(state, outcome, text);
                    out.extend(ask(&self.ctx, &self.guard, &crossing, None));
                }
                _ => out.push(Effect::Finish {
                    outcome,
                    final_text: None,
                }),
            }
        }
        out
    }

    /// The guard's answer about the final answer `asked` (or how it goes on).
    fn settle(&self, state: &SessionState, asked: &Asked) -> Vec<Effect> {
        let c = &asked.crossing;
        let decision = decide(state, asked);
        let mut out = answer_calls(state, asked, &decision);
        out.extend(match decision {
            Decision::Wait => Vec::new(),
            Decision::Ask(note) => ask(&self.ctx, &asked.guard, c, note.as_deref()),
            Decision::Allow(_) => vec![Effect::Finish {
                outcome: c.outcome.unwrap_or(Outcome::Completed),
                final_text: Some(c.content.clone()),
            }],
            Decision::Deny(reason) => vec![
                tripped(&asked.guard, c, &reason),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: None,
                },
            ],
        });
        out
    }

    /// An input while the final answer waits for the guard.
    fn while_asking(&self, state: &SessionState, asked: &Asked, input: Input) -> Vec<Effect> {
        match input {
            Input::TurnEnded { turn } if asked.turns.last() == Some(&turn) => {
                self.settle(state, asked)
            }
            Input::Command(Command::Stop {}) => self.hold(state, common::stop(state)),
            Input::Command(Command::CancelTurn { agent }) => {
                let cmd = Command::CancelTurn {
                    agent: agent.clone(),
                };
                common::cancel_turn(state, &cmd, agent.as_deref())
            }
            Input::Command(cmd) => vec![command_error(
                &cmd,
                format!(
                    "the final answer waits for the guard {}: stop the task or wait",
                    self.guard
                ),
            )],
            _ => Vec::new(),
        }
    }
}

impl Pattern for Guarded {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        if let Some(asked) = state.guards.open_final().filter(|_| state.task.active) {
            return self.while_asking(state, asked, input);
        }
        let effects = self.inner.on(state, input);
        self.hold(state, effects)
    }

    fn resume(
        &mut self,
        state: &SessionState,
        interrupted: &[u64],
        elapsed_ms: u64,
    ) -> Vec<Effect> {
        if let Some(asked) = state.guards.open_final().filter(|_| state.task.active) {
            return self.settle(state, asked);
        }
        let effects = self.inner.resume(state, interrupted, elapsed_ms);
        self.hold(state, effects)
    }
}

/// The final answer of the task about to finish with `outcome`.
fn final_crossing(state: &SessionState, outcome: Outcome, text: String) -> Crossing {
    let agent = state.last_answer().map(|(a, _)| a.to_string());
    Crossing {
        boundary: Boundary::Final,
        id: format!("final:{}", state.task.first_turn),
        subject: match &agent {
            Some(a) => format!("final answer of {a}"),
            None => "final answer".to_string(),
        },
        agent,
        content: text,
        outcome: Some(outcome),
    }
}
