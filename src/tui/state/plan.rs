//! The plan as the console shows it, read from core's fold ([`PlanState`]: versions, the review
//! waiting for the person, the task runs of the current graph): the display order of the Plan
//! pane's rows and what the review editor and the countdowns need.
//!
//! Mental model: [`tree`] orders the current graph so that every task comes after the tasks it
//! depends on, indented by the length of its longest dependency chain, which reads as a tree for
//! chains and as a table for independent tasks. [`PlanReview`] is the version waiting for the
//! person with its approval window. No clock and no IO: countdowns are computed against the
//! `now` the caller passes.

use chrono::{DateTime, Utc};

use crate::core::event::{Approval, PatternKind, PlanTask};
use crate::core::state::plan::{PlanPhase, PlanState, TaskRun, TaskStatus};

use super::SessionView;

/// Finished one way or another: nothing waits on it any more.
pub fn is_settled(status: TaskStatus) -> bool {
    !matches!(status, TaskStatus::Waiting | TaskStatus::Running)
}

/// The runs of `plan` in display order with their depth: each task after every task it depends
/// on (the earliest ready task first, so the planner's order stands where the graph allows), its
/// depth the length of its longest chain of dependencies. Tasks caught in a cycle or depending
/// on unknown ids come last, at depth 0.
pub fn tree(tasks: &[TaskRun]) -> Vec<(usize, usize)> {
    let n = tasks.len();
    let index = |id: &str| tasks.iter().position(|t| t.id() == id);
    let mut depth: Vec<Option<usize>> = vec![None; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let ready = (0..n).find(|&i| {
            depth[i].is_none()
                && tasks[i]
                    .spec
                    .depends_on
                    .iter()
                    .all(|d| index(d).is_some_and(|j| depth[j].is_some()))
        });
        let Some(i) = ready else { break };
        let d = tasks[i]
            .spec
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

/// (settled, total) tasks of the current graph.
pub fn progress(plan: &PlanState) -> (usize, usize) {
    let settled = plan.tasks.iter().filter(|t| is_settled(t.status)).count();
    (settled, plan.tasks.len())
}

/// The stage of the plan in a few words (the Plan pane's title).
pub fn phase_label(phase: PlanPhase) -> &'static str {
    match phase {
        PlanPhase::Idle => "",
        PlanPhase::Planning => "planning",
        PlanPhase::Review => "awaiting approval",
        PlanPhase::Running => "running",
        PlanPhase::Compensating => "compensating",
        PlanPhase::Synthesizing => "writing the answer",
        PlanPhase::Done => "finished",
    }
}

/// The plan version waiting for the person.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanReview<'a> {
    pub version: u32,
    /// Who wrote it (the planner, or the person for an edit).
    pub by: &'a str,
    pub tasks: &'a [PlanTask],
    /// When it was proposed (the window counts from here).
    pub at: DateTime<Utc>,
    pub window_ms: Option<u64>,
    /// The window stopped counting (`plan_held`).
    pub held: bool,
}

impl PlanReview<'_> {
    /// What is left of a counting window at `now` (none when held or not a window).
    pub fn window_left_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        let window = self.window_ms.filter(|_| !self.held)?;
        let spent = (now - self.at).num_milliseconds().max(0) as u64;
        Some(window.saturating_sub(spent))
    }

    /// Whether the window still counts (a hold would stop it).
    pub fn is_counting(&self) -> bool {
        self.window_ms.is_some() && !self.held
    }
}

impl SessionView {
    /// Whether the session is a plan team's.
    pub fn is_plan(&self) -> bool {
        self.pattern() == Some(PatternKind::Plan)
    }

    /// Core's fold of the plan.
    pub fn plan(&self) -> &PlanState {
        &self.view.state.plan
    }

