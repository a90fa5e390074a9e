//! Real sessions end to end: the session actor, the patterns and the offline scripted provider.
//! Every run also checks the invariants of the event stream: `seq` gap-free from 0, every tool
//! call answered exactly once, and the fold of the stream equal to itself replayed.

// The helpers below are test code too: a failed expectation is a failed test.
#![allow(clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use conclave::config::{AgentConfig, Approval, Consensus, Strategy, TeamConfig};
use conclave::core::event::{EventKind, Outcome, PatternKind};
use conclave::core::session::{EventStream, Session, SessionHandle, SessionSpec, new_session_id};
use conclave::core::state::SessionState;
use conclave::core::{Command, Event};
use conclave::llm::Provider;
use conclave::llm::scripted::ScriptedProvider;
use support::events::{check_invariants, count, finished, until_finished};

fn agent(name: &str) -> AgentConfig {
    AgentConfig {
        backend: "script".into(),
        model: name.into(),
        ..Default::default()
    }
}

fn spec(team: TeamConfig, agents: &[&str], script: &str) -> SessionSpec {
    let provider: Arc<dyn Provider> =
        Arc::new(ScriptedProvider::from_toml("script", script, 0.0).expect("script parses"));
    SessionSpec {
        id: new_session_id(),
        team_name: "t".into(),
        team,
        agents: agents.iter().map(|a| (a.to_string(), agent(a))).collect(),
        providers: BTreeMap::from([("script".to_string(), provider)]),
        history: Vec::new(),
        unattended: None,
        tools: None,
    }
}

fn start(spec: SessionSpec) -> (SessionHandle, EventStream) {
    let mut session = Session::new(spec).expect("valid spec");
    let events = session.subscribe();
    (session.start(), events)
}

async fn run(spec: SessionSpec, prompt: &str) -> Vec<Event> {
    support::events::run_to_end(spec, prompt).await
}

#[tokio::test]
async fn four_agent_debate_reaches_consensus_in_round_two() {
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["optimist", "skeptic", "pragmatist", "moderator"]
        .map(String::from)
        .to_vec();
    team.max_rounds = Some(4);
    team.consensus = Some(Consensus {
        threshold: 0.75,
        every_round: true,
    });
    let mut script = String::new();
    for (who, first) in [
        ("optimist", "agree"),
        ("skeptic", "disagree"),
        ("pragmatist", "disagree"),
        ("moderator", "agree"),
    ] {
        for (n, choice) in [(1, first), (2, "agree")] {
            script.push_str(&format!(
                "[[reply]]\ncharacter = \"{who}\"\ntext = \"{who} speaks, take {n}\"\n\n\
                 [[reply]]\ncharacter = \"{who}\"\non = \"cast_vote\"\ntext = \"\"\n\
                 tools = [{{ name = \"cast_vote\", arguments = {{ choice = \"{choice}\", reason = \"round {n}\" }} }}]\n\n"
            ));
        }
    }
    let events = run(
        spec(
            team,
            &["optimist", "skeptic", "pragmatist", "moderator"],
            &script,
        ),
        "Rewrite billing in Rust?",
    )
    .await;
    let tallies: Vec<(u32, bool)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Consensus { round, reached, .. } => Some((*round, *reached)),
            _ => None,
        })
        .collect();
    assert_eq!(tallies, [(1, false), (2, true)]);
    assert_eq!(count(&events, |k| matches!(k, EventKind::Vote { .. })), 8);
    assert_eq!(
        finished(&events),
        (Outcome::Consensus, Some("moderator speaks, take 2".into()))
    );
}

#[tokio::test]
async fn support_chain_falls_back_when_the_target_fails() {
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["triage", "billing", "tech"].map(String::from).to_vec();
    team.entry = Some("triage".into());
    team.handoffs
        .insert("triage".into(), vec!["billing".into()]);
    team.fallback.insert("billing".into(), vec!["tech".into()]);
    team.approval = Some(Approval::Window);
    team.approval_window_ms = Some(20);
    let script = r#"
[[reply]]
character = "triage"
text = "Let me get billing."
tools = [{ name = "transfer_to_billing", arguments = { reason = "refund" } }]

[[reply]]
character = "billing"
text = "Checking"
error = { kind = "overloaded", message = "billing is down" }

[[reply]]
character = "tech"
text = "I issued the refund."
"#;
    let events = run(
        spec(team, &["triage", "billing", "tech"], script),
        "refund please",
    )
    .await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.type_name()).collect();
    let order = [
        "handoff_requested",
        "handoff_accepted",
        "turn_failed",
        "handoff_fallback",
        "session_finished",
    ];
    let mut at = 0;
    for k in &kinds {
        if at < order.len() && *k == order[at] {
            at += 1;
        }
    }
    assert_eq!(at, order.len(), "events in order: {kinds:?}");
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::HandoffRequested {
            window_ms: Some(20),
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::HandoffFallback { failed, to, .. } if failed == "billing" && to == "tech")));
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::TurnFailed { error, .. } if error.kind == "overloaded")
    ));
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("I issued the refund.".into()))
    );
}

