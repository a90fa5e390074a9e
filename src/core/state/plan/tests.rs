//! The plan fold, event by event: versions, review, task runs, what each task waits for,
//! replans keeping done tasks, compensation, and a fresh plan per prompt.

use crate::core::event::{EventKind, PatternKind, PlanTask, Purpose, USER};
use crate::core::state::SessionState;
use crate::core::state::fixtures::{asked, push, said};
use crate::core::state::plan::{PlanPhase, TaskStatus, VersionStatus};

fn task(id: &str, agent: &str, deps: &[&str]) -> PlanTask {
    PlanTask {
        id: id.into(),
        agent: agent.into(),
        instructions: format!("do {id}"),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        compensation: Some(format!("undo {id}")),
    }
}

fn plan_team() -> SessionState {
    let mut s = SessionState::default();
    push(
        &mut s,
        EventKind::SessionStarted {
            team: "build".into(),
            pattern: PatternKind::Plan,
            agents: Vec::new(),
        },
    );
    asked(&mut s, "build it", false);
    s
}

fn propose(s: &mut SessionState, version: u32, tasks: Vec<PlanTask>) {
    push(
        s,
        EventKind::PlanProposed {
            version,
            tasks,
            by: "pm".into(),
            approval: None,
            window_ms: None,
        },
    );
}

fn approve(s: &mut SessionState, version: u32) {
    push(
        s,
        EventKind::PlanApproved {
            version,
            by: USER.into(),
            reason: None,
        },
    );
}

fn start(s: &mut SessionState, id: &str, agent: &str, turn: u64, attempt: u32) {
    push(
        s,
        EventKind::TurnStarted {
            agent: agent.into(),
            turn,
            round: None,
            purpose: Purpose::Speak,
        },
    );
    push(
        s,
        EventKind::TaskStarted {
            task: id.into(),
            agent: agent.into(),
            turn,
            attempt,
        },
    );
}

fn finish(s: &mut SessionState, id: &str, agent: &str, turn: u64, text: &str) {
    push(
        s,
        EventKind::Message {
            agent: agent.into(),
            turn,
            text: text.into(),
            usage: Default::default(),
            ttft_ms: None,
            latency_ms: 1,
            finish: crate::core::event::FinishReason::Stop,
            purpose: Purpose::Speak,
            tool_calls: Vec::new(),
            served_by: None,
            continues: false,
        },
    );
    push(
        s,
        EventKind::TaskFinished {
            task: id.into(),
            agent: agent.into(),
            ok: true,
            error: None,
        },
    );
}

fn fail(s: &mut SessionState, id: &str, agent: &str) {
    push(
        s,
        EventKind::TaskFinished {
            task: id.into(),
            agent: agent.into(),
            ok: false,
            error: Some("boom".into()),
        },
    );
}

#[test]
fn a_plan_team_prompt_opens_planning_and_the_review_holds_the_version() {
    let mut s = plan_team();
    assert_eq!(s.plan.phase, PlanPhase::Planning);
    said(&mut s, "pm", 0, Purpose::Planner, "", Vec::new());
    assert_eq!(s.plan.planner_turns, 1);
    propose(
        &mut s,
        1,
        vec![task("a", "dev", &[]), task("b", "qa", &["a"])],
    );
    assert_eq!(s.plan.phase, PlanPhase::Review);
    assert_eq!(s.plan.review.as_ref().map(|r| r.version), Some(1));
    assert_eq!(s.plan.planner_turns, 0);
    assert_eq!(s.plan.waits_for("b"), vec!["a"]);
    assert!(s.plan.waits_for("a").is_empty());
    push(
        &mut s,
        EventKind::PlanHeld {
            version: 1,
            by: USER.into(),
        },
    );
    assert!(s.plan.review.as_ref().is_some_and(|r| r.held));
    push(
        &mut s,
        EventKind::PlanEdited {
            version: 2,
            tasks: vec![task("a", "dev", &[])],
            by: USER.into(),
        },
    );
    assert_eq!(s.plan.tasks.len(), 1);
    assert_eq!(s.plan.versions[0].status, VersionStatus::Superseded);
    assert_eq!(s.plan.review.as_ref().map(|r| r.version), Some(2));
    assert_eq!(s.plan.next_version(), 3);
    approve(&mut s, 2);
    assert_eq!(s.plan.phase, PlanPhase::Running);
    assert_eq!(s.plan.approved, Some(2));
    assert!(s.plan.review.is_none());
}

