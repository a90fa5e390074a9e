//! The plan in the console (issue 11 items 2 and 5): the Plan pane where the eye expects it at
//! 80x24, 120x40 and 200x60, the review editor drawn at 80x24 and 120x40, and what its keys
//! send: the edits as one `edit_plan` before `approve_plan`, a reason with `reject_plan`, a
//! `hold_plan` at the person's first key while a window counts. Recorded events with fixed
//! timestamps, so the snapshots are stable.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::config::{AgentConfig, Approval, Config, TeamConfig};
use conclave::core::Command;
use conclave::core::event::{self, EventKind, PatternKind, PlanTask, Purpose, UsageInfo};
use conclave::tui::app::Effect;
use conclave::tui::overlays::Overlay;
use conclave::tui::panes::Focus;
use conclave::tui::{App, Outbound};
use fixtures::Script;

const AGENTS: [&str; 4] = ["pm", "architect", "developer", "qa"];

fn config(approval: Approval) -> Config {
    let mut c = fixtures::config();
    for (name, color) in AGENTS.iter().zip(["magenta", "cyan", "green", "yellow"]) {
        c.agents.insert(
            name.to_string(),
            AgentConfig {
                backend: "local".into(),
                model: "llama3.2".into(),
                color: Some(color.into()),
                ..Default::default()
            },
        );
    }
    let mut build = TeamConfig::new(PatternKind::Plan);
    build.planner = Some("pm".into());
    build.members = vec!["architect".into(), "developer".into(), "qa".into()];
    build.approval = Some(approval);
    build.approval_window_ms = Some(10_000);
    c.teams.insert("build".into(), build);
    c
}

fn app_with(config: Config, events: &[conclave::core::event::Event]) -> App {
    fixtures::app_with(config, "build", events)
}

fn task(id: &str, agent: &str, instructions: &str, deps: &[&str]) -> PlanTask {
    PlanTask {
        id: id.into(),
        agent: agent.into(),
        instructions: instructions.into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        compensation: None,
    }
}

fn tasks() -> Vec<PlanTask> {
    vec![
        task(
            "design",
            "architect",
            "Sketch the modules of the billing rewrite and the order to port them in.",
            &[],
        ),
        task(
            "port",
            "developer",
            "Port the invoice module to Rust following the design.",
            &["design"],
        ),
        task(
            "docs",
            "architect",
            "Write the migration notes for the support team.",
            &["design"],
        ),
        task(
            "verify",
            "qa",
            "Compare the old and new invoices on last month's data.",
            &["port", "docs"],
        ),
    ]
}

/// Up to a proposed plan (`approval` as given) waiting for review.
fn proposed(approval: Approval) -> Script {
    let mut s = Script::new("s-plan");
    let agents: Vec<(&str, &str)> = AGENTS.iter().map(|a| (*a, "llama3.2")).collect();
    s.start("build", PatternKind::Plan, &agents);
    s.user("Rewrite billing in Rust", None);
    s.push(EventKind::TurnStarted {
        agent: "pm".into(),
        turn: 1,
        round: None,
        purpose: Purpose::Planner,
    });
    s.push(EventKind::Message {
        agent: "pm".into(),
        turn: 1,
        text: String::new(),
        usage: UsageInfo {
            input: Some(900),
            output: Some(120),
            estimated: false,
        },
        ttft_ms: Some(200),
        latency_ms: 1500,
        finish: "tool_calls".into(),
        purpose: Purpose::Planner,
        tool_calls: Vec::new(),
        served_by: None,
        continues: false,
    });
    let window_ms = (approval == Approval::Window).then_some(10_000);
    let approval = match approval {
        Approval::Auto => event::Approval::Auto,
        Approval::Confirm => event::Approval::Confirm,
        Approval::Window => event::Approval::Window,
    };
    s.push(EventKind::PlanProposed {
        version: 1,
        tasks: tasks(),
        by: "pm".into(),
        approval: Some(approval),
        window_ms,
    });
    s
}

