//! The editor as a state machine: inputs in, steps and edited tasks out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn task(id: &str, agent: &str, deps: &[&str]) -> DraftTask {
    DraftTask {
        id: id.into(),
        agent: agent.into(),
        instructions: format!("do {id}"),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        compensation: None,
    }
}

/// design → (build, docs) → test
fn editor() -> PlanEditor {
    PlanEditor::new(
        1,
        "pm",
        vec![
            task("design", "architect", &[]),
            task("build", "developer", &["design"]),
            task("docs", "architect", &["design"]),
            task("test", "qa", &["build", "docs"]),
        ],
        vec!["architect".into(), "developer".into(), "qa".into()],
    )
}

fn typed(ed: &mut PlanEditor, text: &str) {
    for c in text.chars() {
        ed.on(Input::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

#[test]
fn approving_an_untouched_plan_sends_no_edit() {
    let mut ed = editor();
    assert_eq!(ed.context(), Context::PlanEdit);
    assert_eq!(ed.on(Input::Approve), Step::Approve { edited: None });
}

#[test]
fn reassigning_picks_a_member_and_the_approval_carries_the_edit() {
    let mut ed = editor();
    ed.on(Input::Down);
    ed.on(Input::Reassign);
    // The list opens on the task's current agent.
    assert_eq!(ed.mode, Mode::Reassign { cursor: 1 });
    assert_eq!(ed.context(), Context::Picker);
    ed.on(Input::Down);
    ed.on(Input::Down);
    assert_eq!(ed.on(Input::Select), Step::Stay);
    assert_eq!(ed.mode, Mode::Table);
    assert_eq!(ed.tasks[1].agent, "qa");
    let Step::Approve {
        edited: Some(tasks),
    } = ed.on(Input::Approve)
    else {
        panic!("the edit must go with the approval")
    };
    assert_eq!(tasks[1].agent, "qa");
    assert_eq!(tasks[0], ed.proposed[0]);
}

#[test]
fn leaving_the_member_list_changes_nothing() {
    let mut ed = editor();
    ed.on(Input::Reassign);
    ed.on(Input::Down);
    ed.on(Input::Back);
    assert_eq!(ed.mode, Mode::Table);
    assert!(!ed.is_edited());
}

#[test]
fn deleting_a_task_drops_the_edge_of_its_dependents() {
    let mut ed = editor();
    ed.on(Input::Down);
    ed.on(Input::Delete);
    let ids: Vec<&str> = ed.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["design", "docs", "test"]);
    assert_eq!(ed.tasks[2].depends_on, ["docs"]);
    assert_eq!(ed.selected, 1);
    assert_eq!(ed.note.as_deref(), Some("deleted build"));
    // The last row deleted: the selection stays on a row.
    ed.on(Input::Down);
    ed.on(Input::Delete);
    assert_eq!(ed.selected, 1);
    assert!(ed.is_edited());
}

#[test]
fn an_empty_plan_cannot_be_approved_but_can_be_rejected() {
    let mut ed = editor();
    for _ in 0..4 {
        ed.on(Input::Delete);
    }
    assert!(ed.tasks.is_empty());
    assert_eq!(ed.on(Input::Approve), Step::Stay);
    assert!(
        ed.note
            .as_deref()
            .unwrap_or("")
            .contains("at least one task")
    );
    // Deleting with nothing left is a note, not a panic.
    ed.on(Input::Delete);
    ed.on(Input::Reassign);
    ed.on(Input::Edit);
    assert_eq!(ed.mode, Mode::Table);
    ed.on(Input::Reject);
    assert_eq!(
        ed.on(Input::Done),
        Step::Reject {
            reason: DEFAULT_REASON.into()
        }
    );
}

#[test]
fn dependencies_are_ticked_and_unticked_and_a_cycle_is_refused() {
    let mut ed = editor();
    // docs: add build as a dependency.
    ed.on(Input::Down);
    ed.on(Input::Down);
    ed.on(Input::Depends);
    assert_eq!(ed.context(), Context::Picker);
    let others: Vec<&str> = ed
        .dependency_candidates()
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(others, ["design", "build", "test"]);
    ed.on(Input::Down);
    ed.on(Input::Select);
    assert_eq!(ed.tasks[2].depends_on, ["design", "build"]);
    // untick design
    ed.on(Input::Up);
    ed.on(Input::Select);
    assert_eq!(ed.tasks[2].depends_on, ["build"]);
    // test waits for docs: docs → test would be a cycle.
    ed.on(Input::Down);
    ed.on(Input::Down);
    ed.on(Input::Select);
    assert_eq!(ed.tasks[2].depends_on, ["build"]);
    assert!(
        ed.note.as_deref().unwrap_or("").contains("cycle"),
        "{:?}",
        ed.note
    );
    assert_eq!(ed.mode, Mode::Depends { cursor: 2 });
    ed.on(Input::Back);
    assert_eq!(ed.mode, Mode::Table);
}

#[test]
fn a_single_task_has_nothing_to_depend_on() {
    let mut ed = PlanEditor::new(1, "pm", vec![task("only", "qa", &[])], vec!["qa".into()]);
    ed.on(Input::Depends);
    assert_eq!(ed.mode, Mode::Table);
    assert!(ed.note.is_some());
}

#[test]
fn instructions_are_edited_in_a_text_area_and_esc_keeps_the_old_ones() {
    let mut ed = editor();
    ed.on(Input::Edit);
    assert!(ed.is_typing());
    assert_eq!(ed.context(), Context::PlanText);
    typed(&mut ed, " now");
    ed.on(Input::Newline);
    ed.on(Input::Paste("with\r\ntests\u{1b}[31m".into()));
    ed.on(Input::Done);
    assert_eq!(ed.mode, Mode::Table);
    assert_eq!(ed.tasks[0].instructions, "do design now\nwith\ntests");
    ed.on(Input::Edit);
    typed(&mut ed, "!!!");
    ed.on(Input::Back);
    assert_eq!(ed.tasks[0].instructions, "do design now\nwith\ntests");
}

#[test]
fn empty_instructions_are_refused() {
    let mut ed = editor();
    ed.on(Input::Edit);
    for _ in 0.."do design".len() {
        ed.on(Input::Key(KeyEvent::new(
            KeyCode::Backspace,
            KeyModifiers::NONE,
        )));
    }
    assert_eq!(ed.on(Input::Done), Step::Stay);
    assert!(ed.is_typing(), "still editing");
    assert!(ed.note.is_some());
    assert_eq!(ed.tasks[0].instructions, "do design");
}

#[test]
fn rejecting_sends_the_reason_typed() {
    let mut ed = editor();
    ed.on(Input::Reject);
    typed(&mut ed, "split the build");
    assert_eq!(
        ed.on(Input::Done),
        Step::Reject {
            reason: "split the build".into()
        }
    );
    // Back out of a rejection: the table again, nothing sent.
    let mut ed = editor();
    ed.on(Input::Reject);
    typed(&mut ed, "no");
    assert_eq!(ed.on(Input::Back), Step::Stay);
    assert_eq!(ed.mode, Mode::Table);
}

#[test]
fn close_leaves_the_plan_pending_and_the_table_moves_within_bounds() {
    let mut ed = editor();
    ed.on(Input::Up);
    assert_eq!(ed.selected, 0);
    for _ in 0..10 {
        ed.on(Input::Down);
    }
    assert_eq!(ed.selected, 3);
    assert_eq!(ed.on(Input::Close), Step::Close);
}

#[test]
fn a_cycle_check_follows_long_chains_and_survives_a_cycle_already_there() {
    let mut ed = editor();
    assert!(ed.reaches("test", "design"));
    assert!(!ed.reaches("design", "test"));
    ed.tasks[0].depends_on.push("test".into());
    assert!(ed.reaches("design", "docs"));
}
