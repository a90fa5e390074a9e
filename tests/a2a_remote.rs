//! Remote agents over A2A (issue 16 item 3), against a real A2A server nobody here wrote the
//! protocol side of: `tests/peers/a2a_agent.py`, built on the official Python SDK (PyPI
//! `a2a-sdk`, pinned in `.ci/peers/requirements.txt`). The real binary runs a team with the
//! remote as a member over HTTP on loopback; the peer logs every request it gets (method,
//! `A2A-Version`, `Authorization`), so both what we show and what we send are checked.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Only to avoid hanging forever if something is broken; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(120);

/// The Python A2A agent, killed when dropped.
struct Peer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Peer {
    fn start(dir: &Path, flags: &[&str]) -> Peer {
        let port_file = dir.join("peer.port");
        let log = dir.join("peer.log");
        let script = support::peers::script("a2a_agent.py");
        let child = Command::new(support::peers::python("a2a_remote"))
            .arg(script)
            .arg(&port_file)
            .arg(&log)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut peer = Peer {
            child,
            url: String::new(),
            log,
        };
        let start = Instant::now();
        while !port_file.exists() {
            assert!(start.elapsed() < PATIENCE, "the A2A peer did not start");
            if let Some(status) = peer.child.try_wait().unwrap() {
                panic!("the A2A peer exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        peer.url = format!("http://127.0.0.1:{}", port.trim());
        peer
    }

    fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn requests(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["event"] == "request")
            .collect()
    }

    /// Wait until the log has an entry `event`.
    fn wait_for(&self, event: &str) -> Value {
        let start = Instant::now();
        loop {
            if let Some(e) = self.log().into_iter().find(|e| e["event"] == event) {
                return e;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the peer never logged {event}: {:#?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SCRIPT: &str = r#"
[[reply]]
character = "triage"
contains = "research"
text = "Over to our researcher."
tools = [{ name = "transfer_to_remote", arguments = { reason = "needs research" } }]

[[reply]]
character = "optimist"
text = "We should do it."

[[reply]]
character = "optimist"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "upside" } }]
"#;

/// A temp dir with a config naming the remote at `url`; `extra` is appended to the remote agent.
fn config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let script = dir.join("script.toml");
    std::fs::write(&script, SCRIPT).unwrap();
    let path = dir.join("config.toml");
    let play = support::scripted::play_config(&script, &["triage", "optimist"]);
    let text = format!(
        r#"{play}
[agents.remote]
a2a = "{url}"
{extra}

[teams.solo]
pattern = "single"
members = ["remote"]

[teams.desk]
pattern = "handoff"
entry = "triage"
handoffs = {{ triage = ["remote"], remote = ["triage"] }}
approval = "auto"

[teams.debate]
pattern = "group_chat"
members = ["optimist", "remote"]
speaker_selection = "round_robin"
max_rounds = 1
consensus = {{ threshold = 0.6 }}
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn conclave(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", config.parent().unwrap().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `conclave run --events jsonl ARGS` to its end: whether it succeeded, and its events.
fn run_jsonl(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, Vec<Value>) {
    let mut cmd = conclave(config, &["run", "--events", "jsonl"]);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.success(), events)
}

/// A session of team `solo` run in-process, for what needs it open after its task (as the
/// console keeps it): answering a remote's question, cancelling a turn mid-stream.
struct Live {
    handle: conclave::core::session::SessionHandle,
    events: conclave::core::session::EventStream,
}

impl Live {
    fn start(config_path: &Path) -> Live {
        use conclave::core::session::{Session, SessionSpec};
        let text = std::fs::read_to_string(config_path).unwrap();
        let config = conclave::config::load::parse_str(&text, config_path)
            .unwrap()
            .config;
        let backend = &config.agents["remote"].backend;
        let provider = conclave::llm::build_provider(backend, &config.backends[backend]).unwrap();
        let mut session = Session::new(SessionSpec {
            id: "a2a-live".into(),
            team_name: "solo".into(),
            team: config.teams["solo"].clone(),
            agents: config.agents.clone(),
            providers: [(backend.clone(), provider)].into_iter().collect(),
            history: Vec::new(),
            unattended: None,
            tools: None,
        })
        .unwrap();
        let events = session.subscribe();
        Live {
            handle: session.start(),
            events,
        }
    }

    fn send(&self, command: conclave::core::Command) {
        self.handle.send(command).unwrap();
    }

    /// The next event (as JSON) that `want` accepts.
    async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let wait = async {
            while let Some(e) = self.events.recv().await {
                let v = serde_json::to_value(&e).unwrap();
                if want(&v) {
                    return v;
                }
            }
            panic!("the session ended")
        };
        tokio::time::timeout(PATIENCE, wait).await.unwrap()
    }
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

#[test]
fn check_fetches_the_card_and_lists_name_and_skills() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let out = conclave(&config, &["check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().find(|l| l.contains("a2a:remote")).unwrap();
    assert!(line.starts_with("ok "), "{line}");
    assert!(
        line.ends_with("agent \"Remote Researcher\", skills: research, summarise"),
        "{line}"
    );
}

#[test]
fn a_remote_agent_is_handed_to_and_streams_its_reply_over_a2a_1_0() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(
        &config,
        &["--team", "desk", "--prompt", "please research tides"],
        &[],
    );
    let accepted = of_type(&events, "handoff_accepted");
    assert_eq!(accepted.len(), 1, "{events:#?}");
    let tokens: Vec<&str> = of_type(&events, "token")
        .into_iter()
        .filter(|t| t["agent"] == "remote")
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["Hel", "lo from remote"], "streamed as it came");
    let message = of_type(&events, "message")
        .into_iter()
        .find(|m| m["agent"] == "remote")
        .unwrap();
    assert_eq!(message["text"], "Hello from remote");
    let sent = peer.requests();
    assert_eq!(sent[0]["method"], "SendStreamingMessage");
    assert_eq!(sent[0]["version"], "1.0");
    let asked = peer.wait_for("execute");
    let text = asked["text"].as_str().unwrap();
    assert!(text.contains("please research tides"), "{text}");
    assert!(text.contains("Over to our researcher."), "{text}");
    assert!(
        text.contains("`HANDOFF: triage: <reason>`"),
        "text markers: {text}"
    );
}

#[test]
fn a_remote_agent_votes_in_a_debate_with_a_text_vote_line() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(
        &config,
        &["--team", "debate", "--prompt", "Adopt the plan?"],
        &[],
    );
    let said = of_type(&events, "message")
        .into_iter()
        .find(|m| m["agent"] == "remote")
        .unwrap();
    assert_eq!(said["text"], "Hello from remote");
    let vote = of_type(&events, "vote")
        .into_iter()
        .find(|v| v["agent"] == "remote")
        .unwrap_or_else(|| panic!("no vote from remote: {events:#?}"));
    assert_eq!(vote["choice"], "agree");
    assert_eq!(vote["reason"], "the remote agrees");
    let consensus = of_type(&events, "consensus");
    assert_eq!(consensus.last().unwrap()["reached"], true, "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_required_asks_the_person_and_sends_the_answer_into_the_same_task() {
    use conclave::core::Command;
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let mut live = Live::start(&config(dir.path(), &peer.url, ""));
    let send = |text: &str| Command::Send {
        text: text.into(),
        to: None,
    };
    live.send(send("ASK ME something"));
    let question = live.until(|v| v["type"] == "message").await;
    assert_eq!(question["text"], "Which colour?");
    assert_eq!(question["finish"], "input_required");
    live.send(send("blue"));
    let answer = live.until(|v| v["type"] == "message").await;
    assert_eq!(answer["text"], "You chose blue");
    let executed: Vec<Value> = peer
        .log()
        .into_iter()
        .filter(|e| e["event"] == "execute")
        .collect();
    assert_eq!(executed.len(), 2);
    assert_eq!(
        executed[0]["task"], executed[1]["task"],
        "the same remote task"
    );
    assert_eq!(executed[1]["text"], "blue", "only the answer is sent back");
}

#[test]
fn a_question_nobody_can_answer_fails_the_headless_turn_and_frees_the_remote_task() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(
        &config,
        &["--team", "solo", "--prompt", "ASK ME something"],
        &[],
    );
    let failed = of_type(&events, "turn_failed");
    let failed = failed.last().unwrap_or_else(|| panic!("{events:#?}"));
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the remote agent asks: Which colour?"),
        "{message}"
    );
    let executed = peer.wait_for("execute");
    assert_eq!(peer.wait_for("cancel")["task"], executed["task"]);
}

#[test]
fn an_agent_that_does_not_stream_is_sent_one_message_and_its_parts_are_joined() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &["--no-stream"]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(&config, &["--team", "solo", "--prompt", "hi"], &[]);
    let said = of_type(&events, "message");
    assert_eq!(
        said.last().unwrap()["text"],
        "Hello from remote",
        "{events:#?}"
    );
    assert_eq!(peer.requests()[0]["method"], "SendMessage");
    assert_eq!(peer.requests()[0]["version"], "1.0");
}

#[test]
fn a_failed_remote_task_fails_the_turn_with_the_remotes_reason() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(
        &config,
        &["--team", "solo", "--prompt", "PLEASE FAIL now"],
        &[],
    );
    let failed = of_type(&events, "turn_failed");
    let failed = failed.last().unwrap_or_else(|| panic!("{events:#?}"));
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the remote agent failed: remote broke"),
        "{message}"
    );
    assert_eq!(failed["will_retry"], false);
}

