//! `plan`: a planner decomposes the task into a graph of tasks that run in parallel (issue 11).
//!
//! Mental model: the prompt opens planning; the planner answers with the forced tool
//! `submit_plan` (text fallback `PLAN: <json>`), which is checked ([`validate`]: every problem
//! listed; an invalid plan goes back to the planner once with the list, then the task fails
//! showing it). A valid plan is `plan_proposed` and reviewed ([`review`]: `approval` auto,
//! confirm or window; `approve_plan`, `reject_plan` {reason} back to the planner, `edit_plan`,
//! `hold_plan`; unattended runs follow `--approve`). Approved, it runs ([`run`]): a task starts
//! once every task it depends on is done, at most `max_parallel` at once, as an ordinary turn of
//! its agent (tools included) whose instructions carry the outputs of its dependencies. A failed
//! task runs once more, then `on_failure` decides: `replan` (the planner rewrites the unfinished
//! part, up to `max_replans`), `compensate` (the compensations of the done tasks run, newest
//! first, then `failed`), `stop` (its dependents are skipped, then `failed`). When every task is
//! done the planner writes the answer (purpose `synthesize`).
//!
//! Like every pattern it keeps nothing of its own: it decides from `state.plan` (the fold of the
//! plan events), so a resumed plan carries on where the journal stopped and never re-runs a done
//! task. Every step is answered by [`Input::Continue`] ("look at the plan again"), which is also
//! how a resume, a `resume` command or a review decision gets things moving. Pause stops new
//! tasks from starting; cancelling a task's turn is that task's failure (not retried); `stop`
//! ends the plan `cancelled`; the team's `time_limit_s` covers the whole plan (timer
//! `time_limit`), and budgets are the actor's, over every call.

mod prompts;
mod review;
mod run;
#[cfg(test)]
mod tests;
pub mod validate;

use crate::config::{Approval, ContextMode, OnFailure};
use crate::core::command::Command;
use crate::core::event::{Outcome, Purpose};
use crate::core::patterns::common::{self};
use crate::core::patterns::{Ctx, Effect, Input, Pattern};
use crate::core::state::plan::PlanPhase;
use crate::core::state::{SessionState, TurnStatus};

/// The review window's timer.
pub const REVIEW_TIMER: &str = "plan_review";
/// The whole plan's wall-clock limit (`time_limit_s`).
pub const TIME_LIMIT_TIMER: &str = "time_limit";
/// `max_parallel` when the team does not say.
pub const DEFAULT_MAX_PARALLEL: u32 = 3;
/// `max_replans` when the team does not say.
pub const DEFAULT_MAX_REPLANS: u32 = 2;
/// The review window when `approval_window_ms` is not set.
pub const DEFAULT_WINDOW_MS: u64 = 3000;
/// Attempts of one task (the provider's own retries happen inside each).
pub const MAX_ATTEMPTS: u32 = 2;
/// Planner turns per plan before an invalid or missing plan fails the task.
pub const MAX_PLANNER_TURNS: u32 = 2;
/// Who approves or rejects when no person does (`auto`, `window`, `--approve`).
pub const BY_POLICY: &str = "policy";

pub struct Plan {
    ctx: Ctx,
}

impl Plan {
    pub fn new(ctx: Ctx) -> Self {
        Plan { ctx }
    }

    fn planner(&self) -> &str {
        self.ctx
            .team
            .planner
            .as_deref()
            .or(self.ctx.team.members.first().map(String::as_str))
            .unwrap_or("planner")
    }

    fn members(&self) -> &[String] {
        &self.ctx.team.members
    }

    fn max_parallel(&self) -> usize {
        self.ctx
            .team
            .max_parallel
            .unwrap_or(DEFAULT_MAX_PARALLEL)
            .max(1) as usize
    }

    fn on_failure(&self) -> OnFailure {
        self.ctx.team.on_failure.unwrap_or_default()
    }

    fn approval(&self) -> Approval {
        self.ctx.team.approval.unwrap_or_default()
    }

    fn window_ms(&self) -> u64 {
        self.ctx
            .team
            .approval_window_ms
            .unwrap_or(DEFAULT_WINDOW_MS)
    }

