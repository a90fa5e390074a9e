//! Signals sent to the real `conclave` console in a pseudo-terminal, on the offline demo (no
//! config, no keys, no Ollama). A terminating signal (INT, HUP, QUIT, TERM) gives the terminal
//! back and leaves the session as quitting does (suspended, resumable), exiting 128 + N. SIGTSTP
//! (or Ctrl+Z) under a job-control shell gives the shell its terminal and stops; `fg` takes raw
//! mode and the alternate screen back and redraws everything.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;

use home::{Home, LONG};
use pty::{Key, Pty};

const TASK: &str = "Should we rewrite billing in Rust?";

/// Send `signal` (a name `kill` knows) to `pid`.
fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The state letter of `pid` in /proc (`T` stopped, `S` sleeping, `R` running).
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The console has the terminal the way it wants it.
fn assert_console_mode(term: &Pty) {
    term.wait_until("raw mode, alternate screen, mouse, paste", LONG, |t| {
        let modes = t.modes();
        !t.is_cooked()
            && ["alternate screen", "mouse reporting", "bracketed paste"]
                .iter()
                .all(|m| modes.contains(m))
    })
    .unwrap();
}

/// The terminal is as a shell expects it: cooked, main screen, cursor shown, no reporting.
fn assert_shell_mode(term: &Pty) {
    term.wait_until("cooked mode, every mode off", LONG, |t| {
        t.is_cooked() && t.modes().is_empty()
    })
    .unwrap_or_else(|e| panic!("{e}\nstill on: {:?}", term.modes()));
}

/// Start the demo debate, let the optimist speak, send `signal`: the console exits `code`, the
/// terminal is given back, and the session resumes where it was.
fn a_terminating_signal_gives_the_terminal_back(signal: &str, code: u32) {
    let home = Home::new();
    let mut term = home.spawn(&[], false);
    term.wait_for("team debate", LONG).unwrap();
    term.send_text(TASK).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Ambitious?", LONG).unwrap();
    assert_console_mode(&term);

    kill(signal, term.pid().unwrap());
    assert_eq!(term.wait_exit(LONG).unwrap(), code, "{}", term.screen());
    assert_shell_mode(&term);

    // Suspended, as quitting leaves it: on disk with its task, not finished.
    let journal = home.journal();
    assert!(journal.contains(TASK), "{journal}");
    assert!(journal.contains("Ambitious?"), "{journal}");
    assert!(!journal.contains("\"session_finished\""), "{journal}");
    let mut term = home.spawn(&["--resume", "last"], false);
    term.wait_for("resumed", LONG).unwrap();
    term.wait_for("Ambitious?", LONG).unwrap();
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
    assert_shell_mode(&term);
}

#[test]
fn sigint_restores_the_terminal_and_exits_130() {
    a_terminating_signal_gives_the_terminal_back("INT", 130);
}

#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    a_terminating_signal_gives_the_terminal_back("HUP", 129);
}

#[test]
fn sigquit_restores_the_terminal_and_exits_131() {
    a_terminating_signal_gives_the_terminal_back("QUIT", 131);
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    a_terminating_signal_gives_the_terminal_back("TERM", 143);
}

/// Stop the console with `stop` (a SIGTSTP from outside, Ctrl+Z typed, or SIGSTOP), check the
/// shell got a sane terminal (when `restores`: SIGSTOP cannot be caught), then `fg` and check the
/// console took it back and drew every cell again.
fn suspend_and_fg(term: &mut Pty, pid: u32, restores: bool, stop: impl FnOnce(&mut Pty)) {
    let stops = term.screen().matches("Stopped").count();
    stop(term);
    term.wait_until("the console stopped", LONG, |_| state_of(pid) == Some('T'))
        .unwrap();
    if restores {
        assert_shell_mode(term);
    }
    term.wait_until("the shell says so", LONG, |t| {
        t.screen().matches("Stopped").count() > stops
    })
    .unwrap();

    let before = term.raw_output().len();
    term.send_text("fg\r").unwrap();
    assert_console_mode(term);
    // Everything is drawn again, the status bar too (a diff against the last frame would send
    // nothing of it).
    term.wait_until("a full redraw", LONG, |t| {
        String::from_utf8_lossy(&t.raw_output()[before..]).contains("team debate")
    })
    .unwrap();
    assert_ne!(state_of(pid), Some('T'));
}

#[test]
fn sigtstp_and_ctrl_z_give_the_shell_its_terminal_and_fg_takes_it_back() {
    let home = Home::new();
    // A job-control shell, as a person has (a pty's own session alone is an orphaned process
    // group, where the kernel does not stop on SIGTSTP); without line editing, which would set
    // terminal modes of its own at the prompt.
    let mut term = home.spawn_program(
        "bash",
        &["--norc", "--noprofile", "--noediting", "-i"],
        &[("PS1", "shell> "), ("HISTFILE", "/dev/null")],
    );
    term.wait_for("shell> ", LONG).unwrap();
    term.send_text(&format!("{}\r", env!("CARGO_BIN_EXE_conclave")))
        .unwrap();
    term.wait_for("team debate", LONG).unwrap();
    assert_console_mode(&term);
    let pid = term.foreground_pid().unwrap();
    term.send_text(TASK).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Ambitious?", LONG).unwrap();

    suspend_and_fg(&mut term, pid, true, |_| kill("TSTP", pid));
    suspend_and_fg(&mut term, pid, true, |t| {
        t.send_key(Key::Ctrl('z')).unwrap()
    });
    // The shell puts its own (cooked) mode back when a job stops; after `fg` the console sets raw
    // mode again even though it never saw the stop coming.
    suspend_and_fg(&mut term, pid, false, |_| kill("STOP", pid));

    // Keys reach the console again, and it quits as usual.
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_shell_mode(&term);
    term.send_text("echo \"status=$?\"\r").unwrap();
    term.wait_for("status=0", LONG).unwrap();
    term.send_text("exit\r").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0);
    assert!(home.journal().contains(TASK));
}

/// A terminal closed under the console (a window shut): its far side goes away, here the inner
/// pty of `script`, killed. The console gets SIGHUP and its reads and writes fail; it must still
/// settle the session as quitting does (the journal closed, its lock gone) without a panic.
#[test]
fn a_closed_terminal_leaves_the_session_settled() {
    let home = Home::new();
    let bin = env!("CARGO_BIN_EXE_conclave");
    let mut term = home.spawn_program("script", &["-q", "-c", bin, "/dev/null"], &[]);
    term.wait_for("team debate", LONG).unwrap();
    term.send_text(TASK).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Ambitious?", LONG).unwrap();
    let script = term.pid().unwrap();
    let children = std::fs::read_to_string(format!("/proc/{script}/task/{script}/children"));
    let console: u32 = children.unwrap().trim().parse().unwrap();

    kill("KILL", script);
    term.wait_until("the console ended", LONG, |_| {
        matches!(state_of(console), None | Some('Z'))
    })
    .unwrap();
    let sessions = home.data().join("sessions");
    let locks: Vec<_> = std::fs::read_dir(&sessions)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "lock"))
        .collect();
    assert!(locks.is_empty(), "the session was not settled: {locks:?}");
    let journal = home.journal();
    assert!(journal.contains("Ambitious?"), "{journal}");
    // The log exists only once something was logged.
    let log = std::fs::read_to_string(home.data().join("conclave.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}
