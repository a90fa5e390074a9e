//! The streaming request loop shared by every HTTP provider: send, retry, decode, cancel.
//!
//! [`crate::llm::wire::HttpProvider`] describes one call as a [`StreamJob`]: the URL, the JSON
//! body, and a fresh [`Decoder`] per attempt (the pure part: bytes in, [`LlmEvent`]s out). [`start`] turns the job
//! into an [`LlmStream`]. The loop retries failures that can help (rate limit, overload, network,
//! timeout) with the delays of [`crate::llm::http`], announcing each with `LlmEvent::Retrying`,
//! but only while no text or tool call has been yielded: after the first token a failure ends the
//! stream and the caller keeps the partial text. Every `TextDelta` passes through one
//! [`Sanitizer`] per attempt here (an escape sequence split across chunks is still removed whole),
//! and every tool call's arguments through [`sanitize_json_text`], for all providers at once:
//! this is the one pass model text gets (see [`crate::text`]).
//!
//! Admission: each call first takes a place in its backend's [`crate::llm::gate::Gate`]
//! (`max_concurrent`), announcing a wait with `LlmEvent::Queued` and its end with
//! `LlmEvent::Admitted`; a forced call answered with nothing while another request to the backend
//! was in flight is asked again once the backend is free; the retry (and a second such answer,
//! which fails the call) names the likely cause: a server that serves one request at a time. A stream that ends with nothing after a prompt
//! larger than the model's known window fails as `context_too_long`.
//!
//! Cancellation: the loop runs in a task spawned on the stream's first poll. When the token fires
//! (whether or not anyone is polling) or the stream is dropped, the task's future is dropped with
//! its HTTP response, which closes the connection at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::llm::http::{HttpBackend, MAX_SERVER_DELAY, retry_delay};
use crate::llm::{ErrorKind, FinishReason, LlmError, LlmEvent, LlmStream, ToolCall};
use crate::text::{Sanitizer, sanitize_json_text};

/// The pure, per-protocol part of a stream: fed the body's bytes as they arrive.
pub trait Decoder: Send {
    /// Decode one network chunk, pushing the events it completes onto `out`. Events pushed before
    /// an error are kept (they were received).
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<LlmEvent>) -> Result<(), DecodeError>;
    /// The body ended (EOF). Emits what is still pending, or fails if the terminal event never came.
    fn finish(&mut self, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError>;
    /// Whether the terminal event was seen (the loop stops reading then).
    fn is_done(&self) -> bool;
}

/// A wire-level failure found by a decoder: a malformed frame, an error object in the stream,
/// EOF before the terminal event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DecodeError {
    pub fn protocol(message: impl Into<String>) -> Self {
        DecodeError {
            kind: ErrorKind::Protocol,
            message: message.into(),
        }
    }
}

/// Lists the backend's models; used to name the models that exist when one is unknown.
pub type ModelLister = fn(Arc<HttpBackend>) -> BoxFuture<'static, Result<Vec<String>, LlmError>>;

/// One streamed call.
pub struct StreamJob {
    pub backend: Arc<HttpBackend>,
    pub model: String,
    pub url: String,
    /// The JSON body, as sent (cheap to clone for a retry).
    pub body: bytes::Bytes,
    pub new_decoder: fn() -> Box<dyn Decoder>,
    pub list_models: ModelLister,
    /// An extra hint for context-too-long errors (Ollama: raise `num_ctx`).
    pub context_hint: Option<String>,
    /// The request forces a tool call: an empty reply to it is suspicious (see [`run`]).
    pub forced: bool,
    /// The same request in the text-marker form, sent instead when the backend has learnt by
    /// the time this one leaves the queue that it cannot force tool calls.
    pub marker_form: Option<MarkerForm>,
    /// The prompt's size by [`crate::llm::context::estimate_prompt`], to calibrate it against
    /// the prompt tokens the server reports.
    pub prompt_estimate: u64,
}

