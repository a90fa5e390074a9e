//! The crash test: a child `conclave run --events jsonl` runs a three-step pipeline against the
//! fake OpenAI-compatible server, whose replies stream slowly (one piece every few tens of
//! milliseconds), and is SIGKILLed at a random moment, many times over. After each kill every
//! `message` the child printed is in the journal with its full text, the journal reads (at most a
//! torn last line is ignored), and `conclave run --resume <id>` runs the session to its end.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::channel;
use std::time::Duration;

use serde_json::Value;
use support::{FakeServer, Reply};

/// Only to avoid hanging forever if something is broken; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(60);
const KILLS: usize = 12;
const STEPS: [&str; 3] = ["pm", "dev", "qa"];
const PIECES: usize = 10;
const PIECE_GAP: Duration = Duration::from_millis(25);

/// The reply of every request: `PIECES` words, one every `PIECE_GAP`.
fn slow_reply() -> Reply {
    support::crash::slow_reply(PIECES, PIECE_GAP)
}

fn full_text() -> String {
    (0..PIECES).map(|i| format!("word{i} ")).collect()
}

fn write_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let agents: String = STEPS
        .iter()
        .map(|a| format!("[agents.{a}]\nbackend = \"fake\"\nmodel = \"fake-model\"\n\n"))
        .collect();
    let text = format!(
        r#"
[backends.fake]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "CONCLAVE_CRASH_TEST_KEY"
max_retries = 0

{agents}
[teams.pipeline]
pattern = "sequential"
members = ["pm", "dev", "qa"]
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn conclave(config: &Path, data: &Path, args: &[&str]) -> Command {
    support::crash::conclave_run(config, data, args)
}

/// Run one session, SIGKILL it `delay` after its first turn started; the lines it printed.
fn run_and_kill(config: &Path, data: &Path, delay: Duration) -> Vec<Value> {
    let mut child = conclave(
        config,
        data,
        &[
            "--team",
            "pipeline",
            "--events",
            "jsonl",
            "--prompt",
            "plan the launch",
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
    let mut printed = Vec::new();
    loop {
        let line = rx.recv_timeout(PATIENCE).expect("the run printed nothing");
        let v: Value = serde_json::from_str(&line).unwrap();
        let started = v["type"] == "turn_started";
        printed.push(v);
        if started {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    while let Ok(line) = rx.try_recv() {
        // A line cut by the kill is not JSON: it was never printed whole.
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            printed.push(v);
        }
    }
    printed
}

fn journal_of(data: &Path) -> conclave::store::Journal {
    let dir = data.join("sessions");
    let path = conclave::store::resolve_id(&dir, "last").unwrap();
    conclave::store::read_journal(&path).unwrap()
}

#[test]
fn killed_at_random_moments_nothing_completed_is_lost_and_the_session_resumes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(FakeServer::start());
    server.always("/v1/chat/completions", slow_reply());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server.url());
    // A whole run streams three replies of PIECES * PIECE_GAP each; kill anywhere in it.
    let span = (PIECES as u64 * PIECE_GAP.as_millis() as u64) * STEPS.len() as u64;
    let mut resumed_unfinished = 0;
    for i in 0..KILLS {
        let data = dir.path().join(format!("data{i}"));
        let delay = Duration::from_millis(fastrand::u64(0..span));
        let printed = run_and_kill(&config, &data, delay);

        let journal = journal_of(&data);
        assert!(
            journal.warnings.len() <= 1,
            "kill {i} after {delay:?}: {:?}",
            journal.warnings
        );
        let on_disk: Vec<Value> = journal
            .events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        for m in printed.iter().filter(|e| e["type"] == "message") {
            let kept = on_disk.iter().find(|e| e["seq"] == m["seq"]);
            assert_eq!(
                kept,
                Some(m),
                "kill {i} after {delay:?}: a printed message is not in the journal"
            );
            assert_eq!(m["text"], full_text().as_str());
        }
        for e in printed.iter().filter(|e| e["type"] != "token") {
            assert!(
                on_disk.iter().any(|d| d["seq"] == e["seq"]),
                "kill {i} after {delay:?}: printed {e} is not in the journal"
            );
        }
        let finished = on_disk.iter().any(|e| e["type"] == "session_finished");
        if finished {
            continue;
        }
        resumed_unfinished += 1;

        let out = conclave(
            &config,
            &data,
            &["--resume", journal.id(), "--events", "jsonl"],
        )
        .output()
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "kill {i} after {delay:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = journal_of(&data);
        assert!(after.warnings.is_empty(), "{:?}", after.warnings);
        let events: Vec<Value> = after
            .events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let speakers: Vec<&str> = events
            .iter()
            .filter(|e| e["type"] == "message")
            .map(|e| e["agent"].as_str().unwrap())
            .collect();
        assert_eq!(speakers, STEPS, "kill {i} after {delay:?}");
        assert!(
            events
                .iter()
                .filter(|e| e["type"] == "message")
                .all(|e| e["text"] == full_text().as_str())
        );
        let last = events.last().unwrap();
        assert_eq!(last["type"], "session_finished");
        assert_eq!(last["outcome"], "completed");
    }
    assert!(
        resumed_unfinished > 0,
        "every run finished before its kill: nothing was resumed"
    );
}
