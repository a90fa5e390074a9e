//! Conformance with MCP servers nobody here wrote (DESIGN section 6, level 5), installed by
//! `.ci/test` at the versions pinned in `.ci/peers`: the reference servers
//! `@modelcontextprotocol/server-filesystem` and `@modelcontextprotocol/server-everything` from
//! npm over stdio, and a server built with the official Python SDK (`tests/peers/
//! mcp_notes_server.py`) over streamable HTTP with a bearer token. A fake-LLM agent reads a real
//! file through the filesystem server; on the Python server it calls a read-only tool (runs at
//! once) and a writing tool with `confirm`, approved in one run and rejected in the other.
//! Run with `.ci/test --test mcp_conformance`; without its variables each test fails saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use conclave::config::{AgentConfig, Approval, McpConfig, TeamConfig};
use conclave::core::event::{EventKind, Outcome, PatternKind};
use conclave::core::session::{Session, SessionSpec};
use conclave::core::{Command, Event};
use conclave::llm::build_provider;
use conclave::tools::Hub;
use serde_json::json;
use support::events::{check_invariants, finished};
use support::llm_fake::{ByRequest, Wire};
use support::{FakeServer, Turn};
use tokio_util::sync::CancellationToken;

fn peer_var(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(v) => PathBuf::from(v),
        None => panic!(
            "{name} is not set: run this test through `.ci/test --test mcp_conformance`, which \
             installs the pinned MCP peers (.ci/peers) and sets it"
        ),
    }
}

fn node_server(package: &str, args: &[&str]) -> McpConfig {
    let script = peer_var("CONCLAVE_TEST_NODE_MODULES")
        .join("@modelcontextprotocol")
        .join(package)
        .join("dist/index.js");
    let mut all = vec![script.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    McpConfig {
        command: Some("node".into()),
        args: all,
        ..McpConfig::default()
    }
}

fn hub_of(name: &str, config: McpConfig) -> Arc<Hub> {
    Arc::new(Hub::new(&BTreeMap::from([(name.to_string(), config)])))
}

/// Run a single-agent session whose agent may use `tools`, send `prompt`, and let `steer` answer
/// each approval request; returns every event.
async fn session(
    server: &FakeServer,
    hub: Arc<Hub>,
    tools: &[&str],
    approval: Option<Approval>,
    steer: impl Fn(&str) -> Command,
) -> Vec<Event> {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["agent".into()];
    let backend = Wire::OpenAi.backend(server, "api_key = \"k\"\nmax_retries = 0\n");
    let agent = AgentConfig {
        backend: "b".into(),
        model: "agent".into(),
        tools: tools.iter().map(|t| t.to_string()).collect(),
        tool_approval: approval,
        ..Default::default()
    };
    let spec = SessionSpec {
        id: "conformance".into(),
        team_name: "t".into(),
        team,
        agents: BTreeMap::from([("agent".to_string(), agent)]),
        providers: BTreeMap::from([("b".to_string(), build_provider("b", &backend).unwrap())]),
        history: Vec::new(),
        unattended: None,
        tools: Some(hub),
    };
    let mut s = Session::new(spec).unwrap();
    let mut events = s.subscribe();
    let handle = s.start();
    handle
        .send(Command::Send {
            text: "go".into(),
            to: None,
        })
        .unwrap();
    let mut seen = Vec::new();
    let read = async {
        while let Some(e) = events.recv().await {
            if let EventKind::ToolApprovalRequested { call_id, .. } = &e.kind {
                handle.send(steer(call_id)).unwrap();
            }
            let done = matches!(e.kind, EventKind::SessionFinished { .. });
            seen.push(e);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the session finishes");
    check_invariants(&seen);
    seen
}

/// Each call's result by call id.
fn results(events: &[Event]) -> BTreeMap<String, (String, bool)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => Some((call_id.clone(), (content.clone(), *is_error))),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_agent_reads_a_real_file_through_the_reference_filesystem_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("hello.txt"), "the answer is 42\n").unwrap();
    let hub = hub_of(
        "fs",
        node_server("server-filesystem", &[root.to_str().unwrap()]),
    );
    let (offered, errors) = hub.offered(&["fs".into()]).await;
    assert!(errors.is_empty(), "{errors:?}");
    let read = offered.iter().find(|o| o.tool == "read_text_file").unwrap();
    assert!(read.read_only, "the reference server marks reads read-only");
    assert!(
        !offered
            .iter()
            .find(|o| o.tool == "write_file")
            .unwrap()
            .read_only
    );

    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let args = json!({"path": root.join("hello.txt")}).to_string();
    replies.add(
        "agent",
        None,
        Wire::OpenAi.reply(&Turn::default().tool("r1", "fs__read_text_file", &args)),
    );
    replies.add(
        "agent",
        None,
        Wire::OpenAi.reply(&Turn::text(["It says 42."])),
    );
    let events = session(&server, hub, &["fs"], None, |_| unreachable!()).await;
    assert_eq!(
        results(&events)["r1"],
        ("the answer is 42\n".to_string(), false)
    );
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("It says 42.".into()))
    );
    let second = Wire::OpenAi.requests(&server)[1].json().to_string();
    assert!(second.contains("the answer is 42"), "{second}");
}

