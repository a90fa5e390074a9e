//! The handoff projection: who holds control, the chain of transfers with their reasons and
//! states, and the pending request (the one the person may approve, reject, cancel or redirect,
//! possibly within a timed approval window).

use chrono::{DateTime, Utc};

/// Where one transfer stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TransferState {
    Requested,
    Accepted,
    Rejected(String),
    Cancelled(String),
    Completed(String),
    /// The target failed; control went to `to` instead.
    FellBack {
        failed: String,
    },
}

impl TransferState {
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
    pub to: String,
    pub reason: String,
    pub state: TransferState,
    pub approval: Option<crate::core::event::Approval>,
    pub window_ms: Option<u64>,
    pub requested_at: DateTime<Utc>,
    /// When it became active (accepted or redirected), for the elapsed time.
    pub active_since: Option<DateTime<Utc>>,
    /// The original target and who redirected it.
    pub redirected: Option<(String, String)>,
}

/// The handoff panel's data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandoffView {
    pub holder: Option<String>,
    pub chain: Vec<Transfer>,
}

impl HandoffView {
    /// The request awaiting a decision, if any.
    pub fn pending(&self) -> Option<&Transfer> {
        self.chain
            .iter()
            .rev()
            .find(|t| t.state == TransferState::Requested)
    }

    /// The newest transfer that is pending or active (the one `cancel` acts on).
    pub fn current(&self) -> Option<&Transfer> {
        self.chain
            .iter()
            .rev()
            .find(|t| matches!(t.state, TransferState::Requested | TransferState::Accepted))
    }

    /// Milliseconds left in the approval window of the pending request at `now`.
    pub fn window_left_ms(&self, now: DateTime<Utc>) -> Option<u64> {
        let t = self.pending()?;
        let window = t.window_ms?;
        let spent = (now - t.requested_at).num_milliseconds().max(0) as u64;
        Some(window.saturating_sub(spent))
    }

    pub fn request(&mut self, t: Transfer) {
        self.chain.push(t);
    }

    pub fn update(&mut self, id: &str, at: DateTime<Utc>, f: impl FnOnce(&mut Transfer)) {
        if let Some(t) = self.chain.iter_mut().rev().find(|t| t.id == id) {
            f(t);
            match &t.state {
                TransferState::Accepted | TransferState::FellBack { .. } => {
                    t.active_since.get_or_insert(at);
                    self.holder = Some(t.to.clone());
                }
                TransferState::Completed(_) => self.holder = Some(t.from.clone()),
                _ => {}
            }
        }
    }
}
