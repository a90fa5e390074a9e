//! Syntax errors, told the way a person thinks of them, and the damage they do contained.
//!
//! toml's recovering parser reports every syntax error and guesses at the rest. A duplicate
//! table is one mistake, not one per key it repeats, and it and a duplicate key are named. A
//! broken table header (`[teams.debate`) leaves the keys after it in the wrong table, so they
//! are dropped up to the next header; a broken line inside a table may have been any of its
//! keys, so that table's "missing key" and semantic findings are echoes, not new mistakes.

use std::ops::Range;

use toml::de::DeTable;

use super::diag::Severity;
use super::spans::{self, KeyPath, Part, Seg};
use super::structure::{Broken, MAX_PROBLEMS, note_broken, too_many};
use super::validate::Finding;

/// What the syntax errors came to.
pub(super) struct Syntax {
    pub(super) findings: Vec<(Finding, Option<Range<usize>>)>,
    /// The text of every table that holds a syntax error.
    pub(super) garbled: Vec<Range<usize>>,
    /// There were more than [`MAX_PROBLEMS`]: nothing of the file is worth reading further.
    pub(super) too_many: bool,
}

/// Report `errors` and prune from `work` what they make unreliable, noting it in `broken`.
pub(super) fn read_errors(
    text: &str,
    errors: &[toml::de::Error],
    doc: &DeTable<'_>,
    work: &mut DeTable<'_>,
    broken: &mut Broken,
) -> Syntax {
    if let (Some(first), Some(format)) = (errors.first(), other_format(text)) {
        // Every line would be an error of its own: say what the file is instead.
        let finding = Finding::error(
            KeyPath::root(),
            Part::Key,
            format!("this looks like {format}, but a conclave config is TOML"),
        )
        .hint("write `key = value` lines under [table] headers; `conclave init` writes an example");
        return Syntax {
            findings: vec![(finding, first.span())],
            garbled: Vec::new(),
            too_many: true,
        };
    }
    let mut duplicated: Option<Range<usize>> = None;
    let mut garbled: Vec<Range<usize>> = Vec::new();
    let mut findings = Vec::new();
    for e in errors {
        if findings.len() >= MAX_PROBLEMS {
            findings.push((too_many(), e.span()));
            return Syntax {
                findings,
                garbled,
                too_many: true,
            };
        }
        let span = e.span();
        let at = span.as_ref().map_or(0, |s| s.start);
        if duplicated.as_ref().is_some_and(|r| r.contains(&at)) {
            // A key of a table that is itself defined twice: that table's one mistake.
            continue;
        }
        let header = header_at(text, at);
        let (message, hint) = match &header {
            Some(h) if e.message() == "duplicate key" => {
                duplicated = Some(h.region.clone());
                duplicate_table(text, h)
            }
            _ if e.message() == "duplicate key" => duplicate_key(text, doc, at, span.as_ref()),
            Some(h) if e.message().starts_with("unclosed") => (
                e.message().to_string(),
                Some(format!("close the header on the same line: [{}]", h.name)),
            ),
            _ => (
                e.message().to_string(),
                Some("this is not valid TOML; see https://toml.io".to_string()),
            ),
        };
        let finding = Finding {
            severity: Severity::Error,
            path: KeyPath::root(),
            part: Part::Key,
            message,
            hint,
        };
        // A value the parser had to guess at would only produce follow-up errors: drop it.
        if let Some((path, _)) = span.as_ref().and_then(|s| spans::node_at(work, s))
            && !path.is_empty()
            && spans::remove(work, &path)
        {
            note_broken(broken, path);
        }
        // Inside a table, the broken line may have been any of its keys: a "missing key" there
        // is this mistake again, and so is anything the semantic pass finds in the table.
        if header.is_none()
            && let Some(h) = enclosing_header(text, at)
        {
            garbled.push(h.region.clone());
            if !h.path.is_empty() {
                note_broken(broken, h.path);
            }
        }
        // After a broken table header nothing up to the next header is where it was meant to
        // be: drop it, and treat the table it names as defined (it is, just unreadable).
        if let Some(h) = header.filter(|_| e.message() != "duplicate key") {
            for path in spans::keys_within(work, &h.region) {
                if spans::remove(work, &path) {
                    broken.removed.insert(path);
                }
            }
            if !h.path.is_empty() {
                note_broken(broken, h.path);
            }
        }
        findings.push((finding, span));
    }

    Syntax {
        findings,
        garbled,
        too_many: false,
    }
}

