//! The structural pass: TOML syntax, unknown keys, wrong types and missing keys, all at once.
//!
//! Serde stops at the first problem, so we let it: deserialize the spanned document into
//! [`Config`]; when that fails, the error's span names the offending node, which we record and
//! prune from the document, then try again until the rest deserializes. Key names, types and enum
//! variants therefore come from the schema itself (serde's `expected one of …` lists feed the
//! "did you mean" hints); nothing here keeps a second copy of the schema.
//!
//! What was pruned is remembered in [`Broken`] so the semantic pass does not pile a second error
//! ("no agent named x") onto the first ("agents.x: missing field model").

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::diag::Severity;
use super::schema::Config;
use super::spans::{self, KeyPath, Part, Seg};
use super::validate::{Finding, suggest};

/// Names that exist in the file but could not be read, so references to them are not "undefined".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Broken {
    /// `(section, name)`: `("agents", "critic")`.
    pub entries: BTreeSet<(String, String)>,
    /// Whole sections that could not be read (`agents = 5`).
    pub sections: BTreeSet<String>,
    /// Every node pruned from the document.
    pub removed: Vec<KeyPath>,
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
        self.removed.iter().any(|r| path.starts_with(r))
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
}

/// Parse `text` and read as much of it as possible into a [`Config`].
pub fn read(text: &str) -> Structure<'_> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    let doc = doc.into_inner();
    let mut work = doc.clone();
    let mut findings = Vec::new();
    let mut broken = Broken::default();
    // `table.key` for each unknown key that looks like a typo of `key`: its "missing field" is
    // the same mistake.
    let mut typo_of: Vec<KeyPath> = Vec::new();

    for e in &syntax_errors {
        let span = e.span();
        let finding = Finding {
            severity: Severity::Error,
            path: KeyPath::root(),
            part: Part::Key,
            message: e.message().to_string(),
            hint: Some("this is not valid TOML; see https://toml.io".to_string()),
        };
        // A value the parser had to guess at would only produce follow-up errors: drop it.
        if let Some((path, _)) = span.as_ref().and_then(|s| spans::node_at(&work, s))
            && !path.is_empty()
            && spans::remove(&mut work, &path)
        {
            note_broken(&mut broken, path);
        }
        findings.push((finding, span));
    }

    // Each round prunes one node, so this ends; the bound guards against a span that points
    // nowhere useful.
    let budget = text.len() + 16;
    for _ in 0..budget {
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
            broken.removed.contains(&key) || typo_of.contains(&key)
        });
        if !cascade {
            let (hint, typo) = hint_for(&message);
            if let (Some(target), Some(table)) = (typo, path.parent()) {
                typo_of.push(table.key(&target));
            }
            let finding = Finding {
                severity: Severity::Error,
                path: match &missing {
                    Some(field) => path.key(field),
                    None => path.clone(),
                },
                part,
                message: redact(&path, plain_message(&message, missing.as_deref())),
                hint,
            };
            findings.push((finding, Some(span)));
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
    Structure {
        doc,
        config: Config::default(),
        broken: Broken {
            sections: ["backends", "agents", "teams"]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            ..broken
        },
        findings,
    }
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

fn note_broken(broken: &mut Broken, path: KeyPath) {
    match path.0.as_slice() {
        [Seg::Key(section)] => {
            broken.sections.insert(section.clone());
        }
        [Seg::Key(section), Seg::Key(name)] => {
            broken.entries.insert((section.clone(), name.clone()));
        }
        _ => {}
    }
    broken.removed.push(path);
}

/// `missing field `model`` → `model`.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field ")?;
    Some(backticked(rest).first()?.to_string())
}

fn plain_message(message: &str, missing: Option<&str>) -> String {
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
    let mut message = message.replace("invalid type:", "wrong type:");
    for (rust, plain) in [
        ("expected u32", "expected a whole number of 0 or more"),
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
