//! The durability gate of `conclave run`: an event is printed only once the journal has it on
//! disk, so whatever a killed run printed survives it. The journal writer acknowledges the seq of
//! each event it fsyncs (everything but `token` and `turn_started`, which are never waited for);
//! an event waiting for its ack holds back everything after it, so the output keeps seq order.
//! Without a journal, or once the writer or the session has ended, nothing waits.

use std::collections::{BTreeSet, VecDeque};

use crate::core::event::{Event, EventKind};

/// Events received from the session, waiting for the journal.
pub struct DurableGate {
    enabled: bool,
    held: VecDeque<Event>,
    /// Acked seqs not yet matched with a held event.
    acked: BTreeSet<u64>,
    /// `session_finished` events that do not end the run (a deferred prompt follows them).
    pub skip_finish: u32,
}

impl DurableGate {
    pub fn new(enabled: bool) -> Self {
        DurableGate {
            enabled,
            held: Default::default(),
            acked: Default::default(),
            skip_finish: 0,
        }
    }

    pub fn hold(&mut self, event: Event) {
        self.held.push_back(event);
    }

    pub fn durable(&mut self, seq: u64) {
        self.acked.insert(seq);
    }

    /// Stop waiting: the writer is gone, or the session ended.
    pub fn release_all(&mut self) {
        self.enabled = false;
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn next_ready(&mut self) -> Option<Event> {
        let front = self.held.front()?;
        let ungated = matches!(
            front.kind,
            EventKind::Token { .. } | EventKind::TurnStarted { .. }
        );
        if self.enabled && !ungated && !self.acked.remove(&front.seq) {
            return None;
        }
        self.held.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::SCHEMA_VERSION;

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            v: SCHEMA_VERSION,
            seq,
            ts: chrono::DateTime::UNIX_EPOCH,
            session: "s".into(),
            kind,
        }
    }

    fn token(seq: u64) -> Event {
        event(
            seq,
            EventKind::Token {
                agent: "a".into(),
                turn: 0,
                text: "t".into(),
            },
        )
    }

    fn paused(seq: u64) -> Event {
        event(seq, EventKind::Paused { by: "user".into() })
    }

    fn drain(gate: &mut DurableGate) -> Vec<u64> {
        std::iter::from_fn(|| gate.next_ready())
            .map(|e| e.seq)
            .collect()
    }

    #[test]
    fn a_journaled_event_waits_for_its_ack_and_holds_back_what_follows() {
        let mut gate = DurableGate::new(true);
        gate.hold(token(0));
        gate.hold(paused(1));
        gate.hold(token(2));
        assert_eq!(drain(&mut gate), [0]);
        gate.durable(1);
        assert_eq!(drain(&mut gate), [1, 2]);
        assert!(gate.is_empty());
    }

    #[test]
    fn an_ack_may_come_before_its_event_and_release_stops_all_waiting() {
        let mut gate = DurableGate::new(true);
        gate.durable(0);
        gate.hold(paused(0));
        gate.hold(paused(1));
        assert_eq!(drain(&mut gate), [0]);
        gate.release_all();
        assert_eq!(drain(&mut gate), [1]);
        let mut off = DurableGate::new(false);
        off.hold(paused(0));
        assert_eq!(drain(&mut off), [0]);
    }
}
