//! The transcript: its cells in order. A cell is what the view says about one event
//! ([`Parts`]: who, verb, target, detail, tone, body) or a note from the console itself; the
//! console never words an event on its own. The transcript pane lays each cell out for a width
//! and keeps the rows.

use crate::view::Parts;

use super::super::sanitize::strip_controls;

/// One transcript cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// What an event says (never [`Shape::Hidden`]).
    Event(Parts),
    /// A note from the console itself (e.g. an unknown `@agent`).
    Notice(String),
}

impl Entry {
    /// The cell for `parts`, or nothing when the event has nothing to show. Model and person
    /// text in the body is stripped of terminal control sequences.
    pub fn of(mut parts: Parts) -> Option<Entry> {
        if parts.is_hidden() {
            return None;
        }
        parts.body = parts.body.map(|b| strip_controls(&b));
        Some(Entry::Event(parts))
    }

    /// The text the `copy` action takes from this cell: what was said, the partial text of a
    /// cancelled turn, or the final answer.
    pub fn copy_text(&self) -> Option<String> {
        match self {
            Entry::Event(p) => p.body.clone(),
            Entry::Notice(_) => None,
        }
    }

    /// The notice's text, if this is one.
    pub fn notice(&self) -> Option<&str> {
        match self {
            Entry::Notice(text) => Some(text),
            Entry::Event(_) => None,
        }
    }
}
