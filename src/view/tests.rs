//! The narration of every event type, checked word for word.

use chrono::DateTime;

use super::*;
use crate::core::event::{
    AgentInfo, ErrorInfo, Outcome, PatternKind, Purpose, SelectedBy, UsageInfo, VoteChoice,
};

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        v: 1,
        seq,
        ts: DateTime::from_timestamp_millis(seq as i64).unwrap(),
        session: "s".into(),
        kind,
    }
}

/// Push every kind through one view; the plain line of each part that shows.
fn lines(kinds: Vec<EventKind>) -> Vec<String> {
    let mut view = View::default();
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| view.push(&ev(i as u64, k)))
        .filter(|p| !p.is_hidden())
        .map(|p| p.plain("->"))
        .collect()
}

fn agent(name: &str, price: Option<Price>) -> AgentInfo {
    AgentInfo {
        name: name.into(),
        backend: "b".into(),
        model: "m".into(),
        color: None,
        price,
        fallback: Vec::new(),
    }
}

fn started(agent: &str, turn: u64, round: Option<u32>, purpose: Purpose) -> EventKind {
    EventKind::TurnStarted {
        agent: agent.into(),
        turn,
        round,
        purpose,
    }
}

fn message(agent: &str, turn: u64, text: &str, purpose: Purpose) -> EventKind {
    EventKind::Message {
        agent: agent.into(),
        turn,
        text: text.into(),
        usage: UsageInfo {
            input: Some(1_000_000),
            output: Some(500_000),
            estimated: false,
        },
        ttft_ms: None,
        latency_ms: 1,
        finish: "stop".into(),
        purpose,
        tool_calls: vec![],
        served_by: None,
        continues: false,
    }
}

#[test]
fn speech_and_turn_events() {
    let mut view = View::default();
    let mut push = |k| view.push(&ev(0, k));
    let user = push(EventKind::UserMessage {
        text: "be concrete".into(),
        to: Some("skeptic".into()),
        interject: true,
        queued_id: None,
    });
    assert_eq!(user.shape, Shape::Speech);
    assert_eq!(user.plain("→"), "you → skeptic (interjection)");
    assert_eq!(user.body.as_deref(), Some("be concrete"));
    assert!(push(started("skeptic", 3, Some(2), Purpose::Speak)).is_hidden());
    assert!(
        push(EventKind::Token {
            agent: "skeptic".into(),
            turn: 3,
            text: "No".into()
        })
        .is_hidden()
    );
    let said = push(message("skeptic", 3, "No.\nNever.", Purpose::Speak));
    assert_eq!(
        (said.plain("→"), said.turn, said.round, said.tone),
        ("skeptic".to_string(), Some(3), Some(2), Tone::Normal)
    );
    assert_eq!(said.body.as_deref(), Some("No.\nNever."));
    assert_eq!(said.status, None);
    let summary = push(message("skeptic", 4, "so far", Purpose::Summarize));
    assert_eq!(summary.plain("→"), "skeptic (summary)");
    assert!(push(message("skeptic", 5, "", Purpose::Vote)).is_hidden());
    assert!(push(message("skeptic", 6, "  ", Purpose::Speak)).is_hidden());
    push(started("skeptic", 7, Some(2), Purpose::Speak));
    let cancelled = push(EventKind::TurnCancelled {
        agent: "skeptic".into(),
        turn: 7,
        partial_text: "Rewrites\nrarely".into(),
        usage: Default::default(),
    });
    assert_eq!(
        cancelled.plain("→"),
        "skeptic's turn was cancelled after: Rewrites rarely"
    );
    assert_eq!(
        (cancelled.status.as_deref(), cancelled.round),
        (Some("cancelled"), Some(2))
    );
    let failed = push(EventKind::TurnFailed {
        agent: "a".into(),
        turn: 1,
        error: ErrorInfo {
            kind: "overloaded".into(),
            message: "busy".into(),
        },
        will_retry: true,
        usage: Default::default(),
    });
    assert_eq!(failed.plain("→"), "a failed (overloaded): busy (retrying)");
    assert_eq!((failed.tone, failed.mark), (Tone::Warn, Mark::Failure));
}

