//! `conclave replay` in the console, end to end: the real binary records a debate on the
//! offline scripted backend (`conclave run`), the journal's clock is stretched to one event a
//! second (so playing is slow enough to be watched), and the real binary plays it in a pty
//! while keys pause, step, jump to the next turn and vote, seek back and quit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;

use std::path::PathBuf;
use std::time::Duration;

use home::{Home, LONG};
use pty::{Pty, TIMEOUT};
use serde_json::Value;

/// Record a debate with the real binary; returns the journal's path.
fn record(home: &Home) -> PathBuf {
    // The home's demo team, answering at once, with a vote after every round.
    let text = std::fs::read_to_string(home.config())
        .unwrap()
        .replace("tokens_per_sec = 40", "tokens_per_sec = 0")
        .replace("every_round = false", "every_round = true");
    let config = home.path().join("replay.toml");
    std::fs::write(&config, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["--config", config.to_str().unwrap()])
        .args([
            "run",
            "--team",
            "debate",
            "--prompt",
            "Rewrite billing in Rust?",
        ])
        .env("CONCLAVE_DATA_DIR", home.data())
        .env_remove("CONCLAVE_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sessions = home.data().join("sessions");
    let mut journals: Vec<PathBuf> = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    journals.pop().unwrap()
}

/// Stamp event `i` of the journal at `i` seconds after the first; returns the events' seqs
/// and types.
fn stretch(path: &PathBuf) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut t0 = None;
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if let Some(seq) = v.get("seq").and_then(Value::as_u64) {
            let ts: chrono::DateTime<chrono::Utc> = v["ts"].as_str().unwrap().parse().unwrap();
            let start = *t0.get_or_insert(ts);
            let at = start + chrono::Duration::seconds(events.len() as i64);
            v["ts"] = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            events.push((seq, v["type"].as_str().unwrap().to_string()));
        }
        out.push(serde_json::to_string(&v).unwrap());
    }
    std::fs::write(path, out.join("\n") + "\n").unwrap();
    events
}

/// The `seq N` the replay bar shows after `state`.
fn shown(term: &Pty, state: &str) -> Option<u64> {
    let screen = term.screen();
    let at = screen.find(&format!("{state} · seq "))? + state.len() + " · seq ".len();
    screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn wait_seq(term: &Pty, state: &str, seq: u64) {
    term.wait_until(&format!("{state} at seq {seq}"), TIMEOUT, |t| {
        shown(t, state) == Some(seq)
    })
    .unwrap();
}

#[test]
fn replay_in_the_console_pauses_steps_jumps_seeks_and_quits() {
    let home = Home::new();
    let journal = record(&home);
    let events = stretch(&journal);
    let index_of = |seq: u64| events.iter().position(|(s, _)| *s == seq).unwrap();
    let next = |from: usize, ty: &str| {
        events[from + 1..]
            .iter()
            .find(|(_, t)| t == ty)
            .map(|(s, _)| *s)
            .unwrap()
    };
    let mut term = home.spawn(&["replay", "last", "--speed", "1"], true);
    term.wait_until("an event played", LONG, |t| shown(t, "playing").is_some())
        .unwrap();
    let screen = term.screen();
    assert!(screen.contains("Space pause"), "{screen}");
    assert!(
        !screen.contains(" message "),
        "no input box in a replay:\n{screen}"
    );

    // Pause: the clock stops.
    term.send_text(" ").unwrap();
    term.wait_for("paused · seq ", TIMEOUT).unwrap();
    let paused_at = shown(&term, "paused").unwrap();
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(shown(&term, "paused"), Some(paused_at), "{}", term.screen());

    // Step one event.
    let i = index_of(paused_at);
    term.send_text(".").unwrap();
    wait_seq(&term, "paused", events[i + 1].0);

    // Jump to the next turn, then to the next vote.
    let turn = next(i + 1, "turn_started");
    term.send_text("t").unwrap();
    wait_seq(&term, "paused", turn);
    let vote = next(index_of(turn), "vote");
    term.send_text("v").unwrap();
    wait_seq(&term, "paused", vote);
    assert!(
        term.screen().contains(&format!(" seq {vote} ")),
        "{}",
        term.screen()
    );

    // Back three events: a count, then the key.
    term.send_text("3").unwrap();
    term.wait_for("N = 3", TIMEOUT).unwrap();
    term.send_text("b").unwrap();
    wait_seq(&term, "paused", events[index_of(vote) - 3].0);

    // To the first event, then to the last.
    term.send_text("g").unwrap();
    wait_seq(&term, "paused", 0);
    let last = events.last().unwrap().0;
    term.send_text("e").unwrap();
    wait_seq(&term, "ended", last);
    assert!(
        term.screen().contains("finished: consensus"),
        "{}",
        term.screen()
    );

    // A steering key sends nothing, and says so.
    term.send_bytes(&[0x07]).unwrap();
    term.wait_for("a replay sends nothing to the agents", TIMEOUT)
        .unwrap();

    term.send_text("q").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
    assert!(term.is_restored(), "the terminal is restored");
    // The replay wrote nothing: the one journal is still the only one.
    assert_eq!(
        std::fs::read_dir(home.data().join("sessions"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "jsonl"))
            .count(),
        1
    );
}