    /// A task turn's context: the team's (or the edge's) mode; unset, only the request (the
    /// instructions carry what the task needs). A summary is not made per task: it reads as full.
    fn task_context(&self, agent: &str) -> ContextMode {
        let team = &self.ctx.team;
        let planner = self.planner();
        let edge = [format!("{planner}->{agent}"), format!("*->{agent}")]
            .into_iter()
            .find_map(|k| team.edges.get(&k).copied());
        match edge.or(team.context).unwrap_or(ContextMode::None) {
            ContextMode::Summary => ContextMode::Full,
            mode => mode,
        }
    }

    fn time_limit(&self, elapsed_ms: u64) -> Option<Effect> {
        self.ctx.team.time_limit_s.map(|s| Effect::SetTimer {
            name: TIME_LIMIT_TIMER.into(),
            ms: s.saturating_mul(1000).saturating_sub(elapsed_ms),
        })
    }
}

impl Pattern for Plan {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } => {
                    if state.task.active {
                        return common::busy(&cmd);
                    }
                    let mut out = vec![common::user_message(text, to.clone())];
                    out.extend(self.time_limit(0));
                    out.push(Effect::Continue);
                    out
                }
                Command::ApprovePlan {} => self.approve(state, &cmd),
                Command::RejectPlan { reason } => self.reject(state, &cmd, reason.as_deref()),
                Command::EditPlan { tasks } => self.edit(state, &cmd, tasks),
                Command::HoldPlan {} => self.hold(state, &cmd),
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Pause {} => common::pause(state, &cmd),
                Command::Resume {} => common::resume(state, &cmd),
                Command::Stop {} => common::stop(state),
                _ => common::not_here(&cmd, "plan"),
            },
            Input::TurnEnded { turn } => {
                let Some(t) = common::ended(state, turn) else {
                    return Vec::new();
                };
                match t.purpose {
                    Purpose::Planner => self.on_plan(state, turn),
                    Purpose::Synthesize => self.on_synthesis(state, turn),
                    Purpose::Speak => self.on_task_turn(state, turn),
                    _ => Vec::new(),
                }
            }
            Input::Timer(name) if name == REVIEW_TIMER => self.window_ended(state),
            Input::Timer(name) if name == TIME_LIMIT_TIMER && state.task.active => {
                vec![
                    common::error("the plan ran out of time (time_limit_s)"),
                    Effect::Finish {
                        outcome: Outcome::Timeout,
                        final_text: None,
                    },
                ]
            }
            Input::Timer(_) => Vec::new(),
            Input::Continue => self.step(state),
        }
    }

    fn resume(
        &mut self,
        state: &SessionState,
        interrupted: &[u64],
        elapsed_ms: u64,
    ) -> Vec<Effect> {
        let mut out: Vec<Effect> = self.time_limit(elapsed_ms).into_iter().collect();
        let plan = &state.plan;
        if let Some(r) = plan.review.as_ref().filter(|r| !r.held)
            && self.approval() == Approval::Window
            && self.ctx.unattended.is_none()
        {
            out.push(Effect::SetTimer {
                name: REVIEW_TIMER.into(),
                ms: r.window_ms.unwrap_or(self.window_ms()),
            });
        }
        out.extend(self.restart(state, interrupted));
        // Ends recorded but not acted on (the process died in between), after the restarts so
        // that the turn ids the restarts announced stay theirs.
        let ended: Vec<u64> = state
            .task_turns()
            .filter(|(id, t)| t.status != TurnStatus::Running && !interrupted.contains(id))
            .map(|(id, _)| *id)
            .filter(|id| self.unanswered(state, *id))
            .collect();
        for turn in ended {
            out.extend(self.on(state, Input::TurnEnded { turn }));
        }
        // A task with no turn yet (the process died before the planner was asked, or an auto
        // team has just routed the task here) starts by asking the planner.
        if plan.phase != PlanPhase::Idle || state.task_turns().next().is_none() {
            out.push(Effect::Continue);
        }
        out
    }
}
