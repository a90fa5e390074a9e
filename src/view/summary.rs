//! The session summary: one line of `conclave sessions list` (and of the console's session
//! picker), folded from a journal's events through core's [`Metrics`], so that its tokens and
//! cost are the ledger's.
//!
//! The store reads the journal and knows whether its writer is alive; this module only folds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Price;
use crate::core::event::{Event, PatternKind, Purpose};
use crate::core::metrics::Metrics;

use super::describe::outcome_name;

/// One line of `conclave sessions list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSummary {
    pub id: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub team: String,
    pub pattern: PatternKind,
    pub started: DateTime<Utc>,
    /// `message` events spoken in the conversation (purpose `speak`).
    pub messages: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Cost from the ledger; `None` when no agent that spoke has a price.
    pub cost: Option<f64>,
    /// The last `session_finished` outcome, else `running` (its writer is alive) or `interrupted`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<(String, u64)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The `conclave eval` run this session belongs to, if any (from the eval index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<String>,
}

impl SessionSummary {
    pub fn tokens(&self) -> u64 {
        self.tokens_in + self.tokens_out
    }
}

/// What a journal's header says about its session, for [`summarize`].
#[derive(Clone, Debug)]
pub struct SummaryHead {
    pub id: String,
    pub path: PathBuf,
    pub team: String,
    pub pattern: PatternKind,
    pub started: DateTime<Utc>,
    pub forked_from: Option<(String, u64)>,
    /// Prices known outside the events (a journal header's); `session_started` prices win.
    pub prices: BTreeMap<String, Price>,
    pub warnings: Vec<String>,
}

/// Fold `events` into a summary through the ledger; `alive` is asked only when no
/// `session_finished` was seen.
pub fn summarize(
    head: SummaryHead,
    events: &[Event],
    alive: impl FnOnce() -> bool,
) -> SessionSummary {
    let mut metrics = Metrics::new(head.prices);
    for e in events {
        metrics.apply(e);
    }
    let messages = metrics
        .agents
        .values()
        .filter_map(|a| a.by_purpose.get(&Purpose::Speak))
        .map(|p| p.messages)
        .sum();
    let outcome = match metrics.outcome {
        Some(o) => outcome_name(o).to_string(),
        None if alive() => "running".into(),
        None => "interrupted".into(),
    };
    SessionSummary {
        id: head.id,
        path: head.path,
        team: head.team,
        pattern: head.pattern,
        started: head.started,
        messages,
        tokens_in: metrics.totals.input_tokens.unwrap_or(0),
        tokens_out: metrics.totals.output_tokens.unwrap_or(0),
        cost: metrics.totals.cost,
        outcome,
        forked_from: head.forked_from,
        warnings: head.warnings,
        eval: None,
    }
}
