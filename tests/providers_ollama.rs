//! The Ollama native provider against the fake server over real HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use conclave::llm::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmEvent, ToolCall, ToolChoice, ToolSpec,
    Usage, build_provider, check_backend,
};
use std::time::Duration;

use serde_json::json;
use support::wire::ollama_lines;
use support::{FakeServer, Reply, Step, Turn, backend_config, collect, text_of};
use tokio_util::sync::CancellationToken;

const PATH: &str = "/api/chat";

fn request() -> ChatRequest {
    ChatRequest {
        model: "llama3.2".into(),
        system: Some("Be kind.".into()),
        messages: vec![ChatMessage::User {
            text: "hello".into(),
        }],
        temperature: Some(0.5),
        ..Default::default()
    }
}

async fn run(
    server: &FakeServer,
    extra: &str,
    req: ChatRequest,
) -> (Vec<LlmEvent>, Option<conclave::llm::LlmError>) {
    let cfg = backend_config("ollama", &server.url(), extra);
    let provider = build_provider("local", &cfg).unwrap();
    collect(provider.stream(req, CancellationToken::new())).await
}

#[tokio::test]
async fn text_tool_calls_usage_and_the_request_with_options() {
    let server = FakeServer::start().await;
    let turn = Turn::text(["Hi", " thére"])
        .tool("", "transfer_to_tech", "{\"reason\":\"wifi\"}")
        .usage(17, 5);
    server.push(PATH, Reply::ndjson(ollama_lines(&turn)));
    let spec = |n: &str| ToolSpec {
        name: n.into(),
        description: format!("go to {n}"),
        parameters: json!({}),
    };
    let mut req = request();
    req.tools = vec![spec("transfer_to_tech"), spec("transfer_to_billing")];
    req.tool_choice = ToolChoice::Tool("transfer_to_tech".into());
    req.max_tokens = Some(128);
    let (events, err) = run(&server, "num_ctx = 16384", req).await;
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![
            LlmEvent::TextDelta("Hi".into()),
            LlmEvent::TextDelta(" thére".into()),
            LlmEvent::ToolCall(ToolCall {
                id: "call_0".into(),
                name: "transfer_to_tech".into(),
                arguments: "{\"reason\":\"wifi\"}".into()
            }),
            LlmEvent::Usage(Usage {
                input: Some(17),
                output: Some(5)
            }),
            LlmEvent::Finished(FinishReason::ToolCalls),
        ]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.json(),
        json!({
            "model": "llama3.2",
            "stream": true,
            "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello"}],
            "tools": [{"type": "function", "function": {"name": "transfer_to_tech", "description": "go to transfer_to_tech",
                "parameters": {"type": "object", "properties": {}}}}],
            "options": {"num_ctx": 16384, "temperature": 0.5, "num_predict": 128},
        })
    );
}

#[tokio::test]
async fn tool_results_are_tool_messages_in_order() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::ndjson(ollama_lines(&Turn::text(["ok"]))));
    let mut req = request();
    let calls = vec![
        ToolCall {
            id: "call_0".into(),
            name: "a".into(),
            arguments: "{\"x\":1}".into(),
        },
        ToolCall {
            id: "call_1".into(),
            name: "b".into(),
            arguments: "{}".into(),
        },
    ];
    req.messages.push(ChatMessage::Assistant {
        text: String::new(),
        tool_calls: calls,
    });
    req.messages.push(ChatMessage::ToolResult {
        call_id: "call_0".into(),
        name: "a".into(),
        content: "ra".into(),
        is_error: false,
    });
    req.messages.push(ChatMessage::ToolResult {
        call_id: "call_1".into(),
        name: "b".into(),
        content: "rb".into(),
        is_error: true,
    });
    let (_, err) = run(&server, "", req).await;
    assert_eq!(err, None);
    assert_eq!(
        server.requests()[0].json()["messages"],
        json!([
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "a", "arguments": {"x": 1}}},
                {"function": {"name": "b", "arguments": {}}},
            ]},
            {"role": "tool", "content": "ra", "tool_name": "a"},
            {"role": "tool", "content": "rb", "tool_name": "b"},
        ])
    );
}

