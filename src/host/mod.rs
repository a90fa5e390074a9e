//! The host: one place that turns a config and a team (or a journal) into a running, journaled
//! session with its providers, for every front end (DESIGN section 1).
//!
//! Mental model: a front end asks the host for a session and gets back its handle and its event
//! stream; the host picks the team, builds only the providers it uses, subscribes the journal
//! writer before the actor starts, and later waits for the journal to be on disk. The console
//! ([`console`]: the session manager between the TUI and its sessions) and `conclave run`
//! ([`run`]: the headless driver) start the same runtime through [`bootstrap`], so a session
//! looks the same on disk whichever ran it.
//!
//! - [`launch`]: launch, resume and fork a session; [`providers`]: the providers a team uses.
//! - [`bootstrap`]: the one runtime and journal bootstrap (where journals go, how long leaving waits).
//! - [`console`]: the default command's session manager; [`run`]: the headless driver.
//! - [`serve`]: `conclave serve`, a team as an A2A agent over HTTP.
//! - [`sessions`], [`check`], [`init`]: the other subcommands (recorded journals, the config and
//!   its backends, the example config); [`trace_export`]: `sessions export --format otlp`; [`logging`]: the log file every command writes.
//! - [`eval`]: `conclave eval`, a suite through each team, scored.
//! - [`replay`]: `conclave replay`, a recorded session played back from its journal alone.
//!
//! Each front end says how it ended with an [`Exit`], which `cli` turns into a status; the
//! console prints nothing once it owns the terminal.

pub mod bootstrap;
pub mod check;
pub mod check_tools;
pub mod console;
pub mod eval;
pub mod init;
pub mod launch;
pub mod logging;
pub mod providers;
pub mod replay;
pub mod run;
pub mod serve;
pub mod sessions;
pub mod trace_export;

pub use launch::{
    LaunchError, LaunchOptions, Launched, check_resumable, find_journal, fork, launch, resume,
    team_of,
};
pub use providers::{ProviderCache, providers_for};

use crate::core::event::Outcome;

/// How a front end ended; the command line turns it into the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The person quit, or the task did what it was configured to do.
    Ok,
    /// The run failed, gave no answer the task asked for, or was interrupted.
    Failed,
    /// Bad usage or a bad config, found before any session started.
    Usage,
    /// Ended by a terminating signal (its number: SIGINT, SIGHUP, SIGQUIT, SIGTERM).
    Signalled(i32),
}

impl Exit {
    /// How a run ends when its session finished with `outcome`: `Ok` when the team did what it
    /// was configured to do (`completed`, `consensus`, `max_rounds`, `max_messages`), else
    /// `Failed`.
    pub fn of(outcome: Outcome) -> Exit {
        match outcome {
            Outcome::Completed | Outcome::Consensus | Outcome::MaxRounds | Outcome::MaxMessages => {
                Exit::Ok
            }
            Outcome::Failed | Outcome::Cancelled | Outcome::Timeout | Outcome::Budget => {
                Exit::Failed
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::config::defaults;
    use crate::config::detect::{Detected, DetectedKind};
    use crate::config::schema::Config;

    /// The embedded default config with the offline demo backend.
    pub(crate) fn demo() -> Config {
        defaults::embedded(&Detected {
            kind: DetectedKind::Demo,
        })
    }
}
