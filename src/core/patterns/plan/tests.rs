//! The plan machine at the pure level (sim harness): planning, validation, review, scheduling
//! under dependencies and `max_parallel`, retries, each `on_failure`, steering, synthesis,
//! resume; and the property that a resume from any prefix of a run finishes the same plan
//! without re-running a done task.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{REVIEW_TIMER, TIME_LIMIT_TIMER};
use crate::config::{Approval, OnFailure, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, PatternKind, PlanTask, Purpose};
use crate::core::patterns::UnattendedApproval;
use crate::core::patterns::sim::{Sim, reply, tool};
use crate::core::state::plan::{PlanPhase, TaskStatus};
use crate::llm::ToolChoice;

fn team(tweak: impl FnOnce(&mut TeamConfig)) -> Sim {
    Sim::new(PatternKind::Plan, &["dev", "qa", "ops"], |t| {
        t.planner = Some("pm".into());
        t.approval = Some(Approval::Auto);
        tweak(t);
    })
}

fn task(id: &str, agent: &str, deps: &[&str]) -> Value {
    json!({"id": id, "agent": agent, "instructions": format!("do {id}"), "depends_on": deps,
           "compensation": format!("undo {id}")})
}

fn submit(sim: &mut Sim, tasks: Vec<Value>) {
    sim.complete("pm", tool("", "submit_plan", json!({ "tasks": tasks })));
}

/// Tasks started so far, in order.
fn started(sim: &Sim) -> Vec<String> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::TaskStarted { task, .. } => Some(task),
            _ => None,
        })
        .collect()
}

fn status(sim: &Sim, id: &str) -> TaskStatus {
    sim.state
        .plan
        .task(id)
        .map(|t| t.status)
        .unwrap_or_default()
}

fn diamond() -> Vec<Value> {
    vec![
        task("a", "dev", &[]),
        task("b", "qa", &[]),
        task("c", "ops", &["a", "b"]),
    ]
}

#[test]
fn the_planner_is_forced_to_submit_a_plan_and_tasks_run_by_dependencies() {
    let mut sim = team(|_| {});
    sim.send("ship the feature");
    let spec = sim.spec_of("pm");
    assert_eq!(spec.purpose, Purpose::Planner);
    assert_eq!(spec.tool_choice, ToolChoice::Tool("submit_plan".into()));
    let prompt = spec.instructions.clone().unwrap_or_default();
    assert!(
        prompt.contains("- dev") && prompt.contains("- ops"),
        "{prompt}"
    );
    submit(&mut sim, diamond());
    assert_eq!(sim.state.plan.phase, PlanPhase::Running);
    // a and b are independent: both run at once; c waits for both.
    assert_eq!(sim.running_agents(), vec!["dev", "qa"]);
    assert_eq!(sim.state.plan.waits_for("c"), vec!["a", "b"]);
    sim.complete("dev", reply("API design"));
    assert_eq!(sim.running_agents(), vec!["qa"]);
    sim.complete("qa", reply("test plan"));
    let c = sim.spec_of("ops").instructions.clone().unwrap_or_default();
    assert!(
        c.contains("do c") && c.contains("API design") && c.contains("test plan"),
        "{c}"
    );
    sim.complete("ops", reply("deployed"));
    let synth = sim.spec_of("pm").clone();
    assert_eq!(synth.purpose, Purpose::Synthesize);
    assert!(synth.instructions.unwrap_or_default().contains("deployed"));
    sim.complete("pm", reply("all done"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("all done".into())))
    );
    assert_eq!(sim.state.plan.phase, PlanPhase::Done);
}

#[test]
fn max_parallel_limits_the_tasks_running_at_once() {
    let mut sim = team(|t| t.max_parallel = Some(1));
    sim.send("go");
    submit(&mut sim, diamond());
    assert_eq!(sim.running_agents(), vec!["dev"]);
    sim.complete("dev", reply("A"));
    assert_eq!(sim.running_agents(), vec!["qa"]);
    sim.complete("qa", reply("B"));
    assert_eq!(sim.running_agents(), vec!["ops"]);
    assert_eq!(started(&sim), vec!["a", "b", "c"]);
}

