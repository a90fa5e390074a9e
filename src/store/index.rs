//! The session index: one summary per journal (folded by the view, see
//! [`crate::view::summary`]), and the resolution of what a person types (`last`, a full id, or a unique prefix) to a journal file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::JournalError;
use super::journal::{Journal, read_journal};
use super::{JOURNAL_EXT, is_valid_id, lock};
use crate::view::{self, SummaryHead};

pub use crate::view::SessionSummary;

/// Where `conclave eval` keeps its runs' reports (each listing its sessions): `evals/` beside
/// the sessions dir.
pub fn evals_dir(sessions_dir: &Path) -> PathBuf {
    sessions_dir.parent().unwrap_or(sessions_dir).join("evals")
}

/// Which eval run each session belongs to, from the reports in [`evals_dir`] (read as plain
/// JSON: `eval`, and `runs` with each `session` and its `samples`). Unreadable reports are
/// skipped: a tag is a convenience, never a reason to fail a listing.
pub fn eval_tags(sessions_dir: &Path) -> std::collections::BTreeMap<String, String> {
    use serde_json::Value;
    let mut tags = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(evals_dir(sessions_dir)) else {
        return tags;
    };
    for entry in entries.flatten() {
        let Some(report) = std::fs::read_to_string(entry.path())
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            continue;
        };
        let Some(eval) = report.get("eval").and_then(Value::as_str) else {
            continue;
        };
        for run in report
            .get("runs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let samples = run.get("samples").and_then(Value::as_array);
            let ids = run
                .get("session")
                .into_iter()
                .chain(samples.into_iter().flatten());
            for id in ids.filter_map(Value::as_str) {
                tags.insert(id.to_string(), eval.to_string());
            }
        }
    }
    tags
}

/// Every session in a directory, newest first, and the files that could not be read.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub sessions: Vec<SessionSummary>,
    /// One message per journal that could not be read.
    pub problems: Vec<String>,
}

/// Summarize every journal in `dir` (a missing directory has no sessions).
pub fn list_sessions(dir: &Path) -> Result<Listing, JournalError> {
    let mut listing = Listing::default();
    for path in journal_files(dir)? {
        match read_journal(&path) {
            Ok(journal) => listing.sessions.push(summarize(&journal)),
            Err(e) => listing.problems.push(e.to_string()),
        }
    }
    listing
        .sessions
        .sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
    let tags = eval_tags(dir);
    for s in &mut listing.sessions {
        s.eval = tags.get(&s.id).cloned();
    }
    Ok(listing)
}

/// Fold a journal into its summary (the view's fold; prices from the journal).
pub fn summarize(journal: &Journal) -> SessionSummary {
    let h = &journal.header;
    let head = SummaryHead {
        id: h.session.clone(),
        path: journal.path.clone(),
        team: h.team.clone(),
        pattern: h.pattern,
        started: h.started,
        forked_from: h.forked_from.clone(),
        prices: h.prices.clone(),
        warnings: journal.warnings.clone(),
    };
    view::summarize(head, &journal.events, || {
        lock::running_pid(&journal.path).is_some()
    })
}

/// The journal that `query` names in `dir`: `last` (the newest session), a full id, or a prefix
/// matching exactly one id.
pub fn resolve_id(dir: &Path, query: &str) -> Result<PathBuf, JournalError> {
    if query == "last" {
        return newest(dir);
    }
    if !is_valid_id(query) {
        return Err(JournalError::InvalidId {
            id: query.to_string(),
        });
    }
    let exact = dir.join(format!("{query}.{JOURNAL_EXT}"));
    if exact.is_file() {
        return Ok(exact);
    }
    let mut matches: Vec<PathBuf> = journal_files(dir)?
        .into_iter()
        .filter(|p| stem(p).is_some_and(|s| s.starts_with(query)))
        .collect();
    match matches.len() {
        0 => Err(JournalError::NotFound {
            id: query.to_string(),
            dir: dir.to_path_buf(),
        }),
        1 => Ok(matches.remove(0)),
        _ => Err(JournalError::Ambiguous {
            id: query.to_string(),
            matches: matches
                .iter()
                .filter_map(|p| stem(p).map(String::from))
                .collect(),
        }),
    }
}

