//! A remote agent over A2A, as a provider: `[agents.NAME] a2a = "URL"` makes the agent a member
//! like any other, whose turns are answered by another program.
//!
//! Mental model: the remote is a whole agent, not a model. A turn sends the context (system text
//! and the conversation, flattened to one text message) as one A2A message and turns the reply
//! into the usual [`LlmEvent`]s: artifact and message text as `TextDelta`s (parts joined without
//! separators), the task's end as `Finished`. The agent card (fetched once, from
//! [`wire::CARD_PATH`] below the URL) decides the version (1.0 with the `A2A-Version: 1.0` header,
//! else the 0.3 names) and whether to stream (`capabilities.streaming`: SSE through the shared
//! parser). The remote takes no tool definitions, so votes, handoffs and the other structured
//! answers use the text markers (`VOTE: agree: …`).
//!
//! Task states: submitted / working stream on; completed finishes; failed / rejected / canceled
//! fail the turn with the remote's reason; input-required (and auth-required) ends the turn with
//! the remote's question as the reply (finish `input_required`): the person answers it like any
//! message, and the next turn sends that answer into the same remote task instead of starting a
//! new one; where nobody can answer (`run`, `serve`: [`Provider::set_headless`]) the question
//! fails the turn instead, naming it, and the remote task is cancelled. Cancelling the turn
//! closes the stream and sends the remote `CancelTask`
//! (`tasks/cancel`) from a task of its own, so the remote stops working too. No retries: sending
//! a message twice could make the remote do the work twice.

pub mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use reqwest::header::{ACCEPT, HeaderValue};
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use self::wire::{Card, State, TaskRef, Update, Version};
use crate::config::BackendConfig;
use crate::config::schema::A2A_BACKEND_PREFIX;
use crate::llm::http::{AuthStyle, HttpBackend};
use crate::llm::sse::SseParser;
use crate::llm::stream::drive;
use crate::llm::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmError, LlmEvent, LlmStream, Provider,
};

/// The finish reason of a turn that ended because the remote asked a question.
pub const FINISH_INPUT_REQUIRED: &str = "input_required";
/// How the context labels the person's words (`[user]: …`); the answer to a remote's question
/// goes back without it.
const PERSON_LABEL: &str = "[user]: ";
/// Longest wait for the remote's answer to a cancel.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// One remote agent.
pub struct A2aProvider {
    backend: Arc<HttpBackend>,
    card: Arc<OnceCell<Card>>,
    /// The remote task waiting for the person's answer (input-required), if any.
    waiting: Arc<Mutex<Option<Waiting>>>,
    /// Nobody answers after a turn (`run`, `serve`): a question fails the turn.
    headless: Arc<AtomicBool>,
}

/// A remote task that asked a question (input-required).
#[derive(Clone, Debug)]
struct Waiting {
    task: TaskRef,
    /// What it asked: the answer goes back only into the conversation whose last reply by this
    /// agent is that question (a provider is shared by every session of a front end).
    question: String,
}

