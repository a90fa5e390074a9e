//! MCP tools end to end: the in-repo fault server (`examples/mcp_fault_server.rs`, rmcp's server
//! feature, over stdio) behind the [`Hub`], and whole sessions whose agent calls its tools through
//! the fake LLM server on every wire protocol. Faults: a slow call times out, a crash mid-call is
//! an error naming the server with its stderr and the server restarts after its backoff, a
//! protocol error becomes an error result, `list_changed` brings a new tool, a server that does
//! not start is a readable error. Approval: read-only tools run, writing ones wait for
//! `approve_tool` / `reject_tool`, unattended runs follow `--approve`, and a resumed session marks
//! the call that was running `tool_interrupted` and does not run it again without the person.
//!
//! The fault server is built by `cargo test` (an example); run alone, build it first with
//! `cargo build --example mcp_fault_server`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conclave::config::{AgentConfig, Approval, FallbackModel, McpConfig, TeamConfig};
use conclave::core::event::{EventKind, Outcome, PatternKind};
use conclave::core::patterns::UnattendedApproval;
use conclave::core::session::{Session, SessionHandle, SessionSpec};
use conclave::core::{Command, Event};
use conclave::llm::build_provider;
use conclave::tools::{Hub, ToolError};
use serde_json::{Value, json};
use support::events::{check_invariants, finished};
use support::llm_fake::{ByRequest, Wire};
use support::{FakeServer, Reply, Turn};
use tokio_util::sync::CancellationToken;

fn fault_server() -> PathBuf {
    support::mcp_fault_server()
}

