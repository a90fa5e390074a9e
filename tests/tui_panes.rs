//! One snapshot per pane and per overlay, each drawn alone on a TestBackend at a size it
//! typically gets on screen, from the data the pane is handed (never the whole `App`): a change
//! to one pane shows up in its own snapshot, not in every full-screen one.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::{Frame, Terminal};

use conclave::tui::App;
use conclave::tui::overlays::{self, ConfirmKind, Overlay, Picker, PickerPurpose};
use conclave::tui::panes::agent::{AgentLook, AgentPane};
use conclave::tui::panes::calls::CallsLook;
use conclave::tui::panes::handoff::{self, HandoffLook};
use conclave::tui::panes::status::{self, StatusLine};
use conclave::tui::panes::transcript::TranscriptPane;
use conclave::tui::panes::{input, metrics};

/// Draw with `draw` on a `w`×`h` TestBackend and return the screen.
fn screen(w: u16, h: u16, draw: impl FnOnce(&mut Frame<'_>)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(draw).unwrap();
    terminal.backend().to_string()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn debate() -> App {
    fixtures::app("debate", &fixtures::debate().events)
}

fn agent_pane(app: &App, index: usize, w: u16, h: u16) -> String {
    agent_pane_waiting(app, index, w, h, None)
}

fn agent_pane_waiting(
    app: &App,
    index: usize,
    w: u16,
    h: u16,
    wait: Option<std::time::Duration>,
) -> String {
    let agent = &app.session.agents[index];
    let look = AgentLook {
        status: app.session.agent_status(index),
        color: app.agent_color(&agent.info.name),
        speaking: app.session.speaking() == Some(agent.info.name.as_str())
            || app.session.is_busy(index),
        focused: false,
        wait,
    };
    let mut pane = AgentPane::default();
    let turns = &app.session.view.state.turns;
    let calls = CallsLook {
        view: &app.session.view,
        focus: &app.panes.calls,
        now: app.now,
    };
    screen(w, h, |f| {
        pane.render(f, f.area(), (agent, turns, &calls), look, &app.theme)
    })
}

#[test]
fn a_thinking_agent_shows_how_long_its_backend_may_take_to_start() {
    let mut script = fixtures::debate_live();
    script.turn("judge", 3, Some(1));
    let app = fixtures::app("debate", &script.events);
    let five_minutes = Some(std::time::Duration::from_secs(300));
    let shown = agent_pane_waiting(&app, 2, 60, 8, five_minutes);
    assert!(shown.contains("thinking… up to 5 min"), "{shown}");
    let shown = agent_pane_waiting(&app, 2, 60, 8, Some(std::time::Duration::from_millis(1500)));
    assert!(shown.contains("thinking… up to 2 s"), "{shown}");
    let scripted = agent_pane_waiting(&app, 2, 60, 8, None);
    assert!(
        scripted.contains("thinking…") && !scripted.contains("up to"),
        "{scripted}"
    );
}

#[test]
fn an_agent_queued_for_its_backend_says_so_until_its_first_token() {
    let mut script = fixtures::debate_live();
    script.turn("judge", 3, Some(1));
    script.push(conclave::core::event::EventKind::TurnWaiting {
        agent: "judge".into(),
        turn: 3,
        backend: "local".into(),
    });
    let app = fixtures::app("debate", &script.events);
    let five_minutes = Some(std::time::Duration::from_secs(300));
    let small = agent_pane_waiting(&app, 2, 80, 24, five_minutes);
    assert!(small.contains("waiting for local…"), "{small}");
    insta::assert_snapshot!("agent_pane_waiting_80x24", small);
    insta::assert_snapshot!(
        "agent_pane_waiting_160x48",
        agent_pane_waiting(&app, 2, 160, 48, five_minutes)
    );
    script.tokens("judge", 3, "Weighing");
    let app = fixtures::app("debate", &script.events);
    let streaming = agent_pane_waiting(&app, 2, 80, 24, five_minutes);
    assert!(!streaming.contains("waiting for"), "{streaming}");
}

#[test]
fn agent_pane_with_a_finished_answer() {
    insta::assert_snapshot!(agent_pane(&debate(), 0, 48, 14));
}

#[test]
fn agent_pane_streaming() {
    let app = fixtures::app("debate", &fixtures::debate_live().events);
    insta::assert_snapshot!(agent_pane(&app, 1, 48, 10));
}

#[test]
fn agent_pane_cancelled_and_failed() {
    let app = fixtures::app("debate", &fixtures::errors().events);
    insta::assert_snapshot!(agent_pane(&app, 1, 48, 10));
}

#[test]
fn transcript_pane() {
    let app = debate();
    let colors = app.agent_colors();
    let mut pane = TranscriptPane::default();
    let out = screen(80, 30, |f| {
        pane.render(
            f,
            f.area(),
            &app.session.transcript,
            true,
            &app.theme,
            &colors,
        )
    });
    insta::assert_snapshot!(out);
}

#[test]
fn transcript_pane_scrolled_up() {
    let app = fixtures::app("support", &fixtures::support_redirect().events);
    let colors = app.agent_colors();
    let mut pane = TranscriptPane::default();
    let entries = &app.session.transcript;
    let _ = screen(70, 12, |f| {
        pane.render(f, f.area(), entries, false, &app.theme, &colors)
    });
    pane.scroll(
        conclave::tui::scroll::ScrollBy::Up(4),
        entries,
        &app.theme,
        &colors,
    );
    let out = screen(70, 12, |f| {
        pane.render(f, f.area(), entries, false, &app.theme, &colors)
    });
    insta::assert_snapshot!(out);
}

/// The handoff panel of `app` at `now`, 46 cells wide (the sidebar's usual width).
fn handoff_panel(app: &App, now: chrono::DateTime<chrono::Utc>) -> String {
    let colors = app.agent_colors();
    let look = HandoffLook {
        holder: app.session.holder(),
        now,
        keymap: &app.keymap,
        theme: &app.theme,
        colors: &colors,
    };
    let h = app.session.handoff();
    screen(46, handoff::wanted_height(h), |f| {
        handoff::render(f, f.area(), h, look)
    })
}

#[test]
fn handoff_panel_in_its_approval_window() {
    let s = fixtures::support_pending();
    let app = fixtures::app("support", &s.events);
    let now = s.now() + chrono::Duration::milliseconds(700);
    insta::assert_snapshot!(handoff_panel(&app, now));
}

#[test]
fn handoff_panel_after_a_redirect() {
    let app = fixtures::app("support", &fixtures::support_redirect().events);
    insta::assert_snapshot!(handoff_panel(&app, app.now));
}

fn metrics_panel(app: &App, w: u16) -> String {
    let colors = app.agent_colors();
    screen(w, metrics::wanted_height(&app.session), |f| {
        metrics::render(f, f.area(), &app.session, &app.theme, &colors)
    })
}

#[test]
fn metrics_panel_with_a_budget() {
    let app = debate();
    insta::assert_snapshot!(metrics_panel(&app, 56));
}

/// A debate whose ledger has every kind of call: speech, a manager pick and votes (estimated),
/// a cancelled turn, a failed attempt and a fallback.
fn ledger_app() -> App {
    use conclave::core::event::{
        ErrorInfo, EventKind, ModelRef, PatternKind, Purpose, UsageInfo, VoteChoice,
    };
    let mut s = fixtures::Script::new("s-ledger");
    s.start(
        "debate",
        PatternKind::GroupChat,
        &[
            ("optimist", "llama3.2"),
            ("skeptic", "llama3.2"),
            ("judge", "qwen2.5"),
        ],
    );
    s.user("Tabs or spaces?", None);
    s.say("optimist", 0, Some(1), "Tabs: one key, any width.");
    let hidden = |s: &mut fixtures::Script, agent: &str, turn: u64, purpose: Purpose| {
        s.push(EventKind::TurnStarted {
            agent: agent.into(),
            turn,
            round: Some(1),
            purpose,
        });
        s.push(EventKind::Message {
            agent: agent.into(),
            turn,
            text: String::new(),
            usage: UsageInfo {
                input: Some(900),
                output: Some(12),
                estimated: true,
            },
            ttft_ms: Some(90),
            latency_ms: 300,
            finish: "tool_calls".into(),
            purpose,
            tool_calls: Vec::new(),
            served_by: None,
            continues: false,
        });
    };
    hidden(&mut s, "judge", 1, Purpose::SelectSpeaker);
    s.turn("skeptic", 2, Some(1));
    s.push(EventKind::TurnFailed {
        agent: "skeptic".into(),
        turn: 2,
        error: ErrorInfo {
            kind: "overloaded".into(),
            message: "503 from local".into(),
        },
        will_retry: true,
        usage: UsageInfo {
            input: Some(0),
            output: Some(0),
            estimated: true,
        },
    });
    s.push(EventKind::BackendFallback {
        agent: "skeptic".into(),
        turn: 2,
        from: ModelRef {
            backend: "local".into(),
            model: "llama3.2".into(),
        },
        to: ModelRef {
            backend: "openai".into(),
            model: "gpt-4o-mini".into(),
        },
        error: ErrorInfo {
            kind: "overloaded".into(),
            message: "503 from local".into(),
        },
    });
    s.tokens("skeptic", 2, "Spaces render the same ");
    s.push(EventKind::TurnCancelled {
        agent: "skeptic".into(),
        turn: 2,
        partial_text: "Spaces render the same ".into(),
        usage: UsageInfo {
            input: Some(1400),
            output: Some(4),
            estimated: true,
        },
    });
    for (i, agent) in ["optimist", "skeptic", "judge"].iter().enumerate() {
        hidden(&mut s, agent, 3 + i as u64, Purpose::Vote);
        s.vote(1, agent, VoteChoice::Agree, "fine");
    }
    let mut app = fixtures::app("debate", &s.events);
    app.session.agent_budgets.insert(
        "skeptic".into(),
        conclave::config::Budget {
            tokens: Some(5000),
            cost: None,
        },
    );
    app
}

#[test]
fn the_ledger_at_80x24_is_one_summary_line_with_its_estimates_marked() {
    let mut app = ledger_app();
    let out = screen(80, 24, |f| conclave::tui::render::draw(f, &mut app));
    assert!(out.contains("tokens ~6.2k→~62"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn metrics_ledger_in_the_side_column_of_200x60() {
    // At 200x60 the side column is 64 wide and about 55 high.
    let app = ledger_app();
    let colors = app.agent_colors();
    let h = metrics::wanted_height(&app.session);
    assert!(h >= 14, "the ledger asks for the rows it fills: {h}");
    insta::assert_snapshot!(screen(64, h, |f| {
        metrics::render(f, f.area(), &app.session, &app.theme, &colors)
    }));
}

#[test]
fn metrics_show_a_group_chats_estimate_before_it_starts() {
    let app = fixtures::app("debate", &[]);
    let colors = app.agent_colors();
    let out = screen(64, metrics::wanted_height(&app.session), |f| {
        metrics::render(f, f.area(), &app.session, &app.theme, &colors)
    });
    assert!(out.contains("estimate, 6 rounds: ~51k tok"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn metrics_panel_narrow_with_errors_and_retries() {
    let app = fixtures::app("debate", &fixtures::errors().events);
    insta::assert_snapshot!(metrics_panel(&app, 42));
}

#[test]
fn status_bar_and_footer() {
    let app = fixtures::app("debate", &fixtures::debate_live().events);
    let line = StatusLine {
        backend_label: &app.backend_label,
        is_demo: true,
        now: app.now,
    };
    let hints = app.hint_actions();
    let out = screen(120, 2, |f| {
        let [top, bottom] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(1),
            ratatui::layout::Constraint::Length(1),
        ])
        .areas(f.area());
        status::render_status(f, top, &app.session, line, &app.theme);
        status::render_footer(f, bottom, &hints, &app.keymap, &app.theme);
    });
    insta::assert_snapshot!(out);
}

#[test]
fn input_box_with_the_completion_popup() {
    let mut app = debate();
    for c in "@".chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
    let target = app.input_target();
    let out = screen(60, 9, |f| {
        let area = f.area();
        let h = input::wanted_height(&app.input);
        let rect = ratatui::layout::Rect {
            y: area.height - h,
            height: h,
            ..area
        };
        input::render(f, rect, &mut app.input, &target, false, &app.theme)
    });
    insta::assert_snapshot!(out);
}

#[test]
fn input_box_with_two_lines_addressed_to_an_agent() {
    let mut app = debate();
    for c in "@skeptic what about support?".chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    for c in "And the rota?".chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
    app.input.completion = None;
    let target = app.input_target();
    let h = input::wanted_height(&app.input);
    let out = screen(60, h, |f| {
        input::render(f, f.area(), &mut app.input, &target, false, &app.theme)
    });
    insta::assert_snapshot!(out);
}

fn help(w: u16, h: u16, scroll: u16) -> String {
    let app = debate();
    screen(w, h, |f| {
        overlays::help::render(f, f.area(), &app.keymap, &app.theme, scroll)
    })
}

#[test]
fn help_overlay() {
    insta::assert_snapshot!(help(100, 30, 0));
}

#[test]
fn help_overlay_scrolled_on_a_small_screen() {
    insta::assert_snapshot!(help(60, 16, 6));
}

fn picker_on(app: &App, picker: &Picker, w: u16, h: u16) -> String {
    let colors = app.agent_colors();
    screen(w, h, |f| {
        overlays::picker::render(f, f.area(), picker, &colors, &app.keymap, &app.theme)
    })
}

#[test]
fn redirect_picker() {
    let mut app = fixtures::app("support", &fixtures::support_pending().events);
    app.handle_key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL));
    let Some(Overlay::Picker(picker)) = app.overlays.last() else {
        panic!("no picker: {:?}", app.overlays);
    };
    insta::assert_snapshot!(picker_on(&app, picker, 64, 10));
}

#[test]
fn sessions_picker() {
    let app = debate();
    let picker = Picker {
        title: "Resume a session (3 older: conclave sessions list)".into(),
        items: vec!["20261120-093000-ab12".into(), "20261119-171500-cd34".into()],
        details: vec![
            "debate · consensus · 6 messages · 2026-11-20 09:30".into(),
            "support · completed · 1 message · 2026-11-19 17:15".into(),
        ],
        selected: 1,
        purpose: PickerPurpose::Session,
    };
    insta::assert_snapshot!(picker_on(&app, &picker, 100, 8));
}

#[test]
fn quit_confirm_while_agents_run() {
    let app = fixtures::app("debate", &fixtures::debate_live().events);
    let out = screen(70, 9, |f| {
        overlays::confirm::render(
            f,
            f.area(),
            ConfirmKind::Quit,
            app.session.is_running(),
            &app.keymap,
            &app.theme,
        )
    });
    insta::assert_snapshot!(out);
}

#[test]
fn sessions_picker_groups_an_eval_run() {
    use conclave::tui::Inbound;
    let summary = |id: &str, team: &str, eval: Option<&str>| conclave::store::SessionSummary {
        id: id.into(),
        path: std::path::PathBuf::from(format!("{id}.jsonl")),
        team: team.into(),
        pattern: conclave::config::PatternKind::Single,
        started: fixtures::t0(),
        messages: 1,
        tokens_in: 10,
        tokens_out: 20,
        cost: None,
        outcome: "completed".into(),
        forked_from: None,
        warnings: Vec::new(),
        eval: eval.map(str::to_string),
    };
    let mut app = debate();
    app.receive(Inbound::Sessions(vec![
        summary(
            "20261121-100003-e1cc",
            "builtin-debate",
            Some("eval-20261121-100000-ab12"),
        ),
        summary("20261121-100002-solo", "debate", None),
        summary(
            "20261121-100001-e1bb",
            "builtin-single",
            Some("eval-20261121-100000-ab12"),
        ),
    ]));
    let Some(Overlay::Picker(picker)) = app.overlays.last() else {
        panic!("no picker: {:?}", app.overlays);
    };
    insta::assert_snapshot!(
        "sessions_picker_eval_80x24",
        picker_on(&app, picker, 80, 24)
    );
    insta::assert_snapshot!(
        "sessions_picker_eval_140x40",
        picker_on(&app, picker, 140, 40)
    );
}