/// The text-marker body of a forced call, the backend's switch, and a flag set when it was used.
pub struct MarkerForm {
    pub body: bytes::Bytes,
    pub markers: crate::llm::forced::Markers,
    pub used: Arc<std::sync::atomic::AtomicBool>,
}

/// Run `job` as a stream of events, ending promptly when `cancel` fires.
///
/// The request starts when the stream is first polled (inside the caller's runtime).
pub fn start(job: StreamJob, cancel: CancellationToken) -> LlmStream {
    drive(move |tx| run(job, tx), cancel)
}

/// A stream of what `work` sends on the channel it is given, ending promptly when `cancel` fires
/// (the work is aborted). The work starts when the stream is first polled.
pub fn drive<F, Fut>(work: F, cancel: CancellationToken) -> LlmStream
where
    F: FnOnce(Emit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let token = cancel.clone();
    let work = work(tx);
    let work = async move {
        tokio::select! {
            biased;
            _ = token.cancelled() => {}
            _ = work => {}
        }
    };
    Box::pin(Driven {
        work: Some(Box::pin(work)),
        task: None,
        rx,
        cancelled: Box::pin(cancel.cancelled_owned()),
    })
}

pub type Emit = mpsc::UnboundedSender<Result<LlmEvent, LlmError>>;

/// A stream fed by a task it spawns on first poll and aborts when dropped. The task also watches
/// the cancellation token itself, so the connection closes when the token fires even if nobody
/// polls the stream at that moment.
struct Driven {
    work: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    task: Option<tokio::task::JoinHandle<()>>,
    rx: mpsc::UnboundedReceiver<Result<LlmEvent, LlmError>>,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Stream for Driven {
    type Item = Result<LlmEvent, LlmError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.cancelled.as_mut().poll(cx).is_ready() {
            this.stop();
            return Poll::Ready(None);
        }
        if let Some(work) = this.work.take() {
            this.task = Some(tokio::spawn(work));
        }
        this.rx.poll_recv(cx)
    }
}

