//! The group chat driven through the simulator: speaker selection, votes and consensus,
//! every termination condition, interjections, pause, loops and resume.

use serde_json::json;

use crate::config::{Consensus, ContextMode, SpeakerSelection};
use crate::core::Command;
use crate::core::event::{EventKind, Outcome, PatternKind, Purpose, SelectedBy, VoteChoice};
use crate::core::patterns::sim::{Sim, reply, tool};
use crate::core::patterns::{Input, UnattendedApproval};
use crate::llm::ChatMessage;

fn debate(tweak: impl FnOnce(&mut crate::config::TeamConfig)) -> Sim {
    Sim::new(PatternKind::GroupChat, &["a", "b", "c"], |t| {
        t.max_rounds = Some(3);
        tweak(t);
    })
}

fn vote(choice: &str) -> crate::core::patterns::sim::Reply {
    tool("", "cast_vote", json!({"choice": choice, "reason": "r"}))
}

fn round(sim: &mut Sim, texts: [&str; 3]) {
    for (agent, text) in ["a", "b", "c"].into_iter().zip(texts) {
        sim.complete(agent, reply(text));
    }
}

#[test]
fn round_robin_votes_each_round_and_reaches_consensus_in_round_two() {
    let mut sim = debate(|t| {
        t.consensus = Some(Consensus {
            threshold: 0.67,
            every_round: true,
        });
    });
    sim.send("should we ship?");
    assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::RoundRobin, .. } if agent == "a")));
    assert_eq!(sim.spec_of("a").round, Some(1));
    round(&mut sim, ["yes", "no", "maybe"]);
    assert_eq!(sim.running_agents(), ["a", "b", "c"]);
    assert_eq!(sim.spec_of("a").purpose, Purpose::Vote);
    sim.complete("a", vote("agree"));
    sim.complete("b", vote("disagree"));
    sim.complete("c", vote("disagree"));
    assert!(sim.recent().iter().any(|e| matches!(
        e,
        EventKind::Consensus {
            round: 1,
            reached: false,
            agree: 1,
            disagree: 2,
            ..
        }
    )));
    assert_eq!(sim.spec_of("a").round, Some(2));
    round(&mut sim, ["ship", "ok ship", "fine, ship"]);
    sim.complete("a", vote("agree"));
    sim.complete("b", vote("agree"));
    sim.complete("c", vote("agree"));
    assert!(sim.recent().iter().any(|e| matches!(
        e,
        EventKind::Consensus {
            round: 2,
            reached: true,
            agree: 3,
            ..
        }
    )));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Consensus, Some("fine, ship".into())))
    );
}

#[test]
fn max_rounds_max_messages_and_keyword_end_the_chat() {
    let mut sim = debate(|t| t.max_rounds = Some(1));
    sim.send("go");
    round(&mut sim, ["1", "2", "3"]);
    assert_eq!(sim.finished(), Some((Outcome::MaxRounds, Some("3".into()))));

    let mut sim = debate(|t| t.max_messages = Some(2));
    sim.send("go");
    sim.complete("a", reply("1"));
    sim.complete("b", reply("2"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::MaxMessages, Some("2".into())))
    );

    let mut sim = debate(|t| t.keyword = Some("TERMINATE".into()));
    sim.send("go");
    sim.complete("a", reply("done. TERMINATE"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("done. TERMINATE".into())))
    );
}

#[test]
fn the_time_limit_ends_the_chat() {
    // The budget is the actor's, checked before every call in every pattern (tests/ledger.rs).
    let mut sim = debate(|t| t.time_limit_s = Some(60));
    sim.send("go");
    sim.timer("time_limit");
    assert!(matches!(sim.finished(), Some((Outcome::Timeout, _))));
    assert!(sim.running_agents().is_empty());
}

