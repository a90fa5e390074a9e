//! The HTTP side shared by every provider: one client (and connection pool) per backend built on
//! one process-wide TLS configuration (loading the platform's root certificates costs
//! milliseconds, so it happens once), timeouts, retry delays, and the plain (non-streaming) JSON
//! GET used to list models. Clients are not shared between backends or sessions: a pooled
//! connection belongs to the tokio runtime that opened it and must not outlive it.
//!
//! Timeouts: a connect timeout on the client, and two applied by the caller to every single wait
//! with `tokio::time::timeout`: until the first token (response headers, and body chunks before
//! the first text or tool call) the long first-token timeout, since a local server may be loading
//! the model or reading a long prompt; after it the shorter idle timeout, since a healthy stream
//! that has started sends something at least every few seconds, so a long silence means it is
//! stuck. There is never a total timeout: it would also cut a long, healthy stream. Retry delays honour the server's
//! `retry-after-ms` / `retry-after` (seconds or an HTTP date, capped at [`MAX_SERVER_DELAY`]),
//! else back off 0.5 s·2ⁿ capped at 8 s, with jitter.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::config::BackendConfig;
use crate::llm::classify::{HttpFailure, classify_http};
use crate::llm::secret::{KeySource, Secret, resolve_key};
use crate::llm::{ErrorKind, LlmError};

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest wait for the first token (loading a local model can take minutes).
pub const DEFAULT_FIRST_TOKEN_TIMEOUT: Duration = Duration::from_secs(300);
/// Default longest silence between two stream events once the first token has arrived: far
/// above any healthy pause, well below the five minutes a stalled stream used to hang.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default retries before the first token.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The longest server-requested delay we wait for; a longer one fails and says so.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);
/// Redirects followed (within one origin) before giving up.
pub const MAX_REDIRECTS: usize = 10;
/// Longest wait for a model list (`conclave check`).
pub const LIST_TIMEOUT: Duration = Duration::from_secs(20);

/// How a backend sends its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (OpenAI and compatibles, Ollama behind a proxy).
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
}

/// One configured backend's connection: client, URL, headers (key included, marked sensitive),
/// and its timeout and retry settings.
#[derive(Clone, Debug)]
pub struct HttpBackend {
    pub name: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub client: reqwest::Client,
    pub headers: HeaderMap,
    pub key_source: KeySource,
    /// Longest wait before the first token (see the module docs).
    pub first_token_timeout: Duration,
    /// Longest silence between two stream events after the first token.
    pub idle_timeout: Duration,
    pub max_retries: u32,
    /// Admission: `max_concurrent` and the count of requests in flight.
    pub gate: std::sync::Arc<crate::llm::gate::Gate>,
    /// The context windows the server has named, per model.
    pub windows: crate::llm::context::Windows,
}

