//! The ledger over real HTTP (issues 12.5, 12.6, 12.7, 17.3, 17.5): every token a server reported
//! is in the metrics, cancelled and losing streams and failed attempts included; usage a server
//! never sent is estimated and marked; budgets stop calls before they start, in every pattern
//! and per agent; a failing backend hands the turn to the agent's fallback model, priced at its
//! own price; bare-name picks, bare votes and cut-off or control-character tool JSON count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use conclave::config::{
    AgentConfig, BackendConfig, Budget, Consensus, FallbackModel, Price, SpeakerSelection,
    Strategy, TeamConfig,
};
use conclave::core::event::{EventKind, Outcome, PatternKind, Purpose, UsageInfo, VoteChoice};
use conclave::core::metrics::Metrics;
use conclave::core::session::{Session, SessionSpec};
use conclave::core::{Command, Event};
use conclave::llm::build_provider;
use serde_json::{Value, json};
use support::events::{check_invariants, finished};
use support::llm_fake::{ByRequest, Wire};
use support::{FakeServer, Gate, Reply, Step, Turn};

struct Setup {
    team: TeamConfig,
    agents: BTreeMap<String, AgentConfig>,
    backends: Vec<(String, BackendConfig)>,
}

impl Setup {
    fn new(team: TeamConfig) -> Self {
        Setup {
            team,
            agents: BTreeMap::new(),
            backends: Vec::new(),
        }
    }

    fn backend(mut self, name: &str, server: &FakeServer, wire: Wire, extra: &str) -> Self {
        let extra = format!("api_key = \"sk-test\"\n{extra}");
        self.backends
            .push((name.to_string(), wire.backend(server, &extra)));
        self
    }

    fn agent(mut self, name: &str, backend: &str, model: &str) -> Self {
        self.agents.insert(
            name.to_string(),
            AgentConfig {
                backend: backend.into(),
                model: model.into(),
                system: Some(format!("You are {name}.")),
                ..Default::default()
            },
        );
        self
    }

    fn with(mut self, name: &str, change: impl FnOnce(&mut AgentConfig)) -> Self {
        change(self.agents.get_mut(name).unwrap());
        self
    }

    fn spec(self) -> SessionSpec {
        let providers = self
            .backends
            .iter()
            .map(|(name, cfg)| (name.clone(), build_provider(name, cfg).expect("provider")))
            .collect();
        SessionSpec {
            id: "ledger-run".into(),
            team_name: "t".into(),
            team: self.team,
            agents: self.agents,
            providers,
            history: Vec::new(),
            unattended: None,
            tools: None,
        }
    }
}

