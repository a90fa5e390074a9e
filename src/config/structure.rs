//! The structural pass: TOML syntax, unknown keys, wrong types and missing keys, all at once.
//!
//! Serde stops at the first problem, so we let it: deserialize the spanned document into
//! [`Config`]; when that fails, the error's span names the offending node, which we record and
//! prune from the document, then try again until the rest deserializes. Key names, types and enum
//! variants therefore come from the schema itself (serde's `expected one of …` lists feed the
//! "did you mean" hints); nothing here keeps a second copy of the schema.
//!
//! What was pruned is remembered in [`Broken`] so the semantic pass does not pile a second error
//! ("no agent named x") onto the first ("agents.x: missing field model"). Syntax errors come
//! first (`syntax`); serde's wording is turned into a person's ("a whole number from 1 to
//! 10000", not `u32`). Every pass costs a walk of the document, so the passes stop after
//! [`MAX_PROBLEMS`]: a file with 20,000 mistakes is checked in linear time.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::diag::Severity;
use super::ranges;
use super::schema::Config;
use super::spans::{self, KeyPath, Part, Seg};
use super::syntax;
use super::validate::{Finding, suggest};

/// Names that exist in the file but could not be read, so references to them are not "undefined".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Broken {
    /// `(section, name)`: `("agents", "critic")`.
    pub entries: BTreeSet<(String, String)>,
    /// Whole sections that could not be read (`agents = 5`).
    pub sections: BTreeSet<String>,
    /// Every node pruned from the document.
    pub removed: BTreeSet<KeyPath>,
    /// The text is not valid TOML: anything may be missing, so absence proves nothing.
    pub unreadable: bool,
}

impl Broken {
    /// Whether `name` in `section` (`backends`, `agents`, `teams`) may exist despite not parsing.
    pub fn covers(&self, section: &str, name: &str) -> bool {
        self.sections.contains(section)
            || self
                .entries
                .contains(&(section.to_string(), name.to_string()))
    }

    /// Whether a finding at `path` may only be an echo of a pruned node: one about the node
    /// itself or something inside it ("teams.t.members: no members" after `members` had the
    /// wrong type).
    pub fn echoes(&self, path: &KeyPath) -> bool {
        (1..=path.0.len()).any(|n| self.removed.contains(&KeyPath(path.0[..n].to_vec())))
    }
}

/// The result of the structural pass.
pub struct Structure<'i> {
    /// The spanned document as written (for locating findings later).
    pub doc: DeTable<'i>,
    /// What could be read, with every broken node pruned.
    pub config: Config,
    pub broken: Broken,
    /// Findings located by byte span (syntax errors carry no key path).
    pub findings: Vec<(Finding, Option<Range<usize>>)>,
    /// How many times the document was deserialized: the work done, bounded by twice
    /// [`MAX_PROBLEMS`] whatever the file holds.
    pub passes: usize,
}

/// The most problems one check reports. Each structural problem costs one more pass over the
/// document, so the bound keeps `check` linear in the size of the file however many mistakes it
/// holds (20,000 unknown keys are 20,000 passes otherwise); past it, fixing the first ones is the
/// useful next step anyway.
pub const MAX_PROBLEMS: usize = 100;

