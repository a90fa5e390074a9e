//! The frame scheduler: nothing draws per token or per key.
//!
//! Anything that changes the view asks for a frame through a [`FrameRequester`] (a cheap
//! clonable handle); requests coalesce into one pending flag. The run loop awaits
//! [`FrameScheduler::next_frame`], which returns once something is pending and enough time has
//! passed since the previous frame: [`MIN_FRAME_INTERVAL`] (≈ 60 fps) when the person did
//! something ([`FrameRequester::request`]: a key, a resize, a tick), [`OUTPUT_FRAME_INTERVAL`]
//! (20 fps) when only the session's output moved on ([`FrameRequester::request_output`]:
//! streamed tokens). A stream then costs a third of the frames it would at 60 fps and is still
//! never more than 50 ms behind on screen; a key pressed meanwhile brings the frame forward. With
//! nothing pending it never wakes: an idle console draws nothing and writes nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::{Instant, Sleep};

/// The shortest time between two frames (60 fps).
pub const MIN_FRAME_INTERVAL: Duration = Duration::from_micros(16_667);

/// The shortest time between two frames that only show the session's new output (20 fps).
pub const OUTPUT_FRAME_INTERVAL: Duration = Duration::from_millis(50);

/// Asks for a redraw; clone it freely.
#[derive(Clone, Debug)]
pub struct FrameRequester {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pending: AtomicBool,
    /// A pending request came from the person (draw at [`MIN_FRAME_INTERVAL`]).
    urgent: AtomicBool,
    waker: AtomicWaker,
}

impl FrameRequester {
    /// Ask for a frame for something the person did; any number of requests before the next
    /// frame make one frame.
    pub fn request(&self) {
        let was_urgent = self.shared.urgent.swap(true, Ordering::AcqRel);
        let was_pending = self.shared.pending.swap(true, Ordering::AcqRel);
        if !was_pending || !was_urgent {
            self.shared.waker.wake();
        }
    }

    /// Ask for a frame that shows the session's new output: drawn at most every
    /// [`OUTPUT_FRAME_INTERVAL`], unless [`request`](Self::request) comes too.
    pub fn request_output(&self) {
        if !self.shared.pending.swap(true, Ordering::AcqRel) {
            self.shared.waker.wake();
        }
    }
}

/// The run loop's side: waits for the next frame to be due. Its one timer lives as long as the
/// scheduler and is moved only when the time a frame is due changes: the run loop asks for the
/// next frame every time it wakes (for every streamed token), and a new timer each time would
/// cost more than the frame.
#[derive(Debug)]
pub struct FrameScheduler {
    shared: Arc<Shared>,
    last: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    /// When the timer is set to go off, if it is set.
    armed: Option<Instant>,
}

impl FrameScheduler {
    pub fn new() -> (FrameScheduler, FrameRequester) {
        let shared = Arc::new(Shared {
            pending: AtomicBool::new(false),
            urgent: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let requester = FrameRequester {
            shared: shared.clone(),
        };
        let scheduler = FrameScheduler {
            shared,
            last: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed: None,
        };
        (scheduler, requester)
    }

    /// Whether a frame has been requested and not drawn yet.
    pub fn is_pending(&self) -> bool {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// Wait until a frame is requested and due, then clear the request. Cancel-safe: dropped
    /// before it returns, the request stays pending (and a wait cut short by a more urgent
    /// request is shortened to its interval).
    pub async fn next_frame(&mut self) {
        std::future::poll_fn(|cx| self.poll_frame(cx)).await
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Registered before the flags are read, so a request made in between wakes us.
        self.shared.waker.register(cx.waker());
        if !self.is_pending() {
            return Poll::Pending;
        }
        if let Some(last) = self.last {
            let interval = if self.shared.urgent.load(Ordering::Acquire) {
                MIN_FRAME_INTERVAL
            } else {
                OUTPUT_FRAME_INTERVAL
            };
            let due = last + interval;
            if Instant::now() < due {
                if self.armed != Some(due) {
                    self.timer.as_mut().reset(due);
                    self.armed = Some(due);
                }
                if self.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
        }
        self.armed = None;
        self.shared.pending.store(false, Ordering::Release);
        self.shared.urgent.store(false, Ordering::Release);
        self.last = Some(Instant::now());
        Poll::Ready(())
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

    #[tokio::test(start_paused = true)]
    async fn asked_and_dropped_again_and_again_the_frame_still_comes_when_due() {
        let (mut scheduler, requester) = FrameScheduler::new();
        requester.request_output();
        scheduler.next_frame().await;
        let first = Instant::now();
        requester.request_output();
        // The run loop asks for the next frame each time it wakes (a token every 2 ms here)
        // and drops the question when something else came first.
        for _ in 0..20 {
            let woke = tokio::time::timeout(Duration::from_millis(2), scheduler.next_frame()).await;
            assert!(
                woke.is_err(),
                "drawn early, {:?} after the last",
                first.elapsed()
            );
            requester.request_output();
        }
        scheduler.next_frame().await;
        assert_eq!(first.elapsed(), OUTPUT_FRAME_INTERVAL);
        assert!(!scheduler.is_pending());
    }

    #[tokio::test(start_paused = true)]
    async fn output_frames_wait_longer_and_a_key_brings_them_forward() {
        let (mut scheduler, requester) = FrameScheduler::new();
        requester.request_output();
        scheduler.next_frame().await;
        let first = Instant::now();
        requester.request_output();
        scheduler.next_frame().await;
        assert_eq!(
            first.elapsed(),
            OUTPUT_FRAME_INTERVAL,
            "output alone: 20 fps"
        );
        let second = Instant::now();
        requester.request_output();
        let key = requester.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            key.request();
        });
        scheduler.next_frame().await;
        let waited = second.elapsed();
        assert!(
            waited >= MIN_FRAME_INTERVAL && waited < MIN_FRAME_INTERVAL * 2,
            "a key: 60 fps again, waited {waited:?}"
        );
        assert!(!scheduler.is_pending());
    }
}