#[test]
fn interjections_reach_the_next_speaker() {
    let mut sim = debate(|_| {});
    sim.send("go");
    sim.command(Command::Interject {
        text: "consider cost".into(),
    });
    sim.complete("a", reply("first"));
    let ctx = crate::core::context::messages(&sim.state, &sim.ctx.team, "b", ContextMode::Full);
    assert!(
        ctx.iter()
            .any(|m| matches!(m, ChatMessage::User { text } if text.contains("consider cost")))
    );
    // A message sent while b speaks waits for the next speaker.
    sim.send("and speed");
    let heard = |sim: &Sim| {
        sim.state.entries.iter().any(|e| matches!(e, crate::core::state::Entry::User { text, interject: true, .. } if text == "and speed"))
    };
    assert!(!heard(&sim));
    assert_eq!(sim.state.queued.len(), 1);
    assert_eq!(sim.running_agents(), ["b"]);
    sim.complete("b", reply("second"));
    assert!(heard(&sim));
    assert!(sim.state.queued.is_empty());
}

#[test]
fn pause_while_a_turn_streams_then_resume() {
    let mut sim = debate(|_| {});
    sim.send("go");
    sim.stream("a", "thinking");
    sim.command(Command::Pause {});
    assert!(sim.state.paused);
    sim.command(Command::Pause {});
    assert!(sim.last_error().is_some());
    sim.complete("a", reply("thinking done"));
    assert!(sim.running_agents().is_empty());
    sim.command(Command::Resume {});
    assert_eq!(sim.running_agents(), ["b"]);
    sim.command(Command::Resume {});
    assert!(sim.last_error().is_some());
}

#[test]
fn cancel_turn_skips_the_speaker_and_stray_calls_are_answered() {
    let mut sim = debate(|_| {});
    sim.send("go");
    sim.command(Command::CancelTurn {
        agent: Some("b".into()),
    });
    assert!(sim.last_error().is_some());
    sim.command(Command::CancelTurn {
        agent: Some("a".into()),
    });
    assert_eq!(sim.running_agents(), ["b"]);
    sim.complete("b", tool("hi", "browse", json!({})));
    assert!(sim.recent().iter().any(
        |e| matches!(e, EventKind::ToolResult { is_error: true, name, .. } if name == "browse")
    ));
    assert_eq!(sim.running_agents(), ["c"]);
}

#[test]
fn resumed_mid_vote_keeps_the_votes_cast_and_asks_the_rest_again() {
    let mut sim = debate(|t| {
        t.consensus = Some(Consensus {
            threshold: 0.6,
            every_round: true,
        });
        t.time_limit_s = Some(60);
    });
    sim.send("go");
    round(&mut sim, ["1", "2", "3"]);
    sim.complete("a", vote("agree"));
    sim.stream("b", "thinking");
    sim.restart(20_000);
    assert_eq!(sim.timer_ms.get(super::TIME_LIMIT_TIMER), Some(&40_000));
    assert!(sim.recent().iter().any(
        |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "b" && partial_text == "thinking")
    ));
    assert_eq!(sim.running_agents(), ["b", "c"]);
    assert_eq!(sim.state.task.votes.len(), 1);
    sim.complete("b", vote("agree"));
    sim.complete("c", vote("disagree"));
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Consensus));
    let votes: Vec<(String, VoteChoice)> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::Vote { agent, choice, .. } => Some((agent, choice)),
            _ => None,
        })
        .collect();
    assert_eq!(
        votes,
        [
            ("a".to_string(), VoteChoice::Agree),
            ("b".to_string(), VoteChoice::Agree),
            ("c".to_string(), VoteChoice::Disagree)
        ]
    );
}

#[test]
fn resumed_mid_speech_carries_the_round_on() {
    let mut sim = debate(|_| {});
    sim.send("go");
    sim.complete("a", reply("1"));
    sim.stream("b", "half");
    sim.restart(0);
    assert_eq!(sim.running_agents(), ["c"]);
    assert_eq!(sim.state.task.round, 1);
}

