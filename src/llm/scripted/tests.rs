//! Unit tests of the scripted provider: matching, defaults, streaming and script errors.

use std::time::Duration;

use futures_util::StreamExt;

use super::replay::words;
use super::*;
use crate::llm::{LlmEvent, ToolSpec};

fn req(model: &str, user: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage::User { text: user.into() }],
        ..Default::default()
    }
}

fn forced(model: &str, tool: &str, tools: Vec<ToolSpec>) -> ChatRequest {
    ChatRequest {
        tool_choice: ToolChoice::Tool(tool.into()),
        tools,
        ..req(model, "go")
    }
}

fn provider(script: &str) -> ScriptedProvider {
    ScriptedProvider::from_toml("test", script, 0.0).unwrap()
}

#[test]
fn words_rejoin_to_the_text() {
    for text in [
        "",
        "one",
        "  lead",
        "a b  c\n\nd ",
        "héllo wörld ✓",
        "x\n```rust\nfn f()\n```",
    ] {
        assert_eq!(words(text).concat(), text);
    }
    assert_eq!(words("a b  c"), vec!["a ", "b  ", "c"]);
}

#[test]
fn replies_are_consumed_in_order_then_the_last_repeats() {
    let p = provider(
        r#"
[[reply]]
character = "a"
text = "first"
[[reply]]
character = "b"
text = "other"
[[reply]]
character = "a"
text = "second"
"#,
    );
    let texts: Vec<String> = (0..4).map(|_| p.plan(&req("a", "hi")).text).collect();
    assert_eq!(texts, ["first", "second", "second", "second"]);
    assert_eq!(p.plan(&req("b", "hi")).text, "other");
}

#[test]
fn specific_tiers_beat_general_ones() {
    let p = provider(
        r#"
[[reply]]
character = "*"
text = "anyone"
[[reply]]
character = "t"
text = "plain"
[[reply]]
character = "t"
contains = "CRASH"
text = "tech"
[[reply]]
character = "t"
turn = 2
text = "wrap up"
"#,
    );
    let mut second = req("t", "The app crashes");
    second.messages.push(ChatMessage::Assistant {
        text: "sending you to tech".into(),
        tool_calls: vec![],
    });
    second.messages.push(ChatMessage::User {
        text: "tech fixed the crash".into(),
    });
    assert_eq!(p.plan(&req("t", "The app crashes")).text, "tech");
    assert_eq!(p.plan(&second).text, "wrap up");
    assert_eq!(p.plan(&req("t", "crash again")).text, "tech");
    assert_eq!(p.plan(&req("t", "hello")).text, "plain");
    assert_eq!(p.plan(&req("zed", "hello")).text, "anyone");
}

#[test]
fn occasion_comes_from_the_forced_tool_or_the_summarize_marker() {
    let p = provider(
        r#"
[[reply]]
character = "a"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "disagree", reason = "too risky" } }]
[[reply]]
character = "*"
on = "summarize"
text = "short summary"
[[reply]]
character = "a"
text = "spoken"
"#,
    );
    let vote = p.plan(&forced("a", "cast_vote", vec![]));
    assert_eq!(vote.tool_calls.len(), 1);
    assert_eq!(vote.tool_calls[0].name, "cast_vote");
    let args = vote.tool_calls[0].parse_arguments().unwrap();
    assert_eq!(args["choice"], "disagree");
    let mut s = req("a", "  summarize the debate so far");
    assert_eq!(p.plan(&s).text, "short summary");
    s.messages = vec![ChatMessage::User { text: "x".into() }];
    s.system = Some("Summarize what was said.".into());
    assert_eq!(p.plan(&s).text, "short summary");
    assert_eq!(p.plan(&req("a", "hello")).text, "spoken");
}

