//! `conclave sessions …` through the real binary, with CONCLAVE_DATA_DIR pointing at a tempdir
//! holding the hand-written fixture journals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FULL: &str = "20261121-130000-f1x7";
const CUT: &str = "20261121-120000-cut1";

struct DataDir {
    root: tempfile::TempDir,
}

impl DataDir {
    fn with_fixtures() -> Self {
        let root = tempfile::tempdir().unwrap();
        let sessions = root.path().join("sessions");
        std::fs::create_dir_all(&sessions).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for (name, id) in [("every_event.jsonl", FULL), ("interrupted.jsonl", CUT)] {
            std::fs::copy(fixtures.join(name), sessions.join(format!("{id}.jsonl"))).unwrap();
        }
        DataDir { root }
    }

    fn sessions(&self) -> PathBuf {
        self.root.path().join("sessions")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_conclave"))
            .arg("sessions")
            .args(args)
            .env("CONCLAVE_DATA_DIR", self.root.path())
            .env_remove("CONCLAVE_CONFIG")
            .output()
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn list_is_a_table_newest_first_within_80_columns() {
    let data = DataDir::with_fixtures();
    let out = data.run(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    insta::assert_snapshot!(text);
    let bare = data.run(&[]);
    assert_eq!(stdout(&bare), text, "`sessions` alone lists");
}

#[test]
fn list_json_is_an_array_of_summaries() {
    let data = DataDir::with_fixtures();
    let out = data.run(&["list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], FULL);
    assert_eq!(rows[0]["messages"], 2);
    assert_eq!(rows[0]["outcome"], "max_rounds");
    assert_eq!(rows[1]["id"], CUT);
    assert_eq!(rows[1]["outcome"], "interrupted");
    assert_eq!(rows[1]["cost"], serde_json::Value::Null);
}

#[test]
fn list_skips_foreign_files_and_says_so() {
    let data = DataDir::with_fixtures();
    std::fs::write(data.sessions().join("notes.jsonl"), "hello\n").unwrap();
    let out = data.run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains(FULL));
    assert!(stderr(&out).contains("notes.jsonl is not a conclave journal"));
}

#[test]
fn list_with_no_sessions_says_so() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["sessions", "list"])
        .env("CONCLAVE_DATA_DIR", root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("No sessions recorded yet"));
}

#[test]
fn show_accepts_prefixes_and_last_and_reports_torn_lines() {
    let data = DataDir::with_fixtures();
    let out = data.run(&["show", "20261121-12"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Old pond, a frog leaps in;"));
    assert!(stdout(&out).contains("(interrupted)"));
    assert!(
        stderr(&out).contains("torn last line ignored"),
        "{}",
        stderr(&out)
    );
    let last = data.run(&["show", "last"]);
    assert!(stdout(&last).starts_with(&format!("Session {FULL}")));
}

#[test]
fn export_md_and_json() {
    let data = DataDir::with_fixtures();
    let md = data.run(&["export", FULL, "--format", "md"]);
    assert_eq!(md.status.code(), Some(0));
    let expected = conclave::store::to_markdown(
        &conclave::store::read_journal(&data.sessions().join(format!("{FULL}.jsonl"))).unwrap(),
    );
    assert_eq!(stdout(&md), expected);
    let json = data.run(&["export", FULL, "--format", "json"]);
    let events: Vec<conclave::core::Event> = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(events.len(), 38);
    assert_eq!(events.last().unwrap().kind.type_name(), "session_finished");
}

#[test]
fn fork_prints_the_new_id_and_how_to_resume() {
    let data = DataDir::with_fixtures();
    let out = data.run(&["fork", FULL, "--at", "7"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let new_id = text
        .lines()
        .find_map(|l| l.strip_prefix("Resume it with: conclave --resume "))
        .unwrap()
        .to_string();
    let j =
        conclave::store::read_journal(&data.sessions().join(format!("{new_id}.jsonl"))).unwrap();
    assert_eq!(j.header.forked_from, Some((FULL.to_string(), 7)));
    assert_eq!(j.last_seq(), Some(7));
    let beyond = data.run(&["fork", FULL, "--at", "400"]);
    assert_eq!(beyond.status.code(), Some(2));
    assert!(stderr(&beyond).contains("has no event with seq 400"));
}

#[test]
fn rm_deletes_and_unknown_ids_are_usage_errors() {
    let data = DataDir::with_fixtures();
    let ambiguous = data.run(&["show", "2026"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stderr(&ambiguous).contains("matches several sessions"));
    let out = data.run(&["rm", CUT]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!data.sessions().join(format!("{CUT}.jsonl")).exists());
    let again = data.run(&["show", CUT]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains(&format!("no session matches `{CUT}`")));
    let bad = data.run(&["rm", "../escape"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not a valid session id"));
}

#[test]
fn rm_last_removes_the_newest_session_and_a_stale_lock_does_not_block_it() {
    let data = DataDir::with_fixtures();
    // A lock file left by a writer killed long ago, naming a pid that is alive (pid 1).
    let lock = data.sessions().join(format!("{FULL}.lock"));
    std::fs::write(&lock, "1\n").unwrap();
    let out = data.run(&["rm", "last"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("Removed session {FULL}.\n"));
    assert!(!data.sessions().join(format!("{FULL}.jsonl")).exists());
    assert!(!lock.exists());
    assert!(data.sessions().join(format!("{CUT}.jsonl")).exists());
}

#[test]
fn a_newer_journal_is_refused_with_a_clear_message() {
    let data = DataDir::with_fixtures();
    let path = data.sessions().join(format!("{FULL}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("{\"v\":1,", "{\"v\":2,", 1);
    std::fs::write(&path, text).unwrap();
    let out = data.run(&["show", FULL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "was written by a newer conclave (schema v2; this build reads v1): upgrade conclave"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn diff_exits_0_on_a_copy_and_1_on_a_different_session() {
    let data = DataDir::with_fixtures();
    let copy = "20261121-140000-copy";
    let text = std::fs::read_to_string(data.sessions().join(format!("{FULL}.jsonl"))).unwrap();
    std::fs::write(
        data.sessions().join(format!("{copy}.jsonl")),
        text.replace(FULL, copy),
    )
    .unwrap();
    let same = data.run(&["diff", FULL, copy]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).contains("match"), "{}", stdout(&same));

    let other = data.run(&["diff", FULL, CUT]);
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));
    let text = stdout(&other);
    assert!(text.contains("First divergence:"), "{text}");
    assert!(text.contains("outcome"), "{text}");

    let json = data.run(&["diff", FULL, CUT, "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v["match"], false);
    assert_eq!(v["a"]["id"], FULL);
    assert_eq!(v["b"]["outcome"], "interrupted");
    assert!(v["divergence"]["category"].is_string());

    let missing = data.run(&["diff", FULL, "nosuch"]);
    assert_eq!(missing.status.code(), Some(2));
}

fn replay(data: &DataDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conclave"))
        .arg("replay")
        .args(args)
        .env("CONCLAVE_DATA_DIR", data.root.path())
        .env_remove("CONCLAVE_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn replay_prints_a_journal_offline_as_jsonl_or_text_with_seq() {
    let data = DataDir::with_fixtures();
    let journal = std::fs::read_to_string(data.sessions().join(format!("{FULL}.jsonl"))).unwrap();
    let jsonl = replay(&data, &[FULL, "--instant", "--events", "jsonl"]);
    assert_eq!(jsonl.status.code(), Some(0), "{}", stderr(&jsonl));
    let events: Vec<serde_json::Value> = journal
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let printed: Vec<serde_json::Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed, events, "the journal's events, exactly");

    let text = replay(&data, &["last", "--speed", "1000"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(out.contains(" 1  you: Should we rewrite"), "{out}");
    assert!(out.contains("== usage:"), "{out}");

    let bad = replay(&data, &[FULL, "--speed", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--speed"), "{}", stderr(&bad));
    let missing = replay(&data, &["nosuch", "--instant"]);
    assert_eq!(missing.status.code(), Some(2));
}
