//! `conclave run --resume`: the real binary over a scripted backend, journals in a temp
//! `CONCLAVE_DATA_DIR`. A run is SIGKILLed while a turn is under way, then resumed: the debate
//! carries its round on and reaches consensus with the votes cast before the kill, the support
//! desk keeps the agent that holds the handoff, and a finished session continues with a new
//! prompt. Slow turns are replies with a long `delay_ms`; where the resumed run must answer
//! differently, the script is rewritten between the runs (the model answers differently).

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/child.rs"]
mod child;
#[path = "support/scripted.rs"]
mod scripted;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use child::{Running, of_type, types};
use serde_json::Value;

const DEBATE_SCRIPT: &str = r#"
[[reply]]
character = "optimist"
turn = 1
text = "We should do it: the upside is large."

[[reply]]
character = "optimist"
turn = 2
delay_ms = 600000
text = "This answer takes ten minutes to start."

[[reply]]
character = "skeptic"
turn = 1
text = "Not yet: the risks are unpriced."

[[reply]]
character = "skeptic"
turn = 2
text = "With a stop date, I can live with a pilot."

[[reply]]
character = "optimist"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "big upside" } }]

[[reply]]
character = "skeptic"
on = "cast_vote"
contains = "round 1"
tools = [{ name = "cast_vote", arguments = { choice = "disagree", reason = "unpriced risk" } }]

[[reply]]
character = "skeptic"
on = "cast_vote"
contains = "round 2"
tools = [{ name = "cast_vote", arguments = { choice = "agree", reason = "a pilot is fine" } }]
"#;

const DESK_SLOW: &str = r#"
[[reply]]
character = "triage"
text = "Let me get billing."
tools = [{ name = "transfer_to_billing", arguments = { reason = "refund request" } }]

[[reply]]
character = "billing"
delay_ms = 600000
text = "Looking up your order."
"#;

const DESK_FAST: &str = r#"
[[reply]]
character = "triage"
turn = 1
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

const SOLO_SLOW: &str = r#"
[[reply]]
character = "solo"
delay_ms = 600000
text = "Never in time."
"#;

const SOLO_SCRIPT: &str = r#"
[[reply]]
character = "solo"
turn = 1
text = "Hello there."

[[reply]]
character = "solo"
turn = 2
text = "Again, hello."
"#;

struct Fixture {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Fixture {
    fn new(script: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let fx = Fixture {
            config: dir.path().join("config.toml"),
            dir,
        };
        fx.script(script);
        let play = scripted::play_config(
            &fx.script_path(),
            &["optimist", "skeptic", "triage", "billing", "solo"],
        );
        let text = format!(
            r#"{play}
[teams.debate]
pattern = "group_chat"
members = ["optimist", "skeptic"]
speaker_selection = "round_robin"
max_rounds = 4
consensus = {{ threshold = 0.67 }}

[teams.desk]
pattern = "handoff"
members = ["triage", "billing"]
entry = "triage"
handoffs = {{ triage = ["billing"], billing = ["triage"] }}
approval = "auto"

[teams.solo]
pattern = "single"
members = ["solo"]
"#
        );
        std::fs::write(&fx.config, text).unwrap();
        fx
    }

    fn script_path(&self) -> PathBuf {
        self.dir.path().join("script.toml")
    }

    /// Replace the script the next run reads.
    fn script(&self, text: &str) {
        std::fs::write(self.script_path(), text).unwrap();
    }

    fn sessions(&self) -> PathBuf {
        self.dir.path().join("data").join("sessions")
    }

