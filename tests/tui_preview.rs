//! The context preview (issue 12 item 3) in the console: a support conversation of ten messages
//! and the handoff note waiting on a handoff, previewed with its key, drawn at 80×24 and 120×40 (untouched, and with
//! one message edited, one deleted and the editor open), and steered key by key: what is sent
//! on approve, on back, and when the handoff is decided while the preview is open.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use fixtures::last_notice;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::core::Command;
use conclave::core::event::{ContextMessage, EventKind};
use conclave::tui::app::Effect;
use conclave::tui::overlays::Overlay;
use conclave::tui::render::draw;
use conclave::tui::{App, Outbound};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

const BILLING_SYSTEM: &str = "You are billing support for Acme Cloud. Refund duplicate charges \
     once you have the invoice number; never promise credits beyond the refund.";

/// A support session where triage asked a few questions before handing over to billing: the
/// request billing would receive has ten conversation messages and the handoff note.
fn long_request_app() -> App {
    let mut s = fixtures::Script::new("s-preview");
    s.start(
        "support",
        conclave::core::event::PatternKind::Handoff,
        &[
            ("triage", "llama3.2"),
            ("billing", "llama3.2"),
            ("tech", "qwen2.5-coder"),
        ],
    );
    let exchange = [
        (
            "I was charged twice for my subscription this month.",
            "Sorry about that. Which plan are you on, and do you have the invoice numbers?",
        ),
        (
            "The Team plan. Invoices INV-2291 and INV-2292, both for $49 on the 3rd.",
            "Thanks. Were both charges to the same card, the one ending 4242?",
        ),
        (
            "Yes, same card. My email is dana@example.com if you need it.",
            "Got it. I can see two payments on the 3rd a minute apart, which looks like a \
             duplicate. Billing can refund one of them.",
        ),
        (
            "Will the refund go back to the same card?",
            "Yes: refunds always go back to the card that paid, within 5 to 10 days.",
        ),
        (
            "Please do, and make sure it does not happen next month.",
            "That sounds like a billing problem. Let me bring in billing.",
        ),
    ];
    for (i, (user, triage)) in exchange.iter().enumerate() {
        s.user(user, None);
        s.say("triage", i as u64 + 1, None, triage);
    }
    s.push(EventKind::HandoffRequested {
        id: "h1".into(),
        from: "triage".into(),
        to: "billing".into(),
        reason: "duplicate charge on INV-2292".into(),
        approval: Some("window".into()),
        window_ms: Some(10_000),
    });
    let mut app = fixtures::app("support", &s.events);
    app.config.agents.get_mut("billing").unwrap().system = Some(BILLING_SYSTEM.into());
    app
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode, m: KeyModifiers) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, m))
}

fn key(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c), KeyModifiers::NONE)
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn sent(effects: Vec<Effect>) -> Vec<Command> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send(Outbound::Command(c)) => Some(c),
            _ => None,
        })
        .collect()
}

fn is_open(app: &App) -> bool {
    matches!(app.overlays.last(), Some(Overlay::Preview(_)))
}

/// Select message `n` (1-based) from the top.
fn select(app: &mut App, n: usize) {
    for _ in 0..12 {
        key(app, 'k');
    }
    for _ in 1..n {
        key(app, 'j');
    }
}

