//! Reducer and steering tests: events in → view state; keys in → commands out.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use fixtures::last_notice;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use conclave::config::KeyBinding;
use conclave::core::Command;
use conclave::core::event::{EventKind, Outcome, PatternKind, VoteChoice};
use conclave::tui::app::Effect;
use conclave::tui::overlays::Overlay;
use conclave::tui::render::draw;
use conclave::tui::state::RunState;
use conclave::tui::state::transcript::Entry;
use conclave::tui::{App, Outbound};
use conclave::view::{Mark, TransferState};

fn press(app: &mut App, code: KeyCode, m: KeyModifiers) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, m))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn enter(app: &mut App) -> Vec<Effect> {
    press(app, KeyCode::Enter, KeyModifiers::NONE)
}

fn command(c: Command) -> Vec<Effect> {
    vec![Effect::Send(Outbound::Command(c))]
}

#[test]
fn debate_folds_into_votes_consensus_metrics_and_outcome() {
    let app = fixtures::app("debate", &fixtures::debate().events);
    let s = &app.session;
    assert_eq!(s.run_state(), RunState::Finished(Outcome::Consensus));
    assert_eq!(s.agents.len(), 3);
    assert!(
        s.agents
            .iter()
            .all(|a| a.blocks.len() == 1 && a.live.is_none())
    );
    let task = &s.view.state.task;
    assert_eq!(task.tallies.last().map(|t| t.0), Some(1));
    assert_eq!(
        task.votes.get("judge").map(|v| v.0),
        Some(VoteChoice::Abstain)
    );
    let m = s.metrics().agents.get("optimist").unwrap();
    assert_eq!(m.turns, 1);
    assert_eq!(m.input_tokens, Some(1300));
    let expected = (1300.0 * 0.15 + m.output_tokens.unwrap() as f64 * 0.6) / 1_000_000.0;
    assert!((m.cost.unwrap() - expected).abs() < 1e-12);
    let (tokens_left, cost_left) = s.metrics().budget_left(s.budget.as_ref().unwrap());
    assert!(cost_left.unwrap() < 1.0);
    let used = s.metrics().totals.input_tokens.unwrap() + s.metrics().totals.output_tokens.unwrap();
    assert_eq!(tokens_left, Some(50_000 - used));
    let summary = conclave::tui::panes::metrics::summary(&app.session);
    assert!(
        summary.contains(&format!(
            "budget left {}",
            conclave::tui::panes::metrics::short(50_000 - used)
        )),
        "{summary}"
    );
    assert!(s.transcript.iter().any(|e| matches!(
        e,
        Entry::Event(p) if p.mark == Mark::Tally && p.verb == "reached"
    )));
}

#[test]
fn streaming_agent_is_running_and_speaking() {
    let app = fixtures::app("debate", &fixtures::debate_live().events);
    let s = &app.session;
    assert_eq!(s.run_state(), RunState::Running);
    assert_eq!(s.speaking(), Some("skeptic"));
    let live = s.agents[1].live.as_ref().unwrap();
    assert_eq!(live.lines, ["Customers do not work four days."]);
    assert_eq!(
        live.tail,
        "Support coverage would need a rota, and at ten people the rota is "
    );
    // Focus followed the speaker (nobody pinned it).
    assert_eq!(app.panes.focused_agent(), Some(1));
}

#[test]
fn handoff_window_counts_down_and_redirect_moves_control() {
    let s = fixtures::support_pending();
    let mut app = fixtures::app("support", &s.events);
    let pending = app.session.handoff().pending().unwrap();
    assert_eq!(
        (pending.from.as_str(), pending.to.as_str()),
        ("triage", "billing")
    );
    let requested = pending.requested_at;
    assert_eq!(
        app.session
            .handoff()
            .window_left_ms(requested + Duration::milliseconds(1200)),
        Some(1800)
    );
    assert_eq!(
        app.session
            .handoff()
            .window_left_ms(requested + Duration::seconds(9)),
        Some(0)
    );
    assert_eq!(app.session.holder(), Some("triage"));

    let r = fixtures::support_redirect();
    for e in &r.events[s.events.len()..] {
        app.apply(e);
    }
    let h = app.session.handoff();
    assert!(h.pending().is_none());
    assert_eq!(h.transfers[0].to, "tech");
    assert_eq!(
        h.transfers[0].redirected,
        Some(("billing".into(), "user".into()))
    );
    assert!(matches!(h.transfers[0].state, TransferState::Completed(_)));
    assert_eq!(
        app.session.holder(),
        Some("triage"),
        "control came back after completion"
    );
}

