//! Reading a journal back: the header, the events, and what had to be ignored.
//!
//! A crash can only damage the end of a journal (it is append-only and every line is written
//! whole), so the last line is treated leniently and every other line strictly:
//! - a last line without its newline is kept if it parses as a complete event (a JSON object can
//!   never be a proper prefix of another one, so it was written whole) and ignored otherwise; either
//!   way a warning says so;
//! - a last line that does not parse is ignored with a warning ("torn last line ignored");
//! - a line in the middle that does not parse is skipped with a warning naming its line, and the
//!   rest is kept (one bad line never makes a session unreadable);
//! - an event whose seq does not come after the one before it (duplicated or reordered) is
//!   skipped with a warning, so no event is ever shown twice;
//! - a header or event with `v` above [`SCHEMA_VERSION`] is refused: a newer conclave wrote it.
//!
//! A journal file may come from anywhere, so every string of the header and of every event is
//! sanitized here ([`crate::text::sanitize_json`]): this is the one pass text read back from a
//! file gets before export, `sessions show`, resume and fork use it.
//!
//! Every warning starts with `line N:`; `sessions show` and `export` print them on stderr, resume
//! shows them (the console as notices).
//!
//! Seq numbers in a journal are increasing but not necessarily gap-free: the writer coalesces runs
//! of `token` events into one that carries the seq of the last token it contains. Readers must
//! not require gaps to be absent.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::JournalError;
use super::header::{JOURNAL_KIND, JournalHeader};
use crate::core::event::{Event, SCHEMA_VERSION};

/// A journal as read from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Journal {
    pub path: PathBuf,
    pub header: JournalHeader,
    pub events: Vec<Event>,
    /// What was ignored on the way, e.g. "torn last line ignored (37 bytes at line 120)".
    pub warnings: Vec<String>,
    /// Length in bytes of the intact part of the file (everything but an ignored torn line);
    /// truncate to this before appending to the file.
    pub valid_len: u64,
}

impl Journal {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.header.session
    }

    /// The seq the next event appended to this journal should carry.
    pub fn next_seq(&self) -> u64 {
        self.last_seq().map_or(0, |s| s + 1)
    }

    /// The seq of the last event, if any.
    pub fn last_seq(&self) -> Option<u64> {
        self.events.last().map(|e| e.seq)
    }
}

/// Read the journal at `path`, its header checked against the file name (see
/// [`super::header::check_against_file`]).
pub fn read_journal(path: &Path) -> Result<Journal, JournalError> {
    let bytes = std::fs::read(path).map_err(|e| JournalError::io(path, e))?;
    let mut journal = parse_journal(path, &bytes)?;
    let warnings = &mut journal.warnings;
    super::header::check_against_file(&mut journal.header, path, warnings);
    Ok(journal)
}

/// Parse journal bytes; `path` is only used in messages.
pub fn parse_journal(path: &Path, bytes: &[u8]) -> Result<Journal, JournalError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(JournalError::Empty {
            path: path.to_path_buf(),
        });
    }
    let lines = split_lines(bytes);
    let mut warnings = Vec::new();
    let Some(header_line) = lines.first() else {
        return Err(JournalError::Empty {
            path: path.to_path_buf(),
        });
    };
    let header = parse_header(path, header_line.text, header_line.terminated)?;
    let mut valid_len = header_line.end;
    let mut events = Vec::new();
    let last_index = lines.len() - 1;
    for (i, line) in lines.iter().enumerate().skip(1) {
        let number = i + 1;
        let is_last = i == last_index;
        if line.text.iter().all(u8::is_ascii_whitespace) {
            if line.terminated {
                valid_len = line.end;
            }
            continue;
        }
        match parse_event(path, number, line.text) {
            Ok(event) => {
                if let Some(last) = events.last().map(|e: &Event| e.seq)
                    && event.seq <= last
                {
                    let what = if event.seq == last {
                        "repeats"
                    } else {
                        "goes back before"
                    };
                    warnings.push(format!(
                        "line {number}: seq {} {what} seq {last}; skipped",
                        event.seq
                    ));
                    valid_len = line.end;
                    continue;
                }
                if !line.terminated {
                    warnings.push(format!(
                        "line {number}: the last line had no newline; kept because it is a complete event"
                    ));
                }
                events.push(event);
                valid_len = line.end;
            }
            Err(e @ JournalError::NewerVersion { .. }) => return Err(e),
            Err(JournalError::Corrupt { detail, .. }) if !is_last => {
                warnings.push(format!("line {number} is damaged ({detail}); skipped"));
                valid_len = line.end;
            }
            Err(e) if !is_last => return Err(e),
            Err(_) => warnings.push(format!(
                "torn last line ignored ({} bytes at line {number})",
                line.text.len()
            )),
        }
    }
    Ok(Journal {
        path: path.to_path_buf(),
        header,
        events,
        warnings,
        valid_len: valid_len as u64,
    })
}

struct Line<'a> {
    text: &'a [u8],
    terminated: bool,
    /// Byte offset just past this line (and its newline).
    end: usize,
}

