//! The signals the console answers while it owns the terminal.
//!
//! Terminating signals (SIGINT, SIGHUP, SIGQUIT, SIGTERM) end the console the way quitting does
//! (the session is suspended, its journal intact, the terminal given back) and are reported so
//! the process can exit 128 + N. SIGTSTP asks the console to give the shell its terminal and stop
//! ([`stop_self`]); SIGCONT (after `fg`, or after any stop) asks it to take the terminal back and
//! redraw. Listening starts in [`Signals::new`]: a signal before that has its default action,
//! which is harmless while the terminal is untouched. Elsewhere than Unix nothing is caught.

/// What a caught signal asks of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caught {
    /// End, as quitting does; the signal's number, for the exit status.
    End(i32),
    /// SIGTSTP: give the terminal back and stop.
    Stop,
    /// SIGCONT: take the terminal back and redraw.
    Continue,
}

/// SIGHUP's number (1 on every Unix): the exit status after a lost terminal is 128 + this.
pub const HANGUP: i32 = 1;

/// The console's signal listeners.
pub struct Signals {
    #[cfg(unix)]
    listeners: Vec<(Caught, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Start listening; call inside a tokio runtime, before the terminal is taken over.
    #[cfg(unix)]
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (Caught::End(libc::SIGTERM), SignalKind::terminate()),
            (Caught::End(libc::SIGINT), SignalKind::interrupt()),
            (Caught::End(HANGUP), SignalKind::hangup()),
            (Caught::End(libc::SIGQUIT), SignalKind::quit()),
            (Caught::Stop, SignalKind::from_raw(libc::SIGTSTP)),
            (Caught::Continue, SignalKind::from_raw(libc::SIGCONT)),
        ];
        let mut listeners = Vec::with_capacity(kinds.len());
        for (caught, kind) in kinds {
            listeners.push((caught, signal(kind)?));
        }
        Ok(Signals { listeners })
    }

    #[cfg(not(unix))]
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    /// The next signal; earlier listeners (the terminating ones) win when several are ready.
    #[cfg(unix)]
    pub async fn recv(&mut self) -> Caught {
        std::future::poll_fn(|cx| {
            for (caught, signal) in &mut self.listeners {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*caught);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    #[cfg(not(unix))]
    pub async fn recv(&mut self) -> Caught {
        std::future::pending().await
    }
}

/// Stop this process as SIGTSTP's default action would (the shell sees a stopped job), and
/// return once it is continued. The caught SIGTSTP handler is set aside for the moment of the
/// stop and put back after. Where the kernel does not stop the process (an orphaned process
/// group, which no shell could continue), this returns at once.
#[cfg(unix)]
pub fn stop_self() -> std::io::Result<()> {
    // SAFETY: sigaction with valid pointers to structs we own; the saved action is put back
    // unchanged, so the handler tokio installed is the one in place afterwards.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        let mut saved: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGTSTP, &default, &mut saved) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let raised = libc::raise(libc::SIGTSTP);
        let raised = if raised == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        };
        if libc::sigaction(libc::SIGTSTP, &saved, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        raised
    }
}

#[cfg(not(unix))]
pub fn stop_self() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "suspending is not supported here",
    ))
}