fn fault_config(env: &[(&str, &str)], timeout_ms: Option<u64>) -> McpConfig {
    McpConfig {
        command: Some(fault_server().display().to_string()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timeout_ms,
        ..McpConfig::default()
    }
}

fn hub(config: McpConfig) -> Arc<Hub> {
    Arc::new(Hub::new(&BTreeMap::from([("fault".to_string(), config)])))
}

fn args(json: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(json).unwrap() {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test]
async fn lists_tools_with_read_only_hints_and_calls_one() {
    let hub = hub(fault_config(&[], None));
    let (offered, errors) = hub.offered(&["fault".into()]).await;
    assert!(errors.is_empty(), "{errors:?}");
    let echo = offered.iter().find(|o| o.tool == "echo").unwrap();
    assert_eq!(echo.name, "fault__echo");
    assert!(echo.read_only);
    assert!(
        !offered
            .iter()
            .find(|o| o.tool == "write_note")
            .unwrap()
            .read_only
    );
    let (only, _) = hub.offered(&["fault.echo".into()]).await;
    assert_eq!(only.len(), 1);
    let out = hub
        .call(
            "fault",
            "echo",
            args(r#"{"text":"hi"}"#),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.text, "echo: hi");
    assert!(!out.is_error);
    let failed = hub
        .call("fault", "fail", args("{}"), CancellationToken::new())
        .await
        .unwrap();
    assert!(
        failed.is_error && failed.text.contains("always fails"),
        "{failed:?}"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn a_slow_call_times_out_and_the_server_goes_on() {
    let hub = hub(fault_config(&[], Some(300)));
    let started = std::time::Instant::now();
    let err = hub
        .call(
            "fault",
            "slow",
            args(r#"{"ms":5000}"#),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, ToolError::Timeout { ms: 300, .. }), "{err}");
    assert!(err.to_string().contains("timeout_ms"), "{err}");
    let out = hub
        .call(
            "fault",
            "echo",
            args(r#"{"text":"still here"}"#),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.text, "echo: still here");
}

#[tokio::test]
async fn a_crash_mid_call_names_the_server_and_its_stderr_then_it_restarts_after_backoff() {
    let hub = hub(fault_config(&[], None));
    let err = hub
        .call("fault", "crash", args("{}"), CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("MCP server 'fault'"), "{err}");
    assert!(err.contains("mcp_fault_server"), "names the command: {err}");
    assert!(
        err.contains("crashing on purpose"),
        "shows its stderr: {err}"
    );
    let soon = hub
        .call("fault", "echo", args("{}"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(soon, ToolError::Backoff { .. }), "{soon}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let out = hub
        .call(
            "fault",
            "echo",
            args(r#"{"text":"back"}"#),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.text, "echo: back");
}

#[tokio::test]
async fn a_server_that_does_not_start_is_a_readable_error() {
    let hub = hub(fault_config(&[("FAULT_START", "exit")], None));
    let (offered, errors) = hub.offered(&["fault".into()]).await;
    assert!(offered.is_empty());
    let text = errors[0].to_string();
    assert!(
        text.contains("'fault'") && text.contains("refusing to start"),
        "{text}"
    );
    let missing = Hub::new(&BTreeMap::from([(
        "nope".to_string(),
        McpConfig {
            command: Some("/nonexistent/mcp-server".into()),
            ..McpConfig::default()
        },
    )]));
    let (_, errors) = missing.offered(&["nope".into(), "ghost".into()]).await;
    assert!(
        errors[0].to_string().contains("could not start it"),
        "{errors:?}"
    );
    assert!(
        errors[1]
            .to_string()
            .contains("no MCP server named 'ghost'")
    );
}

#[tokio::test]
async fn list_changed_brings_the_new_tool() {
    let hub = hub(fault_config(&[], None));
    let (before, _) = hub.offered(&["fault".into()]).await;
    assert!(!before.iter().any(|o| o.tool == "late"));
    hub.call("fault", "grow", args("{}"), CancellationToken::new())
        .await
        .unwrap();
    let mut found = false;
    for _ in 0..50 {
        let (after, _) = hub.offered(&["fault".into()]).await;
        if after.iter().any(|o| o.tool == "late") {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found, "tools/list_changed was followed");
}

// --- whole sessions ---------------------------------------------------------------------------

struct Run {
    handle: SessionHandle,
    events: tokio::sync::mpsc::UnboundedReceiver<Event>,
    seen: Vec<Event>,
}

impl Run {
    /// Read events until one matches `pred` (returns it).
    async fn until(&mut self, pred: impl Fn(&EventKind) -> bool) -> EventKind {
        let wait = async {
            while let Some(e) = self.events.recv().await {
                let hit = pred(&e.kind);
                self.seen.push(e.clone());
                if hit {
                    return e.kind;
                }
            }
            panic!("the stream ended: {:#?}", self.seen);
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("within 20 s")
    }

    async fn finish(mut self) -> Vec<Event> {
        self.until(|k| matches!(k, EventKind::SessionFinished { .. }))
            .await;
        check_invariants(&self.seen);
        self.seen
    }
}

fn agent(backend: &str, approval: Option<Approval>) -> AgentConfig {
    AgentConfig {
        backend: backend.into(),
        model: "reader".into(),
        tools: vec!["fault".into()],
        tool_approval: approval,
        ..Default::default()
    }
}

fn start(
    server: &FakeServer,
    wire: Wire,
    hub: Arc<Hub>,
    approval: Option<Approval>,
    unattended: Option<UnattendedApproval>,
    history: Vec<Event>,
) -> Run {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["reader".into()];
    let backend = wire.backend(server, "api_key = \"k\"\nmax_retries = 0\n");
    let spec = SessionSpec {
        id: "tools".into(),
        team_name: "t".into(),
        team,
        agents: BTreeMap::from([("reader".to_string(), agent("b", approval))]),
        providers: BTreeMap::from([("b".to_string(), build_provider("b", &backend).unwrap())]),
        history,
        unattended,
        tools: Some(hub),
    };
    let mut session = Session::new(spec).unwrap();
    let events = session.subscribe();
    let handle = session.start();
    Run {
        handle,
        events,
        seen: Vec::new(),
    }
}

fn send(run: &Run, text: &str) {
    run.handle
        .send(Command::Send {
            text: text.into(),
            to: None,
        })
        .unwrap();
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| e.kind.type_name())
        .filter(|t| *t != "token")
        .collect()
}

#[tokio::test]
async fn the_tool_loop_runs_on_every_wire_and_the_answer_uses_the_result() {
    for wire in [Wire::OpenAi, Wire::Anthropic, Wire::Ollama] {
        let server = FakeServer::start().await;
        let replies = ByRequest::install(&server, &[wire]);
        replies.add(
            "reader",
            None,
            wire.reply(&Turn::text(["Let me look."]).tool("c1", "fault__echo", r#"{"text":"hi"}"#)),
        );
        replies.add(
            "reader",
            None,
            wire.reply(&Turn::text(["The tool said: echo: hi"])),
        );
        let run = start(
            &server,
            wire,
            hub(fault_config(&[], None)),
            None,
            None,
            Vec::new(),
        );
        send(&run, "use the tool");
        let events = run.finish().await;
        let t = types(&events);
        let at = |name: &str| t.iter().position(|x| *x == name).unwrap_or(usize::MAX);
        assert!(
            at("tool_call") < at("tool_approved") && at("tool_approved") < at("tool_result"),
            "{wire:?}: {t:?}"
        );
        assert!(events.iter().any(|e| matches!(&e.kind,
            EventKind::ToolResult { content, server: Some(s), ms: Some(_), is_error: false, .. }
                if content == "echo: hi" && s == "fault")));
        assert!(events.iter().any(|e| matches!(&e.kind,
            EventKind::Message { continues: true, tool_calls, .. } if tool_calls.len() == 1)));
        assert!(events.iter().any(|e| matches!(&e.kind,
            EventKind::ToolApproved { by, .. } if by == "policy")));
        let (outcome, text) = finished(&events);
        assert_eq!(outcome, Outcome::Completed, "{wire:?}");
        assert_eq!(text.as_deref(), Some("The tool said: echo: hi"), "{wire:?}");
        let sent = wire.requests(&server);
        assert_eq!(sent.len(), 2, "{wire:?}");
        let first = sent[0].json().to_string();
        assert!(
            first.contains("fault__echo"),
            "the tool is offered: {first}"
        );
        let second = sent[1].json().to_string();
        assert!(
            second.contains("echo: hi"),
            "{wire:?}: the result reaches the model: {second}"
        );
    }
}

/// The merged features meet: every model call of a tool loop is metered (its own `message`), and
/// when the loop's next call fails over to a `fallback` model, that model gets the same request
/// (the reply and its results appended) and still the turn's tools.
#[tokio::test]
async fn every_call_of_a_tool_loop_is_metered_and_a_fallback_keeps_the_tools() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(
            &Turn::text(["Let me look."])
                .tool("c1", "fault__echo", r#"{"text":"hi"}"#)
                .usage(30, 4),
        ),
    );
    replies.add(
        "reader",
        None,
        Reply::json(503, json!({"error": {"message": "overloaded"}})),
    );
    replies.add(
        "backup",
        None,
        Wire::OpenAi.reply(&Turn::text(["The tool said: echo: hi"]).usage(50, 6)),
    );
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["reader".into()];
    let backend = Wire::OpenAi.backend(&server, "api_key = \"k\"\nmax_retries = 0\n");
    let mut reader = agent("b", None);
    reader.fallback = vec![FallbackModel {
        backend: "b".into(),
        model: "backup".into(),
        price: None,
    }];
    let spec = SessionSpec {
        id: "tools".into(),
        team_name: "t".into(),
        team,
        agents: BTreeMap::from([("reader".to_string(), reader)]),
        providers: BTreeMap::from([("b".to_string(), build_provider("b", &backend).unwrap())]),
        history: Vec::new(),
        unattended: None,
        tools: Some(hub(fault_config(&[], None))),
    };
    let mut session = Session::new(spec).unwrap();
    let events = session.subscribe();
    let run = Run {
        handle: session.start(),
        events,
        seen: Vec::new(),
    };
    send(&run, "use the tool");
    let events = run.finish().await;
    let (outcome, text) = finished(&events);
    assert_eq!(outcome, Outcome::Completed, "{:?}", types(&events));
    assert_eq!(text.as_deref(), Some("The tool said: echo: hi"));
    let messages: Vec<(bool, Option<u64>, Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                continues,
                usage,
                served_by,
                ..
            } => Some((
                *continues,
                usage.input,
                served_by.as_ref().map(|m| m.model.clone()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        [
            (true, Some(30), None),
            (false, Some(50), Some("backup".into()))
        ]
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::BackendFallback { .. }))
    );
    let mut metrics = conclave::core::metrics::Metrics::new(BTreeMap::new());
    for e in &events {
        metrics.apply(e);
    }
    assert_eq!(metrics.totals.input_tokens, Some(80));
    let sent: Vec<Value> = Wire::OpenAi
        .requests(&server)
        .iter()
        .map(|r| r.json())
        .collect();
    let backup = sent
        .iter()
        .find(|b| b["model"] == "backup")
        .expect("the fallback was asked");
    let body = backup.to_string();
    assert!(
        body.contains("echo: hi"),
        "the results go to the fallback: {body}"
    );
    assert!(
        body.contains("fault__echo"),
        "the fallback keeps the tools: {body}"
    );
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_are_answered_as_errors_and_the_loop_goes_on() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::default().tool("c1", "fault__nope", "{}").tool(
            "c2",
            "fault__echo",
            "{not json",
        )),
    );
    replies.add("reader", None, Wire::OpenAi.reply(&Turn::text(["Sorry."])));
    let run = start(
        &server,
        Wire::OpenAi,
        hub(fault_config(&[], None)),
        None,
        None,
        Vec::new(),
    );
    send(&run, "go");
    let events = run.finish().await;
    let errors: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolResult {
                content,
                is_error: true,
                ..
            } => Some(content.clone()),
            _ => None,
        })
        .collect();
    assert!(
        errors[0].contains("no tool named fault__nope"),
        "{errors:?}"
    );
    assert!(errors[1].contains("not valid JSON"), "{errors:?}");
    assert_eq!(finished(&events).0, Outcome::Completed);
}

#[tokio::test]
async fn a_writing_tool_waits_for_the_person_approve_runs_it_reject_answers_the_model() {
    for approve in [true, false] {
        let notes = tempfile::NamedTempFile::new().unwrap();
        let path = notes.path().display().to_string();
        let server = FakeServer::start().await;
        let replies = ByRequest::install(&server, &[Wire::OpenAi]);
        replies.add(
            "reader",
            None,
            Wire::OpenAi.reply(&Turn::default().tool(
                "w1",
                "fault__write_note",
                r#"{"text":"hello"}"#,
            )),
        );
        replies.add("reader", None, Wire::OpenAi.reply(&Turn::text(["Done."])));
        let hub = hub(fault_config(&[("FAULT_NOTES_FILE", &path)], None));
        let mut run = start(&server, Wire::OpenAi, hub, None, None, Vec::new());
        send(&run, "write it");
        let asked = run
            .until(|k| matches!(k, EventKind::ToolApprovalRequested { .. }))
            .await;
        assert!(matches!(
            asked,
            EventKind::ToolApprovalRequested {
                window_ms: None,
                ..
            }
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "nothing ran before approval"
        );
        let cmd = if approve {
            Command::ApproveTool {
                call_id: Some("w1".into()),
            }
        } else {
            Command::RejectTool {
                call_id: None,
                reason: Some("not now".into()),
            }
        };
        run.handle.send(cmd).unwrap();
        let events = run.finish().await;
        let result = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::ToolResult {
                    content, is_error, ..
                } => Some((content.clone(), *is_error)),
                _ => None,
            })
            .unwrap();
        if approve {
            assert_eq!(result, ("noted: hello".to_string(), false));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
        } else {
            assert!(result.1 && result.0.contains("not now"), "{result:?}");
            assert!(events.iter().any(|e| matches!(&e.kind,
                EventKind::ToolRejected { by, .. } if by == "person")));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "not run");
        }
        assert_eq!(finished(&events).0, Outcome::Completed);
    }
}

#[tokio::test]
async fn unattended_runs_follow_approve_and_a_bad_approve_command_is_an_error_event() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::default().tool("w1", "fault__write_note", r#"{"text":"x"}"#)),
    );
    replies.add("reader", None, Wire::OpenAi.reply(&Turn::text(["Ok."])));
    let run = start(
        &server,
        Wire::OpenAi,
        hub(fault_config(&[], None)),
        None,
        Some(UnattendedApproval::Reject),
        Vec::new(),
    );
    run.handle
        .send(Command::ApproveTool {
            call_id: Some("nope".into()),
        })
        .unwrap();
    send(&run, "write");
    let events = run.finish().await;
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::Error { message, command: Some(_) } if message.contains("nope"))));
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::ToolRejected { by, reason, .. } if by == "policy" && reason.contains("--approve reject"))));
    assert_eq!(finished(&events).0, Outcome::Completed);
}

#[tokio::test]
async fn after_a_crash_the_running_call_is_interrupted_and_a_repeat_waits_for_the_person() {
    let notes = tempfile::NamedTempFile::new().unwrap();
    let path = notes.path().display().to_string();
    // The first process: the write is approved and runs; the journal ends before its result.
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::default().tool("w1", "fault__write_note", r#"{"text":"once"}"#)),
    );
    let mut first = start(
        &server,
        Wire::OpenAi,
        hub(fault_config(&[("FAULT_NOTES_FILE", &path)], Some(60_000))),
        Some(Approval::Auto),
        None,
        Vec::new(),
    );
    send(&first, "write once");
    first
        .until(|k| matches!(k, EventKind::ToolApproved { .. }))
        .await;
    let history = first.seen.clone();
    drop(first);
    // The resumed process: the same call again, with tool_approval = auto.
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::default().tool("w2", "fault__write_note", r#"{"text":"once"}"#)),
    );
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::text(["Left it."])),
    );
    let mut second = start(
        &server,
        Wire::OpenAi,
        hub(fault_config(&[("FAULT_NOTES_FILE", &path)], None)),
        Some(Approval::Auto),
        None,
        history,
    );
    let interrupted = second
        .until(|k| matches!(k, EventKind::ToolInterrupted { .. }))
        .await;
    assert_eq!(
        interrupted,
        EventKind::ToolInterrupted {
            call_id: "w1".into()
        }
    );
    second
        .until(|k| matches!(k, EventKind::ToolApprovalRequested { call_id, .. } if call_id == "w2"))
        .await;
    second
        .handle
        .send(Command::RejectTool {
            call_id: Some("w2".into()),
            reason: None,
        })
        .unwrap();
    second
        .until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    let ran = std::fs::read_to_string(&path).unwrap();
    assert!(
        ran.lines().count() <= 1,
        "the write was not re-run without approval: {ran:?}"
    );
}

#[test]
fn check_starts_every_server_lists_its_tools_and_names_the_one_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let toml = format!(
        r#"[backends.demo]
kind = "scripted"
[agents.reader]
backend = "demo"
model = "reader"
tools = ["fault.echo"]
[teams.t]
pattern = "single"
members = ["reader"]
[mcp.fault]
command = "{}"
[mcp.broken]
command = "/nonexistent/mcp-server"
"#,
        fault_server().display()
    );
    std::fs::write(&config, toml).unwrap();
    let run = |offline: bool| {
        let mut args = vec!["check", "--config", config.to_str().unwrap()];
        if offline {
            args.push("--offline");
        }
        std::process::Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args(args)
            .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let out = run(false);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ok   mcp fault"), "{text}");
    assert!(text.contains("echo (read-only) — reader"), "{text}");
    assert!(
        text.contains("write_note\n"),
        "writing tools are not marked: {text}"
    );
    assert!(
        text.contains("FAIL mcp broken") && text.contains("/nonexistent/mcp-server"),
        "{text}"
    );
    assert!(text.contains("1 of 2 MCP servers started"), "{text}");
    let offline = run(true);
    assert_eq!(offline.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&offline.stdout).contains("mcp"));
}