    /// The plan version waiting for the person's decision (`confirm` or `window`; an `auto`
    /// review runs without one).
    pub fn plan_review(&self) -> Option<PlanReview<'_>> {
        let plan = self.plan();
        let review = plan.review.as_ref()?;
        if self.finished().is_some() || review.approval == Some(Approval::Auto) {
            return None;
        }
        let v = plan.version(review.version)?;
        Some(PlanReview {
            version: v.version,
            by: &v.by,
            tasks: &v.tasks,
            at: v.at,
            window_ms: review
                .window_ms
                .filter(|_| review.approval == Some(Approval::Window)),
            held: review.held,
        })
    }

    /// What is left of the plan review's window at `now`.
    pub fn plan_window_left_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        self.plan_review()?.window_left_ms(now)
    }

    /// How the review stands, for the editor's title: `2.4s left — your first key holds it`,
    /// `held`, `awaiting your review`.
    pub fn plan_window_label(&self, now: DateTime<Utc>) -> String {
        match self.plan_review() {
            Some(r) => match r.window_left_ms(now) {
                Some(left) => format!("{:.1}s left · a key holds it", left as f64 / 1000.0),
                None if r.held => "held".to_string(),
                None => "awaiting your review".to_string(),
            },
            None => String::new(),
        }
    }

    /// The team's planner, from the config the console opened with.
    pub fn planner(&self) -> Option<&str> {
        self.planner.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::EventKind;
    use std::collections::BTreeMap;

    fn spec(id: &str, deps: &[&str]) -> PlanTask {
        PlanTask {
            id: id.into(),
            agent: "a".into(),
            instructions: format!("do {id}"),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            compensation: None,
        }
    }

    fn plan(tasks: Vec<PlanTask>) -> PlanState {
        let mut p = PlanState::default();
        let kind = EventKind::PlanProposed {
            version: 1,
            tasks,
            by: "pm".into(),
            approval: Some(Approval::Confirm),
            window_ms: None,
        };
        p.apply(&kind, Utc::now(), &BTreeMap::new());
        p
    }

    fn ids(p: &PlanState) -> Vec<(String, usize)> {
        tree(&p.tasks)
            .into_iter()
            .map(|(i, d)| (p.tasks[i].id().to_string(), d))
            .collect()
    }

    #[test]
    fn tree_puts_each_task_after_its_dependencies_indented_by_its_longest_chain() {
        let p = plan(vec![
            spec("test", &["build", "docs"]),
            spec("build", &["design"]),
            spec("docs", &[]),
            spec("design", &[]),
        ]);
        let want = [("docs", 0), ("design", 0), ("build", 1), ("test", 2)];
        let want: Vec<(String, usize)> = want.iter().map(|(i, d)| (i.to_string(), *d)).collect();
        assert_eq!(ids(&p), want);
    }

    #[test]
    fn a_cycle_or_an_unknown_dependency_still_lists_every_task() {
        let p = plan(vec![
            spec("a", &["b"]),
            spec("b", &["a"]),
            spec("c", &["ghost"]),
            spec("d", &[]),
        ]);
        let got = ids(&p);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("d".to_string(), 0));
    }

    #[test]
    fn progress_counts_settled_tasks() {
        let mut p = plan(vec![spec("x", &[]), spec("y", &[]), spec("z", &["x", "y"])]);
        p.tasks[0].status = TaskStatus::Done;
        p.tasks[1].status = TaskStatus::Running;
        assert_eq!(progress(&p), (1, 3));
        p.tasks[1].status = TaskStatus::Skipped;
        assert_eq!(progress(&p), (2, 3));
    }

    #[test]
    fn a_window_counts_down_from_the_proposal_until_held() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap_or_default();
        let mut r = PlanReview {
            version: 1,
            by: "pm",
            tasks: &[],
            at: t0,
            window_ms: Some(3000),
            held: false,
        };
        assert_eq!(
            r.window_left_ms(t0 + chrono::TimeDelta::milliseconds(1200)),
            Some(1800)
        );
        assert_eq!(
            r.window_left_ms(t0 + chrono::TimeDelta::seconds(9)),
            Some(0)
        );
        assert!(r.is_counting());
        r.held = true;
        assert_eq!(r.window_left_ms(t0), None);
        assert!(!r.is_counting());
    }
}