#[test]
fn errors_retries_cancels_and_control_sequences() {
    let app = fixtures::app("debate", &fixtures::errors().events);
    let s = &app.session;
    assert_eq!(s.run_state(), RunState::Paused);
    let optimist = &s.metrics().agents["optimist"];
    assert_eq!((optimist.errors, optimist.retries), (1, 1));
    let summary = conclave::tui::panes::metrics::summary(&app.session);
    assert!(summary.contains("1 err · 1 retry"), "{summary}");
    let cancelled = s.transcript.iter().find_map(|e| match e {
        Entry::Event(p) if p.mark == Mark::Cancel => p.body.clone(),
        _ => None,
    });
    assert_eq!(
        cancelled.as_deref(),
        Some("I was about to say something important")
    );
    let shown = s.agents[1].last_text(&s.view.state.turns).unwrap();
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}

#[test]
fn session_started_resets_the_view() {
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let fresh = fixtures::support_pending();
    app.apply(&fresh.events[0]);
    let s = &app.session;
    assert_eq!(s.team(), "support");
    assert_eq!(s.pattern(), Some(PatternKind::Handoff));
    assert_eq!(s.transcript.len(), 1);
    assert!(s.finished().is_none());
    assert!(s.metrics().agents.values().all(|m| m.turns == 0));
    assert_eq!(s.metrics().totals.input_tokens, None);
    assert_eq!(s.holder(), Some("triage"));
    assert_eq!(s.budget, None, "the support team has no budget");
    let summary = conclave::tui::panes::metrics::summary(&app.session);
    assert!(!summary.contains("budget"), "{summary}");
}

#[test]
fn ctrl_c_cancels_then_clears_then_asks_then_quits() {
    let mut app = fixtures::app("debate", &fixtures::debate_live().events);
    assert_eq!(
        ctrl(&mut app, 'c'),
        command(Command::CancelTurn { agent: None })
    );
    let mut idle = fixtures::app("debate", &fixtures::debate().events);
    type_text(&mut idle, "half a thought");
    assert!(ctrl(&mut idle, 'c').is_empty());
    assert!(idle.input.is_empty());
    assert!(ctrl(&mut idle, 'c').is_empty());
    assert!(matches!(idle.overlays.last(), Some(Overlay::Confirm(_))));
    assert_eq!(
        ctrl(&mut idle, 'c'),
        vec![Effect::Send(Outbound::Quit), Effect::Quit]
    );
    // Ctrl+C closes other overlays.
    press(&mut idle, KeyCode::F(1), KeyModifiers::NONE);
    assert!(ctrl(&mut idle, 'c').is_empty());
    assert!(idle.overlays.is_empty());
    // "n" keeps the console.
    ctrl(&mut idle, 'c');
    assert!(press(&mut idle, KeyCode::Char('n'), KeyModifiers::NONE).is_empty());
    assert!(idle.overlays.is_empty());
}

#[test]
fn messages_address_agents_and_queue_while_agents_work() {
    let mut app = fixtures::app("debate", &fixtures::debate_live().events);
    type_text(&mut app, "@judge keep it short");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "keep it short".into(),
            to: Some("judge".into())
        })
    );
    type_text(&mut app, "what about cost?");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "what about cost?".into(),
            to: None
        })
    );
    type_text(&mut app, "@nobody hi");
    assert!(enter(&mut app).is_empty());
    assert!(
        last_notice(&app).contains("no agent named @nobody"),
        "{}",
        last_notice(&app)
    );
    assert_eq!(app.input.text(), "@nobody hi", "the input is kept to fix");

    let mut support = fixtures::app("support", &fixtures::support_pending().events);
    type_text(&mut support, "thanks");
    assert_eq!(
        enter(&mut support),
        command(Command::Send {
            text: "thanks".into(),
            to: None
        })
    );
}