impl HttpBackend {
    /// Build the client for `[backends.name]`. `base_url` is already resolved (defaults applied);
    /// `conventional_key_env` is the vendor's usual key variable, read when no key is configured
    /// (pass it only for the vendor's own API).
    pub fn new(
        name: &str,
        cfg: &BackendConfig,
        base_url: &str,
        auth: AuthStyle,
        conventional_key_env: Option<&str>,
    ) -> Result<Self, LlmError> {
        install_crypto_provider();
        let connect = cfg
            .connect_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let client = build_client(connect).map_err(|e| {
            LlmError::new(
                ErrorKind::Config,
                name,
                format!("could not build the HTTP client: {e}"),
            )
        })?;
        let key = resolve_key(name, cfg, conventional_key_env)?;
        let headers = build_headers(name, cfg, key.as_ref(), auth)?;
        Ok(HttpBackend {
            name: name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            client,
            headers,
            key_source: KeySource::of(cfg, conventional_key_env),
            first_token_timeout: first_token_wait(cfg),
            idle_timeout: cfg
                .idle_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_IDLE_TIMEOUT),
            max_retries: cfg.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            gate: crate::llm::gate::Gate::new(cfg.max_concurrent),
            windows: Default::default(),
        })
    }

    /// The base URL as printed: without user name, password or query values.
    pub fn shown_url(&self) -> String {
        crate::text::redact::redact_url(&self.base_url)
    }

    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// GET `path` and parse the JSON answer, classifying any failure.
    pub async fn get_json(&self, path: &str) -> Result<Value, LlmError> {
        self.json_call(&self.url(path), None).await
    }

    /// POST `body` to `path` and parse the JSON answer (Ollama's `/api/show`).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, LlmError> {
        self.json_call(&self.url(path), Some(body)).await
    }

    /// GET `url` (POST `body` when given) and parse the JSON answer, classifying any failure.
    pub async fn json_call(&self, url: &str, body: Option<&Value>) -> Result<Value, LlmError> {
        let wait = self.first_token_timeout.min(LIST_TIMEOUT);
        let url = url.to_string();
        let method = if body.is_some() { "POST" } else { "GET" };
        let request = match body {
            Some(body) => self.client.post(&url).json(body),
            None => self.client.get(&url),
        };
        let request = request.headers(self.headers.clone()).send();
        let response = tokio::time::timeout(wait, request)
            .await
            .map_err(|_| self.timeout_error("", wait, false))?
            .map_err(|e| self.network_error("", &e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(self.redirect_error("", status, response.headers()));
        }
        let retry_after_ms = retry_after(response.headers());
        let body = tokio::time::timeout(wait, response.text())
            .await
            .map_err(|_| self.timeout_error("", wait, false))?
            .map_err(|e| self.network_error("", &e))?;
        if !(200..300).contains(&status) {
            return Err(self.http_error("", status, &body, retry_after_ms));
        }
        serde_json::from_str(&body).map_err(|e| {
            LlmError::new(
                ErrorKind::Protocol,
                &self.name,
                format!(
                    "{method} {} answered with invalid JSON ({e}): {}",
                    crate::text::redact::redact_url(&url),
                    crate::llm::classify::shorten(&body)
                ),
            )
            .with_hint("check that base_url points at the API root of a server of this kind")
        })
    }

    /// A classified error for a non-2xx answer.
    pub fn http_error(
        &self,
        model: &str,
        status: u16,
        body: &str,
        retry_after_ms: Option<u64>,
    ) -> LlmError {
        let body = self.redact(body);
        let err = classify_http(&HttpFailure {
            backend: &self.name,
            model,
            status,
            body: &body,
            retry_after_ms,
            auth_hint: self.key_source.fix_hint(&self.name),
        });
        if err.kind == ErrorKind::BadRequest && body.to_lowercase().contains("support tools") {
            let hint = format!(
                "this model takes no tool definitions: set tools = false in [backends.{}] to use text markers instead",
                self.name
            );
            return err.with_hint(hint);
        }
        err
    }

    /// The error for a redirect that was not followed because it leads to another origin.
    pub fn redirect_error(&self, model: &str, status: u16, headers: &HeaderMap) -> LlmError {
        let target = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(crate::text::redact::redact_url)
            .unwrap_or_else(|| "another address".to_string());
        LlmError::new(
            ErrorKind::Config,
            &self.name,
            format!(
                "the server at {} redirected to {target}, another origin; the redirect was not followed so that the API key is not sent there",
                self.shown_url()
            ),
        )
        .with_model(model)
        .with_status(status)
        .with_hint(format!(
            "if you trust the new address, set base_url in [backends.{}] to it",
            self.name
        ))
    }

    /// A classified error for a failed connection or read.
    pub fn network_error(&self, model: &str, e: &reqwest::Error) -> LlmError {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Network
        };
        let what = if e.is_connect() {
            format!("could not connect to {}", self.shown_url())
        } else if e.is_body() || e.is_decode() {
            "the connection broke while reading the answer".to_string()
        } else {
            format!("request to {} failed", self.shown_url())
        };
        LlmError::new(kind, &self.name, format!("{what}: {}", error_chain(e)))
            .with_model(model)
            .with_hint(format!(
                "is the server running and reachable at {}?",
                self.shown_url()
            ))
    }

    /// The error for a silence longer than `waited`, before the first token or (`started`) after.
    pub fn timeout_error(&self, model: &str, waited: Duration, started: bool) -> LlmError {
        let (what, key, why) = if started {
            (
                "the stream stalled: nothing more",
                "idle_timeout_ms",
                "it pauses that long while answering",
            )
        } else {
            (
                "no answer",
                "first_token_timeout_ms",
                "the model is just slow to load or start",
            )
        };
        LlmError::new(
            ErrorKind::Timeout,
            &self.name,
            format!(
                "{what} from {} for {} ms",
                self.shown_url(),
                waited.as_millis()
            ),
        )
        .with_model(model)
        .with_hint(format!(
            "the server is slow or stuck; raise {key} in [backends.{}] if {why}",
            self.name
        ))
    }

    /// The body with the key (if the server echoed it) replaced.
    fn redact(&self, body: &str) -> String {
        let mut out = body.to_string();
        for value in self.headers.values().filter(|v| v.is_sensitive()) {
            if let Ok(text) = value.to_str() {
                let raw = text.strip_prefix("Bearer ").unwrap_or(text);
                if raw.len() >= 8 {
                    out = out.replace(raw, "[redacted]");
                }
            }
        }
        out
    }
}

