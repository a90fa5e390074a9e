//! Turning an HTTP error answer into a classified [`LlmError`] a person can act on.
//!
//! Error bodies differ by server (`{"error":{"type","code","message"}}` with `code` a string or an
//! integer, Anthropic's `{"type":"error","error":{…}}`, Ollama's `{"error":"text"}`, FastAPI's
//! `{"detail":…}`, plain-text 500s). The body is parsed leniently only to pick the category; the
//! message keeps the raw body text (trimmed, shortened) so nothing the server said is lost.

use serde_json::Value;

use crate::llm::{ErrorKind, LlmError};

/// Everything known about one failed HTTP answer.
#[derive(Clone, Debug)]
pub struct HttpFailure<'a> {
    pub backend: &'a str,
    pub model: &'a str,
    pub status: u16,
    pub body: &'a str,
    pub retry_after_ms: Option<u64>,
    /// What to do when the key is refused (from [`crate::llm::secret::KeySource::fix_hint`]).
    pub auth_hint: String,
}

/// Longest part of a server's body kept in a message.
pub const MAX_BODY_CHARS: usize = 600;

/// Classify a non-2xx answer.
pub fn classify_http(f: &HttpFailure<'_>) -> LlmError {
    let signals = Signals::of(f.body);
    let kind = kind_of(f.status, &signals);
    let body = shorten(f.body);
    let what = describe(kind);
    let message = if body.is_empty() {
        format!("{what} (HTTP {})", f.status)
    } else {
        format!("{what} (HTTP {}): {body}", f.status)
    };
    let mut err = LlmError::new(kind, f.backend, message)
        .with_model(f.model)
        .with_status(f.status);
    err.retry_after_ms = f.retry_after_ms;
    match kind {
        ErrorKind::Auth => err.with_hint(f.auth_hint.clone()),
        other => match hint_for(other) {
            Some(h) => err.with_hint(h),
            None => err,
        },
    }
}

/// Classify an error object that arrived inside a stream (after HTTP 200): the `type`/`code` and
/// message the server gave.
pub fn classify_stream_error(kind_text: &str, message: &str) -> ErrorKind {
    let signals = Signals {
        text: format!("{kind_text} {message}").to_lowercase(),
    };
    // With no recognisable category it is a server-side failure (retryable before the first
    // token) unless it reads like a rejected request.
    match kind_of(200, &signals) {
        ErrorKind::BadRequest
            if !signals.has(&["invalid_request", "invalid request", "bad request"]) =>
        {
            ErrorKind::Overloaded
        }
        k => k,
    }
}

/// A fixed phrase for each kind, used at the start of messages.
pub fn describe(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Auth => "authentication failed",
        ErrorKind::Quota => "quota or billing limit reached",
        ErrorKind::RateLimit => "rate limited",
        ErrorKind::Overloaded => "the server is overloaded or failing",
        ErrorKind::ContextTooLong => "the prompt is too long for the model's context window",
        ErrorKind::UnknownModel => "unknown model",
        ErrorKind::Network => "network error",
        ErrorKind::Timeout => "timed out",
        ErrorKind::Protocol => "the server broke the stream format",
        ErrorKind::BadRequest => "the server rejected the request",
        ErrorKind::Config => "configuration error",
        ErrorKind::CancelledByPeer => "the other side cancelled the call",
    }
}

/// The general advice for a kind (auth and unknown-model hints are more specific and built by
/// the caller).
pub fn hint_for(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::Quota => {
            Some("check the plan and billing of this account; retrying will not help")
        }
        ErrorKind::RateLimit => Some("wait a moment and try again, or lower the request rate"),
        ErrorKind::Overloaded => Some("the server is busy or failing; try again later"),
        ErrorKind::ContextTooLong => Some(
            "shorten the history (team context = \"last_n\" or \"summary\") or use a model with a larger context window",
        ),
        ErrorKind::UnknownModel => {
            Some("run `conclave check` to list the models this backend offers")
        }
        _ => None,
    }
}

/// `text` trimmed and cut to [`MAX_BODY_CHARS`] characters.
pub fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_BODY_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_BODY_CHARS).collect();
    out.push('…');
    out
}

/// The lower-cased words of a body that decide its category: the whole text plus the `type` and
/// `code` fields wherever they sit.
struct Signals {
    text: String,
}

impl Signals {
    fn of(body: &str) -> Self {
        let mut text = body.to_lowercase();
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            for field in ["type", "code", "status"] {
                for holder in [Some(&v), v.get("error")].into_iter().flatten() {
                    if let Some(x) = holder.get(field) {
                        text.push(' ');
                        text.push_str(&value_text(x).to_lowercase());
                    }
                }
            }
        }
        Signals { text }
    }

    fn has(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.text.contains(w))
    }
}

