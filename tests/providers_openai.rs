//! The OpenAI-compatible provider against the fake server over real HTTP on loopback: the events
//! it produces, the requests it sends, and how it behaves when the server misbehaves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use conclave::llm::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmEvent, ToolCall, ToolChoice, ToolSpec,
    Usage, build_provider, check_backend,
};
use futures_util::StreamExt;
use serde_json::json;
use support::wire::openai_events;
use support::{FakeServer, Reply, Step, Turn, backend_config, collect, text_of};
use tokio_util::sync::CancellationToken;

const PATH: &str = "/v1/chat/completions";

fn request(text: &str) -> ChatRequest {
    ChatRequest {
        model: "gpt-test".into(),
        system: Some("You are terse.".into()),
        messages: vec![ChatMessage::User { text: text.into() }],
        ..Default::default()
    }
}

async fn run(
    server: &FakeServer,
    extra: &str,
    req: ChatRequest,
) -> (Vec<LlmEvent>, Option<conclave::llm::LlmError>) {
    let cfg = backend_config("openai", &format!("{}/v1", server.url()), extra);
    let provider = build_provider("oa", &cfg).unwrap();
    collect(provider.stream(req, CancellationToken::new())).await
}

#[tokio::test]
async fn streams_text_and_usage_and_sends_the_documented_request() {
    let server = FakeServer::start().await;
    server.push(
        PATH,
        Reply::sse(openai_events(
            &Turn::text(["Hel", "lo ", "wörld"]).usage(11, 3),
        )),
    );
    let (events, err) = run(
        &server,
        "api_key_cmd = \"printf sk-test-123\"",
        request("hi"),
    )
    .await;
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![
            LlmEvent::TextDelta("Hel".into()),
            LlmEvent::TextDelta("lo ".into()),
            LlmEvent::TextDelta("wörld".into()),
            LlmEvent::Usage(Usage {
                input: Some(11),
                output: Some(3)
            }),
            LlmEvent::Finished(FinishReason::Stop),
        ]
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].path, PATH);
    assert_eq!(sent[0].header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(
        sent[0].json(),
        json!({
            "model": "gpt-test",
            "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn two_tool_calls_in_one_reply_and_tool_results_answered_once_in_order() {
    let server = FakeServer::start().await;
    let turn = Turn::text(["Checking."])
        .tool("call_1", "transfer_to_billing", "{\"reason\":\"refund\"}")
        .tool("call_2", "transfer_to_tech", "{\"reason\":\"débogage\"}")
        .usage(40, 20);
    server.push(PATH, Reply::sse(openai_events(&turn)));
    server.push(PATH, Reply::sse(openai_events(&Turn::text(["ok"]))));

    let spec = ToolSpec {
        name: "transfer_to_billing".into(),
        description: "hand off".into(),
        parameters: json!(null),
    };
    let mut req = request("help");
    req.tools = vec![spec.clone()];
    req.tool_choice = ToolChoice::Tool("transfer_to_billing".into());
    let (events, err) = run(&server, "", req.clone()).await;
    assert_eq!(err, None);
    let calls: Vec<ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            LlmEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            ToolCall {
                id: "call_1".into(),
                name: "transfer_to_billing".into(),
                arguments: "{\"reason\":\"refund\"}".into()
            },
            ToolCall {
                id: "call_2".into(),
                name: "transfer_to_tech".into(),
                arguments: "{\"reason\":\"débogage\"}".into()
            },
        ]
    );
    assert_eq!(
        events.last(),
        Some(&LlmEvent::Finished(FinishReason::ToolCalls))
    );

    // The next call answers both tool calls, in order.
    req.messages.push(ChatMessage::Assistant {
        text: "Checking.".into(),
        tool_calls: calls.clone(),
    });
    for (call, content) in calls
        .iter()
        .zip(["accepted", "error: only one handoff at a time"])
    {
        req.messages.push(ChatMessage::ToolResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: content.starts_with("error"),
        });
    }
    let (_, err) = run(&server, "", req).await;
    assert_eq!(err, None);
    let body = server.requests()[1].json();
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "help"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "transfer_to_billing", "arguments": "{\"reason\":\"refund\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "transfer_to_tech", "arguments": "{\"reason\":\"débogage\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "accepted"},
            {"role": "tool", "tool_call_id": "call_2", "content": "error: only one handoff at a time"},
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "transfer_to_billing", "description": "hand off",
            "parameters": {"type": "object", "properties": {}}}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "transfer_to_billing"}})
    );
}

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let server = FakeServer::start().await;
    let limited = Reply::json(429, json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
        .header("retry-after-ms", "30");
    server.push(PATH, limited);
    server.push(PATH, Reply::sse(openai_events(&Turn::text(["fine"]))));
    let (events, err) = run(&server, "", request("hi")).await;
    assert_eq!(err, None);
    match &events[0] {
        LlmEvent::Retrying {
            attempt: 1,
            delay_ms: 30,
            error,
        } => assert_eq!(error.kind, ErrorKind::RateLimit),
        other => panic!("expected Retrying first, got {other:?}"),
    }
    assert_eq!(text_of(&events), "fine");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_error_then_success_backs_off() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::text(500, "Internal Server Error"));
    server.push(PATH, Reply::sse(openai_events(&Turn::text(["recovered"]))));
    let (events, err) = run(&server, "", request("hi")).await;
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
        }
        other => panic!("expected Retrying first, got {other:?}"),
    }
    assert_eq!(text_of(&events), "recovered");
}

