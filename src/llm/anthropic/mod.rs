//! The Anthropic Messages provider.
//!
//! `POST {base}/v1/messages` with `stream: true`, headers `x-api-key` and `anthropic-version:
//! 2023-06-01`; models from `GET {base}/v1/models`. A `base_url` written with a trailing `/v1` is
//! accepted too. The request mapping lives in [`request`], the SSE decoding in [`decode`].

pub mod decode;
pub mod request;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use tokio_util::sync::CancellationToken;

use crate::config::BackendConfig;
use crate::llm::http::{AuthStyle, HttpBackend, model_names};
use crate::llm::stream::{self, Decoder, StreamJob};
use crate::llm::{ChatRequest, LlmError, LlmStream, Provider};

/// Where Anthropic answers.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version header value.
pub const API_VERSION: &str = "2023-06-01";

/// The key variable read for `api.anthropic.com` when the config names no key.
pub const ENV_API_KEY: &str = "ANTHROPIC_API_KEY";

/// A backend speaking the Messages API.
#[derive(Clone, Debug)]
pub struct AnthropicProvider {
    http: Arc<HttpBackend>,
    tools: bool,
}

impl AnthropicProvider {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, LlmError> {
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let conventional = base.contains("api.anthropic.com").then_some(ENV_API_KEY);
        let mut http = HttpBackend::new(name, cfg, base, AuthStyle::XApiKey, conventional)?;
        http.headers
            .entry(HeaderName::from_static("anthropic-version"))
            .or_insert(HeaderValue::from_static(API_VERSION));
        Ok(AnthropicProvider {
            http: Arc::new(http),
            tools: cfg.tools.unwrap_or(true),
        })
    }
}

impl Provider for AnthropicProvider {
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
            url: self.http.url("/v1/messages"),
            body: request::to_body(&request),
            new_decoder,
            list_models,
            context_hint: None,
        };
        stream::start(job, cancel)
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        list_models(self.http.clone())
    }
}

fn new_decoder() -> Box<dyn Decoder> {
    Box::new(decode::AnthropicDecoder::new())
}

fn list_models(http: Arc<HttpBackend>) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
    Box::pin(async move { Ok(model_names(&http.get_json("/v1/models?limit=1000").await?)) })
}