#[test]
fn paste_keeps_newlines_and_history_recalls() {
    let mut app = fixtures::app("support", &fixtures::support_pending().events);
    app.handle_paste("line one\r\nline two\u{1b}[2J");
    assert_eq!(app.input.text(), "line one\nline two");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "line one\nline two".into(),
            to: None
        })
    );
    press(&mut app, KeyCode::Up, KeyModifiers::NONE);
    assert_eq!(app.input.text(), "line one\nline two");
}

#[test]
fn slash_commands() {
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let run = |app: &mut App, line: &str| {
        type_text(app, line);
        app.input.completion = None;
        enter(app)
    };
    assert_eq!(
        run(&mut app, "/team support"),
        vec![Effect::Send(Outbound::NewSession {
            team: "support".into()
        })]
    );
    assert_eq!(
        run(&mut app, "/export json"),
        vec![Effect::Send(Outbound::Export {
            format: "json".into()
        })]
    );
    assert_eq!(
        run(&mut app, "/new"),
        vec![Effect::Send(Outbound::NewSession {
            team: "debate".into()
        })]
    );
    assert_eq!(
        run(&mut app, "/sessions"),
        vec![Effect::Send(Outbound::OpenSessions)]
    );
    assert_eq!(
        run(&mut app, "/fork 3"),
        vec![Effect::Send(Outbound::Fork { seq: 3 })]
    );
    assert_eq!(run(&mut app, "/vote"), command(Command::CallVote {}));
    assert_eq!(run(&mut app, "/stop"), command(Command::Stop {}));
    assert!(run(&mut app, "/dance").is_empty());
    assert!(last_notice(&app).contains("unknown command /dance"));
    assert!(run(&mut app, "/team").is_empty());
    assert!(
        matches!(app.overlays.last(), Some(Overlay::Picker(p)) if p.items == ["debate", "support"])
    );
    press(&mut app, KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        enter(&mut app),
        vec![Effect::Send(Outbound::NewSession {
            team: "support".into()
        })]
    );
}

#[test]
fn handoff_keys_and_the_redirect_picker() {
    let mut app = fixtures::app("support", &fixtures::support_pending().events);
    assert_eq!(ctrl(&mut app, 'y'), command(Command::ApproveHandoff {}));
    assert_eq!(
        ctrl(&mut app, 'n'),
        command(Command::RejectHandoff {
            reason: Some("rejected by the user".into())
        })
    );
    assert_eq!(ctrl(&mut app, 'x'), command(Command::CancelHandoff {}));
    // Opening the picker holds the counting window while the person chooses (issue 12 item 1).
    assert_eq!(ctrl(&mut app, 'o'), command(Command::HoldHandoff {}));
    match app.overlays.last() {
        Some(Overlay::Picker(p)) => assert_eq!(
            p.items,
            ["tech"],
            "triage may hand off to billing or tech; billing is the current target"
        ),
        other => panic!("expected the redirect picker, got {other:?}"),
    }
    assert_eq!(
        enter(&mut app),
        command(Command::RedirectHandoff { to: "tech".into() })
    );

    let mut idle = fixtures::app("debate", &fixtures::debate().events);
    assert!(ctrl(&mut idle, 'y').is_empty());
    assert!(last_notice(&idle).contains("no handoff"));
}

#[test]
fn pause_vote_cancel_turn_and_copy() {
    let mut app = fixtures::app("debate", &fixtures::debate_live().events);
    assert_eq!(ctrl(&mut app, 'p'), command(Command::Pause {}));
    assert_eq!(ctrl(&mut app, 'g'), command(Command::CallVote {}));
    assert_eq!(
        ctrl(&mut app, 'k'),
        command(Command::CancelTurn {
            agent: Some("skeptic".into())
        })
    );
    let copied = press(&mut app, KeyCode::Char('c'), KeyModifiers::ALT);
    assert_eq!(copied, vec![Effect::Copy("Customers do not work four days.\nSupport coverage would need a rota, and at ten people the rota is ".into())]);
    let mut paused = fixtures::app("debate", &fixtures::errors().events);
    assert_eq!(ctrl(&mut paused, 'p'), command(Command::Resume {}));
}