#[test]
fn task_started_names_the_turn_each_task_runs_in() {
    let mut sim = team(|_| {});
    sim.send("go");
    submit(&mut sim, diamond());
    for e in sim.events() {
        if let EventKind::TaskStarted {
            task, agent, turn, ..
        } = e
        {
            assert_eq!(sim.state.turns[&turn].agent, agent, "{task}");
        }
    }
}

#[test]
fn an_invalid_plan_goes_back_once_with_every_error_then_fails_showing_them() {
    let mut sim = team(|_| {});
    sim.send("go");
    submit(
        &mut sim,
        vec![task("a", "ghost", &["zz"]), task("a", "dev", &[])],
    );
    let again = sim.spec_of("pm").instructions.clone().unwrap_or_default();
    for needle in ["unknown agent 'ghost'", "depends on 'zz'", "used twice"] {
        assert!(again.contains(needle), "{needle}: {again}");
    }
    assert!(sim.last_error().is_some());
    // The tool call was answered with the errors.
    assert!(sim.events().iter().any(|e| matches!(e,
        EventKind::ToolResult { is_error: true, content, .. } if content.contains("ghost"))));
    submit(&mut sim, vec![task("x", "dev", &["x"])]);
    let (outcome, text) = sim.finished().unwrap();
    assert_eq!(outcome, Outcome::Failed);
    assert!(text.unwrap_or_default().contains("depends on itself"));
}

