//! Export snapshots over a hand-written journal that holds every event type
//! (tests/fixtures/every_event.jsonl), and the summary folded from it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use conclave::store;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixture `name` read as a journal of the sessions dir is: from a file named after its id
/// (the reader takes the id from the file name).
fn journal(name: &str) -> store::Journal {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join(format!("{}.jsonl", header["session"].as_str().unwrap()));
    std::fs::write(&path, text).unwrap();
    let mut j = store::read_journal(&path).unwrap();
    j.path = fixture(name);
    j
}

fn every_event() -> store::Journal {
    let j = journal("every_event.jsonl");
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    j
}

#[test]
fn the_fixture_covers_every_event_type() {
    let j = every_event();
    let mut seen: Vec<&str> = j.events.iter().map(|e| e.kind.type_name()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 23, "{seen:?}");
}

#[test]
fn markdown_export() {
    insta::assert_snapshot!(store::to_markdown(&every_event()));
}

#[test]
fn text_transcript() {
    insta::assert_snapshot!(store::to_text(&every_event()));
}

#[test]
fn json_export_is_the_full_event_array() {
    let j = every_event();
    let json = store::to_json(&j).unwrap();
    let back: Vec<conclave::core::Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, j.events);
    insta::assert_snapshot!(json);
}

#[test]
fn an_interrupted_session_shows_its_unfinished_turn() {
    let j = journal("interrupted.jsonl");
    assert_eq!(j.warnings.len(), 1, "{:?}", j.warnings);
    insta::assert_snapshot!(store::to_text(&j));
}

#[test]
fn summary_folds_messages_tokens_cost_and_outcome() {
    let s = store::summarize(&every_event());
    assert_eq!(s.messages, 2);
    assert_eq!((s.tokens_in, s.tokens_out), (1120, 140));
    let cost = s.cost.unwrap();
    assert!((cost - 0.000_833).abs() < 1e-12, "{cost}");
    assert_eq!(s.outcome, "max_rounds");
}