/// Parse `text` and read as much of it as possible into a [`Config`].
pub fn read(text: &str) -> Structure<'_> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    let doc = doc.into_inner();
    let mut work = doc.clone();
    let mut findings = Vec::new();
    let mut broken = Broken {
        unreadable: !syntax_errors.is_empty(),
        ..Broken::default()
    };
    // `table.key` for each unknown key that looks like a typo of `key`: its "missing field" is
    // the same mistake.
    let mut typo_of: Vec<KeyPath> = Vec::new();

    let syntax = syntax::read_errors(text, &syntax_errors, &doc, &mut work, &mut broken);
    findings.extend(syntax.findings);
    if syntax.too_many {
        return unreadable(doc, broken, findings, 0);
    }
    let garbled = syntax.garbled;
    // The text of every node already reported.
    let mut reported: Vec<Range<usize>> = Vec::new();

    let mut passes = 0;
    loop {
        // Every pass reports a problem or drops an echo of one already reported.
        if findings.len() >= MAX_PROBLEMS || passes >= 2 * MAX_PROBLEMS {
            findings.push((too_many(), None));
            return unreadable(doc, broken, findings, passes);
        }
        passes += 1;
        let attempt = Config::deserialize(toml::de::Deserializer::from(Spanned::new(
            0..text.len(),
            work.clone(),
        )));
        let error = match attempt {
            Ok(config) => {
                return Structure {
                    doc,
                    config,
                    broken,
                    findings,
                    passes,
                };
            }
            Err(e) => e,
        };
        let located = error
            .span()
            .and_then(|s| spans::node_at(&work, &s).map(|(p, part)| (p, part, s)));
        let Some((path, part, span)) = located.filter(|(p, _, _)| !p.is_empty()) else {
            findings.push((
                Finding::error(KeyPath::root(), Part::Key, error.message()),
                error.span(),
            ));
            break;
        };
        let message = error.message().to_string();
        let missing = missing_field(&message);
        let cascade = missing.as_deref().is_some_and(|field| {
            let key = path.key(field);
            broken.removed.contains(&key)
                || typo_of.contains(&key)
                || garbled.iter().any(|r| r.contains(&span.start))
        }) || reported.contains(&span);
        if !cascade {
            let (mut hint, typo) = hint_for(&message);
            if message.starts_with("invalid type: sequence, expected a map") {
                hint =
                    Some("a list cannot go here (nor [[…]]): write a table, [section.NAME]".into());
            }
            if let (Some(target), Some(table)) = (typo, path.parent()) {
                // What the typo meant to define exists, just misspelt: `[backend.x]` defines
                // backends, so "no backend named x" would be the same mistake again.
                let meant = table.key(&target);
                if meant.0.len() <= 2 {
                    note_broken(&mut broken, meant.clone());
                }
                typo_of.push(meant);
            }
            let finding = Finding {
                severity: Severity::Error,
                path: match &missing {
                    Some(field) => path.key(field),
                    None => path.clone(),
                },
                part,
                message: redact(&path, plain_message(&path, &message, missing.as_deref())),
                hint,
            };
            findings.push((finding, Some(span.clone())));
            // `[[agents]]` fails as an element and then, emptied, as the array: one mistake.
            reported.push(span);
        }
        if !spans::remove(&mut work, &path) {
            break;
        }
        note_broken(&mut broken, path);
    }
    // Nothing could be read: that must never pass for a valid (empty) configuration.
    if !findings.iter().any(|(f, _)| f.severity == Severity::Error) {
        findings.push((
            Finding::error(
                KeyPath::root(),
                Part::Key,
                "the configuration could not be read",
            ),
            None,
        ));
    }
    unreadable(doc, broken, findings, passes)
}

/// The result when the file could not be read into a [`Config`]: nothing of it is used, and
/// every section counts as broken so the semantic pass adds nothing.
fn unreadable<'i>(
    doc: DeTable<'i>,
    broken: Broken,
    findings: Vec<(Finding, Option<Range<usize>>)>,
    passes: usize,
) -> Structure<'i> {
    Structure {
        doc,
        config: Config::default(),
        broken: Broken {
            sections: ["backends", "agents", "teams"]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            unreadable: true,
            ..broken
        },
        findings,
        passes,
    }
}

pub(super) fn too_many() -> Finding {
    Finding::error(
        KeyPath::root(),
        Part::Key,
        format!("too many problems: stopped after the first {MAX_PROBLEMS}"),
    )
    .hint("fix these and run `conclave check` again")
}

