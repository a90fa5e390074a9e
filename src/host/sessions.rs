//! `conclave sessions`: list, show, export, fork, diff and remove recorded sessions (the journals in
//! the data dir's `sessions/`). Output goes to stdout, problems to stderr, both plain text.
//!
//! Mental model: one function per action, each a thin front end over `store` (and over
//! [`super::launch::fork`], the same fork the console uses) that prints its result and says how
//! it ended; a missing session or a bad id is `Exit::Usage`, anything else failing `Exit::Failed`.

use std::io::Write;
use std::path::Path;

use super::Exit;
use crate::store::{self, JournalError, SessionSummary, lock};

/// How `sessions export` writes a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// A readable Markdown transcript.
    Markdown,
    /// The JSON array of its events.
    Json,
}

/// `sessions list`: a table, or the summaries as JSON.
pub fn list(dir: &Path, json: bool) -> Exit {
    finish(list_in(dir, json))
}

/// `sessions show ID`: the transcript as readable text.
pub fn show(dir: &Path, id: &str) -> Exit {
    finish(show_in(dir, id))
}

/// `sessions export ID`: Markdown or JSON on stdout.
pub fn export(dir: &Path, id: &str, format: ExportFormat) -> Exit {
    finish(export_in(dir, id, format))
}

/// `sessions fork ID --at SEQ`: a new session whose history is ID's up to SEQ.
pub fn fork(dir: &Path, id: &str, at: u64) -> Exit {
    finish(fork_in(dir, id, at))
}

/// `sessions rm ID`: delete a journal that no live process holds. Of several `rm`s of one
/// session at once, one removes it and the others say there is no such session (exit 2).
pub fn rm(dir: &Path, id: &str) -> Exit {
    finish(rm_in(dir, id))
}

/// `sessions diff A B`: where two sessions first diverge and how each ended, as text or one
/// JSON object; `Exit::Ok` when they match, `Exit::Failed` when they differ.
pub fn diff(dir: &Path, a: &str, b: &str, json: bool) -> Exit {
    finish(diff_in(dir, a, b, json))
}

/// A failed action says why on stderr; a missing session or a bad id is a usage error.
fn finish(result: Result<Exit, JournalError>) -> Exit {
    result.unwrap_or_else(|e| failed(&e))
}

/// Say `e` on stderr; a missing session or a bad id is a usage error, the rest a failure.
pub(super) fn failed(e: &JournalError) -> Exit {
    eprintln!("conclave: {e}");
    if e.is_usage() {
        Exit::Usage
    } else {
        Exit::Failed
    }
}

/// The `sessions list` table: aligned columns, readable at 80 columns.
pub fn format_table(sessions: &[SessionSummary]) -> String {
    const TEAM_MAX: usize = 10;
    let rows: Vec<[String; 7]> = sessions
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                crate::text::clip(&s.team, TEAM_MAX),
                s.started.format("%Y-%m-%d %H:%M").to_string(),
                s.messages.to_string(),
                compact(s.tokens()),
                store::export::money(s.cost),
                s.outcome.clone(),
            ]
        })
        .collect();
    let head = ["ID", "TEAM", "STARTED", "MSGS", "TOKENS", "COST", "OUTCOME"];
    let right = [false, false, false, true, true, true, false];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 7]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                l.push(' ');
            }
            if right[i] {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                if i + 1 < cells.len() {
                    l.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(head);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

fn list_in(dir: &Path, json: bool) -> Result<Exit, JournalError> {
    let listing = store::list_sessions(dir)?;
    for problem in &listing.problems {
        eprintln!("conclave: skipped {problem}");
    }
    let text = if json {
        let mut s = serde_json::to_string_pretty(&listing.sessions).map_err(|source| {
            JournalError::Encode {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        s.push('\n');
        s
    } else if listing.sessions.is_empty() {
        format!("No sessions recorded yet in {}.\n", dir.display())
    } else {
        format_table(&listing.sessions)
    };
    Ok(print(&text))
}

fn show_in(dir: &Path, id: &str) -> Result<Exit, JournalError> {
    let journal = open(dir, id)?;
    Ok(print(&store::to_text(&journal)))
}

fn export_in(dir: &Path, id: &str, format: ExportFormat) -> Result<Exit, JournalError> {
    let journal = open(dir, id)?;
    let text = match format {
        ExportFormat::Markdown => store::to_markdown(&journal),
        ExportFormat::Json => store::to_json(&journal)? + "\n",
    };
    Ok(print(&text))
}

fn diff_in(dir: &Path, a: &str, b: &str, json: bool) -> Result<Exit, JournalError> {
    let (ja, jb) = (open(dir, a)?, open(dir, b)?);
    let d = store::diff::diff(&ja, &jb);
    let text = if json {
        let mut s = serde_json::to_string_pretty(&d).map_err(|source| JournalError::Encode {
            path: ja.path.clone(),
            source,
        })?;
        s.push('\n');
        s
    } else {
        store::diff::to_text(&d)
    };
    match print(&text) {
        Exit::Ok if !d.matches => Ok(Exit::Failed),
        exit => Ok(exit),
    }
}

fn fork_in(dir: &Path, id: &str, at: u64) -> Result<Exit, JournalError> {
    let src = store::resolve_id(dir, id)?;
    let (new_id, _) = super::launch::fork(&src, at)?;
    let from = src.file_stem().map(|s| s.to_string_lossy().into_owned());
    Ok(print(&format!(
        "Forked {} at seq {at} into {new_id}.\nResume it with: conclave --resume {new_id}\n",
        from.unwrap_or_default()
    )))
}

fn rm_in(dir: &Path, id: &str) -> Result<Exit, JournalError> {
    let path = store::resolve_id(dir, id)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let held = lock::acquire(&path).map_err(|e| match e {
        lock::LockError::Held { pid } => JournalError::Running {
            id: stem.clone(),
            pid,
        },
        lock::LockError::Io(source) => JournalError::Io {
            path: lock::lock_path(&path),
            source,
        },
    })?;
    // Another `rm` of the same session may have won the race: then it is gone, exactly as if
    // it had been removed before this one started.
    let gone = || JournalError::NotFound {
        id: id.to_string(),
        dir: dir.to_path_buf(),
    };
    if !path.is_file() {
        return Err(gone());
    }
    std::fs::remove_file(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => gone(),
        _ => JournalError::Io {
            path: path.clone(),
            source: e,
        },
    })?;
    held.release().map_err(|e| JournalError::Io {
        path: lock::lock_path(&path),
        source: e,
    })?;
    Ok(print(&format!("Removed session {stem}.\n")))
}

/// Read the journal of session `id` (an id, a unique prefix or `last`), reporting its warnings
/// on stderr.
pub(super) fn open(dir: &Path, id: &str) -> Result<store::Journal, JournalError> {
    let journal = store::read_journal(&store::resolve_id(dir, id)?)?;
    for warning in &journal.warnings {
        eprintln!("conclave: {}: {warning}", journal.path.display());
    }
    Ok(journal)
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print(text: &str) -> Exit {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("conclave: cannot write to standard output: {e}");
            Exit::Failed
        }
    }
}

/// `1234` → `1234`, `12345` → `12.3k`, `1234567` → `1.2M`.
fn compact(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1_000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(9_999), "9999");
        assert_eq!(compact(12_345), "12.3k");
        assert_eq!(compact(1_234_567), "1.2M");
    }

    #[test]
    fn long_team_names_are_truncated() {
        assert_eq!(crate::text::clip("a-very-long-team-name", 10), "a-very-lo…");
        assert_eq!(crate::text::clip("short", 10), "short");
    }
}
