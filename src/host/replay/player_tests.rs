use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::config::PatternKind;
use crate::core::event::{AgentInfo, SCHEMA_VERSION, VoteChoice};
use crate::host::replay::MAX_GAP;

fn agent(name: &str) -> AgentInfo {
    AgentInfo {
        name: name.into(),
        backend: "local".into(),
        model: "m".into(),
        color: None,
        price: None,
        fallback: Vec::new(),
    }
}

fn turn(agent: &str, purpose: Purpose) -> EventKind {
    EventKind::TurnStarted {
        agent: agent.into(),
        turn: 1,
        round: None,
        purpose,
    }
}

/// (seq, ms after the start, kind): seqs with a gap (coalesced tokens), some events at the
/// same moment, one long pause.
fn events() -> Vec<Event> {
    let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let kinds: Vec<(u64, i64, EventKind)> = vec![
        (
            0,
            0,
            EventKind::SessionStarted {
                team: "t".into(),
                pattern: PatternKind::GroupChat,
                agents: vec![agent("a"), agent("b")],
            },
        ),
        (
            1,
            1_000,
            EventKind::UserMessage {
                text: "hi".into(),
                to: None,
                interject: false,
                queued_id: None,
            },
        ),
        (2, 1_000, turn("a", Purpose::SelectSpeaker)),
        (3, 1_400, turn("a", Purpose::Speak)),
        (
            7,
            2_400,
            EventKind::Token {
                agent: "a".into(),
                turn: 1,
                text: "hello".into(),
            },
        ),
        (
            8,
            60_000,
            EventKind::HandoffRequested {
                id: "h1".into(),
                from: "a".into(),
                to: "b".into(),
                reason: "r".into(),
                approval: None,
                window_ms: None,
            },
        ),
        (9, 60_100, turn("b", Purpose::Vote)),
        (
            10,
            60_200,
            EventKind::Vote {
                round: 1,
                agent: "b".into(),
                choice: VoteChoice::Agree,
                reason: "ok".into(),
            },
        ),
        (11, 60_300, turn("b", Purpose::Speak)),
    ];
    kinds
        .into_iter()
        .map(|(seq, ms, kind)| Event {
            v: SCHEMA_VERSION,
            seq,
            ts: t0 + chrono::Duration::milliseconds(ms),
            session: "s".into(),
            kind,
        })
        .collect()
}

fn range(restart: bool, from: usize, to: usize) -> Played {
    Played { restart, from, to }
}

#[test]
fn playing_waits_the_recorded_gaps_divided_by_speed_and_capped() {
    let mut p = Player::new("s", events(), Some(2.0));
    assert_eq!(p.wait(), Some(Duration::ZERO));
    assert_eq!(p.tick(), range(false, 0, 1));
    assert_eq!(p.wait(), Some(Duration::from_millis(500)));
    // The user message and the speaker pick share a moment: one tick plays both.
    assert_eq!(p.tick(), range(false, 1, 3));
    assert_eq!(p.wait(), Some(Duration::from_millis(200)));
    p.tick();
    assert_eq!(p.wait(), Some(Duration::from_millis(500)));
    p.tick();
    assert_eq!(p.wait(), Some(MAX_GAP), "a minute's silence is capped");
    while p.wait().is_some() {
        p.tick();
    }
    assert!(p.at_end());
    assert_eq!(p.status().state_label(), "ended");
    assert_eq!(p.status().seq, Some(11));
    assert_eq!(p.status().last_seq, 11);
}

#[test]
fn instant_plays_everything_in_one_tick() {
    let mut p = Player::new("s", events(), None);
    assert_eq!(p.tick(), range(false, 0, 9));
    assert_eq!(p.wait(), None);
    let inbounds = p.inbounds(range(false, 0, 9));
    assert_eq!(inbounds.len(), 10);
    assert!(matches!(inbounds[9], Inbound::ReplayStatus(_)));
}

#[test]
fn pause_stops_the_clock_and_step_plays_one_event_at_a_time() {
    let mut p = Player::new("s", events(), Some(1.0));
    p.tick();
    assert_eq!(p.control(ReplayControl::Toggle), range(false, 1, 1));
    assert_eq!(p.wait(), None);
    assert_eq!(p.tick(), range(false, 1, 1), "nothing plays while paused");
    assert_eq!(p.status().state_label(), "paused");
    // A step plays exactly one event even where two share a moment.
    assert_eq!(p.control(ReplayControl::Step), range(false, 1, 2));
    assert_eq!(p.control(ReplayControl::Step), range(false, 2, 3));
    assert_eq!(p.status().seq, Some(2));
    assert_eq!(p.wait(), None, "still paused after a step");
    p.control(ReplayControl::Toggle);
    assert_eq!(p.wait(), Some(Duration::from_millis(400)));
    // A step while playing pauses too.
    assert_eq!(p.control(ReplayControl::Step), range(false, 3, 4));
    assert!(p.status().paused);
}

