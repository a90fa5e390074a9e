//! The one HTTP provider, generic over the wire protocol.
//!
//! Mental model: every HTTP backend is the same machine — an [`HttpBackend`] (client, base URL,
//! headers, timeouts), a POST of a JSON body to a chat endpoint, a [`Decoder`] for the streamed
//! answer, and a GET of a model list. Only those four things differ between protocols, so each
//! protocol module (`openai`, `anthropic`, `ollama`) implements [`Wire`] and nothing else;
//! [`HttpProvider<W>`] is the single `impl Provider` that runs them through
//! [`crate::llm::stream`] (retries, cancellation, sanitizing). Each provider keeps the serialized
//! messages of its recent requests ([`crate::llm::body`]) so a turn serializes only what is new.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::BackendConfig;
use crate::llm::body::MessageCache;
use crate::llm::forced::{self, Markers};
use crate::llm::http::{HttpBackend, model_names};
use crate::llm::stream::{self, Decoder, MarkerForm, StreamJob};
use crate::llm::{ChatRequest, LlmError, LlmStream, Provider};

/// What one wire protocol supplies: how to connect, where to post, what to post, and how to read
/// the answer.
pub trait Wire: Send + Sync + Sized + 'static {
    /// The chat endpoint, appended to the base URL (`/chat/completions`).
    const CHAT_PATH: &'static str;
    /// The model list endpoint, appended to the base URL (`/models`).
    const MODELS_PATH: &'static str;

    /// Resolve `[backends.name]` into the backend's connection (base URL, auth style, extra
    /// headers) and the protocol's own settings.
    fn connect(name: &str, cfg: &BackendConfig) -> Result<(HttpBackend, Self), LlmError>;

    /// The JSON body of one chat request.
    fn body(&self, request: &ChatRequest) -> Value;

    /// The same body as bytes, as sent. `cache` holds the serialized messages of this provider's
    /// recent requests ([`MessageCache`]); a protocol whose messages map one to one onto the
    /// request's reuses them, the others serialize [`Wire::body`].
    fn body_bytes(&self, request: &ChatRequest, _cache: &mut MessageCache) -> Vec<u8> {
        serde_json::to_vec(&self.body(request)).unwrap_or_default()
    }

    /// A fresh decoder for one attempt's response body.
    fn decoder() -> Box<dyn Decoder>;

    /// An extra hint for context-too-long errors (Ollama: raise `num_ctx`).
    fn context_hint(&self, _backend: &str) -> Option<String> {
        None
    }

    /// Ask the server for `model`'s context window. By default llama.cpp's `GET /props` at the
    /// server root (`base_url` without a trailing `/v1`), asked only of a server on this machine
    /// or the local network ([`crate::llm::context::is_local`]): a hosted API has no `/props`.
    fn ask_context_window(
        &self,
        http: Arc<HttpBackend>,
        _model: String,
    ) -> BoxFuture<'static, Option<u32>> {
        Box::pin(async move {
            if !crate::llm::context::is_local(&http.base_url) {
                return None;
            }
            let root = http.base_url.trim_end_matches("/v1");
            let props = http.json_call(&format!("{root}/props"), None).await.ok()?;
            crate::llm::context::window_from_props(&props)
        })
    }
}

/// A backend speaking the wire protocol `W`.
#[derive(Clone, Debug)]
pub struct HttpProvider<W: Wire> {
    http: Arc<HttpBackend>,
    tools: bool,
    wire: W,
    bodies: Arc<Mutex<MessageCache>>,
    /// Set once the backend refused or ignored a forced tool call.
    markers: Markers,
}

impl<W: Wire> HttpProvider<W> {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, LlmError> {
        let (http, wire) = W::connect(name, cfg)?;
        Ok(HttpProvider {
            http: Arc::new(http),
            tools: cfg.tools.unwrap_or(true),
            wire,
            bodies: Arc::default(),
            markers: Markers::default(),
        })
    }

    fn job(&self, request: &ChatRequest) -> StreamJob {
        StreamJob {
            backend: self.http.clone(),
            model: request.model.clone(),
            url: self.http.url(W::CHAT_PATH),
            body: self.body(request).into(),
            new_decoder: W::decoder,
            list_models: list_models::<W>,
            context_hint: self.wire.context_hint(&self.http.name),
            forced: matches!(request.tool_choice, crate::llm::ToolChoice::Tool(_))
                && !request.tools.is_empty(),
            marker_form: None,
            prompt_estimate: crate::llm::context::estimate_prompt(request),
        }
    }
}

impl<W: Wire> Provider for HttpProvider<W> {
    fn backend(&self) -> &str {
        &self.http.name
    }

    fn supports_tools(&self) -> bool {
        self.tools
    }

    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream {
        let Some(marker_form) = forced::marker_form(&request) else {
            return stream::start(self.job(&request), cancel);
        };
        if self.markers.on() {
            return stream::start(self.job(&marker_form), cancel);
        }
        let used = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut job = self.job(&request);
        job.marker_form = Some(MarkerForm {
            body: self.body(&marker_form).into(),
            markers: self.markers.clone(),
            used: used.clone(),
        });
        let second = self.job(&marker_form);
        forced::with_fallback(
            stream::start(job, cancel.clone()),
            Box::new(move || stream::start(second, cancel)),
            self.markers.clone(),
            used,
            self.http.name.clone(),
        )
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        list_models::<W>(self.http.clone())
    }

    fn context_window(&self, model: &str) -> BoxFuture<'static, Option<u32>> {
        if let Some(known) = self.http.windows.get(model) {
            let known = known.map(|w| self.http.windows.in_estimate(model, w));
            return Box::pin(async move { known });
        }
        let windows = self.http.windows.clone();
        let (model, ask) = (
            model.to_string(),
            self.wire
                .ask_context_window(self.http.clone(), model.to_string()),
        );
        Box::pin(async move {
            let window = ask.await;
            windows.set(&model, window);
            let window = windows.get(&model).flatten()?;
            Some(windows.in_estimate(&model, window))
        })
    }
}

impl<W: Wire> HttpProvider<W> {
    fn body(&self, request: &ChatRequest) -> Vec<u8> {
        match self.bodies.lock() {
            Ok(mut cache) => self.wire.body_bytes(request, &mut cache),
            // A panic while the cache was held leaves it suspect: build without it.
            Err(_) => self.wire.body_bytes(request, &mut MessageCache::default()),
        }
    }
}

fn list_models<W: Wire>(
    http: Arc<HttpBackend>,
) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
    Box::pin(async move { Ok(model_names(&http.get_json(W::MODELS_PATH).await?)) })
}