#[test]
fn the_preview_of_an_eleven_message_request() {
    for (w, h) in SIZES {
        let mut app = long_request_app();
        assert_eq!(
            sent(ctrl(&mut app, 'e')),
            vec![Command::HoldHandoff {}],
            "opening the preview holds the window"
        );
        insta::assert_snapshot!(format!("preview_{w}x{h}"), screen(&mut app, w, h));
        // Down to the last message: it scrolls into view.
        select(&mut app, 11);
        insta::assert_snapshot!(format!("preview_last_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn the_preview_while_a_message_is_edited() {
    for (w, h) in SIZES {
        let mut app = long_request_app();
        ctrl(&mut app, 'e');
        select(&mut app, 6);
        key(&mut app, 'd');
        select(&mut app, 5);
        key(&mut app, 'e');
        // The editor starts at the end of the text.
        for _ in 0..".com if you need it.".len() {
            press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
        }
        for c in "[redacted].".chars() {
            key(&mut app, c);
        }
        insta::assert_snapshot!(format!("preview_editing_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn edit_delete_approve_sends_the_edit_then_the_approval() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    select(&mut app, 5);
    key(&mut app, 'e');
    // The editor starts at the end of the text: delete all of it, paste a new one, keep it.
    for _ in 0..200 {
        press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    }
    app.handle_paste("Yes, same card.");
    assert!(sent(ctrl(&mut app, 's')).is_empty());
    select(&mut app, 6);
    key(&mut app, 'd');
    let commands = sent(ctrl(&mut app, 'y'));
    assert!(!is_open(&app));
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[1], Command::ApproveHandoff {});
    let Command::EditContext { messages } = &commands[0] else {
        panic!("{commands:?}")
    };
    assert_eq!(messages.len(), 10);
    assert_eq!(
        messages[4],
        ContextMessage {
            role: "user".into(),
            text: "[user]: Yes, same card.".into()
        }
    );
    assert!(
        messages.iter().all(|m| !m.text.contains("I can see two")),
        "the deleted message is gone: {messages:?}"
    );
    assert!(
        messages[9]
            .text
            .starts_with("triage handed the conversation over")
    );
}

#[test]
fn approving_without_changes_sends_no_edit_context() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    select(&mut app, 2);
    key(&mut app, 'e');
    key(&mut app, 'x');
    // The edit is dropped with Esc; deleting twice keeps the message.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    key(&mut app, 'd');
    key(&mut app, 'd');
    assert_eq!(sent(key(&mut app, 'a')), vec![Command::ApproveHandoff {}]);
}

#[test]
fn going_back_sends_nothing_and_says_the_handoff_still_waits() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    key(&mut app, 'd');
    assert!(sent(press(&mut app, KeyCode::Esc, KeyModifiers::NONE)).is_empty());
    assert!(!is_open(&app));
    assert!(app.preview_editor.is_none());
    let note = last_notice(&app);
    assert!(
        note.contains("edits dropped") && note.contains("still waits"),
        "{note}"
    );
    // Held by then, it is not held again when opened a second time.
    app.apply(&held_event(&app));
    assert!(sent(ctrl(&mut app, 'e')).is_empty());
    assert!(is_open(&app));
}

#[test]
fn a_handoff_redirected_meanwhile_closes_the_preview_with_a_note() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    key(&mut app, 'e');
    let redirected = event(
        &app,
        EventKind::HandoffRedirected {
            id: "h1".into(),
            from_target: "billing".into(),
            to: "tech".into(),
            by: "control".into(),
        },
    );
    app.apply(&redirected);
    assert!(!is_open(&app));
    assert!(app.preview_editor.is_none());
    let note = last_notice(&app);
    assert!(note.contains("redirected to tech meanwhile"), "{note}");
    // Keys reach the main screen again.
    key(&mut app, 'z');
    assert_eq!(app.input.text(), "z");
}

#[test]
fn a_handoff_cancelled_meanwhile_closes_the_preview_with_a_note() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    let cancelled = event(
        &app,
        EventKind::HandoffCancelled {
            id: "h1".into(),
            by: "control".into(),
        },
    );
    app.apply(&cancelled);
    assert!(!is_open(&app));
    assert!(
        last_notice(&app).contains("cancelled by control meanwhile"),
        "{}",
        last_notice(&app)
    );
}

#[test]
fn a_script_edit_shows_in_an_untouched_preview() {
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    let edited = event(
        &app,
        EventKind::ContextEdited {
            handoff: "h1".into(),
            agent: "billing".into(),
            by: "control".into(),
            messages: vec![ContextMessage {
                role: "user".into(),
                text: "[user]: Refund INV-2292.".into(),
            }],
        },
    );
    app.apply(&edited);
    let Some(Overlay::Preview(p)) = app.overlays.last() else {
        panic!("still open")
    };
    assert_eq!(p.messages.len(), 1);
    assert_eq!(p.messages[0].text, "Refund INV-2292.");
    assert!(!p.is_changed());
}

#[test]
fn without_a_pending_handoff_the_key_says_so() {
    let mut app = fixtures::app("support", &fixtures::support_redirect().events);
    assert!(sent(ctrl(&mut app, 'e')).is_empty());
    assert!(!is_open(&app));
    assert!(
        last_notice(&app).contains("no handoff is waiting"),
        "{}",
        last_notice(&app)
    );
}

#[test]
fn the_footer_offers_the_preview_while_a_handoff_waits() {
    let mut app = long_request_app();
    let screen = screen(&mut app, 80, 24);
    let footer = screen.lines().last().unwrap();
    for hint in ["^Y approve", "^E preview", "^O redirect", "^X cancel"] {
        assert!(footer.contains(hint), "{footer}");
    }
}

fn event(app: &App, kind: EventKind) -> conclave::core::Event {
    let state = &app.session.view.state;
    conclave::core::Event {
        v: 1,
        seq: state.next_seq,
        ts: app.now,
        session: state.session.clone(),
        kind,
    }
}

fn held_event(app: &App) -> conclave::core::Event {
    event(
        app,
        EventKind::HandoffHeld {
            id: "h1".into(),
            by: "user".into(),
        },
    )
}

#[test]
fn tiny_screens_draw_without_panicking() {
    for (w, h) in [(1, 1), (20, 6), (40, 10)] {
        let mut app = long_request_app();
        ctrl(&mut app, 'e');
        screen(&mut app, w, h);
        select(&mut app, 11);
        key(&mut app, 'e');
        screen(&mut app, w, h);
        press(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
        press(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
        screen(&mut app, w, h);
    }
}

#[test]
fn a_summary_edge_says_the_target_gets_a_summary_unless_edited() {
    let mut app = long_request_app();
    app.config.teams.get_mut("support").unwrap().context =
        Some(conclave::config::ContextMode::Summary);
    ctrl(&mut app, 'e');
    let Some(Overlay::Preview(p)) = app.overlays.last() else {
        panic!("open")
    };
    let note = p.note.clone().unwrap_or_default();
    assert!(note.contains("billing receives a summary"), "{note}");
    assert!(screen(&mut app, 80, 24).contains("passes a summary"));
    // Without a summary edge there is nothing to say.
    let mut app = long_request_app();
    ctrl(&mut app, 'e');
    let Some(Overlay::Preview(p)) = app.overlays.last() else {
        panic!("open")
    };
    assert_eq!(p.note, None);
}

#[test]
fn a_short_request_takes_only_the_rows_it_needs() {
    for (w, h) in SIZES {
        let mut app = fixtures::app("support", &fixtures::support_pending().events);
        ctrl(&mut app, 'e');
        insta::assert_snapshot!(format!("preview_short_{w}x{h}"), screen(&mut app, w, h));
    }
}