/// Run `prompt` until `session_finished`; `on_event` sees every event as it comes.
async fn run_with(setup: Setup, prompt: &str, mut on_event: impl FnMut(&Event)) -> Vec<Event> {
    let mut session = Session::new(setup.spec()).expect("valid spec");
    let mut events = session.subscribe();
    let handle = session.start();
    handle
        .send(Command::Send {
            text: prompt.into(),
            to: None,
        })
        .expect("running");
    let mut seen = Vec::new();
    let wait = async {
        while let Some(e) = events.recv().await {
            on_event(&e);
            let done = matches!(e.kind, EventKind::SessionFinished { .. });
            seen.push(e);
            if done {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the session finishes within 30 s");
    check_invariants(&seen);
    seen
}

async fn run(setup: Setup, prompt: &str) -> Vec<Event> {
    run_with(setup, prompt, |_| {}).await
}

fn ledger(events: &[Event]) -> Metrics {
    let mut m = Metrics::new(BTreeMap::new());
    for e in events {
        m.apply(e);
    }
    m
}

/// A reply that streams the start of `turn` (its first `keep` writes) and then stalls until the
/// client goes away.
fn stalled(turn: &Turn, keep: usize) -> Reply {
    let mut r = Wire::Anthropic.reply(turn);
    r.steps.truncate(keep);
    r.steps.push(Step::Stall);
    r
}

#[tokio::test]
async fn the_ledger_holds_every_token_the_server_reported_losers_and_failed_attempts_included() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = ["a", "b", "c"].map(String::from).to_vec();
    team.strategy = Some(Strategy::FirstSuccess);
    let setup = Setup::new(team)
        .backend("an", &server, Wire::Anthropic, "max_retries = 1\n")
        .agent("a", "an", "a-model")
        .agent("b", "an", "b-model")
        .agent("c", "an", "c-model")
        .with("a", |a| {
            a.price = Some(Price {
                input: 1.0,
                output: 2.0,
            })
        });
    // a wins, but only once b and c have streamed something; b and c then stall and lose.
    let gate = Gate::new();
    let mut winner = Wire::Anthropic.reply(&Turn::text(["Tabs", " win."]).usage(30, 12));
    winner.steps.insert(0, Step::Wait(gate.clone()));
    replies.add("a-model", None, winner);
    // message_start, ping, content_block_start and two text deltas, then nothing.
    replies.add(
        "b-model",
        None,
        stalled(&Turn::text(["Spaces ", "because"]).usage(40, 0), 5),
    );
    // c's first attempt is refused (500, retried); its second streams and stalls.
    replies.add(
        "c-model",
        None,
        Reply::json(
            500,
            json!({"type":"error","error":{"type":"api_error","message":"boom"}}),
        ),
    );
    replies.add(
        "c-model",
        None,
        stalled(&Turn::text(["Either ", "way"]).usage(50, 0), 5),
    );
    let mut streaming = std::collections::BTreeSet::new();
    let events = run_with(setup, "Tabs or spaces?", |e| {
        if let EventKind::Token { agent, .. } = &e.kind {
            streaming.insert(agent.clone());
            if streaming.contains("b") && streaming.contains("c") {
                gate.open();
            }
        }
    })
    .await;
    assert_eq!(finished(&events).0, Outcome::Completed);

    let requests = Wire::Anthropic.requests(&server);
    assert_eq!(requests.len(), 4, "a, b, c twice");
    let reported: u64 = requests
        .iter()
        .map(|r| r.reported.input.unwrap_or(0) + r.reported.output.unwrap_or(0))
        .sum();
    assert_eq!(reported, (30 + 12) + (40 + 1) + (50 + 1));
    let m = ledger(&events);
    let total = m.totals.input_tokens.unwrap() + m.totals.output_tokens.unwrap();
    assert_eq!(total, reported, "the metrics hold what the server reported");
    // Every request served is a call in the ledger.
    let calls: u64 = m
        .agents
        .values()
        .map(|a| a.messages + a.cancelled + a.errors + a.retries)
        .sum();
    assert_eq!(calls, requests.len() as u64);
    assert_eq!((m.agents["b"].cancelled, m.agents["c"].cancelled), (1, 1));
    assert_eq!(m.agents["c"].retries, 1);
    assert_eq!(
        m.agents["b"].by_purpose[&Purpose::Speak].input_tokens,
        Some(40)
    );
    assert_eq!(m.totals.cost, Some((30.0 + 24.0) / 1_000_000.0));
    // The events say it themselves (DESIGN section 3).
    let cancelled: Vec<(String, UsageInfo)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnCancelled { agent, usage, .. } => Some((agent.clone(), *usage)),
            _ => None,
        })
        .collect();
    assert!(cancelled.contains(&(
        "b".into(),
        UsageInfo {
            input: Some(40),
            output: Some(1),
            estimated: false
        }
    )));
    let line = serde_json::to_value(
        events
            .iter()
            .find(|e| matches!(e.kind, EventKind::TurnFailed { .. }))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        line["usage"],
        json!({"input": 0, "output": 0, "estimated": true})
    );
}

#[tokio::test]
async fn usage_a_server_never_sent_is_estimated_and_counted() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["a".into()];
    let setup = Setup::new(team)
        .backend("llama", &server, Wire::OpenAi, "")
        .agent("a", "llama", "small.gguf");
    // llama-cpp-python: no usage chunk at all.
    replies.add(
        "small.gguf",
        None,
        Wire::OpenAi.reply(&Turn::text(["Four ", "words ", "right ", "here."])),
    );
    let events = run(setup, "Say four words.").await;
    let sent = &Wire::OpenAi.requests(&server)[0];
    assert_eq!(sent.reported.output, None);
    // The request's characters / 4 (system prompt and messages as sent), the reply's words.
    let chars: usize = sent.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().chars().count())
        .sum();
    let usage = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Message { usage, .. } => Some(*usage),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        usage,
        UsageInfo {
            input: Some(chars.div_ceil(4) as u64),
            output: Some(4),
            estimated: true
        }
    );
    let m = ledger(&events);
    assert!(m.totals.estimated);
    assert_eq!(m.agents["a"].estimated, 1);
    assert_eq!(m.totals.output_tokens, Some(4));
}

