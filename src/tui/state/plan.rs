//! The plan as the console shows it: a small view-model ([`PlanBoard`]) of the plan team's
//! current plan version, read from core's fold of the `plan_*` / `task_*` events, that the Plan
//! pane and the review editor draw from.
//!
//! Mental model: one row per task of the current version ([`TaskRow`]: id, agent, status,
//! the tasks it depends on, when it started and ended, its turn); [`PlanBoard::tree`] orders
//! the rows so that every task comes after the tasks it depends on, indented by the length of
//! its longest dependency chain, which reads as a tree for chains and as a table for
//! independent tasks. No clock and no IO: elapsed times are computed against the `now` the
//! caller passes.

use chrono::{DateTime, TimeDelta, Utc};

/// Where a task stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskStatus {
    /// Not started: its dependencies have not all finished, or no slot is free.
    #[default]
    Waiting,
    Running,
    Done,
    Failed,
    /// Not run: a task it depends on failed.
    Skipped,
    /// Done, then undone by its compensation instructions.
    Compensated,
}

impl TaskStatus {
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Waiting => "waiting",
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Compensated => "compensated",
        }
    }

    /// Finished one way or another: nothing waits on it any more.
    pub fn is_settled(self) -> bool {
        !matches!(self, TaskStatus::Waiting | TaskStatus::Running)
    }
}

/// One task of the plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub agent: String,
    pub instructions: String,
    pub depends_on: Vec<String>,
    pub status: TaskStatus,
    /// When its latest attempt started and when it ended.
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// The turn of its latest attempt: where its output is.
    pub turn: Option<u64>,
    /// Attempts so far (1 on the first run).
    pub attempt: u32,
}

impl TaskRow {
    /// How long it ran (running: so far).
    pub fn elapsed(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        let start = self.started?;
        let end = match self.status {
            TaskStatus::Running => now,
            _ => self.ended.unwrap_or(now),
        };
        Some(end - start)
    }
}

/// How far the plan has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanStage {
    /// The planner is working on it (or no plan yet).
    #[default]
    Planning,
    /// Proposed and waiting for the person (or its approval window).
    Proposed,
    /// Approved: its tasks run.
    Running,
    /// Rejected: back with the planner.
    Rejected,
    /// Every task settled.
    Finished,
}

impl PlanStage {
    pub fn label(self) -> &'static str {
        match self {
            PlanStage::Planning => "planning",
            PlanStage::Proposed => "awaiting approval",
            PlanStage::Running => "running",
            PlanStage::Rejected => "rejected",
            PlanStage::Finished => "finished",
        }
    }
}

/// The plan on screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanBoard {
    /// The current version (1 for the first proposal; each edit or replan adds one). 0: none.
    pub version: u32,
    pub stage: PlanStage,
    pub tasks: Vec<TaskRow>,
}

impl PlanBoard {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn task(&self, id: &str) -> Option<&TaskRow> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The rows in display order with their depth: each task after every task it depends on
    /// (the earliest ready task first, so the planner's order stands where the graph allows),
    /// its depth the length of its longest chain of dependencies. Tasks caught in a cycle or
    /// depending on unknown ids (a plan that failed validation) come last, at depth 0.
    pub fn tree(&self) -> Vec<(usize, usize)> {
        let n = self.tasks.len();
        let index = |id: &str| self.tasks.iter().position(|t| t.id == id);
        let mut depth: Vec<Option<usize>> = vec![None; n];
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let ready = (0..n).find(|&i| {
                depth[i].is_none()
                    && self.tasks[i]
                        .depends_on
                        .iter()
                        .all(|d| index(d).is_some_and(|j| depth[j].is_some()))
            });
            let Some(i) = ready else { break };
            let d = self.tasks[i]
                .depends_on
                .iter()
                .filter_map(|d| index(d).and_then(|j| depth[j]))
                .map(|d| d + 1)
                .max()
                .unwrap_or(0);
            depth[i] = Some(d);
            out.push((i, d));
        }
        for (i, seen) in depth.iter().enumerate() {
            if seen.is_none() {
                out.push((i, 0));
            }
        }
        out
    }

    /// The tasks `task` still waits for: its dependencies that have not settled.
    pub fn waits_for<'a>(&self, task: &'a TaskRow) -> Vec<&'a str> {
        task.depends_on
            .iter()
            .filter(|d| self.task(d).is_none_or(|t| !t.status.is_settled()))
            .map(String::as_str)
            .collect()
    }

    /// (settled, total) tasks.
    pub fn progress(&self) -> (usize, usize) {
        let settled = self.tasks.iter().filter(|t| t.status.is_settled()).count();
        (settled, self.tasks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, deps: &[&str]) -> TaskRow {
        TaskRow {
            id: id.into(),
            agent: "a".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..TaskRow::default()
        }
    }

    fn board(tasks: Vec<TaskRow>) -> PlanBoard {
        PlanBoard {
            version: 1,
            stage: PlanStage::Running,
            tasks,
        }
    }

    fn ids(b: &PlanBoard) -> Vec<(String, usize)> {
        b.tree()
            .into_iter()
            .map(|(i, d)| (b.tasks[i].id.clone(), d))
            .collect()
    }

    #[test]
    fn tree_puts_each_task_after_its_dependencies_indented_by_its_longest_chain() {
        let b = board(vec![
            task("test", &["build", "docs"]),
            task("build", &["design"]),
            task("docs", &[]),
            task("design", &[]),
        ]);
        let want = [("docs", 0), ("design", 0), ("build", 1), ("test", 2)];
        let want: Vec<(String, usize)> = want.iter().map(|(i, d)| (i.to_string(), *d)).collect();
        assert_eq!(ids(&b), want);
    }

    #[test]
    fn a_cycle_or_an_unknown_dependency_still_lists_every_task() {
        let b = board(vec![
            task("a", &["b"]),
            task("b", &["a"]),
            task("c", &["ghost"]),
            task("d", &[]),
        ]);
        let got = ids(&b);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("d".to_string(), 0));
    }

    #[test]
    fn a_task_waits_only_for_unsettled_dependencies() {
        let mut b = board(vec![
            task("x", &[]),
            task("y", &[]),
            task("z", &["x", "y"]),
        ]);
        b.tasks[0].status = TaskStatus::Done;
        b.tasks[1].status = TaskStatus::Running;
        assert_eq!(b.waits_for(&b.tasks[2]), ["y"]);
        assert_eq!(b.progress(), (1, 3));
        b.tasks[1].status = TaskStatus::Failed;
        assert!(b.waits_for(&b.tasks[2]).is_empty());
    }

    #[test]
    fn elapsed_runs_until_now_while_running_then_stops() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap_or_default();
        let mut t = task("x", &[]);
        assert_eq!(t.elapsed(t0), None);
        t.started = Some(t0);
        t.status = TaskStatus::Running;
        assert_eq!(t.elapsed(t0 + TimeDelta::seconds(7)), Some(TimeDelta::seconds(7)));
        t.status = TaskStatus::Done;
        t.ended = Some(t0 + TimeDelta::seconds(3));
        assert_eq!(t.elapsed(t0 + TimeDelta::seconds(60)), Some(TimeDelta::seconds(3)));
    }
}
