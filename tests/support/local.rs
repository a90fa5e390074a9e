//! Local servers as they are (issue 17): modes of the fake server that behave like
//! llama-cpp-python and llama.cpp's `llama-server` serving a small model.
//!
//! Each mode wraps a [`ByRequest`] (replies keyed by model and forced tool) and answers one chat
//! path: [`serial`] serves one request at a time and gives a request that arrives meanwhile an
//! empty stream (a role chunk, then `[DONE]`); [`refuse_forced`] answers every forced tool call
//! with llama-server's HTTP 400 "Failed to initialize samplers" (the OpenAI or the Anthropic
//! error body); [`ignore_forced`] answers a forced call in plain text, as if `tool_choice` were
//! not there; [`context_limit`] ends the stream of a too-long request without a finish reason
//! or an error body, as llama-cpp-python does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use super::llm_fake::{ByRequest, Wire, forced_tool};
use super::server::{Busy, FakeServer, Recorded, Reply, Step};
use super::wire::Turn;

/// How many requests got the empty "busy" stream.
#[derive(Clone, Default)]
pub struct Refused(Arc<AtomicUsize>);

impl Refused {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// What llama-cpp-python streams to a request that arrives while it is busy.
pub fn empty_stream() -> Reply {
    Reply::sse([
        r#"data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#.to_string() + "\n\n",
        "data: [DONE]\n\n".to_string(),
    ])
}

/// One request at a time on the OpenAI path: each reply takes `pace` before its first byte; a
/// request arriving while one is answered gets [`empty_stream`].
pub fn serial(server: &FakeServer, replies: &ByRequest, pace: Duration) -> Refused {
    let busy = Busy::default();
    let refused = Refused::default();
    let counter = refused.clone();
    let replies = replies.clone();
    server.respond(Wire::OpenAi.path(), move |request| {
        if !busy.enter() {
            counter.0.fetch_add(1, Ordering::SeqCst);
            return Some(empty_stream());
        }
        let Some(mut reply) = replies.next_for(request) else {
            busy.leave();
            return None;
        };
        reply.steps.insert(0, Step::Sleep(pace));
        reply.steps.push(Step::Leave(busy.clone()));
        Some(reply)
    });
    refused
}

/// llama-server's answer to a forced tool call it cannot sample for, as each endpoint sends it.
pub fn samplers_error(wire: Wire) -> Reply {
    let message = "Failed to initialize samplers";
    match wire {
        Wire::Anthropic => Reply::json(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}),
        ),
        _ => Reply::json(
            400,
            json!({"error": {"code": 400, "message": message, "type": "invalid_request_error"}}),
        ),
    }
}

/// Every forced tool call on `wire`'s path gets [`samplers_error`]; the rest come from `replies`.
pub fn refuse_forced(server: &FakeServer, wire: Wire, replies: &ByRequest) {
    let replies = replies.clone();
    server.respond(wire.path(), move |request| {
        if forced_tool(&request.json()).is_some() {
            return Some(samplers_error(wire));
        }
        replies.next_for(request)
    });
}

/// Every forced tool call on `wire`'s path is answered with `text` as a plain reply (the named
/// `tool_choice` ignored); the rest come from `replies`.
pub fn ignore_forced(server: &FakeServer, wire: Wire, replies: &ByRequest, text: &str) {
    let replies = replies.clone();
    let text = text.to_string();
    server.respond(wire.path(), move |request| {
        if forced_tool(&request.json()).is_some() {
            return Some(wire.reply(&Turn::text([text.as_str()])));
        }
        replies.next_for(request)
    });
}

/// The prompt size the fake server counts for a request: its body's characters / 4.
pub fn prompt_tokens(request: &Recorded) -> usize {
    request.body.len() / 4
}

/// On the OpenAI path: a request whose body is larger than `limit` tokens ([`prompt_tokens`])
/// gets a role chunk and then the connection just ends (no finish reason, no error body); the
/// rest come from `replies`.
pub fn context_limit(server: &FakeServer, replies: &ByRequest, limit: usize) {
    let replies = replies.clone();
    server.respond(Wire::OpenAi.path(), move |request| {
        if prompt_tokens(request) > limit {
            let mut reply = empty_stream();
            reply.steps.truncate(1);
            return Some(reply);
        }
        replies.next_for(request)
    });
}