#[tokio::test]
async fn first_success_cancels_the_slower_turns() {
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = ["fast", "slow1", "slow2"].map(String::from).to_vec();
    team.strategy = Some(Strategy::FirstSuccess);
    let script = r#"
[[reply]]
character = "fast"
text = "quick answer"

[[reply]]
character = "slow1"
text = "late"
delay_ms = 60000

[[reply]]
character = "slow2"
text = "later"
delay_ms = 60000
"#;
    let events = run(spec(team, &["fast", "slow1", "slow2"], script), "q").await;
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("quick answer".into()))
    );
    for loser in ["slow1", "slow2"] {
        assert!(
            events.iter().any(
                |e| matches!(&e.kind, EventKind::TurnCancelled { agent, .. } if agent == loser)
            )
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Message { agent, .. } if agent == loser))
        );
    }
}

#[tokio::test]
async fn best_of_scores_the_candidates_and_the_best_wins() {
    let mut team = TeamConfig::new(PatternKind::BestOf);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.judge = Some("judge".into());
    let script = r#"
[[reply]]
character = "a"
text = "answer a"

[[reply]]
character = "b"
text = "answer b"

[[reply]]
character = "judge"
on = "submit_scores"
text = ""
tools = [{ name = "submit_scores", arguments = { scores = [ { agent = "a", score = 4, reason = "thin" }, { agent = "b", score = 9, reason = "clear" } ] } }]
"#;
    let events = run(spec(team, &["a", "b", "judge"], script), "q").await;
    let scores: Vec<(String, f64)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CandidateScored { agent, score, .. } => Some((agent.clone(), *score)),
            _ => None,
        })
        .collect();
    assert_eq!(scores, [("a".to_string(), 4.0), ("b".to_string(), 9.0)]);
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("answer b".into()))
    );
}

#[tokio::test]
async fn a_ping_pong_loop_is_stopped() {
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.handoffs.insert("a".into(), vec!["b".into()]);
    team.handoffs.insert("b".into(), vec!["a".into()]);
    let script = r#"
[[reply]]
character = "a"
text = "yours"
tools = [{ name = "transfer_to_b", arguments = { reason = "b knows" } }]

[[reply]]
character = "b"
text = "no, yours"
tools = [{ name = "transfer_to_a", arguments = { reason = "a knows" } }]
"#;
    let events = run(spec(team, &["a", "b"], script), "who?").await;
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("ping-pong"))
    ));
    assert_eq!(finished(&events).0, Outcome::Failed);
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::HandoffAccepted { .. })),
        2
    );
}

#[tokio::test]
async fn confirm_waits_for_the_person_and_stop_cancels_a_streaming_turn() {
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.handoffs.insert("a".into(), vec!["b".into()]);
    team.approval = Some(Approval::Confirm);
    let script = r#"
[[reply]]
character = "a"
text = "over to b"
tools = [{ name = "transfer_to_b", arguments = { reason = "r" } }]

[[reply]]
character = "b"
text = "this will never finish"
delay_ms = 60000
"#;
    let (handle, mut events) = start(spec(team, &["a", "b"], script));
    handle
        .send(Command::Send {
            text: "hi".into(),
            to: None,
        })
        .expect("running");
    let mut seen = Vec::new();
    while let Some(e) = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("events keep coming")
    {
        let requested = matches!(e.kind, EventKind::HandoffRequested { .. });
        seen.push(e);
        if requested {
            break;
        }
    }
    handle.send(Command::Pause {}).expect("running");
    handle.send(Command::ApproveHandoff {}).expect("running");
    while let Some(e) = events.recv().await {
        let started = matches!(&e.kind, EventKind::TurnStarted { agent, .. } if agent == "b");
        seen.push(e);
        if started {
            break;
        }
    }
    handle.send(Command::Stop {}).expect("running");
    until_finished(&mut events, &mut seen).await;
    check_invariants(&seen);
    // A handoff team pauses (issue 12); approving is the person's own decision and goes on.
    assert!(
        seen.iter()
            .any(|e| matches!(&e.kind, EventKind::Paused { .. }))
    );
    assert!(
        seen.iter()
            .any(|e| matches!(&e.kind, EventKind::TurnCancelled { agent, .. } if agent == "b"))
    );
    assert_eq!(finished(&seen), (Outcome::Cancelled, None));
}

