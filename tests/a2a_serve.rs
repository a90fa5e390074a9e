//! `conclave serve` (issue 16 item 4) called by a client nobody here wrote: the official Python
//! A2A SDK (PyPI `a2a-sdk`, pinned in `.ci/peers/requirements.txt`) through
//! `tests/peers/a2a_client.py`. The real binary serves a scripted team on loopback; the client
//! resolves its card, sends a task streaming and not, cancels one, speaks 0.3, and is refused
//! without the bearer token. Every task must then be a journaled session.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const SCRIPT: &str = r#"
[[reply]]
character = "writer"
text = "The answer is 42."

[[reply]]
character = "writer"
contains = "slow"
delay_ms = 600000
text = "late"

[[reply]]
character = "triage"
text = "Billing will know."
tools = [{ name = "transfer_to_billing", arguments = { reason = "a refund" } }]

[[reply]]
character = "triage"
turn = 2
text = "Then I will see to it myself."

[[reply]]
character = "billing"
text = "Refund issued."
"#;

/// A running `conclave serve`, killed when dropped.
struct Served {
    child: Child,
    url: String,
    /// The first lines it printed on stderr.
    banner: String,
    dir: tempfile::TempDir,
}

impl Served {
    fn start(extra_args: &[&str], env: &[(&str, &str)]) -> Served {
        Served::start_team("solo", extra_args, env)
    }

