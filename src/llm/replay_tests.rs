use futures_util::StreamExt;

use super::*;
use crate::llm::ChatRequest;

const JOURNAL: &str = r#"{"v":1,"kind":"conclave-journal","session":"s1","team":"t","pattern":"group_chat","config_fingerprint":"x","started":"2026-11-21T13:00:00Z"}
{"v":1,"seq":0,"ts":"2026-11-21T13:00:00Z","session":"s1","type":"session_started","team":"t","pattern":"group_chat","agents":[{"name":"optimist","backend":"local","model":"llama3.2"},{"name":"skeptic","backend":"local","model":"qwen"}]}
{"v":1,"seq":1,"ts":"2026-11-21T13:00:00Z","session":"s1","type":"turn_started","agent":"optimist","turn":1,"round":1}
{"v":1,"seq":2,"ts":"2026-11-21T13:00:00Z","session":"s1","type":"token","agent":"optimist","turn":1,"text":"Yes"}
{"v":1,"seq":3,"ts":"2026-11-21T13:00:01Z","session":"s1","type":"message","agent":"optimist","turn":1,"text":"Yes \u001b[31mindeed","usage":{"input":12,"output":3},"ttft_ms":5,"latency_ms":9,"finish":"stop"}
{"v":1,"seq":4,"ts":"2026-11-21T13:00:01Z","session":"s1","type":"turn_started","agent":"skeptic","turn":2,"round":1}
{"v":1,"seq":5,"ts":"2026-11-21T13:00:01Z","session":"s1","type":"turn_failed","agent":"skeptic","turn":2,"error":{"kind":"rate_limit","message":"429"},"will_retry":true}
{"v":1,"seq":6,"ts":"2026-11-21T13:00:02Z","session":"s1","type":"message","agent":"skeptic","turn":2,"text":"","usage":{"input":20,"output":null},"ttft_ms":null,"latency_ms":9,"finish":"tool_calls","purpose":"vote","tool_calls":[{"id":"c1","name":"cast_vote","arguments":"{\"choice\":\"agree\"}"}]}
{"v":1,"seq":7,"ts":"2026-11-21T13:00:02Z","session":"s1","type":"turn_started","agent":"optimist","turn":3,"round":2}
{"v":1,"seq":8,"ts":"2026-11-21T13:00:02Z","session":"s1","type":"turn_cancelled","agent":"optimist","turn":3,"partial_text":"Well"}
{"v":1,"seq":9,"ts":"2026-11-21T13:00:03Z","session":"s1","type":"turn_started","agent":"optimist","turn":4,"round":2}
{"v":1,"seq":10,"ts":"2026-11-21T13:00:03Z","session":"s1","type":"turn_failed","agent":"optimist","turn":4,"error":{"kind":"auth","message":"bad key"},"will_retry":false}
{"v":1,"seq":11,"ts":"2026-11-21T13:00:03Z","session":"s1","type":"session_fini"#;

fn provider() -> ReplayProvider {
    ReplayProvider::from_jsonl("rec", "journal s1", JOURNAL).unwrap()
}

fn ask(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        ..ChatRequest::default()
    }
}

async fn events(p: &ReplayProvider, model: &str) -> Vec<Result<LlmEvent, LlmError>> {
    p.stream(ask(model), CancellationToken::new())
        .collect()
        .await
}

#[tokio::test]
async fn each_agent_gets_its_recorded_replies_in_order() {
    let p = provider();
    let first = events(&p, "optimist").await;
    assert_eq!(
        first,
        vec![
            // Sanitized like any provider's text: no escape sequence leaves a journal either.
            Ok(LlmEvent::TextDelta("Yes indeed".into())),
            Ok(LlmEvent::Usage(Usage {
                input: Some(12),
                output: Some(3)
            })),
            Ok(LlmEvent::Finished(FinishReason::Stop)),
        ]
    );
    // By model: `qwen` is the skeptic's recorded model. The retried 429 comes first.
    let second = events(&p, "qwen").await;
    assert!(
        matches!(&second[0], Ok(LlmEvent::Retrying { error, .. }) if error.kind == ErrorKind::RateLimit)
    );
    assert_eq!(
        second[1],
        Ok(LlmEvent::ToolCall(ToolCall {
            id: "c1".into(),
            name: "cast_vote".into(),
            arguments: "{\"choice\":\"agree\"}".into()
        }))
    );
    assert_eq!(
        second.last(),
        Some(&Ok(LlmEvent::Finished(FinishReason::ToolCalls)))
    );
    // The cancelled turn is skipped; the failed one fails the same way again.
    let third = events(&p, "optimist").await;
    assert!(matches!(&third[..], [Err(e)] if e.kind == ErrorKind::Auth && e.message == "bad key"));
    let none = events(&p, "optimist").await;
    assert!(
        matches!(&none[..], [Err(e)] if e.kind == ErrorKind::Config && e.message.contains("no more recorded replies for agent `optimist`")),
        "{none:?}"
    );
}

#[tokio::test]
async fn an_unknown_agent_is_named_with_the_recorded_ones() {
    let p = provider();
    let out = events(&p, "judge").await;
    let [Err(e)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(e.kind, ErrorKind::UnknownModel);
    assert!(e.message.contains("no agent named `judge`"), "{e}");
    assert!(
        e.hint.as_deref().unwrap().contains("optimist, skeptic"),
        "{e:?}"
    );
    assert!(p.supports_tools(), "the recording made tool calls");
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_with_its_line() {
    let e = ReplayProvider::from_jsonl("rec", "journal x", "not json\n{}\n").unwrap_err();
    assert!(e.message.contains("journal x: line 1"), "{e}");
}

#[test]
fn build_finds_the_journal_by_id_prefix_or_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("20261121-130000-f1x7.jsonl"), JOURNAL).unwrap();
    let cfg: BackendConfig =
        toml::from_str("kind = \"replay\"\njournal = \"20261121-13\"").unwrap();
    let p = build("rec", &cfg, dir.path()).unwrap();
    assert_eq!(p.backend(), "rec");
    let by_path = BackendConfig {
        journal: Some(
            dir.path()
                .join("20261121-130000-f1x7.jsonl")
                .display()
                .to_string(),
        ),
        ..cfg.clone()
    };
    assert!(build("rec", &by_path, Path::new("/nonexistent")).is_ok());
    let missing = BackendConfig {
        journal: Some("nosuch".into()),
        ..cfg.clone()
    };
    let e = build("rec", &missing, dir.path()).err().unwrap();
    assert!(e.message.contains("no recorded session `nosuch`"), "{e}");
    let none = BackendConfig {
        journal: None,
        ..cfg
    };
    assert!(build("rec", &none, dir.path()).is_err());
}
