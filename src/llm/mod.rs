//! LLM providers: one `Provider` trait, one module per wire protocol.
//!
//! Mental model: a provider turns a [`ChatRequest`] into a stream of normalized [`LlmEvent`]s.
//! Every wire format (OpenAI SSE, Anthropic SSE, Ollama NDJSON, the offline scripted backend)
//! ends up as the same handful of events: text deltas, whole tool calls (arguments kept as the raw
//! JSON text the model produced), usage, and a finish reason. Parsing is pure (bytes in, events out)
//! and lives apart from IO so it can be tested at every chunk split. Retries happen inside the
//! provider and only before the first token; each retry is announced with `LlmEvent::Retrying` so
//! the orchestrator can show and count it.
//!
//! Contract of [`Provider::stream`]:
//! - yields zero or more `Ok(TextDelta | ToolCall | Usage | Retrying)`, then exactly one
//!   `Ok(Finished(..))` and ends; or yields `Err(LlmError)` once and ends (text already yielded
//!   stays valid: the caller keeps it as partial text);
//! - when `cancel` fires, the stream ends promptly (yields `None`), dropping the HTTP connection;
//! - tool calls are yielded whole, in the order the model produced them, once the call is complete.
//!
//! Map: [`wire::HttpProvider`] is the one HTTP provider, generic over a [`wire::Wire`] that each
//! protocol module (`openai`, `anthropic`, `ollama`) implements with its endpoint, body and
//! decoder; [`stream`] is its request loop (retries, cancellation, the one sanitizer pass over
//! everything a provider yields) and [`http`] its connection; `scripted` replays a script;
//! [`vocab`] holds the tool names and markers shared with the orchestrator; [`estimate`] the
//! tokenizer-free token counts used where a server reports none; [`gate`] is a
//! backend's queue (`max_concurrent`), [`forced`] the fallback to text markers for servers that
//! cannot force tool calls, [`context`] what a server says about its context window.

pub mod a2a;
pub mod anthropic;
pub mod body;
pub mod classify;
pub mod context;
pub mod error;
pub mod estimate;
pub mod forced;
pub mod gate;
pub mod http;
pub mod ndjson;
pub mod ollama;
pub mod openai;
pub mod registry;
pub mod replay;
pub mod scripted;
pub mod secret;
pub mod sse;
pub mod stream;
pub mod tls;
pub mod vocab;
pub mod wire;

pub use error::{ErrorKind, LlmError};
pub use registry::{BackendReport, ToolForm, build_provider, check_backend, probe_tool_form};

use std::pin::Pin;

use futures_util::Stream;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// A boxed stream of provider events.
pub type LlmStream = Pin<Box<dyn Stream<Item = Result<LlmEvent, LlmError>> + Send>>;

/// One backend speaking one wire protocol.
pub trait Provider: Send + Sync + 'static {
    /// The backend's name from the config (`[backends.NAME]`), used in errors and metrics.
    fn backend(&self) -> &str;

    /// Whether the backend's models take tool definitions. When false the orchestrator uses the
    /// text markers of DESIGN section 2 (`HANDOFF: agent: reason`, `VOTE: …`) instead of tools.
    fn supports_tools(&self) -> bool {
        true
    }

    /// Start one streamed completion. See the module docs for the contract.
    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream;

    /// The models the backend offers (OpenAI `/models`, Anthropic `/v1/models`, Ollama `/api/tags`).
    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>>;

    /// `model`'s context window, where the server says it (llama.cpp `/props`, Ollama
    /// `/api/show`, a context-too-long error that named it); asked once per model, then
    /// remembered. In tokens of [`context::estimate_prompt`], calibrated by the prompt tokens the
    /// server reported so far. `None` when the server does not say.
    fn context_window(&self, _model: &str) -> BoxFuture<'static, Option<u32>> {
        Box::pin(async { None })
    }
    /// Told by a front end whose sessions end with their task (`run`, `serve`): nobody will be
    /// there to answer a question a turn ends with. Only remote (A2A) agents ask such questions.
    fn set_headless(&self, _headless: bool) {}
}

/// A complete request for one model turn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    /// The system prompt. Anthropic sends it as the top-level `system` field; the others as the
    /// first message with role `system`.
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// For a forced call (`tool_choice` naming a tool): the system prompt of the same request in
    /// the text-marker form (no tools; the answer is a `VOTE: …` line). A backend that refuses or
    /// ignores forced tool calls is asked this way instead ([`forced`]). Set by the orchestrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_system: Option<String>,
}

/// One message of the conversation sent to a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ChatMessage {
    /// Text from the person, or another agent's words relayed to this agent.
    User { text: String },
    /// What this model said before, with the tool calls it made.
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The answer to one earlier tool call. Every call is answered exactly once, in order,
    /// before the next model call.
    ToolResult {
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

/// A tool the model may call. `parameters` is a JSON Schema object; a tool without parameters
/// still sends `{"type":"object","properties":{}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (the default; ignored when no tools are sent).
    #[default]
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call this tool (`tool_choice` naming it).
    Tool(String),
}

/// A complete tool call. `arguments` is the raw JSON text exactly as the model produced it
/// (it may be `""`, `"null"` or even invalid JSON from a small model: never a reason to crash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    /// Parse the arguments as a JSON object. `""` and `"null"` count as `{}`.
    pub fn parse_arguments(&self) -> Result<serde_json::Value, String> {
        let raw = self.arguments.trim();
        if raw.is_empty() || raw == "null" {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v @ serde_json::Value::Object(_)) => Ok(v),
            Ok(other) => Err(format!("tool arguments must be a JSON object, got {other}")),
            Err(e) => Err(format!("tool arguments are not valid JSON: {e}")),
        }
    }
}

/// Token counts. `None` means the backend did not say (shown as unknown, never as zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input: Option<u64>,
    pub output: Option<u64>,
}

/// Why the model stopped. Also the `finish` of a `message` event, written as its plain name
/// (`"length"`); a name this build does not know reads back as `Other` and writes unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FinishReason {
    Stop,
    /// Cut off by `max_tokens` (`length`, `max_tokens`): keep the text, mark the message.
    Length,
    ToolCalls,
    ContentFilter,
    Other(String),
}

impl FinishReason {
    /// The short name used in `message.finish` events.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }
}

impl From<&str> for FinishReason {
    fn from(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

impl From<String> for FinishReason {
    fn from(s: String) -> Self {
        FinishReason::from(s.as_str())
    }
}

impl From<FinishReason> for String {
    fn from(f: FinishReason) -> String {
        f.as_str().to_string()
    }
}

impl std::fmt::Display for FinishReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for FinishReason {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One normalized event of a streamed completion.
#[derive(Clone, Debug, PartialEq)]
pub enum LlmEvent {
    TextDelta(String),
    ToolCall(ToolCall),
    /// Usage so far; a later `Usage` replaces an earlier one (assign, don't add).
    Usage(Usage),
    /// The request failed before any token and will be tried again after `delay_ms`.
    Retrying {
        attempt: u32,
        delay_ms: u64,
        error: LlmError,
    },
    Finished(FinishReason),
    /// The request waits in the backend's queue (`max_concurrent` requests are in flight).
    Queued {
        backend: String,
    },
    /// The request left the queue and goes out now: its latency counts from here.
    Admitted,
    /// One line the person should see about how this backend is asked (the switch to text
    /// markers after a refused forced tool call).
    Notice(String),
}
