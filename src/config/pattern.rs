//! The shared vocabulary of patterns: which orchestration a team runs (DESIGN section 2).
//!
//! It lives here, at the lowest layer that needs it: the config names a team's pattern, and the
//! events, the journal header and every front end name it the same way (core re-exports it from
//! `core::event`, so its paths and its JSON are unchanged).

use serde::{Deserialize, Serialize};

/// Which pattern a team runs (DESIGN section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    Single,
    Sequential,
    Concurrent,
    Handoff,
    GroupChat,
    BestOf,
    // Plans (issue 11).
    Plan,
}

impl PatternKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::Single => "single",
            PatternKind::Sequential => "sequential",
            PatternKind::Concurrent => "concurrent",
            PatternKind::Handoff => "handoff",
            PatternKind::GroupChat => "group_chat",
            PatternKind::BestOf => "best_of",
            PatternKind::Plan => "plan",
        }
    }
}
