//! Running the plan: one [`Plan::step`] looks at `state.plan` and does what comes next: ask
//! the planner, decide a review by policy, start the tasks whose dependencies are done (up to
//! `max_parallel`, retries first), handle a failure that is final (`on_failure`), run the next
//! compensation, synthesize when every task is done, or end the task. The ends of turns
//! (planner, task, compensation, synthesis) are folded into events here, then `Continue`.
//!
//! A task's `task_started` names the turn it runs in: the turn ids of one batch are
//! `state.next_turn`, `+1`, … in the order the turns start (task turns never wait for a summary
//! turn: see `Plan::task_context`).

use super::prompts;
use super::review::done_ids;
use super::validate::validate;
use super::{MAX_ATTEMPTS, MAX_PLANNER_TURNS, Plan};
use crate::config::OnFailure;
use crate::core::event::{EventKind, Outcome, Purpose};
use crate::core::patterns::common::{answer, answer_others, error};
use crate::core::patterns::{Effect, TurnSpec};
use crate::core::state::plan::{PlanPhase, TaskRun, TaskStatus};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

impl Plan {
    /// What comes next, from the plan as it stands.
    pub(super) fn step(&self, state: &SessionState) -> Vec<Effect> {
        if !state.task.active {
            return Vec::new();
        }
        let plan = &state.plan;
        match plan.phase {
            // Idle with a task: an auto team routed the task here after it was sent.
            PlanPhase::Planning | PlanPhase::Idle
                if plan.planner_turns == 0 && !self.planner_running(state) =>
            {
                vec![self.ask_planner(state, &[])]
            }
            PlanPhase::Review
                if self.ctx.unattended.is_some()
                    || self.approval() == crate::config::Approval::Auto =>
            {
                plan.review
                    .as_ref()
                    .map(|r| self.by_policy(r.version))
                    .unwrap_or_default()
            }
            PlanPhase::Running => self.schedule(state),
            PlanPhase::Compensating => self.compensate(state),
            _ => Vec::new(),
        }
    }

    fn planner_running(&self, state: &SessionState) -> bool {
        state.is_running(Purpose::Planner)
    }

    pub(super) fn ask_planner(&self, state: &SessionState, errors: &[String]) -> Effect {
        let members: Vec<_> = self
            .members()
            .iter()
            .map(|m| (m.clone(), self.ctx.agents.get(m)))
            .collect();
        let text = prompts::planner(state, &members, errors);
        let tool = tools::plan_tool(self.members());
        Effect::StartTurn(TurnSpec::forced(
            self.planner(),
            Purpose::Planner,
            tool,
            text,
        ))
    }

    /// Start what may start; when nothing runs and nothing can, synthesize or end.
    fn schedule(&self, state: &SessionState) -> Vec<Effect> {
        let plan = &state.plan;
        let running = plan.running().count();
        let mode = self.on_failure();
        let final_failure = plan.tasks.iter().find(|t| self.failed_for_good(state, t));
        if let Some(failed) = final_failure
            && mode != OnFailure::Stop
        {
            if running > 0 {
                return Vec::new();
            }
            return match mode {
                OnFailure::Replan => self.replan(state, failed),
                _ => self.compensate(state),
            };
        }
        let mut out = Vec::new();
        if !state.paused {
            let mut slots = self.max_parallel().saturating_sub(running);
            let mut turn = state.next_turn;
            for t in &plan.tasks {
                if slots == 0 {
                    break;
                }
                let attempt = match t.status {
                    TaskStatus::Waiting if plan.waits_for(t.id()).is_empty() => 1,
                    TaskStatus::Failed if self.retryable(state, t) => t.attempts + 1,
                    _ => continue,
                };
                out.extend(self.start_task(state, t, attempt, turn));
                turn += 1;
                slots -= 1;
            }
        }
        if !out.is_empty() || running > 0 || state.paused {
            return out;
        }
        if plan.tasks.iter().all(|t| t.status.is_done()) {
            let mut spec = TurnSpec::speak(&self.ctx, self.planner(), None);
            spec.purpose = Purpose::Synthesize;
            spec.context = crate::config::ContextMode::None;
            spec.instructions = Some(prompts::synthesis(state));
            return vec![Effect::StartTurn(spec)];
        }
        vec![Effect::Finish {
            outcome: Outcome::Failed,
            final_text: Some(failure_report(state)),
        }]
    }

