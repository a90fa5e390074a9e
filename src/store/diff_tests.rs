use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::*;
use crate::config::PatternKind;
use crate::core::event::{
    AgentInfo, Event, EventKind, FinishReason, Outcome, Purpose, SCHEMA_VERSION, SelectedBy,
    UsageInfo, VoteChoice,
};
use crate::store::header::{JOURNAL_KIND, JournalHeader};

fn journal(id: &str, kinds: Vec<EventKind>) -> Journal {
    let ts = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    Journal {
        path: PathBuf::from(format!("{id}.jsonl")),
        header: JournalHeader {
            v: SCHEMA_VERSION,
            kind: JOURNAL_KIND.into(),
            session: id.into(),
            team: "debate".into(),
            pattern: PatternKind::GroupChat,
            config_fingerprint: "x".into(),
            started: ts,
            forked_from: None,
            prices: Default::default(),
        },
        events: kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                v: SCHEMA_VERSION,
                // Different seqs and times on each side: the envelope never counts.
                seq: i as u64 * if id == "a" { 1 } else { 2 },
                ts: ts + chrono::Duration::seconds(i as i64 * if id == "a" { 1 } else { 3 }),
                session: id.into(),
                kind,
            })
            .collect(),
        warnings: Vec::new(),
        valid_len: 0,
    }
}

fn started(backend: &str) -> EventKind {
    EventKind::SessionStarted {
        team: "debate".into(),
        pattern: PatternKind::GroupChat,
        agents: ["optimist", "skeptic"]
            .map(|n| AgentInfo {
                name: n.into(),
                backend: backend.into(),
                model: "m".into(),
                color: None,
                price: None,
                fallback: Vec::new(),
            })
            .to_vec(),
    }
}

fn speaker(agent: &str) -> EventKind {
    EventKind::SpeakerSelected {
        agent: agent.into(),
        by: SelectedBy::Manager,
        reason: None,
    }
}

fn message(agent: &str, text: &str, latency_ms: u64) -> EventKind {
    EventKind::Message {
        agent: agent.into(),
        turn: 1,
        text: text.into(),
        usage: UsageInfo {
            input: Some(10),
            output: Some(5),
            estimated: false,
        },
        ttft_ms: Some(latency_ms / 2),
        latency_ms,
        finish: FinishReason::Stop,
        purpose: Purpose::Speak,
        tool_calls: Vec::new(),
        served_by: None,
        continues: false,
    }
}

fn token(agent: &str, text: &str) -> EventKind {
    EventKind::Token {
        agent: agent.into(),
        turn: 1,
        text: text.into(),
    }
}

fn vote(choice: VoteChoice) -> EventKind {
    EventKind::Vote {
        round: 1,
        agent: "skeptic".into(),
        choice,
        reason: "r".into(),
    }
}

fn handoff(to: &str) -> EventKind {
    EventKind::HandoffRequested {
        id: "h1".into(),
        from: "optimist".into(),
        to: to.into(),
        reason: "needs review".into(),
        approval: None,
        window_ms: None,
    }
}

fn finished(outcome: Outcome) -> EventKind {
    EventKind::SessionFinished {
        outcome,
        final_text: Some("done".into()),
    }
}

fn base() -> Vec<EventKind> {
    vec![
        started("local"),
        speaker("optimist"),
        token("optimist", "Ship"),
        message("optimist", "Ship it", 100),
        vote(VoteChoice::Agree),
        finished(Outcome::Consensus),
    ]
}

#[test]
fn the_same_run_with_other_timing_and_token_chunks_matches() {
    let mut other = base();
    other[2] = token("optimist", "Sh");
    other.insert(3, token("optimist", "ip it"));
    other[4] = message("optimist", "Ship it", 9_000);
    let d = diff(&journal("a", base()), &journal("b", other));
    assert!(d.matches, "{d:?}");
    assert_eq!(d.divergence, None);
    assert!(to_text(&d).contains("match"), "{}", to_text(&d));
}

#[test]
fn a_different_speaker_is_the_first_divergence() {
    let mut other = base();
    other[1] = speaker("skeptic");
    other[3] = message("skeptic", "No", 100);
    let d = diff(&journal("a", base()), &journal("b", other));
    let v = d.divergence.clone().unwrap();
    assert!(!d.matches);
    assert_eq!(v.category, "speaker");
    assert_eq!(v.common, 0);
    assert_eq!((v.a_seq, v.b_seq), (Some(1), Some(2)));
    assert_eq!(v.fields, vec!["agent".to_string()]);
    let text = to_text(&d);
    assert!(text.contains("First divergence: speaker"), "{text}");
    assert!(text.contains("agent=\"skeptic\""), "{text}");
}