#[test]
fn defaults_answer_every_occasion() {
    let p = provider("");
    assert!(p.plan(&req("ada", "hi")).text.contains("ada"));
    let vote = p.plan(&forced("ada", "cast_vote", vec![]));
    assert_eq!(
        vote.tool_calls[0].parse_arguments().unwrap()["choice"],
        "agree"
    );

    let pick_tool = ToolSpec {
        name: "select_speaker".into(),
        description: String::new(),
        parameters: serde_json::json!({"type":"object","properties":{
            "agent":{"type":"string","enum":["skeptic","optimist"]},"reason":{"type":"string"}}}),
    };
    let pick = p.plan(&forced("m", "select_speaker", vec![pick_tool]));
    assert_eq!(
        pick.tool_calls[0].parse_arguments().unwrap()["agent"],
        "skeptic"
    );

    let score_tool = ToolSpec {
        name: "submit_scores".into(),
        description: String::new(),
        parameters: serde_json::json!({"type":"object","properties":{"scores":{"type":"array",
            "items":{"type":"object","properties":{"agent":{"type":"string","enum":["a","b"]},
            "score":{"type":"number"},"reason":{"type":"string"}}}}}}),
    };
    let scores = p.plan(&forced("judge", "submit_scores", vec![score_tool]));
    let v = scores.tool_calls[0].parse_arguments().unwrap();
    let agents: Vec<&str> = v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["a", "b"]);
    assert_eq!(v["scores"][1]["score"], 7);
}

