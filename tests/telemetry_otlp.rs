//! OTLP traces end to end: the real binary runs scripted sessions with `[telemetry]` pointing at
//! an OTLP/HTTP receiver that decodes what it gets with the official `opentelemetry-proto`
//! package (tests/support/otlp_receiver.py, installed by `.ci/test`); the tests check span
//! names, parents, GenAI attributes and span events, then that `sessions export --format otlp`
//! sends the same trace again from the journal, and that a dead collector costs one log warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/scripted.rs"]
mod scripted;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Only to avoid hanging forever if something is broken; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(60);

const SCRIPT: &str = r#"
[[reply]]
character = "optimist"
text = "We should do it: the upside is large."

[[reply]]
character = "skeptic"
text = "Not yet: the risks are unpriced."

[[reply]]
character = "optimist"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "big upside" } }]

[[reply]]
character = "skeptic"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "pilot is fine" } }]

[[reply]]
character = "triage"
contains = "refund"
text = "Let me get billing."
tools = [{ name = "transfer_to_billing", arguments = { reason = "refund request" } }]

[[reply]]
character = "triage"
turn = 2
text = "Glad that is sorted."

[[reply]]
character = "billing"
text = "Refund issued."
tools = [{ name = "complete_handoff", arguments = { summary = "refund issued" } }]
"#;

struct Fixture {
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A config with a debate and a handoff desk on the scripted backend, telemetry sent to
/// `endpoint` (none when empty), with `capture` as `capture_content`.
fn fixture(endpoint: &str, capture: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.toml");
    std::fs::write(&script, SCRIPT).unwrap();
    let config = dir.path().join("config.toml");
    let play = scripted::play_config(&script, &["optimist", "skeptic", "triage", "billing"]);
    let text = format!(
        r#"{play}
[teams.debate]
pattern = "group_chat"
members = ["optimist", "skeptic"]
speaker_selection = "round_robin"
max_rounds = 2
consensus = {{ threshold = 0.67 }}

[teams.desk]
pattern = "handoff"
members = ["triage", "billing"]
entry = "triage"
handoffs = {{ triage = ["billing"], billing = ["triage"] }}
approval = "auto"

[telemetry]
{endpoint}
capture_content = {capture}
"#,
        endpoint = if endpoint.is_empty() {
            String::new()
        } else {
            format!("otlp_endpoint = {endpoint:?}")
        },
    );
    std::fs::write(&config, text).unwrap();
    Fixture { dir, config }
}

impl Fixture {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn conclave(&self, args: &[&str]) -> Output {
        self.conclave_with(args, &[])
    }

    /// `conclave ARGS` with the OTEL_* variables removed, then `env` set.
    fn conclave_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("CONCLAVE_CONFIG")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .env("CONCLAVE_DATA_DIR", self.data())
            .stdin(Stdio::null());
        cmd.envs(env.iter().copied());
        with_deadline(cmd)
    }

