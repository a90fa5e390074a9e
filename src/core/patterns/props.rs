//! Property tests: any sequence of commands, replies, failures and timers, in any pattern, never
//! panics, keeps `seq` gap-free, leaves no turn running after `session_finished`, and the fold of
//! the journal always equals the live state (so a resumed pattern decides as the live one).
//! Restarts (resume from the log so far, interrupted turns closed, the pattern carrying the task
//! on) can come at any point and keep the same invariants. The generators and [`drive`] are
//! shared with the store's property test, which writes any such session through the real journal
//! writer and reads it back (core knows nothing of the journal).

use proptest::prelude::*;
use serde_json::json;

use crate::config::{
    Approval, Consensus, OnFailure, SpeakerSelection, Strategy as FanOut, TeamConfig,
};
use crate::core::command::Command;
use crate::core::event::{EventKind, PatternKind};
use crate::core::patterns::Input;
use crate::core::patterns::sim::{Reply, Sim, reply, tool};
use crate::core::state::SessionState;

pub(crate) const AGENTS: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug)]
pub(crate) enum Step {
    Command(Command),
    Complete(usize, u8),
    Fail(usize),
    Stream(usize),
    Timer,
    Restart(u16),
}

fn agent_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("ghost")].prop_map(String::from)
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Send {
            text: "task".into(),
            to: None
        }),
        Just(Command::Interject {
            text: "note".into()
        }),
        proptest::option::of(agent_name()).prop_map(|agent| Command::CancelTurn { agent }),
        Just(Command::ApproveHandoff {}),
        Just(Command::RejectHandoff { reason: None }),
        Just(Command::CancelHandoff {}),
        agent_name().prop_map(|to| Command::RedirectHandoff { to }),
        agent_name().prop_map(|agent| Command::PickSpeaker { agent }),
        Just(Command::CallVote {}),
        Just(Command::Pause {}),
        Just(Command::Resume {}),
        Just(Command::Stop {}),
        Just(Command::ApprovePlan {}),
        Just(Command::RejectPlan { reason: None }),
        Just(Command::HoldPlan {}),
    ]
}

pub(crate) fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => command().prop_map(Step::Command),
        6 => (0usize..4, 0u8..11).prop_map(|(i, k)| Step::Complete(i, k)),
        1 => (0usize..4).prop_map(Step::Fail),
        1 => (0usize..4).prop_map(Step::Stream),
        1 => Just(Step::Timer),
        1 => any::<u16>().prop_map(Step::Restart),
    ]
}

pub(crate) fn team(kind: PatternKind, t: &mut TeamConfig, variant: u8) {
    match kind {
        PatternKind::Handoff => {
            t.entry = Some("a".into());
            t.handoffs.insert("a".into(), vec!["b".into(), "c".into()]);
            t.handoffs.insert("b".into(), vec!["a".into(), "c".into()]);
            t.handoffs.insert("c".into(), vec!["a".into()]);
            t.fallback.insert("b".into(), vec!["c".into()]);
            t.approval =
                Some([Approval::Auto, Approval::Confirm, Approval::Window][variant as usize % 3]);
        }
        PatternKind::GroupChat => {
            t.speaker_selection = Some(
                [
                    SpeakerSelection::RoundRobin,
                    SpeakerSelection::Manager,
                    SpeakerSelection::Human,
                    SpeakerSelection::Random,
                ][variant as usize % 4],
            );
            t.manager = Some("m".into());
            t.max_rounds = Some(3);
            t.consensus = Some(Consensus {
                threshold: 0.6,
                every_round: true,
            });
            t.time_limit_s = Some(60);
        }
        PatternKind::Concurrent => {
            t.strategy = Some([FanOut::All, FanOut::FirstSuccess][variant as usize % 2]);
            if variant.is_multiple_of(3) {
                t.aggregator = Some("m".into());
            }
        }
        PatternKind::BestOf => t.judge = Some("m".into()),
        PatternKind::Single => t.members.truncate(1),
        PatternKind::Sequential => {}
        PatternKind::Plan => {
            t.planner = Some("m".into());
            t.approval =
                Some([Approval::Auto, Approval::Confirm, Approval::Window][variant as usize % 3]);
            t.on_failure = Some(
                [OnFailure::Replan, OnFailure::Compensate, OnFailure::Stop][variant as usize % 3],
            );
            t.max_parallel = Some(1 + u32::from(variant % 2));
            t.time_limit_s = Some(60);
        }
    }
}