#[test]
fn a_queued_turn_and_a_backend_notice_are_one_line_each() {
    let mut view = View::default();
    let mut seq = 0;
    let mut push = |kind: EventKind| {
        seq += 1;
        view.push(&ev(seq, kind))
    };
    let waiting = push(EventKind::TurnWaiting {
        agent: "skeptic".into(),
        turn: 4,
        backend: "local".into(),
    });
    assert_eq!(waiting.plain("→"), "skeptic waiting for local");
    assert_eq!(waiting.tone, Tone::Muted);
    let notice = push(EventKind::TurnNotice {
        agent: "skeptic".into(),
        turn: 4,
        kind: "text_markers".into(),
        text: "backend 'local' refused a forced tool call".into(),
    });
    assert_eq!(
        notice.plain("→"),
        "skeptic note: backend 'local' refused a forced tool call"
    );
    assert_eq!(notice.tone, Tone::Warn);
}

#[test]
fn handoffs_are_named_by_their_endpoints_from_the_state() {
    let lines = lines(vec![
        EventKind::HandoffRequested {
            id: "h1".into(),
            from: "triage".into(),
            to: "billing".into(),
            reason: "refund".into(),
            approval: Some("confirm".into()),
            window_ms: None,
        },
        EventKind::HandoffRedirected {
            id: "h1".into(),
            from_target: "billing".into(),
            to: "tech".into(),
            by: "user".into(),
        },
        EventKind::HandoffAccepted {
            id: "h1".into(),
            reason: "approved".into(),
        },
        EventKind::HandoffCompleted {
            id: "h1".into(),
            summary: "fixed".into(),
        },
        EventKind::HandoffRequested {
            id: "h2".into(),
            from: "triage".into(),
            to: "billing".into(),
            reason: "again".into(),
            approval: Some("window".into()),
            window_ms: Some(3000),
        },
        EventKind::HandoffRejected {
            id: "h2".into(),
            reason: "depth limit".into(),
        },
        EventKind::HandoffFallback {
            id: "h2".into(),
            failed: "billing".into(),
            to: "tech".into(),
        },
        EventKind::HandoffCancelled {
            id: "h9".into(),
            by: "user".into(),
        },
    ]);
    assert_eq!(
        lines,
        [
            "handoff triage -> billing requested: refund [awaiting approval]",
            "handoff triage -> tech redirected from billing by user",
            "handoff triage -> tech accepted: approved",
            "tech hands back to triage: fixed",
            "handoff triage -> billing requested: again [3000 ms to cancel or redirect]",
            "handoff triage -> billing rejected: depth limit",
            "billing could not take over; falling back to tech",
            "handoff h9 cancelled by user",
        ]
    );
}

#[test]
fn picks_votes_tallies_scores_and_controls() {
    let pick = |by, reason: Option<&str>| EventKind::SpeakerSelected {
        agent: "skeptic".into(),
        by,
        reason: reason.map(String::from),
    };
    let mut view = View::default();
    let robin = view.push(&ev(0, pick(SelectedBy::RoundRobin, None)));
    assert!(robin.routine);
    assert_eq!(
        robin.plain("→"),
        "next speaker skeptic (picked by round robin)"
    );
    let lines = lines(vec![
        pick(SelectedBy::Manager, Some("needs a\nchallenge")),
        pick(SelectedBy::Human, None),
        EventKind::Vote {
            round: 1,
            agent: "skeptic".into(),
            choice: VoteChoice::Disagree,
            reason: "too risky".into(),
        },
        EventKind::Vote {
            round: 1,
            agent: "judge".into(),
            choice: VoteChoice::Abstain,
            reason: "".into(),
        },
        EventKind::Consensus {
            round: 1,
            reached: false,
            agree: 1,
            disagree: 2,
            abstain: 0,
            threshold: 0.67,
        },
        EventKind::CandidateScored {
            agent: "optimist".into(),
            score: 7.5,
            reason: "clear upside".into(),
        },
        EventKind::Paused { by: "user".into() },
        EventKind::Resumed { by: "user".into() },
        EventKind::Error {
            message: "unknown agent `bob`".into(),
            command: Some(serde_json::json!({"cmd": "pick"})),
        },
        EventKind::SessionFinished {
            outcome: Outcome::MaxRounds,
            final_text: Some("ship it".into()),
        },
    ]);
    assert_eq!(
        lines,
        [
            "next speaker skeptic (picked by manager: needs a challenge)",
            "next speaker skeptic (picked by you)",
            "vote (round 1): skeptic disagrees: too risky",
            "vote (round 1): judge abstains",
            "consensus (round 1): not reached — 1 agree, 2 disagree, 0 abstain (threshold 67%)",
            "score optimist: 7.5/10: clear upside",
            "paused by user",
            "resumed by user",
            r#"error: unknown agent `bob` (command: {"cmd":"pick"})"#,
            "finished: max_rounds",
        ]
    );
}

