//! The actor's ledger duties: the budgets checked before every call ([`budget::check`]; the
//! team's refusal ends the task with outcome `budget`, the agent's fails the turn with kind
//! `budget`), and `fallback` models: when an agent's backend fails after its retries with an
//! error another backend can help with (unreachable, quota, rate limit, overloaded), the
//! failed attempt is recorded with its usage, `backend_fallback` is published, and the same
//! request goes to the next fallback model; the `message` then says which model served it.

use super::{Actor, Internal};
use crate::config::AgentConfig;
use crate::core::event::{ErrorInfo, EventKind, ModelRef, Outcome, UsageInfo};
use crate::core::metrics::budget;
use crate::core::patterns::{Effect, Input, TurnSpec};
use crate::llm::{ChatRequest, estimate};

/// The error kinds another backend can help with.
const FALLBACK_KINDS: [&str; 4] = ["network", "quota", "rate_limit", "overloaded"];

impl Actor {
    /// Why the budgets refuse `request` of `name`, if they do.
    pub(super) fn over_budget(
        &self,
        name: &str,
        agent: &AgentConfig,
        request: &ChatRequest,
    ) -> Option<budget::Refusal> {
        // An auto team's own budget covers the whole session; without one, the routed team's.
        let team_budget = self
            .ctx
            .team
            .budget
            .or_else(|| crate::core::patterns::active_team(&self.ctx.team, &self.state).budget);
        if team_budget.is_none() && agent.budget.is_none() {
            return None;
        }
        let call = budget::Call {
            team: &self.team_name,
            agent: name,
            input: estimate::input_tokens(request),
            price: agent.price,
        };
        budget::check(
            &self.metrics,
            team_budget.as_ref(),
            agent.budget.as_ref(),
            call,
        )
    }

    /// Whether the task was just ended by the team's budget (a turn asked for among the same
    /// effects must not start; the next task clears it).
    pub(super) fn ended_by_budget(&self) -> bool {
        !self.state.task.active
            && self
                .state
                .finished
                .as_ref()
                .is_some_and(|f| f.outcome == Outcome::Budget)
    }

    /// The last answer, given as the final text of a task the budget ended: none for a guarded
    /// team, whose guard cannot be asked once nothing more may be spent (issue 10.4).
    fn unguarded_answer(&self) -> Option<String> {
        if self.ctx.team.guard.is_some() {
            return None;
        }
        self.state.last_answer().map(|(_, t)| t.to_string())
    }

    /// A call the budgets refused: the team's ends the task (`budget`), the agent's fails the
    /// turn (`budget`) and the pattern carries on as after any failure.
    pub(super) fn refuse(&mut self, turn: u64, spec: TurnSpec, refusal: budget::Refusal) {
        match refusal.scope {
            budget::Scope::Team => {
                if self.state.task.active {
                    self.end_on_budget(refusal.message);
                }
            }
            budget::Scope::Agent => {
                self.announce(turn, &spec);
                self.publish(budget_failed(spec.agent, turn, refusal.message));
                self.queue.push_back(Input::TurnEnded { turn });
            }
        }
    }

    /// The next model call of a running turn's tool loop, refused by the budgets: the team's
    /// ends the task (`budget`; the turn is cancelled with it), the agent's fails the turn
    /// (`budget`) and the pattern carries on as after any failure.
    pub(super) fn refuse_step(&mut self, turn: u64, agent: &str, refusal: budget::Refusal) {
        if refusal.scope == budget::Scope::Team && self.state.task.active {
            self.end_on_budget(refusal.message);
            return;
        }
        let then = self.live.remove(&turn).and_then(|l| l.then);
        self.publish(budget_failed(agent.to_string(), turn, refusal.message));
        self.after_turn(turn, then);
    }

    /// The team's budget is spent: the task ends `budget`, saying why, with the last answer.
    fn end_on_budget(&mut self, message: String) {
        self.publish(EventKind::Error {
            message,
            command: None,
        });
        let final_text = self.unguarded_answer();
        self.perform(Effect::Finish {
            outcome: Outcome::Budget,
            final_text,
        });
    }

    /// Go on with `agent`'s next `fallback` model after `error`, if it has one and the error is
    /// one a different backend can help with: the failed attempt is recorded (`turn_failed`
    /// with `will_retry`, its `usage`), then `backend_fallback`, and the same request goes to the
    /// fallback. `Err(usage)` when the turn cannot go on.
    pub(super) fn fall_back(
        &mut self,
        turn: u64,
        agent: &str,
        error: &ErrorInfo,
        usage: UsageInfo,
    ) -> Result<(), UsageInfo> {
        let helps = FALLBACK_KINDS.iter().any(|k| error.kind == *k);
        let Some(cfg) = self.ctx.agents.get(agent).filter(|_| helps).cloned() else {
            return Err(usage);
        };
        let Some(live) = self.live.get(&turn) else {
            return Err(usage);
        };
        let tried = live.fallbacks_tried;
        let Some(next) = cfg.fallback.get(tried).cloned() else {
            return Err(usage);
        };
        let Some(provider) = self.providers.get(&next.backend).cloned() else {
            return Err(usage);
        };
        let from = live.served_by.clone().unwrap_or_else(|| ModelRef {
            backend: cfg.backend.clone(),
            model: cfg.model.clone(),
        });
        let to = ModelRef {
            backend: next.backend.clone(),
            model: next.model.clone(),
        };
        let mut request = live.request.clone();
        request.model = next.model.clone();
        let tx = self.internal.clone();
        let send = move |msg| {
            let _ = tx.send(Internal::Turn { turn, msg });
        };
        self.publish(EventKind::TurnFailed {
            agent: agent.to_string(),
            turn,
            error: error.clone(),
            will_retry: true,
            usage,
        });
        self.publish(EventKind::BackendFallback {
            agent: agent.to_string(),
            turn,
            from,
            to: to.clone(),
            error: error.clone(),
        });
        if let Some(live) = self.live.get_mut(&turn) {
            live.fallbacks_tried = tried + 1;
            live.served_by = Some(to);
            live.restart(provider, request, send);
        }
        Ok(())
    }
}

/// The `turn_failed` of a call an agent's budget refused: it was never sent, so nothing was spent.
fn budget_failed(agent: String, turn: u64, message: String) -> EventKind {
    EventKind::TurnFailed {
        agent,
        turn,
        error: ErrorInfo {
            kind: "budget".into(),
            message,
        },
        will_retry: false,
        usage: UsageInfo {
            input: Some(0),
            output: Some(0),
            estimated: false,
        },
    }
}