#[test]
fn a_rejected_task_fails_the_turn_with_the_remotes_reason() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (ok, events) = run_jsonl(
        &config,
        &["--team", "solo", "--prompt", "PLEASE REJECT"],
        &[],
    );
    assert!(!ok);
    let failed = of_type(&events, "turn_failed");
    let message = failed.last().unwrap()["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the remote agent rejected the task: not my field"),
        "{message}"
    );
}

#[test]
fn a_task_the_remote_cancels_ends_the_turn_cancelled_with_what_it_said() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let config = config(dir.path(), &peer.url, "");
    let (_, events) = run_jsonl(
        &config,
        &["--team", "solo", "--prompt", "PLEASE CANCEL"],
        &[],
    );
    assert!(of_type(&events, "turn_failed").is_empty(), "{events:#?}");
    let cancelled = of_type(&events, "turn_cancelled");
    let cancelled = cancelled.last().unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(cancelled["partial_text"], "Partly");
    assert!(
        cancelled["usage"]["output"].as_u64().is_some(),
        "{cancelled}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_turn_cancels_the_remote_task() {
    use conclave::core::Command;
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &[]);
    let mut live = Live::start(&config(dir.path(), &peer.url, ""));
    live.send(Command::Send {
        text: "GO SLOW please".into(),
        to: None,
    });
    live.until(|v| v["type"] == "token" && v["text"] == "slow")
        .await;
    live.send(Command::CancelTurn {
        agent: Some("remote".into()),
    });
    let cancelled = live.until(|v| v["type"] == "turn_cancelled").await;
    assert_eq!(cancelled["partial_text"], "slow");
    let executed = peer.wait_for("execute");
    let cancel = peer.wait_for("cancel");
    assert_eq!(cancel["task"], executed["task"]);
    assert!(peer.requests().iter().any(|r| r["method"] == "CancelTask"));
}

