//! A plan team's plan as the session knows it, folded from the plan events (issue 11): every
//! version the planner or the person wrote, the review waiting for the person, and the run of
//! each task of the current graph. This is what the plan pattern decides from, what resume
//! rebuilds, and what the Plan pane, the text output and the export show.
//!
//! Mental model: a task (`user_message`) opens [`PlanPhase::Planning`]; the planner's plan
//! arrives as `plan_proposed` (version 1) and waits in [`PlanPhase::Review`] (the person may
//! replace it with `plan_edited`, a new version) until `plan_approved` starts
//! [`PlanPhase::Running`] or `plan_rejected` sends it back to the planner. Each task then goes
//! waiting → running (`task_started`, attempt 1, 2…) → done or failed (`task_finished`), or
//! skipped (`task_skipped`); a done task whose compensation ran is compensated. A `replanned`
//! failure returns to planning: the next version keeps the done tasks and replaces the rest
//! (the dropped runs move to [`PlanState::dropped`]). Then the planner synthesizes the answer.
//! Which tasks a task still waits for is [`PlanState::waits_for`]: its dependencies not yet done.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::core::event::{Actor, Approval, EventKind, PlanTask, Purpose};
use crate::core::state::TurnRecord;

/// Where the plan is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanPhase {
    /// No plan task is open (not a plan team, or between prompts).
    #[default]
    Idle,
    /// The planner is writing the first plan, or a new version after a rejection or a replan.
    Planning,
    /// A version waits for the person's approval (`confirm`) or for its window (`window`).
    Review,
    /// Tasks run.
    Running,
    /// A task failed under `on_failure = "compensate"`: compensations run, newest first.
    Compensating,
    /// The planner writes the final answer from the task outputs.
    Synthesizing,
    /// The prompt's session_finished was recorded.
    Done,
}

/// How a version of the plan came about and how it was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    /// Waiting for review (or not decided yet).
    Proposed,
    Approved {
        by: Actor,
    },
    Rejected {
        by: Actor,
        reason: String,
    },
    /// Replaced by a later version before it was decided (an edit).
    Superseded,
}

/// One version of the plan, as proposed or edited.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanVersion {
    pub version: u32,
    pub tasks: Vec<PlanTask>,
    /// The planner's name for a proposal, the person (`user`) for an edit.
    pub by: Actor,
    /// True for `plan_edited`.
    pub edited: bool,
    pub at: DateTime<Utc>,
    pub status: VersionStatus,
}

/// The version waiting for the person.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub version: u32,
    pub approval: Option<Approval>,
    /// For `window`: how long until it runs unless the person acts.
    pub window_ms: Option<u64>,
    /// The person is deciding (`plan_held`): the window no longer counts.
    pub held: bool,
}

/// A task's state in the Plan pane's words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskStatus {
    #[default]
    Waiting,
    Running,
    Done,
    /// Its last attempt failed (it may still be retried: `attempts` tells how many ran).
    Failed,
    Skipped,
    /// Done, and then undone by its compensation.
    Compensated,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Waiting => "waiting",
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Compensated => "compensated",
        }
    }

    /// Done or compensated: its output exists and dependents may use it.
    pub fn is_done(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Compensated)
    }
}

/// The compensation of a done task, once started.
#[derive(Clone, Debug, PartialEq)]
pub struct CompensationRun {
    pub turn: u64,
    /// `None` while it runs.
    pub ok: Option<bool>,
}

/// One task of the current graph and its run.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRun {
    pub spec: PlanTask,
    /// The version it comes from (a done task kept by a replan keeps its own).
    pub version: u32,
    pub status: TaskStatus,
    /// Attempts started so far (`task_started.attempt` of the last one).
    pub attempts: u32,
    /// The turn of the latest attempt.
    pub turn: Option<u64>,
    /// The text of the successful attempt (dependents receive it).
    pub output: Option<String>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// For a skipped task: the failed or skipped task it depended on.
    pub because: Option<String>,
    /// When the first attempt started and when the task ended (done, failed, skipped).
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub compensation: Option<CompensationRun>,
    /// 1 for the first task of the plan to finish, 2 for the next… (compensations run newest first).
    pub done_order: Option<u32>,
}