/// The longest a backend's model may take to start answering: `first_token_timeout_ms`, else
/// `idle_timeout_ms` (its meaning before the two were split), else the default.
pub fn first_token_wait(cfg: &BackendConfig) -> Duration {
    cfg.first_token_timeout_ms
        .or(cfg.idle_timeout_ms)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_FIRST_TOKEN_TIMEOUT)
}

/// A client for one backend (or the OTLP exporter) on the shared TLS configuration.
pub fn build_client(connect: Duration) -> Result<reqwest::Client, String> {
    let tls = tls_config().map_err(|e| format!("TLS setup failed: {e}"))?;
    reqwest::Client::builder()
        .connect_timeout(connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_backend_preconfigured(tls)
        .redirect(redirect_policy())
        .build()
        .map_err(|e| e.to_string())
}

/// A client on the shared TLS configuration for MCP servers over streamable HTTP (`tools`).
pub fn shared_client() -> Result<reqwest::Client, String> {
    build_client(DEFAULT_CONNECT_TIMEOUT)
}

/// Redirects are followed within the origin (scheme, host, port) of the request only. Every
/// request carries the key (`Authorization`, `x-api-key`, or a header of the config's `headers`)
/// and reqwest drops only the first of those on a cross-origin hop, so such a redirect is not
/// followed at all: its 3xx answer comes back and [`HttpBackend::redirect_error`] explains it.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_none_or(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// The process's TLS configuration: the platform verifier (system roots) with ring, and ALPN for
/// HTTP/2 and HTTP/1.1 (reqwest takes a preconfigured config as it is). Built once; each client
/// gets a clone that shares the verifier.
/// The root certificates are read on the first https handshake, not here ([`super::tls`]).
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    static TLS: OnceLock<Result<rustls::ClientConfig, rustls::Error>> = OnceLock::new();
    install_crypto_provider();
    TLS.get_or_init(|| {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
        let (mut config, _) = super::tls::client_config(provider)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    })
    .clone()
}

/// Install rustls' ring crypto provider for the process, once (an already installed one is kept).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The server's requested delay: `retry-after-ms`, else `retry-after` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|t| t.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(ms as u64);
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(ms.max(0) as u64)
}

/// The delay before retry number `attempt` (0-based): the server's, when given and not above
/// [`MAX_SERVER_DELAY`] (`None` when above: do not retry), else exponential backoff with jitter.
pub fn retry_delay(server_ms: Option<u64>, attempt: u32) -> Option<Duration> {
    match server_ms {
        Some(ms) if Duration::from_millis(ms) > MAX_SERVER_DELAY => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => {
            let base = 500u64.saturating_mul(1u64 << attempt.min(16)).min(8_000);
            Some(Duration::from_millis(
                base / 2 + fastrand::u64(0..=base / 2),
            ))
        }
    }
}