/// An approved plan under way: design done, port and docs running in parallel, verify waiting.
fn running() -> Script {
    let mut s = proposed(Approval::Confirm);
    s.push(EventKind::PlanApproved {
        version: 1,
        by: "user".into(),
        reason: None,
    });
    let started = |s: &mut Script, id: &str, agent: &str, turn: u64| {
        s.push(EventKind::TaskStarted {
            task: id.into(),
            agent: agent.into(),
            turn,
            attempt: 1,
        });
        s.turn(agent, turn, None);
    };
    started(&mut s, "design", "architect", 2);
    s.tokens(
        "architect",
        2,
        "Three modules: invoices, ledger, exports. Port invoices first.",
    );
    s.message(
        "architect",
        2,
        "Three modules: invoices, ledger, exports. Port invoices first.",
    );
    s.push(EventKind::TaskFinished {
        task: "design".into(),
        agent: "architect".into(),
        ok: true,
        error: None,
    });
    started(&mut s, "port", "developer", 3);
    started(&mut s, "docs", "architect", 4);
    s.tokens("developer", 3, "Starting with the invoice totals, ");
    s.tokens("architect", 4, "Migration notes: ");
    s
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| conclave::tui::render::draw(f, app))
        .unwrap();
    terminal.backend().to_string()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn sent(effects: &[Effect]) -> Vec<Command> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Outbound::Command(c)) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn editor_open(app: &App) -> bool {
    matches!(app.overlays.last(), Some(Overlay::PlanEdit(_)))
}

#[test]
fn the_plan_pane_sits_beside_the_agents_at_every_size() {
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let mut app = app_with(config(Approval::Confirm), &running().events);
        let shown = screen(&mut app, w, h);
        assert!(shown.contains("Plan v1"), "{w}x{h}:\n{shown}");
        assert!(shown.contains("design"), "{w}x{h}:\n{shown}");
        insta::assert_snapshot!(format!("plan_running_{w}x{h}"), shown);
    }
}

#[test]
fn the_plan_pane_shows_status_agent_time_and_what_a_task_waits_for() {
    let mut app = app_with(config(Approval::Confirm), &running().events);
    let shown = screen(&mut app, 200, 60);
    let row = |id: &str| {
        shown
            .lines()
            .find(|l| l.contains(&format!(" {id} ")) && l.contains('│'))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("design").contains("✓") && row("design").contains("done"),
        "{shown}"
    );
    assert!(
        row("port").contains("◆") && row("port").contains("running"),
        "{shown}"
    );
    assert!(
        row("verify").contains("○") && row("verify").contains("← port, docs"),
        "{shown}"
    );
    assert!(shown.contains("running · 1/4 settled"), "{shown}");
}

#[test]
fn a_proposed_plan_opens_the_editor_by_itself() {
    let mut app = app_with(
        config(Approval::Confirm),
        &proposed(Approval::Confirm).events,
    );
    assert!(editor_open(&app));
    for (w, h) in [(80, 24), (120, 40)] {
        let shown = screen(&mut app, w, h);
        assert!(shown.contains("Review plan v1 from pm"), "{shown}");
        assert!(shown.contains("awaiting your review"), "{shown}");
        insta::assert_snapshot!(format!("plan_editor_{w}x{h}"), shown);
    }
}

#[test]
fn reassign_delete_and_approve_send_one_edit_then_the_approval() {
    let mut app = app_with(
        config(Approval::Confirm),
        &proposed(Approval::Confirm).events,
    );
    // port: give it to qa instead of developer.
    assert!(sent(&app.handle_key(key(KeyCode::Down))).is_empty());
    app.handle_key(ch('a'));
    let picking = screen(&mut app, 120, 40);
    assert!(picking.contains("Give port to"), "{picking}");
    insta::assert_snapshot!("plan_editor_reassign_120x40", picking);
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Enter));
    // docs: delete it; verify loses the edge.
    app.handle_key(key(KeyCode::Down));
    app.handle_key(ch('d'));
    let edited = screen(&mut app, 80, 24);
    assert!(edited.contains("edited"), "{edited}");
    insta::assert_snapshot!("plan_editor_edited_80x24", edited);
    let out = sent(&app.handle_key(ch('y')));
    let mut want = tasks();
    want[1].agent = "qa".into();
    want.remove(2);
    want[2].depends_on = vec!["port".into()];
    assert_eq!(
        out,
        vec![Command::EditPlan { tasks: want }, Command::ApprovePlan {}]
    );
    assert!(!editor_open(&app));
}

#[test]
fn instructions_are_edited_in_the_text_area() {
    let mut app = app_with(
        config(Approval::Confirm),
        &proposed(Approval::Confirm).events,
    );
    app.handle_key(ch('e'));
    for c in " Keep the API.".chars() {
        app.handle_key(ch(c));
    }
    let typing = screen(&mut app, 80, 24);
    assert!(typing.contains("Instructions of design"), "{typing}");
    insta::assert_snapshot!("plan_editor_instructions_80x24", typing);
    app.handle_key(key(KeyCode::Enter));
    let out = sent(&app.handle_key(ch('y')));
    let Command::EditPlan { tasks } = &out[0] else {
        panic!("{out:?}")
    };
    assert!(
        tasks[0]
            .instructions
            .ends_with("port them in. Keep the API.")
    );
    assert_eq!(out[1], Command::ApprovePlan {});
}

