//! The Anthropic Messages provider against the fake server over real HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use conclave::llm::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmEvent, ToolCall, ToolChoice, ToolSpec,
    Usage, build_provider, check_backend,
};
use std::time::Duration;

use serde_json::json;
use support::wire::anthropic_events;
use support::{FakeServer, Reply, Step, Turn, backend_config, collect, text_of};
use tokio_util::sync::CancellationToken;

const PATH: &str = "/v1/messages";

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-test".into(),
        system: Some("You vote.".into()),
        messages: vec![ChatMessage::User {
            text: "Proposal: ship it.".into(),
        }],
        ..Default::default()
    }
}

async fn run(
    server: &FakeServer,
    extra: &str,
    req: ChatRequest,
) -> (Vec<LlmEvent>, Option<conclave::llm::LlmError>) {
    let cfg = backend_config("anthropic", &server.url(), extra);
    let provider = build_provider("an", &cfg).unwrap();
    collect(provider.stream(req, CancellationToken::new())).await
}

fn overloaded_event() -> String {
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".into()
}

#[tokio::test]
async fn text_and_tool_use_stream_with_headers_and_top_level_system() {
    let server = FakeServer::start().await;
    let turn = Turn::text(["I ", "agree."])
        .tool(
            "toolu_01",
            "cast_vote",
            "{\"choice\":\"agree\",\"reason\":\"ready\"}",
        )
        .usage(30, 12);
    server.push(PATH, Reply::sse(anthropic_events(&turn)));
    let mut req = request();
    req.tools = vec![ToolSpec {
        name: "cast_vote".into(),
        description: "Vote on the proposal".into(),
        parameters: json!({"type": "object", "properties": {"choice": {"type": "string"}}, "required": ["choice"]}),
    }];
    req.tool_choice = ToolChoice::Tool("cast_vote".into());
    let (events, err) = run(&server, "api_key_cmd = \"printf sk-ant-test\"", req).await;
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![
            LlmEvent::Usage(Usage {
                input: Some(30),
                output: Some(1)
            }),
            LlmEvent::TextDelta("I ".into()),
            LlmEvent::TextDelta("agree.".into()),
            LlmEvent::ToolCall(ToolCall {
                id: "toolu_01".into(),
                name: "cast_vote".into(),
                arguments: "{\"choice\":\"agree\",\"reason\":\"ready\"}".into(),
            }),
            LlmEvent::Usage(Usage {
                input: Some(30),
                output: Some(12)
            }),
            LlmEvent::Finished(FinishReason::ToolCalls),
        ]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.json(),
        json!({
            "model": "claude-test",
            "max_tokens": 1024,
            "stream": true,
            "system": "You vote.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Proposal: ship it."}]}],
            "tools": [{"name": "cast_vote", "description": "Vote on the proposal",
                "input_schema": {"type": "object", "properties": {"choice": {"type": "string"}}, "required": ["choice"]}}],
            "tool_choice": {"type": "tool", "name": "cast_vote"},
        })
    );
}

#[tokio::test]
async fn tool_results_go_back_as_one_user_message_of_blocks_in_order() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::sse(anthropic_events(&Turn::text(["noted"]))));
    let calls = vec![
        ToolCall {
            id: "toolu_a".into(),
            name: "transfer_to_billing".into(),
            arguments: "{\"reason\":\"r\"}".into(),
        },
        ToolCall {
            id: "toolu_b".into(),
            name: "transfer_to_tech".into(),
            arguments: "{broken".into(),
        },
    ];
    let mut req = request();
    req.max_tokens = Some(300);
    req.messages.push(ChatMessage::Assistant {
        text: String::new(),
        tool_calls: calls,
    });
    req.messages.push(ChatMessage::ToolResult {
        call_id: "toolu_a".into(),
        name: "transfer_to_billing".into(),
        content: "accepted".into(),
        is_error: false,
    });
    req.messages.push(ChatMessage::ToolResult {
        call_id: "toolu_b".into(),
        name: "transfer_to_tech".into(),
        content: "one handoff at a time".into(),
        is_error: true,
    });
    let (_, err) = run(&server, "", req).await;
    assert_eq!(err, None);
    let body = server.requests()[0].json();
    assert_eq!(body["max_tokens"], json!(300));
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Proposal: ship it."}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_a", "name": "transfer_to_billing", "input": {"reason": "r"}},
                {"type": "tool_use", "id": "toolu_b", "name": "transfer_to_tech", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "accepted", "is_error": false},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "one handoff at a time", "is_error": true},
            ]},
        ])
    );
}