/// Under `[backends]` a misplaced string may be an API key: never echo it.
fn redact(path: &KeyPath, message: String) -> String {
    let in_backends = matches!(path.0.first(), Some(Seg::Key(k)) if k == "backends");
    let Some(start) = message.find("string \"").filter(|_| in_backends) else {
        return message;
    };
    let tail = message
        .find(", expected")
        .filter(|t| *t > start)
        .unwrap_or(message.len());
    format!("{}a string{}", &message[..start], &message[tail..])
}

pub(super) fn note_broken(broken: &mut Broken, path: KeyPath) {
    match path.0.as_slice() {
        [Seg::Key(section)] => {
            broken.sections.insert(section.clone());
        }
        [Seg::Key(section), Seg::Key(name)] => {
            broken.entries.insert((section.clone(), name.clone()));
        }
        _ => {}
    }
    broken.removed.insert(path);
}

/// `missing field `model`` → `model`.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field ")?;
    Some(backticked(rest).first()?.to_string())
}

fn plain_message(path: &KeyPath, message: &str, missing: Option<&str>) -> String {
    if let Some(field) = missing {
        return format!("missing required key `{field}`");
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(name) = backticked(rest).first()
    {
        return format!("unknown key `{name}`");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some(name) = backticked(rest).first()
    {
        return format!("unknown value `{name}`");
    }
    if let Some((label, range)) = ranges::for_path(path) {
        // An integer serde could not store (negative, or past the type's limit) is out of the
        // key's range, whatever the Rust type.
        if let Some(n) = message
            .split_once("integer `")
            .and_then(|(_, rest)| rest.split('`').next())
        {
            return ranges::message(&label, &range, n);
        }
        if let Some((found, _)) = message.split_once(", expected ") {
            let found = found
                .strip_prefix("invalid type: ")
                .unwrap_or(found)
                .trim_end_matches(" as i128");
            return format!("wrong type: {found}, expected {}", range.describe());
        }
    }
    if message == "wanted string or table" {
        return "wrong type: expected a name in quotes (a string)".to_string();
    }
    let mut message = message
        .replace("invalid type:", "wrong type:")
        .replace(" as i128", "")
        .replace("wrong type: sequence,", "wrong type: a list,")
        .replace("wrong type: map,", "wrong type: a table,")
        .replace("expected a sequence", "expected a list [ … ]")
        .replace("expected a map", "expected a table");
    for (rust, plain) in [
        (
            "struct Price",
            "a table such as { input = 0.15, output = 0.6 }",
        ),
        (
            "struct Budget",
            "a table such as { tokens = 50000, cost = 0.5 }",
        ),
        ("struct Consensus", "a table such as { threshold = 0.67 }"),
        ("struct Step", "a table such as { agent = \"pm\" }"),
        (
            "struct BackendConfig",
            "a table [backends.NAME] with a `kind`",
        ),
        (
            "struct AgentConfig",
            "a table [agents.NAME] with a `backend` and a `model`",
        ),
        ("struct TeamConfig", "a table [teams.NAME] with a `pattern`"),
        ("struct UiConfig", "the table [ui]"),
    ] {
        message = message.replace(rust, plain);
    }
    for (rust, plain) in [
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
    ] {
        if message.ends_with(rust) {
            message = format!("{}{plain}", &message[..message.len() - rust.len()]);
        }
    }
    message
}

/// "did you mean" for unknown keys and values, from serde's `expected one of …` list, or the list
/// of what is allowed when nothing is close; and the likely intended key.
fn hint_for(message: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = message
        .strip_prefix("unknown field ")
        .or_else(|| message.strip_prefix("unknown variant "))
    else {
        return (None, None);
    };
    let names = backticked(rest);
    let Some((bad, expected)) = names.split_first() else {
        return (None, None);
    };
    if expected.is_empty() {
        return (Some("nothing is allowed here".to_string()), None);
    }
    let best = suggest(bad, expected.iter().copied());
    let hint = match best {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!(
            "expected one of {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let typo = message
        .starts_with("unknown field ")
        .then(|| best.map(str::to_string))
        .flatten();
    (Some(hint), typo)
}

/// The `backticked` words of a serde message, in order.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}
