//! The pty harness works: the real binary runs in a pseudo-terminal, its screen is read back,
//! and the terminal state is checked after it exits.
#![allow(clippy::unwrap_used)]

#[path = "support/pty.rs"]
mod pty;

use pty::{Key, Pty, TIMEOUT};

#[test]
fn conclave_help_in_a_pty() {
    let mut term = Pty::spawn(
        env!("CARGO_BIN_EXE_conclave"),
        &["--help"],
        &[("NO_COLOR", "1")],
        100,
        30,
    )
    .unwrap();
    let screen = term.wait_for("Usage: conclave", TIMEOUT).unwrap();
    assert!(screen.contains("sessions"), "{screen}");
    assert_eq!(term.wait_exit(TIMEOUT).unwrap(), 0);
    assert!(term.is_restored());
}

#[test]
fn a_full_screen_program_is_seen_restoring_the_terminal() {
    // A stand-in for the console: enters the alternate screen, hides the cursor, draws, reads a
    // key, and gives the terminal back the way `tui::terminal::restore` does.
    let script = r#"stty raw -echo; printf '\033[?1049h\033[?25l\033[2J\033[Hready'; head -c 1 >/dev/null; printf '\033[?1049l\033[?25h'; stty sane; echo bye"#;
    let mut term = Pty::spawn("sh", &["-c", script], &[], 80, 24).unwrap();
    term.wait_for("ready", TIMEOUT).unwrap();
    assert!(
        !term.is_restored(),
        "inside the alternate screen with the cursor hidden"
    );
    term.send_key(Key::Enter).unwrap();
    term.wait_for("bye", TIMEOUT).unwrap();
    assert_eq!(term.wait_exit(TIMEOUT).unwrap(), 0);
    assert!(term.is_restored());
    assert!(Key::Ctrl('c').bytes() == vec![3]);
}
