//! `conclave eval` end to end: the real binary, a scripted backend whose agents are right
//! always, never or on half the tasks, a four-task suite; the accuracies come out as built, the
//! sessions are journaled and tagged, and a baseline catches a constructed regression.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SCRIPT: &str = r#"
[[reply]]
character = "right"
text = "Multiply first, then add.\nANSWER: 21"

[[reply]]
character = "wrong"
text = "Left to right gives 33."

[[reply]]
character = "half"
contains = "even"
text = "ANSWER: 21"

[[reply]]
character = "half"
text = "It is 12"
"#;

const SUITE: &str = r#"
name = "tiny"

[[task]]
prompt = "What is 3 + 4 * 5 - 2? (even)"
answer = "21"

[[task]]
prompt = "What is 1 + 4 * 5? (odd)"
answer = "21"

[[task]]
prompt = "What is 25 - 2 * 2? (even)"
answer = "21"

[[task]]
prompt = "What is 7 * 3? (odd)"
answer_regex = "^21$"
"#;

fn config(dir: &Path, name: &str, solo: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"
[backends.play]
kind = "scripted"
script = {script:?}
tokens_per_sec = 0

[agents.right]
backend = "play"
model = "right"

[agents.wrong]
backend = "play"
model = "wrong"

[agents.half]
backend = "play"
model = "half"

[teams.solo]
pattern = "single"
members = ["{solo}"]

[teams.never]
pattern = "single"
members = ["wrong"]

[teams.coin]
pattern = "single"
members = ["half"]
"#,
            script = dir.join("script.toml").display().to_string()
        ),
    )
    .unwrap();
    path
}

fn eval(dir: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conclave"))
        .arg("eval")
        .arg(dir.join("suite.toml"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", dir.join("data"))
        .output()
        .unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.toml"), SCRIPT).unwrap();
    std::fs::write(dir.path().join("suite.toml"), SUITE).unwrap();
    dir
}

#[test]
fn accuracies_come_out_as_scripted_and_every_run_is_journaled() {
    let dir = setup();
    let cfg = config(dir.path(), "c.toml", "right");
    let out = eval(dir.path(), &cfg, &["--json", "--repeat", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["suite"], "tiny");
    let team = |name: &str| {
        v["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == name)
            .cloned()
            .unwrap()
    };
    // Config order: teams are sorted by name.
    assert_eq!(team("solo")["accuracy"], 1.0);
    assert_eq!(team("never")["accuracy"], 0.0);
    assert_eq!(team("coin")["accuracy"], 0.5);
    assert_eq!(team("coin")["runs"], 8);
    assert_eq!(team("coin")["stderr"], (0.25f64 / 8.0).sqrt());
    assert!(team("solo")["mean_tokens"].as_f64().unwrap() > 0.0);

    // Every run is a journaled session, and the eval index lists them.
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 24);
    for r in runs {
        let id = r["session"].as_str().unwrap();
        assert!(
            dir.path()
                .join(format!("data/sessions/{id}.jsonl"))
                .is_file()
        );
    }
    let index = dir
        .path()
        .join(format!("data/evals/{}.json", v["eval"].as_str().unwrap()));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(index).unwrap()).unwrap();
    assert_eq!(saved["runs"], v["runs"]);
    // `sessions list` (and the console's /sessions) knows which eval each session belongs to.
    let listed = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["sessions", "list", "--json"])
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|r| r["eval"] == v["eval"]), "{listed:#}");

    let table = eval(dir.path(), &cfg, &["--teams", "coin,solo"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("50.0% ± 25.0 (2/4)"), "{text}");
    assert!(text.contains("100.0% ± 0.0 (4/4)"), "{text}");
    assert!(!text.contains("never"), "{text}");
}

#[test]
fn a_baseline_catches_a_drop_and_passes_the_same_result() {
    let dir = setup();
    let good = config(dir.path(), "good.toml", "right");
    let base = dir.path().join("base.json");
    let saved = eval(
        dir.path(),
        &good,
        &["--teams", "solo", "--save-baseline", base.to_str().unwrap()],
    );
    assert_eq!(saved.status.code(), Some(0));
    let again = eval(
        dir.path(),
        &good,
        &["--teams", "solo", "--baseline", base.to_str().unwrap()],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let bad = config(dir.path(), "bad.toml", "wrong");
    let worse = eval(
        dir.path(),
        &bad,
        &["--teams", "solo", "--baseline", base.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&worse.stderr);
    assert_eq!(worse.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("solo: accuracy fell from 100.0% to 0.0%"),
        "{stderr}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let dir = setup();
    let cfg = config(dir.path(), "c.toml", "right");
    let unknown = eval(dir.path(), &cfg, &["--teams", "nosuch"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown team `nosuch`"));
    std::fs::write(dir.path().join("suite.toml"), "name = \"x\"\n").unwrap();
    let empty = eval(dir.path(), &cfg, &[]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no tasks"));
}

/// The built-in comparison over one agent that is wrong at first and right once it has spoken
/// (each copy in the debate words it differently: the group chat stops a discussion that
/// repeats itself): alone and self-consistent it is always wrong, after two rounds of debate
/// always right.
#[test]
fn the_builtin_comparison_gives_the_three_rows() {
    let dir = setup();
    std::fs::write(
        dir.path().join("script.toml"),
        r#"
[[reply]]
character = "mixed"
turn = 1
text = "Left to right: 33.\nANSWER: 33"

[[reply]]
character = "mixed"
turn = 1
text = "I also get 33.\nANSWER: 33"

[[reply]]
character = "mixed"
turn = 1
text = "Adding in order, 33.\nANSWER: 33"

[[reply]]
character = "mixed"
turn = 2
text = "Having heard the others: multiply first.\nANSWER: 21"

[[reply]]
character = "mixed"
turn = 2
text = "Precedence matters, so 21.\nANSWER: 21"

[[reply]]
character = "mixed"
turn = 2
text = "Agreed, 21.\nANSWER: 21"
"#,
    )
    .unwrap();
    let cfg = dir.path().join("b.toml");
    std::fs::write(
        &cfg,
        format!(
            "[backends.play]\nkind = \"scripted\"\nscript = {:?}\ntokens_per_sec = 0\n\
             [agents.mixed]\nbackend = \"play\"\nmodel = \"mixed\"\n\
             [teams.solo]\npattern = \"single\"\nmembers = [\"mixed\"]\n",
            dir.path().join("script.toml").display().to_string()
        ),
    )
    .unwrap();
    let out = eval(dir.path(), &cfg, &["--teams", "builtin", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, f64)> = v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["team"].as_str().unwrap().to_string(),
                t["accuracy"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("single(mixed)".to_string(), 0.0),
            ("self-consistency(mixed)".to_string(), 0.0),
            ("debate(mixed)".to_string(), 1.0),
        ]
    );
    // Self-consistency sampled in several sessions of its own.
    let runs = v["runs"].as_array().unwrap();
    for task in 1..=4 {
        let of = |team: &str| {
            runs.iter()
                .find(|r| r["task"] == task && r["team"] == team)
                .unwrap()
        };
        let sc = of("self-consistency(mixed)");
        let debate = of("debate(mixed)");
        let samples = sc["samples"].as_array().unwrap().len();
        assert!(samples > 1, "{sc}");
        // Until the debate's tokens are spent, or at most 16 samples.
        assert!(
            sc["tokens"].as_u64() >= debate["tokens"].as_u64() || samples == 16,
            "{sc} {debate}"
        );
    }
}