#[test]
fn a_text_marker_plan_is_read() {
    let mut sim = team(|_| {});
    sim.send("go");
    sim.complete(
        "pm",
        reply(r#"PLAN: {"tasks":[{"id":"a","agent":"dev","instructions":"x","depends_on":[]}]}"#),
    );
    assert_eq!(started(&sim), vec!["a"]);
}

#[test]
fn confirm_waits_then_reject_goes_back_to_the_planner_with_the_reason() {
    let mut sim = team(|t| t.approval = Some(Approval::Confirm));
    sim.send("go");
    submit(&mut sim, diamond());
    assert_eq!(sim.state.plan.phase, PlanPhase::Review);
    assert!(sim.running_agents().is_empty());
    sim.command(Command::RejectPlan {
        reason: Some("split c".into()),
    });
    let prompt = sim.spec_of("pm").instructions.clone().unwrap_or_default();
    assert!(
        prompt.contains("rejected your plan v1 (split c)"),
        "{prompt}"
    );
    submit(&mut sim, vec![task("a", "dev", &[])]);
    assert_eq!(sim.state.plan.review.as_ref().map(|r| r.version), Some(2));
    sim.command(Command::ApprovePlan {});
    assert_eq!(sim.running_agents(), vec!["dev"]);
    sim.command(Command::ApprovePlan {});
    assert!(sim.last_error().is_some_and(|e| e.contains("no plan")));
}

#[test]
fn an_edit_is_a_new_version_that_waits_for_approval() {
    let mut sim = team(|t| t.approval = Some(Approval::Window));
    sim.send("go");
    submit(&mut sim, diamond());
    assert!(sim.timers.contains(REVIEW_TIMER));
    let edited: Vec<PlanTask> = vec![PlanTask {
        id: "a".into(),
        agent: "qa".into(),
        instructions: "reassigned".into(),
        depends_on: vec![],
        compensation: None,
    }];
    sim.command(Command::EditPlan {
        tasks: vec![PlanTask {
            agent: "ghost".into(),
            ..edited[0].clone()
        }],
    });
    assert!(
        sim.last_error()
            .is_some_and(|e| e.contains("unknown agent"))
    );
    sim.command(Command::EditPlan { tasks: edited });
    assert!(!sim.timers.contains(REVIEW_TIMER));
    assert_eq!(sim.state.plan.latest().map(|v| v.version), Some(2));
    sim.command(Command::ApprovePlan {});
    assert_eq!(sim.running_agents(), vec!["qa"]);
}

#[test]
fn the_window_approves_unless_held() {
    let mut sim = team(|t| {
        t.approval = Some(Approval::Window);
        t.approval_window_ms = Some(900);
    });
    sim.send("go");
    submit(&mut sim, diamond());
    assert_eq!(sim.timer_ms.get(REVIEW_TIMER), Some(&900));
    sim.timer(REVIEW_TIMER);
    assert_eq!(sim.running_agents().len(), 2);

    let mut held = team(|t| t.approval = Some(Approval::Window));
    held.send("go");
    submit(&mut held, diamond());
    held.command(Command::HoldPlan {});
    assert!(!held.timers.contains(REVIEW_TIMER));
    assert!(held.state.plan.review.as_ref().is_some_and(|r| r.held));
    held.input(crate::core::patterns::Input::Timer(REVIEW_TIMER.into()));
    assert!(held.running_agents().is_empty());
}

#[test]
fn unattended_runs_follow_approve() {
    let mut sim =
        team(|t| t.approval = Some(Approval::Confirm)).unattended(UnattendedApproval::Auto);
    sim.send("go");
    submit(&mut sim, diamond());
    assert_eq!(sim.running_agents().len(), 2);
    let mut no =
        team(|t| t.approval = Some(Approval::Confirm)).unattended(UnattendedApproval::Reject);
    no.send("go");
    submit(&mut no, diamond());
    assert_eq!(no.finished().map(|f| f.0), Some(Outcome::Failed));
}

#[test]
fn a_failed_task_is_retried_once_with_the_error() {
    let mut sim = team(|t| t.on_failure = Some(OnFailure::Stop));
    sim.send("go");
    submit(&mut sim, vec![task("a", "dev", &[])]);
    sim.fail("dev", "overloaded");
    let again = sim.spec_of("dev").instructions.clone().unwrap_or_default();
    assert!(again.contains("previous attempt failed"), "{again}");
    assert_eq!(sim.state.plan.task("a").map(|t| t.attempts), Some(2));
    sim.complete("dev", reply("ok"));
    assert_eq!(status(&sim, "a"), TaskStatus::Done);
}

#[test]
fn stop_skips_the_dependents_and_ends_failed_after_the_rest() {
    let mut sim = team(|t| t.on_failure = Some(OnFailure::Stop));
    sim.send("go");
    submit(
        &mut sim,
        vec![
            task("a", "dev", &[]),
            task("b", "qa", &[]),
            task("c", "ops", &["a"]),
            task("d", "ops", &["c"]),
        ],
    );
    sim.fail("dev", "boom");
    sim.fail("dev", "boom");
    assert_eq!(status(&sim, "c"), TaskStatus::Skipped);
    assert_eq!(
        sim.state.plan.task("d").and_then(|t| t.because.clone()),
        Some("c".into())
    );
    assert!(sim.finished().is_none(), "b still runs");
    sim.complete("qa", reply("B"));
    let (outcome, text) = sim.finished().unwrap();
    assert_eq!(outcome, Outcome::Failed);
    let text = text.unwrap_or_default();
    assert!(
        text.contains("task a (dev) failed") && text.contains("skipped: c, d"),
        "{text}"
    );
}

#[test]
fn compensate_undoes_done_tasks_newest_first_then_fails() {
    let mut sim = team(|t| t.on_failure = Some(OnFailure::Compensate));
    sim.send("go");
    submit(
        &mut sim,
        vec![
            task("a", "dev", &[]),
            task("b", "qa", &["a"]),
            task("c", "ops", &["b"]),
            task("d", "dev", &["c"]),
        ],
    );
    sim.complete("dev", reply("A"));
    sim.complete("qa", reply("B"));
    sim.fail("ops", "boom");
    sim.fail("ops", "boom");
    assert_eq!(status(&sim, "d"), TaskStatus::Skipped);
    assert_eq!(sim.state.plan.phase, PlanPhase::Compensating);
    let first = sim.spec_of("qa").instructions.clone().unwrap_or_default();
    assert!(first.contains("undo b") && first.contains("B"), "{first}");
    sim.complete("qa", reply("b undone"));
    assert!(
        sim.spec_of("dev")
            .instructions
            .clone()
            .unwrap_or_default()
            .contains("undo a")
    );
    sim.complete("dev", reply("a undone"));
    let order: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::CompensationFinished { task, ok: true, .. } => Some(task),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec!["b", "a"]);
    assert_eq!(status(&sim, "a"), TaskStatus::Compensated);
    let (outcome, text) = sim.finished().unwrap();
    assert_eq!(outcome, Outcome::Failed);
    assert!(text.unwrap_or_default().contains("compensated: a, b"));
}

