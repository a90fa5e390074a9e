//! The offline demo plays a plan (issue 11 item 7): with no config and no backend, `conclave run
//! --team build` runs the built-in `build` team on the scripted demo backend, and its two
//! independent tasks (architect's design, qa's tests) stream at the same time before the
//! developer builds from both and pm writes the answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;

#[test]
fn the_demo_build_team_runs_two_tasks_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on a port we just closed, so the Ollama probe fails fast.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ollama = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args([
            "run", "--team", "build", "--events", "jsonl", "--prompt", "add undo",
        ])
        .env("HOME", dir.path().join("home"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("CONCLAVE_DATA_DIR", dir.path().join("conclave-data"))
        .env("OLLAMA_HOST", ollama)
        .env_remove("CONCLAVE_CONFIG")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == t).collect() };
    let started: Vec<&str> = of("task_started")
        .iter()
        .map(|e| e["task"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["design", "tests", "build"]);
    // Both first tasks stream before either of them finishes.
    let first_done = events
        .iter()
        .position(|e| e["type"] == "task_finished")
        .unwrap();
    for agent in ["architect", "qa"] {
        assert!(
            events[..first_done]
                .iter()
                .any(|e| e["type"] == "token" && e["agent"] == agent),
            "{agent} streamed while the other task ran"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(last["type"], "session_finished");
    assert_eq!(last["outcome"], "completed");
    assert!(last["final"].as_str().unwrap().contains("in parallel"));
}
