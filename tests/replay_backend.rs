//! The replay backend end to end: a group chat and a handoff desk run live on a scripted backend
//! through the real binary, then again with the same backend name switched to
//! `kind = "replay"` and `journal = ID`: the second run must say exactly what the first said
//! (every message byte for byte, the same votes, handoffs and usage), and `sessions diff` must
//! find the two sessions equal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SCRIPT: &str = r#"
[[reply]]
character = "optimist"
text = "We should do it: the upside is large."

[[reply]]
character = "optimist"
text = "A small pilot answers the open questions."

[[reply]]
character = "skeptic"
text = "Not yet: the risks are *unpriced*.\n\n  - one\n  - two"

[[reply]]
character = "skeptic"
text = "With a stop date, I can live with a pilot."

[[reply]]
character = "optimist"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "big upside" } }]

[[reply]]
character = "skeptic"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "disagree", reason = "unpriced risk" } }]

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
text = "Glad that is sorted. Anything else?"

[[reply]]
character = "billing"
text = "Refund issued."
tools = [{ name = "complete_handoff", arguments = { summary = "refund issued" } }]
"#;

const TEAMS: &str = r#"
[agents.optimist]
backend = "play"
model = "optimist"

[agents.skeptic]
backend = "play"
model = "skeptic"

[agents.triage]
backend = "play"
model = "triage"

[agents.billing]
backend = "play"
model = "billing"

[teams.debate]
pattern = "group_chat"
members = ["optimist", "skeptic"]
speaker_selection = "round_robin"
max_rounds = 4
consensus = { threshold = 0.67 }

[teams.desk]
pattern = "handoff"
members = ["triage", "billing"]
entry = "triage"
handoffs = { triage = ["billing"], billing = ["triage"] }
approval = "auto"
"#;

fn conclave(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", dir.join("data"))
        .output()
        .unwrap()
}

/// Run `team` with `config` and return its events.
fn run(dir: &Path, config: &Path, team: &str, prompt: &str) -> Vec<Value> {
    let out = conclave(
        dir,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--team",
            team,
            "--prompt",
            prompt,
            "--events",
            "jsonl",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What a session said and decided, without timing: every event but tokens, each without its
/// envelope and its latencies, as sorted JSON lines (parallel votes may finish in either order
/// on a loaded machine; `sessions diff` below checks the order).
fn said(events: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = events
        .iter()
        .filter(|e| e["type"] != "token")
        .map(|e| {
            let mut e = e.clone();
            let m = e.as_object_mut().unwrap();
            for k in ["v", "seq", "ts", "session", "ttft_ms", "latency_ms"] {
                m.remove(k);
            }
            e.to_string()
        })
        .collect();
    out.sort();
    out
}

fn replays_exactly(team: &str, prompt: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.toml");
    std::fs::write(&script, SCRIPT).unwrap();
    let live_config = dir.path().join("live.toml");
    std::fs::write(
        &live_config,
        format!(
            "[backends.play]\nkind = \"scripted\"\nscript = {:?}\ntokens_per_sec = 0\n{TEAMS}",
            script.display().to_string()
        ),
    )
    .unwrap();
    let live = run(dir.path(), &live_config, team, prompt);
    let id = live[0]["session"].as_str().unwrap().to_string();

    let replay_config = dir.path().join("replay.toml");
    std::fs::write(
        &replay_config,
        format!("[backends.play]\nkind = \"replay\"\njournal = \"{id}\"\n{TEAMS}"),
    )
    .unwrap();
    let again = run(dir.path(), &replay_config, team, prompt);
    let again_id = again[0]["session"].as_str().unwrap().to_string();
    assert_ne!(id, again_id);

    // Each turn's text, by turn number (given out as calls start, so the same in both runs).
    let texts = |events: &[Value]| -> std::collections::BTreeMap<u64, String> {
        events
            .iter()
            .filter(|e| e["type"] == "message")
            .map(|e| {
                let text = e["text"].as_str().unwrap().to_string();
                (e["turn"].as_u64().unwrap(), text)
            })
            .collect()
    };
    assert!(texts(&live).len() >= 3, "{live:#?}");
    assert_eq!(texts(&again), texts(&live), "every message, byte for byte");
    assert_eq!(said(&again), said(&live));

    let diff = conclave(dir.path(), &["sessions", "diff", &id, &again_id, "--json"]);
    let report: Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(diff.status.code(), Some(0), "{report:#}");
    assert_eq!(report["match"], true);
}

#[test]
fn a_group_chat_with_votes_replays_byte_for_byte() {
    replays_exactly("debate", "Should we launch the pilot?");
}

#[test]
fn a_handoff_desk_replays_byte_for_byte() {
    replays_exactly("desk", "I want a refund");
}
