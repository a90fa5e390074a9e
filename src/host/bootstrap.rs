//! The one bootstrap every front end shares: the tokio runtime its sessions run on, where their
//! journals go, and how a front end waits for a session's journal when it leaves the session.
//!
//! Mental model: [`runtime`] once when a front end starts (the console and `conclave run`, which
//! drive one session at a time, take the single-threaded [`single_thread_runtime`]);
//! [`check_recordable`] before it starts anything (a session that cannot be recorded is refused
//! up front, exit 1); [`options`] for each launch (journaled into [`journal_dir`]); [`settle`] when
//! a session is left, bounded by [`JOURNAL_GRACE`] so a slow disk never hangs an exit. How a failed journal is reported is the front end's choice.

use std::path::{Path, PathBuf};
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

/// The runtime a front end with many sessions at once runs them on (serve, eval, exports, checks):
/// two workers, IO and timers. When it cannot be built, says so on stderr after `who` (`conclave
/// serve`, `conclave eval`) and the front end fails.
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

/// The runtime of a front end with one session at a time (`conclave run`, the console): one
/// thread for the session, its provider streams, the printer or the TUI and the journal (file IO
/// still goes to tokio's blocking pool). One session never needs two workers: starting them cost
/// a short run a good part of its CPU, and handing each streamed token from one worker to the
/// other (provider, session, journal, console) cost a streaming console a third of its CPU in
/// wake-ups. Fails like [`runtime`].
pub fn single_thread_runtime(who: &str) -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_current_thread()
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
        headless: false,
    }
}

/// Refuse early a session that could not be recorded: the sessions `dir` must be creatable and
/// writable (a probe file is created and removed, as the lock file will be) and, to resume, the
/// journal `resume` and its lock file must open for writing. Each refusal names the path and the
/// system's reason. A front end calls this before taking the terminal or starting any model.
pub fn check_recordable(dir: &Path, resume: Option<&Path>) -> Result<(), JournalError> {
    let unwritable = |path: &Path| {
        let path = path.to_path_buf();
        move |source| JournalError::Unwritable { path, source }
    };
    crate::store::private::create_dir_all(dir).map_err(unwritable(dir))?;
    let probe = dir.join(format!(".probe-{}.tmp", std::process::id()));
    let written = crate::store::private::options()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\n"));
    let _ = std::fs::remove_file(&probe);
    written.map_err(unwritable(dir))?;
    if let Some(journal) = resume {
        std::fs::OpenOptions::new()
            .append(true)
            .open(journal)
            .map_err(unwritable(journal))?;
        let lock_path = crate::store::lock::lock_path(journal);
        match crate::store::lock::acquire(journal) {
            Ok(lock) => lock.release().map_err(unwritable(&lock_path))?,
            // Held by a live writer: the resume itself says so.
            Err(crate::store::lock::LockError::Held { .. }) => {}
            Err(crate::store::lock::LockError::Io(e)) => return Err(unwritable(&lock_path)(e)),
        }
    }
    Ok(())
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

/// How long leaving a session waits for its OTLP exporter's last send.
pub const TELEMETRY_GRACE: Duration = Duration::from_secs(2);

/// Wait (at most [`TELEMETRY_GRACE`]) for the OTLP exporter of a session that was left, so the
/// spans of its last task leave the process; a collector that does not answer by then loses them
/// (the exporter has already logged why). When the last send already failed nobody waits.
pub async fn settle_telemetry(exporter: JoinHandle<()>) {
    if crate::telemetry::otlp::collector_failing() {
        return;
    }
    if tokio::time::timeout(TELEMETRY_GRACE, exporter)
        .await
        .is_err()
    {
        tracing::warn!("telemetry: the last spans were not sent in time");
    }
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
