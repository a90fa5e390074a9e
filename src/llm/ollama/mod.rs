//! The Ollama native provider.
//!
//! `POST {base}/api/chat` answered with NDJSON; models from `GET {base}/api/tags`. Without a
//! `base_url` the server is `OLLAMA_HOST` (with or without a scheme or port) or
//! `http://127.0.0.1:11434`. No key is needed; one configured is sent as a bearer token (for
//! Ollama behind a proxy). The request mapping lives in [`request`], the decoding in [`decode`].

pub mod decode;
pub mod request;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::BackendConfig;
use crate::llm::http::{AuthStyle, HttpBackend, model_names};
use crate::llm::stream::{self, Decoder, StreamJob};
use crate::llm::{ChatRequest, LlmError, LlmStream, Provider};

/// Where a local Ollama answers by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";
/// The environment variable Ollama itself uses for its address.
pub const ENV_OLLAMA_HOST: &str = "OLLAMA_HOST";

/// A backend speaking Ollama's native chat API.
#[derive(Clone, Debug)]
pub struct OllamaProvider {
    http: Arc<HttpBackend>,
    tools: bool,
    num_ctx: Option<u32>,
}

impl OllamaProvider {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, LlmError> {
        let base = match &cfg.base_url {
            Some(url) => url.clone(),
            None => default_base_url(std::env::var(ENV_OLLAMA_HOST).ok().as_deref()),
        };
        Ok(OllamaProvider {
            http: Arc::new(HttpBackend::new(name, cfg, &base, AuthStyle::Bearer, None)?),
            tools: cfg.tools.unwrap_or(true),
            num_ctx: cfg.num_ctx,
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

impl Provider for OllamaProvider {
    fn backend(&self) -> &str {
        &self.http.name
    }

    fn supports_tools(&self) -> bool {
        self.tools
    }

    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream {
        let job = StreamJob {
            backend: self.http.clone(),
            model: request.model.clone(),
            url: self.http.url("/api/chat"),
            body: request::to_body(&request, self.num_ctx),
            new_decoder,
            list_models,
            context_hint: Some(format!(
                "shorten the history, or raise num_ctx in [backends.{}] (Ollama otherwise truncates silently)",
                self.http.name
            )),
        };
        stream::start(job, cancel)
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        list_models(self.http.clone())
    }
}

fn new_decoder() -> Box<dyn Decoder> {
    Box::new(decode::OllamaDecoder::new())
}

fn list_models(http: Arc<HttpBackend>) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
    Box::pin(async move { Ok(model_names(&http.get_json("/api/tags").await?)) })
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