/// A run's standard output and its JSONL events; the run must have exited 0.
fn jsonl_events(out: &std::process::Output) -> (String, Vec<Value>) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (stdout, events)
}

/// A config in `dir`: the scripted backend playing `script` instantly, one agent `agent` (with
/// `extra` agent lines) on the fault server (notes in `notes`), a single team `t`.
fn scripted_config(dir: &std::path::Path, agent: &str, extra: &str, script: &str) -> PathBuf {
    let script_path = dir.join("script.toml");
    std::fs::write(&script_path, script).unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            r#"[backends.demo]
kind = "scripted"
script = "{}"
tokens_per_sec = 0
[agents.{agent}]
backend = "demo"
model = "{agent}"
tools = ["fault"]
{extra}
[teams.t]
pattern = "single"
members = ["{agent}"]
[mcp.fault]
command = "{}"
env = {{ FAULT_NOTES_FILE = "{}" }}
"#,
            script_path.display(),
            fault_server().display(),
            dir.join("notes.txt").display()
        ),
    )
    .unwrap();
    config
}

/// `conclave run` with the scripted backend: the journal-format JSONL passes the contract
/// checker's field list, the text output shows the call and its result, and `--approve reject`
/// answers a writing call without running it.
#[test]
fn conclave_run_shows_tool_calls_and_follows_approve() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let config = scripted_config(
        dir.path(),
        "reader",
        "",
        r#"[[reply]]
character = "reader"
turn = 1
text = "Checking."
tools = [{ name = "fault__echo", arguments = { text = "ping" } }, { name = "fault__write_note", arguments = { text = "x" } }]
[[reply]]
character = "reader"
turn = 2
text = "The server said ping."
"#,
    );
    let run = |events: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args([
                "run",
                "--team",
                "t",
                "--prompt",
                "ping it",
                "--approve",
                "reject",
            ])
            .args(["--events", events, "--config", config.to_str().unwrap()])
            .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let out = run("jsonl");
    let (stdout, kinds) = jsonl_events(&out);
    let of = |t: &str| kinds.iter().filter(|k| k["type"] == t).count();
    assert_eq!(of("tool_call"), 2, "{stdout}");
    assert_eq!(of("tool_result"), 2);
    assert_eq!(of("tool_rejected"), 1);
    assert!(
        kinds
            .iter()
            .any(|k| k["type"] == "tool_result" && k["content"] == "echo: ping")
    );
    assert!(!notes.exists(), "--approve reject: the write never ran");
    let text = String::from_utf8_lossy(&run("text").stdout).into_owned();
    assert!(
        text.contains("reader calls fault.echo {\"text\":\"ping\"}"),
        "{text}"
    );
    assert!(text.contains("fault.echo returned (10 bytes"), "{text}");
    assert!(
        text.contains("fault.write_note rejected by policy"),
        "{text}"
    );
    assert!(text.contains("The server said ping."), "{text}");
}