#[test]
fn task_runs_record_attempts_output_times_and_skips() {
    let mut s = plan_team();
    propose(
        &mut s,
        1,
        vec![
            task("a", "dev", &[]),
            task("b", "qa", &["a"]),
            task("c", "qa", &["b"]),
        ],
    );
    approve(&mut s, 1);
    start(&mut s, "a", "dev", 1, 1);
    assert_eq!(
        s.plan.task("a").map(|t| t.status),
        Some(TaskStatus::Running)
    );
    assert_eq!(s.plan.running().count(), 1);
    assert_eq!(s.plan.task_of_turn(1).map(|t| t.id()), Some("a"));
    fail(&mut s, "a", "dev");
    assert_eq!(s.plan.task("a").map(|t| t.status), Some(TaskStatus::Failed));
    start(&mut s, "a", "dev", 2, 2);
    finish(&mut s, "a", "dev", 2, "the API");
    let a = s.plan.task("a").cloned().unwrap();
    assert_eq!(
        (a.status, a.attempts, a.turn),
        (TaskStatus::Done, 2, Some(2))
    );
    assert_eq!(a.output.as_deref(), Some("the API"));
    assert!(a.started_at.is_some() && a.ended_at.is_some());
    assert_eq!(a.elapsed_ms(chrono::Utc::now()), Some(0));
    assert!(s.plan.waits_for("b").is_empty());
    assert_eq!(s.plan.waits_for("c"), vec!["b"]);
    start(&mut s, "b", "qa", 3, 1);
    fail(&mut s, "b", "qa");
    push(
        &mut s,
        EventKind::TaskSkipped {
            task: "c".into(),
            because: "b".into(),
        },
    );
    let c = s.plan.task("c").unwrap();
    assert_eq!(
        (c.status, c.because.as_deref()),
        (TaskStatus::Skipped, Some("b"))
    );
}

#[test]
fn a_replan_keeps_done_tasks_and_drops_the_rest() {
    let mut s = plan_team();
    propose(
        &mut s,
        1,
        vec![task("a", "dev", &[]), task("b", "qa", &["a"])],
    );
    approve(&mut s, 1);
    start(&mut s, "a", "dev", 1, 1);
    finish(&mut s, "a", "dev", 1, "done a");
    start(&mut s, "b", "qa", 2, 1);
    fail(&mut s, "b", "qa");
    push(
        &mut s,
        EventKind::Replanned {
            version: 2,
            reason: "b failed: boom".into(),
        },
    );
    assert_eq!(s.plan.phase, PlanPhase::Planning);
    assert_eq!(s.plan.replans, 1);
    // The new version repeats "a": the done run stays, it is never re-run.
    propose(
        &mut s,
        2,
        vec![task("a", "dev", &[]), task("b2", "dev", &["a"])],
    );
    let ids: Vec<&str> = s.plan.tasks.iter().map(|t| t.id()).collect();
    assert_eq!(ids, vec!["a", "b2"]);
    assert_eq!(
        s.plan.task("a").map(|t| (t.status, t.version)),
        Some((TaskStatus::Done, 1))
    );
    assert_eq!(s.plan.dropped.len(), 1);
    assert_eq!(s.plan.dropped[0].id(), "b");
}

#[test]
fn compensation_marks_the_task_compensated_and_a_new_prompt_starts_afresh() {
    let mut s = plan_team();
    propose(
        &mut s,
        1,
        vec![task("a", "dev", &[]), task("b", "qa", &["a"])],
    );
    approve(&mut s, 1);
    start(&mut s, "a", "dev", 1, 1);
    finish(&mut s, "a", "dev", 1, "done a");
    push(
        &mut s,
        EventKind::CompensationStarted {
            task: "a".into(),
            agent: "dev".into(),
            turn: 3,
        },
    );
    assert_eq!(s.plan.phase, PlanPhase::Compensating);
    push(
        &mut s,
        EventKind::CompensationFinished {
            task: "a".into(),
            agent: "dev".into(),
            ok: true,
        },
    );
    let a = s.plan.task("a").unwrap();
    assert_eq!(a.status, TaskStatus::Compensated);
    assert_eq!(a.compensation.as_ref().and_then(|c| c.ok), Some(true));
    push(
        &mut s,
        EventKind::SessionFinished {
            outcome: crate::core::event::Outcome::Failed,
            final_text: None,
        },
    );
    assert_eq!(s.plan.phase, PlanPhase::Done);
    asked(&mut s, "next", false);
    assert_eq!(s.plan.phase, PlanPhase::Planning);
    assert!(s.plan.versions.is_empty());
}

#[test]
fn a_rejection_goes_back_to_planning() {
    let mut s = plan_team();
    propose(&mut s, 1, vec![task("a", "dev", &[])]);
    push(
        &mut s,
        EventKind::PlanRejected {
            version: 1,
            by: USER.into(),
            reason: "too small".into(),
        },
    );
    assert_eq!(s.plan.phase, PlanPhase::Planning);
    assert!(matches!(
        &s.plan.versions[0].status,
        VersionStatus::Rejected { reason, .. } if reason == "too small"
    ));
}
