//! The plan pattern over real HTTP against the fake provider server (issue 11): two independent
//! tasks stream at the same time, and a task that fails twice triggers each `on_failure` mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use conclave::config::{Approval, OnFailure, TeamConfig};
use conclave::core::Event;
use conclave::core::event::{EventKind, Outcome, PatternKind};
use serde_json::json;
use support::events::{count, finished};
use support::llm_fake::{ByRequest, Wire};
use support::session::{Setup, run_with};
use support::{FakeServer, Gate, Reply, Step, Turn};

fn plan_team(on_failure: OnFailure) -> TeamConfig {
    let mut team = TeamConfig::new(PatternKind::Plan);
    team.planner = Some("pm".into());
    team.members = ["dev", "qa"].map(String::from).to_vec();
    team.approval = Some(Approval::Auto);
    team.on_failure = Some(on_failure);
    team
}

fn setup(team: TeamConfig, server: &FakeServer) -> Setup {
    Setup::new(team)
        .backend("oa", server, Wire::OpenAi, "max_retries = 0\n")
        .agent("pm", "oa", "pm-model", "You plan.")
        .agent("dev", "oa", "dev-model", "You build.")
        .agent("qa", "oa", "qa-model", "You test.")
}

fn plan_reply(tasks: serde_json::Value) -> Reply {
    let args = json!({ "tasks": tasks }).to_string();
    Wire::OpenAi.reply(&Turn::text(Vec::<String>::new()).tool("call_plan", "submit_plan", &args))
}

fn text(words: &[&str]) -> Reply {
    Wire::OpenAi.reply(&Turn::text(words.iter().copied()))
}

fn refused() -> Reply {
    Reply::json(
        400,
        json!({"error": {"message": "bad input", "type": "invalid_request_error"}}),
    )
}

fn started(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskStarted { task, .. } => Some(task.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn two_independent_tasks_stream_at_the_same_time() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "pm-model",
        Some("submit_plan"),
        plan_reply(json!([
            {"id": "build", "agent": "dev", "instructions": "build it", "depends_on": []},
            {"id": "test", "agent": "qa", "instructions": "test it", "depends_on": []},
            {"id": "ship", "agent": "dev", "instructions": "ship it", "depends_on": ["build", "test"]}
        ])),
    );
    // Each task streams its first words, then waits until both tasks have asked: only tasks
    // running at the same time can finish.
    let both_in = Gate::new();
    replies.open_when(&both_in, &["dev-model", "qa-model"]);
    for (model, words) in [
        ("dev-model", ["built ", "the ", "thing"]),
        ("qa-model", ["tests ", "are ", "green"]),
    ] {
        let mut reply = text(&words);
        reply.steps.insert(2, Step::Wait(both_in.clone()));
        replies.add(model, None, reply);
    }
    replies.add("dev-model", None, text(&["shipped"]));
    replies.add("pm-model", None, text(&["all ", "done"]));
    let events = run_with(
        setup(plan_team(OnFailure::Stop), &server),
        "make it",
        |_| {},
    )
    .await;

    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("all done".into()))
    );
    assert_eq!(started(&events), vec!["build", "test", "ship"]);
    // Both tasks streamed before either finished.
    let first_message = events
        .iter()
        .position(|e| matches!(&e.kind, EventKind::Message { agent, .. } if agent != "pm"))
        .unwrap();
    for agent in ["dev", "qa"] {
        assert!(
            events[..first_message]
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Token { agent: a, .. } if a == agent)),
            "{agent} streamed before the first task finished"
        );
    }
    // The dependent task got the outputs of both.
    let ship = server
        .requests()
        .into_iter()
        .rfind(|r| r.json()["model"] == "dev-model")
        .unwrap()
        .json()
        .to_string();
    assert!(
        ship.contains("built the thing") && ship.contains("tests are green"),
        "{ship}"
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
}

#[tokio::test]
async fn a_failing_task_is_replanned() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "pm-model",
        Some("submit_plan"),
        plan_reply(json!([
            {"id": "a", "agent": "dev", "instructions": "build", "depends_on": []},
            {"id": "b", "agent": "qa", "instructions": "test", "depends_on": ["a"]}
        ])),
    );
    replies.add("dev-model", None, text(&["A ", "done"]));
    replies.add("qa-model", None, refused());
    replies.add("qa-model", None, refused());
    replies.add(
        "pm-model",
        Some("submit_plan"),
        plan_reply(json!([
            {"id": "a", "agent": "dev", "instructions": "build", "depends_on": []},
            {"id": "b2", "agent": "dev", "instructions": "test it yourself", "depends_on": ["a"]}
        ])),
    );
    replies.add("dev-model", None, text(&["B2 ", "done"]));
    replies.add("pm-model", None, text(&["final"]));
    let events = run_with(setup(plan_team(OnFailure::Replan), &server), "go", |_| {}).await;

    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("final".into()))
    );
    assert_eq!(started(&events), vec!["a", "b", "b", "b2"], "a ran once");
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::Replanned { .. })),
        1
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
}

#[tokio::test]
async fn a_failing_task_is_compensated_newest_first() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "pm-model",
        Some("submit_plan"),
        plan_reply(json!([
            {"id": "a", "agent": "dev", "instructions": "create", "depends_on": [], "compensation": "delete a"},
            {"id": "b", "agent": "qa", "instructions": "label", "depends_on": ["a"], "compensation": "unlabel"},
            {"id": "c", "agent": "dev", "instructions": "publish", "depends_on": ["b"]}
        ])),
    );
    replies.add("dev-model", None, text(&["A"]));
    replies.add("qa-model", None, text(&["B"]));
    replies.add("dev-model", None, refused());
    replies.add("dev-model", None, refused());
    replies.add("qa-model", None, text(&["b undone"]));
    replies.add("dev-model", None, text(&["a undone"]));
    let events = run_with(
        setup(plan_team(OnFailure::Compensate), &server),
        "go",
        |_| {},
    )
    .await;

    let (outcome, report) = finished(&events);
    assert_eq!(outcome, Outcome::Failed);
    assert!(report.unwrap().contains("compensated: a, b"));
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CompensationStarted { task, .. } => Some(task.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec!["b", "a"]);
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
}

#[tokio::test]
async fn a_failing_task_stops_its_dependents() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "pm-model",
        Some("submit_plan"),
        plan_reply(json!([
            {"id": "a", "agent": "qa", "instructions": "check", "depends_on": []},
            {"id": "b", "agent": "dev", "instructions": "fix", "depends_on": ["a"]}
        ])),
    );
    replies.add("qa-model", None, refused());
    replies.add("qa-model", None, refused());
    let events = run_with(setup(plan_team(OnFailure::Stop), &server), "go", |_| {}).await;

    assert_eq!(finished(&events).0, Outcome::Failed);
    assert_eq!(
        count(
            &events,
            |k| matches!(k, EventKind::TaskSkipped { task, because } if task == "b" && because == "a")
        ),
        1
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::TurnStarted { agent, .. } if agent == "dev"))
    );
}
