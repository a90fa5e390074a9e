//! What can go wrong with a journal, each error naming the file (and line) and what to do.

use std::path::PathBuf;

/// An error reading, writing, resolving or forking a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot record sessions: {} is not writable ({source}); fix its permissions or point \
         CONCLAVE_DATA_DIR at a writable directory",
        path.display()
    )]
    Unwritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("journal {} is empty: the session wrote nothing before it stopped; remove it with `conclave sessions rm`", path.display())]
    Empty { path: PathBuf },
    #[error("{} is not a conclave journal ({detail})", path.display())]
    NotAJournal { path: PathBuf, detail: String },
    #[error(
        "journal {} was written by a newer conclave (schema v{found}; this build reads v{supported}): upgrade conclave",
        path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("journal {} line {line} is damaged ({detail})", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("journal {} already exists; pick another session id", path.display())]
    Exists { path: PathBuf },
    #[error("`{id}` is not a valid session id (letters, digits, `-`, `_` and `.` only)")]
    InvalidId { id: String },
    #[error("no session matches `{id}` in {}; see `conclave sessions list`", dir.display())]
    NotFound { id: String, dir: PathBuf },
    #[error("no sessions recorded yet in {}", dir.display())]
    NoSessions { dir: PathBuf },
    #[error("`{id}` matches several sessions ({}); type more of the id", matches.join(", "))]
    Ambiguous { id: String, matches: Vec<String> },
    #[error("session {id} has no event with seq {at} (its events run from {first} to {last})")]
    SeqOutOfRange {
        id: String,
        at: u64,
        first: u64,
        last: u64,
    },
    #[error("session {id} is still running (process {pid}); stop it first")]
    Running { id: String, pid: u32 },
    #[error("cannot encode an event for journal {}: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        JournalError::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors caused by what the person typed (an unknown or ambiguous id, a bad seq),
    /// as opposed to a problem with the files.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            JournalError::InvalidId { .. }
                | JournalError::NotFound { .. }
                | JournalError::NoSessions { .. }
                | JournalError::Ambiguous { .. }
                | JournalError::SeqOutOfRange { .. }
        )
    }
}
