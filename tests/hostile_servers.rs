//! Servers that misbehave on purpose, for all three wire protocols over real HTTP on loopback:
//! a redirect to another origin must not carry any credential header there, and a stream that
//! stalls after its first token ends after the (short) between-chunks timeout, not the long wait
//! allowed for the first token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use conclave::llm::{ChatMessage, ChatRequest, ErrorKind, build_provider};
use support::llm_fake::Wire;
use support::{FakeServer, Reply, Step, Turn, collect, text_of};
use tokio_util::sync::CancellationToken;

const WIRES: [Wire; 3] = [Wire::OpenAi, Wire::Anthropic, Wire::Ollama];

/// Every header that carries a credential in any of the configs below.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-api-key", "x-custom-auth"];

fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage::User { text: "hi".into() }],
        ..Default::default()
    }
}

/// The model list path of each wire, under the server root.
fn models_path(wire: Wire) -> &'static str {
    match wire {
        Wire::OpenAi | Wire::Anthropic => "/v1/models",
        Wire::Ollama => "/api/tags",
    }
}

fn redirect_to(url: &str) -> Reply {
    Reply::text(307, "moved").header("location", url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_header_follows_a_redirect_to_another_origin() {
    let mut leaks = Vec::new();
    for wire in WIRES {
        let origin = FakeServer::start().await;
        // Another port on the same host is another origin.
        let elsewhere = FakeServer::start().await;
        let chat = format!("{}{}", elsewhere.url(), wire.path());
        let models = format!("{}{}", elsewhere.url(), models_path(wire));
        origin.push(wire.path(), redirect_to(&chat));
        origin.push(models_path(wire), redirect_to(&models));
        elsewhere.always(wire.path(), wire.reply(&Turn::text(["stolen"])));
        elsewhere.always(
            models_path(wire),
            Reply::json(200, serde_json::json!({"data": [{"id": "m"}]})),
        );
        let cfg = wire.backend(
            &origin,
            "api_key = \"sk-redirect-secret-0123456789\"\nmax_retries = 0\nheaders = { \"X-Custom-Auth\" = \"custom-secret\" }",
        );
        let provider = build_provider("b", &cfg).unwrap();

        let (events, err) = collect(provider.stream(request("m"), CancellationToken::new())).await;
        let listed = provider.list_models().await;

        for r in elsewhere.requests() {
            for name in CREDENTIAL_HEADERS.iter().filter(|h| r.header(h).is_some()) {
                leaks.push(format!("{wire:?}: {name} on {} {}", r.method, r.path));
            }
        }
        if !leaks.is_empty() {
            continue;
        }
        let err = err.unwrap_or_else(|| panic!("{wire:?}: the redirect was followed: {events:?}"));
        assert_eq!(err.kind, ErrorKind::Config, "{wire:?}: {err}");
        assert!(err.to_string().contains("redirected to"), "{err}");
        let listed = listed.expect_err("the model list redirect is not followed either");
        assert!(listed.to_string().contains("redirected to"), "{listed}");
        // The origin did get the key: the redirect is refused, not the backend.
        assert!(
            origin
                .requests()
                .iter()
                .all(|r| r.header("x-custom-auth") == Some("custom-secret"))
        );
    }
    assert!(
        leaks.is_empty(),
        "credential headers reached another origin:\n{}",
        leaks.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_within_the_origin_is_still_followed() {
    for wire in WIRES {
        let server = FakeServer::start().await;
        server.push(wire.path(), redirect_to(&format!("{}/moved", server.url())));
        server.push("/moved", wire.reply(&Turn::text(["here"])));
        let cfg = wire.backend(&server, "api_key = \"sk-same-origin-0123456789\"");
        let provider = build_provider("b", &cfg).unwrap();
        let (events, err) = collect(provider.stream(request("m"), CancellationToken::new())).await;
        assert_eq!(err, None, "{wire:?}");
        assert_eq!(text_of(&events), "here");
        let moved = server.requests().into_iter().last().unwrap();
        assert_eq!(moved.path, "/moved");
        assert!(
            CREDENTIAL_HEADERS.iter().any(|h| moved
                .header(h)
                .is_some_and(|v| v.contains("sk-same-origin"))),
            "{wire:?}: the same origin keeps the key"
        );
    }
}

/// `turn` as `wire` streams it, cut after the event carrying `first`: a slow start (the model
/// loading), the first token, then silence.
fn slow_start_then_stall(wire: Wire, turn: &Turn, first: &str) -> Reply {
    let mut reply = wire.reply(turn);
    let cut = reply
        .steps
        .iter()
        .position(|s| matches!(s, Step::Write(b) if String::from_utf8_lossy(b).contains(first)))
        .expect("the first token is streamed");
    reply.steps.truncate(cut + 1);
    reply
        .steps
        .insert(0, Step::Sleep(Duration::from_millis(800)));
    reply.steps.push(Step::Stall);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_stalls_after_its_first_token_ends_after_the_idle_timeout() {
    for wire in WIRES {
        let server = FakeServer::start().await;
        let turn = Turn::text(["Hel", "lo"]);
        server.push(wire.path(), slow_start_then_stall(wire, &turn, "Hel"));
        // The first token may take 30 s (it takes 0.8); after it, 0.3 s of silence is a stall.
        let extra = "first_token_timeout_ms = 30000\nidle_timeout_ms = 300\nmax_retries = 0";
        let provider = build_provider("b", &wire.backend(&server, extra)).unwrap();
        let (events, err) = collect(provider.stream(request("m"), CancellationToken::new())).await;
        assert_eq!(
            text_of(&events),
            "Hel",
            "{wire:?}: the slow start was waited for"
        );
        let err = err.unwrap_or_else(|| panic!("{wire:?}: the stall was not noticed"));
        assert_eq!(err.kind, ErrorKind::Timeout, "{wire:?}: {err}");
        let shown = err.to_string();
        assert!(
            shown.contains("stalled") && shown.contains("idle_timeout_ms"),
            "{shown}"
        );
        assert!(
            server
                .wait_client_closed(0, Duration::from_secs(5))
                .await
                .is_some(),
            "{wire:?}: the stalled connection is closed"
        );
    }
}