#[tokio::test]
async fn many_sessions_run_side_by_side_and_a_resumed_session_continues_the_journal() {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["solo".into()];
    let script = "[[reply]]\ncharacter = \"solo\"\ntext = \"hello there\"\n";
    let runs = (0..8).map(|i| {
        let team = team.clone();
        tokio::spawn(async move { run(spec(team, &["solo"], script), &format!("hi {i}")).await })
    });
    let mut journals = Vec::new();
    for r in runs {
        let events = r.await.expect("task");
        assert_eq!(
            finished(&events),
            (Outcome::Completed, Some("hello there".into()))
        );
        journals.push(events);
    }
    let history = journals.remove(0);
    let id = history[0].session.clone();
    let mut resumed = spec(team, &["solo"], script);
    resumed.id = id.clone();
    resumed.history = history.clone();
    let events = run_more(resumed, "again").await;
    assert_eq!(events[0].seq, history.len() as u64);
    assert!(events.iter().all(|e| e.session == id));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::SessionStarted { .. }))
    );
    let mut all = history;
    all.extend(events);
    check_invariants(&all);
    let state = SessionState::replay(&all);
    assert_eq!(state.entries.len(), 4);
}

async fn run_more(spec: SessionSpec, prompt: &str) -> Vec<Event> {
    let (handle, mut events) = start(spec);
    handle
        .send(Command::Send {
            text: prompt.into(),
            to: None,
        })
        .expect("running");
    let mut seen = Vec::new();
    until_finished(&mut events, &mut seen).await;
    seen
}

#[tokio::test]
async fn a_spec_naming_an_unknown_agent_or_backend_is_refused() {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["ghost".into()];
    let err = Session::new(spec(team.clone(), &["solo"], ""))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("ghost"), "{err}");
    let mut s = spec(team, &["ghost"], "");
    s.providers.clear();
    let err = Session::new(s).err().expect("refused");
    assert!(err.to_string().contains("backend 'script'"), "{err}");
}

#[tokio::test]
async fn a_pipeline_passes_a_summary_across_a_summary_edge() {
    let mut team = TeamConfig::new(PatternKind::Sequential);
    team.members = ["pm", "dev"].map(String::from).to_vec();
    team.edges
        .insert("pm->dev".into(), conclave::config::ContextMode::Summary);
    let script = r#"
[[reply]]
character = "pm"
text = "Spec: a todo app with tags."

[[reply]]
character = "dev"
on = "summarize"
text = "The pm wants a todo app with tags."

[[reply]]
character = "dev"
text = "Built it."
"#;
    let events = run(spec(team, &["pm", "dev"], script), "make a todo app").await;
    let purposes: Vec<(String, conclave::core::event::Purpose)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnStarted { agent, purpose, .. } => Some((agent.clone(), *purpose)),
            _ => None,
        })
        .collect();
    use conclave::core::event::Purpose;
    assert_eq!(
        purposes,
        [
            ("pm".to_string(), Purpose::Speak),
            ("dev".to_string(), Purpose::Summarize),
            ("dev".to_string(), Purpose::Speak)
        ]
    );
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Built it.".into()))
    );
}

#[tokio::test]
async fn a_turn_past_its_deadline_fails_with_timeout() {
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = vec!["slow".into()];
    team.timeout_ms = Some(30);
    let script = "[[reply]]\ncharacter = \"slow\"\ntext = \"zzz\"\ndelay_ms = 60000\n";
    let events = run(spec(team, &["slow"], script), "q").await;
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::TurnFailed { error, will_retry: false, .. } if error.kind == "timeout")));
    assert_eq!(finished(&events).0, Outcome::Failed);
}

