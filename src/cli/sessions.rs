//! `conclave sessions`: list, show, export, fork and remove recorded sessions (the journals in
//! the data dir's `sessions/`). Output goes to stdout, problems to stderr, both plain text.

use std::io::Write;
use std::path::Path;

use super::{ExportFormat, SessionsAction, SessionsArgs, exit};
use crate::store::{self, JournalError, SessionSummary, lock};

/// Run `conclave sessions …` against the journals in `dir`; returns the exit code.
pub fn run(args: SessionsArgs, dir: &Path) -> u8 {
    let result = match args.action.unwrap_or(SessionsAction::List { json: false }) {
        SessionsAction::List { json } => list(dir, json),
        SessionsAction::Show { id } => show(dir, &id),
        SessionsAction::Export { id, format } => export(dir, &id, format),
        SessionsAction::Fork { id, at } => fork(dir, &id, at),
        SessionsAction::Rm { id } => rm(dir, &id),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conclave: {e}");
            if e.is_usage() {
                exit::USAGE
            } else {
                exit::FAILED
            }
        }
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
                truncate(&s.team, TEAM_MAX),
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

fn list(dir: &Path, json: bool) -> Result<u8, JournalError> {
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

fn show(dir: &Path, id: &str) -> Result<u8, JournalError> {
    let journal = open(dir, id)?;
    Ok(print(&store::to_text(&journal)))
}

fn export(dir: &Path, id: &str, format: ExportFormat) -> Result<u8, JournalError> {
    let journal = open(dir, id)?;
    let text = match format {
        ExportFormat::Md => store::to_markdown(&journal),
        ExportFormat::Json => store::to_json(&journal)? + "\n",
    };
    Ok(print(&text))
}

fn fork(dir: &Path, id: &str, at: u64) -> Result<u8, JournalError> {
    let src = store::resolve_id(dir, id)?;
    let new_id = crate::core::session::new_session_id();
    store::fork(&src, at, &new_id)?;
    let from = src.file_stem().map(|s| s.to_string_lossy().into_owned());
    Ok(print(&format!(
        "Forked {} at seq {at} into {new_id}.\nResume it with: conclave --resume {new_id}\n",
        from.unwrap_or_default()
    )))
}

fn rm(dir: &Path, id: &str) -> Result<u8, JournalError> {
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
    std::fs::remove_file(&path).map_err(|e| JournalError::Io {
        path: path.clone(),
        source: e,
    })?;
    held.release().map_err(|e| JournalError::Io {
        path: lock::lock_path(&path),
        source: e,
    })?;
    Ok(print(&format!("Removed session {stem}.\n")))
}

/// Read a journal, reporting its warnings on stderr.
fn open(dir: &Path, id: &str) -> Result<store::Journal, JournalError> {
    let journal = store::read_journal(&store::resolve_id(dir, id)?)?;
    for warning in &journal.warnings {
        eprintln!("conclave: {}: {warning}", journal.path.display());
    }
    Ok(journal)
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("conclave: cannot write to standard output: {e}");
            exit::FAILED
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

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
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
        assert_eq!(truncate("a-very-long-team-name", 10), "a-very-lo…");
        assert_eq!(truncate("short", 10), "short");
    }
}