#[test]
fn reject_sends_the_reason_typed() {
    let mut app = app_with(
        config(Approval::Confirm),
        &proposed(Approval::Confirm).events,
    );
    app.handle_key(ch('r'));
    for c in "split the port".chars() {
        app.handle_key(ch(c));
    }
    let out = sent(&app.handle_key(key(KeyCode::Enter)));
    assert_eq!(
        out,
        vec![Command::RejectPlan {
            reason: Some("split the port".into())
        }]
    );
}

#[test]
fn an_untouched_plan_is_approved_without_an_edit() {
    let mut app = app_with(
        config(Approval::Confirm),
        &proposed(Approval::Confirm).events,
    );
    let out = sent(&app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL)));
    assert_eq!(out, vec![Command::ApprovePlan {}]);
}

#[test]
fn a_window_counts_until_the_first_key_then_holds_once() {
    let mut app = app_with(config(Approval::Window), &proposed(Approval::Window).events);
    assert!(editor_open(&app));
    let shown = screen(&mut app, 120, 40);
    assert!(shown.contains("10.0s left"), "{shown}");
    assert_eq!(
        sent(&app.handle_key(key(KeyCode::Down))),
        vec![Command::HoldPlan {}]
    );
    assert!(sent(&app.handle_key(key(KeyCode::Down))).is_empty());
    let mut events = proposed(Approval::Window);
    events.push(EventKind::PlanHeld {
        version: 1,
        by: "user".into(),
    });
    app.apply(events.events.last().unwrap());
    let shown = screen(&mut app, 120, 40);
    assert!(shown.contains(" held "), "{shown}");
}

#[test]
fn close_leaves_the_plan_waiting_and_the_key_reopens_it_holding_the_window() {
    let mut app = app_with(config(Approval::Window), &proposed(Approval::Window).events);
    // Esc before any other key: nothing is sent, the window goes on counting.
    assert!(sent(&app.handle_key(key(KeyCode::Esc))).is_empty());
    assert!(!editor_open(&app));
    let note = screen(&mut app, 120, 40);
    assert!(note.contains("Alt+P reopens it"), "{note}");
    let out = sent(&app.handle_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::ALT)));
    assert!(editor_open(&app));
    assert_eq!(out, vec![Command::HoldPlan {}]);
}

#[test]
fn a_plan_decided_elsewhere_closes_the_editor() {
    let mut script = proposed(Approval::Window);
    let mut app = app_with(config(Approval::Window), &script.events);
    assert!(editor_open(&app));
    script.push(EventKind::PlanApproved {
        version: 1,
        by: "policy".into(),
        reason: Some("approval window ran out".into()),
    });
    app.apply(script.events.last().unwrap());
    assert!(!editor_open(&app));
    // Nothing waits: the key says so.
    app.handle_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::ALT));
    assert!(!editor_open(&app));
}

#[test]
fn an_auto_plan_opens_no_editor() {
    let app = app_with(config(Approval::Auto), &proposed(Approval::Auto).events);
    assert!(!editor_open(&app));
}

#[test]
fn the_plan_pane_selects_a_task_and_opens_its_output() {
    let mut app = app_with(config(Approval::Confirm), &running().events);
    app.panes.pin(Focus::Plan);
    let shown = screen(&mut app, 120, 40);
    assert!(shown.contains("output"), "the pane's keys show:\n{shown}");
    // design is first; open it: the architect's pane, zoomed, at the design turn.
    app.handle_key(key(KeyCode::Enter));
    let architect = app.session.agent_index("architect").unwrap();
    assert_eq!(app.panes.focus, Focus::Agent(architect));
    assert!(app.panes.zoom);
    let zoomed = screen(&mut app, 120, 40);
    assert!(zoomed.contains("Three modules"), "{zoomed}");
    // port (second row) is running: Ctrl+K on the pane cancels its turn.
    app.panes.zoom = false;
    app.panes.pin(Focus::Plan);
    app.handle_key(key(KeyCode::Down));
    let out = sent(&app.handle_key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)));
    assert_eq!(
        out,
        vec![Command::CancelTurn {
            agent: Some("developer".into())
        }]
    );
    // With text in the input box, Up and Enter are the input's again.
    app.handle_key(ch('x'));
    let out = sent(&app.handle_key(key(KeyCode::Enter)));
    assert!(
        matches!(&out[..], [Command::Send { text, .. }] if text == "x"),
        "{out:?}"
    );
}

