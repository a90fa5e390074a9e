//! The Anthropic Messages protocol.
//!
//! `POST {base}/v1/messages` with `stream: true`, headers `x-api-key` and `anthropic-version:
//! 2023-06-01`; models from `GET {base}/v1/models`. A `base_url` written with a trailing `/v1` is
//! accepted too. The request mapping lives in [`request`], the SSE decoding in [`decode`]. The
//! provider itself is the generic [`HttpProvider`] over [`Anthropic`].

pub mod decode;
pub mod request;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::config::BackendConfig;
use crate::llm::http::{AuthStyle, HttpBackend};
use crate::llm::stream::Decoder;
use crate::llm::wire::{HttpProvider, Wire};
use crate::llm::{ChatRequest, LlmError};

/// Where Anthropic answers.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version header value.
pub const API_VERSION: &str = "2023-06-01";

/// The key variable read for `api.anthropic.com` when the config names no key.
pub const ENV_API_KEY: &str = "ANTHROPIC_API_KEY";

/// A backend speaking the Messages API.
pub type AnthropicProvider = HttpProvider<Anthropic>;

/// The Messages wire protocol.
#[derive(Clone, Copy, Debug)]
pub struct Anthropic;

impl Wire for Anthropic {
    const CHAT_PATH: &'static str = "/v1/messages";
    const MODELS_PATH: &'static str = "/v1/models?limit=1000";

    fn connect(name: &str, cfg: &BackendConfig) -> Result<(HttpBackend, Self), LlmError> {
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let conventional = base.contains("api.anthropic.com").then_some(ENV_API_KEY);
        let mut http = HttpBackend::new(name, cfg, base, AuthStyle::XApiKey, conventional)?;
        http.headers
            .entry(HeaderName::from_static("anthropic-version"))
            .or_insert(HeaderValue::from_static(API_VERSION));
        Ok((http, Anthropic))
    }

    fn body(&self, request: &ChatRequest) -> Value {
        request::to_body(request)
    }

    fn decoder() -> Box<dyn Decoder> {
        Box::new(decode::AnthropicDecoder::new())
    }
}
