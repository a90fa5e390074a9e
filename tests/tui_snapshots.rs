//! Screen tests: recorded event sequences folded into the App and drawn on ratatui's
//! TestBackend at 80×24, 120×40 and 200×60, plus the overlays and the completion popup.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::tui::App;
use conclave::tui::render::draw;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn snap_all(name: &str, mut make: impl FnMut() -> App) {
    for (w, h) in SIZES {
        let mut app = make();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&mut app, w, h));
    }
}

fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, m)
}

fn ctrl(c: char) -> KeyEvent {
    key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(key(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

#[test]
fn debate_with_votes_and_consensus() {
    snap_all("debate", || {
        fixtures::app("debate", &fixtures::debate().events)
    });
}

#[test]
fn debate_streaming() {
    snap_all("debate_live", || {
        fixtures::app("debate", &fixtures::debate_live().events)
    });
}

#[test]
fn support_handoff_in_its_approval_window() {
    snap_all("support_pending", || {
        let s = fixtures::support_pending();
        let mut app = fixtures::app("support", &s.events);
        app.now = s.now() + chrono::Duration::milliseconds(700);
        app
    });
}

#[test]
fn support_redirected_handoff() {
    snap_all("support_redirect", || {
        fixtures::app("support", &fixtures::support_redirect().events)
    });
}

#[test]
fn errors_cancel_and_pause() {
    snap_all("errors", || {
        fixtures::app("debate", &fixtures::errors().events)
    });
}

#[test]
fn many_agents_collapse_to_tabs() {
    snap_all("crowd", || {
        fixtures::app("debate", &fixtures::crowd().events)
    });
}

#[test]
fn zoomed_agent_pane() {
    snap_all("zoom", || {
        let mut app = fixtures::app("debate", &fixtures::debate().events);
        app.handle_key(ctrl('f'));
        app
    });
}

#[test]
fn help_overlay() {
    snap_all("help", || {
        let mut app = fixtures::app("debate", &fixtures::debate().events);
        app.handle_key(key(KeyCode::F(1), KeyModifiers::NONE));
        app
    });
}

#[test]
fn redirect_picker() {
    snap_all("redirect_picker", || {
        let mut app = fixtures::app("support", &fixtures::support_pending().events);
        app.handle_key(ctrl('o'));
        app
    });
}

#[test]
fn quit_confirm() {
    snap_all("quit_confirm", || {
        let mut app = fixtures::app("debate", &fixtures::debate().events);
        app.handle_key(ctrl('c'));
        app
    });
}

#[test]
fn slash_completion_popup() {
    snap_all("slash_popup", || {
        let mut app = fixtures::app("debate", &fixtures::debate().events);
        type_text(&mut app, "/p");
        app
    });
}

#[test]
fn demo_label_and_empty_start() {
    snap_all("demo_start", || {
        let setup = conclave::tui::ConsoleSetup {
            config: fixtures::config(),
            team: "debate".into(),
            backend_label: "scripted (offline demo)".into(),
            is_demo: true,
            history: Vec::new(),
        };
        let mut app = App::with_theme(setup, conclave::tui::theme::Theme::dark(), Vec::new());
        app.now = fixtures::t0();
        app
    });
}

// --- Auto routing (issue 11) ---

/// An auto team `ask` whose router sent the task to `debate`, the pick waiting in its window.
fn ask_routed(settled: bool) -> conclave::tui::App {
    use conclave::core::event::{AgentInfo, EventKind, PatternKind, Purpose, RoutedBy, UsageInfo};
    let mut s = fixtures::Script::new("s-ask");
    s.start("ask", PatternKind::Auto, &[("router", "llama3.2")]);
    s.user("Should we ship the release on Friday?", None);
    s.push(EventKind::TurnStarted {
        agent: "router".into(),
        turn: 0,
        round: None,
        purpose: Purpose::Router,
    });
    s.push(EventKind::Message {
        agent: "router".into(),
        turn: 0,
        text: String::new(),
        usage: UsageInfo {
            input: Some(240),
            output: Some(18),
            estimated: false,
        },
        ttft_ms: Some(150),
        latency_ms: 600,
        finish: "tool_calls".into(),
        purpose: Purpose::Router,
        tool_calls: Vec::new(),
        served_by: None,
        continues: false,
    });
    s.push(EventKind::Routed {
        team: "debate".into(),
        by: RoutedBy::Router,
        reason: "a question with two sides is best argued out".into(),
        approval: Some("window".into()),
        window_ms: Some(5000),
    });
    if settled {
        let agent = |name: &str| AgentInfo {
            name: name.into(),
            backend: "local".into(),
            model: "llama3.2".into(),
            color: None,
            price: None,
            fallback: Vec::new(),
        };
        s.push(EventKind::AgentsAnnounced {
            team: "debate".into(),
            agents: vec![agent("optimist"), agent("skeptic"), agent("judge")],
        });
        s.say(
            "optimist",
            1,
            Some(1),
            "Friday is fine: the release is small.",
        );
    }
    let mut app = fixtures::app("ask", &s.events);
    let mut ask = conclave::config::TeamConfig::new(PatternKind::Auto);
    ask.router = Some("router".into());
    ask.teams = vec!["debate".into(), "support".into()];
    app.config.teams.insert("ask".into(), ask);
    app
}

#[test]
fn route_picker() {
    snap_all("route_picker", || {
        let mut app = ask_routed(false);
        app.handle_key(key(KeyCode::Char('r'), KeyModifiers::ALT));
        app
    });
}

#[test]
fn routed_team_takes_over() {
    snap_all("routed_team_takes_over", || ask_routed(true));
}

/// The panes kept between frames (`tui::cache::ScreenCache`) never show a stale screen: after
/// every event of a streaming group chat, a handoff and a failed run, at every size, the frame
/// drawn with the caches of the frame before is the frame drawn afresh.
#[test]
fn a_screen_drawn_through_its_caches_is_the_screen_drawn_afresh() {
    use conclave::core::event::EventKind;
    use ratatui::buffer::Buffer;
    let scripts = [
        ("debate", fixtures::debate_live()),
        ("debate", fixtures::debate()),
        ("support", fixtures::support_pending()),
        ("debate", fixtures::errors()),
    ];
    let fresh = |app: &mut App, w: u16, h: u16| -> Buffer {
        let kept = std::mem::take(&mut app.screen);
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| draw(f, app)).unwrap();
        app.screen = kept;
        terminal.backend().buffer().clone()
    };
    for (team, script) in &scripts {
        for (w, h) in SIZES {
            let mut app = fixtures::app(team, &[]);
            let mut cached = Terminal::new(TestBackend::new(w, h)).unwrap();
            let start = script.events[0].ts;
            let mut reused = 0;
            for (i, event) in script.events.iter().enumerate() {
                app.apply(event);
                // A millisecond an event: the clock's second stays, so only the events decide
                // what is drawn again.
                app.now = start + chrono::Duration::milliseconds(i as i64);
                cached.draw(|f| draw(f, &mut app)).unwrap();
                let afresh = fresh(&mut app, w, h);
                assert_eq!(
                    cached.backend().buffer(),
                    &afresh,
                    "{team} at {w}x{h}, after event {i} ({:?})",
                    event.kind
                );
                reused = app.screen.reuses();
            }
            if script
                .events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Token { .. }))
            {
                assert!(reused > 0, "{team} at {w}x{h}: the caches were never used");
            }
            // A key between two frames (scrolling the transcript) is seen too.
            app.handle_key(key(KeyCode::Tab, KeyModifiers::NONE));
            app.handle_key(key(KeyCode::Up, KeyModifiers::NONE));
            cached.draw(|f| draw(f, &mut app)).unwrap();
            assert_eq!(cached.backend().buffer(), &fresh(&mut app, w, h));
        }
    }
}