impl Driven {
    fn stop(&mut self) {
        self.work = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.rx.close();
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One attempt's failure, and whether the person already saw output from it.
struct Failure {
    error: LlmError,
    shown: bool,
    /// A forced call answered with nothing at all, and the finish reason it came with.
    empty: Option<FinishReason>,
}

/// Take a place in the backend's queue (saying so when it has to wait), then run the attempts.
/// An empty answer to a forced call that overlapped another request to the same backend is asked
/// again once that request is done: a server that serves one request at a time answers the
/// second one with an empty stream.
async fn run(mut job: StreamJob, tx: Emit) {
    let gate = job.backend.gate.clone();
    let mut ticket = match gate.try_admit() {
        Some(ticket) => ticket,
        None => {
            let backend = job.backend.name.clone();
            if tx.send(Ok(LlmEvent::Queued { backend })).is_err() {
                return;
            }
            let ticket = gate.admit().await;
            if tx.send(Ok(LlmEvent::Admitted)).is_err() {
                return;
            }
            ticket
        }
    };
    if let Some(form) = job.marker_form.take()
        && form.markers.on()
    {
        // Learnt while this one waited: ask in the form that works.
        form.used.store(true, std::sync::atomic::Ordering::SeqCst);
        job.body = form.body;
        job.forced = false;
    }
    let mut attempt = 0u32;
    let mut waited_alone = false;
    loop {
        let Err(failure) = attempt_once(&job, &tx).await else {
            return;
        };
        if let Some(reason) = failure.empty {
            if !ticket.overlapped() {
                // Nothing suspicious: an empty answer the orchestrator reads as such.
                let _ = tx.send(Ok(LlmEvent::Finished(reason)));
                return;
            }
            if !waited_alone {
                waited_alone = true;
                tracing::warn!(backend = %job.backend.name, model = %job.model, "empty reply to a forced call while another request was in flight; asking again when alone");
                let event = LlmEvent::Retrying {
                    attempt: attempt + 1,
                    delay_ms: 0,
                    error: failure.error,
                };
                if tx.send(Ok(event)).is_err() {
                    return;
                }
                ticket.wait_alone().await;
                continue;
            }
            let _ = tx.send(Err(failure.error));
            return;
        }
        let error = failure.error;
        let delay = (!failure.shown && error.is_retryable() && attempt < job.backend.max_retries)
            .then(|| retry_delay(error.retry_after_ms, attempt))
            .flatten();
        if let Some(delay) = delay {
            attempt += 1;
            tracing::warn!(backend = %job.backend.name, model = %job.model, attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            let event = LlmEvent::Retrying {
                attempt,
                delay_ms: delay.as_millis() as u64,
                error,
            };
            if tx.send(Ok(event)).is_err() {
                return;
            }
            tokio::time::sleep(delay).await;
            continue;
        }
        let error = give_up(error, attempt, failure.shown);
        let error = explain(&job, error).await;
        tracing::warn!(backend = %job.backend.name, model = %job.model, error = %error, "stream failed");
        let _ = tx.send(Err(error));
        return;
    }
}

async fn attempt_once(job: &StreamJob, tx: &Emit) -> Result<(), Failure> {
    let backend = &job.backend;
    let first = backend.first_token_timeout;
    let early = |error: LlmError| Failure {
        error,
        shown: false,
        empty: None,
    };
    let request = backend
        .client
        .post(&job.url)
        .headers(backend.headers.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(job.body.clone())
        .send();
    let mut response = tokio::time::timeout(first, request)
        .await
        .map_err(|_| early(backend.timeout_error(&job.model, first, false)))?
        .map_err(|e| early(backend.network_error(&job.model, &e)))?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let error = backend.redirect_error(&job.model, status, response.headers());
        return Err(early(error));
    }
    if !(200..300).contains(&status) {
        let retry_after_ms = crate::llm::http::retry_after(response.headers());
        let body = match tokio::time::timeout(first, response.text()).await {
            Ok(Ok(text)) => text,
            _ => String::new(),
        };
        return Err(early(backend.http_error(
            &job.model,
            status,
            &body,
            retry_after_ms,
        )));
    }

    let mut decoder = (job.new_decoder)();
    let mut sanitizer = Sanitizer::default();
    let mut events = Vec::new();
    let mut shown = false;
    loop {
        // The long wait until the first token, the idle timeout between chunks after it.
        let wait = if shown { backend.idle_timeout } else { first };
        let chunk = match tokio::time::timeout(wait, response.chunk()).await {
            Err(_) => {
                let error = backend.timeout_error(&job.model, wait, shown);
                return Err(Failure {
                    error,
                    shown,
                    empty: None,
                });
            }
            Ok(Err(e)) => {
                let error = backend.network_error(&job.model, &e);
                return Err(Failure {
                    error,
                    shown,
                    empty: None,
                });
            }
            Ok(Ok(chunk)) => chunk,
        };
        let result = match &chunk {
            Some(bytes) => decoder.feed(bytes, &mut events),
            None => decoder.finish(&mut events),
        };
        for event in &events {
            if let LlmEvent::Usage(crate::llm::Usage {
                input: Some(reported),
                ..
            }) = event
            {
                let windows = &backend.windows;
                windows.calibrate(&job.model, job.prompt_estimate, *reported);
            }
        }
        let empty = if job.forced && !shown {
            take_empty_finish(&mut events)
        } else {
            None
        };
        shown |= forward(&mut events, &mut sanitizer, tx);
        if let Some(reason) = empty {
            let error = empty_forced_error(job);
            return Err(Failure {
                error,
                shown,
                empty: Some(reason),
            });
        }
        if let Err(e) = result {
            let error = LlmError::new(e.kind, &backend.name, e.message).with_model(&job.model);
            let error = if chunk.is_none() && !shown {
                ended_silently(job, error)
            } else {
                error
            };
            return Err(Failure {
                error,
                shown,
                empty: None,
            });
        }
        if chunk.is_none() || decoder.is_done() {
            return Ok(());
        }
    }
}

/// A stream that ended with nothing and no finish: a too-long prompt, when the backend's window
/// is known and the prompt is larger (llama-cpp-python ends the stream so), else a broken stream
/// with a hint at the context window.
fn ended_silently(job: &StreamJob, error: LlmError) -> LlmError {
    let windows = &job.backend.windows;
    let prompt = crate::llm::context::estimate_text(&String::from_utf8_lossy(&job.body));
    match windows.get(&job.model).flatten() {
        Some(window) if prompt > u64::from(windows.in_estimate(&job.model, window)) => LlmError::new(
            ErrorKind::ContextTooLong,
            &job.backend.name,
            format!(
                "the stream ended with no reply and no finish after a prompt of about {prompt} tokens, more than the model's context window ({window})"
            ),
        )
        .with_model(&job.model)
        .with_hint(
            job.context_hint
                .clone()
                .or_else(|| crate::llm::classify::hint_for(ErrorKind::ContextTooLong).map(str::to_string))
                .unwrap_or_default(),
        ),
        _ => error.with_hint(
            "if the prompt is long it may not fit the model's context window: set context_window on the agent so that conclave trims it",
        ),
    }
}

/// The finish reason of a reply that ends in `events` without any text or tool call, taken out
/// of `events` (the caller decides what the empty reply means).
fn take_empty_finish(events: &mut Vec<LlmEvent>) -> Option<FinishReason> {
    let said = events.iter().any(|e| {
        matches!(e, LlmEvent::TextDelta(t) if !t.trim().is_empty())
            || matches!(e, LlmEvent::ToolCall(_))
    });
    let at = events
        .iter()
        .position(|e| matches!(e, LlmEvent::Finished(_)))?;
    if said {
        return None;
    }
    match events.remove(at) {
        LlmEvent::Finished(reason) => Some(reason),
        _ => None,
    }
}

/// An empty answer to a forced call while another request to the backend was in flight.
fn empty_forced_error(job: &StreamJob) -> LlmError {
    let name = &job.backend.name;
    LlmError::new(
        ErrorKind::Overloaded,
        name,
        "empty reply to a forced tool call while another request to this backend was in flight: the server probably serves one request at a time",
    )
    .with_model(&job.model)
    .with_hint(format!(
        "set max_concurrent = 1 in [backends.{name}] so that requests wait their turn"
    ))
}

/// Send decoded events on, sanitizing text and tool calls. Returns whether any text or tool
/// call went out.
fn forward(events: &mut Vec<LlmEvent>, sanitizer: &mut Sanitizer, tx: &Emit) -> bool {
    let mut shown = false;
    for event in events.drain(..) {
        let event = match event {
            LlmEvent::TextDelta(text) => {
                let clean = sanitizer.push(&text);
                if clean.is_empty() {
                    continue;
                }
                LlmEvent::TextDelta(clean)
            }
            LlmEvent::ToolCall(call) => LlmEvent::ToolCall(sanitize_call(call)),
            other => other,
        };
        shown |= matches!(event, LlmEvent::TextDelta(_) | LlmEvent::ToolCall(_));
        let _ = tx.send(Ok(event));
    }
    shown
}

/// A tool call with its name and every string of its arguments sanitized.
pub fn sanitize_call(call: ToolCall) -> ToolCall {
    ToolCall {
        name: crate::text::sanitize_text(&call.name),
        arguments: sanitize_json_text(&call.arguments),
        id: call.id,
    }
}

/// Say why a retryable error was not retried (again).
fn give_up(mut error: LlmError, retries: u32, shown: bool) -> LlmError {
    if !error.is_retryable() {
        return error;
    }
    if shown {
        error
            .message
            .push_str(" (after part of the reply had arrived; not retried)");
    } else if let Some(ms) = error
        .retry_after_ms
        .filter(|ms| Duration::from_millis(*ms) > MAX_SERVER_DELAY)
    {
        error.hint = Some(format!(
            "the server asks to wait {} s before trying again; try again later",
            ms.div_ceil(1000)
        ));
    } else if retries > 0 {
        error
            .message
            .push_str(&format!(" (gave up after {retries} retries)"));
    }
    error
}

/// Add what only more IO can tell: the models that exist when the model is unknown.
async fn explain(job: &StreamJob, mut error: LlmError) -> LlmError {
    match error.kind {
        ErrorKind::UnknownModel => {
            let base = job.backend.shown_url();
            error.hint = Some(match (job.list_models)(job.backend.clone()).await {
                Ok(models) if models.contains(&job.model) => format!(
                    "the backend lists `{}` but answered 404 at {}: check base_url ({base})",
                    job.model,
                    crate::text::redact::redact_url(&job.url)
                ),
                Ok(models) => models_hint(&job.model, &models),
                Err(_) => format!(
                    "check the model name and base_url ({base}): the server also failed to list its models"
                ),
            });
        }
        ErrorKind::ContextTooLong => {
            if let Some(window) = crate::llm::context::window_in_message(&error.message) {
                // Named by the server: the next request to this model is trimmed to fit.
                job.backend.windows.set(&job.model, Some(window));
            }
            if let Some(hint) = &job.context_hint {
                error.hint = Some(hint.clone());
            }
        }
        _ => {}
    }
    error
}

/// "models this backend offers: a, b, c" (the closest first), or how to get one when it has none.
pub fn models_hint(wanted: &str, models: &[String]) -> String {
    if models.is_empty() {
        return format!("the backend offers no models; install or pull `{wanted}` first");
    }
    let mut ranked: Vec<&String> = models.iter().collect();
    ranked.sort_by(|a, b| {
        strsim::jaro_winkler(wanted, b)
            .partial_cmp(&strsim::jaro_winkler(wanted, a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let shown: Vec<&str> = ranked.iter().take(12).map(|s| s.as_str()).collect();
    let more = models.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    format!("models this backend offers: {}{tail}", shown.join(", "))
}

/// Test helpers for decoders: feed a body cut at given points.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Decode `body` cut at `cuts` (sorted), then EOF. Returns the events and the first error.
    pub fn decode_split(
        mut dec: Box<dyn Decoder>,
        body: &[u8],
        cuts: &[usize],
    ) -> (Vec<LlmEvent>, Option<DecodeError>) {
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
            if let Err(e) = dec.feed(&body[start..cut], &mut out) {
                return (out, Some(e));
            }
            start = cut;
            if dec.is_done() {
                return (out, None);
            }
        }
        let err = dec.finish(&mut out).err();
        (out, err)
    }

    /// Adjacent text deltas joined, so that results from different splits compare equal.
    pub fn merge_text(events: Vec<LlmEvent>) -> Vec<LlmEvent> {
        let mut out: Vec<LlmEvent> = Vec::new();
        for ev in events {
            if let (LlmEvent::TextDelta(t), Some(LlmEvent::TextDelta(prev))) = (&ev, out.last_mut())
            {
                prev.push_str(t);
                continue;
            }
            out.push(ev);
        }
        out
    }

    /// Assert the decoder gives the same events for the whole body, for every single cut and for
    /// one byte at a time.
    pub fn assert_split_invariant(
        new: fn() -> Box<dyn Decoder>,
        body: &[u8],
    ) -> (Vec<LlmEvent>, Option<DecodeError>) {
        let whole = decode_split(new(), body, &[]);
        for cut in 0..=body.len() {
            let (ev, err) = decode_split(new(), body, &[cut]);
            assert_eq!(
                (merge_text(ev), err),
                (merge_text(whole.0.clone()), whole.1.clone()),
                "cut at {cut}"
            );
        }
        let all: Vec<usize> = (1..body.len()).collect();
        let (ev, err) = decode_split(new(), body, &all);
        assert_eq!(
            (merge_text(ev), err),
            (merge_text(whole.0.clone()), whole.1.clone()),
            "byte by byte"
        );
        whole
    }
}