#[test]
fn session_start_announces_the_team() {
    let mut view = View::default();
    let p = view.push(&ev(
        0,
        EventKind::SessionStarted {
            team: "debate".into(),
            pattern: PatternKind::GroupChat,
            agents: vec![agent("a", None), agent("b", None)],
        },
    ));
    assert_eq!(p.plain("->"), "team debate (group_chat): a (b/m), b (b/m)");
    assert_eq!(
        (p.mark, p.target.as_deref()),
        (Mark::Session, Some("debate"))
    );
}

#[test]
fn the_ledger_prices_from_session_started_and_keeps_the_team_order() {
    let price = Price {
        input: 1.0,
        output: 2.0,
    };
    let view = View::replay(
        BTreeMap::new(),
        &[
            ev(
                0,
                EventKind::SessionStarted {
                    team: "t".into(),
                    pattern: PatternKind::GroupChat,
                    agents: vec![agent("zed", Some(price)), agent("amy", None)],
                },
            ),
            ev(1, started("amy", 0, None, Purpose::Speak)),
            ev(2, message("amy", 0, "hi", Purpose::Speak)),
            ev(3, started("zed", 1, None, Purpose::Speak)),
            ev(4, message("zed", 1, "ho", Purpose::Speak)),
            ev(5, started("judge", 2, None, Purpose::Judge)),
            ev(6, started("zed", 3, None, Purpose::Speak)),
            ev(
                7,
                EventKind::Token {
                    agent: "zed".into(),
                    turn: 3,
                    text: "half".into(),
                },
            ),
        ],
    );
    let rows: Vec<(&str, Option<f64>)> = view
        .ledger()
        .iter()
        .map(|r| (r.agent, r.metrics.cost))
        .collect();
    assert_eq!(rows, [("zed", Some(2.0)), ("amy", None), ("judge", None)]);
    assert_eq!(view.metrics.totals.cost, Some(2.0));
    let unfinished = view.unfinished();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(
        (unfinished[0].plain("→"), unfinished[0].status.as_deref()),
        ("zed".to_string(), Some("interrupted"))
    );
}

#[test]
fn a_summary_counts_spoken_messages_and_prices_from_the_journal() {
    let head = SummaryHead {
        id: "s".into(),
        path: "s.jsonl".into(),
        team: "t".into(),
        pattern: PatternKind::Single,
        started: DateTime::from_timestamp_millis(0).unwrap(),
        forked_from: None,
        prices: BTreeMap::from([(
            "a".to_string(),
            Price {
                input: 1.0,
                output: 0.0,
            },
        )]),
        warnings: vec![],
    };
    let events = [
        ev(0, message("a", 0, "x", Purpose::Speak)),
        ev(1, message("a", 1, "", Purpose::Vote)),
    ];
    let s = summarize(head.clone(), &events, || false);
    assert_eq!(
        (s.messages, s.tokens_in, s.tokens_out),
        (1, 2_000_000, 1_000_000)
    );
    assert_eq!(s.cost, Some(2.0));
    assert_eq!(s.outcome, "interrupted");
    assert_eq!(summarize(head, &events, || true).outcome, "running");
}

