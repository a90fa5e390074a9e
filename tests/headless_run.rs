//! `conclave run` end to end: the real binary, a temp config with a scripted backend (instant
//! replies, a custom script), JSONL events read from its stdout and control lines written to its
//! stdin while it runs.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/child.rs"]
mod child;
#[path = "support/scripted.rs"]
mod scripted;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use child::{Running, of_type, types};
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
text = "Not yet: the risks are unpriced."

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
character = "optimist"
contains = "slow"
delay_ms = 600000
text = "This answer takes ten minutes to start."

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

[[reply]]
character = "tech"
text = "Tech here: the refund page had a bug; fixed."
tools = [{ name = "complete_handoff", arguments = { summary = "bug fixed" } }]

[[reply]]
character = "jester"
text = "Ha \u001b]0;pwned\u0007 gotcha \u001b[2J done"

[[reply]]
character = "jester"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "sure \u001b]0;pwned\u0007 \u001b[2J fine" } }]
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.toml");
    std::fs::write(&script, SCRIPT).unwrap();
    let config = dir.path().join("config.toml");
    let play = scripted::play_config(
        &script,
        &[
            "optimist", "skeptic", "triage", "billing", "tech", "jester", "clown",
        ],
    );
    let text = format!(
        r#"{play}
[teams.pranks]
pattern = "group_chat"
members = ["jester", "clown"]
speaker_selection = "round_robin"
max_rounds = 2
consensus = {{ threshold = 0.5 }}

[teams.panel]
pattern = "group_chat"
members = ["optimist", "skeptic"]
speaker_selection = "human"
max_rounds = 4
consensus = {{ threshold = 0.67 }}

[teams.window_desk]
pattern = "handoff"
members = ["triage", "billing", "tech"]
entry = "triage"
handoffs = {{ triage = ["billing", "tech"], billing = ["triage"], tech = ["triage"] }}
approval = "window"
approval_window_ms = 600000

[teams.debate]
pattern = "group_chat"
members = ["optimist", "skeptic"]
speaker_selection = "round_robin"
max_rounds = 4
consensus = {{ threshold = 0.67 }}

[teams.support]
pattern = "handoff"
members = ["triage", "billing", "tech"]
entry = "triage"
handoffs = {{ triage = ["billing", "tech"], billing = ["triage"], tech = ["triage"] }}
approval = "confirm"

[teams.desk]
pattern = "handoff"
members = ["triage", "billing", "tech"]
entry = "triage"
handoffs = {{ triage = ["billing", "tech"], billing = ["triage"], tech = ["triage"] }}
approval = "auto"
"#
    );
    std::fs::write(&config, text).unwrap();
    Fixture { _dir: dir, config }
}

fn conclave(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", config.parent().unwrap().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Every event has the envelope; the session's events have gap-free `seq` from 0. An `error`
/// about an invalid control line is printed by `run` itself with the `seq` of the event before it.
fn assert_envelopes(events: &[Value]) {
    let session = events[0]["session"].clone();
    let mut next = 0u64;
    for e in events {
        assert_eq!(e["v"], 1, "{e}");
        assert_eq!(e["session"], session, "{e}");
        assert!(e["ts"].as_str().is_some_and(|t| t.contains('T')), "{e}");
        let out_of_band = e["type"] == "error" && !e["command"].is_null() && next > 0;
        if out_of_band && e["seq"] == next - 1 {
            continue;
        }
        assert_eq!(e["seq"], next, "seq must be gap-free from 0: {e}");
        next += 1;
    }
}

fn debate(fx: &Fixture) -> (i32, Vec<Value>) {
    let run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--prompt",
            "Should we rewrite billing in Rust?",
        ],
    ));
    run.finish()
}

#[test]
fn a_debate_votes_until_consensus() {
    let fx = fixture();
    let (code, events) = debate(&fx);
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    assert_eq!(events[0]["type"], "session_started");
    assert_eq!(events[0]["team"], "debate");
    assert_eq!(events[0]["pattern"], "group_chat");

    let votes = of_type(&events, "vote");
    let round1: Vec<_> = votes.iter().filter(|v| v["round"] == 1).collect();
    assert_eq!(round1.len(), 2);
    assert!(
        round1
            .iter()
            .any(|v| v["agent"] == "skeptic" && v["choice"] == "disagree")
    );
    let tallies = of_type(&events, "consensus");
    assert_eq!(tallies[0]["reached"], false);
    assert_eq!(tallies[0]["agree"], 1);
    assert_eq!(tallies[0]["disagree"], 1);
    let last = tallies.last().unwrap();
    assert_eq!(last["reached"], true);
    assert_eq!(last["agree"], 2);
    assert_eq!(last["threshold"], 0.67);

    let messages: Vec<_> = of_type(&events, "message")
        .into_iter()
        .filter(|m| m["purpose"] == "speak")
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m["text"] == "Not yet: the risks are unpriced.")
    );
    assert!(
        messages
            .iter()
            .all(|m| m["usage"]["output"].as_u64().unwrap() > 0)
    );
    let end = events.last().unwrap();
    assert_eq!(end["type"], "session_finished");
    assert_eq!(end["outcome"], "consensus");
}

