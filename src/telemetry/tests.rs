//! The fold's shape on small sessions, without a runtime.

use chrono::{DateTime, Duration, Utc};

use super::fold::{FoldOptions, TraceFold, spans_of};
use super::span::{SpanRecord, Status, Value};
use super::*;
use crate::config::schema::OtlpProtocol;
use crate::core::event::{
    AgentInfo, ErrorInfo, ErrorKind, Event, EventKind, FinishReason, Outcome, PatternKind, Purpose,
    SCHEMA_VERSION, UsageInfo, VoteChoice,
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

/// Events numbered from 0, one second apart.
fn events(kinds: Vec<EventKind>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event {
            v: SCHEMA_VERSION,
            seq: i as u64,
            ts: t0() + Duration::seconds(i as i64),
            session: "s1".into(),
            kind,
        })
        .collect()
}

fn started() -> EventKind {
    let agent = |name: &str, backend: &str, model: &str| AgentInfo {
        name: name.into(),
        backend: backend.into(),
        model: model.into(),
        color: None,
        price: None,
        fallback: Vec::new(),
    };
    EventKind::SessionStarted {
        team: "debate".into(),
        pattern: PatternKind::GroupChat,
        agents: vec![
            agent("optimist", "local", "llama3.2"),
            agent("skeptic", "cloud", "gpt-4o-mini"),
        ],
    }
}

fn user(text: &str) -> EventKind {
    EventKind::UserMessage {
        text: text.into(),
        to: None,
        interject: false,
        queued_id: None,
    }
}

fn turn(agent: &str, turn: u64, purpose: Purpose) -> EventKind {
    EventKind::TurnStarted {
        agent: agent.into(),
        turn,
        round: Some(1),
        purpose,
    }
}

fn message(agent: &str, turn: u64, text: &str, purpose: Purpose) -> EventKind {
    EventKind::Message {
        agent: agent.into(),
        turn,
        text: text.into(),
        usage: UsageInfo {
            input: Some(12),
            output: Some(5),
            estimated: false,
        },
        ttft_ms: Some(40),
        latency_ms: 900,
        finish: FinishReason::Stop,
        purpose,
        tool_calls: Vec::new(),
        served_by: None,
        continues: false,
    }
}

fn finished(outcome: Outcome) -> EventKind {
    EventKind::SessionFinished {
        outcome,
        final_text: Some("ship it".into()),
    }
}

fn options() -> FoldOptions {
    FoldOptions {
        capture_content: false,
        providers: [("local".to_string(), "ollama".to_string())].into(),
    }
}

fn named<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {:?}", names(spans)))
}

fn names(spans: &[SpanRecord]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

fn str_attr<'a>(s: &'a SpanRecord, key: &str) -> &'a str {
    match s.attribute(key) {
        Some(Value::Str(v)) => v,
        other => panic!("{}: {key} is {other:?}", s.name),
    }
}

fn a_debate() -> Vec<Event> {
    events(vec![
        started(),
        user("Should we ship?"),
        turn("optimist", 0, Purpose::Speak),
        EventKind::Token {
            agent: "optimist".into(),
            turn: 0,
            text: "Yes".into(),
        },
        message("optimist", 0, "Yes, ship it.", Purpose::Speak),
        turn("skeptic", 1, Purpose::Vote),
        message("skeptic", 1, "VOTE: agree: fine", Purpose::Vote),
        EventKind::Vote {
            round: 1,
            agent: "skeptic".into(),
            choice: VoteChoice::Agree,
            reason: "fine".into(),
        },
        EventKind::Consensus {
            round: 1,
            reached: true,
            agree: 1,
            disagree: 0,
            abstain: 0,
            threshold: 0.67,
        },
        finished(Outcome::Consensus),
    ])
}

