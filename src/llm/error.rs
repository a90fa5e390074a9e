//! The one error type of every provider: classified, and rendered as a message that names the
//! backend, the model and what the person can do about it. Never contains an API key, nor a
//! control sequence from a server's answer: the rendering (what events, journals, logs and
//! screens get) goes through [`crate::text::redact::redact_secrets`] (key-like strings, URL
//! credentials and query values) and [`crate::text::sanitize_text`].

use serde::{Deserialize, Serialize};

/// What went wrong, in the categories a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 401 / 403: the key is missing or wrong.
    Auth,
    /// 429 `insufficient_quota`, 402 billing: never retried.
    Quota,
    /// 429 rate limit (retried after the server's delay).
    RateLimit,
    /// 5xx, Anthropic 529, `overloaded_error` (retried only before the first token).
    Overloaded,
    /// The prompt does not fit the model's context window.
    ContextTooLong,
    /// 404 / `model "x" not found`.
    UnknownModel,
    /// Connection refused, reset, DNS, TLS.
    Network,
    /// Connect timeout, idle timeout between stream events, or a turn deadline.
    Timeout,
    /// The server broke its wire format: malformed chunk, EOF before the terminal event.
    Protocol,
    /// Another 4xx the server rejected (bad parameter, …).
    BadRequest,
    /// A configuration problem found when building the provider (missing key env var, …).
    Config,
    /// The other side ended the call on purpose (a remote A2A agent cancelled its task): the
    /// turn is cancelled, not failed.
    CancelledByPeer,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Auth,
        ErrorKind::Quota,
        ErrorKind::RateLimit,
        ErrorKind::Overloaded,
        ErrorKind::ContextTooLong,
        ErrorKind::UnknownModel,
        ErrorKind::Network,
        ErrorKind::Timeout,
        ErrorKind::Protocol,
        ErrorKind::BadRequest,
        ErrorKind::Config,
        ErrorKind::CancelledByPeer,
    ];

    /// The kind named `name` (its [`ErrorKind::as_str`]), if any.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The snake_case name used in events (`turn_failed.error.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Quota => "quota",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::ContextTooLong => "context_too_long",
            ErrorKind::UnknownModel => "unknown_model",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Config => "config",
            ErrorKind::CancelledByPeer => "cancelled_by_peer",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified provider error. `Display` gives one readable line:
/// `backend 'openai' (gpt-4o): authentication failed (HTTP 401): … — set OPENAI_API_KEY`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct LlmError {
    pub kind: ErrorKind,
    pub backend: String,
    /// Empty when the error is not about one model (listing models, building the client).
    pub model: String,
    /// What happened, in words, including the server's own message when it gave one.
    pub message: String,
    /// What to do about it (the env var to set, the models that exist, …).
    pub hint: Option<String>,
    pub status: Option<u16>,
    /// Server-requested delay before a retry (`retry-after-ms` / `retry-after`).
    pub retry_after_ms: Option<u64>,
}

impl LlmError {
    pub fn new(kind: ErrorKind, backend: impl Into<String>, message: impl Into<String>) -> Self {
        LlmError {
            kind,
            backend: backend.into(),
            model: String::new(),
            message: message.into(),
            hint: None,
            status: None,
            retry_after_ms: None,
        }
    }

    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Whether trying again (before any token was shown) can help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimit | ErrorKind::Overloaded | ErrorKind::Network | ErrorKind::Timeout
        )
    }

    fn render(&self) -> String {
        let mut out = format!("backend '{}'", self.backend);
        if !self.model.is_empty() {
            out.push_str(&format!(" ({})", self.model));
        }
        out.push_str(": ");
        out.push_str(&self.message);
        if let Some(status) = self.status
            && !self.message.contains(&status.to_string())
        {
            out.push_str(&format!(" (HTTP {status})"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(" — ");
            out.push_str(hint);
        }
        crate::text::sanitize_text(&crate::text::redact::redact_secrets(&out))
    }
}