fn kind_of(status: u16, s: &Signals) -> ErrorKind {
    if s.has(&[
        "insufficient_quota",
        "billing",
        "credit balance",
        "quota exceeded",
    ]) || status == 402
    {
        return ErrorKind::Quota;
    }
    if s.has(&[
        "context_length_exceeded",
        "prompt is too long",
        "exceed_context_size",
        "maximum context length",
        "context window",
        "too many tokens",
        "exceeds the context",
        "available context size",
        "context length",
        "n_ctx",
    ]) {
        return ErrorKind::ContextTooLong;
    }
    if status == 401
        || status == 403
        || s.has(&[
            "authentication_error",
            "invalid_api_key",
            "permission_error",
        ])
    {
        return ErrorKind::Auth;
    }
    if status == 429 || s.has(&["rate_limit", "rate limit"]) {
        return ErrorKind::RateLimit;
    }
    if status == 529 || s.has(&["overloaded"]) {
        return ErrorKind::Overloaded;
    }
    if s.has(&[
        "model_not_found",
        "does not exist",
        "no such model",
        "unknown model",
    ]) || (s.has(&["model"]) && s.has(&["not found"]))
        || status == 404
    {
        return ErrorKind::UnknownModel;
    }
    if status >= 500 || s.has(&["api_error", "server_error", "internal error"]) {
        return ErrorKind::Overloaded;
    }
    ErrorKind::BadRequest
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> LlmError {
        classify_http(&HttpFailure {
            backend: "b",
            model: "m",
            status,
            body,
            retry_after_ms: None,
            auth_hint: "set KEY_VAR".into(),
        })
    }

    #[test]
    fn categories_from_status_and_body() {
        let cases = [
            (
                401,
                r#"{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                ErrorKind::Auth,
            ),
            (
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
                ErrorKind::Quota,
            ),
            (
                402,
                r#"{"type":"error","error":{"type":"billing_error","message":"no credit"}}"#,
                ErrorKind::Quota,
            ),
            (
                429,
                r#"{"error":{"message":"slow down","code":429}}"#,
                ErrorKind::RateLimit,
            ),
            (
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                ErrorKind::Overloaded,
            ),
            (503, "upstream connect error", ErrorKind::Overloaded),
            (
                400,
                r#"{"error":{"code":"context_length_exceeded","message":"too long"}}"#,
                ErrorKind::ContextTooLong,
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 300000 tokens > 200000 maximum"}}"#,
                ErrorKind::ContextTooLong,
            ),
            (
                400,
                r#"{"error":{"code":400,"message":"request exceeds the available context size","type":"exceed_context_size_error"}}"#,
                ErrorKind::ContextTooLong,
            ),
            (
                404,
                r#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
                ErrorKind::UnknownModel,
            ),
            (404, r#"{"detail":"Not Found"}"#, ErrorKind::UnknownModel),
            (
                400,
                r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it (n_prompt_tokens: 900, n_ctx: 512)","type":"invalid_request_error"}}"#,
                ErrorKind::ContextTooLong,
            ),
            (
                400,
                r#"{"detail":"Requested tokens (700) exceed context window of 512"}"#,
                ErrorKind::ContextTooLong,
            ),
            (
                400,
                r#"{"error":{"message":"temperature out of range","code":"invalid_value"}}"#,
                ErrorKind::BadRequest,
            ),
        ];
        for (status, body, kind) in cases {
            assert_eq!(classify(status, body).kind, kind, "{status} {body}");
        }
    }

    #[test]
    fn message_keeps_the_trimmed_raw_body_and_hints() {
        let e = classify(401, "  nope \n");
        assert_eq!(e.message, "authentication failed (HTTP 401): nope");
        assert_eq!(e.hint.as_deref(), Some("set KEY_VAR"));
        assert_eq!(
            e.to_string(),
            "backend 'b' (m): authentication failed (HTTP 401): nope — set KEY_VAR"
        );
        let long = "x".repeat(2000);
        assert!(classify(500, &long).message.chars().count() < 700);
    }

    #[test]
    fn stream_errors() {
        assert_eq!(
            classify_stream_error("overloaded_error", "Overloaded"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            classify_stream_error("", "something odd happened"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            classify_stream_error("invalid_request_error", "bad"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            classify_stream_error("", "model \"x\" not found"),
            ErrorKind::UnknownModel
        );
    }
}