#[test]
fn keys_from_the_config_replace_defaults() {
    let mut config = fixtures::config();
    config
        .keys
        .entry("global".into())
        .or_default()
        .insert("approve_handoff".into(), KeyBinding::One("f5".into()));
    let setup = conclave::tui::ConsoleSetup {
        config,
        team: "support".into(),
        backend_label: "x".into(),
        is_demo: false,
        history: fixtures::support_pending().events,
    };
    let mut app = App::with_theme(setup, conclave::tui::theme::Theme::dark(), Vec::new());
    assert_eq!(
        press(&mut app, KeyCode::F(5), KeyModifiers::NONE),
        command(Command::ApproveHandoff {})
    );
    // Ctrl+Y is no longer bound, so it is typed into the input instead.
    assert!(ctrl(&mut app, 'y').is_empty());
}

#[test]
fn scrolling_up_stops_following_and_ctrl_end_follows_again() {
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    app.panes.pin(conclave::tui::panes::Focus::Transcript);
    press(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    assert!(!app.panes.transcript.is_following());
    term.draw(|f| draw(f, &mut app)).unwrap();
    assert!(term.backend().to_string().contains("scrolled"));
    press(&mut app, KeyCode::End, KeyModifiers::CONTROL);
    assert!(app.panes.transcript.is_following());
}

#[test]
fn no_color_strips_every_colour() {
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    app.no_color = true;
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let buf = term.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    app.no_color = false;
    term.draw(|f| draw(f, &mut app)).unwrap();
    assert!(
        term.backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn agent_colours_come_from_the_config_then_the_theme() {
    let app = fixtures::app("debate", &fixtures::debate().events);
    assert_eq!(app.agent_color("optimist"), Color::Green);
    let support = fixtures::app("support", &fixtures::support_pending().events);
    assert_eq!(support.agent_color("billing"), support.theme.agent_color(1));
}

#[test]
fn resize_reflows_from_the_cache() {
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    for (w, h) in [(200, 60), (80, 24), (120, 40), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| draw(f, &mut app)).unwrap();
        let text = term.backend().to_string();
        assert!(text.contains("finished: consensus"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn reasons_written_by_models_are_stripped_of_control_sequences() {
    let mut s = fixtures::support_pending();
    s.push(EventKind::HandoffRejected {
        id: "h1".into(),
        reason: "no\u{1b}]52;c;AAAA\u{7} way\u{1b}[2J".into(),
    });
    s.vote(1, "triage", VoteChoice::Disagree, "bad\u{1b}[31m idea");
    let mut app = fixtures::app("support", &s.events);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains("rejected: no way"), "{screen}");
    assert!(screen.contains("bad idea"), "{screen}");
    assert!(
        !term
            .backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.symbol().chars().any(char::is_control))
    );
}

#[test]
fn the_mouse_wheel_scrolls_the_pane_under_the_pointer() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let (_, rect) = app
        .pane_rects
        .iter()
        .copied()
        .find(|(f, _)| *f == conclave::tui::panes::Focus::Transcript)
        .unwrap();
    let wheel = |kind| MouseEvent {
        kind,
        column: rect.x + 2,
        row: rect.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel(MouseEventKind::ScrollUp));
    assert_eq!(app.panes.focus, conclave::tui::panes::Focus::Transcript);
    assert!(app.panes.pinned);
    assert!(!app.panes.transcript.is_following());
    for _ in 0..20 {
        app.handle_mouse(wheel(MouseEventKind::ScrollDown));
    }
    assert!(app.panes.transcript.is_following());
}

fn summary(id: &str, team: &str) -> conclave::store::SessionSummary {
    conclave::store::SessionSummary {
        id: id.into(),
        path: std::path::PathBuf::from(format!("{id}.jsonl")),
        team: team.into(),
        pattern: PatternKind::GroupChat,
        started: fixtures::t0(),
        messages: 3,
        tokens_in: 10,
        tokens_out: 20,
        cost: None,
        outcome: "consensus".into(),
        forked_from: None,
        warnings: Vec::new(),
        eval: None,
    }
}

#[test]
fn the_sessions_list_opens_a_picker_whose_choice_resumes() {
    use conclave::tui::Inbound;
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    type_text(&mut app, "/sessions");
    assert_eq!(enter(&mut app), vec![Effect::Send(Outbound::OpenSessions)]);
    app.receive(Inbound::Sessions(vec![
        summary("20261121-100000-aaaa", "debate"),
        summary("20261120-090000-bbbb", "support"),
    ]));
    let Some(Overlay::Picker(p)) = app.overlays.last() else {
        panic!("no picker: {:?}", app.overlays);
    };
    assert_eq!(p.items, ["20261121-100000-aaaa", "20261120-090000-bbbb"]);
    assert!(p.details[1].starts_with("support · consensus · 3 messages"));
    press(&mut app, KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        enter(&mut app),
        vec![Effect::Send(Outbound::Resume {
            id: "20261120-090000-bbbb".into()
        })]
    );
    assert!(app.overlays.is_empty());
    app.receive(Inbound::Sessions(Vec::new()));
    assert!(app.overlays.is_empty());
    assert_eq!(last_notice(&app), "no recorded sessions yet");
}

#[test]
fn notices_and_a_new_backend_come_from_the_host() {
    use conclave::tui::Inbound;
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    app.receive(Inbound::Notice("exported to /tmp/x.md".into()));
    assert_eq!(last_notice(&app), "exported to /tmp/x.md");
    app.receive(Inbound::Backend {
        label: "demo (offline demo)".into(),
        is_demo: true,
    });
    assert_eq!(app.backend_label, "demo (offline demo)");
    assert!(app.is_demo);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| draw(f, &mut app)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("DEMO"), "{screen}");
}

#[test]
fn config_warnings_survive_a_new_session() {
    let setup = conclave::tui::ConsoleSetup {
        config: fixtures::config(),
        team: "debate".into(),
        backend_label: "x".into(),
        is_demo: false,
        history: Vec::new(),
    };
    let mut app = App::with_theme(
        setup,
        conclave::tui::theme::Theme::dark(),
        vec!["keys.global.fly: unknown action".into()],
    );
    for e in &fixtures::debate().events {
        app.apply(e);
    }
    let notices: Vec<String> = app
        .session
        .transcript
        .iter()
        .filter_map(|e| e.notice().map(str::to_string))
        .collect();
    assert_eq!(notices, ["keys.global.fly: unknown action"]);
}

#[test]
fn a_message_after_notices_starts_the_debate_and_one_after_it_finished_starts_another() {
    let mut script = fixtures::debate();
    script.user("again", None);
    let again = script.events.pop().unwrap();
    let mut app = fixtures::app("debate", &script.events[..1]);
    app.note("a notice from the host");
    type_text(&mut app, "first");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "first".into(),
            to: None
        })
    );
    for e in &script.events[1..] {
        app.apply(e);
    }
    assert!(app.session.finished().is_some());
    type_text(&mut app, "again");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "again".into(),
            to: None
        })
    );
    // The new task is under way: the old outcome is gone and a message is queued.
    app.apply(&again);
    assert!(app.session.finished().is_none());
    assert!(
        app.input_target().contains("queue"),
        "{}",
        app.input_target()
    );
    type_text(&mut app, "and this");
    assert_eq!(
        enter(&mut app),
        command(Command::Send {
            text: "and this".into(),
            to: None
        })
    );
}