#[tokio::test]
async fn the_everything_server_lists_and_answers() {
    let hub = hub_of("every", node_server("server-everything", &["stdio"]));
    let (offered, errors) = hub.offered(&["every".into()]).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        offered.iter().any(|o| o.name == "every__echo"),
        "{offered:?}"
    );
    let mut args = serde_json::Map::new();
    args.insert("message".into(), json!("conformance"));
    let out = hub
        .call("every", "echo", args, CancellationToken::new())
        .await
        .unwrap();
    assert!(out.text.contains("conformance") && !out.is_error, "{out:?}");
    hub.shutdown().await;
}

/// The Python server on a free loopback port; killed on drop.
struct Notes {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Notes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn notes_server() -> Notes {
    let python = peer_var("CONCLAVE_TEST_PYTHON");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_notes_server.py");
    let child = std::process::Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path())
        .env("NOTES_TOKEN", "notes-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Notes {
        child,
        url: format!("http://127.0.0.1:{port}/mcp"),
        dir,
    }
}

#[tokio::test]
async fn a_python_sdk_server_over_http_runs_reads_and_waits_for_writes() {
    // SAFETY: set before any server of this test reads it; no other test uses the variable.
    unsafe { std::env::set_var("CONCLAVE_TEST_NOTES_TOKEN", "notes-secret") };
    for approve in [true, false] {
        let notes = notes_server().await;
        std::fs::write(notes.dir.path().join("todo"), "buy milk").unwrap();
        let hub = hub_of(
            "notes",
            McpConfig {
                url: Some(notes.url.clone()),
                bearer_token_env: Some("CONCLAVE_TEST_NOTES_TOKEN".into()),
                ..McpConfig::default()
            },
        );
        let server = FakeServer::start().await;
        let replies = ByRequest::install(&server, &[Wire::OpenAi]);
        replies.add(
            "agent",
            None,
            Wire::OpenAi.reply(
                &Turn::default()
                    .tool("a", "notes__read_note", r#"{"name":"todo"}"#)
                    .tool("b", "notes__write_note", r#"{"name":"done","text":"milk"}"#),
            ),
        );
        replies.add("agent", None, Wire::OpenAi.reply(&Turn::text(["Handled."])));
        let events = session(&server, hub, &["notes"], Some(Approval::Confirm), |id| {
            if id == "a" || approve {
                Command::ApproveTool {
                    call_id: Some(id.into()),
                }
            } else {
                Command::RejectTool {
                    call_id: Some(id.into()),
                    reason: Some("not today".into()),
                }
            }
        })
        .await;
        let got = results(&events);
        assert_eq!(got["a"], ("buy milk".to_string(), false), "{got:?}");
        let written = notes.dir.path().join("done");
        if approve {
            assert_eq!(
                got["b"],
                ("wrote 4 bytes to done".to_string(), false),
                "{got:?}"
            );
            assert_eq!(std::fs::read_to_string(written).unwrap(), "milk");
        } else {
            assert!(got["b"].1 && got["b"].0.contains("not today"), "{got:?}");
            assert!(!written.exists(), "a rejected write never ran");
        }
        assert_eq!(finished(&events).0, Outcome::Completed);
    }
}