/// kill -9 during a writing call, then resume: the call is `tool_interrupted`, and the same call
/// asked again is not run without approval (here `--approve reject`), although the agent's
/// `tool_approval` is `auto`.
#[test]
fn kill_9_during_a_write_then_resume_does_not_run_it_again_without_approval() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let config = scripted_config(
        dir.path(),
        "writer",
        "tool_approval = \"auto\"",
        r#"[[reply]]
character = "writer"
turn = 1
tools = [{ name = "fault__slow_write", arguments = { ms = 3000, text = "w" } }]
[[reply]]
character = "writer"
turn = 2
tools = [{ name = "fault__slow_write", arguments = { ms = 3000, text = "w" } }]
[[reply]]
character = "writer"
turn = 3
text = "Left it alone."
"#,
    );
    let conclave = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_conclave"));
        c.env("CONCLAVE_DATA_DIR", dir.path().join("data"));
        c.args(["--config", config.to_str().unwrap()]);
        c
    };
    let mut first = conclave()
        .args([
            "run", "--team", "t", "--prompt", "write", "--events", "jsonl",
        ])
        .args(["--control", "jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut session = String::new();
    let lines = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    for line in lines {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        session = v["session"].as_str().unwrap().to_string();
        if v["type"] == "tool_approved" {
            break;
        }
    }
    first.kill().unwrap();
    first.wait().unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let written_before = std::fs::read_to_string(&notes).unwrap_or_default();
    let out = conclave()
        .args([
            "run",
            "--resume",
            &session,
            "--events",
            "jsonl",
            "--approve",
            "reject",
        ])
        .output()
        .unwrap();
    let (stdout, events) = jsonl_events(&out);
    assert!(
        events.iter().any(|e| e["type"] == "tool_interrupted"),
        "{stdout}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "tool_rejected" && e["by"] == "policy"),
        "the repeat waited for a person and --approve reject answered: {stdout}"
    );
    assert!(
        !events.iter().any(|e| e["type"] == "tool_approved"),
        "{stdout}"
    );
    assert!(stdout.contains("Left it alone."), "{stdout}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap_or_default(),
        written_before,
        "nothing was written after the resume"
    );
}

/// The built-in default's `research` team on the offline demo: its agent lists the current
/// directory through the built-in read-only file tools, and the answer follows the result.
#[test]
fn the_offline_demo_research_team_shows_a_real_tool_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("findme.txt"), "x").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args([
            "run",
            "--team",
            "research",
            "--prompt",
            "what is here?",
            "--events",
            "jsonl",
        ])
        .current_dir(dir.path())
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("CONCLAVE_CONFIG")
        .env("OLLAMA_HOST", "127.0.0.1:1")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let (_, events) = jsonl_events(&out);
    let call = events.iter().find(|e| e["type"] == "tool_call").unwrap();
    assert_eq!(
        (&call["server"], &call["tool"]),
        (&json!("files"), &json!("list_directory"))
    );
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert!(
        result["content"].as_str().unwrap().contains("findme.txt"),
        "{result}"
    );
    assert_eq!(result["is_error"], false);
    let done = events
        .iter()
        .find(|e| e["type"] == "session_finished")
        .unwrap();
    assert_eq!(done["outcome"], "completed");
}