#[tokio::test]
async fn quota_and_auth_fail_at_once_with_hints_and_no_key_in_sight() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::json(429, json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}})));
    let (events, err) = run(&server, "", request("hi")).await;
    assert!(events.is_empty());
    assert_eq!(err.unwrap().kind, ErrorKind::Quota);

    server.push(PATH, Reply::json(401, json!({"error": {"message": "Incorrect API key provided: sk-abcdefgh-secret", "code": "invalid_api_key"}})));
    let (_, err) = run(&server, "api_key = \"sk-abcdefgh-secret\"", request("hi")).await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Auth);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("sk-abcdefgh-secret"), "{shown}");
    assert!(shown.contains("api_key"), "{shown}");
    assert_eq!(server.requests().len(), 2, "neither was retried");
}

#[tokio::test]
async fn error_object_mid_stream_keeps_text_and_is_not_retried() {
    let server = FakeServer::start().await;
    let mut events = openai_events(&Turn::text(["partial "]));
    events.truncate(2);
    events.push(
        "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n"
            .into(),
    );
    server.push(PATH, Reply::sse(events));
    let (events, err) = run(&server, "", request("hi")).await;
    assert_eq!(text_of(&events), "partial ");
    assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropped_connection_mid_stream_keeps_partial_text() {
    let server = FakeServer::start().await;
    let mut events = openai_events(&Turn::text(["one ", "two"]));
    events.truncate(2);
    server.push(
        PATH,
        Reply::sse(events)
            .then(Step::Sleep(Duration::from_millis(20)))
            .then(Step::Drop),
    );
    let (events, err) = run(&server, "", request("hi")).await;
    assert_eq!(text_of(&events), "one ");
    assert_eq!(err.unwrap().kind, ErrorKind::Network);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn drop_before_any_token_is_retried() {
    let server = FakeServer::start().await;
    server.push(PATH, Reply::sse(Vec::<String>::new()).then(Step::Drop));
    server.push(PATH, Reply::sse(openai_events(&Turn::text(["again"]))));
    let (events, err) = run(&server, "", request("hi")).await;
    assert_eq!(err, None);
    assert!(
        matches!(&events[0], LlmEvent::Retrying { error, .. } if error.kind == ErrorKind::Network)
    );
    assert_eq!(text_of(&events), "again");
}

#[tokio::test]
async fn stall_longer_than_idle_timeout_is_a_timeout() {
    let server = FakeServer::start().await;
    let mut events = openai_events(&Turn::text(["thinking"]));
    events.truncate(2);
    server.push(PATH, Reply::sse(events).then(Step::Stall));
    let (events, err) = run(&server, "idle_timeout_ms = 300", request("hi")).await;
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
}

#[tokio::test]
async fn malformed_chunk_and_eof_without_done_are_protocol_errors() {
    let server = FakeServer::start().await;
    let mut events = openai_events(&Turn::text(["a"]));
    events.truncate(2);
    events.push("data: {\"choices\":[{\"delta\":{\"content\"\n\n".into());
    server.push(PATH, Reply::sse(events.clone()));
    let (got, err) = run(&server, "", request("hi")).await;
    assert_eq!(text_of(&got), "a");
    assert_eq!(err.unwrap().kind, ErrorKind::Protocol);

    events.truncate(2);
    server.push(PATH, Reply::sse(events));
    let (got, err) = run(&server, "", request("hi")).await;
    assert_eq!(text_of(&got), "a");
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.to_string().contains("[DONE]"), "{err}");
}

#[tokio::test]
async fn utf8_split_between_writes_and_inside_data_field_and_control_chars() {
    let server = FakeServer::start().await;
    let body: String = openai_events(&Turn::text(["日本語 \u{1b}[2Jclean", "🎉"])).concat();
    let inside_char = body.find("本").unwrap() + 1;
    let inside_data = body.find("data:").unwrap() + 2;
    let inside_emoji = body.find('🎉').unwrap() + 2;
    let reply = Reply::sse([body]).split_at(&[inside_data, inside_char, inside_emoji]);
    server.push(PATH, reply);
    let (events, err) = run(&server, "", request("hi")).await;
    assert_eq!(err, None);
    assert_eq!(text_of(&events), "日本語 clean🎉");
}

#[tokio::test]
async fn cancelling_closes_the_connection_promptly() {
    let server = FakeServer::start().await;
    let mut events = openai_events(&Turn::text(["first"]));
    events.truncate(2);
    server.push(PATH, Reply::sse(events).then(Step::Stall));
    let cfg = backend_config("openai", &format!("{}/v1", server.url()), "");
    let provider = build_provider("oa", &cfg).unwrap();
    let cancel = CancellationToken::new();
    let mut stream = provider.stream(request("hi"), cancel.clone());
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap();
    assert_eq!(first.unwrap().unwrap(), LlmEvent::TextDelta("first".into()));
    cancel.cancel();
    let cancelled_at = Instant::now();
    assert!(stream.next().await.is_none());
    let closed_at = server
        .wait_client_closed(0, Duration::from_secs(5))
        .await
        .expect("client closed");
    let took = closed_at.saturating_duration_since(cancelled_at);
    assert!(
        took < Duration::from_millis(100),
        "connection closed {took:?} after cancel"
    );
}

#[tokio::test]
async fn models_are_listed_and_an_unknown_model_names_the_ones_that_exist() {
    let server = FakeServer::start().await;
    server.always(
        "/v1/models",
        Reply::json(
            200,
            json!({"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "owned_by": "system"},
                {"id": "gpt-4o-mini", "object": "model", "owned_by": "system"},
            ]}),
        ),
    );
    server.push(PATH, Reply::json(404, json!({"error": {"message": "The model `gpt-4q` does not exist", "code": "model_not_found"}})));
    let cfg = backend_config("openai", &format!("{}/v1/", server.url()), "");
    let provider = build_provider("oa", &cfg).unwrap();
    assert_eq!(
        provider.list_models().await.unwrap(),
        ["gpt-4o", "gpt-4o-mini"]
    );
    let mut req = request("hi");
    req.model = "gpt-4q".into();
    let (_, err) = collect(provider.stream(req, CancellationToken::new())).await;
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::UnknownModel);
    assert_eq!(err.model, "gpt-4q");
    assert!(
        err.hint.as_deref().unwrap().contains("gpt-4o, gpt-4o-mini"),
        "{err}"
    );

    let report = check_backend("oa", &cfg).await;
    assert!(
        report.to_string().starts_with("ok   oa (openai, "),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .ends_with("2 models: gpt-4o, gpt-4o-mini"),
        "{report}"
    );
}

