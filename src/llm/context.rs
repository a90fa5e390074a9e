//! Context windows: what a backend says about a model's window, learnt once and remembered, and a
//! tokenizer-free estimate of a request's size to compare with it.
//!
//! Mental model: the window is the server's to say. llama.cpp's `llama-server` says it at `GET
//! /props` (`default_generation_settings.n_ctx`); Ollama at `POST /api/show` (the `num_ctx`
//! parameter of the model, else the model's trained `<arch>.context_length` capped at Ollama's
//! default `num_ctx`), unless the backend sets `num_ctx` itself; any server may name it in a
//! context-too-long error ("n_ctx: 512", "maximum context length is 4096 tokens"). A
//! [`Windows`] cache per backend holds what was learnt, per model; each model is asked once. The
//! orchestrator reads it through [`crate::llm::Provider::context_window`] and trims what does not
//! fit; the request loop uses it to tell a stream cut short by a too-long prompt from a broken one.
//! The estimate is calibrated by the prompt tokens each reply reports ([`Windows::calibrate`]), so
//! a model whose tokenizer counts differently is still trimmed to fit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::llm::{ChatMessage, ChatRequest};

/// Ollama's `num_ctx` when neither the model nor the backend sets one.
pub const OLLAMA_DEFAULT_NUM_CTX: u32 = 4096;

/// What a backend has said about its models' windows, and how its token counts compare with
/// [`estimate_prompt`] (a byte-level tokenizer counts far more than one token per four
/// characters), per model.
#[derive(Clone, Debug, Default)]
pub struct Windows(Arc<Mutex<HashMap<String, Learnt>>>);

#[derive(Clone, Copy, Debug, Default)]
struct Learnt {
    /// `None`: not asked yet; `Some(None)`: asked, not said.
    window: Option<Option<u32>>,
    /// Reported prompt tokens per estimated token, from the last reply that reported usage.
    ratio: Option<f64>,
}

impl Windows {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Learnt>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The window learnt for `model`: `Some(None)` when asked without an answer, `None` when not
    /// asked yet.
    pub fn get(&self, model: &str) -> Option<Option<u32>> {
        self.with(|m| m.get(model).and_then(|l| l.window))
    }

    /// Remember what was learnt for `model` (a window named by an error replaces a probe's).
    pub fn set(&self, model: &str, window: Option<u32>) {
        self.with(|m| {
            let learnt = m.entry(model.to_string()).or_default();
            if window.is_some() || learnt.window.is_none() {
                learnt.window = Some(window);
            }
        });
    }

    /// A reply to a prompt estimated at `estimated` tokens reported `reported` prompt tokens.
    pub fn calibrate(&self, model: &str, estimated: u64, reported: u64) {
        if estimated < 16 || reported == 0 {
            return;
        }
        let ratio = (reported as f64 / estimated as f64).clamp(0.25, 8.0);
        self.with(|m| m.entry(model.to_string()).or_default().ratio = Some(ratio));
    }

    /// `tokens` of the server's counting in estimated tokens (the same when nothing was reported).
    pub fn in_estimate(&self, model: &str, tokens: u32) -> u32 {
        let ratio = self
            .with(|m| m.get(model).and_then(|l| l.ratio))
            .unwrap_or(1.0);
        (f64::from(tokens) / ratio) as u32
    }
}

/// Whether `base_url` names a server on this machine or the local network (loopback, a private
/// or link-local address, `localhost`, a name without a dot or under `.local`, `.lan`,
/// `.internal`): where llama.cpp and its kin run, and where asking `/props` costs nothing.
pub fn is_local(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
        }
        Err(_) => {
            let name = host.to_ascii_lowercase();
            name == "localhost"
                || !name.contains('.')
                || [".localhost", ".local", ".lan", ".internal", ".home.arpa"]
                    .iter()
                    .any(|tail| name.ends_with(tail))
        }
    }
}

/// `n_ctx` from llama.cpp's `/props` (per slot: `default_generation_settings.n_ctx`, or a
/// top-level `n_ctx`).
pub fn window_from_props(v: &Value) -> Option<u32> {
    v.pointer("/default_generation_settings/n_ctx")
        .or_else(|| v.get("n_ctx"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

/// The window Ollama runs `model` with, from its `/api/show` answer: the backend's `num_ctx`,
/// else the model's `num_ctx` parameter, else its trained length capped at Ollama's default.
pub fn window_from_show(v: &Value, configured: Option<u32>) -> Option<u32> {
    if configured.is_some() {
        return configured;
    }
    let parameter = v
        .get("parameters")
        .and_then(Value::as_str)
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("num_ctx"))
                    .then(|| words.next()?.parse::<u32>().ok())
                    .flatten()
            })
        });
    if parameter.is_some() {
        return parameter;
    }
    let trained = v
        .get("model_info")
        .and_then(Value::as_object)?
        .iter()
        .find(|(k, _)| k.ends_with(".context_length"))
        .and_then(|(_, n)| n.as_u64())
        .and_then(|n| u32::try_from(n).ok())?;
    Some(trained.min(OLLAMA_DEFAULT_NUM_CTX))
}

