//! The transcript: typed cells in order — who spoke, handoffs, votes, verdicts, interjections,
//! errors. Each cell renders itself for a width (`panes::transcript`) and caches the result.

use chrono::{DateTime, Utc};

use crate::core::event::{Outcome, PatternKind, SelectedBy, VoteChoice};

use super::super::cache::LineCache;

/// One transcript cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub ts: DateTime<Utc>,
    pub kind: EntryKind,
    pub cache: LineCache,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EntryKind {
    SessionStarted {
        team: String,
        pattern: PatternKind,
        agents: Vec<String>,
    },
    User {
        text: String,
        to: Option<String>,
        interject: bool,
    },
    Message {
        agent: String,
        round: Option<u32>,
        text: String,
    },
    Cancelled {
        agent: String,
        partial: String,
    },
    Failed {
        agent: String,
        kind: String,
        message: String,
        will_retry: bool,
    },
    Speaker {
        agent: String,
        by: SelectedBy,
        reason: Option<String>,
    },
    HandoffRequested {
        from: String,
        to: String,
        reason: String,
        approval: Option<crate::core::event::Approval>,
    },
    HandoffAccepted {
        to: String,
        reason: String,
    },
    HandoffRejected {
        to: String,
        reason: String,
    },
    HandoffRedirected {
        from_target: String,
        to: String,
        by: String,
    },
    HandoffCancelled {
        to: String,
        by: String,
    },
    HandoffCompleted {
        from: String,
        to: String,
        summary: String,
    },
    HandoffFallback {
        failed: String,
        to: String,
    },
    Vote {
        round: u32,
        agent: String,
        choice: VoteChoice,
        reason: String,
    },
    Consensus {
        round: u32,
        reached: bool,
        agree: u32,
        disagree: u32,
        abstain: u32,
        threshold: f64,
    },
    Score {
        agent: String,
        score: f64,
        reason: String,
    },
    Paused {
        by: String,
    },
    Resumed {
        by: String,
    },
    Error {
        message: String,
    },
    Finished {
        outcome: Outcome,
        final_text: Option<String>,
    },
    /// A note from the console itself (e.g. an unknown `@agent`).
    Notice {
        text: String,
    },
}

impl Entry {
    pub fn new(ts: DateTime<Utc>, kind: EntryKind) -> Entry {
        Entry {
            ts,
            kind,
            cache: LineCache::default(),
        }
    }

    /// The text the `copy` action takes from this cell.
    pub fn copy_text(&self) -> Option<String> {
        match &self.kind {
            EntryKind::Message { text, .. } | EntryKind::User { text, .. } => Some(text.clone()),
            EntryKind::Finished { final_text, .. } => final_text.clone(),
            EntryKind::Cancelled { partial, .. } => Some(partial.clone()),
            _ => None,
        }
    }
}