    fn start_task(
        &self,
        state: &SessionState,
        t: &TaskRun,
        attempt: u32,
        turn: u64,
    ) -> Vec<Effect> {
        let agent = t.spec.agent.clone();
        let mut spec = TurnSpec::speak(&self.ctx, &agent, Some(self.planner()));
        spec.context = self.task_context(&agent);
        spec.instructions = Some(prompts::task(state, t));
        vec![
            Effect::Emit(EventKind::TaskStarted {
                task: t.spec.id.clone(),
                agent,
                turn,
                attempt,
            }),
            Effect::StartTurn(spec),
        ]
    }

    /// A failed task that gets one more attempt: not cancelled by the person, attempts left.
    fn retryable(&self, state: &SessionState, t: &TaskRun) -> bool {
        let cancelled = t
            .turn
            .and_then(|n| state.turns.get(&n))
            .is_some_and(|r| r.status == TurnStatus::Cancelled);
        t.status == TaskStatus::Failed && t.attempts < MAX_ATTEMPTS && !cancelled
    }

    fn failed_for_good(&self, state: &SessionState, t: &TaskRun) -> bool {
        t.status == TaskStatus::Failed && !self.retryable(state, t)
    }

    fn replan(&self, state: &SessionState, failed: &TaskRun) -> Vec<Effect> {
        let reason = format!(
            "task {} ({}) failed: {}",
            failed.spec.id,
            failed.spec.agent,
            failed.error.as_deref().unwrap_or("no reason given")
        );
        let max = self
            .ctx
            .team
            .max_replans
            .unwrap_or(super::DEFAULT_MAX_REPLANS);
        if state.plan.replans >= max {
            return vec![
                error(format!("{reason}; no replan left (max_replans = {max})")),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: Some(failure_report(state)),
                },
            ];
        }
        vec![
            Effect::Emit(EventKind::Replanned {
                version: state.plan.next_version(),
                reason,
            }),
            Effect::Continue,
        ]
    }

    /// The saga: tasks not started are skipped, then each done task with a compensation runs
    /// it, newest first, one at a time; then the plan ends `failed`.
    fn compensate(&self, state: &SessionState) -> Vec<Effect> {
        let plan = &state.plan;
        let running = plan
            .tasks
            .iter()
            .any(|t| t.compensation.as_ref().is_some_and(|c| c.ok.is_none()));
        if running {
            return Vec::new();
        }
        let failed = plan
            .tasks
            .iter()
            .find(|t| t.status == TaskStatus::Failed)
            .map(|t| t.spec.id.clone())
            .unwrap_or_default();
        let mut out: Vec<Effect> = plan
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Waiting)
            .map(|t| {
                Effect::Emit(EventKind::TaskSkipped {
                    task: t.spec.id.clone(),
                    because: failed.clone(),
                })
            })
            .collect();
        let next = plan
            .tasks
            .iter()
            .filter(|t| {
                t.status == TaskStatus::Done
                    && t.compensation.is_none()
                    && t.spec.compensation.is_some()
            })
            .max_by_key(|t| t.done_order);
        match next {
            Some(t) => {
                let failure = plan
                    .task(&failed)
                    .and_then(|f| f.error.clone())
                    .unwrap_or_default();
                let mut spec = TurnSpec::speak(&self.ctx, &t.spec.agent, Some(self.planner()));
                spec.context = self.task_context(&t.spec.agent);
                spec.instructions = Some(prompts::compensation(t, &format!("{failed}: {failure}")));
                out.push(Effect::Emit(EventKind::CompensationStarted {
                    task: t.spec.id.clone(),
                    agent: t.spec.agent.clone(),
                    turn: state.next_turn,
                }));
                out.push(Effect::StartTurn(spec));
            }
            None => out.push(Effect::Finish {
                outcome: Outcome::Failed,
                final_text: Some(failure_report(state)),
            }),
        }
        out
    }

    /// The planner's turn ended: a valid plan is proposed; an invalid or missing one is asked
    /// for once more with the problems listed, then the task fails showing them.
    pub(super) fn on_plan(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let mut out = Vec::new();
        let problems = match t.status {
            TurnStatus::Running => return out,
            TurnStatus::Failed | TurnStatus::Cancelled => vec![format!(
                "the planner {} gave no plan ({})",
                t.agent,
                t.error.as_ref().map_or("cancelled", |e| e.message.as_str())
            )],
            TurnStatus::Completed => {
                let (call, parsed) = tools::parse_plan(&t.text, &t.tool_calls);
                out.extend(answer_others(&t.agent, turn, &t.tool_calls, call.as_ref()));
                let checked = parsed
                    .map_err(|m| vec![m.0])
                    .and_then(|tasks| validate(tasks, self.members(), &done_ids(state)));
                match checked {
                    Ok(tasks) => {
                        out.extend(answer(
                            &t.agent,
                            turn,
                            call.as_ref(),
                            "plan received",
                            false,
                        ));
                        out.extend(self.propose(state, tasks));
                        return out;
                    }
                    Err(problems) => {
                        let text = format!("invalid plan:\n- {}", problems.join("\n- "));
                        out.extend(answer(&t.agent, turn, call.as_ref(), &text, true));
                        problems
                    }
                }
            }
        };
        let listed = problems.join("; ");
        if state.plan.planner_turns < MAX_PLANNER_TURNS {
            out.push(error(format!(
                "the plan was not usable ({listed}); asking the planner again"
            )));
            out.push(self.ask_planner(state, &problems));
        } else {
            out.push(error(format!("the plan was not usable twice ({listed})")));
            out.push(Effect::Finish {
                outcome: Outcome::Failed,
                final_text: Some(format!(
                    "The planner's plan was not usable:\n- {}",
                    problems.join("\n- ")
                )),
            });
        }
        out
    }

    /// A conversation turn ended: a task's attempt or a compensation.
    pub(super) fn on_task_turn(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let record = &state.turns[&turn];
        let ok = record.status == TurnStatus::Completed;
        let plan = &state.plan;
        if let Some(t) = plan.tasks.iter().find(|t| {
            t.compensation
                .as_ref()
                .is_some_and(|c| c.turn == turn && c.ok.is_none())
        }) {
            return vec![
                Effect::Emit(EventKind::CompensationFinished {
                    task: t.spec.id.clone(),
                    agent: t.spec.agent.clone(),
                    ok,
                }),
                Effect::Continue,
            ];
        }
        let Some(t) = plan
            .tasks
            .iter()
            .find(|t| t.turn == Some(turn) && t.status == TaskStatus::Running)
        else {
            return Vec::new();
        };
        let error = match record.status {
            TurnStatus::Completed | TurnStatus::Running => None,
            TurnStatus::Cancelled => Some("cancelled".to_string()),
            TurnStatus::Failed => Some(
                record
                    .error
                    .as_ref()
                    .map_or("failed".to_string(), |e| e.message.clone()),
            ),
        };
        let mut out = vec![Effect::Emit(EventKind::TaskFinished {
            task: t.spec.id.clone(),
            agent: t.spec.agent.clone(),
            ok,
            error,
        })];
        let last = record.status == TurnStatus::Cancelled || t.attempts >= MAX_ATTEMPTS;
        if !ok && last && self.on_failure() == OnFailure::Stop {
            out.extend(skip_dependents(state, t.id()));
        }
        out.push(Effect::Continue);
        out
    }

    pub(super) fn on_synthesis(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        if t.status == TurnStatus::Completed {
            return vec![Effect::Finish {
                outcome: Outcome::Completed,
                final_text: Some(t.text.clone()),
            }];
        }
        let tries = state
            .task_turns()
            .filter(|(_, x)| x.purpose == Purpose::Synthesize)
            .count();
        if tries < 2 && t.status == TurnStatus::Failed {
            let mut spec = TurnSpec::speak(&self.ctx, self.planner(), None);
            spec.purpose = Purpose::Synthesize;
            spec.context = crate::config::ContextMode::None;
            spec.instructions = Some(prompts::synthesis(state));
            return vec![Effect::StartTurn(spec)];
        }
        let joined: Vec<String> = state
            .plan
            .tasks
            .iter()
            .filter_map(|t| t.output.as_ref().map(|o| format!("{}: {o}", t.spec.id)))
            .collect();
        vec![
            error(format!(
                "the planner {} wrote no final answer; the task outputs stand",
                t.agent
            )),
            Effect::Finish {
                outcome: Outcome::Completed,
                final_text: Some(joined.join("\n\n")),
            },
        ]
    }

    /// Turns the previous process left streaming, already closed as cancelled: run each again;
    /// and a task whose start was recorded but whose turn never began (the process died in
    /// between) starts now.
    pub(super) fn restart(&self, state: &SessionState, interrupted: &[u64]) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut turn = state.next_turn;
        for t in state.plan.tasks.iter().filter(|t| {
            t.status == TaskStatus::Running && t.turn.is_none_or(|n| !state.turns.contains_key(&n))
        }) {
            out.extend(self.start_task(state, t, t.attempts.max(1), turn));
            turn += 1;
        }
        for id in interrupted {
            let Some(record) = state.turns.get(id) else {
                continue;
            };
            let plan = &state.plan;
            match record.purpose {
                Purpose::Planner if plan.phase == PlanPhase::Planning => {
                    out.push(self.ask_planner(state, &[]));
                }
                Purpose::Synthesize => {
                    let mut spec = TurnSpec::speak(&self.ctx, self.planner(), None);
                    spec.purpose = Purpose::Synthesize;
                    spec.context = crate::config::ContextMode::None;
                    spec.instructions = Some(prompts::synthesis(state));
                    out.push(Effect::StartTurn(spec));
                }
                Purpose::Speak => {
                    if let Some(t) = plan
                        .tasks
                        .iter()
                        .find(|t| t.turn == Some(*id) && t.status == TaskStatus::Running)
                    {
                        out.extend(self.start_task(state, t, t.attempts.max(1), turn));
                    } else if let Some(t) = plan.tasks.iter().find(|t| {
                        t.compensation
                            .as_ref()
                            .is_some_and(|c| c.turn == *id && c.ok.is_none())
                    }) {
                        let mut spec =
                            TurnSpec::speak(&self.ctx, &t.spec.agent, Some(self.planner()));
                        spec.context = self.task_context(&t.spec.agent);
                        spec.instructions = Some(prompts::compensation(t, "an earlier failure"));
                        out.push(Effect::Emit(EventKind::CompensationStarted {
                            task: t.spec.id.clone(),
                            agent: t.spec.agent.clone(),
                            turn,
                        }));
                        out.push(Effect::StartTurn(spec));
                    } else {
                        continue;
                    }
                }
                _ => continue,
            }
            turn += 1;
        }
        out
    }

    /// Whether the end of `turn` was recorded but not acted on (the process died in between).
    pub(super) fn unanswered(&self, state: &SessionState, turn: u64) -> bool {
        let Some(record) = state.turns.get(&turn) else {
            return false;
        };
        let plan = &state.plan;
        let newest = |p: Purpose| {
            state
                .task_turns()
                .rev()
                .find(|(_, t)| t.purpose == p)
                .is_some_and(|(id, _)| *id == turn)
        };
        match record.purpose {
            Purpose::Planner => {
                plan.phase == PlanPhase::Planning
                    && plan.planner_turns > 0
                    && newest(Purpose::Planner)
            }
            Purpose::Synthesize => {
                plan.phase == PlanPhase::Synthesizing && newest(Purpose::Synthesize)
            }
            Purpose::Speak => plan.tasks.iter().any(|t| {
                (t.turn == Some(turn) && t.status == TaskStatus::Running)
                    || t.compensation
                        .as_ref()
                        .is_some_and(|c| c.turn == turn && c.ok.is_none())
            }),
            _ => false,
        }
    }
}