#[tokio::test]
async fn check_reports_unreachable_and_misconfigured_backends() {
    let server = FakeServer::start().await;
    let url = server.url();
    drop(server);
    let report = check_backend("gone", &backend_config("openai", &url, "max_retries = 0")).await;
    assert_eq!(report.result.as_ref().unwrap_err().kind, ErrorKind::Network);
    assert!(
        report
            .to_string()
            .starts_with("FAIL gone (openai, http://127.0.0.1:"),
        "{report}"
    );

    let cfg = backend_config(
        "openai",
        &url,
        "api_key_env = \"CONCLAVE_TEST_NO_SUCH_VAR\"",
    );
    let report = check_backend("nokey", &cfg).await;
    assert_eq!(report.result.as_ref().unwrap_err().kind, ErrorKind::Config);
    assert!(
        report.to_string().contains("CONCLAVE_TEST_NO_SUCH_VAR"),
        "{report}"
    );
}

#[tokio::test]
async fn cancelling_without_polling_and_dropping_also_close_the_connection() {
    let server = FakeServer::start().await;
    for _ in 0..2 {
        let mut events = openai_events(&Turn::text(["first"]));
        events.truncate(2);
        server.push(PATH, Reply::sse(events).then(Step::Stall));
    }
    let cfg = backend_config("openai", &format!("{}/v1", server.url()), "");
    let provider = build_provider("oa", &cfg).unwrap();

    let cancel = CancellationToken::new();
    let mut stream = provider.stream(request("hi"), cancel.clone());
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap();
    assert_eq!(first.unwrap().unwrap(), LlmEvent::TextDelta("first".into()));
    cancel.cancel();
    let cancelled_at = Instant::now();
    let closed_at = server
        .wait_client_closed(0, Duration::from_secs(5))
        .await
        .expect("closed on cancel");
    let took = closed_at.saturating_duration_since(cancelled_at);
    assert!(
        took < Duration::from_millis(100),
        "closed {took:?} after cancel, stream not polled"
    );
    assert!(stream.next().await.is_none());

    let mut stream = provider.stream(request("hi"), CancellationToken::new());
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap();
    assert!(first.unwrap().is_ok());
    drop(stream);
    let dropped_at = Instant::now();
    let closed_at = server
        .wait_client_closed(1, Duration::from_secs(5))
        .await
        .expect("closed on drop");
    let took = closed_at.saturating_duration_since(dropped_at);
    assert!(
        took < Duration::from_millis(100),
        "closed {took:?} after drop"
    );
}