#[test]
fn an_agent_offering_only_0_3_is_spoken_to_with_the_0_3_names_and_its_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path(), &["--v03-only", "--token", "s3cret-token"]);
    let config = config(
        dir.path(),
        &peer.url,
        "bearer_token_env = \"A2A_TEST_TOKEN\"",
    );
    let mut cmd = conclave(
        &config,
        &[
            "run", "--events", "jsonl", "--team", "solo", "--prompt", "hi",
        ],
    );
    let out = cmd.env("A2A_TEST_TOKEN", "s3cret-token").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(r#""text":"Hello from remote""#), "{stdout}");
    let sent = peer.requests();
    assert_eq!(sent[0]["method"], "message/stream");
    assert_eq!(
        sent[0]["version"],
        Value::Null,
        "no 1.0 header for a 0.3 agent"
    );
    assert_eq!(sent[0]["auth"], "Bearer s3cret-token");

    let mut cmd = conclave(
        &config,
        &[
            "run", "--events", "jsonl", "--team", "solo", "--prompt", "hi",
        ],
    );
    let out = cmd
        .env("A2A_TEST_TOKEN", "wr0ng-t0ken-xyz")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains(r#""kind":"auth""#), "{stdout}");
    assert!(
        !stdout.contains("wr0ng-t0ken-xyz"),
        "the token never shows: {stdout}"
    );
}