#[tokio::test]
async fn error_line_mid_stream_keeps_the_text() {
    let server = FakeServer::start().await;
    let mut lines = ollama_lines(&Turn::text(["some "]));
    lines.pop();
    lines.push(
        "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n".into(),
    );
    server.push(PATH, Reply::ndjson(lines));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "some ");
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Overloaded);
    assert!(err.message.contains("unexpected EOF"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn eof_without_done_is_a_protocol_error_and_length_is_kept() {
    let server = FakeServer::start().await;
    let mut lines = ollama_lines(&Turn::text(["trunc"]));
    lines.pop();
    server.push(PATH, Reply::ndjson(lines));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "trunc");
    assert_eq!(err.unwrap().kind, ErrorKind::Protocol);

    server.push(
        PATH,
        Reply::ndjson(ollama_lines(&Turn::text(["long"]).finish("length"))),
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert_eq!(
        events.last(),
        Some(&LlmEvent::Finished(FinishReason::Length))
    );
}

#[tokio::test]
async fn unknown_model_lists_the_pulled_ones_and_check_uses_api_tags() {
    let server = FakeServer::start().await;
    server.always(
        "/api/tags",
        Reply::json(200, json!({"models": [
            {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189, "details": {"family": "llama"}},
            {"name": "qwen2.5:7b", "model": "qwen2.5:7b", "size": 4683087332u64},
        ]})),
    );
    server.push(
        PATH,
        Reply::json(
            404,
            json!({"error": "model \"llama9\" not found, try pulling it first"}),
        ),
    );
    let mut req = request();
    req.model = "llama9".into();
    let (_, err) = run(&server, "", req).await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::UnknownModel);
    let hint = err.hint.clone().unwrap();
    assert!(
        hint.contains("llama3.2:latest") && hint.contains("qwen2.5:7b"),
        "{err}"
    );

    let report = check_backend("local", &backend_config("ollama", &server.url(), "")).await;
    assert!(
        report
            .to_string()
            .ends_with("2 models: llama3.2:latest, qwen2.5:7b"),
        "{report}"
    );
}

#[tokio::test]
async fn a_stall_before_the_first_token_is_retried_and_a_wrong_base_url_is_named() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::ndjson(Vec::<String>::new()).then(support::Step::Stall),
    );
    server.push(PATH, Reply::ndjson(ollama_lines(&Turn::text(["awake"]))));
    let (events, err) = run(&server, "idle_timeout_ms = 200", request()).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[0], LlmEvent::Retrying { attempt: 1, error, .. } if error.kind == ErrorKind::Timeout)
    );
    assert_eq!(text_of(&events), "awake");

    // Nothing answers at this path: a 404 for the chat call and for the model list.
    let cfg = support::backend_config("ollama", &format!("{}/wrong", server.url()), "");
    let provider = build_provider("local", &cfg).unwrap();
    let (_, err) = collect(provider.stream(request(), CancellationToken::new())).await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::UnknownModel);
    assert!(err.hint.as_deref().unwrap().contains("base_url"), "{err}");
}

#[tokio::test]
async fn rate_limit_then_success_backs_off_and_sends_the_same_request() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::json(429, json!({"error": "too many requests, please slow down"})),
    );
    server.push(PATH, Reply::ndjson(ollama_lines(&Turn::text(["fine"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    match &events[0] {
        LlmEvent::Retrying {
            attempt: 1,
            delay_ms,
            error,
        } => {
            assert!((250..=500).contains(delay_ms), "{delay_ms}");
            assert_eq!(error.kind, ErrorKind::RateLimit);
            assert_eq!(error.status, Some(429));
        }
        other => panic!("expected Retrying first, got {other:?}"),
    }
    assert_eq!(text_of(&events), "fine");
    assert_eq!(events.last(), Some(&LlmEvent::Finished(FinishReason::Stop)));
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].json(), sent[1].json(), "the same request again");
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::json(429, json!({"error": "rate limit exceeded"})).header("retry-after-ms", "40"),
    );
    server.push(PATH, Reply::ndjson(ollama_lines(&Turn::text(["ok"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[0], LlmEvent::Retrying { attempt: 1, delay_ms: 40, error } if error.kind == ErrorKind::RateLimit),
        "{events:?}"
    );
    assert_eq!(text_of(&events), "ok");
}

#[tokio::test]
async fn server_busy_then_success() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::json(
            503,
            json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
        ),
    );
    server.push(
        PATH,
        Reply::ndjson(ollama_lines(&Turn::text(["recovered"]))),
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    match &events[0] {
        LlmEvent::Retrying {
            attempt: 1, error, ..
        } => {
            assert_eq!(error.kind, ErrorKind::Overloaded);
            assert_eq!(error.status, Some(503));
            assert!(error.message.contains("server busy"), "{error}");
        }
        other => panic!("expected Retrying first, got {other:?}"),
    }
    assert_eq!(text_of(&events), "recovered");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn drop_before_any_token_is_retried_but_a_drop_after_one_keeps_the_partial_text() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::ndjson(Vec::<String>::new()).then(Step::Drop));
    server.push(PATH, Reply::ndjson(ollama_lines(&Turn::text(["again"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[0], LlmEvent::Retrying { attempt: 1, error, .. } if error.kind == ErrorKind::Network),
        "{events:?}"
    );
    assert_eq!(text_of(&events), "again");

    let mut lines = ollama_lines(&Turn::text(["one ", "two"]));
    lines.truncate(1);
    server.push(
        PATH,
        Reply::ndjson(lines)
            .then(Step::Sleep(Duration::from_millis(20)))
            .then(Step::Drop),
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "one ");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, LlmEvent::Retrying { .. }))
    );
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Network);
    assert!(err.message.contains("not retried"), "{err}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn malformed_json_line_is_a_protocol_error_that_keeps_the_text() {
    let server = FakeServer::start().await;
    let mut lines = ollama_lines(&Turn::text(["a", "b"]));
    lines.truncate(1);
    lines.push(
        "{\"model\":\"fake-model\",\"message\":{\"role\":\"assistant\",\"content\":\"b\"\n".into(),
    );
    server.push(PATH, Reply::ndjson(lines));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "a");
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.message.contains("malformed line"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn stall_after_the_first_token_is_a_timeout_that_keeps_the_text() {
    let server = FakeServer::start().await;
    let mut lines = ollama_lines(&Turn::text(["thinking", " more"]));
    lines.truncate(1);
    server.push(PATH, Reply::ndjson(lines).then(Step::Stall));
    let (events, err) = run(&server, "idle_timeout_ms = 300", request()).await;
    assert_eq!(text_of(&events), "thinking");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, LlmEvent::Retrying { .. }))
    );
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(err.to_string().contains("idle_timeout_ms"), "{err}");
    assert!(
        server
            .wait_client_closed(0, Duration::from_secs(5))
            .await
            .is_some()
    );
    assert_eq!(server.requests().len(), 1);
}