impl TaskRun {
    fn new(spec: PlanTask, version: u32) -> TaskRun {
        TaskRun {
            spec,
            version,
            status: TaskStatus::Waiting,
            attempts: 0,
            turn: None,
            output: None,
            error: None,
            because: None,
            started_at: None,
            ended_at: None,
            compensation: None,
            done_order: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Milliseconds from its first start to its end, or to `now` while it runs.
    pub fn elapsed_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        let start = self.started_at?;
        let end = self.ended_at.unwrap_or(now);
        Some((end - start).num_milliseconds().max(0) as u64)
    }
}

/// The plan of the current prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanState {
    pub phase: PlanPhase,
    /// Every version so far, oldest first.
    pub versions: Vec<PlanVersion>,
    /// The version under review, if one waits.
    pub review: Option<Review>,
    /// The version being run (the last approved one).
    pub approved: Option<u32>,
    /// The current graph in plan order: the latest version's tasks, with the done tasks of
    /// earlier versions kept first.
    pub tasks: Vec<TaskRun>,
    /// Runs a replan dropped (failed, skipped or not started under an earlier version).
    pub dropped: Vec<TaskRun>,
    /// `replanned` events so far.
    pub replans: u32,
    /// Planner turns since the last plan was proposed, rejected or replanned (an invalid plan
    /// is sent back once).
    pub planner_turns: u32,
    /// The newest `replanned` reason (what the planner is asked to fix).
    pub replan_reason: Option<String>,
    /// The synthesize turn, once started.
    pub synthesis_turn: Option<u64>,
    /// Tasks finished so far (gives each its `done_order`).
    pub done_count: u32,
}

impl PlanState {
    /// The next version number.
    pub fn next_version(&self) -> u32 {
        self.versions.last().map_or(1, |v| v.version + 1)
    }

    /// The newest version.
    pub fn latest(&self) -> Option<&PlanVersion> {
        self.versions.last()
    }

    pub fn version(&self, version: u32) -> Option<&PlanVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub fn task(&self, id: &str) -> Option<&TaskRun> {
        self.tasks.iter().find(|t| t.spec.id == id)
    }

    /// The dependencies of `id` that have not finished yet (what it waits for).
    pub fn waits_for(&self, id: &str) -> Vec<&str> {
        let Some(t) = self.task(id) else {
            return Vec::new();
        };
        t.spec
            .depends_on
            .iter()
            .filter(|d| self.task(d).is_none_or(|r| !r.status.is_done()))
            .map(String::as_str)
            .collect()
    }