#[tokio::test]
async fn a_team_budget_stops_the_next_call_before_it_starts_in_a_pipeline() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::Sequential);
    team.steps = ["pm", "dev"]
        .map(|a| conclave::config::Step {
            agent: a.into(),
            instructions: None,
        })
        .to_vec();
    team.budget = Some(Budget {
        tokens: Some(160),
        cost: None,
    });
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("pm", "oa", "pm-model")
        .agent("dev", "oa", "dev-model");
    replies.add(
        "pm-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["A long brief for the developer."]).usage(100, 50)),
    );
    let events = run(setup, "Build it.").await;
    // 10 tokens are left; dev's request alone is far more: never sent.
    assert_eq!(finished(&events).0, Outcome::Budget);
    assert_eq!(Wire::OpenAi.requests(&server).len(), 1);
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("raise teams.t.budget"))));
    let m = ledger(&events);
    assert_eq!(
        m.budget_left(&Budget {
            tokens: Some(160),
            cost: None
        }),
        (Some(10), None)
    );
}

#[tokio::test]
async fn a_group_chats_budget_stops_its_votes_before_any_is_sent() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["x", "y"].map(String::from).to_vec();
    team.max_rounds = Some(3);
    team.consensus = Some(Consensus {
        threshold: 0.5,
        every_round: true,
    });
    team.budget = Some(Budget {
        tokens: Some(1000),
        cost: None,
    });
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("x", "oa", "x-model")
        .agent("y", "oa", "y-model");
    replies.add(
        "x-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Tabs."]).usage(400, 100)),
    );
    replies.add(
        "y-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Spaces, then."]).usage(400, 95)),
    );
    let events = run(setup, "Tabs or spaces?").await;
    // 5 tokens are left: neither vote is sent, the task ends once, with outcome budget.
    assert_eq!(Wire::OpenAi.requests(&server).len(), 2);
    assert_eq!(
        finished(&events),
        (Outcome::Budget, Some("Spaces, then.".into()))
    );
    let ends = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::SessionFinished { .. }))
        .count();
    assert_eq!(ends, 1);
    assert!(!events.iter().any(|e| matches!(
        &e.kind,
        EventKind::TurnStarted {
            purpose: Purpose::Vote,
            ..
        }
    )));
}

#[tokio::test]
async fn an_agent_budget_fails_only_that_agents_call() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = ["a", "b"].map(String::from).to_vec();
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("a", "oa", "a-model")
        .agent("b", "oa", "b-model")
        .with("b", |b| {
            b.budget = Some(Budget {
                tokens: Some(2),
                cost: None,
            })
        });
    replies.add(
        "a-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Fine."]).usage(10, 2)),
    );
    let events = run(setup, "Answer, both.").await;
    let sent: Vec<String> = Wire::OpenAi
        .requests(&server)
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent, ["a-model"], "b's call was never sent");
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::TurnFailed { agent, error, .. } if agent == "b" && error.kind == "budget" && error.message.contains("agents.b.budget"))));
}