#[test]
fn resumed_after_the_last_ballot_before_the_tally_counts_it() {
    let mut sim = debate(|t| {
        t.consensus = Some(Consensus {
            threshold: 0.5,
            every_round: true,
        })
    });
    sim.send("go");
    round(&mut sim, ["1", "2", "3"]);
    sim.complete("a", vote("agree"));
    sim.complete("b", vote("agree"));
    // The process died right after c's ballot arrived, before its vote was recorded.
    let c = sim.turn_of("c");
    sim.stream("c", "");
    let mut log = sim.log.clone();
    log.push(crate::core::event::Event {
        v: 1,
        seq: sim.state.next_seq,
        ts: chrono::DateTime::UNIX_EPOCH,
        session: "s".into(),
        kind: EventKind::Message {
            agent: "c".into(),
            turn: c,
            text: String::new(),
            usage: Default::default(),
            ttft_ms: None,
            latency_ms: 0,
            finish: "tool_calls".into(),
            purpose: Purpose::Vote,
            tool_calls: vec![crate::core::event::ToolCallInfo {
                id: "v".into(),
                name: "cast_vote".into(),
                arguments: json!({"choice": "disagree", "reason": "no"}).to_string(),
            }],
            served_by: None,
            continues: false,
        },
    });
    sim.log = log;
    sim.restart(0);
    assert!(sim.running_agents().is_empty());
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Consensus));
}

#[test]
fn stop_during_a_vote_cancels_every_ballot() {
    let mut sim = debate(|t| {
        t.consensus = Some(Consensus {
            threshold: 0.5,
            every_round: true,
        })
    });
    sim.send("go");
    round(&mut sim, ["1", "2", "3"]);
    sim.complete("a", vote("agree"));
    sim.command(Command::Stop {});
    let cancelled = sim
        .recent()
        .iter()
        .filter(|e| matches!(e, EventKind::TurnCancelled { .. }))
        .count();
    assert_eq!(cancelled, 2);
    assert_eq!(sim.finished(), Some((Outcome::Cancelled, None)));
    assert!(
        !sim.events()
            .iter()
            .any(|e| matches!(e, EventKind::Consensus { .. }))
    );
}

#[test]
fn pick_speaker_forces_the_next_speaker_under_round_robin() {
    let mut sim = debate(|_| {});
    sim.command(Command::PickSpeaker { agent: "c".into() });
    assert!(sim.last_error().is_some());
    sim.send("go");
    sim.command(Command::PickSpeaker {
        agent: "ghost".into(),
    });
    assert!(sim.last_error().is_some());
    sim.command(Command::PickSpeaker { agent: "c".into() });
    sim.complete("a", reply("1"));
    assert_eq!(sim.running_agents(), ["c"]);
}

#[test]
fn human_selection_waits_for_a_pick_unless_nobody_is_present() {
    let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Human));
    sim.send("go");
    assert!(sim.running_agents().is_empty());
    sim.command(Command::PickSpeaker { agent: "b".into() });
    assert_eq!(sim.running_agents(), ["b"]);

    let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Human))
        .unattended(UnattendedApproval::Auto);
    sim.send("go");
    assert_eq!(sim.running_agents(), ["a"]);
}

#[test]
fn manager_picks_and_invalid_picks_fall_back_to_round_robin() {
    let mut sim = debate(|t| {
        t.speaker_selection = Some(SpeakerSelection::Manager);
        t.manager = Some("m".into());
    });
    sim.send("go");
    assert_eq!(sim.spec_of("m").purpose, Purpose::SelectSpeaker);
    sim.complete(
        "m",
        tool(
            "",
            "select_speaker",
            json!({"agent": "c", "reason": "expert"}),
        ),
    );
    assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::Manager, .. } if agent == "c")));
    sim.complete("c", reply("1"));
    sim.complete("m", tool("", "select_speaker", json!({"agent": "ghost"})));
    assert!(sim.last_error().is_some());
    assert!(
        sim.spec_of("m")
            .instructions
            .as_deref()
            .is_some_and(|i| i.contains("invalid"))
    );
    sim.complete("m", reply("no idea"));
    assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::RoundRobin, .. } if agent == "a")));
    assert_eq!(sim.running_agents(), ["a"]);
}

