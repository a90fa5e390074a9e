//! The Ollama native protocol.
//!
//! `POST {base}/api/chat` answered with NDJSON; models from `GET {base}/api/tags`. Without a
//! `base_url` the server is `OLLAMA_HOST` (with or without a scheme or port) or
//! `http://127.0.0.1:11434`. No key is needed; one configured is sent as a bearer token (for
//! Ollama behind a proxy). The request mapping lives in [`request`], the decoding in [`decode`].
//! The provider itself is the generic [`HttpProvider`] over [`Ollama`].

pub mod decode;
pub mod request;

use serde_json::Value;

use crate::config::BackendConfig;
use crate::llm::http::{AuthStyle, HttpBackend};
use crate::llm::stream::Decoder;
use crate::llm::wire::{HttpProvider, Wire};
use crate::llm::{ChatRequest, LlmError};

/// Where a local Ollama answers by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";
/// The environment variable Ollama itself uses for its address.
pub const ENV_OLLAMA_HOST: &str = "OLLAMA_HOST";

/// A backend speaking Ollama's native chat API.
pub type OllamaProvider = HttpProvider<Ollama>;

/// Ollama's native chat protocol, with the context size it asks the server for.
#[derive(Clone, Copy, Debug)]
pub struct Ollama {
    num_ctx: Option<u32>,
}

impl Wire for Ollama {
    const CHAT_PATH: &'static str = "/api/chat";
    const MODELS_PATH: &'static str = "/api/tags";

    fn connect(name: &str, cfg: &BackendConfig) -> Result<(HttpBackend, Self), LlmError> {
        let base = match &cfg.base_url {
            Some(url) => url.clone(),
            None => default_base_url(std::env::var(ENV_OLLAMA_HOST).ok().as_deref()),
        };
        let http = HttpBackend::new(name, cfg, &base, AuthStyle::Bearer, None)?;
        Ok((
            http,
            Ollama {
                num_ctx: cfg.num_ctx,
            },
        ))
    }

    fn body(&self, request: &ChatRequest) -> Value {
        request::to_body(request, self.num_ctx)
    }

    fn decoder() -> Box<dyn Decoder> {
        Box::new(decode::OllamaDecoder::new())
    }

    fn context_hint(&self, backend: &str) -> Option<String> {
        Some(format!(
            "shorten the history, or raise num_ctx in [backends.{backend}] (Ollama otherwise truncates silently)"
        ))
    }

    /// `POST /api/show` for the model's `num_ctx` (the backend's own `num_ctx` wins).
    fn ask_context_window(
        &self,
        http: std::sync::Arc<HttpBackend>,
        model: String,
    ) -> futures_util::future::BoxFuture<'static, Option<u32>> {
        let configured = self.num_ctx;
        Box::pin(async move {
            if configured.is_some() {
                return configured;
            }
            let body = serde_json::json!({ "model": model });
            let show = http.post_json("/api/show", &body).await.ok()?;
            crate::llm::context::window_from_show(&show, configured)
        })
    }
}

/// The base URL from an `OLLAMA_HOST` value (`host`, `host:port`, `http://host:port`, …).
pub fn default_base_url(ollama_host: Option<&str>) -> String {
    let Some(host) = ollama_host.map(str::trim).filter(|h| !h.is_empty()) else {
        return DEFAULT_BASE_URL.to_string();
    };
    let host = host.trim_end_matches('/');
    let (scheme, rest) = match host.split_once("://") {
        Some((s, r)) => (s, r),
        None => ("http", host),
    };
    let has_port = rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()));
    let port = if has_port {
        ""
    } else if scheme == "https" {
        ":443"
    } else {
        ":11434"
    };
    format!("{scheme}://{rest}{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_forms() {
        assert_eq!(default_base_url(None), "http://127.0.0.1:11434");
        assert_eq!(default_base_url(Some("")), "http://127.0.0.1:11434");
        assert_eq!(default_base_url(Some("0.0.0.0")), "http://0.0.0.0:11434");
        assert_eq!(default_base_url(Some("myhost:8080")), "http://myhost:8080");
        assert_eq!(
            default_base_url(Some("http://box:11434/")),
            "http://box:11434"
        );
        assert_eq!(
            default_base_url(Some("https://ollama.example.com")),
            "https://ollama.example.com:443"
        );
    }
}
