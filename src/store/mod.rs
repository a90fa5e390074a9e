//! The journal: every session is an append-only JSONL file of its events under
//! `<data dir>/sessions/<id>.jsonl`, so that no session is ever lost.
//!
//! The first line is a [`JournalHeader`] (it has a `kind` field and no `type`, so it can never be
//! mistaken for an event); every following line is one [`Event`](crate::core::Event) exactly as
//! `conclave run --events jsonl` prints it, except that consecutive `token` events of one turn may be
//! coalesced (see [`writer`]). [`writer`] appends a live session from its event channel;
//! [`journal`] reads a file back, tolerating a torn last line; [`index`] lists sessions and resolves
//! ids (`last`, unique prefixes); [`export`] renders a journal as Markdown, JSON or plain text;
//! [`fork`] starts a new journal from a prefix of an old one; [`diff`] finds where two sessions part.

pub mod diff;
pub mod error;
pub mod export;
pub mod fork;
pub mod header;
pub mod index;
pub mod journal;
pub mod lock;
pub mod private;
#[cfg(test)]
mod props;
pub mod writer;

use std::path::PathBuf;

pub use error::JournalError;
pub use export::{to_json, to_markdown, to_text};
pub use fork::fork;
pub use header::{JOURNAL_KIND, JournalHeader, config_fingerprint, fnv1a64};
pub use index::{
    Listing, SessionSummary, eval_tags, evals_dir, list_sessions, resolve_id, summarize,
};
pub use journal::{Journal, read_journal};
pub use writer::{
    OpenJournal, WriterReport, spawn_appender, spawn_appender_with_acks, spawn_writer,
    spawn_writer_with_acks,
};

/// The file extension of journals.
pub const JOURNAL_EXT: &str = "jsonl";

/// The directory holding the journals: `<data dir>/sessions` (`CONCLAVE_DATA_DIR` overrides the
/// data dir).
pub fn sessions_dir() -> PathBuf {
    crate::config::paths::sessions_dir()
}

/// Whether `id` is safe to use as a file stem: non-empty, `[A-Za-z0-9_.-]`, not starting with a dot.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && !id.starts_with('.') && id.chars().all(is_id_char)
}

/// A character an id may hold: `[A-Za-z0-9_.-]`.
pub(crate) fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_sort_by_time_and_are_valid() {
        use crate::core::session::session_id_at;
        use chrono::DateTime;
        let a = session_id_at(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let b = session_id_at(DateTime::from_timestamp(1_700_000_001, 0).unwrap());
        assert!(a < b, "{a} should sort before {b}");
        assert!(is_valid_id(&a));
        assert_eq!(a.len(), "20231114-221320-0000".len());
    }

    #[test]
    fn ids_that_could_escape_the_directory_are_invalid() {
        for bad in ["", "../x", "a/b", ".hidden", "a\\b", "a b"] {
            assert!(!is_valid_id(bad), "{bad:?} accepted");
        }
    }
}
