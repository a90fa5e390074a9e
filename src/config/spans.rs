//! Key paths and where they sit in the text.
//!
//! The config text is parsed once into toml's spanned document (`DeTable`): every key and every
//! value keeps its byte range. A [`KeyPath`] (`teams.debate.members[2]`) names one node; from it we
//! find the span to report ([`span_of`]), and from an error's span we find the node it belongs to
//! ([`node_at`]) so that node can be pruned and the rest of the file checked.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root to one key or array element.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<Seg>);

/// Which part of a `key = value` pair a finding points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// `KeyPath::of(&["teams", "debate", "members"])`.
    pub fn of(keys: &[&str]) -> Self {
        KeyPath(keys.iter().map(|k| Seg::Key((*k).to_string())).collect())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parent(&self) -> Option<KeyPath> {
        let mut p = self.clone();
        p.0.pop().map(|_| p)
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The span of the node at `path`: its key or its value. When the node is missing, the span of
/// the nearest ancestor that exists (the key of that ancestor). `None` for an empty document.
pub fn span_of(doc: &DeTable<'_>, path: &KeyPath, part: Part) -> Option<Range<usize>> {
    let mut best: Option<Range<usize>> = None;
    let mut table = Some(doc);
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    let last = path.0.len().saturating_sub(1);
    for (i, seg) in path.0.iter().enumerate() {
        let want_value = i < last || part == Part::Value;
        let (key_span, value) = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => match t.get_key_value(k.as_str()) {
                Some((key, value)) => (Some(key.span()), value),
                None => return best,
            },
            (Seg::Index(n), _, Some(items)) => match items.get(*n) {
                Some(value) => (None, value),
                None => return best,
            },
            _ => return best,
        };
        best = match (want_value, key_span) {
            (false, Some(k)) => Some(k),
            (true, k) | (false, k @ None) => Some(usable(value.span(), k)),
        };
        table = value.get_ref().as_table();
        array = value.get_ref().as_array().map(|a| &a[..]);
    }
    best
}

/// The span of the node at `path` only when every step of it exists (never an ancestor's).
pub fn exact_span(doc: &DeTable<'_>, path: &KeyPath, part: Part) -> Option<Range<usize>> {
    let mut table = Some(doc);
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    let mut found = None;
    for seg in &path.0 {
        let (key_span, value) = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => {
                let (key, value) = t.get_key_value(k.as_str())?;
                (Some(key.span()), value)
            }
            (Seg::Index(n), _, Some(items)) => (None, items.get(*n)?),
            _ => return None,
        };
        found = Some(match (part, key_span) {
            (Part::Key, Some(k)) => k,
            (_, k) => usable(value.span(), k),
        });
        table = value.get_ref().as_table();
        array = value.get_ref().as_array().map(|a| &a[..]);
    }
    found
}

/// The outermost keys whose key starts inside `region`: what an unreadable stretch of text
/// (after a broken table header) may have put in the wrong place.
pub fn keys_within(doc: &DeTable<'_>, region: &Range<usize>) -> Vec<KeyPath> {
    let mut found = Vec::new();
    collect_within(doc, &KeyPath::root(), region, &mut found);
    found
}

fn collect_within(
    table: &DeTable<'_>,
    at: &KeyPath,
    region: &Range<usize>,
    out: &mut Vec<KeyPath>,
) {
    for (key, value) in table.iter() {
        let path = at.key(key.get_ref());
        if region.contains(&key.span().start) {
            out.push(path);
        } else if let Some(t) = value.get_ref().as_table() {
            collect_within(t, &path, region, out);
        }
    }
}

/// The node an error at `span` belongs to: the deepest key or value whose span is exactly
/// `span`, else the deepest one containing its start; and which part matched.
pub fn node_at(doc: &DeTable<'_>, span: &Range<usize>) -> Option<(KeyPath, Part)> {
    let mut exact = None;
    let mut containing = None;
    // One path, grown and shrunk along the walk: a path is only copied when it matches.
    let mut at = KeyPath::root();
    search_table(doc, &mut at, span, &mut exact, &mut containing);
    exact.or(containing).map(|(path, part, _)| (path, part))
}

/// Remove the node at `path`; returns whether something was removed.
pub fn remove(doc: &mut DeTable<'_>, path: &KeyPath) -> bool {
    let Some((last, parents)) = path.0.split_last() else {
        return false;
    };
    let mut table: Option<&mut DeTable<'_>> = Some(doc);
    let mut array: Option<&mut DeArray<'_>> = None;
    for seg in parents {
        let value = match (seg, table, array) {
            (Seg::Key(k), Some(t), _) => t.get_mut(k.as_str()),
            (Seg::Index(n), _, Some(items)) => items.get_mut(*n),
            _ => None,
        };
        let Some(value) = value else {
            return false;
        };
        match value.get_mut() {
            DeValue::Table(t) => {
                table = Some(t);
                array = None;
            }
            DeValue::Array(a) => {
                table = None;
                array = Some(a);
            }
            _ => return false,
        }
    }
    match (last, table, array) {
        (Seg::Key(k), Some(t), _) => t.remove(k.as_str()).is_some(),
        (Seg::Index(n), _, Some(items)) if *n < items.len() => {
            let kept = std::mem::replace(items, DeArray::new())
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i != n)
                .map(|(_, v)| v);
            *items = kept.collect();
            true
        }
        _ => false,
    }
}

type Found = Option<(KeyPath, Part, usize)>;

fn search_table(
    table: &DeTable<'_>,
    at: &mut KeyPath,
    span: &Range<usize>,
    exact: &mut Found,
    containing: &mut Found,
) {
    for (key, value) in table.iter() {
        at.0.push(Seg::Key(key.get_ref().to_string()));
        match_node(&key.span(), span, at, Part::Key, exact, containing);
        search_value(value, at, span, exact, containing);
        at.0.pop();
    }
}

fn search_value(
    value: &Spanned<DeValue<'_>>,
    at: &mut KeyPath,
    span: &Range<usize>,
    exact: &mut Found,
    containing: &mut Found,
) {
    match_node(&value.span(), span, at, Part::Value, exact, containing);
    match value.get_ref() {
        DeValue::Table(t) => search_table(t, at, span, exact, containing),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.0.push(Seg::Index(i));
                search_value(item, at, span, exact, containing);
                at.0.pop();
            }
        }
        _ => {}
    }
}

fn match_node(
    node: &Range<usize>,
    span: &Range<usize>,
    path: &KeyPath,
    part: Part,
    exact: &mut Found,
    containing: &mut Found,
) {
    if node == span {
        consider(exact, path, part);
    } else if contains(node, span.start) {
        consider(containing, path, part);
    }
}

fn consider(found: &mut Found, path: &KeyPath, part: Part) {
    let depth = path.0.len();
    let deeper = match found {
        Some((_, _, d)) => depth >= *d,
        None => true,
    };
    if deeper {
        *found = Some((path.clone(), part, depth));
    }
}

fn contains(span: &Range<usize>, pos: usize) -> bool {
    span.contains(&pos) || (span.is_empty() && span.start == pos)
}

/// Implicit tables (`[agents.x]` creates `agents`) carry spans that do not cover a value; prefer
/// the key then.
fn usable(value: Range<usize>, key: Option<Range<usize>>) -> Range<usize> {
    match key {
        Some(k) if value == k || value.end <= value.start => k,
        _ => value,
    }
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