fn marker_spec(team: TeamConfig, agents: &[&str], script: &str) -> SessionSpec {
    let mut s = spec(team, agents, script);
    let provider: Arc<dyn Provider> = Arc::new(
        ScriptedProvider::from_toml("script", script, 0.0)
            .expect("script parses")
            .with_tools(false),
    );
    s.providers.insert("script".into(), provider);
    s
}

#[tokio::test]
async fn backends_without_tools_use_text_markers() {
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["triage", "billing"].map(String::from).to_vec();
    team.handoffs
        .insert("triage".into(), vec!["billing".into()]);
    let script = r#"
[[reply]]
character = "triage"
text = "Passing you on.\nHANDOFF: billing: refund"

[[reply]]
character = "billing"
text = "Refund done."
"#;
    let events = run(marker_spec(team, &["triage", "billing"], script), "refund").await;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::HandoffAccepted { .. }))
    );
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Refund done.".into()))
    );

    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.consensus = Some(Consensus {
        threshold: 1.0,
        every_round: true,
    });
    let script = r#"
[[reply]]
character = "*"
contains = "do you agree"
text = "VOTE: agree: fine by me"
"#;
    let events = run(marker_spec(team, &["a", "b"], script), "tabs or spaces?").await;
    let votes = count(&events, |k| {
        matches!(
            k,
            EventKind::Vote {
                choice: conclave::core::event::VoteChoice::Agree,
                ..
            }
        )
    });
    assert_eq!(votes, 2);
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::ToolResult { .. })),
        0
    );
    assert_eq!(finished(&events).0, Outcome::Consensus);
}

#[tokio::test]
async fn dropping_every_handle_ends_the_session_and_leaves_its_task_to_resume() {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["solo".into()];
    let script = "[[reply]]\ncharacter = \"solo\"\ntext = \"never\"\ndelay_ms = 60000\n";
    let (handle, mut events) = start(spec(team.clone(), &["solo"], script));
    let watcher = handle.clone();
    handle
        .send(Command::Send {
            text: "hi".into(),
            to: None,
        })
        .expect("running");
    let mut seen = Vec::new();
    while let Some(e) = events.recv().await {
        let started = matches!(e.kind, EventKind::TurnStarted { .. });
        seen.push(e);
        if started {
            break;
        }
    }
    drop(handle);
    drop(watcher);
    let drained = async {
        while let Some(e) = events.recv().await {
            seen.push(e);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), drained)
        .await
        .expect("the stream closes");
    check_invariants(&seen);
    assert!(!seen.iter().any(|e| matches!(
        e.kind,
        EventKind::TurnCancelled { .. } | EventKind::SessionFinished { .. }
    )));
    let state = SessionState::replay(&seen);
    assert!(state.task.active);
    assert_eq!(state.running_turns().len(), 1);

    // Resumed, the interrupted turn is closed and the agent answers again.
    let mut resumed = spec(team, &["solo"], script);
    resumed.id = seen[0].session.clone();
    resumed.history = seen.clone();
    let (handle, mut events) = start(resumed);
    let cancelled = events.recv().await.expect("an event");
    assert_eq!(cancelled.seq, seen.len() as u64);
    assert!(matches!(
        cancelled.kind,
        EventKind::TurnCancelled { turn: 0, .. }
    ));
    let again = events.recv().await.expect("an event");
    assert!(matches!(again.kind, EventKind::TurnStarted { turn: 1, .. }));
    drop(handle);
}

#[tokio::test]
async fn invalid_commands_are_answered_with_an_error_and_the_session_goes_on() {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["solo".into()];
    let script = "[[reply]]\ncharacter = \"solo\"\ntext = \"hello\"\n";
    let (handle, mut events) = start(spec(team, &["solo"], script));
    handle.send(Command::CallVote {}).expect("running");
    handle
        .send(Command::RedirectHandoff { to: "x".into() })
        .expect("running");
    handle
        .send(Command::Send {
            text: "hi".into(),
            to: None,
        })
        .expect("running");
    let mut seen = Vec::new();
    until_finished(&mut events, &mut seen).await;
    check_invariants(&seen);
    let errors: Vec<&serde_json::Value> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Error {
                command: Some(c), ..
            } => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["type"], "call_vote");
    assert_eq!(errors[1]["to"], "x");
    assert_eq!(finished(&seen), (Outcome::Completed, Some("hello".into())));
    handle.send(Command::Stop {}).expect("still running");
    while events.recv().await.is_some() {}
    assert!(handle.is_closed());
    assert!(handle.send(Command::Stop {}).is_err());
}