#[test]
fn replan_runs_the_new_version_of_the_unfinished_part_without_rerunning_done_tasks() {
    let mut sim = team(|t| t.max_replans = Some(1));
    sim.send("go");
    submit(
        &mut sim,
        vec![task("a", "dev", &[]), task("b", "qa", &["a"])],
    );
    sim.complete("dev", reply("A out"));
    sim.fail("qa", "boom");
    sim.fail("qa", "boom");
    assert_eq!(sim.state.plan.replans, 1);
    let prompt = sim.spec_of("pm").instructions.clone().unwrap_or_default();
    assert!(
        prompt.contains("task b (qa) failed") && prompt.contains("A out"),
        "{prompt}"
    );
    submit(
        &mut sim,
        vec![task("a", "dev", &[]), task("b2", "ops", &["a"])],
    );
    assert_eq!(sim.running_agents(), vec!["ops"]);
    sim.fail("ops", "boom");
    sim.fail("ops", "boom");
    assert_eq!(started(&sim), vec!["a", "b", "b", "b2", "b2"]);
    let (outcome, _) = sim.finished().unwrap();
    assert_eq!(outcome, Outcome::Failed);
    assert!(sim.events().iter().any(
        |e| matches!(e, EventKind::Error { message, .. } if message.contains("max_replans = 1"))
    ));
}

#[test]
fn pause_stops_new_tasks_and_resume_goes_on() {
    let mut sim = team(|t| t.max_parallel = Some(1));
    sim.send("go");
    submit(&mut sim, diamond());
    sim.command(Command::Pause {});
    sim.complete("dev", reply("A"));
    assert!(sim.running_agents().is_empty());
    assert!(sim.finished().is_none());
    sim.command(Command::Resume {});
    assert_eq!(sim.running_agents(), vec!["qa"]);
}

#[test]
fn cancelling_a_task_turn_fails_the_task_without_a_retry() {
    let mut sim = team(|t| t.on_failure = Some(OnFailure::Stop));
    sim.send("go");
    submit(
        &mut sim,
        vec![task("a", "dev", &[]), task("b", "qa", &["a"])],
    );
    sim.command(Command::CancelTurn {
        agent: Some("dev".into()),
    });
    assert_eq!(status(&sim, "a"), TaskStatus::Failed);
    assert_eq!(status(&sim, "b"), TaskStatus::Skipped);
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Failed));
}

#[test]
fn stop_ends_the_plan_cancelled_and_the_time_limit_covers_it() {
    let mut sim = team(|t| t.time_limit_s = Some(30));
    sim.send("go");
    assert_eq!(sim.timer_ms.get(TIME_LIMIT_TIMER), Some(&30_000));
    submit(&mut sim, diamond());
    sim.timer(TIME_LIMIT_TIMER);
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Timeout));
    assert!(sim.state.running.is_empty());

    let mut stopped = team(|_| {});
    stopped.send("go");
    submit(&mut stopped, diamond());
    stopped.command(Command::Stop {});
    assert_eq!(stopped.finished().map(|f| f.0), Some(Outcome::Cancelled));
}

#[test]
fn a_resumed_plan_reruns_interrupted_tasks_only() {
    let mut sim = team(|_| {});
    sim.send("go");
    submit(&mut sim, diamond());
    sim.complete("dev", reply("A"));
    sim.stream("qa", "half");
    sim.restart(5_000);
    assert_eq!(sim.running_agents(), vec!["qa"]);
    assert_eq!(started(&sim), vec!["a", "b", "b"]);
    sim.complete("qa", reply("B"));
    sim.complete("ops", reply("C"));
    sim.complete("pm", reply("final"));
    assert_eq!(started(&sim), vec!["a", "b", "b", "c"]);
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Completed));
}