fn hints(app: &App) -> Vec<&'static str> {
    app.hint_actions()
        .into_iter()
        .map(|(_, label)| label)
        .collect()
}

#[test]
fn footer_hints_only_what_the_pattern_supports() {
    let debate = fixtures::app("debate", &fixtures::debate_live().events);
    let h = hints(&debate);
    for want in ["vote", "pick speaker", "pause"] {
        assert!(h.contains(&want), "group chat should hint {want}: {h:?}");
    }
    assert!(!h.contains(&"approve"), "no handoff in a group chat: {h:?}");

    let support = fixtures::app("support", &fixtures::support_pending().events);
    let h = hints(&support);
    assert!(h.contains(&"approve") && h.contains(&"redirect"), "{h:?}");
    assert!(h.contains(&"pause"), "a handoff team pauses: {h:?}");
    for absent in ["vote", "pick speaker"] {
        assert!(
            !h.contains(&absent),
            "a handoff team cannot {absent}: {h:?}"
        );
    }
    // Every steering key of the pattern stays discoverable (issue 12 item 9), what acts now
    // first, so with no handoff under way its keys are still listed.
    let done = fixtures::app("support", &fixtures::support_redirect().events);
    let h = hints(&done);
    for want in [
        "approve",
        "reject",
        "redirect",
        "cancel handoff",
        "cancel turn",
    ] {
        assert!(h.contains(&want), "a handoff team lists {want}: {h:?}");
    }
    assert!(h.contains(&"pause"), "a handoff team pauses: {h:?}");

    let mut config = fixtures::config();
    let mut steps = conclave::config::TeamConfig::new(PatternKind::Sequential);
    steps.members = vec!["optimist".into(), "skeptic".into()];
    config.teams.insert("steps".into(), steps);
    let setup = conclave::tui::ConsoleSetup {
        config,
        team: "steps".into(),
        backend_label: "local".into(),
        is_demo: false,
        history: Vec::new(),
    };
    let steps = App::with_theme(setup, conclave::tui::theme::Theme::dark(), Vec::new());
    let h = hints(&steps);
    assert!(h.contains(&"pause"), "a pipeline pauses: {h:?}");
    assert!(
        !h.contains(&"vote") && !h.contains(&"pick speaker"),
        "{h:?}"
    );
}

