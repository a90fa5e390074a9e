//! Terminal hygiene: raw mode, the alternate screen, bracketed paste and (optionally) mouse
//! capture on the way in; all of it undone on the way out — on quit (a guard's `Drop`), on
//! panic (a hook that restores before the default hook prints), and on SIGTERM (the run loop
//! exits normally; `TerminateWatch` lets the caller tell afterwards that it was SIGTERM, to exit
//! 143). Restoring twice is harmless.

use std::io::{self, Stdout, Write};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The console's terminal.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
#[derive(Debug)]
pub struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        if let Err(e) = restore() {
            tracing::warn!("restoring the terminal: {e}");
        }
    }
}

/// Take over the terminal; the guard gives it back.
pub fn setup(mouse: bool) -> io::Result<(Term, RestoreGuard)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = RestoreGuard;
    let mut stdout = io::stdout();
    execute!(stdout, EnterAlternateScreen, EnableBracketedPaste)?;
    if mouse {
        execute!(stdout, EnableClicksAndWheel)?;
    }
    let terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    Ok((terminal, guard))
}

/// Give the terminal back: leave the alternate screen, stop capturing, show the cursor.
pub fn restore() -> io::Result<()> {
    let mut stdout = io::stdout();
    let result = execute!(
        stdout,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let raw = disable_raw_mode();
    stdout.flush()?;
    result.and(raw)
}

/// Listens for SIGTERM from its creation on, so that once the console has returned the caller
/// can tell whether a SIGTERM ended it. Create it inside a tokio runtime, before the console.
pub struct TerminateWatch {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl TerminateWatch {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            let kind = tokio::signal::unix::SignalKind::terminate();
            let signal = tokio::signal::unix::signal(kind)
                .inspect_err(|e| tracing::warn!("cannot listen for SIGTERM: {e}"))
                .ok();
            TerminateWatch { signal }
        }
        #[cfg(not(unix))]
        TerminateWatch {}
    }

    /// Whether a SIGTERM arrived since `new`; never waits.
    pub fn fired(&mut self) -> bool {
        #[cfg(unix)]
        {
            use futures_util::FutureExt;
            self.signal
                .as_mut()
                .is_some_and(|s| matches!(s.recv().now_or_never(), Some(Some(()))))
        }
        #[cfg(not(unix))]
        false
    }
}

impl Default for TerminateWatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Turn mouse capture on or off.
pub fn set_mouse(on: bool) -> io::Result<()> {
    let mut stdout = io::stdout();
    if on {
        execute!(stdout, EnableClicksAndWheel)
    } else {
        execute!(stdout, DisableMouseCapture)
    }
}

/// Mouse reporting for clicks and the wheel only (xterm modes 1000 + SGR 1006). crossterm's
/// `EnableMouseCapture` also turns on any-motion tracking (1003), which sends an event for every
/// cell the pointer crosses: work for nothing, since the console only scrolls and focuses.
/// `DisableMouseCapture` turns all of these off again.
#[derive(Clone, Copy, Debug)]
pub struct EnableClicksAndWheel;

impl crossterm::Command for EnableClicksAndWheel {
    fn write_ansi(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        f.write_str(CLICKS_AND_WHEEL)
    }

    #[cfg(windows)]
    fn execute_winapi(&self) -> io::Result<()> {
        crossterm::event::EnableMouseCapture.execute_winapi()
    }
}

/// The escape sequence of [`EnableClicksAndWheel`].
const CLICKS_AND_WHEEL: &str = "\x1b[?1000h\x1b[?1006h";

/// Write raw bytes (OSC 52) to the terminal.
pub fn write_raw(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Restore the terminal before the panic message is printed, so it is readable.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod mouse_tests {
    use super::*;

    #[test]
    fn mouse_capture_asks_for_clicks_and_wheel_but_not_motion() {
        let mut out = String::new();
        crossterm::Command::write_ansi(&EnableClicksAndWheel, &mut out).unwrap();
        assert_eq!(out, "\x1b[?1000h\x1b[?1006h");
        assert!(!out.contains("1003") && !out.contains("1002"), "{out:?}");
    }
}