/// Answer every running turn (oldest first) until the task ends: the planner submits `plan`,
/// a task completes (`fails` lists task ids whose first attempt fails), synthesis writes "final".
fn drive(sim: &mut Sim, plan: &[Value], fails: &[String], order: &[usize]) {
    let mut k = 0;
    for _ in 0..400 {
        if !sim.state.task.active {
            return;
        }
        let running = sim.state.running_turns();
        if running.is_empty() {
            sim.input(crate::core::patterns::Input::Continue);
            if sim.state.running_turns().is_empty() {
                return;
            }
            continue;
        }
        let pick = running[order.get(k).copied().unwrap_or(0) % running.len()];
        k += 1;
        let record = sim.state.turns[&pick].clone();
        match record.purpose {
            Purpose::Planner => submit(sim, plan.to_vec()),
            Purpose::Synthesize => sim.complete_turn(pick, reply("final")),
            _ => {
                let t = sim.state.plan.task_of_turn(pick).cloned();
                match t {
                    Some(t)
                        if t.attempts == 1
                            && fails.contains(&t.spec.id)
                            && t.turn == Some(pick) =>
                    {
                        sim.fail_turn(pick, "boom")
                    }
                    Some(t) => sim.complete_turn(pick, reply(&format!("out {}", t.spec.id))),
                    None => sim.complete_turn(pick, reply("x")),
                }
            }
        }
    }
}

fn dag() -> impl Strategy<Value = (Vec<Value>, Vec<String>, Vec<usize>, u32)> {
    (2usize..7)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n),
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec(0usize..5, 60),
                1u32..4,
            )
        })
        .prop_map(|(edges, fails, order, parallel)| {
            let agents = ["dev", "qa", "ops"];
            let tasks: Vec<Value> = (0..edges.len())
                .map(|i| {
                    let deps: Vec<String> = (0..i)
                        .filter(|&j| edges[i][j])
                        .map(|j| format!("t{j}"))
                        .collect();
                    json!({"id": format!("t{i}"), "agent": agents[i % 3], "instructions": format!("do t{i}"), "depends_on": deps})
                })
                .collect();
            let fails = (0..edges.len()).filter(|&i| fails[i]).map(|i| format!("t{i}")).collect();
            (tasks, fails, order, parallel)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Resume from every prefix of a recorded run: the done tasks of the prefix never start
    /// again, the plan finishes with every task done, and at no time do more than `max_parallel`
    /// tasks run or a task run before its dependencies are done.
    #[test]
    fn resume_from_every_prefix_gives_the_same_remaining_schedule((plan, fails, order, parallel) in dag()) {
        let build = || team(|t| t.max_parallel = Some(parallel));
        let mut full = build();
        full.send("go");
        drive(&mut full, &plan, &fails, &order);
        prop_assert_eq!(full.finished().map(|f| f.0), Some(Outcome::Completed));
        let mut all: Vec<String> = full.state.plan.tasks.iter().map(|t| t.spec.id.clone()).collect();
        all.sort();
        for prefix in 1..full.log.len() {
            let mut sim = build();
            sim.log = full.log[..prefix].to_vec();
            sim.restart(0);
            if !sim.state.task.active && sim.state.finished.is_none() {
                // Before the prompt: nothing to resume.
                continue;
            }
            let done_before: Vec<String> = sim.state.plan.tasks.iter()
                .filter(|t| t.status.is_done()).map(|t| t.spec.id.clone()).collect();
            let mark = sim.log.len();
            drive(&mut sim, &plan, &fails, &order);
            prop_assert!(sim.state.finished.is_some(), "stuck after resuming prefix {}: {}", prefix, sim.log.iter().map(|e| { let v = serde_json::to_value(&e.kind).unwrap_or_default(); format!("{} {} {} {}", e.kind.type_name(), v["task"], v["turn"], v["ok"]) }).collect::<Vec<_>>().join(" | "));
            for e in &sim.log[mark..] {
                prop_assert!(!matches!(e.kind, EventKind::Replanned { .. }), "replanned after resume (prefix {})", prefix);
                if let EventKind::TaskStarted { task, .. } = &e.kind {
                    prop_assert!(!done_before.contains(task), "done task {} re-run (prefix {})", task, prefix);
                }
            }
            let mut done_after: Vec<String> = sim.state.plan.tasks.iter()
                .filter(|t| t.status.is_done()).map(|t| t.spec.id.clone()).collect();
            done_after.sort();
            prop_assert_eq!(&done_after, &all, "prefix {}", prefix);
            prop_assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Completed));
        }
        // Scheduling invariants over the whole run.
        let mut replay = crate::core::state::SessionState::default();
        for e in &full.log {
            if let EventKind::TaskStarted { task, .. } = &e.kind {
                prop_assert!(replay.plan.waits_for(task).is_empty(), "{} started early", task);
            }
            replay.apply(e);
            prop_assert!(replay.plan.running().count() <= parallel as usize);
        }
    }
}
