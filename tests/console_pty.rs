//! The real console loop in a real (pseudo) terminal: this test binary re-runs itself inside a
//! pty as the console's host (feeding recorded events, recording what the console sends out),
//! and the parent types keys, reads the screen, and checks the terminal is restored on quit and
//! on SIGTERM.
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/pty.rs"]
mod pty;

use pty::{Key, Pty, TIMEOUT};

const CHILD: &str = "CONCLAVE_CONSOLE_CHILD";
const OUT: &str = "CONCLAVE_CONSOLE_OUT";

/// Not a test of its own: the console host, run inside the pty by the tests below.
#[test]
#[ignore = "the console host; the other tests run it inside a pty"]
fn console_host() {
    let (Some(_), Some(out_path)) = (std::env::var_os(CHILD), std::env::var_os(OUT)) else {
        panic!(
            "console_host is started by the other tests of console_pty.rs, with {CHILD} and {OUT} set"
        );
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sent = runtime.block_on(async {
        let (ev_tx, ev_rx) = tokio::sync::mpsc::unbounded_channel();
        let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel();
        for e in fixtures::support_pending().events {
            ev_tx.send(conclave::tui::Inbound::Event(e)).unwrap();
        }
        let setup = conclave::tui::ConsoleSetup {
            config: fixtures::config(),
            team: "support".into(),
            backend_label: "pty test".into(),
            is_demo: true,
            history: Vec::new(),
        };
        conclave::tui::run_console(setup, ev_rx, out_tx)
            .await
            .unwrap();
        drop(ev_tx);
        let mut sent = Vec::new();
        while let Ok(o) = out_rx.try_recv() {
            sent.push(format!("{o:?}"));
        }
        sent
    });
    std::fs::write(out_path, sent.join("\n")).unwrap();
}

fn spawn_console(out: &std::path::Path) -> Pty {
    let me = std::env::current_exe().unwrap();
    let out = out.to_str().unwrap();
    Pty::spawn(
        me.to_str().unwrap(),
        &[
            "--exact",
            "console_host",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(CHILD, "1"), (OUT, out), ("NO_COLOR", "1")],
        120,
        40,
    )
    .unwrap()
}

#[test]
fn steer_by_key_then_quit_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let mut term = spawn_console(&out);
    term.wait_for("triage → billing", TIMEOUT).unwrap();
    term.wait_for("DEMO", TIMEOUT).unwrap();
    assert!(!term.is_restored(), "the console owns the alternate screen");
    term.send_key(Key::Ctrl('y')).unwrap();
    term.send_text("hello there").unwrap();
    term.wait_for("hello there", TIMEOUT).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.paste("two\nlines").unwrap();
    term.wait_for("lines", TIMEOUT).unwrap();
    // Nothing runs: Ctrl+C clears the input, then asks, then quits.
    term.send_key(Key::Ctrl('c')).unwrap();
    term.send_key(Key::Ctrl('c')).unwrap();
    term.wait_for("Quit conclave?", TIMEOUT).unwrap();
    term.send_key(Key::Ctrl('c')).unwrap();
    assert_eq!(term.wait_exit(TIMEOUT).unwrap(), 0);
    assert!(term.is_restored(), "alternate screen left and cursor shown");
    let sent = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = sent.lines().collect();
    assert_eq!(
        lines,
        [
            "Command(ApproveHandoff)",
            "Command(Send { text: \"hello there\", to: None })",
            "Quit"
        ]
    );
}

#[cfg(unix)]
#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let mut term = spawn_console(&out);
    term.wait_for("triage → billing", TIMEOUT).unwrap();
    let pid = term.pid().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(term.wait_exit(TIMEOUT).unwrap(), 0);
    assert!(term.is_restored());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "Quit");
}