/// A table header (`[teams.t]`, `[[x]]`) on the line holding `offset`, and the stretch of text
/// it governs: from its line to the next header line.
struct Header {
    path: KeyPath,
    /// As written between the brackets: `teams.debate`, or `[x]` for an array table `[[x]]`.
    name: String,
    region: Range<usize>,
}

fn header_at(text: &str, offset: usize) -> Option<Header> {
    let offset = offset.min(text.len());
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim_start();
    if !line.starts_with('[') {
        return None;
    }
    let array = line.starts_with("[[");
    let inner = line.trim_start_matches('[');
    let inner = inner.split(['#', ']']).next().unwrap_or("").trim();
    let keys: Vec<String> = inner
        .split('.')
        .map(|k| k.trim().trim_matches(['"', '\'']).to_string())
        .collect();
    let path = if keys.iter().any(String::is_empty) {
        KeyPath::root()
    } else {
        KeyPath(keys.into_iter().map(Seg::Key).collect())
    };
    let mut next = line_end;
    while next < text.len() {
        let start = next + 1;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        if text[start..end].trim_start().starts_with('[') {
            break;
        }
        next = end;
    }
    Some(Header {
        path,
        name: if array {
            format!("[{inner}]")
        } else {
            inner.to_string()
        },
        region: line_start..(next + 1).min(text.len().max(line_start + 1)),
    })
}

/// JSON or YAML written where TOML belongs (only asked when the text is not valid TOML).
fn other_format(text: &str) -> Option<&'static str> {
    let code = || {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
    };
    if code().next().is_some_and(|l| l.starts_with('{')) {
        return Some("JSON");
    }
    let yaml_key = |l: &str| {
        l.split_once(':').is_some_and(|(key, rest)| {
            let key = key.trim_start_matches("- ");
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                && (rest.is_empty() || rest.starts_with(' '))
        })
    };
    let no_toml = code().all(|l| !l.contains('=') && !l.starts_with('['));
    (no_toml && code().any(yaml_key)).then_some("YAML")
}

/// The header of the table whose body holds `offset` (the root has an empty path), with the
/// region from that header to the next.
fn enclosing_header(text: &str, offset: usize) -> Option<Header> {
    let before = text.get(..offset.min(text.len()))?;
    let mut line_start = before.rfind('\n').map_or(0, |i| i + 1);
    loop {
        let line = text[line_start..].lines().next().unwrap_or("");
        if line.trim_start().starts_with('[') {
            return header_at(text, line_start);
        }
        if line_start == 0 {
            let first_header = text
                .match_indices('\n')
                .map(|(i, _)| i + 1)
                .find(|&i| text[i..].trim_start().starts_with('['))
                .unwrap_or(text.len());
            return Some(Header {
                path: KeyPath::root(),
                name: String::new(),
                region: 0..first_header,
            });
        }
        line_start = text[..line_start - 1].rfind('\n').map_or(0, |i| i + 1);
    }
}

fn duplicate_table(text: &str, h: &Header) -> (String, Option<String>) {
    let before = text.get(..h.region.start).unwrap_or("");
    let first = before.lines().position(|l| {
        l.trim_start().starts_with('[') && header_at(l, 0).is_some_and(|o| o.name == h.name)
    });
    let hint = match first {
        Some(i) => format!(
            "it is first defined on line {}; merge the two into one",
            i + 1
        ),
        None => "merge the two into one".to_string(),
    };
    (
        format!("the table [{}] is defined twice", h.name),
        Some(hint),
    )
}

fn duplicate_key(
    text: &str,
    doc: &DeTable<'_>,
    at: usize,
    span: Option<&Range<usize>>,
) -> (String, Option<String>) {
    let key = span
        .and_then(|s| text.get(s.clone()))
        .unwrap_or("")
        .trim()
        .trim_matches(['"', '\'']);
    let table = text
        .get(..at)
        .and_then(|before| {
            before
                .lines()
                .rev()
                .find(|l| l.trim_start().starts_with('['))
                .map(str::trim)
        })
        .filter(|_| !key.is_empty());
    let first = table
        .and_then(|t| header_at(t, 0))
        .map(|h| h.path.key(key))
        .or_else(|| (!key.is_empty()).then(|| KeyPath::of(&[key])))
        .and_then(|p| spans::exact_span(doc, &p, Part::Key));
    let message = match (key.is_empty(), table) {
        (true, _) => "a key is set twice".to_string(),
        (false, Some(t)) => format!("`{key}` is set twice in {t}"),
        (false, None) => format!("`{key}` is set twice"),
    };
    let hint = match first.map(|s| super::load::line_col(text, s.start).0) {
        Some(line) => format!("it is first set on line {line}; keep one"),
        None => "keep one of them".to_string(),
    };
    (message, Some(hint))
}