#[test]
fn a_control_line_redirects_a_waiting_handoff() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "support",
            "--events",
            "jsonl",
            "--control",
            "jsonl",
            "--prompt",
            "I want a refund for last month",
        ],
    ));
    let requested = run.until("handoff_requested");
    assert_eq!(requested["from"], "triage");
    assert_eq!(requested["to"], "billing");
    assert_eq!(requested["approval"], "confirm");
    run.write(r#"{"type":"redirect_handoff","to":"tech"}"#);
    let redirected = run.until("handoff_redirected");
    assert_eq!(redirected["id"], requested["id"]);
    assert_eq!(redirected["from_target"], "billing");
    assert_eq!(redirected["to"], "tech");
    assert_eq!(redirected["by"], "user");
    let (code, events) = run.finish();
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    let speakers: Vec<&str> = of_type(&events, "message")
        .iter()
        .map(|m| m["agent"].as_str().unwrap())
        .collect();
    assert!(speakers.contains(&"tech"), "{speakers:?}");
    assert!(!speakers.contains(&"billing"), "{speakers:?}");
    let completed = of_type(&events, "handoff_completed");
    assert_eq!(completed[0]["summary"], "bug fixed");
    assert_eq!(events.last().unwrap()["outcome"], "completed");
}

#[test]
fn an_invalid_control_line_is_an_error_event_and_the_session_goes_on() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--control",
            "jsonl",
        ],
    ));
    run.write(r#"{"type":"dance","style":"tango"}"#);
    let error = run.until("error");
    assert!(
        error["message"].as_str().unwrap().contains("dance"),
        "{error}"
    );
    assert!(!error["command"].is_null(), "{error}");
    run.write(r#"{"type":"send","text":"Should we rewrite billing in Rust?"}"#);
    let (code, events) = run.finish();
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    assert_eq!(of_type(&events, "user_message").len(), 1);
    assert_eq!(events.last().unwrap()["outcome"], "consensus");
}

#[test]
fn an_unknown_team_is_a_usage_error_listing_the_teams() {
    let fx = fixture();
    let out = conclave(&fx.config, &["--team", "nope", "--prompt", "hi"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown team 'nope'"), "{stderr}");
    assert!(
        stderr.contains("debate") && stderr.contains("support"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn text_mode_prints_whole_messages_and_the_outcome() {
    let fx = fixture();
    let out = conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--prompt",
            "Should we rewrite billing in Rust?",
        ],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("skeptic: Not yet: the risks are unpriced."),
        "{stdout}"
    );
    assert!(
        stdout.contains("vote (round 1): skeptic disagrees: unpriced risk"),
        "{stdout}"
    );
    assert!(stdout.contains("consensus (round 2): reached"), "{stdout}");
    assert!(stdout.contains("== finished: consensus"), "{stdout}");
    assert!(stdout.contains("== usage: "), "{stdout}");
}

/// A handoff run has one turn at a time, so its event order is fully deterministic (a debate's
/// votes run concurrently and may land in either order).
#[test]
fn the_jsonl_of_a_handoff_run_is_stable() {
    let fx = fixture();
    let run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "desk",
            "--events",
            "jsonl",
            "--prompt",
            "Please refund my last invoice",
        ],
    ));
    let (code, events) = run.finish();
    assert_eq!(code, 0, "{:#?}", types(&events));
    let masked: Vec<String> = events
        .into_iter()
        .map(|mut e| {
            let obj = e.as_object_mut().unwrap();
            for (key, mask) in [
                ("ts", "[ts]"),
                ("session", "[session]"),
                ("latency_ms", "[ms]"),
                ("ttft_ms", "[ms]"),
            ] {
                if obj.contains_key(key) {
                    obj.insert(key.into(), Value::String(mask.into()));
                }
            }
            serde_json::to_string(&e).unwrap()
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"));
}

#[test]
fn the_task_can_come_from_standard_input() {
    let fx = fixture();
    let mut child = conclave(&fx.config, &["--team", "desk", "--events", "jsonl"])
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"  I need a refund, please\n\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let user = of_type(&events, "user_message");
    assert_eq!(user[0]["text"], "I need a refund, please");
}

#[test]
fn control_without_any_task_is_a_usage_error() {
    let fx = fixture();
    let out = conclave(&fx.config, &["--team", "debate", "--control", "jsonl"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("before any task was sent"), "{stderr}");
}

/// Ctrl+C stops the session (its running turn is cancelled, `session_finished` says
/// `cancelled`) and the run exits with 1.
#[cfg(unix)]
#[test]
fn interrupt_stops_the_session_and_exits_1() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--prompt",
            "a slow one",
        ],
    ));
    let started = run.until("turn_started");
    assert_eq!(started["agent"], "optimist");
    let status = Command::new("kill")
        .arg("-INT")
        .arg(run.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let (code, events) = run.finish();
    assert_eq!(code, 1, "{:#?}", types(&events));
    assert_eq!(of_type(&events, "turn_cancelled").len(), 1);
    assert_eq!(events.last().unwrap()["outcome"], "cancelled");
}

/// `--control jsonl` with the script ended: `args` plus the control lines, stdin closed after
/// them. Returns the exit status and every event.
fn controlled_then_closed(fx: &Fixture, args: &[&str], lines: &[&str]) -> (i32, Vec<Value>) {
    let mut all = vec!["--events", "jsonl", "--control", "jsonl"];
    all.extend_from_slice(args);
    let mut run = Running::spawn(conclave(&fx.config, &all));
    for line in lines {
        run.write(line);
    }
    run.close_stdin();
    run.finish()
}

#[test]
fn a_confirm_handoff_follows_approve_once_the_control_script_ends() {
    let fx = fixture();
    let send = r#"{"type":"send","text":"I was double charged, refund please"}"#;
    let (code, events) =
        controlled_then_closed(&fx, &["--team", "support", "--approve", "reject"], &[send]);
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    let rejected = of_type(&events, "handoff_rejected");
    assert_eq!(
        rejected[0]["reason"], "rejected by --approve reject",
        "{rejected:?}"
    );
    assert!(of_type(&events, "handoff_accepted").is_empty());

    let (code, events) = controlled_then_closed(&fx, &["--team", "support"], &[send]);
    assert_eq!(code, 0, "{:#?}", types(&events));
    let accepted = of_type(&events, "handoff_accepted");
    assert_eq!(accepted[0]["reason"], "approved by --approve auto");
    assert_eq!(events.last().unwrap()["outcome"], "completed");
}

#[test]
fn a_human_picked_discussion_falls_back_to_round_robin_once_the_control_script_ends() {
    let fx = fixture();
    let (code, events) = controlled_then_closed(
        &fx,
        &["--team", "panel"],
        &[r#"{"type":"send","text":"Should we rewrite billing in Rust?"}"#],
    );
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    let picks = of_type(&events, "speaker_selected");
    assert_eq!(picks[0]["by"], "round_robin", "{picks:?}");
    assert!(!of_type(&events, "message").is_empty());
}

#[test]
fn a_paused_session_resumes_once_the_control_script_ends() {
    let fx = fixture();
    // Nobody speaks until a person picks, so the pause lands while the task waits.
    let (code, events) = controlled_then_closed(
        &fx,
        &["--team", "panel"],
        &[
            r#"{"type":"send","text":"Should we rewrite billing in Rust?"}"#,
            r#"{"type":"pause"}"#,
        ],
    );
    assert_eq!(code, 0, "{:#?}", types(&events));
    assert_envelopes(&events);
    let order = types(&events);
    let paused = order.iter().position(|t| t == "paused").unwrap();
    let resumed = order.iter().position(|t| t == "resumed").unwrap();
    let spoke = order.iter().position(|t| t == "message").unwrap();
    assert!(paused < resumed && resumed < spoke, "{order:#?}");
}

#[test]
fn a_control_line_that_is_not_utf8_is_an_error_and_later_lines_still_count() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--control",
            "jsonl",
            "--prompt",
            "a slow one",
        ],
    ));
    run.until("turn_started");
    run.write_bytes(b"\xff\xfe\n");
    let error = run.until("error");
    assert!(!error["command"].is_null(), "{error}");
    run.write(r#"{"type":"stop"}"#);
    let (code, events) = run.finish();
    assert_eq!(code, 1, "{:#?}", types(&events));
    assert_eq!(events.last().unwrap()["outcome"], "cancelled");
}

