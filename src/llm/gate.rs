//! Admission to one backend: at most `max_concurrent` requests in flight, the rest waiting in a
//! first-come queue, and a record of which requests overlapped.
//!
//! Mental model: every streamed request of an [`crate::llm::http::HttpBackend`] holds a
//! [`Ticket`] from its backend's [`Gate`] for as long as it runs (retries included); dropping the
//! ticket (the stream ended, failed or was cancelled) lets the next one in. With no limit the gate
//! admits at once and only counts. The count answers the question a serial local server raises:
//! an empty reply that came while another request was in flight was probably refused for being
//! the second one (llama-cpp-python answers it with a role chunk and `[DONE]`), so the request
//! loop waits until the others are done ([`Ticket::wait_alone`]) and asks again. Waiting is a plain
//! future: dropping it (cancellation) leaves the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// One backend's admission control, shared by every request (and session) using the backend.
#[derive(Debug)]
pub struct Gate {
    limit: Option<u32>,
    permits: Arc<Semaphore>,
    in_flight: AtomicUsize,
    /// Requests admitted so far, to tell whether another one started during a request.
    admitted: AtomicU64,
    done: Notify,
    /// One request at a time waits to be alone ([`Ticket::wait_alone`]), so that two waiting
    /// requests do not wait for each other, nor go out together again.
    alone: Arc<Semaphore>,
}

/// A request's place in flight; dropping it lets the next one in.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    _permit: Option<OwnedSemaphorePermit>,
    alone: Option<OwnedSemaphorePermit>,
    /// Whether this ticket is in [`Gate::in_flight`] (not while it waits to be alone).
    counted: bool,
    /// Others in flight when this one was admitted.
    others_at_start: usize,
    /// [`Gate::admitted`] when this one was admitted (itself included).
    admitted_at_start: u64,
}

impl Gate {
    /// A gate admitting `limit` requests at once (`None`: any number).
    pub fn new(limit: Option<u32>) -> Arc<Gate> {
        let permits = limit.map_or(Semaphore::MAX_PERMITS, |n| n.max(1) as usize);
        Arc::new(Gate {
            limit,
            permits: Arc::new(Semaphore::new(permits)),
            in_flight: AtomicUsize::new(0),
            admitted: AtomicU64::new(0),
            done: Notify::new(),
            alone: Arc::new(Semaphore::new(1)),
        })
    }

    /// The configured limit.
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// A ticket at once, or `None` when the limit is reached (then [`Gate::admit`] waits).
    pub fn try_admit(self: &Arc<Self>) -> Option<Ticket> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(self.counted(Some(permit)))
    }

    /// Wait for a ticket (first come, first served).
    pub async fn admit(self: &Arc<Self>) -> Ticket {
        match self.permits.clone().acquire_owned().await {
            Ok(permit) => self.counted(Some(permit)),
            // The semaphore is never closed; admit anyway rather than fail.
            Err(_) => self.counted(None),
        }
    }

    fn counted(self: &Arc<Self>, permit: Option<OwnedSemaphorePermit>) -> Ticket {
        let others_at_start = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let admitted_at_start = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        Ticket {
            gate: self.clone(),
            _permit: permit,
            alone: None,
            counted: true,
            others_at_start,
            admitted_at_start,
        }
    }
}

impl Ticket {
    /// Whether another request to the backend was in flight at some time during this one.
    pub fn overlapped(&self) -> bool {
        self.others_at_start > 0
            || self.gate.in_flight() > 1
            || self.gate.admitted.load(Ordering::SeqCst) > self.admitted_at_start
    }

    /// Wait until no other request is in flight (one waiting ticket at a time), then count
    /// overlaps afresh; the ticket stays the one alone until dropped.
    pub async fn wait_alone(&mut self) {
        self.leave();
        if self.alone.is_none() {
            self.alone = self.gate.alone.clone().acquire_owned().await.ok();
        }
        loop {
            let notified = self.gate.done.notified();
            if self.gate.in_flight() == 0 {
                break;
            }
            notified.await;
        }
        self.gate.in_flight.fetch_add(1, Ordering::SeqCst);
        self.counted = true;
        self.others_at_start = 0;
        self.admitted_at_start = self.gate.admitted.load(Ordering::SeqCst);
    }

    fn leave(&mut self) {
        if std::mem::replace(&mut self.counted, false) {
            self.gate.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.gate.done.notify_waiters();
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_limit_of_one_queues_the_second_until_the_first_is_done() {
        let gate = Gate::new(Some(1));
        let first = gate.try_admit().unwrap();
        assert!(gate.try_admit().is_none());
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.others_at_start }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert!(!first.overlapped());
        drop(first);
        assert_eq!(waiting.await.unwrap(), 0);
        assert_eq!(gate.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_the_queue() {
        let gate = Gate::new(Some(1));
        let first = gate.try_admit().unwrap();
        let wait = tokio::time::timeout(std::time::Duration::from_millis(20), gate.admit()).await;
        assert!(wait.is_err());
        drop(first);
        assert!(gate.try_admit().is_some());
    }

    #[tokio::test]
    async fn overlaps_are_seen_from_both_sides_and_waiting_alone_resets_them() {
        let gate = Gate::new(None);
        let mut a = gate.try_admit().unwrap();
        assert!(!a.overlapped());
        let b = gate.try_admit().unwrap();
        assert!(a.overlapped() && b.overlapped());
        let later = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            drop(b);
        });
        a.wait_alone().await;
        later.await.unwrap();
        assert!(!a.overlapped());
        // One that came and went while `a` ran still counts.
        drop(gate.try_admit().unwrap());
        assert!(a.overlapped());
    }

    #[tokio::test]
    async fn two_tickets_waiting_to_be_alone_take_turns() {
        let gate = Gate::new(None);
        let mut a = gate.try_admit().unwrap();
        let mut b = gate.try_admit().unwrap();
        let first = tokio::spawn(async move {
            a.wait_alone().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert!(!a.overlapped(), "nobody joined while a was alone");
        });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        b.wait_alone().await;
        first.await.unwrap();
        assert_eq!(gate.in_flight(), 1);
        drop(b);
        assert_eq!(gate.in_flight(), 0);
    }
}
