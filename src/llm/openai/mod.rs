//! The OpenAI Chat Completions provider, for OpenAI and every compatible server (vLLM,
//! llama.cpp's server, llama-cpp-python, LM Studio, OpenRouter, Groq, LiteLLM, Ollama's /v1).
//!
//! `POST {base}/chat/completions` with `stream: true` and `stream_options.include_usage`, the key
//! as `Authorization: Bearer`; models from `GET {base}/models`. The request mapping lives in
//! [`request`], the SSE decoding in [`decode`]; both are pure.

pub mod decode;
pub mod request;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::BackendConfig;
use crate::llm::http::{AuthStyle, HttpBackend, model_names};
use crate::llm::stream::{self, Decoder, StreamJob};
use crate::llm::{ChatRequest, LlmError, LlmStream, Provider};

/// Where OpenAI itself answers.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The key variable read for `api.openai.com` when the config names no key.
pub const ENV_API_KEY: &str = "OPENAI_API_KEY";

/// A backend speaking Chat Completions.
#[derive(Clone, Debug)]
pub struct OpenAiProvider {
    http: Arc<HttpBackend>,
    tools: bool,
}

impl OpenAiProvider {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, LlmError> {
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let conventional = base.contains("api.openai.com").then_some(ENV_API_KEY);
        Ok(OpenAiProvider {
            http: Arc::new(HttpBackend::new(
                name,
                cfg,
                base,
                AuthStyle::Bearer,
                conventional,
            )?),
            tools: cfg.tools.unwrap_or(true),
        })
    }
}

impl Provider for OpenAiProvider {
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
            url: self.http.url("/chat/completions"),
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
    Box::new(decode::OpenAiDecoder::new())
}

fn list_models(http: Arc<HttpBackend>) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
    Box::pin(async move { Ok(model_names(&http.get_json("/models").await?)) })
}
