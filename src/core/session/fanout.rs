//! The subscribers of one session: an unbounded mpsc channel per subscriber rather than a
//! `broadcast` channel on purpose: a broadcast receiver that falls behind loses events, and the
//! journal must never miss one. A sender whose receiver is gone is dropped at the next event.
//! Once the actor ends the list is closed: every stream ends, and a later subscriber gets a
//! stream that has already ended.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::core::event::Event;

/// The subscribers' senders, shared by the actor and its handles; closed once the actor has
/// ended, so every stream ends too and later subscribers get an ended stream.
#[derive(Clone, Default)]
pub(super) struct Subscribers(Arc<Mutex<Fanout>>);

#[derive(Default)]
struct Fanout {
    senders: Vec<UnboundedSender<Event>>,
    closed: bool,
}

impl Subscribers {
    pub(super) fn subscribe(&self) -> UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut fanout = self.lock();
        if !fanout.closed {
            fanout.senders.push(tx);
        }
        rx
    }

    /// Send `event` to every subscriber still listening.
    pub(super) fn send(&self, event: &Event) {
        self.lock()
            .senders
            .retain(|tx| tx.send(event.clone()).is_ok());
    }

    pub(super) fn close(&self) {
        let mut fanout = self.lock();
        fanout.closed = true;
        fanout.senders.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Fanout> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}
