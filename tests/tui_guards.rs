//! Guards in the console (issue 10 item 4): a trip is a line of the transcript naming the guard,
//! what it blocked and why, and the status bar says the step was blocked, at 80x24 and 160x40.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout};
use ratatui::{Frame, Terminal};

use conclave::core::event::{Boundary, EventKind, Outcome, Purpose, ToolCallInfo, UsageInfo};
use conclave::tui::App;
use conclave::tui::panes::status::{self, StatusLine};
use conclave::tui::panes::transcript::TranscriptPane;

fn screen(w: u16, h: u16, draw: impl FnOnce(&mut Frame<'_>)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(draw).unwrap();
    terminal.backend().to_string()
}

/// The support desk with a guard: the handoff went through, the final answer was withheld.
fn guarded() -> App {
    let mut s = fixtures::support_pending();
    s.push(EventKind::GuardAsked {
        guard: "compliance".into(),
        boundary: Boundary::Handoff,
        id: "h1".into(),
        agent: Some("triage".into()),
        subject: "handoff h1: triage → billing".into(),
        content: "duplicate charge on the invoice".into(),
        outcome: None,
    });
    let verdict = |s: &mut fixtures::Script, turn: u64, allow: bool, reason: &str| {
        s.push(EventKind::TurnStarted {
            agent: "compliance".into(),
            turn,
            round: None,
            purpose: Purpose::Guard,
        });
        s.push(EventKind::Message {
            agent: "compliance".into(),
            turn,
            text: String::new(),
            usage: UsageInfo {
                input: Some(300),
                output: Some(12),
                estimated: false,
            },
            ttft_ms: Some(90),
            latency_ms: 400,
            finish: "stop".into(),
            purpose: Purpose::Guard,
            tool_calls: vec![ToolCallInfo {
                id: format!("v{turn}"),
                name: "guard_verdict".into(),
                arguments: serde_json::json!({"allow": allow, "reason": reason}).to_string(),
            }],
            served_by: None,
            continues: false,
        });
        s.push(EventKind::ToolResult {
            agent: "compliance".into(),
            turn,
            call_id: format!("v{turn}"),
            name: "guard_verdict".into(),
            content: if allow {
                "allowed".into()
            } else {
                format!("denied: {reason}")
            },
            is_error: false,
            server: None,
            ms: None,
        });
    };
    verdict(&mut s, 2, true, "refunds are billing's");
    s.push(EventKind::HandoffAccepted {
        id: "h1".into(),
        reason: "the guard compliance allowed it: refunds are billing's".into(),
    });
    s.say(
        "billing",
        3,
        None,
        "I refunded the duplicate charge to card 4111 1111 1111 1111.",
    );
    s.push(EventKind::GuardAsked {
        guard: "compliance".into(),
        boundary: Boundary::Final,
        id: "final:1".into(),
        agent: Some("billing".into()),
        subject: "final answer of billing".into(),
        content: "I refunded the duplicate charge to card 4111 1111 1111 1111.".into(),
        outcome: Some(Outcome::Completed),
    });
    verdict(&mut s, 4, false, "it shows a full card number");
    s.push(EventKind::GuardTripped {
        guard: "compliance".into(),
        boundary: Boundary::Final,
        subject: "final answer of billing".into(),
        reason: "it shows a full card number".into(),
        id: "final:1".into(),
    });
    s.push(EventKind::SessionFinished {
        outcome: Outcome::Failed,
        final_text: None,
    });
    fixtures::app("support", &s.events)
}

fn status_and_transcript(app: &App, w: u16, h: u16) -> String {
    let colors = app.agent_colors();
    let mut pane = TranscriptPane::default();
    let line = StatusLine {
        backend_label: &app.backend_label,
        is_demo: false,
        now: app.now,
    };
    screen(w, h, |f| {
        let [top, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(f.area());
        status::render_status(f, top, &app.session, line, &app.theme);
        pane.render(f, rest, &app.session.transcript, true, &app.theme, &colors);
    })
}

#[test]
fn a_trip_shows_in_the_transcript_and_the_status_bar() {
    let app = guarded();
    assert_eq!(
        app.session.guard_blocked().as_deref(),
        Some("compliance blocked the final answer")
    );
    let small = status_and_transcript(&app, 80, 24);
    assert!(
        small.contains("compliance blocked the final answer"),
        "{small}"
    );
    insta::assert_snapshot!("guard_trip_80x24", small);
    insta::assert_snapshot!("guard_trip_160x40", status_and_transcript(&app, 160, 40));
}