/// The window a context-too-long message names: `n_ctx: 512`, `n_ctx = 512`, `context size
/// (512)`, `maximum context length is 4096 tokens`, `context window of 8192`.
pub fn window_in_message(text: &str) -> Option<u32> {
    let lower = text.to_lowercase();
    for key in [
        "n_ctx_slot",
        "n_ctx",
        "maximum context length is",
        "context length of",
        "context window of",
        "context size",
        "context length",
    ] {
        let Some(at) = lower.find(key) else {
            continue;
        };
        let rest = &lower[at + key.len()..];
        let digits: String = rest
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let gap = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(usize::MAX);
        if gap <= 12
            && let Ok(n) = digits.parse::<u32>()
            && n > 0
        {
            return Some(n);
        }
    }
    None
}

/// Tokens a text costs, without a tokenizer: one per four characters, rounded up (the rule the
/// scripted backend reports usage with).
pub fn estimate_text(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Tokens a message costs: its text and tool calls, plus a few for the chat template.
pub fn estimate_message(message: &ChatMessage) -> u64 {
    const TEMPLATE: u64 = 4;
    TEMPLATE
        + match message {
            ChatMessage::User { text } => estimate_text(text),
            ChatMessage::Assistant { text, tool_calls } => {
                estimate_text(text)
                    + tool_calls
                        .iter()
                        .map(|c| estimate_text(&c.name) + estimate_text(&c.arguments))
                        .sum::<u64>()
            }
            ChatMessage::ToolResult { content, name, .. } => {
                estimate_text(content) + estimate_text(name)
            }
        }
}

/// Tokens the prompt of `request` costs: system prompt, messages and tool definitions.
pub fn estimate_prompt(request: &ChatRequest) -> u64 {
    let system = request.system.as_deref().map_or(0, estimate_text);
    let tools: u64 = request
        .tools
        .iter()
        .map(|t| {
            estimate_text(&t.name)
                + estimate_text(&t.description)
                + estimate_text(&t.parameters.to_string())
        })
        .sum();
    system + tools + request.messages.iter().map(estimate_message).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn local_servers_are_told_from_hosted_apis() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434",
            "http://192.168.1.20:8080",
            "http://[::1]:8000/v1",
            "http://llama:8080",
            "http://gpu-box.lan:8080/v1",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "https://api.anthropic.com",
            "https://openrouter.ai/api/v1",
            "http://8.8.8.8/v1",
            "not a url",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }

    #[test]
    fn llama_cpp_props() {
        let v =
            json!({"default_generation_settings": {"n_ctx": 512, "params": {}}, "total_slots": 1});
        assert_eq!(window_from_props(&v), Some(512));
        assert_eq!(window_from_props(&json!({"n_ctx": 2048})), Some(2048));
        assert_eq!(window_from_props(&json!({"detail": "Not Found"})), None);
    }

    #[test]
    fn ollama_show() {
        let v = json!({
            "parameters": "stop \"<|eot_id|>\"\nnum_ctx 8192",
            "model_info": {"llama.context_length": 131072}
        });
        assert_eq!(window_from_show(&v, None), Some(8192));
        assert_eq!(window_from_show(&v, Some(1024)), Some(1024));
        let v = json!({"model_info": {"qwen2.context_length": 32768}});
        assert_eq!(window_from_show(&v, None), Some(OLLAMA_DEFAULT_NUM_CTX));
        let v = json!({"model_info": {"gemma.context_length": 2048}});
        assert_eq!(window_from_show(&v, None), Some(2048));
        assert_eq!(window_from_show(&json!({}), None), None);
    }

    #[test]
    fn limits_named_in_errors() {
        for (text, n) in [
            (
                "the request exceeds the available context size, try increasing it (n_prompt_tokens: 900, n_ctx: 512)",
                Some(512),
            ),
            (
                "This model's maximum context length is 4096 tokens. However, your messages resulted in 5000 tokens.",
                Some(4096),
            ),
            (
                "Requested tokens (700) exceed context window of 512",
                Some(512),
            ),
            ("prompt is too long", None),
        ] {
            assert_eq!(window_in_message(text), n, "{text}");
        }
    }

    #[test]
    fn estimates_count_every_part() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcde"), 2);
        let request = ChatRequest {
            system: Some("x".repeat(40)),
            messages: vec![ChatMessage::User {
                text: "y".repeat(40),
            }],
            ..ChatRequest::default()
        };
        assert_eq!(estimate_prompt(&request), 10 + 10 + 4);
    }

    #[test]
    fn the_cache_keeps_a_named_window_over_an_empty_probe() {
        let w = Windows::default();
        assert_eq!(w.get("m"), None);
        w.set("m", None);
        assert_eq!(w.get("m"), Some(None));
        w.set("m", Some(512));
        w.set("m", None);
        assert_eq!(w.get("m"), Some(Some(512)));
        assert_eq!(w.in_estimate("m", 512), 512);
        // A byte-level tokenizer: four times the estimate.
        w.calibrate("m", 100, 400);
        assert_eq!(w.in_estimate("m", 512), 128);
        w.calibrate("m", 5, 400);
        assert_eq!(
            w.in_estimate("m", 512),
            128,
            "too small a prompt to learn from"
        );
    }
}