    /// Tasks running now.
    pub fn running(&self) -> impl Iterator<Item = &TaskRun> {
        self.tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Running)
    }

    /// The task whose latest attempt (or compensation) runs in `turn`.
    pub fn task_of_turn(&self, turn: u64) -> Option<&TaskRun> {
        self.tasks.iter().find(|t| {
            t.turn == Some(turn) || t.compensation.as_ref().is_some_and(|c| c.turn == turn)
        })
    }

    /// Fold one plan event (and the turn starts that move the phase). `turns` gives a finished
    /// task its output.
    pub fn apply(
        &mut self,
        kind: &EventKind,
        ts: DateTime<Utc>,
        turns: &BTreeMap<u64, TurnRecord>,
    ) {
        match kind {
            EventKind::TurnStarted { purpose, turn, .. } => match purpose {
                Purpose::Planner => {
                    self.planner_turns += 1;
                    if self.phase != PlanPhase::Review {
                        self.phase = PlanPhase::Planning;
                    }
                }
                Purpose::Synthesize => {
                    self.phase = PlanPhase::Synthesizing;
                    self.synthesis_turn = Some(*turn);
                }
                _ => {}
            },
            EventKind::PlanProposed {
                version,
                tasks,
                by,
                approval,
                window_ms,
            } => {
                self.planner_turns = 0;
                self.add_version(*version, tasks, by, false, ts);
                self.review = Some(Review {
                    version: *version,
                    approval: approval.clone(),
                    window_ms: *window_ms,
                    held: false,
                });
                self.phase = PlanPhase::Review;
            }
            EventKind::PlanEdited { version, tasks, by } => {
                if let Some(prev) = self.versions.last_mut()
                    && prev.status == VersionStatus::Proposed
                {
                    prev.status = VersionStatus::Superseded;
                }
                self.add_version(*version, tasks, by, true, ts);
                if let Some(r) = &mut self.review {
                    r.version = *version;
                }
            }
            EventKind::PlanHeld { version, .. } => {
                if let Some(r) = self.review.as_mut().filter(|r| r.version == *version) {
                    r.held = true;
                }
            }
            EventKind::PlanApproved { version, by, .. } => {
                self.set_status(*version, VersionStatus::Approved { by: by.clone() });
                self.review = None;
                self.approved = Some(*version);
                self.phase = PlanPhase::Running;
            }
            EventKind::PlanRejected {
                version,
                by,
                reason,
            } => {
                let status = VersionStatus::Rejected {
                    by: by.clone(),
                    reason: reason.clone(),
                };
                self.set_status(*version, status);
                self.review = None;
                self.planner_turns = 0;
                self.phase = PlanPhase::Planning;
            }
            EventKind::TaskStarted {
                task,
                turn,
                attempt,
                ..
            } => {
                if let Some(t) = self.task_mut(task) {
                    t.status = TaskStatus::Running;
                    t.attempts = *attempt;
                    t.turn = Some(*turn);
                    t.started_at.get_or_insert(ts);
                    t.ended_at = None;
                }
            }
            EventKind::TaskFinished {
                task, ok, error, ..
            } => {
                let order = self.done_count + 1;
                if let Some(t) = self.tasks.iter_mut().find(|t| &t.spec.id == task) {
                    t.ended_at = Some(ts);
                    if *ok {
                        t.done_order = Some(order);
                        t.status = TaskStatus::Done;
                        t.error = None;
                        t.output = t.turn.and_then(|n| turns.get(&n)).map(|r| r.text.clone());
                    } else {
                        t.status = TaskStatus::Failed;
                        t.error = error.clone();
                    }
                    if *ok {
                        self.done_count = order;
                    }
                }
            }
            EventKind::TaskSkipped { task, because } => {
                if let Some(t) = self.task_mut(task) {
                    t.status = TaskStatus::Skipped;
                    t.because = Some(because.clone());
                    t.ended_at = Some(ts);
                }
            }
            EventKind::CompensationStarted { task, turn, .. } => {
                self.phase = PlanPhase::Compensating;
                if let Some(t) = self.task_mut(task) {
                    t.compensation = Some(CompensationRun {
                        turn: *turn,
                        ok: None,
                    });
                }
            }
            EventKind::CompensationFinished { task, ok, .. } => {
                if let Some(t) = self.task_mut(task) {
                    if let Some(c) = &mut t.compensation {
                        c.ok = Some(*ok);
                    }
                    if *ok {
                        t.status = TaskStatus::Compensated;
                    }
                }
            }
            EventKind::Replanned { reason, .. } => {
                self.replans += 1;
                self.planner_turns = 0;
                self.replan_reason = Some(reason.clone());
                self.phase = PlanPhase::Planning;
            }
            EventKind::SessionFinished { .. } if self.phase != PlanPhase::Idle => {
                self.phase = PlanPhase::Done;
                self.review = None;
            }
            _ => {}
        }
    }

    fn task_mut(&mut self, id: &str) -> Option<&mut TaskRun> {
        self.tasks.iter_mut().find(|t| t.spec.id == id)
    }

    fn set_status(&mut self, version: u32, status: VersionStatus) {
        if let Some(v) = self.versions.iter_mut().find(|v| v.version == version) {
            v.status = status;
        }
    }

    /// A new version: its tasks become the graph, after the done tasks of the ones before. A
    /// done task is never replaced: a new task with its id is the same, finished task.
    fn add_version(
        &mut self,
        version: u32,
        tasks: &[PlanTask],
        by: &str,
        edited: bool,
        ts: DateTime<Utc>,
    ) {
        self.versions.push(PlanVersion {
            version,
            tasks: tasks.to_vec(),
            by: by.to_string(),
            edited,
            at: ts,
            status: VersionStatus::Proposed,
        });
        let old = std::mem::take(&mut self.tasks);
        for run in old {
            if run.status.is_done() {
                self.tasks.push(run);
            } else if run.attempts > 0 || run.status != TaskStatus::Waiting {
                self.dropped.push(run);
            }
        }
        let fresh: Vec<TaskRun> = tasks
            .iter()
            .filter(|t| self.task(&t.id).is_none())
            .map(|t| TaskRun::new(t.clone(), version))
            .collect();
        self.tasks.extend(fresh);
    }
}

/// One line per task, as the planner, the text output and the export show a plan:
/// `id · agent · instructions (after a, b) [undo: …]`.
pub fn task_lines(tasks: &[PlanTask]) -> String {
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    tasks
        .iter()
        .map(|t| {
            let mut s = format!("{} · {} · {}", t.id, t.agent, flat(&t.instructions));
            if !t.depends_on.is_empty() {
                s.push_str(&format!(" (after {})", t.depends_on.join(", ")));
            }
            if let Some(c) = &t.compensation {
                s.push_str(&format!(" [undo: {}]", flat(c)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
