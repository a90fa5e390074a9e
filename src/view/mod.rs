//! The view: the one projection of events that every front end reads (DESIGN section 1).
//!
//! Mental model: core folds events into [`SessionState`] (the conversation, turns, rounds,
//! handoff chain, votes) and [`Metrics`] (the ledger: tokens and cost); the view adds only what
//! a screen needs on top, and says what each event *means* in words:
//!
//! - [`describe`]`(event, state_before) -> `[`Parts`]: who, verb, target, detail, [`Tone`], and
//!   the ordered [`Piece`]s of the one-line narration. This is the ONE narration of every event
//!   type; front ends never word an event themselves.
//! - [`View`]: `SessionState` + `Metrics` + the few projections they lack (the handoff history,
//!   scores in order, the final answer, the ledger rows in the team's order, the current vote,
//!   unfinished turns). [`View::push`] describes an event against the state before it, then
//!   folds it; a `session_started` begins a fresh view (a new session's stream starts with one).
//! - [`summary`]: the `sessions list` line of a journal, through the same ledger.
//!
//! How a front end uses it: keep one `View`, call `let parts = view.push(&event)` for each
//! event, skip `parts.is_hidden()`, and draw `parts`: a [`Shape::Line`] as
//! `prefix(parts.mark) + parts.plain(arrow)` (or styled per [`Role`] and [`Tone`]), a
//! [`Shape::Speech`] as a heading (`parts.plain(arrow)`, plus `turn`/`round` if wanted) and
//! `parts.body`, with `parts.status` as its closing label. Glyphs, colours, arrows and layout
//! belong to the front end; words belong here. `view` imports `config` and `core` only.

pub mod describe;
pub mod handoffs;
pub mod parts;
pub mod plans;
pub mod summary;
pub mod tools;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::config::Price;
use crate::core::event::{Event, EventKind, VoteChoice};
use crate::core::metrics::{AgentMetrics, Metrics};
use crate::core::state::{SessionState, TurnStatus};

pub use describe::{YOU, describe, edge, outcome_name, vote_verb};
pub use handoffs::{Handoffs, Transfer, TransferState};
pub use parts::{Mark, Parts, Piece, Role, Shape, Tone, one_line};
pub use summary::{SessionSummary, SummaryHead, summarize};

/// Core's folds plus what a screen needs on top of them.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub state: SessionState,
    /// The ledger: tokens and cost per agent and in total.
    pub metrics: Metrics,
    /// Every handoff of the session with how it stands.
    pub handoffs: Handoffs,
    /// Every `candidate_scored` so far, in order: (agent, score, reason).
    pub scores: Vec<(String, f64, String)>,
    /// The last non-empty final answer of the session.
    pub final_text: Option<String>,
    /// Prices known outside the events, kept for the fresh ledger of a new session.
    prices: BTreeMap<String, Price>,
}

/// Each agent's vote in one round, with its reason.
pub type Votes = BTreeMap<String, (VoteChoice, String)>;

/// One agent's line of the ledger.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LedgerRow<'a> {
    pub agent: &'a str,
    pub metrics: &'a AgentMetrics,
}

impl View {
    /// An empty view; `prices` are those known outside the events (a config or a journal
    /// header); prices announced in `session_started` take precedence.
    pub fn new(prices: BTreeMap<String, Price>) -> View {
        View {
            metrics: Metrics::new(prices.clone()),
            prices,
            ..View::default()
        }
    }

    /// Describe `event` against the state before it, then fold it in.
    pub fn push(&mut self, event: &Event) -> Parts {
        let parts = describe(event, &self.state);
        if matches!(event.kind, EventKind::SessionStarted { .. }) && self.state.next_seq > 0 {
            *self = View::new(std::mem::take(&mut self.prices));
        }
        self.state.apply(event);
        self.handoffs.apply(event);
        self.metrics.apply(event);
        match &event.kind {
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => self.scores.push((agent.clone(), *score, reason.clone())),
            EventKind::SessionFinished {
                final_text: Some(t),
                ..
            } if !t.trim().is_empty() => self.final_text = Some(t.clone()),
            _ => {}
        }
        parts
    }

    /// Fold a whole journal, dropping the parts.
    pub fn replay<'a>(
        prices: BTreeMap<String, Price>,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> View {
        let mut view = View::new(prices);
        for e in events {
            view.push(e);
        }
        view
    }

    /// The ledger, one row per agent in the order the session announced them, then any others
    /// in name order.
    pub fn ledger(&self) -> Vec<LedgerRow<'_>> {
        let announced = self.state.agents.iter().map(|a| a.name.as_str());
        let others = self
            .metrics
            .agents
            .keys()
            .map(String::as_str)
            .filter(|name| !self.state.agents.iter().any(|a| a.name == *name));
        announced
            .chain(others)
            .filter_map(|agent| {
                let metrics = self.metrics.agents.get(agent)?;
                Some(LedgerRow { agent, metrics })
            })
            .collect()
    }

    /// The votes of the round being voted on, or else of the last round voted on: (round,
    /// agent → choice and reason). `None` before the first vote of the task.
    pub fn tally(&self) -> Option<(u32, &Votes)> {
        let task = &self.state.task;
        let round = task
            .voting
            .or_else(|| task.tallies.last().map(|(r, _)| *r))?;
        (!task.votes.is_empty()).then_some((round, &task.votes))
    }

    /// Turns that streamed some text and never finished (the process died mid-stream), as
    /// speeches with the status `interrupted`.
    pub fn unfinished(&self) -> Vec<Parts> {
        self.state
            .turns
            .iter()
            .filter(|(_, t)| t.status == TurnStatus::Running && !t.text.is_empty())
            .map(|(turn, t)| {
                let mut p = Parts::new(Shape::Speech, Mark::Agent, Tone::Muted).who(&t.agent);
                p.verb = "says".into();
                p.body = Some(t.text.clone());
                p.status = Some("interrupted".into());
                p.turn = Some(*turn);
                p.round = t.round;
                p
            })
            .collect()
    }
}