/// The journal of the most recently started session, judged by the header's start time (ties and
/// unreadable headers fall back to the file name, which starts with the start time).
fn newest(dir: &Path) -> Result<PathBuf, JournalError> {
    let no_sessions = || JournalError::NoSessions {
        dir: dir.to_path_buf(),
    };
    journal_files(dir)?
        .into_iter()
        .map(|p| (started_of(&p), p))
        .max_by(|(a, pa), (b, pb)| a.cmp(b).then_with(|| pa.cmp(pb)))
        .map(|(_, p)| p)
        .ok_or_else(no_sessions)
}

fn started_of(path: &Path) -> Option<DateTime<Utc>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    let value: serde_json::Value = serde_json::from_str(&first).ok()?;
    serde_json::from_value(value.get("started")?.clone()).ok()
}

/// The `*.jsonl` files of `dir`, sorted by name.
fn journal_files(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == JOURNAL_EXT) && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn stem(path: &Path) -> Option<&str> {
    path.file_stem().and_then(|s| s.to_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, id: &str, started: &str) {
        let header = format!(
            r#"{{"v":1,"kind":"conclave-journal","session":"{id}","team":"t","pattern":"single","config_fingerprint":"0","started":"{started}","forked_from":null,"prices":{{}}}}"#
        );
        std::fs::write(dir.join(format!("{id}.jsonl")), header + "\n").unwrap();
    }

    #[test]
    fn a_journal_prices_its_session_from_session_started_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20261121-120000-cost.jsonl");
        let lines = [
            r#"{"v":1,"kind":"conclave-journal","session":"20261121-120000-cost","team":"solo","pattern":"single","config_fingerprint":"0","started":"2026-11-21T12:00:00Z","forked_from":null,"prices":{}}"#,
            r#"{"v":1,"seq":0,"ts":"2026-11-21T12:00:00Z","session":"20261121-120000-cost","type":"session_started","team":"solo","pattern":"single","agents":[{"name":"a","backend":"b","model":"m","price":{"input":2.0,"output":10.0}}]}"#,
            r#"{"v":1,"seq":1,"ts":"2026-11-21T12:00:01Z","session":"20261121-120000-cost","type":"turn_started","agent":"a","turn":0,"round":null,"purpose":"speak"}"#,
            r#"{"v":1,"seq":2,"ts":"2026-11-21T12:00:02Z","session":"20261121-120000-cost","type":"message","agent":"a","turn":0,"text":"hi","usage":{"input":500000,"output":100000},"ttft_ms":null,"latency_ms":5,"finish":"stop","purpose":"speak"}"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let summary = summarize(&read_journal(&path).unwrap());
        assert_eq!(summary.cost, Some(2.0));
        assert_eq!((summary.messages, summary.tokens()), (1, 600_000));
        assert_eq!(summary.outcome, "interrupted");
    }

    #[test]
    fn resolves_exact_ids_unique_prefixes_and_last() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "20261121-100000-aaaa", "2026-11-21T10:00:00Z");
        touch(dir.path(), "20261121-110000-bbbb", "2026-11-21T11:00:00Z");
        touch(dir.path(), "20261121-110000-bbbc", "2026-11-21T09:00:00Z");
        let name = |p: PathBuf| p.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name(resolve_id(dir.path(), "20261121-10").unwrap()),
            "20261121-100000-aaaa"
        );
        assert_eq!(
            name(resolve_id(dir.path(), "last").unwrap()),
            "20261121-110000-bbbb"
        );
        let err = resolve_id(dir.path(), "20261121-110000-bbb").unwrap_err();
        assert!(matches!(err, JournalError::Ambiguous { ref matches, .. } if matches.len() == 2));
        assert!(matches!(
            resolve_id(dir.path(), "nope"),
            Err(JournalError::NotFound { .. })
        ));
        assert!(matches!(
            resolve_id(dir.path(), "../etc"),
            Err(JournalError::InvalidId { .. })
        ));
    }

    #[test]
    fn last_in_an_empty_or_missing_dir_says_there_are_no_sessions() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            resolve_id(dir.path(), "last"),
            Err(JournalError::NoSessions { .. })
        ));
        assert!(matches!(
            resolve_id(&dir.path().join("missing"), "last"),
            Err(JournalError::NoSessions { .. })
        ));
    }
}