#[test]
fn only_mouse_events_that_change_something_ask_for_a_frame() {
    use conclave::tui::panes::Focus;
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let (_, rect) = app
        .pane_rects
        .iter()
        .copied()
        .find(|(f, _)| *f == Focus::Transcript)
        .unwrap();
    let at = |kind| MouseEvent {
        kind,
        column: rect.x + 2,
        row: rect.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    assert!(!app.handle_mouse(at(MouseEventKind::Moved)), "a move");
    assert_ne!(app.panes.focus, Focus::Transcript);
    assert!(
        app.handle_mouse(at(MouseEventKind::ScrollDown)),
        "the wheel focuses the pane under the pointer"
    );
    assert_eq!(app.panes.focus, Focus::Transcript);
    assert!(
        !app.handle_mouse(at(MouseEventKind::ScrollDown)),
        "already at the end"
    );
    assert!(
        app.handle_mouse(at(MouseEventKind::ScrollUp)),
        "scrolled up"
    );
    assert!(!app.handle_mouse(at(MouseEventKind::Moved)));
    assert!(
        !app.handle_mouse(at(MouseEventKind::Down(MouseButton::Left))),
        "already focused"
    );
    let outside = MouseEvent {
        column: 0,
        row: 0,
        ..at(MouseEventKind::ScrollUp)
    };
    assert!(!app.handle_mouse(outside), "not over a pane");
}

#[test]
fn eval_runs_are_grouped_in_the_sessions_picker_and_diff_asks_the_host() {
    use conclave::tui::Inbound;
    let mut app = fixtures::app("debate", &fixtures::debate().events);
    let tagged = |id: &str, eval: &str| {
        let mut s = summary(id, "builtin-single");
        s.eval = Some(eval.into());
        s
    };
    app.receive(Inbound::Sessions(vec![
        tagged("20261121-100003-e1c", "eval-1"),
        summary("20261121-100002-solo", "debate"),
        tagged("20261121-100001-e1b", "eval-1"),
        tagged("20261121-100000-e1a", "eval-1"),
    ]));
    let Some(Overlay::Picker(p)) = app.overlays.last() else {
        panic!("no picker: {:?}", app.overlays);
    };
    assert_eq!(
        p.items,
        [
            "20261121-100003-e1c",
            "20261121-100001-e1b",
            "20261121-100000-e1a",
            "20261121-100002-solo"
        ]
    );
    assert!(
        p.details[0].starts_with("eval-1 · builtin-single"),
        "{:?}",
        p.details
    );
    assert!(p.details[3].starts_with("debate · "), "{:?}", p.details);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);

    type_text(&mut app, "/diff 20261121-100002-solo");
    assert_eq!(
        enter(&mut app),
        vec![Effect::Send(Outbound::Diff {
            id: "20261121-100002-solo".into()
        })]
    );
    type_text(&mut app, "/diff");
    assert_eq!(enter(&mut app), Vec::new());
    assert!(
        last_notice(&app).starts_with("/diff ID"),
        "{}",
        last_notice(&app)
    );
}
