//! Terminal hygiene: raw mode, the alternate screen, bracketed paste and (optionally) mouse
//! capture on the way in; all of it undone on the way out — on quit (a guard's `Drop`), on
//! panic (a hook that restores before the default hook prints), and on a terminating signal
//! (the run loop exits normally, see `signals`). A suspend restores too, and [`reenter`] takes
//! the terminal back after `fg`. Restoring twice is harmless.
//!
//! Frames are written through a buffer and leave in one `write(2)` when the frame is flushed
//! (stdout's own buffer would cut a frame into a write per kilobyte). The screen's size is
//! asked of the terminal at start, on every resize event and after `fg` ([`fit`]), not at every
//! frame as ratatui does for a full-screen viewport: crossterm answers that by opening
//! `/dev/tty` anew each time, three system calls a frame.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// The console's terminal.
pub type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Room for a whole frame of a large screen, so that it leaves in one write.
const FRAME_BUFFER: usize = 256 * 1024;

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
    let backend = CrosstermBackend::new(BufWriter::with_capacity(FRAME_BUFFER, stdout));
    let size = backend.size()?;
    let terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, size.width, size.height)),
        },
    )?;
    Ok((terminal, guard))
}

/// Fit the screen to the terminal's size (`size`, or asked of the terminal): a new size clears
/// the screen, and the next frame draws every cell.
pub fn fit(terminal: &mut Term, size: Option<(u16, u16)>) -> io::Result<()> {
    let (width, height) = match size {
        Some(size) => size,
        None => {
            let size = terminal.backend().size()?;
            (size.width, size.height)
        }
    };
    let area = Rect::new(0, 0, width, height);
    if area != terminal.get_frame().area() {
        terminal.resize(area)?;
    }
    Ok(())
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

/// Take the terminal back after a stop (`fg`): whatever the shell did to it meanwhile, raw mode,
/// the alternate screen, bracketed paste and the mouse are set again, and the screen is cleared
/// so that the next frame draws every cell.
pub fn reenter(terminal: &mut Term, mouse: bool) -> io::Result<()> {
    // The shell may have put the line discipline back in cooked mode while crossterm still
    // believes it raw: leave raw mode (restoring the mode from before) and enter it anew.
    disable_raw_mode()?;
    enable_raw_mode()?;
    execute!(
        terminal.backend_mut(),
        EnterAlternateScreen,
        Clear(ClearType::All),
        EnableBracketedPaste
    )?;
    if mouse {
        execute!(terminal.backend_mut(), EnableClicksAndWheel)?;
    }
    // The screen is blank: so must be what the next frame is compared with. (`Terminal::clear`
    // would do both, but asks the terminal where its cursor is, and waits for the answer.)
    terminal.swap_buffers();
    // The window may have been resized while the shell had it.
    fit(terminal, None)
}

/// Let go of the terminal after [`restore`]. ratatui's `Drop` shows a hidden cursor and, when
/// that fails, prints with `eprintln!`, which panics when standard error is a terminal that has
/// gone away (a closed window): a panic there would cut the session's shutdown short. So the
/// cursor is shown here, and a terminal that can no longer be written to is forgotten instead of
/// dropped (the process is about to end).
pub fn release(mut terminal: Term) {
    if terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
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
