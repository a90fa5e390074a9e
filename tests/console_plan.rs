//! The plan review by keys, end to end (issue 11 item 2): the real `conclave` binary in a
//! pseudo-terminal, a plan team on the offline scripted backend. The planner proposes the demo
//! plan (design and tests in parallel, then build), the review editor opens by itself, the person
//! deletes a task and gives another to a different member, approves, and the run goes on with
//! the edited plan: the journal shows the edit, the approval of the edited version, and only its
//! tasks run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;

use home::{Home, LONG};
use pty::Key;

/// The plan team on the home's scripted backend (the demo script): pm plans `design`
/// (architect) and `tests` (qa), then `build` (developer) after both; confirm review.
const PLAN_TEAM: &str = r#"
[agents.pm]
backend = "demo"
model = "pm"
[agents.architect]
backend = "demo"
model = "architect"
[agents.developer]
backend = "demo"
model = "developer"
[agents.qa]
backend = "demo"
model = "qa"

[teams.build]
pattern = "plan"
planner = "pm"
members = ["architect", "developer", "qa"]
approval = "confirm"
"#;

fn events(journal: &str) -> Vec<serde_json::Value> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_plan_is_edited_by_keys_approved_and_run_as_edited() {
    let home = Home::new();
    let mut config = std::fs::read_to_string(home.config()).unwrap();
    config.push_str(PLAN_TEAM);
    std::fs::write(home.config(), config).unwrap();
    let mut term = home.spawn(&["--team", "build"], true);
    term.wait_for("team build", LONG).unwrap();
    term.wait_for("Plan", LONG).unwrap();
    term.send_text("Rewrite billing in Rust").unwrap();
    term.send_key(Key::Enter).unwrap();
    // The proposal opens the review editor.
    term.wait_for("Review plan v1 from pm", LONG).unwrap();
    term.wait_for("design, tests", LONG).unwrap();
    // Delete `tests` (qa's task): `build` loses that edge.
    term.send_key(Key::Down).unwrap();
    term.send_text("d").unwrap();
    term.wait_for("deleted tests", LONG).unwrap();
    // The selection is on `build` now: give it to qa (the list opens on the developer).
    term.send_text("a").unwrap();
    term.wait_for("Give build to", LONG).unwrap();
    term.send_key(Key::Down).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("edited", LONG).unwrap();
    term.send_text("y").unwrap();
    // The edited plan runs: design, then build, then the planner's answer.
    let screen = term.wait_for("finished: completed", LONG).unwrap();
    assert!(!screen.contains("Review plan"), "{screen}");
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
    assert!(term.is_restored());

    let dir = home.data().join("sessions");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    let events = events(&std::fs::read_to_string(journal).unwrap());
    let of = |t: &'static str| events.iter().filter(move |e| e["type"] == t);
    let edited: Vec<_> = of("plan_edited").collect();
    assert_eq!(edited.len(), 1, "{events:#?}");
    let tasks = edited[0]["tasks"].as_array().unwrap();
    let ids: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["agent"].as_str().unwrap()))
        .collect();
    assert_eq!(ids, [("design", "architect"), ("build", "qa")]);
    assert_eq!(tasks[1]["depends_on"], serde_json::json!(["design"]));
    let version = edited[0]["version"].clone();
    let approved: Vec<_> = of("plan_approved").collect();
    assert_eq!(approved.len(), 1, "{events:#?}");
    assert_eq!(approved[0]["version"], version);
    let mut started: Vec<(&str, &str)> = of("task_started")
        .map(|e| (e["task"].as_str().unwrap(), e["agent"].as_str().unwrap()))
        .collect();
    started.sort();
    assert_eq!(started, [("build", "qa"), ("design", "architect")]);
    let finished = of("session_finished").next_back().expect("finished");
    assert_eq!(finished["outcome"], "completed");
}