#[test]
fn text_mode_and_sessions_show_print_no_escape_sequences() {
    let fx = fixture();
    let out = conclave(&fx.config, &["--team", "pranks", "--prompt", "tell a joke"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.stdout.contains(&0x1b), "{stdout:?}");
    assert!(!out.stdout.contains(&0x07), "{stdout:?}");
    assert!(stdout.contains("jester: Ha  gotcha  done"), "{stdout}");
    assert!(stdout.contains("jester agrees: sure fine"), "{stdout}");

    let show = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["sessions", "show", "last"])
        .env_remove("CONCLAVE_CONFIG")
        .env(
            "CONCLAVE_DATA_DIR",
            fx.config.parent().unwrap().join("data"),
        )
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(0), "{show:?}");
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("gotcha"), "{text}");
    assert!(!show.stdout.contains(&0x1b), "{text:?}");
    assert!(!show.stdout.contains(&0x07), "{text:?}");
}

#[test]
fn unattended_a_window_handoff_follows_approve_at_once() {
    let fx = fixture();
    // The window is ten minutes: waiting it out would outlast the test's patience.
    let run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "window_desk",
            "--events",
            "jsonl",
            "--approve",
            "reject",
            "--prompt",
            "I want a refund for last month",
        ],
    ));
    let (code, events) = run.finish();
    assert_eq!(code, 0, "{:#?}", types(&events));
    let requested = of_type(&events, "handoff_requested");
    assert_eq!(requested[0]["approval"], "window");
    let rejected = of_type(&events, "handoff_rejected");
    assert_eq!(rejected[0]["reason"], "rejected by --approve reject");
    assert!(of_type(&events, "handoff_accepted").is_empty());
}

