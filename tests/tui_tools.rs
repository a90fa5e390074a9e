//! Tool calls in the console (issue 10 item 6), drawn on TestBackend and driven by keys: the
//! agent pane with running, waiting, done and failed calls and an unfolded one, the approval
//! panel, the reason prompt and `/tools`, at 80×24 and 120×40; and what each key sends.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::core::Command;
use conclave::tools::{ServerListing, ToolError, ToolInfo};
use conclave::tui::app::Effect;
use conclave::tui::overlays::Overlay;
use conclave::tui::panes::Focus;
use conclave::tui::panes::agent::{AgentLook, AgentPane};
use conclave::tui::panes::calls::CallsLook;
use conclave::tui::panes::tool_approval;
use conclave::tui::render::draw;
use conclave::tui::{App, Inbound, Outbound};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn screen(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame<'_>)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(draw).unwrap();
    terminal.backend().to_string()
}

fn app() -> App {
    fixtures::app("research", &fixtures::tools().events)
}

fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, m)
}

fn press(app: &mut App, code: KeyCode, m: KeyModifiers) -> Vec<Effect> {
    app.handle_key(key(code, m))
}

fn agent_pane(app: &App, index: usize, w: u16, h: u16) -> String {
    let agent = &app.session.agents[index];
    let look = AgentLook {
        status: app.session.agent_status(index),
        color: app.agent_color(&agent.info.name),
        speaking: app.session.is_busy(index),
        focused: true,
        wait: None,
    };
    let calls = CallsLook {
        view: &app.session.view,
        focus: &app.panes.calls,
        now: app.now,
    };
    let turns = &app.session.view.state.turns;
    let mut pane = AgentPane::default();
    screen(w, h, |f| {
        pane.render(f, f.area(), (agent, turns, &calls), look, &app.theme)
    })
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

#[test]
fn the_agent_pane_shows_each_call_folded_with_how_it_stands() {
    let app = app();
    for (w, h) in SIZES {
        let researcher = agent_pane(&app, 0, w, h);
        insta::assert_snapshot!(format!("researcher_calls_{w}x{h}"), researcher);
        assert!(researcher.contains("✓ files.read_file"), "{researcher}");
        assert!(researcher.contains("12 ms"), "{researcher}");
        assert!(
            researcher.contains("↳ line 1 of the README"),
            "{researcher}"
        );
        assert!(
            researcher.contains("✗ files.list_directory"),
            "{researcher}"
        );
        assert!(researcher.contains("running"), "{researcher}");
        let writer = agent_pane(&app, 1, w, h);
        insta::assert_snapshot!(format!("writer_calls_{w}x{h}"), writer);
        assert!(writer.contains("waiting for you"), "{writer}");
        assert!(writer.contains("runs in"), "{writer}");
    }
}

#[test]
fn an_unfolded_call_shows_its_arguments_and_result_cut_with_a_note() {
    let mut app = app();
    app.panes.pin(Focus::Agent(0));
    // Alt+Up chooses among the waiting calls first; with the focused pane's own, Enter on
    // the empty input unfolds its newest call, Alt+E the chosen one.
    app.panes.calls.selected = Some("c1".into());
    press(&mut app, KeyCode::Char('e'), KeyModifiers::ALT);
    assert!(app.panes.calls.unfolded.contains("c1"));
    for (w, h) in SIZES {
        let shown = agent_pane(&app, 0, w, h * 2);
        insta::assert_snapshot!(format!("researcher_unfolded_{w}x{}", h * 2), shown);
        assert!(shown.contains("\"path\": \"README.md\""), "{shown}");
        assert!(shown.contains("more lines"), "{shown}");
    }
    press(&mut app, KeyCode::Char('e'), KeyModifiers::ALT);
    assert!(app.panes.calls.unfolded.is_empty());
    // Enter on an empty input toggles too (the chosen call is in the focused pane).
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(app.panes.calls.unfolded.contains("c1"));
}

#[test]
fn the_whole_screen_with_calls_waiting() {
    for (w, h) in SIZES {
        let mut app = app();
        let shown = screen(w, h, |f| draw(f, &mut app));
        insta::assert_snapshot!(format!("tools_screen_{w}x{h}"), shown);
        assert!(shown.contains("2 tool calls wait"), "{shown}");
        assert!(shown.contains("approve call"), "{shown}");
    }
}

#[test]
fn a_zoomed_pane_keeps_the_waiting_calls_in_sight() {
    let mut app = app();
    app.panes.pin(Focus::Agent(0));
    press(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    assert!(app.panes.zoom);
    let shown = screen(80, 24, |f| draw(f, &mut app));
    insta::assert_snapshot!("tools_zoomed_80x24", shown);
    assert!(
        shown.contains("2 tool calls wait") && shown.contains("researcher · qwen2.5"),
        "{shown}"
    );
}

#[test]
fn the_approval_panel_lists_the_waiting_calls_with_the_chosen_ones_arguments() {
    let mut app = app();
    app.panes.calls.selected = Some("c5".into());
    let view = &app.session.view;
    let waiting = view.calls.waiting(&view.state);
    for w in [40u16, 64] {
        let h = tool_approval::wanted_height(&waiting, Some("c5"), w, &app.keymap);
        let colors = app.agent_colors();
        let shown = screen(w, h, |f| {
            tool_approval::render(
                f,
                f.area(),
                &waiting,
                Some("c5"),
                app.now,
                &app.keymap,
                &app.theme,
                &colors,
            )
        });
        insta::assert_snapshot!(format!("approval_panel_{w}"), shown);
        assert!(shown.contains("▸ writer notes.delete_"), "{shown}");
        assert!(shown.contains("runs in 5.0 s"), "{shown}");
        assert!(shown.contains("\"title\": \"old\""), "{shown}");
    }
}

#[test]
fn approve_and_reject_keys_decide_the_chosen_waiting_call() {
    let mut app = app();
    // The oldest waiting call first.
    let e = press(&mut app, KeyCode::Char('y'), KeyModifiers::CONTROL);
    assert_eq!(
        sent(&e),
        [Command::ApproveTool {
            call_id: Some("c4".into())
        }]
    );
    // Alt+Down chooses the next waiting call and focuses its pane.
    press(&mut app, KeyCode::Down, KeyModifiers::ALT);
    press(&mut app, KeyCode::Down, KeyModifiers::ALT);
    assert_eq!(app.panes.calls.selected.as_deref(), Some("c5"));
    assert_eq!(app.panes.focus, Focus::Agent(1));
    // Reject asks why; the reason is typed, Enter sends it.
    let e = press(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert!(sent(&e).is_empty());
    assert!(matches!(app.overlays.last(), Some(Overlay::Reason(_))));
    for c in "keep it".chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    app.handle_paste("s\nplease");
    for (w, h) in SIZES {
        let shown = screen(w, h, |f| draw(f, &mut app));
        insta::assert_snapshot!(format!("reason_prompt_{w}x{h}"), shown);
        assert!(shown.contains("> keep is please"), "{shown}");
        assert!(shown.contains("the window keeps counting"), "{shown}");
    }
    let e = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        sent(&e),
        [Command::RejectTool {
            call_id: Some("c5".into()),
            reason: Some("keep is please".into()),
        }]
    );
    // Esc keeps the call waiting; an empty reason sends none.
    press(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    let e = press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(sent(&e).is_empty() && app.overlays.is_empty());
    press(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    let e = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        sent(&e),
        [Command::RejectTool {
            call_id: Some("c5".into()),
            reason: None,
        }]
    );
}

#[test]
fn with_no_call_waiting_the_keys_go_back_to_the_handoff() {
    let mut app = fixtures::app("support", &fixtures::support_pending().events);
    let e = press(&mut app, KeyCode::Char('y'), KeyModifiers::CONTROL);
    assert_eq!(sent(&e), [Command::ApproveHandoff {}]);
}

fn listing() -> Vec<ServerListing> {
    let tool = |name: &str, read_only: bool| ToolInfo {
        name: name.into(),
        description: String::new(),
        schema: serde_json::json!({"type": "object"}),
        read_only,
    };
    vec![
        ServerListing {
            name: "files".into(),
            target: "built-in files over .".into(),
            tools: Ok(vec![tool("list_directory", true), tool("read_file", true)]),
        },
        ServerListing {
            name: "notes".into(),
            target: "python3 notes_server.py".into(),
            tools: Err(ToolError::Server {
                server: "notes".into(),
                target: "python3 notes_server.py".into(),
                message: "it exited".into(),
                stderr: vec![
                    "Traceback (most recent call last):".into(),
                    "ModuleNotFoundError: No module named 'mcp'".into(),
                ],
            }),
        },
    ]
}

#[test]
fn slash_tools_asks_the_host_and_shows_servers_tools_and_who_may_use_them() {
    let mut app = app();
    for c in "/tools".chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let e = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(e, [Effect::Send(Outbound::ListTools)]);
    app.receive(Inbound::Tools(listing()));
    assert!(matches!(app.overlays.last(), Some(Overlay::Tools(..))));
    for (w, h) in SIZES {
        let shown = screen(w, h, |f| draw(f, &mut app));
        insta::assert_snapshot!(format!("slash_tools_{w}x{h}"), shown);
        assert!(
            shown.contains("read_file  read-only  researcher, writer"),
            "{shown}"
        );
        assert!(shown.contains("No module named 'mcp'"), "{shown}");
    }
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.overlays.is_empty());
}