    fn run(&self, team: &str, prompt: &str) -> Output {
        let out = self.conclave(&[
            "run", "--team", team, "--events", "jsonl", "--prompt", prompt,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data().join("conclave.log")).unwrap_or_default()
    }
}

/// Run `cmd` to its end, killing it after [`PATIENCE`].
fn with_deadline(mut cmd: Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(PATIENCE);
        // SAFETY-free: `kill` on a pid that may have exited is harmless here.
        let _ = Command::new("kill").arg(id.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(watchdog);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The session id of a `run --events jsonl`'s output.
fn session_of(out: &Output) -> String {
    let first = text(&out.stdout).lines().next().unwrap().to_string();
    let v: Value = serde_json::from_str(&first).unwrap();
    v["session"].as_str().unwrap().to_string()
}

// --- the receiver ------------------------------------------------------------------------------

struct Receiver {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    /// An OTLP/HTTP receiver.
    fn start() -> Receiver {
        Receiver::serve(false)
    }

    /// An OTLP/gRPC receiver.
    fn start_grpc() -> Receiver {
        Receiver::serve(true)
    }

    fn serve(grpc: bool) -> Receiver {
        let Some(python) = std::env::var_os("CONCLAVE_TEST_PYTHON") else {
            panic!(
                "CONCLAVE_TEST_PYTHON is not set: run this test through .ci/test, which installs \
                 the OTLP receiver's pinned packages (opentelemetry-proto from PyPI, see \
                 .ci/peers/requirements.txt)"
            );
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/otlp_receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(grpc.then_some("--grpc"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("the receiver said {first:?}"))
            .parse()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Receiver { child, port, lines }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap())
    }

    /// The spans received so far (every request), forgetting them.
    fn spans(&self) -> (Vec<Span>, Vec<Value>) {
        let mut spans = Vec::new();
        let mut requests = Vec::new();
        for line in self.take() {
            assert!(
                !line.starts_with("BAD"),
                "the receiver could not decode: {line}"
            );
            let record: Value = serde_json::from_str(&line).unwrap();
            for rs in record["request"]["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for s in ss["spans"].as_array().unwrap() {
                        spans.push(Span::of(s));
                    }
                }
            }
            requests.push(record);
        }
        (spans, requests)
    }

    /// Wait until a root span has arrived (the run has exited by then; this only absorbs the
    /// receiver's own printing), then return everything received.
    fn trace(&self) -> (Vec<Span>, Vec<Value>) {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if self
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("invoke_workflow"))
            {
                std::thread::sleep(Duration::from_millis(100));
                return self.spans();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no root span arrived; got {:?}", self.take());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One decoded span (protobuf's JSON mapping: ids in base64, times as strings).
#[derive(Clone, Debug, PartialEq)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: String,
    start: u128,
    end: u128,
    attrs: BTreeMap<String, Value>,
    events: Vec<(String, BTreeMap<String, Value>)>,
    status: String,
}

fn attrs_of(v: &Value) -> BTreeMap<String, Value> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

impl Span {
    fn of(s: &Value) -> Span {
        let str_of = |k: &str| s[k].as_str().unwrap_or_default().to_string();
        Span {
            trace: str_of("traceId"),
            id: str_of("spanId"),
            parent: str_of("parentSpanId"),
            name: str_of("name"),
            kind: str_of("kind"),
            start: str_of("startTimeUnixNano").parse().unwrap(),
            end: str_of("endTimeUnixNano").parse().unwrap(),
            attrs: attrs_of(&s["attributes"]),
            events: s["events"]
                .as_array()
                .map(|evs| {
                    evs.iter()
                        .map(|e| {
                            (
                                e["name"].as_str().unwrap().to_string(),
                                attrs_of(&e["attributes"]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            status: s["status"]["code"]
                .as_str()
                .unwrap_or("STATUS_CODE_UNSET")
                .to_string(),
        }
    }

    fn str(&self, key: &str) -> &str {
        self.attrs
            .get(key)
            .and_then(|v| v["stringValue"].as_str())
            .unwrap_or_else(|| panic!("{}: no string {key} in {:?}", self.name, self.attrs))
    }

    fn int(&self, key: &str) -> i64 {
        self.attrs
            .get(key)
            .and_then(|v| v["intValue"].as_str())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: no int {key} in {:?}", self.name, self.attrs))
    }
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn parent_of<'a>(spans: &'a [Span], s: &Span) -> &'a Span {
    spans
        .iter()
        .find(|p| p.id == s.parent)
        .unwrap_or_else(|| panic!("the parent of {} is missing", s.name))
}

// --- tests -------------------------------------------------------------------------------------

#[test]
fn a_debate_s_trace_has_the_genai_shape_and_export_sends_it_again() {
    let receiver = Receiver::start();
    let fx = fixture(&receiver.url(), false);
    let out = fx.run("debate", "Should we rewrite billing in Rust?");
    let id = session_of(&out);
    let (spans, requests) = receiver.trace();
    assert!(
        requests
            .iter()
            .all(|r| r["content_type"] == "application/x-protobuf"),
        "HTTP/protobuf"
    );
    let resource = &requests[0]["request"]["resourceSpans"][0]["resource"]["attributes"];
    assert!(resource.to_string().contains("conclave"), "{resource}");

    // One root per task: the workflow, with team, pattern and outcome.
    let roots: Vec<&Span> = spans.iter().filter(|s| s.parent.is_empty()).collect();
    assert_eq!(
        roots.len(),
        1,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = roots[0];
    assert_eq!(root.name, "invoke_workflow debate");
    assert_eq!(root.str("gen_ai.operation.name"), "invoke_workflow");
    assert_eq!(root.str("conclave.team"), "debate");
    assert_eq!(root.str("conclave.pattern"), "group_chat");
    assert_eq!(root.str("conclave.outcome"), "consensus");
    assert_eq!(root.str("gen_ai.conversation.id"), id);
    assert_eq!(root.status, "STATUS_CODE_OK");
    assert!(spans.iter().all(|s| s.trace == root.trace), "one trace");

    // invoke_agent per speaking turn, under the root; chat per model call, under its agent.
    let agents = by_name(&spans, "invoke_agent optimist");
    assert!(!agents.is_empty());
    for agent in by_name(&spans, "invoke_agent optimist")
        .into_iter()
        .chain(by_name(&spans, "invoke_agent skeptic"))
    {
        assert_eq!(agent.parent, root.id, "{}", agent.name);
        assert_eq!(agent.str("gen_ai.operation.name"), "invoke_agent");
        assert_eq!(agent.kind, "SPAN_KIND_INTERNAL");
    }
    let chats = by_name(&spans, "chat skeptic");
    let speak = chats
        .iter()
        .find(|c| c.str("conclave.purpose") == "speak")
        .unwrap();
    assert_eq!(parent_of(&spans, speak).name, "invoke_agent skeptic");
    assert_eq!(speak.kind, "SPAN_KIND_CLIENT");
    assert_eq!(speak.str("gen_ai.operation.name"), "chat");
    assert_eq!(speak.str("gen_ai.provider.name"), "scripted");
    assert_eq!(speak.str("gen_ai.request.model"), "skeptic");
    assert_eq!(speak.str("gen_ai.agent.name"), "skeptic");
    assert!(speak.int("gen_ai.usage.input_tokens") > 0);
    assert!(speak.int("gen_ai.usage.output_tokens") > 0);
    assert_eq!(
        speak.attrs["gen_ai.response.finish_reasons"]["arrayValue"]["values"][0]["stringValue"],
        "stop"
    );
    // A vote is a model call of its own, straight under the root, its purpose said.
    let vote = chats
        .iter()
        .find(|c| c.str("conclave.purpose") == "vote")
        .unwrap();
    assert_eq!(vote.parent, root.id);

    // Votes and the tally are span events on the root, with their fields.
    let names: Vec<&str> = root.events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "vote").count(),
        2,
        "{names:?}"
    );
    let (_, tally) = root.events.iter().find(|(n, _)| n == "consensus").unwrap();
    assert_eq!(tally["conclave.consensus.reached"]["boolValue"], true);
    // No content without capture_content.
    let all = format!("{spans:?}");
    assert!(!all.contains("the risks are unpriced"), "{all}");
    assert!(!all.contains("Should we rewrite"), "{all}");

    // The journal sends the same trace again: same ids, same parents, same recorded times.
    let export = fx.conclave(&[
        "sessions",
        "export",
        &id,
        "--format",
        "otlp",
        "--endpoint",
        &receiver.url(),
    ]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let said = text(&export.stdout);
    assert!(said.contains(&format!("span(s) of session {id}")), "{said}");
    assert!(said.contains("invoke_workflow debate"), "{said}");
    let (again, _) = receiver.trace();
    let key = |s: &Span| {
        (
            s.id.clone(),
            s.parent.clone(),
            s.name.clone(),
            s.start,
            s.end,
        )
    };
    let mut live: Vec<_> = spans.iter().map(key).collect();
    let mut exported: Vec<_> = again.iter().map(key).collect();
    live.sort();
    exported.sort();
    assert_eq!(exported, live);
}

#[test]
fn a_handoff_shows_as_events_and_content_is_captured_when_asked() {
    let receiver = Receiver::start();
    let fx = fixture(&receiver.url(), true);
    fx.run("desk", "Please refund my last invoice");
    let (spans, _) = receiver.trace();
    let root = spans.iter().find(|s| s.parent.is_empty()).unwrap();
    assert_eq!(root.name, "invoke_workflow desk");
    let names: Vec<&str> = root.events.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in ["handoff_requested", "handoff_accepted", "handoff_completed"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    let (_, requested) = root
        .events
        .iter()
        .find(|(n, _)| n == "handoff_requested")
        .unwrap();
    assert_eq!(requested["conclave.handoff.from"]["stringValue"], "triage");
    assert_eq!(requested["conclave.handoff.to"]["stringValue"], "billing");
    assert_eq!(
        requested["conclave.reason"]["stringValue"],
        "refund request"
    );
    // capture_content = true: the prompt on the root, each reply on its chat span.
    assert!(
        root.str("gen_ai.input.messages")
            .contains("Please refund my last invoice")
    );
    let billing = by_name(&spans, "chat billing");
    assert!(
        billing[0]
            .str("gen_ai.output.messages")
            .contains("Refund issued.")
    );
    assert_eq!(parent_of(&spans, billing[0]).name, "invoke_agent billing");
}

/// No receiver needed: nothing listens at the endpoint.
#[test]
fn an_unreachable_collector_is_one_warning_in_the_log_and_the_run_goes_on() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let fx = fixture(&url, false);
    let out = fx.run("debate", "Should we rewrite billing in Rust?");
    let stderr = text(&out.stderr);
    assert!(!stderr.to_lowercase().contains("telemetry"), "{stderr}");
    assert!(!stderr.contains("OTLP"), "{stderr}");
    let log = fx.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("telemetry"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("/v1/traces"), "{log}");

    // Exporting to the same dead collector is an error that says where and what to check.
    let id = session_of(&out);
    let export = fx.conclave(&["sessions", "export", &id, "--format", "otlp"]);
    assert_eq!(export.status.code(), Some(1));
    let said = text(&export.stderr);
    assert!(said.contains("cannot send the trace to"), "{said}");
    assert!(said.contains("collector running"), "{said}");
}

#[test]
fn export_without_a_collector_says_how_to_name_one() {
    let fx = fixture("", false);
    let out = fx.run("debate", "Should we rewrite billing in Rust?");
    let id = session_of(&out);
    let export = fx.conclave(&["sessions", "export", &id, "--format", "otlp"]);
    assert_eq!(export.status.code(), Some(2));
    assert!(
        text(&export.stderr).contains("--endpoint"),
        "{}",
        text(&export.stderr)
    );
    let md = fx.conclave(&["sessions", "export", &id, "--endpoint", "http://x"]);
    assert_eq!(md.status.code(), Some(2));
    assert!(text(&md.stderr).contains("--format otlp"));
}

/// gRPC, with the collector, the protocol and a header named only by the standard environment.
#[test]
fn the_standard_environment_sends_over_grpc_with_its_headers() {
    let receiver = Receiver::start_grpc();
    let fx = fixture("", false);
    let out = fx.conclave_with(
        &[
            "run",
            "--team",
            "desk",
            "--events",
            "jsonl",
            "--prompt",
            "Please refund my last invoice",
        ],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-team=blue"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (spans, requests) = receiver.trace();
    assert!(
        requests
            .iter()
            .all(|r| r["content_type"] == "application/grpc" && r["headers"]["x-team"] == "blue"),
        "{requests:#?}"
    );
    let root = spans.iter().find(|s| s.parent.is_empty()).unwrap();
    assert_eq!(root.name, "invoke_workflow desk");
    assert_eq!(root.str("conclave.pattern"), "handoff");
    let chat = by_name(&spans, "chat triage")[0];
    assert_eq!(chat.str("gen_ai.operation.name"), "chat");
    assert_eq!(parent_of(&spans, chat).name, "invoke_agent triage");
    assert_eq!(parent_of(&spans, parent_of(&spans, chat)).id, root.id);
    let names: Vec<&str> = root.events.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"handoff_requested"), "{names:?}");
    // No content by default.
    assert!(!format!("{spans:?}").contains("Refund issued."));
}

/// A run killed mid-turn sends nothing of its open task; resumed, the task's spans arrive in the
/// trace it began, timed from before the kill, the cut-off turn closed as cancelled.
#[test]
fn a_task_resumed_after_a_kill_continues_its_trace() {
    let receiver = Receiver::start();
    let fx = fixture(&receiver.url(), false);
    let script = fx.dir.path().join("script.toml");
    std::fs::write(
        &script,
        "[[reply]]\ncharacter = \"triage\"\ndelay_ms = 600000\ntext = \"Much later.\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .arg("--config")
        .arg(&fx.config)
        .args(["run", "--team", "desk", "--events", "jsonl", "--prompt"])
        .arg("Where is my refund?")
        .env_remove("CONCLAVE_CONFIG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("CONCLAVE_DATA_DIR", fx.data())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut session = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        session = v["session"].as_str().unwrap().to_string();
        if v["type"] == "turn_started" {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(receiver.take().is_empty(), "an open task sends nothing");

    std::fs::write(
        &script,
        "[[reply]]\ncharacter = \"triage\"\ntext = \"It went out today.\"\n",
    )
    .unwrap();
    let out = fx.conclave(&["run", "--resume", &session, "--events", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (spans, _) = receiver.trace();
    let root = spans.iter().find(|s| s.parent.is_empty()).unwrap();
    assert!(spans.iter().all(|s| s.trace == root.trace), "one trace");
    assert_eq!(root.str("conclave.outcome"), "completed");
    let agents = by_name(&spans, "invoke_agent triage");
    assert_eq!(agents.len(), 2, "the cut-off turn and the new one");
    let cut = agents
        .iter()
        .find(|s| s.attrs.contains_key("conclave.cancelled"))
        .unwrap();
    let new = agents.iter().find(|s| s.id != cut.id).unwrap();
    // Timed as recorded: the task from its prompt, before the kill; the cut-off turn from when
    // it started in the killed process, ended when the resumed one closed it.
    assert!(
        root.start <= cut.start && cut.start < new.start,
        "{root:?} {cut:?} {new:?}"
    );
    assert!(cut.end <= new.start);

    // The journal's trace is the same one.
    let export = fx.conclave(&[
        "sessions",
        "export",
        &session,
        "--format",
        "otlp",
        "--endpoint",
        &receiver.url(),
    ]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let (again, _) = receiver.trace();
    let key = |s: &Span| (s.id.clone(), s.parent.clone(), s.start, s.end);
    let mut live: Vec<_> = spans.iter().map(key).collect();
    let mut exported: Vec<_> = again.iter().map(key).collect();
    live.sort();
    exported.sort();
    assert_eq!(exported, live);
}
