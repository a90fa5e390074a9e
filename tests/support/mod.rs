//! Test support shared by integration tests: a fake LLM server on loopback that speaks the
//! OpenAI, Anthropic and Ollama wire formats byte for byte.
//!
//! Use it from any test file with `mod support;`:
//! ```ignore
//! let server = FakeServer::start().await;
//! server.push("/v1/chat/completions", Reply::sse(wire::openai_events(&Turn::text(["Hel", "lo"]))));
//! // point a backend's base_url at server.url() + "/v1", run, then:
//! let sent = server.requests();
//! ```
//! Replies are queued per path (first in, first out; the query string is ignored when matching)
//! and scripted step by step ([`Step`]): each `Write` is one write (one HTTP chunk) flushed to the
//! socket, so tests control every boundary; `Sleep`, `Stall` and `Drop` make the server slow, stuck
//! or cut the connection. Every request is recorded (method, path, headers, body) together with
//! the moment the client closed the connection, if it did before the reply ended. For whole
//! sessions, whose parallel turns arrive in any order, `llm_fake::ByRequest` picks replies by the
//! request's model and forced tool instead, and `Step::Wait` holds a reply until a [`Gate`] opens.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod child;
pub mod crash;
pub mod events;
pub mod llm_fake;
pub mod local;
pub mod peers;
pub mod scripted;
pub mod server;
pub mod session;
pub mod wire;

pub use server::{Busy, FakeServer, Gate, Recorded, Reply, Reported, Step};
pub use wire::Turn;

use std::time::Duration;

use conclave::config::BackendConfig;
use conclave::llm::{LlmError, LlmEvent, LlmStream};
use futures_util::StreamExt;

/// A `[backends.x]` table of `kind` at `base_url`, plus extra TOML lines (`"max_retries = 0"`).
pub fn backend_config(kind: &str, base_url: &str, extra: &str) -> BackendConfig {
    let text = format!("kind = \"{kind}\"\nbase_url = \"{base_url}\"\n{extra}");
    toml::from_str(&text).expect("valid backend TOML")
}

/// Drain a provider stream: the events, and the error that ended it if one did. Panics if the
/// stream has not ended after 20 s (a guard against hanging, not a speed assertion).
pub async fn collect(mut stream: LlmStream) -> (Vec<LlmEvent>, Option<LlmError>) {
    let drain = async {
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => events.push(ev),
                Err(e) => {
                    assert!(
                        stream.next().await.is_none(),
                        "the stream goes on after an error"
                    );
                    return (events, Some(e));
                }
            }
        }
        (events, None)
    };
    tokio::time::timeout(Duration::from_secs(20), drain)
        .await
        .expect("the stream did not end within 20 s")
}

/// Every file under `dir`, recursively, with its text (lossy UTF-8); none for a missing `dir`.
pub fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

/// The text deltas of `events`, joined.
pub fn text_of(events: &[LlmEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            LlmEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The in-repo MCP fault server (`examples/mcp_fault_server.rs`), built by `cargo test`.
pub fn mcp_fault_server() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join("examples").join("mcp_fault_server");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --example mcp_fault_server` (cargo test builds it)",
        path.display()
    );
    path
}