#[tokio::test]
async fn retries_are_bounded_and_a_long_server_delay_is_reported_not_waited() {
    let server = FakeServer::start().await;
    for _ in 0..3 {
        server.push(
            PATH,
            Reply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "0"),
        );
    }
    let (events, err) = run(&server, "max_retries = 2", request("hi")).await;
    let retries = events
        .iter()
        .filter(|e| matches!(e, LlmEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::RateLimit);
    assert!(err.message.contains("gave up after 2 retries"), "{err}");
    assert_eq!(server.requests().len(), 3);

    server.push(
        PATH,
        Reply::json(429, json!({"error": {"message": "daily limit"}}))
            .header("retry-after", "3600"),
    );
    let (events, err) = run(&server, "", request("hi")).await;
    assert!(events.is_empty());
    let err = err.unwrap();
    assert_eq!(err.retry_after_ms, Some(3_600_000));
    assert!(
        err.hint.as_deref().unwrap().contains("wait 3600 s"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 4);
}

/// Finding: `api_key_cmd = "sleep 30"` used to hang `conclave run`. Now the command is stopped
/// after 10 s and `run` fails with an error naming the backend and the program.
#[test]
fn a_hanging_api_key_cmd_stops_run_with_a_clear_error() {
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        r#"
[backends.vault]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_cmd = "sleep 30; printf sk-too-late"

[agents.solo]
backend = "vault"
model = "m"

[teams.one]
pattern = "single"
members = ["solo"]
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["run", "--config"])
        .arg(&config)
        .args(["--team", "one", "--prompt", "hi"])
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Only a guard against hanging forever (the bug), not a speed assertion.
    let guard = Instant::now() + Duration::from_secs(25);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > guard {
            let _ = child.kill();
            panic!("`conclave run` still waits for api_key_cmd after 25 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("backend 'vault'"), "{stderr}");
    assert!(stderr.contains("program `sleep`"), "{stderr}");
    assert!(stderr.contains("did not finish within 10 s"), "{stderr}");
    assert!(!stderr.contains("sk-too-late"), "{stderr}");
}