#[test]
fn a_repeated_speaker_loop_is_broken() {
    let mut sim = debate(|t| {
        t.speaker_selection = Some(SpeakerSelection::Manager);
        t.manager = Some("m".into());
    });
    sim.send("go");
    for text in ["1", "2"] {
        sim.complete(
            "m",
            tool("", "select_speaker", json!({"agent": "b", "reason": ""})),
        );
        sim.complete("b", reply(text));
    }
    sim.complete(
        "m",
        tool("", "select_speaker", json!({"agent": "b", "reason": ""})),
    );
    assert!(sim.last_error().is_some_and(|e| e.contains("loop")));
    assert_eq!(sim.running_agents(), ["c"]);
}

#[test]
fn a_repeated_message_loop_is_broken() {
    let mut sim = debate(|t| t.max_rounds = Some(5));
    sim.send("go");
    sim.complete("a", reply("same"));
    sim.complete("b", reply("same"));
    assert!(sim.last_error().is_some_and(|e| e.contains("loop")));
    assert!(sim.spec_of("c").instructions.is_some());
    sim.complete("c", reply("Same"));
    assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
}

#[test]
fn call_vote_and_malformed_votes() {
    let mut sim = debate(|_| {});
    sim.send("go");
    sim.command(Command::CallVote {});
    assert!(
        sim.last_error()
            .is_some_and(|e| e.contains("nothing to vote"))
    );
    sim.complete("a", reply("proposal"));
    sim.command(Command::CallVote {});
    assert_eq!(sim.running_agents(), ["b", "a", "b", "c"]);
    sim.command(Command::CallVote {});
    assert!(sim.last_error().is_some());
    sim.complete("b", reply("2"));
    assert!(
        !sim.state.is_running(Purpose::Speak),
        "no speaker while the vote runs"
    );
    sim.complete("a", tool("", "cast_vote", json!({"choice": "perhaps"})));
    assert!(sim.last_error().is_some());
    sim.complete("a", reply("I cannot decide"));
    assert!(sim.recent().iter().any(
        |e| matches!(e, EventKind::Vote { agent, choice: VoteChoice::Abstain, .. } if agent == "a")
    ));
    sim.complete("b", vote("agree"));
    sim.complete("c", vote("agree"));
    assert!(sim.recent().iter().any(|e| matches!(
        e,
        EventKind::Consensus {
            reached: false,
            agree: 2,
            abstain: 1,
            ..
        }
    )));
    assert_eq!(sim.running_agents(), ["c"]);
}

#[test]
fn random_selection_replays_identically() {
    let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Random));
    sim.send("go");
    let first = sim.running_agents();
    sim.complete(&first[0], reply("1"));
    let running = sim.running_agents()[0].clone();
    sim.stream(&running, "x");
    let t = sim.turn_of(&running);
    sim.emit(EventKind::TurnFailed {
        agent: running.clone(),
        turn: t,
        error: crate::core::event::ErrorInfo {
            kind: "network".into(),
            message: "m".into(),
        },
        will_retry: false,
        usage: Default::default(),
    });
    let live = sim.decide(Input::TurnEnded { turn: t });
    sim.resume();
    assert_eq!(sim.decide(Input::TurnEnded { turn: t }), live);
    assert!(!live.is_empty());
}

#[test]
fn handoff_commands_are_errors_here() {
    let mut sim = debate(|_| {});
    sim.send("go");
    for cmd in [
        Command::ApproveHandoff {},
        Command::CancelHandoff {},
        Command::RedirectHandoff { to: "a".into() },
    ] {
        sim.command(cmd);
        assert!(sim.last_error().is_some());
    }
    assert_eq!(sim.running_agents(), ["a"]);
}