#[test]
fn a_different_vote_is_found_after_the_common_steps() {
    let mut other = base();
    other[4] = vote(VoteChoice::Disagree);
    let d = diff(&journal("a", base()), &journal("b", other));
    let v = d.divergence.unwrap();
    assert_eq!(v.category, "vote");
    assert_eq!(v.common, 2);
    assert_eq!(v.fields, vec!["choice".to_string()]);
}

#[test]
fn a_different_handoff_target_is_a_handoff_divergence() {
    let mut a = base();
    a.insert(4, handoff("reviewer"));
    let mut b = base();
    b.insert(4, handoff("tester"));
    let d = diff(&journal("a", a), &journal("b", b));
    let v = d.divergence.unwrap();
    assert_eq!(v.category, "handoff");
    assert_eq!(v.fields, vec!["to".to_string()]);
}

#[test]
fn a_handoff_where_the_other_voted_is_a_handoff_divergence() {
    let mut b = base();
    b[4] = handoff("reviewer");
    let d = diff(&journal("a", base()), &journal("b", b));
    let v = d.divergence.unwrap();
    assert_eq!(v.category, "handoff");
    assert_eq!(v.fields, vec!["type".to_string()]);
}

#[test]
fn different_text_is_a_text_divergence() {
    let mut b = base();
    b[3] = message("optimist", "Hold it", 100);
    let d = diff(&journal("a", base()), &journal("b", b));
    let v = d.divergence.unwrap();
    assert_eq!(v.category, "text");
    assert_eq!(v.fields, vec!["text".to_string()]);
}

#[test]
fn a_session_that_stops_early_diverges_where_it_stopped() {
    let mut b = base();
    b.truncate(4);
    let d = diff(&journal("a", base()), &journal("b", b));
    let v = d.divergence.clone().unwrap();
    assert_eq!(v.category, "vote");
    assert_eq!(v.b_seq, None);
    assert!(to_text(&d).contains("(no more events)"));
}

#[test]
fn other_backends_are_a_setup_difference_and_the_steps_still_compare() {
    let mut b = base();
    b[0] = started("replay");
    let d = diff(&journal("a", base()), &journal("b", b));
    assert!(!d.matches);
    assert_eq!(d.setup, vec!["agents".to_string()]);
    assert_eq!(d.divergence, None);
    assert!(to_text(&d).contains("start differently: agents"));
}

#[test]
fn the_json_form_has_match_and_the_summaries() {
    let d = diff(&journal("a", base()), &journal("b", base()));
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["match"], true);
    assert_eq!(v["a"]["turns"], 1);
    assert_eq!(v["b"]["outcome"], "consensus");
    assert!(v["divergence"].is_null());
}

#[test]
fn parallel_votes_in_another_order_are_not_a_divergence() {
    let disagree = EventKind::Vote {
        round: 1,
        agent: "optimist".into(),
        choice: VoteChoice::Disagree,
        reason: "r".into(),
    };
    let mut a = base();
    a.insert(5, disagree.clone());
    let mut b = base();
    b.insert(4, disagree);
    let d = diff(&journal("a", a), &journal("b", b));
    assert!(d.matches, "{d:?}");
    assert_eq!(d.reordered, 1);
    assert!(to_text(&d).contains("another order"));
}

#[test]
fn speakers_taking_turns_in_another_order_still_diverge() {
    let turn = |agent: &str, turn: u64| EventKind::TurnStarted {
        agent: agent.into(),
        turn,
        round: Some(1),
        purpose: Purpose::Speak,
    };
    let a = vec![
        started("local"),
        turn("optimist", 1),
        message("optimist", "Ship it", 1),
        turn("skeptic", 2),
        message("skeptic", "No", 1),
    ];
    let b = vec![
        started("local"),
        turn("skeptic", 1),
        message("skeptic", "No", 1),
        turn("optimist", 2),
        message("optimist", "Ship it", 1),
    ];
    let d = diff(&journal("a", a), &journal("b", b));
    assert_eq!(d.divergence.unwrap().category, "speaker");
}
