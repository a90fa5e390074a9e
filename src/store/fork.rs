//! Forking: a new session whose history is an old one's up to a chosen event.
//!
//! The new journal sits next to the original. Its header is the original's with the new id, the
//! time of the fork as its start, and `forked_from = (original id, seq)`; its events are the
//! original's with `seq <= at`, re-stamped with the new session id and otherwise unchanged, so
//! resuming it replays exactly that history. The file is written under a temporary name, fsynced
//! and renamed, so a half-written fork is never listed.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::error::JournalError;
use super::journal::read_journal;
use super::writer::encode;
use super::{JOURNAL_EXT, is_valid_id};

/// Fork the journal at `src` after the event `at` into a new session `new_id`; returns the new
/// journal's path.
pub fn fork(src: &Path, at: u64, new_id: &str) -> Result<PathBuf, JournalError> {
    if !is_valid_id(new_id) {
        return Err(JournalError::InvalidId {
            id: new_id.to_string(),
        });
    }
    let original = read_journal(src)?;
    if let (Some(first), Some(last)) = (original.events.first(), original.events.last())
        && (at > last.seq || at < first.seq)
    {
        return Err(JournalError::SeqOutOfRange {
            id: original.header.session.clone(),
            at,
            first: first.seq,
            last: last.seq,
        });
    }
    let dir = src.parent().unwrap_or(Path::new("."));
    let dest = dir.join(format!("{new_id}.{JOURNAL_EXT}"));
    if dest.exists() {
        return Err(JournalError::Exists { path: dest });
    }
    let mut header = original.header.clone();
    header.session = new_id.to_string();
    header.started = Utc::now();
    header.forked_from = Some((original.header.session.clone(), at));

    let mut bytes = encode(&dest, &header)?;
    for event in original.events.iter().filter(|e| e.seq <= at) {
        let mut event = event.clone();
        event.session = new_id.to_string();
        bytes.extend(encode(&dest, &event)?);
    }
    let tmp = dir.join(format!(".{new_id}.{JOURNAL_EXT}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = super::private::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()
    };
    write().map_err(|e| JournalError::io(&tmp, e))?;
    std::fs::rename(&tmp, &dest).map_err(|e| JournalError::io(&dest, e))?;
    Ok(dest)
}