/// `task_skipped` for every waiting task that depends on `failed`, directly or through another
/// skipped task (`because`: the dependency that did not finish).
fn skip_dependents(state: &SessionState, failed: &str) -> Vec<Effect> {
    let mut bad = vec![failed.to_string()];
    let mut out = Vec::new();
    let mut changed = true;
    while changed {
        changed = false;
        for t in &state.plan.tasks {
            if t.status != TaskStatus::Waiting || bad.contains(&t.spec.id) {
                continue;
            }
            if let Some(because) = t.spec.depends_on.iter().find(|d| bad.contains(d)) {
                out.push(Effect::Emit(EventKind::TaskSkipped {
                    task: t.spec.id.clone(),
                    because: because.clone(),
                }));
                bad.push(t.spec.id.clone());
                changed = true;
            }
        }
    }
    out
}

/// The final text of a failed plan: what failed, what was skipped and compensated.
fn failure_report(state: &SessionState) -> String {
    let tasks = &state.plan.tasks;
    let mut lines = vec!["The plan failed.".to_string()];
    for t in tasks.iter().filter(|t| t.status == TaskStatus::Failed) {
        lines.push(format!(
            "- task {} ({}) failed: {}",
            t.spec.id,
            t.spec.agent,
            t.error.as_deref().unwrap_or("no reason given")
        ));
    }
    let list = |status: TaskStatus| -> Vec<&str> {
        tasks
            .iter()
            .filter(|t| t.status == status)
            .map(|t| t.id())
            .collect()
    };
    for (status, word) in [
        (TaskStatus::Done, "done"),
        (TaskStatus::Skipped, "skipped"),
        (TaskStatus::Compensated, "compensated"),
    ] {
        let ids = list(status);
        if !ids.is_empty() {
            lines.push(format!("- {word}: {}", ids.join(", ")));
        }
    }
    lines.join("\n")
}
