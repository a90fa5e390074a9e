//! The OpenAI Chat Completions protocol, for OpenAI and every compatible server (vLLM,
//! llama.cpp's server, llama-cpp-python, LM Studio, OpenRouter, Groq, LiteLLM, Ollama's /v1).
//!
//! `POST {base}/chat/completions` with `stream: true` and `stream_options.include_usage`, the key
//! as `Authorization: Bearer`; models from `GET {base}/models`. The request mapping lives in
//! [`request`], the SSE decoding in [`decode`]; both are pure. The provider itself is the generic
//! [`HttpProvider`] over [`OpenAi`].

pub mod decode;
pub mod request;

use serde_json::Value;

use crate::config::BackendConfig;
use crate::llm::body::MessageCache;
use crate::llm::http::{AuthStyle, HttpBackend};
use crate::llm::stream::Decoder;
use crate::llm::wire::{HttpProvider, Wire};
use crate::llm::{ChatRequest, LlmError};

/// Where OpenAI itself answers.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The key variable read for `api.openai.com` when the config names no key.
pub const ENV_API_KEY: &str = "OPENAI_API_KEY";

/// A backend speaking Chat Completions.
pub type OpenAiProvider = HttpProvider<OpenAi>;

/// The Chat Completions wire protocol.
#[derive(Clone, Copy, Debug)]
pub struct OpenAi;

impl Wire for OpenAi {
    const CHAT_PATH: &'static str = "/chat/completions";
    const MODELS_PATH: &'static str = "/models";

    fn connect(name: &str, cfg: &BackendConfig) -> Result<(HttpBackend, Self), LlmError> {
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let conventional = base.contains("api.openai.com").then_some(ENV_API_KEY);
        let http = HttpBackend::new(name, cfg, base, AuthStyle::Bearer, conventional)?;
        Ok((http, OpenAi))
    }

    fn body(&self, request: &ChatRequest) -> Value {
        request::to_body(request)
    }

    fn body_bytes(&self, request: &ChatRequest, cache: &mut MessageCache) -> Vec<u8> {
        request::to_body_bytes(request, cache)
    }

    fn decoder() -> Box<dyn Decoder> {
        Box::new(decode::OpenAiDecoder::new())
    }
}