#[tokio::test]
async fn a_failing_backend_hands_the_turn_to_the_fallback_model_priced_at_its_own_price() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi, Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["a".into()];
    let setup = Setup::new(team)
        .backend("primary", &server, Wire::OpenAi, "max_retries = 0\n")
        .backend("backup", &server, Wire::Anthropic, "")
        .agent("a", "primary", "big-model")
        .with("a", |a| {
            a.price = Some(Price {
                input: 100.0,
                output: 100.0,
            });
            a.fallback = vec![FallbackModel {
                backend: "backup".into(),
                model: "small-model".into(),
                price: Some(Price {
                    input: 1.0,
                    output: 1.0,
                }),
            }];
        });
    replies.add(
        "big-model",
        None,
        Reply::json(503, json!({"error": {"message": "overloaded"}})),
    );
    replies.add(
        "small-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Served ", "anyway."]).usage(20, 5)),
    );
    let events = run(setup, "Hello?").await;
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Served anyway.".into()))
    );
    let fallback = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::BackendFallback { .. }))
        .expect("backend_fallback");
    let v = serde_json::to_value(fallback).unwrap();
    assert_eq!(
        v["from"],
        json!({"backend": "primary", "model": "big-model"})
    );
    assert_eq!(
        v["to"],
        json!({"backend": "backup", "model": "small-model"})
    );
    assert_eq!(v["error"]["kind"], "overloaded");
    let message = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Message { .. }))
        .unwrap();
    let v = serde_json::to_value(message).unwrap();
    assert_eq!(
        v["served_by"],
        json!({"backend": "backup", "model": "small-model"})
    );
    let m = ledger(&events);
    assert_eq!(m.agents["a"].fallbacks, 1);
    // 25 tokens at $1 per million, not $100.
    assert_eq!(m.totals.cost, Some(25.0 / 1_000_000.0));
    let sent = Wire::Anthropic.requests(&server);
    assert_eq!(sent[0].json()["model"], "small-model");
}

fn vote(id: &str, args: &str) -> Turn {
    Turn::default().tool(id, "cast_vote", args)
}

#[tokio::test]
async fn bare_picks_and_cut_off_or_raw_control_character_votes_count() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["x", "y"].map(String::from).to_vec();
    team.speaker_selection = Some(SpeakerSelection::Manager);
    team.manager = Some("m".into());
    team.max_rounds = Some(1);
    team.consensus = Some(Consensus {
        threshold: 1.0,
        every_round: true,
    });
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("m", "oa", "m-model")
        .agent("x", "oa", "x-model")
        .agent("y", "oa", "y-model")
        .with("x", |x| x.max_tokens = Some(16));
    // The manager answers with nothing but a name, twice: both count, no second ask.
    replies.add(
        "m-model",
        Some("select_speaker"),
        Wire::OpenAi.reply(&Turn::text(["**y**"])),
    );
    replies.add(
        "m-model",
        Some("select_speaker"),
        Wire::OpenAi.reply(&Turn::text(["x."])),
    );
    replies.add("y-model", None, Wire::OpenAi.reply(&Turn::text(["Tabs."])));
    replies.add(
        "x-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Tabs, then."])),
    );
    // x's vote is cut off by max_tokens inside the reason; y's reason holds a raw newline.
    replies.add(
        "x-model",
        Some("cast_vote"),
        Wire::OpenAi.reply(
            &vote(
                "call_x",
                r#"{"choice": "agree", "reason": "tabs are narrow and"#,
            )
            .finish("length"),
        ),
    );
    replies.add(
        "y-model",
        Some("cast_vote"),
        Wire::OpenAi.reply(&vote(
            "call_y",
            "{\"choice\": \"agree\", \"reason\": \"line one\nline two\"}",
        )),
    );
    let events = run(setup, "Tabs or spaces?").await;
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
    assert_eq!(finished(&events).0, Outcome::Consensus);
    let votes: BTreeMap<String, (VoteChoice, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Vote {
                agent,
                choice,
                reason,
                ..
            } => Some((agent.clone(), (*choice, reason.clone()))),
            _ => None,
        })
        .collect();
    assert_eq!(
        votes["x"],
        (VoteChoice::Agree, "tabs are narrow and… (truncated)".into())
    );
    assert_eq!(votes["y"], (VoteChoice::Agree, "line one\nline two".into()));
    assert!(
        !events.iter().any(
            |e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("invalid"))
        ),
        "nothing was asked twice"
    );
    let sent = Wire::OpenAi.requests(&server);
    assert_eq!(sent.len(), 6, "two picks, two speeches, two votes");
    let x_vote: Value = sent
        .iter()
        .map(|r| r.json())
        .find(|b| b["model"] == "x-model" && b["tool_choice"].is_object())
        .unwrap();
    // x's max_tokens (16) is raised to the structured answer's floor; a short reason is asked.
    assert_eq!(x_vote["max_tokens"], 256);
    assert!(
        x_vote["messages"]
            .to_string()
            .contains("one short sentence")
    );
}
