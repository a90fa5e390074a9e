//! The plan crash test: a child `conclave run` runs a plan team (two independent tasks, then one
//! that needs both) against the fake OpenAI-compatible server, whose task replies stream slowly,
//! and is SIGKILLed at a random moment, many times over. `conclave run --resume <id>` then
//! finishes the plan, and no task that had completed before the kill runs again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use serde_json::{Value, json};
use support::{FakeServer, Reply, Step, Turn, wire};

/// Only to avoid hanging forever if something is broken; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(60);
const KILLS: usize = 10;
const PIECES: usize = 8;
const PIECE_GAP: Duration = Duration::from_millis(25);

fn slow_reply() -> Reply {
    let pieces: Vec<String> = (0..PIECES).map(|i| format!("word{i} ")).collect();
    let events = wire::openai_events(&Turn::text(pieces).usage(20, PIECES as u64));
    let mut reply = Reply::sse(Vec::<String>::new());
    for event in events {
        reply = reply
            .then(Step::Write(event.into_bytes()))
            .then(Step::Sleep(PIECE_GAP));
    }
    reply
}

fn plan_reply() -> Reply {
    let tasks = json!({"tasks": [
        {"id": "a", "agent": "dev", "instructions": "build", "depends_on": []},
        {"id": "b", "agent": "qa", "instructions": "test", "depends_on": []},
        {"id": "c", "agent": "dev", "instructions": "ship", "depends_on": ["a", "b"]}
    ]});
    let turn =
        Turn::text(Vec::<String>::new()).tool("call_plan", "submit_plan", &tasks.to_string());
    Reply::sse(wire::openai_events(&turn))
}

fn write_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let agents: String = ["pm", "dev", "qa"]
        .iter()
        .map(|a| format!("[agents.{a}]\nbackend = \"fake\"\nmodel = \"{a}-model\"\n\n"))
        .collect();
    let text = format!(
        r#"
[backends.fake]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "CONCLAVE_CRASH_TEST_KEY"
max_retries = 0

{agents}
[teams.build]
pattern = "plan"
planner = "pm"
members = ["dev", "qa"]
approval = "confirm"
max_parallel = 2
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn conclave(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", data)
        .env("CONCLAVE_CRASH_TEST_KEY", "sk-test-not-a-real-key")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Run the plan, SIGKILL it `delay` after its first task started.
fn run_and_kill(config: &Path, data: &Path, delay: Duration) {
    let mut child = conclave(
        config,
        data,
        &[
            "--team", "build", "--events", "jsonl", "--prompt", "make it",
        ],
    )
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(PATIENCE)
            .expect("the run printed no task start");
        if line.contains("\"type\":\"task_started\"") {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
}

fn events_of(data: &Path) -> Vec<Value> {
    let dir = data.join("sessions");
    let path = conclave::store::resolve_id(&dir, "last").unwrap();
    let journal = conclave::store::read_journal(&path).unwrap();
    journal
        .events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

fn id_of(data: &Path) -> String {
    let dir = data.join("sessions");
    let path = conclave::store::resolve_id(&dir, "last").unwrap();
    conclave::store::read_journal(&path)
        .unwrap()
        .id()
        .to_string()
}

/// Tasks that finished ok, in order.
fn done(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "task_finished" && e["ok"] == true)
        .map(|e| e["task"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn killed_mid_plan_the_resumed_run_finishes_without_rerunning_completed_tasks() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(FakeServer::start());
    server.respond("/v1/chat/completions", |request| {
        let body = request.json();
        let forced = body["tool_choice"]["function"]["name"] == "submit_plan";
        Some(if forced { plan_reply() } else { slow_reply() })
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server.url());
    // Two rounds of tasks (a and b together, then c) and the synthesis.
    let span = PIECES as u64 * PIECE_GAP.as_millis() as u64 * 3;
    let mut resumed_with_done_tasks = 0;
    for i in 0..KILLS {
        let data = dir.path().join(format!("data{i}"));
        let delay = Duration::from_millis(fastrand::u64(0..span));
        run_and_kill(&config, &data, delay);
        let before = events_of(&data);
        if before.iter().any(|e| e["type"] == "session_finished") {
            continue;
        }
        let done_before = done(&before);
        if !done_before.is_empty() {
            resumed_with_done_tasks += 1;
        }
        let out = conclave(
            &config,
            &data,
            &["--resume", &id_of(&data), "--events", "jsonl"],
        )
        .output()
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "kill {i} after {delay:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = events_of(&data);
        let new = &after[before.len()..];
        for e in new.iter().filter(|e| e["type"] == "task_started") {
            let task = e["task"].as_str().unwrap();
            assert!(
                !done_before.iter().any(|d| d == task),
                "kill {i} after {delay:?}: completed task {task} ran again"
            );
        }
        let mut finished: BTreeMap<String, usize> = BTreeMap::new();
        for t in done(&after) {
            *finished.entry(t).or_default() += 1;
        }
        assert_eq!(
            finished,
            BTreeMap::from([("a".into(), 1), ("b".into(), 1), ("c".into(), 1)]),
            "kill {i} after {delay:?}"
        );
        let last = after.last().unwrap();
        assert_eq!(last["type"], "session_finished", "kill {i}");
        assert_eq!(last["outcome"], "completed", "kill {i}: {last}");
    }
    assert!(
        resumed_with_done_tasks > 0,
        "no kill came after a completed task: nothing proved"
    );
}