#[tokio::test]
async fn a_window_approval_runs_the_call_when_it_ends_and_cancel_turn_answers_a_waiting_call() {
    let notes = tempfile::NamedTempFile::new().unwrap();
    let path = notes.path().display().to_string();
    for cancel in [false, true] {
        let server = FakeServer::start().await;
        let replies = ByRequest::install(&server, &[Wire::OpenAi]);
        replies.add(
            "reader",
            None,
            Wire::OpenAi.reply(&Turn::default().tool("w", "fault__write_note", r#"{"text":"n"}"#)),
        );
        replies.add("reader", None, Wire::OpenAi.reply(&Turn::text(["Ok."])));
        let approval = if cancel { None } else { Some(Approval::Window) };
        let hub = hub(fault_config(&[("FAULT_NOTES_FILE", &path)], None));
        let mut run = start(&server, Wire::OpenAi, hub, approval, None, Vec::new());
        send(&run, "note it");
        let asked = run
            .until(|k| matches!(k, EventKind::ToolApprovalRequested { .. }))
            .await;
        if cancel {
            run.handle
                .send(Command::CancelTurn { agent: None })
                .unwrap();
            let events = run.finish().await;
            assert!(events.iter().any(|e| matches!(&e.kind,
                EventKind::ToolResult { is_error: true, content, .. } if content.starts_with("cancelled"))));
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::TurnCancelled { .. }))
            );
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                "n\n",
                "only the window run wrote"
            );
        } else {
            assert!(matches!(
                asked,
                EventKind::ToolApprovalRequested {
                    window_ms: Some(5000),
                    ..
                }
            ));
            let events = run.finish().await;
            assert!(events.iter().any(|e| matches!(&e.kind,
                EventKind::ToolApproved { by, .. } if by == "policy")));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "n\n");
        }
    }
}