#[test]
fn a_task_is_one_trace_with_agent_and_chat_spans_under_its_root() {
    let spans = spans_of(&a_debate(), options());
    assert_eq!(
        names(&spans),
        [
            "chat llama3.2",
            "invoke_agent optimist",
            "chat gpt-4o-mini",
            "invoke_workflow debate"
        ]
    );
    let root = named(&spans, "invoke_workflow debate");
    let agent = named(&spans, "invoke_agent optimist");
    let chat = named(&spans, "chat llama3.2");
    let vote = named(&spans, "chat gpt-4o-mini");
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id));
    assert_eq!(root.parent, None);
    assert_eq!(agent.parent, Some(root.span_id));
    assert_eq!(chat.parent, Some(agent.span_id));
    assert_eq!(
        vote.parent,
        Some(root.span_id),
        "a hidden call hangs off the root"
    );

    assert_eq!(str_attr(root, "gen_ai.operation.name"), "invoke_workflow");
    assert_eq!(str_attr(root, "conclave.team"), "debate");
    assert_eq!(str_attr(root, "conclave.pattern"), "group_chat");
    assert_eq!(str_attr(root, "conclave.outcome"), "consensus");
    assert_eq!(root.status, Status::Ok);
    assert_eq!(
        root.attribute("conclave.usage.input_tokens"),
        Some(&Value::Int(24))
    );

    assert_eq!(str_attr(agent, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(str_attr(agent, "gen_ai.agent.name"), "optimist");
    assert_eq!(str_attr(chat, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(chat, "gen_ai.provider.name"), "ollama");
    assert_eq!(
        str_attr(vote, "gen_ai.provider.name"),
        "cloud",
        "unknown kind: the backend"
    );
    assert_eq!(str_attr(chat, "gen_ai.request.model"), "llama3.2");
    assert_eq!(str_attr(chat, "conclave.purpose"), "speak");
    assert_eq!(str_attr(vote, "conclave.purpose"), "vote");
    assert_eq!(
        chat.attribute("gen_ai.usage.input_tokens"),
        Some(&Value::Int(12))
    );
    assert_eq!(
        chat.attribute("gen_ai.usage.output_tokens"),
        Some(&Value::Int(5))
    );
    assert_eq!(
        chat.attribute("gen_ai.response.finish_reasons"),
        Some(&Value::StrList(vec!["stop".into()]))
    );
    // The events' own times.
    assert_eq!(root.start, t0() + Duration::seconds(1));
    assert_eq!(root.end, t0() + Duration::seconds(9));
    assert_eq!(chat.start, t0() + Duration::seconds(2));
    assert_eq!(chat.end, t0() + Duration::seconds(4));
    // Votes and the tally are events on the root, with their fields.
    let evs: Vec<&str> = root.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(evs, ["vote", "consensus"]);
    assert!(
        root.events[0]
            .attributes
            .contains(&("conclave.vote.choice", Value::Str("agree".into())))
    );
}

#[test]
fn content_stays_out_unless_captured() {
    let spans = spans_of(&a_debate(), options());
    let all = format!("{spans:?}");
    assert!(!all.contains("Should we ship?"), "{all}");
    assert!(!all.contains("Yes, ship it."), "{all}");
    let captured = spans_of(
        &a_debate(),
        FoldOptions {
            capture_content: true,
            ..options()
        },
    );
    let chat = named(&captured, "chat llama3.2");
    assert!(str_attr(chat, "gen_ai.output.messages").contains("Yes, ship it."));
    let root = named(&captured, "invoke_workflow debate");
    assert!(str_attr(root, "gen_ai.input.messages").contains("Should we ship?"));
    assert!(str_attr(root, "gen_ai.output.messages").contains("ship it"));
}

#[test]
fn each_task_is_its_own_trace_and_failures_are_errors() {
    let evs = events(vec![
        started(),
        user("one"),
        turn("optimist", 0, Purpose::Speak),
        message("optimist", 0, "a", Purpose::Speak),
        finished(Outcome::Completed),
        user("two"),
        turn("optimist", 1, Purpose::Speak),
        EventKind::TurnFailed {
            agent: "optimist".into(),
            turn: 1,
            error: ErrorInfo {
                kind: ErrorKind::Llm(crate::llm::ErrorKind::RateLimit),
                message: "429 from local".into(),
            },
            will_retry: false,
            usage: Default::default(),
        },
        finished(Outcome::Failed),
    ]);
    let spans = spans_of(&evs, options());
    let roots: Vec<&SpanRecord> = spans.iter().filter(|s| s.parent.is_none()).collect();
    assert_eq!(roots.len(), 2);
    assert_ne!(roots[0].trace_id, roots[1].trace_id);
    assert_eq!(
        roots[1].status,
        Status::Error("the task ended failed".into())
    );
    let failed = spans
        .iter()
        .find(|s| s.name == "invoke_agent optimist" && s.trace_id == roots[1].trace_id)
        .unwrap();
    assert_eq!(failed.status, Status::Error("429 from local".into()));
    assert_eq!(str_attr(failed, "error.type"), "rate_limit");
}

#[test]
fn live_and_export_agree_and_a_resume_continues_the_same_spans() {
    let evs = a_debate();
    let exported = spans_of(&evs, options());
    // Live: the same fold, one event at a time, cut in two by a resume after event 5.
    let mut before = TraceFold::new(options());
    let mut live: Vec<SpanRecord> = evs[..5].iter().flat_map(|e| before.on(e)).collect();
    let mut resumed = TraceFold::new(options());
    for e in &evs[..5] {
        resumed.on(e);
    }
    live.extend(evs[5..].iter().flat_map(|e| resumed.on(e)));
    assert_eq!(live, exported);
}

#[test]
fn a_journal_cut_off_mid_task_closes_its_spans_as_interrupted() {
    let evs = events(vec![
        started(),
        user("go"),
        turn("optimist", 0, Purpose::Speak),
    ]);
    let mut fold = TraceFold::new(options());
    assert!(
        evs.iter().all(|e| fold.on(e).is_empty()),
        "nothing finished"
    );
    let spans = fold.finish();
    assert_eq!(
        names(&spans),
        [
            "chat llama3.2",
            "invoke_agent optimist",
            "invoke_workflow debate"
        ]
    );
    assert!(
        spans
            .iter()
            .all(|s| s.attribute("conclave.interrupted") == Some(&Value::Bool(true)))
    );
    assert!(spans.iter().all(|s| s.end == t0() + Duration::seconds(2)));
}

#[test]
fn settings_come_from_the_endpoint_then_the_config() {
    let mut config = Config::default();
    let s = Settings::resolve(&config, Some("http://127.0.0.1:4318/")).unwrap();
    assert_eq!(
        s.endpoint.as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    assert!(s.plain_http, "no TLS for a plain collector");
    config.telemetry.otlp_endpoint = Some("https://u:secret@otel.example/v1/traces".into());
    let s = Settings::resolve(&config, None).unwrap();
    assert_eq!(
        s.endpoint.as_deref(),
        Some("https://u:secret@otel.example/v1/traces")
    );
    assert!(!s.shown.contains("secret"), "{}", s.shown);
    assert!(!s.plain_http);
    assert!(!s.fold.capture_content);
    assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
}

#[test]
fn grpc_takes_the_base_url_as_it_is_and_refuses_tls() {
    let mut config = Config::default();
    config.telemetry.protocol = Some(OtlpProtocol::Grpc);
    let s = Settings::resolve(&config, Some("http://127.0.0.1:4317")).unwrap();
    assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:4317"));
    let e = Settings::resolve(&config, Some("https://otel.example:4317")).unwrap_err();
    assert!(matches!(e, TelemetryError::GrpcTls), "{e}");
    assert!(e.to_string().contains("http/protobuf"), "{e}");
}

fn tool_call(call_id: &str, tool: &str) -> EventKind {
    EventKind::ToolCall {
        agent: "optimist".into(),
        turn: 0,
        call_id: call_id.into(),
        server: "fs".into(),
        tool: tool.into(),
        arguments: r#"{"path":"notes.md"}"#.into(),
    }
}

#[test]
fn each_mcp_call_is_an_execute_tool_span_under_its_agent_turn() {
    let spans = spans_of(
        &events(vec![
            started(),
            user("read my notes"),
            turn("optimist", 0, Purpose::Speak),
            tool_call("c1", "read_file"),
            EventKind::ToolResult {
                agent: "optimist".into(),
                turn: 0,
                call_id: "c1".into(),
                name: "fs__read_file".into(),
                content: "# Notes\nship it".into(),
                is_error: false,
                server: Some("fs".into()),
                ms: Some(7),
            },
            tool_call("c2", "write_file"),
            EventKind::ToolRejected {
                call_id: "c2".into(),
                by: crate::core::event::Actor::from("user"),
                reason: "not now".into(),
            },
            message("optimist", 0, "Your notes say ship it.", Purpose::Speak),
            finished(Outcome::Completed),
        ]),
        options(),
    );
    let agent = named(&spans, "invoke_agent optimist");
    let read = named(&spans, "execute_tool read_file");
    let write = named(&spans, "execute_tool write_file");
    assert_eq!(read.parent, Some(agent.span_id));
    assert_eq!(write.parent, Some(agent.span_id));
    assert_eq!(str_attr(read, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(str_attr(read, "gen_ai.tool.call.id"), "c1");
    assert_eq!(str_attr(read, "conclave.server"), "fs");
    assert_eq!(read.status, Status::Ok);
    assert_eq!(read.end - read.start, Duration::seconds(1));
    assert!(read.attribute("gen_ai.tool.call.arguments").is_none());
    assert_eq!(str_attr(write, "error.type"), "rejected");
    assert!(matches!(&write.status, Status::Error(m) if m.contains("not now")));
}
