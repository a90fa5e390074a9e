//! The frame scheduler: nothing draws per token or per key.
//!
//! Anything that changes the view calls [`FrameRequester::request`] (a cheap clonable handle);
//! requests coalesce into one pending flag. The run loop awaits [`FrameScheduler::next_frame`],
//! which returns once something is pending and at least [`MIN_FRAME_INTERVAL`] (≈ 60 fps) has
//! passed since the previous frame. With nothing pending it never wakes: an idle console draws
//! nothing and writes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The shortest time between two frames (60 fps).
pub const MIN_FRAME_INTERVAL: Duration = Duration::from_micros(16_667);

/// Asks for a redraw; clone it freely.
#[derive(Clone, Debug)]
pub struct FrameRequester {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pending: AtomicBool,
    notify: Notify,
}

impl FrameRequester {
    /// Ask for a frame; any number of requests before the next frame make one frame.
    pub fn request(&self) {
        if !self.shared.pending.swap(true, Ordering::AcqRel) {
            self.shared.notify.notify_one();
        }
    }
}

/// The run loop's side: waits for the next frame to be due.
#[derive(Debug)]
pub struct FrameScheduler {
    shared: Arc<Shared>,
    last: Option<Instant>,
}

impl FrameScheduler {
    pub fn new() -> (FrameScheduler, FrameRequester) {
        let shared = Arc::new(Shared {
            pending: AtomicBool::new(false),
            notify: Notify::new(),
        });
        let requester = FrameRequester {
            shared: shared.clone(),
        };
        (FrameScheduler { shared, last: None }, requester)
    }

    /// Whether a frame has been requested and not drawn yet.
    pub fn is_pending(&self) -> bool {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// Wait until a frame is requested and due, then clear the request. Cancel-safe: dropped
    /// before it returns, the request stays pending.
    pub async fn next_frame(&mut self) {
        while !self.is_pending() {
            self.shared.notify.notified().await;
        }
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + MIN_FRAME_INTERVAL).await;
        }
        self.shared.pending.store(false, Ordering::Release);
        self.last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn many_requests_make_one_frame_spaced_by_the_interval() {
        let (mut scheduler, requester) = FrameScheduler::new();
        assert!(!scheduler.is_pending());
        let clones: Vec<FrameRequester> = (0..10).map(|_| requester.clone()).collect();
        for r in &clones {
            for _ in 0..100 {
                r.request();
            }
        }
        assert!(scheduler.is_pending());
        let guard = Duration::from_secs(10);
        tokio::time::timeout(guard, scheduler.next_frame())
            .await
            .unwrap();
        assert!(!scheduler.is_pending(), "1000 requests were one frame");
        let first = Instant::now();
        requester.request();
        tokio::time::timeout(guard, scheduler.next_frame())
            .await
            .unwrap();
        assert!(first.elapsed() >= MIN_FRAME_INTERVAL - Duration::from_millis(1));
    }

    #[tokio::test]
    async fn a_request_from_another_task_wakes_the_scheduler() {
        let (mut scheduler, requester) = FrameScheduler::new();
        let task = tokio::spawn(async move { requester.request() });
        tokio::time::timeout(Duration::from_secs(10), scheduler.next_frame())
            .await
            .unwrap();
        task.await.unwrap();
        assert!(!scheduler.is_pending());
    }
}
