//! The one bootstrap every front end shares: the tokio runtime its sessions run on, where their
//! journals go, and how a front end waits for a session's journal when it leaves the session.
//!
//! Mental model: [`runtime`] once when a front end starts (the console and `conclave run` alike); [`options`] for each launch (journaled
//! into [`journal_dir`]); [`settle`] when a session is left, bounded by [`JOURNAL_GRACE`] so a
//! slow disk never hangs an exit. How a failed journal is reported is the front end's choice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{JoinError, JoinHandle};

use super::Exit;
use super::launch::LaunchOptions;
use super::providers::ProviderCache;
use crate::core::patterns::UnattendedApproval;
use crate::store::{JournalError, WriterReport};

/// How long leaving a session waits for its journal to be written out.
pub const JOURNAL_GRACE: Duration = Duration::from_secs(10);

/// The runtime a front end runs its sessions on: two workers, IO and timers. When it cannot be
/// built, says so on stderr after `who` (`conclave`, `conclave run`) and the front end fails.
pub fn runtime(who: &str) -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("{who}: cannot start the async runtime: {e}");
            Exit::Failed
        })
}

/// Where sessions are journaled, resumed from and listed: `<data dir>/sessions`.
pub fn journal_dir() -> PathBuf {
    crate::store::sessions_dir()
}

/// How a front end launches: journaled into [`journal_dir`]; `unattended` as in
/// [`LaunchOptions`]; `providers` shared between the sessions of one front end, or `None`.
pub fn options(
    unattended: Option<UnattendedApproval>,
    providers: Option<Arc<ProviderCache>>,
) -> LaunchOptions {
    LaunchOptions {
        unattended,
        journal_dir: Some(journal_dir()),
        providers,
    }
}

/// Why a session's journal did not end well.
#[derive(Debug, thiserror::Error)]
pub enum JournalEnd {
    /// The writer stopped with an error (and wrote what it could).
    #[error("{0}")]
    Failed(#[from] JournalError),
    /// The writer's task panicked or was cancelled.
    #[error("the journal writer failed: {0}")]
    Panicked(JoinError),
    /// The writer did not finish within [`JOURNAL_GRACE`].
    #[error("the journal was not finished in time")]
    Late,
}

/// Wait (at most [`JOURNAL_GRACE`]) for a journal writer whose session was left: its last handle
/// and event streams dropped, so the writer drains what is left and ends.
pub async fn settle(
    writer: JoinHandle<Result<WriterReport, JournalError>>,
) -> Result<WriterReport, JournalEnd> {
    match tokio::time::timeout(JOURNAL_GRACE, writer).await {
        Ok(Ok(Ok(report))) => Ok(report),
        Ok(Ok(Err(e))) => Err(JournalEnd::Failed(e)),
        Ok(Err(e)) => Err(JournalEnd::Panicked(e)),
        Err(_) => Err(JournalEnd::Late),
    }
}