#[test]
fn the_handoff_history_keeps_every_transfer_and_how_it_stands() {
    let request = |id: &str, to: &str| EventKind::HandoffRequested {
        id: id.into(),
        from: "triage".into(),
        to: to.into(),
        reason: "r".into(),
        approval: Some("window".into()),
        window_ms: Some(1000),
    };
    let view = View::replay(
        BTreeMap::new(),
        &[
            ev(0, request("h1", "billing")),
            ev(
                1,
                EventKind::HandoffRedirected {
                    id: "h1".into(),
                    from_target: "billing".into(),
                    to: "tech".into(),
                    by: "user".into(),
                },
            ),
            ev(
                2,
                EventKind::HandoffAccepted {
                    id: "h1".into(),
                    reason: "ok".into(),
                },
            ),
            ev(
                3,
                EventKind::HandoffCompleted {
                    id: "h1".into(),
                    summary: "done".into(),
                },
            ),
            ev(4, request("h2", "billing")),
        ],
    );
    let h = &view.handoffs;
    assert_eq!(h.transfers.len(), 2);
    let first = &h.transfers[0];
    assert_eq!(first.to, "tech");
    assert_eq!(
        first.redirected,
        Some(("billing".to_string(), "user".to_string()))
    );
    assert_eq!(first.state, TransferState::Completed("done".into()));
    assert_eq!(first.active_since, Some(ev(2, request("x", "y")).ts));
    assert_eq!(h.pending().map(|t| t.id.as_str()), Some("h2"));
    assert_eq!(h.current().map(|t| t.id.as_str()), Some("h2"));
    assert_eq!(h.window_left_ms(ev(4, request("x", "y")).ts), Some(1000));
    assert_eq!(view.state.handoff.holder.as_deref(), Some("triage"));
}

#[test]
fn the_tally_is_the_round_being_voted_on_and_a_new_session_starts_afresh() {
    let vote = |agent: &str, choice| EventKind::Vote {
        round: 2,
        agent: agent.into(),
        choice,
        reason: "r".into(),
    };
    let start = EventKind::SessionStarted {
        team: "t".into(),
        pattern: PatternKind::GroupChat,
        agents: vec![agent("a", None)],
    };
    let mut view = View::default();
    view.push(&ev(0, start.clone()));
    assert_eq!(view.tally(), None);
    view.push(&ev(1, started("a", 0, Some(2), Purpose::Vote)));
    view.push(&ev(2, vote("a", VoteChoice::Agree)));
    view.push(&ev(3, vote("b", VoteChoice::Abstain)));
    let (round, votes) = view.tally().unwrap();
    assert_eq!(round, 2);
    assert_eq!(
        votes.values().map(|(c, _)| *c).collect::<Vec<_>>(),
        [VoteChoice::Agree, VoteChoice::Abstain]
    );
    view.push(&ev(
        4,
        EventKind::Consensus {
            round: 2,
            reached: false,
            agree: 1,
            disagree: 0,
            abstain: 1,
            threshold: 0.67,
        },
    ));
    assert_eq!(view.tally().map(|(r, v)| (r, v.len())), Some((2, 2)));
    view.push(&ev(0, start));
    assert_eq!(view.tally(), None);
    assert_eq!(view.state.next_seq, 1);
}

#[test]
fn an_edited_context_names_the_handoff_and_what_its_target_receives() {
    let lines = lines(vec![
        EventKind::HandoffRequested {
            id: "h1".into(),
            from: "triage".into(),
            to: "billing".into(),
            reason: "refund".into(),
            approval: Some("confirm".into()),
            window_ms: None,
        },
        EventKind::ContextEdited {
            handoff: "h1".into(),
            agent: "billing".into(),
            by: "user".into(),
            messages: vec![crate::core::event::ContextMessage {
                role: "user".into(),
                text: "only this".into(),
            }],
        },
    ]);
    assert_eq!(
        lines[1],
        "handoff triage -> billing context edited by user (billing receives 1 message)"
    );
}