#[tokio::test]
async fn http_529_then_success() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::json(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})).header("retry-after", "0"));
    server.push(PATH, Reply::sse(anthropic_events(&Turn::text(["back"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[0], LlmEvent::Retrying { attempt: 1, delay_ms: 0, error } if error.kind == ErrorKind::Overloaded)
    );
    assert_eq!(text_of(&events), "back");
}

#[tokio::test]
async fn overloaded_error_after_200_is_retried_only_before_the_first_token() {
    let server = FakeServer::start().await;
    let mut early = anthropic_events(&Turn::text(["never"]));
    early.truncate(2);
    early.push(overloaded_event());
    server.push(PATH, Reply::sse(early));
    server.push(
        PATH,
        Reply::sse(anthropic_events(&Turn::text(["second try"]))),
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert!(events.iter().any(
        |e| matches!(e, LlmEvent::Retrying { error, .. } if error.kind == ErrorKind::Overloaded)
    ));
    assert_eq!(text_of(&events), "second try");

    let mut late = anthropic_events(&Turn::text(["half "]));
    late.truncate(4);
    late.push(overloaded_event());
    server.push(PATH, Reply::sse(late));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "half ");
    assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn eof_before_any_stop_reason_is_a_protocol_error_after_the_text() {
    let server = FakeServer::start().await;
    let mut events = anthropic_events(&Turn::text(["cut"]));
    events.truncate(events.len() - 2);
    server.push(PATH, Reply::sse(events));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "cut");
    assert!(!events.iter().any(|e| matches!(e, LlmEvent::Finished(_))));
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.to_string().contains("message_stop"), "{err}");
    assert_eq!(server.requests().len(), 1, "not retried after the text");
}

#[tokio::test]
async fn a_reply_whose_last_frame_lacks_its_blank_line_or_that_ends_after_the_stop_reason_is_complete()
 {
    let server = FakeServer::start().await;
    let mut unterminated = anthropic_events(&Turn::text(["all ", "there"]).usage(5, 2));
    let last = unterminated.pop().unwrap();
    unterminated.push(last.trim_end_matches('\n').to_string());
    server.push(PATH, Reply::sse(unterminated));
    let mut no_stop = anthropic_events(&Turn::text(["capped"]).finish("max_tokens"));
    no_stop.pop();
    server.push(PATH, Reply::sse(no_stop));

    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert_eq!(text_of(&events), "all there");
    assert_eq!(
        &events[events.len() - 2..],
        &[
            LlmEvent::Usage(Usage {
                input: Some(5),
                output: Some(2)
            }),
            LlmEvent::Finished(FinishReason::Stop),
        ]
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert_eq!(text_of(&events), "capped");
    assert_eq!(
        events.last(),
        Some(&LlmEvent::Finished(FinishReason::Length))
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let server = FakeServer::start().await;
    let limited = Reply::json(
        429,
        json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "Number of request tokens has exceeded your per-minute rate limit"}}),
    )
    .header("retry-after", "1")
    .header("anthropic-ratelimit-requests-remaining", "0");
    server.push(PATH, limited);
    server.push(PATH, Reply::sse(anthropic_events(&Turn::text(["fine"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    match &events[0] {
        LlmEvent::Retrying {
            attempt: 1,
            delay_ms: 1000,
            error,
        } => {
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
    assert_eq!(sent[1].header("anthropic-version"), Some("2023-06-01"));
}

#[tokio::test]
async fn server_error_then_success_backs_off() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::json(
            500,
            json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}),
        ),
    );
    server.push(
        PATH,
        Reply::sse(anthropic_events(&Turn::text(["recovered"]))),
    );
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    match &events[0] {
        LlmEvent::Retrying {
            attempt: 1,
            delay_ms,
            error,
        } => {
            assert!((250..=500).contains(delay_ms), "{delay_ms}");
            assert_eq!(error.kind, ErrorKind::Overloaded);
            assert_eq!(error.status, Some(500));
            assert!(error.message.contains("Internal server error"), "{error}");
        }
        other => panic!("expected Retrying first, got {other:?}"),
    }
    assert_eq!(text_of(&events), "recovered");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn drop_before_any_token_is_retried_but_a_drop_after_one_keeps_the_partial_text() {
    let server = FakeServer::start().await;
    let mut early = anthropic_events(&Turn::text(["unseen"]));
    early.truncate(2); // message_start and ping: no token yet
    server.push(PATH, Reply::sse(early).then(Step::Drop));
    server.push(PATH, Reply::sse(anthropic_events(&Turn::text(["again"]))));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[1], LlmEvent::Retrying { attempt: 1, error, .. } if error.kind == ErrorKind::Network),
        "{events:?}"
    );
    assert_eq!(text_of(&events), "again");
    assert_eq!(server.requests().len(), 2);

    let mut late = anthropic_events(&Turn::text(["one ", "two"]));
    late.truncate(4); // up to the first text delta
    server.push(
        PATH,
        Reply::sse(late)
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
async fn stall_longer_than_idle_timeout_is_a_timeout() {
    let server = FakeServer::start().await;
    let mut events = anthropic_events(&Turn::text(["thinking"]));
    events.truncate(4);
    server.push(PATH, Reply::sse(events).then(Step::Stall));
    let (events, err) = run(&server, "idle_timeout_ms = 300", request()).await;
    assert_eq!(text_of(&events), "thinking");
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

#[tokio::test]
async fn malformed_chunk_is_a_protocol_error_that_keeps_the_text() {
    let server = FakeServer::start().await;
    let mut events = anthropic_events(&Turn::text(["a", "b"]));
    events.truncate(4);
    events.push(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\n\n"
            .into(),
    );
    server.push(PATH, Reply::sse(events));
    let (events, err) = run(&server, "", request()).await;
    assert_eq!(text_of(&events), "a");
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.message.contains("malformed event"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn prompt_too_long_and_auth_are_not_retried() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::json(400, json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"}})));
    let (_, err) = run(&server, "", request()).await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::ContextTooLong);
    assert!(err.message.contains("prompt is too long"), "{err}");

    server.push(PATH, Reply::json(401, json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})));
    let (_, err) = run(
        &server,
        "api_key_cmd = \"printf sk-ant-wrong-key\"",
        request(),
    )
    .await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Auth);
    let shown = err.to_string();
    assert!(shown.contains("api_key_cmd (program `printf`)"), "{shown}");
    assert!(!shown.contains("sk-ant-wrong-key"), "{shown}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn models_from_v1_models_even_with_a_v1_base_url() {
    let server = FakeServer::start().await;
    server.always(
        "/v1/models",
        Reply::json(200, json!({"data": [
            {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"},
            {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"},
        ], "has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-haiku-4-5"})),
    );
    let cfg = backend_config("anthropic", &format!("{}/v1", server.url()), "");
    let report = check_backend("an", &cfg).await;
    assert_eq!(
        report.result.as_ref().unwrap(),
        &["claude-haiku-4-5", "claude-sonnet-4-5"]
    );
    assert_eq!(
        server.requests()[0].header("anthropic-version"),
        Some("2023-06-01")
    );
}