#[test]
fn a_resumed_run_times_only_itself() {
    let fx = fixture();
    let first = conclave(&fx.config, &["--team", "desk", "--prompt", "refund please"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    // Move the recorded session a day into the past.
    let sessions = fx.config.parent().unwrap().join("data").join("sessions");
    let journal = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let shifted: Vec<String> = text
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if let Some(ts) = v.get("ts").and_then(Value::as_str) {
                let ts =
                    chrono::DateTime::parse_from_rfc3339(ts).unwrap() - chrono::Duration::days(1);
                v["ts"] = Value::String(ts.to_rfc3339());
            }
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    std::fs::write(&journal, shifted.join("\n") + "\n").unwrap();

    let again = conclave(&fx.config, &["--resume", "last", "--prompt", "thanks"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let usage = stdout
        .lines()
        .find(|l| l.starts_with("== usage: "))
        .unwrap_or_else(|| panic!("no usage line: {stdout}"));
    let seconds: f64 = usage
        .rsplit(", ")
        .next()
        .and_then(|s| s.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("no time in {usage}"))
        .parse()
        .unwrap();
    // A day is 86400 s; this run alone is a few instant scripted turns.
    assert!(seconds < 3600.0, "{usage}");
}

/// A control script whose only `send` is refused (it names no member) leaves nothing to do once
/// it ends: the run prints the `error` event and exits 1 instead of waiting forever.
#[test]
fn a_script_whose_only_send_is_refused_ends_the_run_when_it_ends() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--control",
            "jsonl",
        ],
    ));
    run.write(r#"{"type":"send","text":"hello?","to":"nobody"}"#);
    run.close_stdin();
    let status = run.exit_after_output();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut run.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("standard input ended and no task is running"),
        "{stderr}"
    );
    assert_envelopes(&run.seen);
    assert_eq!(
        types(&run.seen),
        ["session_started", "error"],
        "{:#?}",
        run.seen
    );
    assert!(
        run.seen[1]["message"]
            .as_str()
            .unwrap()
            .contains("nobody is not a member"),
        "{}",
        run.seen[1]
    );
    assert!(of_type(&run.seen, "session_finished").is_empty());
}

/// A script that sends, waits for the end of the task and only then ends: the run exits 0 with
/// the task's outcome.
#[test]
fn a_script_that_ends_after_its_task_finished_exits_0() {
    let fx = fixture();
    let mut run = Running::spawn(conclave(
        &fx.config,
        &[
            "--team",
            "debate",
            "--events",
            "jsonl",
            "--control",
            "jsonl",
        ],
    ));
    run.write(r#"{"type":"send","text":"Should we rewrite billing in Rust?"}"#);
    let finished = run.until("session_finished");
    assert_eq!(finished["outcome"], "consensus");
    let (code, events) = {
        run.close_stdin();
        let status = run.exit_after_output();
        (status.code(), std::mem::take(&mut run.seen))
    };
    assert_eq!(code, Some(0), "{:#?}", types(&events));
    assert_envelopes(&events);
    assert_eq!(events.last().unwrap()["type"], "session_finished");
}
