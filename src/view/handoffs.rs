//! The handoff history a screen shows: every transfer of control with its reason, how it stands
//! and when it became active. Core's [`HandoffState`](crate::core::state::HandoffState) keeps only
//! what the orchestrator needs (the holder, the active chain, the pending request); a panel also
//! shows the transfers that were rejected, cancelled or completed, so the view keeps them.

use chrono::{DateTime, Utc};

use crate::core::event::{Approval, Event, EventKind};

/// Where one transfer stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TransferState {
    Requested,
    Accepted,
    /// With the reason.
    Rejected(String),
    /// With who cancelled it.
    Cancelled(String),
    /// With the return summary.
    Completed(String),
    /// The target failed; control went to the transfer's `to` instead.
    FellBack {
        failed: String,
    },
}

impl TransferState {
    /// One word for a panel: `requested`, `active`, `rejected`, …
    pub fn label(&self) -> &'static str {
        match self {
            TransferState::Requested => "requested",
            TransferState::Accepted => "active",
            TransferState::Rejected(_) => "rejected",
            TransferState::Cancelled(_) => "cancelled",
            TransferState::Completed(_) => "completed",
            TransferState::FellBack { .. } => "fallback",
        }
    }
}

/// One transfer of control.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub id: String,
    pub from: String,
    /// The current target (after any redirect or fallback).
    pub to: String,
    pub reason: String,
    pub state: TransferState,
    pub approval: Option<Approval>,
    pub window_ms: Option<u64>,
    pub requested_at: DateTime<Utc>,
    /// When it became active (accepted or fell back), for the elapsed time.
    pub active_since: Option<DateTime<Utc>>,
    /// The original target and who redirected it.
    pub redirected: Option<(String, String)>,
    /// The approval window stopped counting (`handoff_held`): the person is deciding.
    pub held: bool,
}

/// Every transfer of the session, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Handoffs {
    pub transfers: Vec<Transfer>,
}

impl Handoffs {
    /// Fold one event in (only handoff events change anything).
    pub fn apply(&mut self, e: &Event) {
        let at = e.ts;
        match &e.kind {
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                approval,
                window_ms,
            } => self.transfers.push(Transfer {
                id: id.clone(),
                from: from.clone(),
                to: to.clone(),
                reason: reason.clone(),
                state: TransferState::Requested,
                approval: approval.clone(),
                window_ms: *window_ms,
                requested_at: at,
                active_since: None,
                redirected: None,
                held: false,
            }),
            EventKind::HandoffAccepted { id, .. } => {
                self.update(id, at, |t| t.state = TransferState::Accepted)
            }
            EventKind::HandoffRejected { id, reason } => self.update(id, at, |t| {
                t.state = TransferState::Rejected(reason.clone())
            }),
            EventKind::HandoffRedirected {
                id,
                from_target,
                to,
                by,
            } => self.update(id, at, |t| {
                t.redirected = Some((from_target.clone(), by.clone()));
                t.to = to.clone();
            }),
            EventKind::HandoffCancelled { id, by } => {
                self.update(id, at, |t| t.state = TransferState::Cancelled(by.clone()))
            }
            EventKind::HandoffCompleted { id, summary } => self.update(id, at, |t| {
                t.state = TransferState::Completed(summary.clone())
            }),
            EventKind::HandoffFallback { id, failed, to } => self.update(id, at, |t| {
                t.state = TransferState::FellBack {
                    failed: failed.clone(),
                };
                t.to = to.clone();
            }),
            EventKind::HandoffHeld { id, .. } => self.update(id, at, |t| t.held = true),
            _ => {}
        }
    }

    /// The request awaiting a decision, if any.
    pub fn pending(&self) -> Option<&Transfer> {
        self.transfers
            .iter()
            .rev()
            .find(|t| t.state == TransferState::Requested)
    }

    /// The newest transfer that is pending or active (the one `cancel` acts on).
    pub fn current(&self) -> Option<&Transfer> {
        self.transfers
            .iter()
            .rev()
            .find(|t| matches!(t.state, TransferState::Requested | TransferState::Accepted))
    }

    /// Milliseconds left in the approval window of the pending request at `now`.
    pub fn window_left_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        let t = self.pending().filter(|t| !t.held)?;
        let window = t.window_ms?;
        let spent = u64::try_from((now - t.requested_at).num_milliseconds()).unwrap_or(0);
        Some(window.saturating_sub(spent))
    }

    fn update(&mut self, id: &str, at: DateTime<Utc>, f: impl FnOnce(&mut Transfer)) {
        if let Some(t) = self.transfers.iter_mut().rev().find(|t| t.id == id) {
            f(t);
            if matches!(
                t.state,
                TransferState::Accepted | TransferState::FellBack { .. }
            ) {
                t.active_since.get_or_insert(at);
            }
        }
    }
}