/// Model names from a model list in any of the shapes servers use: `{"data":[{"id"}]}` (OpenAI,
/// Anthropic), `{"models":[{"name"|"model"|"id"}]}` (Ollama, some proxies), or a bare array.
/// Sorted, without duplicates, each cleaned of control sequences (a name is the server's text and
/// gets printed), empty ones dropped.
pub fn model_names(v: &Value) -> Vec<String> {
    let lists = [v.get("data"), v.get("models"), Some(v)];
    let mut names: Vec<String> = lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|m| match m {
            Value::String(s) => Some(s.clone()),
            obj => ["id", "name", "model"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_str))
                .map(str::to_string),
        })
        .map(|name| crate::text::sanitize_text(&name))
        .filter(|name| !name.trim().is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn build_headers(
    name: &str,
    cfg: &BackendConfig,
    key: Option<&Secret>,
    auth: AuthStyle,
) -> Result<HeaderMap, LlmError> {
    let bad = |what: String| {
        LlmError::new(ErrorKind::Config, name, what)
            .with_hint(format!("fix [backends.{name}] in the config file"))
    };
    let mut headers = HeaderMap::new();
    for (k, v) in &cfg.headers {
        let hn = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| bad(format!("header name `{k}` is not valid")))?;
        let hv = HeaderValue::from_str(v)
            .map_err(|_| bad(format!("the value of header `{k}` is not valid")))?;
        headers.insert(hn, hv);
    }
    if let Some(key) = key {
        let (hn, text) = match auth {
            AuthStyle::Bearer => (
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", key.expose()),
            ),
            AuthStyle::XApiKey => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_string(),
            ),
        };
        let mut hv = HeaderValue::from_str(&text).map_err(|_| {
            bad("the API key contains characters not allowed in an HTTP header".to_string())
        })?;
        hv.set_sensitive(true);
        headers.insert(hn, hv);
    }
    Ok(headers)
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn model_names_in_every_shape() {
        let v: Value = serde_json::from_str(r#"{"object":"list","data":[{"id":"b","owned_by":"x"},{"id":"a"}],"models":[{"name":"c"}]}"#).unwrap();
        assert_eq!(model_names(&v), ["a", "b", "c"]);
        let v: Value = serde_json::from_str(
            r#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest"}]}"#,
        )
        .unwrap();
        assert_eq!(model_names(&v), ["llama3.2:latest"]);
        assert_eq!(
            model_names(&serde_json::json!(["x", {"id": "y"}])),
            ["x", "y"]
        );
        assert!(model_names(&serde_json::json!({"detail": "nope"})).is_empty());
    }

    #[test]
    fn model_names_lose_control_sequences() {
        let v = serde_json::json!({"data": [
            {"id": "gpt\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}-4o"},
            {"id": "x\u{1b}]0;title\u{1b}\\\u{1b}[2J\u{1b}[H"},
            {"id": "\u{1b}[31m"},
        ]});
        assert_eq!(model_names(&v), ["gpt-4o", "x"]);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250")])),
            Some(250)
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "1.5"), ("retry-after", "9")])),
            Some(1)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "2")])), Some(2000));
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(0)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let ms = retry_after(&headers(&[("retry-after", &later)])).unwrap();
        assert!((20_000..=30_000).contains(&ms), "{ms}");
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn delays_backoff_with_jitter_and_cap() {
        for attempt in 0..10 {
            let d = retry_delay(None, attempt).unwrap().as_millis() as u64;
            let base = (500u64 << attempt).min(8_000);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d}");
        }
        assert_eq!(
            retry_delay(Some(1234), 0),
            Some(Duration::from_millis(1234))
        );
        assert_eq!(retry_delay(Some(61_000), 0), None);
    }

    #[test]
    fn key_header_is_sensitive_and_not_in_debug() {
        let mut cfg: BackendConfig =
            toml::from_str("kind = \"openai\"\napi_key = \"sk-secret-value-123\"").unwrap();
        cfg.headers
            .insert("HTTP-Referer".into(), "https://x".into());
        let b = HttpBackend::new(
            "oa",
            &cfg,
            "http://127.0.0.1:1/v1/",
            AuthStyle::Bearer,
            None,
        )
        .unwrap();
        assert_eq!(b.base_url, "http://127.0.0.1:1/v1");
        assert!(b.headers.get("authorization").unwrap().is_sensitive());
        assert!(!format!("{b:?}").contains("sk-secret-value-123"));
        let e = b.http_error(
            "m",
            401,
            "Incorrect API key provided: sk-secret-value-123",
            None,
        );
        assert!(!e.to_string().contains("sk-secret-value-123"), "{e}");
    }

    #[test]
    fn a_long_wait_for_the_first_token_and_a_shorter_one_between_chunks() {
        let backend = |extra: &str| {
            let cfg: BackendConfig =
                toml::from_str(&format!("kind = \"ollama\"\n{extra}")).unwrap();
            HttpBackend::new("b", &cfg, "http://127.0.0.1:1", AuthStyle::Bearer, None).unwrap()
        };
        let waits = |b: HttpBackend| (b.first_token_timeout.as_secs(), b.idle_timeout.as_secs());
        assert_eq!(waits(backend("")), (300, 60));
        // A config written before the split keeps its meaning: one limit for every wait.
        assert_eq!(waits(backend("idle_timeout_ms = 900000")), (900, 900));
        assert_eq!(waits(backend("first_token_timeout_ms = 600000")), (600, 60));
        let both = "first_token_timeout_ms = 120000\nidle_timeout_ms = 5000";
        assert_eq!(waits(backend(both)), (120, 5));
    }
}

#[cfg(test)]
mod tls_tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn every_backend_gets_its_own_client_on_the_one_tls_config() {
        let first = tls_config().unwrap();
        assert_eq!(first.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        let second = tls_config().unwrap();
        assert!(
            Arc::ptr_eq(
                &first.crypto_provider().clone(),
                &second.crypto_provider().clone()
            ),
            "the configuration is built once and cloned"
        );
        assert!(build_client(Duration::from_secs(1)).is_ok());
    }
}