    fn run(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
        cmd.arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("CONCLAVE_CONFIG")
            .env("CONCLAVE_DATA_DIR", self.dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// The one journal in the sessions dir.
    fn journal(&self) -> conclave::store::Journal {
        let path = conclave::store::resolve_id(&self.sessions(), "last").unwrap();
        conclave::store::read_journal(&path).unwrap()
    }
}

/// `(round, agent, choice, reason)` of every vote, by round then agent (ballots run in parallel).
fn votes(events: &[Value]) -> Vec<(u64, String, String, String)> {
    let mut out: Vec<_> = of_type(events, "vote")
        .into_iter()
        .map(|v| {
            (
                v["round"].as_u64().unwrap(),
                v["agent"].as_str().unwrap().to_string(),
                v["choice"].as_str().unwrap().to_string(),
                v["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn journal_values(journal: &conclave::store::Journal) -> Vec<Value> {
    journal
        .events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

/// The resumed run's events continue the journal's seqs without a gap.
fn assert_continues(before: &conclave::store::Journal, resumed: &[Value]) {
    for (next, e) in (before.next_seq()..).zip(resumed) {
        assert_eq!(e["seq"], next, "seq must continue gap-free: {e}");
        assert_eq!(e["session"].as_str(), Some(before.id()), "{e}");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[test]
fn a_debate_killed_mid_round_resumes_to_consensus_with_its_earlier_votes() {
    let fx = Fixture::new(DEBATE_SCRIPT);
    let mut run = Running::spawn(fx.run(&[
        "--team",
        "debate",
        "--events",
        "jsonl",
        "--prompt",
        "Should we rewrite billing in Rust?",
    ]));
    run.until_where("round 2's first turn", |e| {
        e["type"] == "turn_started" && e["round"] == 2 && e["agent"] == "optimist"
    });
    let first = run.kill();
    let earlier = votes(&first);
    assert_eq!(
        earlier,
        [
            (1, "optimist".into(), "agree".into(), "big upside".into()),
            (
                1,
                "skeptic".into(),
                "disagree".into(),
                "unpriced risk".into()
            ),
        ]
    );
    let before = fx.journal();
    assert!(before.warnings.len() <= 1, "{:?}", before.warnings);
    assert_eq!(votes(&journal_values(&before)), earlier);

    let out = fx
        .run(&["--resume", "last", "--events", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resumed = jsonl(&out);
    assert_continues(&before, &resumed);
    assert_eq!(resumed[0]["type"], "turn_cancelled", "{resumed:#?}");
    assert_eq!(resumed[0]["agent"], "optimist");
    // The round carries on with the next speaker; nobody votes round 1 again.
    let speakers: Vec<&str> = of_type(&resumed, "turn_started")
        .iter()
        .filter(|e| e["purpose"] == "speak" || e["purpose"].is_null())
        .map(|e| e["agent"].as_str().unwrap())
        .collect();
    assert_eq!(speakers.first(), Some(&"skeptic"), "{speakers:?}");
    assert!(votes(&resumed).iter().all(|v| v.0 == 2), "{resumed:#?}");
    let tally = of_type(&resumed, "consensus");
    assert_eq!(tally.len(), 1, "{resumed:#?}");
    assert_eq!(tally[0]["reached"], true);
    assert_eq!(resumed.last().unwrap()["outcome"], "consensus");

    let after = journal_values(&fx.journal());
    let all = votes(&after);
    assert_eq!(all[..2], earlier[..]);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(of_type(&after, "session_started").len(), 1);
    assert_eq!(of_type(&after, "session_finished").len(), 1);
}

#[test]
fn a_support_session_resumed_mid_handoff_keeps_the_holder() {
    let fx = Fixture::new(DESK_SLOW);
    let mut run = Running::spawn(fx.run(&[
        "--team",
        "desk",
        "--events",
        "jsonl",
        "--prompt",
        "I want a refund",
    ]));
    run.until_where("billing's turn", |e| {
        e["type"] == "turn_started" && e["agent"] == "billing"
    });
    let first = run.kill();
    assert_eq!(of_type(&first, "handoff_accepted").len(), 1);
    let before = fx.journal();

    fx.script(DESK_FAST);
    let out = fx
        .run(&["--resume", "last", "--events", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resumed = jsonl(&out);
    assert_continues(&before, &resumed);
    assert_eq!(types(&resumed)[..2], ["turn_cancelled", "turn_started"]);
    assert_eq!(resumed[0]["agent"], "billing");
    assert_eq!(resumed[1]["agent"], "billing");
    assert!(of_type(&resumed, "handoff_requested").is_empty());
    let completed = of_type(&resumed, "handoff_completed");
    assert_eq!(completed.len(), 1, "{resumed:#?}");
    assert_eq!(completed[0]["id"], "h1");
    let last = resumed.last().unwrap();
    assert_eq!(last["outcome"], "completed");
    assert_eq!(last["final"], "Glad that is sorted. Anything else?");
}

#[test]
fn a_finished_session_continues_with_a_new_prompt() {
    let fx = Fixture::new(SOLO_SCRIPT);
    let out = fx
        .run(&["--team", "solo", "--prompt", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = fx.journal().id().to_string();
    assert!(
        stderr(&out).contains(&format!("conclave run --resume {id}")),
        "{}",
        stderr(&out)
    );

    let refused = fx.run(&["--resume", "last"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("--prompt"),
        "{}",
        stderr(&refused)
    );

    let before = fx.journal();
    let out = fx
        .run(&[
            "--resume",
            &id,
            "--prompt",
            "hello again",
            "--events",
            "jsonl",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty() || !stderr(&out).contains("session "));
    let resumed = jsonl(&out);
    assert_continues(&before, &resumed);
    assert_eq!(resumed[0]["type"], "user_message");
    assert_eq!(resumed[0]["text"], "hello again");
    assert_eq!(resumed.last().unwrap()["final"], "Again, hello.");

    let after = journal_values(&fx.journal());
    assert_eq!(of_type(&after, "user_message").len(), 2);
    assert_eq!(of_type(&after, "session_finished").len(), 2);
    assert_eq!(of_type(&after, "session_started").len(), 1);
}

#[test]
fn an_interrupted_session_resumed_with_a_prompt_ends_its_task_first() {
    let fx = Fixture::new(SOLO_SLOW);
    let mut run =
        Running::spawn(fx.run(&["--team", "solo", "--events", "jsonl", "--prompt", "hi"]));
    run.until_where("the turn", |e| e["type"] == "turn_started");
    run.kill();

    fx.script(SOLO_SCRIPT);
    let out = fx
        .run(&["--resume", "last", "--prompt", "hello again"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // Text mode shows the history first, then the task carried on, then the new prompt.
    let asked = text.find("hi").unwrap();
    let first = text.find("Hello there.").unwrap();
    let second = text.find("Again, hello.").unwrap();
    assert!(asked < first && first < second, "{text}");

    let after = journal_values(&fx.journal());
    let finishes: Vec<&str> = of_type(&after, "session_finished")
        .iter()
        .map(|e| e["final"].as_str().unwrap())
        .collect();
    assert_eq!(finishes, ["Hello there.", "Again, hello."]);
    assert_eq!(of_type(&after, "turn_cancelled").len(), 1);
}

#[test]
fn resuming_an_unknown_session_is_a_usage_error() {
    let fx = Fixture::new(SOLO_SCRIPT);
    let out = fx.run(&["--resume", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope") || stderr(&out).contains("no sessions"));
}