fn answer(agent: &str, k: u8) -> Reply {
    match k {
        0 => reply("plain words"),
        1 => tool("", "transfer_to_b", json!({"reason": "r"})),
        2 => tool("", "transfer_to_c", json!({"reason": "r"})),
        3 => tool("done", "complete_handoff", json!({"summary": "s"})),
        4 => tool("", "cast_vote", json!({"choice": "agree", "reason": "r"})),
        5 => tool("", "cast_vote", json!({"choice": "nope"})),
        6 => tool("", "select_speaker", json!({"agent": "b", "reason": "r"})),
        7 => tool(
            "",
            "submit_scores",
            json!({"scores": [{"agent": agent, "score": 5, "reason": "r"}]}),
        ),
        8 => reply("same words"),
        9 => tool(
            "",
            "submit_plan",
            json!({"tasks": [
                {"id": "x", "agent": "a", "instructions": "i", "depends_on": [], "compensation": "u"},
                {"id": "y", "agent": "b", "instructions": "i", "depends_on": ["x"]},
                {"id": "z", "agent": "c", "instructions": "i", "depends_on": []}
            ]}),
        ),
        _ => tool("", "transfer_to_a", json!({"reason": "r"})),
    }
}

/// Drive `sim` through `steps` (no invariant checks: see the first property).
pub(crate) fn drive(sim: &mut Sim, steps: Vec<Step>) {
    sim.send("start");
    for step in steps {
        let running = sim.state.running_turns();
        let pick = |i: usize| running.get(i % running.len().max(1)).copied();
        let agent_of = |sim: &Sim, turn: u64| sim.state.turns[&turn].agent.clone();
        match step {
            Step::Command(cmd) => sim.command(cmd),
            Step::Complete(i, k) => {
                if let Some(turn) = pick(i) {
                    let agent = agent_of(sim, turn);
                    sim.complete(&agent, answer(&agent, k));
                }
            }
            Step::Fail(i) => {
                if let Some(turn) = pick(i) {
                    let agent = agent_of(sim, turn);
                    sim.fail(&agent, "overloaded");
                }
            }
            Step::Stream(i) => {
                if let Some(turn) = pick(i) {
                    let agent = agent_of(sim, turn);
                    for word in ["some ", "streamed ", "words "] {
                        sim.stream(&agent, word);
                    }
                }
            }
            Step::Timer => {
                if let Some(name) = sim.timers.iter().next().cloned() {
                    sim.timer(&name);
                }
            }
            Step::Restart(ms) => sim.restart(u64::from(ms) * 10),
        }
    }
}

pub(crate) fn pattern_kind() -> impl Strategy<Value = PatternKind> {
    prop_oneof![
        Just(PatternKind::Single),
        Just(PatternKind::Sequential),
        Just(PatternKind::Concurrent),
        Just(PatternKind::Handoff),
        Just(PatternKind::GroupChat),
        Just(PatternKind::BestOf),
        Just(PatternKind::Plan),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_keeps_the_invariants(
        kind in pattern_kind(),
        variant in 0u8..12,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut sim = Sim::new(kind, &AGENTS, |t| team(kind, t, variant));
        sim.send("start");
        for step in steps {
            let running = sim.state.running_turns();
            let pick = |i: usize| running.get(i % running.len().max(1)).copied();
            match step {
                Step::Command(cmd) => sim.command(cmd),
                Step::Complete(i, k) => if let Some(turn) = pick(i) {
                    let agent = sim.state.turns[&turn].agent.clone();
                    let r = answer(&agent, k);
                    sim.complete(&agent, r);
                },
                Step::Fail(i) => if let Some(turn) = pick(i) {
                    let agent = sim.state.turns[&turn].agent.clone();
                    sim.fail(&agent, "overloaded");
                },
                Step::Stream(i) => if let Some(turn) = pick(i) {
                    let agent = sim.state.turns[&turn].agent.clone();
                    sim.stream(&agent, "tok ");
                },
                Step::Timer => if let Some(name) = sim.timers.iter().next().cloned() {
                    sim.timer(&name);
                },
                Step::Restart(ms) => sim.restart(u64::from(ms) * 10),
            }
            for (i, e) in sim.log.iter().enumerate() {
                prop_assert_eq!(e.seq, i as u64);
            }
            let replayed = SessionState::replay(&sim.log);
            prop_assert_eq!(&replayed, &sim.state);
            if matches!(sim.log.last().map(|e| &e.kind), Some(EventKind::SessionFinished { .. })) {
                prop_assert!(sim.state.running_turns().is_empty());
            }
            let probe = Input::Command(Command::Stop {});
            let live = sim.decide(probe.clone());
            let mut resumed = crate::core::patterns::build(sim.ctx.clone());
            prop_assert_eq!(resumed.on(&replayed, probe), live);
        }
    }
}