#[test]
fn jumps_stop_on_the_next_speaking_turn_handoff_or_vote() {
    let mut p = Player::new("s", events(), Some(1.0));
    p.tick();
    // The manager's pick (seq 2) is not a turn anyone speaks in.
    assert_eq!(
        p.control(ReplayControl::Next(ReplayTarget::Turn)),
        range(false, 1, 4)
    );
    assert_eq!(p.status().seq, Some(3));
    assert!(p.status().paused);
    p.control(ReplayControl::Next(ReplayTarget::Handoff));
    assert_eq!(p.status().seq, Some(8));
    p.control(ReplayControl::Next(ReplayTarget::Vote));
    assert_eq!(p.status().seq, Some(10));
    let before = p.played();
    assert_eq!(
        p.control(ReplayControl::Next(ReplayTarget::Handoff)),
        range(false, before, before)
    );
    assert_eq!(p.status().note.as_deref(), Some("no later handoff"));
    p.control(ReplayControl::Next(ReplayTarget::Turn));
    assert_eq!(p.status().seq, Some(11));
    assert_eq!(p.status().note, None);
}

#[test]
fn seeking_back_rebuilds_from_the_first_event_and_forward_appends() {
    let mut p = Player::new("s", events(), None);
    p.tick();
    assert_eq!(p.control(ReplayControl::Back(3)), range(true, 0, 6));
    assert_eq!(p.status().seq, Some(8));
    assert_eq!(p.control(ReplayControl::Forward(2)), range(false, 6, 8));
    // seq 5 to 6 were coalesced away: the last event at or before it.
    assert_eq!(p.control(ReplayControl::Seek(6)), range(true, 0, 4));
    assert_eq!(p.status().seq, Some(3));
    assert_eq!(p.control(ReplayControl::Seek(9)), range(false, 4, 7));
    // Never before the session's start, never past the end.
    assert_eq!(p.control(ReplayControl::Back(99)), range(true, 0, 1));
    assert_eq!(p.control(ReplayControl::Seek(0)), range(false, 1, 1));
    assert_eq!(p.control(ReplayControl::Forward(99)), range(false, 1, 9));
    assert_eq!(p.control(ReplayControl::Back(1)), range(true, 0, 8));
    assert_eq!(p.control(ReplayControl::End), range(false, 8, 9));
    let inbounds = p.inbounds(range(true, 0, 2));
    assert_eq!(inbounds[0], Inbound::ReplayRestart);
    assert!(matches!(&inbounds[1], Inbound::Event(e) if e.seq == 0));
}

#[test]
fn play_at_the_end_starts_over_and_speed_steps_through_the_ladder() {
    let mut p = Player::new("s", events(), Some(1.0));
    p.control(ReplayControl::End);
    assert_eq!(p.control(ReplayControl::Toggle), range(true, 0, 0));
    assert_eq!(p.wait(), Some(Duration::ZERO));
    assert_eq!(p.status().state_label(), "playing");
    p.control(ReplayControl::Faster);
    assert_eq!(p.status().speed, Some(2.0));
    for _ in 0..10 {
        p.control(ReplayControl::Faster);
    }
    assert_eq!(p.status().speed_label(), "instant");
    p.control(ReplayControl::Slower);
    assert_eq!(p.status().speed, Some(64.0));
    for _ in 0..20 {
        p.control(ReplayControl::Slower);
    }
    assert_eq!(p.status().speed_label(), "0.25x");
}

#[test]
fn an_empty_journal_plays_nothing_and_never_panics() {
    let mut p = Player::new("s", Vec::new(), Some(1.0));
    assert_eq!(p.wait(), None);
    assert_eq!(p.tick(), range(false, 0, 0));
    for c in [
        ReplayControl::Toggle,
        ReplayControl::Step,
        ReplayControl::Next(ReplayTarget::Vote),
        ReplayControl::Back(3),
        ReplayControl::Forward(3),
        ReplayControl::Seek(7),
        ReplayControl::End,
    ] {
        p.control(c);
    }
    assert_eq!(p.status().seq, None);
}