#[test]
fn script_errors_name_line_and_field() {
    let bad_on = "\n\n[[reply]]\ncharacter = \"a\"\non = \"dance\"\n";
    let e = ScriptedProvider::from_toml("demo", bad_on, 0.0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    let msg = e.to_string();
    assert!(msg.contains("line 3") && msg.contains("`on`"), "{msg}");
    assert!(msg.contains("backend 'demo'"), "{msg}");

    let unknown = "[[reply]]\ncharacter = \"a\"\ncolour = \"red\"\n";
    let msg = ScriptedProvider::from_toml("demo", unknown, 0.0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("line 3") && msg.contains("colour"), "{msg}");

    let bad_finish = "[[reply]]\ncharacter = \"a\"\nfinish = \"done\"\n";
    let msg = ScriptedProvider::from_toml("demo", bad_finish, 0.0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`finish`"), "{msg}");

    let bad_kind = "[[reply]]\ncharacter = \"a\"\nerror = { kind = \"boom\" }\n";
    assert!(ScriptedProvider::from_toml("demo", bad_kind, 0.0).is_err());
}

#[test]
fn the_demo_script_parses_and_lists_its_characters() {
    let replies = parse_script("demo", DEMO_SCRIPT, "demo script").unwrap();
    assert!(replies.len() > 20);
    let p = ScriptedProvider::demo("demo", 0.0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let models = rt.block_on(p.list_models()).unwrap();
    for name in [
        "optimist",
        "skeptic",
        "pragmatist",
        "triage",
        "billing",
        "tech",
        "pm",
        "architect",
        "developer",
        "qa",
        "judge",
    ] {
        assert!(models.iter().any(|m| m == name), "{name} missing");
    }
}

#[test]
fn demo_support_routes_by_keyword() {
    let p = ScriptedProvider::demo("demo", 0.0);
    let tech = p.plan(&req("triage", "The app crashes when I log in"));
    assert_eq!(tech.tool_calls[0].name, "transfer_to_tech");
    let mut back = req("triage", "The app crashes when I log in");
    back.messages.push(ChatMessage::Assistant {
        text: String::new(),
        tool_calls: tech.tool_calls.clone(),
    });
    back.messages.push(ChatMessage::User {
        text: "tech completed the handoff: known bug, update the app".into(),
    });
    let wrap = p.plan(&back);
    assert!(wrap.tool_calls.is_empty() && !wrap.text.is_empty());
    let p = ScriptedProvider::demo("demo", 0.0);
    let billing = p.plan(&req("triage", "What's the weather?"));
    assert_eq!(billing.tool_calls[0].name, "transfer_to_billing");
}

async fn collect(s: LlmStream) -> Vec<Result<LlmEvent, LlmError>> {
    s.collect().await
}

#[tokio::test]
async fn scripted_text_is_sanitized_like_every_provider_s() {
    let p = ScriptedProvider::from_toml(
        "t",
        "[[reply]]\ncharacter = \"a\"\ntext = \"hi \\u001b]0;pwned\\u0007 \\u001b[2Jthere\"\n",
        0.0,
    )
    .unwrap();
    let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
    let text: String = events
        .into_iter()
        .filter_map(|e| match e {
            Ok(LlmEvent::TextDelta(t)) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(text, "hi  there");
}

#[tokio::test]
async fn streams_words_tools_usage_then_finish() {
    let p = ScriptedProvider::from_toml(
        "t",
        r#"
[[reply]]
character = "a"
text = "hello there world"
tools = [{ name = "complete_handoff", arguments = { summary = "done" } }]
"#,
        1000.0,
    )
    .unwrap();
    let events = collect(p.stream(req("a", "abcdefgh"), CancellationToken::new())).await;
    let events: Vec<LlmEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events[0], LlmEvent::TextDelta("hello ".into()));
    assert_eq!(events[2], LlmEvent::TextDelta("world".into()));
    assert!(matches!(&events[3], LlmEvent::ToolCall(c) if c.name == "complete_handoff"));
    let LlmEvent::Usage(u) = events[4] else {
        panic!("expected usage, got {:?}", events[4])
    };
    assert_eq!(u.input, Some(2));
    assert!(u.output.unwrap() >= 3);
    assert_eq!(events[5], LlmEvent::Finished(FinishReason::ToolCalls));
    assert_eq!(events.len(), 6);
}

#[tokio::test]
async fn scripted_error_comes_after_the_text() {
    let p = provider(
        r#"
[[reply]]
character = "a"
text = "partial answer"
error = { kind = "overloaded", message = "busy right now" }
"#,
    );
    let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
    assert_eq!(events.len(), 3);
    let err = events[2].clone().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Overloaded);
    assert_eq!(err.model, "a");
    assert!(err.to_string().contains("busy right now"));
}

#[tokio::test]
async fn finish_length_is_reported() {
    let p = provider("[[reply]]\ncharacter = \"a\"\ntext = \"cut\"\nfinish = \"length\"\n");
    let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
    assert_eq!(
        events.last().unwrap().clone().unwrap(),
        LlmEvent::Finished(FinishReason::Length)
    );
}

#[tokio::test]
async fn cancellation_ends_the_stream_promptly() {
    let p = ScriptedProvider::from_toml(
        "t",
        "[[reply]]\ncharacter = \"a\"\ntext = \"one two three four five six\"\n",
        0.5,
    )
    .unwrap();
    let cancel = CancellationToken::new();
    let mut s = p.stream(req("a", "x"), cancel.clone());
    let first = tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .unwrap();
    assert_eq!(first.unwrap().unwrap(), LlmEvent::TextDelta("one ".into()));
    let waiter = tokio::spawn(async move { s.next().await.is_none() });
    tokio::task::yield_now().await;
    cancel.cancel();
    // At 0.5 words per second the next word would take 2 s; cancelling ends it now. The
    // timeout only guards against hanging forever.
    let ended = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(ended);
}

#[tokio::test]
async fn delay_before_first_token_is_cancellable() {
    let p = provider("[[reply]]\ncharacter = \"a\"\ntext = \"late\"\ndelay_ms = 600000\n");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let events = collect(p.stream(req("a", "x"), cancel)).await;
    assert!(events.is_empty());
}

#[test]
fn build_reads_the_script_file_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, "[[reply]]\ncharacter = \"zed\"\ntext = \"hi\"\n").unwrap();
    let mut cfg = BackendConfig {
        kind: crate::config::schema::BackendKind::Scripted,
        script: Some(path.clone()),
        tokens_per_sec: Some(0.0),
        ..Default::default()
    };
    let p = build("local", &cfg).unwrap();
    assert_eq!(p.backend(), "local");
    assert!(p.supports_tools());
    cfg.tools = Some(false);
    assert!(!build("local", &cfg).unwrap().supports_tools());
    cfg.script = Some(dir.path().join("missing.toml"));
    let msg = build("local", &cfg).err().unwrap().to_string();
    assert!(
        msg.contains("missing.toml") && msg.contains("local"),
        "{msg}"
    );
    std::fs::write(&path, "[[reply]]\ncharacter = 3\n").unwrap();
    cfg.script = Some(path);
    let msg = build("local", &cfg).err().unwrap().to_string();
    assert!(msg.contains("s.toml line 2"), "{msg}");
}
