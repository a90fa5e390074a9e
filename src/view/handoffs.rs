//! The handoff log: every transfer of control in the session with where it stands, for a
//! screen's handoff panel. Core's [`HandoffState`](crate::core::state::HandoffState) keeps what
//! the engine needs (the holder, the active links, the pending request); this keeps what a person
//! wants to see besides: past transfers with their outcome and reason, when each was requested
//! and became active, its approval window, and who redirected it.

use chrono::{DateTime, Utc};

use crate::core::event::{Event, EventKind, PatternKind, Purpose};

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
    pub approval: Option<String>,
    pub window_ms: Option<u64>,
    pub requested_at: DateTime<Utc>,
    /// When it became active (accepted or fell back), for the elapsed time.
    pub active_since: Option<DateTime<Utc>>,
    /// The original target and who redirected it.
    pub redirected: Option<(String, String)>,
}

/// The handoff log of a session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandoffLog {
    /// Who holds control as far as the events tell (`None` before the first sign of it).
    pub holder: Option<String>,
    pub chain: Vec<Transfer>,
}

impl HandoffLog {
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

    /// Fold one event of a session whose pattern is `pattern`.
    pub fn apply(&mut self, event: &Event, pattern: Option<PatternKind>) {
        let ts = event.ts;
        match &event.kind {
            EventKind::SessionStarted { .. } => *self = HandoffLog::default(),
            EventKind::TurnStarted {
                agent,
                purpose: Purpose::Speak,
                ..
            } if pattern == Some(PatternKind::Handoff) => self.holder = Some(agent.clone()),
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                approval,
                window_ms,
            } => {
                self.holder.get_or_insert_with(|| from.clone());
                self.chain.push(Transfer {
                    id: id.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    reason: reason.clone(),
                    state: TransferState::Requested,
                    approval: approval.clone(),
                    window_ms: *window_ms,
                    requested_at: ts,
                    active_since: None,
                    redirected: None,
                });
            }
            EventKind::HandoffAccepted { id, .. } => {
                self.update(id, ts, |t| t.state = TransferState::Accepted)
            }
            EventKind::HandoffRejected { id, reason } => self.update(id, ts, |t| {
                t.state = TransferState::Rejected(reason.clone())
            }),
            EventKind::HandoffRedirected {
                id,
                from_target,
                to,
                by,
            } => self.update(id, ts, |t| {
                t.redirected = Some((from_target.clone(), by.clone()));
                t.to = to.clone();
            }),
            EventKind::HandoffCancelled { id, by } => {
                self.update(id, ts, |t| t.state = TransferState::Cancelled(by.clone()))
            }
            EventKind::HandoffCompleted { id, summary } => self.update(id, ts, |t| {
                t.state = TransferState::Completed(summary.clone())
            }),
            EventKind::HandoffFallback { id, failed, to } => self.update(id, ts, |t| {
                t.state = TransferState::FellBack {
                    failed: failed.clone(),
                };
                t.to = to.clone();
            }),
            _ => {}
        }
    }

    fn update(&mut self, id: &str, at: DateTime<Utc>, f: impl FnOnce(&mut Transfer)) {
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
