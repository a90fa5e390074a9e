//! Issue 12 item 3 end to end: the real `conclave` binary in a pty runs the `support` team, its
//! triage and billing agents on an OpenAI-compatible fake server on loopback. The person opens
//! the context preview while the handoff's window counts, waits past the window (it is held),
//! edits one message, deletes another and approves; the journal has `handoff_held` and
//! `context_edited` with the edited messages, and the request the fake server received from
//! billing carries the edit and not the deleted message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;
mod support;

use std::time::Duration;

use home::{Home, LONG};
use pty::{Key, Pty};
use serde_json::Value;
use support::FakeServer;
use support::llm_fake::{edit_replies, requests_of, role_pairs, roles_and_texts};

/// The home's config with triage and billing on the fake server and the support team's
/// handoffs in a 3-second window.
fn configure(home: &Home, server: &FakeServer) {
    let config = std::fs::read_to_string(home.config())
        .unwrap()
        .replace(
            "[agents.triage]\nbackend = \"demo\"\nmodel = \"triage\"",
            "[agents.triage]\nbackend = \"fake\"\nmodel = \"triage-model\"\nsystem = \"You are triage.\"",
        )
        .replace(
            "[agents.billing]\nbackend = \"demo\"\nmodel = \"billing\"",
            "[agents.billing]\nbackend = \"fake\"\nmodel = \"billing-model\"\nsystem = \"You are billing.\"",
        )
        .replace(
            "approval = \"confirm\"",
            "approval = \"window\"\napproval_window_ms = 3000",
        );
    assert!(config.contains("triage-model") && config.contains("billing-model"));
    let backend = format!(
        "\n[backends.fake]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nmax_retries = 0\n",
        server.url()
    );
    std::fs::write(home.config(), format!("{backend}{config}")).unwrap();
}

fn quit(term: &mut Pty) {
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
}

fn journal(home: &Home) -> Vec<Value> {
    let dir = home.data().join("sessions");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn preview_edit_delete_and_approve_reach_the_handoff_target() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(FakeServer::start());
    edit_replies(&server);
    let home = Home::new();
    configure(&home, &server);

    let mut term = home.spawn(&["--team", "support"], true);
    term.wait_for("team support", LONG).unwrap();
    term.send_text("I was charged twice this month").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("s left", LONG).unwrap();
    term.send_key(Key::Ctrl('e')).unwrap();
    let screen = term.wait_for("Context billing receives", LONG).unwrap();
    assert!(screen.contains("You are billing."), "{screen}");
    assert!(screen.contains("Passing you on."), "{screen}");
    // Past the 3-second window: the preview holds it, so nothing was decided meanwhile.
    std::thread::sleep(Duration::from_millis(4000));
    let screen = term.wait_for("held", LONG).unwrap();
    assert!(screen.contains("Context billing receives"), "{screen}");
    // Edit message 1 (the person's): the editor starts at the end of its text.
    term.send_text("e").unwrap();
    term.wait_for("Editing 1. you", LONG).unwrap();
    term.send_text(" Customer 42, invoice 7.").unwrap();
    term.wait_for("invoice 7.", LONG).unwrap();
    term.send_key(Key::Ctrl('s')).unwrap();
    term.wait_for("edited", LONG).unwrap();
    // Delete message 2 (triage's words), then approve.
    term.send_text("j").unwrap();
    term.send_text("d").unwrap();
    term.wait_for("1 deleted · 1 edited", LONG).unwrap();
    term.send_key(Key::Ctrl('y')).unwrap();
    term.wait_for("Refund sent.", LONG).unwrap();
    quit(&mut term);

    let events = journal(&home);
    let position = |t: &str| events.iter().position(|e| e["type"] == t);
    let held = position("handoff_held").expect("handoff_held in the journal");
    let edited = position("context_edited").expect("context_edited in the journal");
    let accepted = position("handoff_accepted").expect("handoff_accepted in the journal");
    assert!(held < edited && edited < accepted, "{events:#?}");
    assert!(
        !events
            .iter()
            .any(|e| e.to_string().contains("approval window ran out")),
        "{events:#?}"
    );
    let e = &events[edited];
    assert_eq!(e["agent"], "billing");
    assert_eq!(e["by"], "user");
    let sent = role_pairs(&e["messages"], "text");
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        (
            "user".to_string(),
            "[user]: I was charged twice this month Customer 42, invoice 7.".to_string()
        )
    );
    assert!(
        sent[1]
            .1
            .starts_with("triage handed the conversation over to you"),
        "{sent:?}"
    );

    let billing = requests_of(&server, "billing-model");
    assert_eq!(billing.len(), 1, "one request from billing");
    let mut expected = vec![("system".to_string(), "You are billing.".to_string())];
    expected.extend(sent);
    assert_eq!(roles_and_texts(&billing[0]), expected);
    assert!(
        !billing[0].to_string().contains("Passing you on."),
        "the deleted message did not reach billing"
    );
}