/// Lines of `bytes`; never empty for non-empty input. A final newline does not start a new line.
fn split_lines(bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        match bytes[start..].iter().position(|b| *b == b'\n') {
            Some(n) => {
                let end = start + n + 1;
                lines.push(Line {
                    text: strip_cr(&bytes[start..start + n]),
                    terminated: true,
                    end,
                });
                start = end;
            }
            None => {
                lines.push(Line {
                    text: &bytes[start..],
                    terminated: false,
                    end: bytes.len(),
                });
                start = bytes.len();
            }
        }
    }
    lines
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_header(path: &Path, line: &[u8], terminated: bool) -> Result<JournalHeader, JournalError> {
    let not_a_journal = |detail: String| JournalError::NotAJournal {
        path: path.to_path_buf(),
        detail,
    };
    let mut value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(_) if !terminated && line.starts_with(b"{\"v\":") => {
            return Err(not_a_journal(
                "its header line was cut short; the session crashed as it started".into(),
            ));
        }
        Err(_) => {
            return Err(not_a_journal(
                "its first line is not a JSON journal header".into(),
            ));
        }
    };
    if value.get("type").is_some() && value.get("seq").is_some() {
        return Err(not_a_journal(
            "it is a bare event stream, like `conclave run --events jsonl` prints, with no journal header"
                .into(),
        ));
    }
    if value.get("kind").and_then(Value::as_str) != Some(JOURNAL_KIND) {
        return Err(not_a_journal(format!(
            "its first line has no \"kind\":\"{JOURNAL_KIND}\""
        )));
    }
    check_version(path, &value)?;
    crate::text::sanitize_json(&mut value);
    serde_json::from_value(value).map_err(|e| JournalError::Corrupt {
        path: path.to_path_buf(),
        line: 1,
        detail: format!("bad header: {e}"),
    })
}

fn parse_event(path: &Path, number: usize, line: &[u8]) -> Result<Event, JournalError> {
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line: number,
        detail,
    };
    let mut value: Value = serde_json::from_slice(line).map_err(|e| corrupt(format!("{e}")))?;
    check_version(path, &value)?;
    crate::text::sanitize_json(&mut value);
    serde_json::from_value(value).map_err(|e| corrupt(format!("not an event: {e}")))
}

fn check_version(path: &Path, value: &Value) -> Result<(), JournalError> {
    match value.get("v").and_then(Value::as_u64) {
        Some(v) if v > u64::from(SCHEMA_VERSION) => Err(JournalError::NewerVersion {
            path: path.to_path_buf(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"v":1,"kind":"conclave-journal","session":"s","team":"t","pattern":"single","config_fingerprint":"0","started":"2026-11-21T13:00:00Z","forked_from":null,"prices":{}}"#;
    const EVENT: &str = r#"{"v":1,"seq":0,"ts":"2026-11-21T13:00:00Z","session":"s","type":"user_message","text":"hi","to":null}"#;

    fn parse(text: &str) -> Result<Journal, JournalError> {
        parse_journal(Path::new("j.jsonl"), text.as_bytes())
    }

    #[test]
    fn reads_header_and_events() {
        let j = parse(&format!("{HEADER}\n{EVENT}\n")).unwrap();
        assert_eq!(j.header.session, "s");
        assert_eq!(j.events.len(), 1);
        assert!(j.warnings.is_empty());
        assert_eq!(j.valid_len as usize, HEADER.len() + EVENT.len() + 2);
    }

    #[test]
    fn every_string_read_back_is_sanitized() {
        let header = HEADER.replace(r#""team":"t""#, r#""team":"t\u001b[2J""#);
        let event = EVENT.replace(r#""text":"hi""#, r#""text":"h\u001b]0;pwned\u0007i\r\n""#);
        let j = parse(&format!("{header}\n{event}\n")).unwrap();
        assert_eq!(j.header.team, "t");
        assert!(
            matches!(&j.events[0].kind, crate::core::event::EventKind::UserMessage { text, .. } if text == "hi\n"),
            "{:?}",
            j.events[0]
        );
    }

    #[test]
    fn header_only_is_a_journal_without_events() {
        let j = parse(&format!("{HEADER}\n")).unwrap();
        assert!(j.events.is_empty());
    }

    #[test]
    fn a_damaged_middle_line_is_skipped_and_reported_and_the_rest_kept() {
        let second = EVENT.replace("\"seq\":0", "\"seq\":1");
        let text = format!("{HEADER}\n{EVENT}\n{{oops\n\u{1}\u{ff}garbage\n{second}\n");
        let j = parse(&text).unwrap();
        assert_eq!(j.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(j.warnings.len(), 2, "{:?}", j.warnings);
        assert!(
            j.warnings[0].starts_with("line 3 is damaged"),
            "{:?}",
            j.warnings
        );
        assert!(
            j.warnings[1].starts_with("line 4 is damaged"),
            "{:?}",
            j.warnings
        );
        assert_eq!(
            j.valid_len as usize,
            text.len(),
            "appending keeps every line"
        );
    }

    #[test]
    fn duplicated_and_reversed_seqs_are_reported_not_shown_twice() {
        let at = |seq: u64| EVENT.replace("\"seq\":0", &format!("\"seq\":{seq}"));
        let j = parse(&format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n{}\n",
            at(0),
            at(2),
            at(2),
            at(1),
            at(5)
        ))
        .unwrap();
        assert_eq!(
            j.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [0, 2, 5]
        );
        assert_eq!(
            j.warnings,
            [
                "line 4: seq 2 repeats seq 2; skipped",
                "line 5: seq 1 goes back before seq 2; skipped"
            ]
        );
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept_with_a_warning() {
        let j = parse(&format!("{HEADER}\n{EVENT}")).unwrap();
        assert_eq!(j.events.len(), 1);
        assert_eq!(j.warnings.len(), 1);
    }

    #[test]
    fn an_event_of_a_newer_schema_is_refused() {
        let newer = EVENT.replace("\"v\":1", "\"v\":2");
        let err = parse(&format!("{HEADER}\n{newer}\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "journal j.jsonl was written by a newer conclave (schema v2; this build reads v1): upgrade conclave"
        );
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let j = parse(&format!("{HEADER}\r\n{EVENT}\r\n")).unwrap();
        assert_eq!(j.events.len(), 1);
        assert!(j.warnings.is_empty());
    }
}