impl A2aProvider {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, LlmError> {
        let Some(url) = cfg.base_url.as_deref() else {
            return Err(LlmError::new(
                ErrorKind::Config,
                name,
                "a remote agent needs its A2A server's URL",
            )
            .with_hint("set a2a = \"http://host:port\" on the agent"));
        };
        let backend = HttpBackend::new(name, cfg, url, AuthStyle::Bearer, None).map_err(|e| {
            match (&cfg.api_key_env, e.kind) {
                // The key of a remote agent is its bearer token, set on the agent.
                (Some(var), ErrorKind::Config) => {
                    let agent = name.strip_prefix(A2A_BACKEND_PREFIX).unwrap_or(name);
                    LlmError::new(
                        ErrorKind::Config,
                        name,
                        format!("the environment variable {var} (bearer_token_env) is not set or empty"),
                    )
                    .with_hint(format!(
                        "export {var}=<the remote agent's token>, or change bearer_token_env in [agents.{agent}]"
                    ))
                }
                _ => e,
            }
        })?;
        Ok(A2aProvider {
            backend: Arc::new(backend),
            card: Arc::new(OnceCell::new()),
            waiting: Arc::new(Mutex::new(None)),
            headless: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// The agent card of `backend`, fetched once.
async fn card_of(backend: &HttpBackend, cell: &OnceCell<Card>) -> Result<Card, LlmError> {
    cell.get_or_try_init(|| async {
        let raw = backend.get_json(wire::CARD_PATH).await?;
        wire::parse_card(&backend.base_url, &raw).map_err(|e| {
            LlmError::new(ErrorKind::Protocol, &backend.name, e).with_hint(format!(
                "check that {} serves an A2A agent card at {}",
                backend.shown_url(),
                wire::CARD_PATH
            ))
        })
    })
    .await
    .cloned()
}

impl Provider for A2aProvider {
    fn backend(&self) -> &str {
        &self.backend.name
    }

    fn supports_tools(&self) -> bool {
        false
    }

    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream {
        let turn = Turn {
            backend: self.backend.clone(),
            card: self.card.clone(),
            waiting: self.waiting.clone(),
            headless: self.headless.load(Ordering::Relaxed),
            task: Arc::new(Mutex::new(None)),
            model: request.model.clone(),
        };
        let token = cancel.clone();
        drive(move |tx| turn.run(request, tx, token), cancel)
    }

    fn set_headless(&self, headless: bool) {
        self.headless.store(headless, Ordering::Relaxed);
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let (backend, cell) = (self.backend.clone(), self.card.clone());
        Box::pin(async move {
            let card = card_of(&backend, &cell).await?;
            Ok(std::iter::once(card.name).chain(card.skills).collect())
        })
    }
}

use crate::llm::stream::Emit;

/// One turn's exchange with the remote.
struct Turn {
    backend: Arc<HttpBackend>,
    card: Arc<OnceCell<Card>>,
    waiting: Arc<Mutex<Option<Waiting>>>,
    headless: bool,
    /// The remote task this turn started or continued, once known (what a cancel cancels).
    task: Arc<Mutex<Option<TaskRef>>>,
    model: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Turn {
    async fn run(self, request: ChatRequest, tx: Emit, cancel: CancellationToken) {
        let done = CancellationToken::new();
        let _done = done.clone().drop_guard();
        let (backend, card, task) = (self.backend.clone(), self.card.clone(), self.task.clone());
        // Its own task: the stream's is aborted when the turn is cancelled.
        tokio::spawn(async move {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    let task = lock(&task).clone();
                    if let (Some(task), Some(card)) = (task, card.get()) {
                        cancel_remote(&backend, card, &task.id).await;
                    }
                }
                _ = done.cancelled() => {}
            }
        });
        let end = match self.exchange(&request, &tx).await {
            Ok(reason) => Ok(LlmEvent::Finished(reason)),
            Err(e) => Err(e),
        };
        let _ = tx.send(end);
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> LlmError {
        LlmError::new(kind, &self.backend.name, message).with_model(&self.model)
    }

    async fn exchange(&self, request: &ChatRequest, tx: &Emit) -> Result<FinishReason, LlmError> {
        let backend = &self.backend;
        let card = card_of(backend, &self.card).await?;
        let waiting = lock(&self.waiting)
            .take()
            .filter(|w| last_reply(request) == Some(w.question.as_str()))
            .map(|w| w.task);
        let text = match &waiting {
            Some(_) => last_user_text(request),
            None => prompt_text(request),
        };
        *lock(&self.task) = waiting.clone();
        let body = wire::send_request(
            card.version,
            card.streaming,
            next_id(),
            &message_id(),
            &text,
            waiting.as_ref(),
        );
        let mut post = rpc_post(backend, &card, &body);
        if card.streaming {
            post = post.header(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        let wait = backend.first_token_timeout;
        let response = tokio::time::timeout(wait, post.send())
            .await
            .map_err(|_| backend.timeout_error(&self.model, wait, false))?
            .map_err(|e| backend.network_error(&self.model, &e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let retry = crate::llm::http::retry_after(response.headers());
            let body = response.text().await.unwrap_or_default();
            return Err(backend.http_error(&self.model, status, &body, retry));
        }
        let mut fold = Fold::default();
        if !card.streaming {
            let body = tokio::time::timeout(wait, response.text())
                .await
                .map_err(|_| backend.timeout_error(&self.model, wait, false))?
                .map_err(|e| backend.network_error(&self.model, &e))?;
            if let Some(reason) = self.answer(&body, &mut fold, tx)? {
                return Ok(reason);
            }
            return Err(self.error(
                ErrorKind::Protocol,
                "the remote answered before its task finished (state still working)",
            ));
        }
        let mut bytes = response.bytes_stream();
        let mut sse = SseParser::new();
        loop {
            let wait = if fold.said {
                backend.idle_timeout
            } else {
                backend.first_token_timeout
            };
            let chunk = tokio::time::timeout(wait, bytes.next())
                .await
                .map_err(|_| backend.timeout_error(&self.model, wait, fold.said))?;
            let Some(chunk) = chunk else {
                if let Some(frame) = sse.finish()
                    && let Some(reason) = self.answer(&frame.data, &mut fold, tx)?
                {
                    return Ok(reason);
                }
                return Err(self.error(
                    ErrorKind::Protocol,
                    "the remote's stream ended before its task finished",
                ));
            };
            let chunk = chunk.map_err(|e| backend.network_error(&self.model, &e))?;
            for frame in sse.feed(&chunk) {
                if let Some(reason) = self.answer(&frame.data, &mut fold, tx)? {
                    return Ok(reason);
                }
            }
        }
    }

    /// Apply one JSON-RPC answer; the finish reason once the turn is over.
    fn answer(
        &self,
        text: &str,
        fold: &mut Fold,
        tx: &Emit,
    ) -> Result<Option<FinishReason>, LlmError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            self.error(
                ErrorKind::Protocol,
                format!(
                    "the remote sent invalid JSON ({e}): {}",
                    crate::llm::classify::shorten(text)
                ),
            )
        })?;
        let updates = wire::decode(&value).map_err(|e| {
            self.error(
                ErrorKind::BadRequest,
                format!(
                    "the remote answered with JSON-RPC error {}: {}",
                    e.code, e.message
                ),
            )
        })?;
        for update in updates {
            if let Some(reason) = self.apply(update, fold, tx)? {
                return Ok(Some(reason));
            }
        }
        Ok(None)
    }

    fn apply(
        &self,
        update: Update,
        fold: &mut Fold,
        tx: &Emit,
    ) -> Result<Option<FinishReason>, LlmError> {
        let say = |fold: &mut Fold, text: String| {
            if !text.is_empty() {
                fold.said = true;
                let _ = tx.send(Ok(LlmEvent::TextDelta(text)));
            }
        };
        Ok(match update {
            Update::Task(task) => {
                *lock(&self.task) = Some(task);
                None
            }
            Update::Text(text) => {
                say(fold, text);
                None
            }
            Update::Done => Some(FinishReason::Stop),
            Update::State(State::Completed, message) => {
                if !fold.said {
                    say(fold, message);
                }
                Some(FinishReason::Stop)
            }
            Update::State(State::InputRequired | State::AuthRequired, question) => {
                let question = match question.trim() {
                    "" => "(the remote agent needs more input)".to_string(),
                    _ => question,
                };
                if self.headless {
                    // Nobody will answer: free the remote task rather than leave it waiting.
                    let task = lock(&self.task).clone();
                    if let (Some(task), Some(card)) = (task, self.card.get().cloned()) {
                        let backend = self.backend.clone();
                        tokio::spawn(async move { cancel_remote(&backend, &card, &task.id).await });
                    }
                    return Err(self
                        .error(ErrorKind::BadRequest, format!("the remote agent asks: {question}"))
                        .with_hint("nobody can answer it here (conclave run / serve end with their task); put what it needs in the task, or talk to it in the console"));
                }
                say(fold, question.clone());
                *lock(&self.waiting) = lock(&self.task)
                    .clone()
                    .map(|task| Waiting { task, question });
                Some(FinishReason::Other(FINISH_INPUT_REQUIRED.to_string()))
            }
            Update::State(state @ (State::Failed | State::Rejected | State::Canceled), reason) => {
                let verb = match state {
                    State::Failed => "failed",
                    State::Rejected => "rejected the task",
                    _ => "cancelled the task",
                };
                let reason = match reason.trim() {
                    "" => "no reason given".to_string(),
                    r => r.to_string(),
                };
                // A task the remote cancelled ends the turn as cancelled, with its reason.
                let kind = match state {
                    State::Canceled => ErrorKind::CancelledByPeer,
                    _ => ErrorKind::BadRequest,
                };
                return Err(self.error(kind, format!("the remote agent {verb}: {reason}")));
            }
            Update::State(State::Submitted | State::Working | State::Unknown, _) => None,
        })
    }
}

/// What a turn has seen so far.
#[derive(Default)]
struct Fold {
    /// Whether any reply text was passed on.
    said: bool,
}

/// A JSON-RPC POST to the card's endpoint, with the backend's headers (the bearer token) and,
/// for 1.0, the `A2A-Version` header the reference SDK requires.
fn rpc_post(backend: &HttpBackend, card: &Card, body: &Value) -> reqwest::RequestBuilder {
    let post = backend
        .client
        .post(&card.url)
        .headers(backend.headers.clone())
        .json(body);
    match card.version {
        Version::V1 => post.header("A2A-Version", "1.0"),
        Version::V03 => post,
    }
}

/// Ask the remote to cancel `task_id`, waiting at most [`CANCEL_WAIT`]; failures are logged.
async fn cancel_remote(backend: &HttpBackend, card: &Card, task_id: &str) {
    let body = wire::cancel_request(card.version, next_id(), task_id);
    let post = rpc_post(backend, card, &body);
    match tokio::time::timeout(CANCEL_WAIT, post.send()).await {
        Ok(Ok(r)) if r.status().is_success() => {
            tracing::info!(backend = %backend.name, task = task_id, "remote task cancelled");
        }
        Ok(Ok(r)) => {
            tracing::warn!(backend = %backend.name, task = task_id, status = r.status().as_u16(), "remote cancel refused");
        }
        Ok(Err(e)) => {
            tracing::warn!(backend = %backend.name, task = task_id, error = %e, "remote cancel failed")
        }
        Err(_) => {
            tracing::warn!(backend = %backend.name, task = task_id, "remote cancel timed out")
        }
    }
}

/// The whole context as one text: the system text, then each message, the agent's own earlier
/// words marked as such.
pub fn prompt_text(request: &ChatRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(system) = request.system.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(system.to_string());
    }
    for message in &request.messages {
        match message {
            ChatMessage::User { text } => parts.push(text.clone()),
            ChatMessage::Assistant { text, .. } if !text.is_empty() => {
                parts.push(format!("(you said) {text}"));
            }
            _ => {}
        }
    }
    parts.join("\n\n")
}

/// The agent's last reply in the conversation, if any.
fn last_reply(request: &ChatRequest) -> Option<&str> {
    request.messages.iter().rev().find_map(|m| match m {
        ChatMessage::Assistant { text, .. } => Some(text.as_str()),
        _ => None,
    })
}

/// The person's answer to a remote's question: the last user message.
fn last_user_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .rev()
        .find_map(|m| match m {
            ChatMessage::User { text } => {
                Some(text.strip_prefix(PERSON_LABEL).unwrap_or(text).to_string())
            }
            _ => None,
        })
        .unwrap_or_default()
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A message id unique across processes and runs.
fn message_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("conclave-{}-{nanos:x}-{}", std::process::id(), next_id())
}

#[cfg(test)]
mod tests;