    fn start_team(team: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("script.toml"), SCRIPT).unwrap();
        let config = dir.path().join("config.toml");
        let text = format!(
            "[backends.play]\nkind = \"scripted\"\ntokens_per_sec = 0\nscript = {:?}\n\
             [agents.writer]\nbackend = \"play\"\nmodel = \"writer\"\ndescription = \"Writes answers\"\n\
             [teams.solo]\npattern = \"single\"\ndescription = \"Answers questions\"\nmembers = [\"writer\"]\n\
             [agents.triage]\nbackend = \"play\"\nmodel = \"triage\"\n\
             [agents.billing]\nbackend = \"play\"\nmodel = \"billing\"\n\
             [teams.desk]\npattern = \"handoff\"\nentry = \"triage\"\napproval = \"confirm\"\n\
             handoffs = {{ triage = [\"billing\"], billing = [\"triage\"] }}\n",
            dir.path().join("script.toml").display().to_string()
        );
        std::fs::write(&config, text).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
        cmd.arg("--config")
            .arg(&config)
            .args(["serve", "--team", team, "--port", "0"])
            .args(extra_args)
            .env_remove("CONCLAVE_CONFIG")
            .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut banner = String::new();
        for _ in 0..2 {
            stderr.read_line(&mut banner).unwrap();
        }
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let start = banner.find("http://").unwrap_or_else(|| panic!("{banner}"));
        let url = banner[start..]
            .split(['/', ' '])
            .take(3)
            .collect::<Vec<_>>()
            .join("/");
        Served {
            child,
            url,
            banner,
            dir,
        }
    }

    fn client(&self, mode: &str, token: Option<&str>) -> Vec<Value> {
        let script = support::peers::script("a2a_client.py");
        let mut cmd = Command::new(support::peers::python("a2a_serve"));
        cmd.arg(script).arg(&self.url).arg(mode).args(token);
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn sessions(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args(["sessions", "list"])
            .env("CONCLAVE_DATA_DIR", self.dir.path().join("data"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_binds_loopback_and_says_so_and_the_sdk_reads_its_card() {
    let served = Served::start(&[], &[]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.banner
    );
    assert!(
        served
            .banner
            .contains("serving team 'solo' as an A2A agent"),
        "{}",
        served.banner
    );
    assert!(served.banner.contains("loopback only"), "{}", served.banner);
    let card = served.client("card", None);
    assert_eq!(card[0]["name"], "solo");
    assert_eq!(card[0]["skills"], serde_json::json!(["single", "writer"]));
    assert_eq!(card[0]["streaming"], true);
}

#[test]
fn the_sdk_client_gets_the_teams_answer_streaming_and_not() {
    let served = Served::start(&[], &[]);
    let events = served.client("stream", None);
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"task"), "{events:#?}");
    assert_eq!(events[1]["state"], "TASK_STATE_WORKING");
    let streamed: Vec<&str> = events
        .iter()
        .filter(|e| e["artifact"] == "writer")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(streamed.len() > 1, "token by token: {events:#?}");
    assert_eq!(streamed.concat(), "The answer is 42.");
    let answer = events.iter().find(|e| e["artifact"] == "answer").unwrap();
    assert_eq!(answer["text"], "The answer is 42.");
    assert_eq!(events.last().unwrap()["state"], "TASK_STATE_COMPLETED");

    let sent = served.client("send", None);
    assert_eq!(sent[0]["kind"], "task");
    assert_eq!(sent[0]["state"], "TASK_STATE_COMPLETED");

    let old = served.client("v03", None);
    let result = &old[0]["result"];
    assert_eq!(result["kind"], "task");
    assert_eq!(result["status"]["state"], "completed");
    assert_eq!(result["artifacts"][0]["parts"][0]["kind"], "text");
    assert_eq!(
        result["artifacts"][0]["parts"][0]["text"],
        "The answer is 42."
    );
    let streamed: Vec<&Value> = old[1..].iter().map(|e| &e["result"]).collect();
    assert_eq!(streamed[0]["kind"], "task", "{old:#?}");
    assert_eq!(streamed[1]["kind"], "status-update");
    assert_eq!(streamed[1]["final"], false);
    let text: String = streamed
        .iter()
        .filter(|r| r["kind"] == "artifact-update" && r["artifact"]["name"] == "writer")
        .map(|r| r["artifact"]["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "The answer is 42.");
    let last = streamed.last().unwrap();
    assert_eq!(last["status"]["state"], "completed");
    assert_eq!(last["final"], true);

    // Each task is a journaled session, listed like any other.
    let list = served.sessions();
    for task in [&events[0]["task"], &sent[0]["task"], &result["id"]] {
        let task = task.as_str().unwrap();
        assert!(list.contains(task), "{task} not in {list}");
    }
}

#[test]
fn cancelling_a_task_stops_its_session() {
    let served = Served::start(&[], &[]);
    let events = served.client("cancel", None);
    assert_eq!(events[1]["kind"], "cancelled", "{events:#?}");
    assert_eq!(events[1]["state"], "TASK_STATE_CANCELED");
    assert_eq!(events[2]["state"], "TASK_STATE_CANCELED");
    let task = events[0]["task"].as_str().unwrap();
    let line = served.sessions();
    let line = line.lines().find(|l| l.contains(task)).unwrap().to_string();
    assert!(line.ends_with("cancelled"), "{line}");
}

#[test]
fn with_token_env_a_request_without_the_token_is_refused() {
    let served = Served::start(
        &["--token-env", "SERVE_TEST_TOKEN"],
        &[("SERVE_TEST_TOKEN", "t0ken-s3cret")],
    );
    let refused = served.client("send", Some("not-the-token"));
    let error = refused[0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{refused:#?}"));
    assert!(
        error.contains("401") || error.to_lowercase().contains("unauthorized"),
        "{error}"
    );
    assert!(!error.contains("t0ken-s3cret"), "{error}");
    let ok = served.client("send", Some("t0ken-s3cret"));
    assert_eq!(ok[0]["state"], "TASK_STATE_COMPLETED", "{ok:#?}");
}

#[test]
fn serve_refuses_an_unset_token_variable_and_an_unknown_team() {
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["serve", "--team", "nope", "--port", "0"])
        .env("CONCLAVE_CONFIG", "/nonexistent/for/serve/test.toml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let served_dir = tempfile::tempdir().unwrap();
    let config = served_dir.path().join("c.toml");
    std::fs::write(&config, "[backends.b]\nkind = \"scripted\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .arg("--config")
        .arg(&config)
        .args([
            "serve",
            "--team",
            "t",
            "--port",
            "0",
            "--token-env",
            "SERVE_UNSET_VAR_X",
        ])
        .env_remove("SERVE_UNSET_VAR_X")
        .env("CONCLAVE_DATA_DIR", served_dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SERVE_UNSET_VAR_X"));
}

#[test]
fn handoffs_that_need_approval_follow_approve() {
    for (approve, verdict) in [("reject", "handoff_rejected"), ("auto", "handoff_accepted")] {
        let served = Served::start_team("desk", &["--approve", approve], &[]);
        let sent = served.client("send", None);
        let task = sent[0]["task"]
            .as_str()
            .unwrap_or_else(|| panic!("{sent:#?}"));
        let journal = served
            .dir
            .path()
            .join("data/sessions")
            .join(format!("{task}.jsonl"));
        let text = std::fs::read_to_string(&journal).unwrap();
        let want = format!("\"type\":\"{verdict}\"");
        assert!(text.contains(&want), "--approve {approve}: {text}");
    }
}