#[test]
fn tab_cycles_through_the_plan_pane() {
    let mut app = app_with(config(Approval::Confirm), &running().events);
    app.panes.pin(Focus::Transcript);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.panes.focus, Focus::Plan);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.panes.focus, Focus::Agent(0));
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.panes.focus, Focus::Plan);
}

#[test]
fn the_persons_own_edit_does_not_reopen_the_editor_but_one_from_elsewhere_does() {
    let mut script = proposed(Approval::Confirm);
    let mut app = app_with(config(Approval::Confirm), &script.events);
    app.handle_key(ch('d'));
    let out = sent(&app.handle_key(ch('y')));
    assert_eq!(out.len(), 2, "{out:?}");
    // The session answers the edit, then the approval: the editor stays closed throughout.
    let mut edited = tasks();
    edited.remove(0);
    script.push(EventKind::PlanEdited {
        version: 2,
        tasks: edited.clone(),
        by: "user".into(),
    });
    app.apply(script.events.last().unwrap());
    assert!(!editor_open(&app));
    // Another review: an edit from a script while the person looks shows the new version.
    let mut script = proposed(Approval::Confirm);
    let mut app = app_with(config(Approval::Confirm), &script.events);
    script.push(EventKind::PlanEdited {
        version: 2,
        tasks: edited,
        by: "user".into(),
    });
    app.apply(script.events.last().unwrap());
    let Some(Overlay::PlanEdit(editor)) = app.overlays.last() else {
        panic!("the editor shows the edited version")
    };
    assert_eq!(editor.version, 2);
    assert_eq!(editor.tasks.len(), 3);
}

#[test]
fn a_finished_plan_keeps_the_planners_answer_in_its_pane() {
    let mut s = running();
    for (id, agent, turn, text) in [
        ("port", "developer", 3, "Invoices ported."),
        ("docs", "architect", 4, "Notes written."),
    ] {
        s.message(agent, turn, text);
        s.push(EventKind::TaskFinished {
            task: id.into(),
            agent: agent.into(),
            ok: true,
            error: None,
        });
    }
    s.push(EventKind::TaskStarted {
        task: "verify".into(),
        agent: "qa".into(),
        turn: 5,
        attempt: 1,
    });
    s.push(EventKind::TurnStarted {
        agent: "qa".into(),
        turn: 5,
        round: None,
        purpose: Purpose::Speak,
    });
    s.push(EventKind::TurnFailed {
        agent: "qa".into(),
        turn: 5,
        error: event::ErrorInfo {
            kind: "server".into(),
            message: "HTTP 500".into(),
        },
        will_retry: false,
        usage: UsageInfo::default(),
    });
    s.push(EventKind::TaskFinished {
        task: "verify".into(),
        agent: "qa".into(),
        ok: false,
        error: Some("HTTP 500".into()),
    });
    s.push(EventKind::TurnStarted {
        agent: "pm".into(),
        turn: 6,
        round: None,
        purpose: Purpose::Synthesize,
    });
    let answer = "Billing runs on Rust; verification failed and needs a rerun.";
    s.push(EventKind::Message {
        agent: "pm".into(),
        turn: 6,
        text: answer.into(),
        usage: UsageInfo {
            input: Some(700),
            output: Some(20),
            estimated: false,
        },
        ttft_ms: Some(150),
        latency_ms: 900,
        finish: "stop".into(),
        purpose: Purpose::Synthesize,
        tool_calls: Vec::new(),
        served_by: None,
        continues: false,
    });
    s.push(EventKind::SessionFinished {
        outcome: event::Outcome::Completed,
        final_text: Some(answer.into()),
    });
    let mut app = app_with(config(Approval::Confirm), &s.events);
    let shown = screen(&mut app, 120, 40);
    let pm_pane = shown
        .lines()
        .filter(|l| l.starts_with("\"│"))
        .any(|l| l.contains("Billing runs on Rust"));
    assert!(pm_pane, "{shown}");
    assert!(shown.contains("finished · 4/4 settled"), "{shown}");
    assert!(shown.contains("✗     verify"), "{shown}");
    insta::assert_snapshot!("plan_finished_120x40", shown);
}
