//! Real sessions over real HTTP: the session actor and its patterns driving the OpenAI,
//! Anthropic and Ollama providers against the fake server on loopback. Each test checks the
//! events the session publishes and the request bodies the server received: tools offered and
//! forced, tool calls answered once and in order, the system prompt where each wire wants it.
//! Every run also checks the invariants of the event stream (gap-free `seq`, every call answered
//! once in the events, the fold equal to its replay) and that no API key leaks into an event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use conclave::config::{AgentConfig, BackendConfig, Consensus, Strategy, TeamConfig};
use conclave::core::event::{EventKind, Outcome, PatternKind, VoteChoice};
use conclave::core::session::{Session, SessionSpec};
use conclave::core::state::SessionState;
use conclave::core::{Command, Event};
use conclave::llm::build_provider;
use serde_json::{Value, json};
use support::events::{count, finished};
use support::llm_fake::{ByRequest, Wire, forced_tool, offered_tools};
use support::{FakeServer, Gate, Recorded, Reply, Step, Turn, files_under};

/// Inline keys of the backends below; none may ever reach an event.
const KEYS: [&str; 3] = [
    "sk-oa-secret-1111",
    "sk-ant-secret-2222",
    "sk-ol-secret-3333",
];

fn key_line(wire: Wire) -> String {
    let key = match wire {
        Wire::OpenAi => KEYS[0],
        Wire::Anthropic => KEYS[1],
        Wire::Ollama => KEYS[2],
    };
    format!("api_key = \"{key}\"\n")
}

/// A team, its agents `(name, backend, model, system)` and backends `(name, config)`.
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
        let extra = format!("{}{extra}", key_line(wire));
        self.backends
            .push((name.to_string(), wire.backend(server, &extra)));
        self
    }

    fn agent(mut self, name: &str, backend: &str, model: &str, system: &str) -> Self {
        self.agents.insert(
            name.to_string(),
            AgentConfig {
                backend: backend.into(),
                model: model.into(),
                system: Some(system.into()).filter(|s: &String| !s.is_empty()),
                ..Default::default()
            },
        );
        self
    }

    fn spec(self) -> SessionSpec {
        let providers = self
            .backends
            .iter()
            .map(|(name, cfg)| (name.clone(), build_provider(name, cfg).expect("provider")))
            .collect();
        SessionSpec {
            id: "http-run".into(),
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

/// Run a session on `prompt` until `session_finished` (a generous timeout only guards against
/// hangs) and check the invariants of what it published.
async fn run(setup: Setup, prompt: &str) -> Vec<Event> {
    let seen = support::events::run_to_end(setup.spec(), prompt).await;
    check_invariants(&seen);
    seen
}

/// The shared invariants, and no API key in any event.
fn check_invariants(events: &[Event]) {
    support::events::check_invariants(events);
    for e in events {
        let line = serde_json::to_string(e).unwrap();
        for key in KEYS {
            assert!(!line.contains(key), "an API key leaked into {line}");
        }
    }
}

fn in_order(events: &[Event], order: &[&str]) -> bool {
    let mut at = 0;
    for e in events {
        if at < order.len() && e.kind.type_name() == order[at] {
            at += 1;
        }
    }
    at == order.len()
}

/// Whether `r` is a chat request (not a model list or a context-window probe).
fn is_chat(r: &Recorded) -> bool {
    [Wire::OpenAi, Wire::Anthropic, Wire::Ollama]
        .iter()
        .any(|w| r.path == w.path())
}

fn model_of(r: &Recorded) -> String {
    r.json()["model"].as_str().unwrap_or_default().to_string()
}

/// Every tool call in an OpenAI or Ollama request body is answered by the messages right after
/// it, once each and in order, and no answer comes without its call.
fn assert_calls_answered_in_order_openai(body: &Value) {
    let messages = body["messages"].as_array().expect("messages");
    let mut i = 0;
    while i < messages.len() {
        let m = &messages[i];
        assert_ne!(m["role"], "tool", "a tool answer without its call: {body}");
        i += 1;
        let Some(calls) = m["tool_calls"].as_array() else {
            continue;
        };
        for call in calls {
            let answer = messages
                .get(i)
                .unwrap_or_else(|| panic!("no answer: {body}"));
            assert_eq!(answer["role"], "tool", "{body}");
            if let Some(id) = call["id"].as_str() {
                assert_eq!(answer["tool_call_id"], id, "answers in call order: {body}");
            } else {
                assert_eq!(answer["tool_name"], call["function"]["name"], "{body}");
            }
            i += 1;
        }
    }
}

/// The Messages API's shape: roles alternate, starting and ending with `user`, and in a user
/// message every `tool_result` block comes before any text.
fn assert_anthropic_roles_alternate(body: &Value) {
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles.len(), messages.len(), "{body}");
    for (i, role) in roles.iter().enumerate() {
        let want = if i % 2 == 0 { "user" } else { "assistant" };
        assert_eq!(*role, want, "message {i}: {body}");
    }
    assert_eq!(roles.last(), Some(&"user"), "{body}");
    for m in messages.iter().filter(|m| m["role"] == "user") {
        let kinds: Vec<&str> = m["content"]
            .as_array()
            .expect("content blocks")
            .iter()
            .filter_map(|b| b["type"].as_str())
            .collect();
        let first_text = kinds.iter().position(|k| *k != "tool_result");
        let last_result = kinds.iter().rposition(|k| *k == "tool_result");
        if let (Some(t), Some(r)) = (first_text, last_result) {
            assert!(r < t, "tool results first: {body}");
        }
    }
}

/// The same for an Anthropic body: the `tool_use` blocks of an assistant message are answered by
/// the `tool_result` blocks of the next user message, in order.
fn assert_calls_answered_in_order_anthropic(body: &Value) {
    assert_anthropic_roles_alternate(body);
    let messages = body["messages"].as_array().expect("messages");
    let blocks = |m: &Value, kind: &str| -> Vec<Value> {
        m["content"]
            .as_array()
            .map(|b| b.iter().filter(|b| b["type"] == kind).cloned().collect())
            .unwrap_or_default()
    };
    for (i, m) in messages.iter().enumerate() {
        let uses = blocks(m, "tool_use");
        let ids: Vec<&Value> = uses.iter().map(|u| &u["id"]).collect();
        let results = messages.get(i + 1).map(|n| blocks(n, "tool_result"));
        let answered: Vec<Value> = results
            .unwrap_or_default()
            .iter()
            .map(|r| r["tool_use_id"].clone())
            .collect();
        assert_eq!(
            ids,
            answered.iter().collect::<Vec<_>>(),
            "message {i}: {body}"
        );
        if i == 0 {
            assert!(blocks(m, "tool_result").is_empty(), "{body}");
        }
    }
}

fn vote(id: &str, choice: &str, reason: &str) -> Turn {
    let args = json!({"choice": choice, "reason": reason}).to_string();
    Turn::default().tool(id, "cast_vote", &args).usage(30, 8)
}

#[tokio::test]
async fn four_agent_debate_over_openai_reaches_consensus_in_round_two() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let members = ["optimist", "skeptic", "pragmatist", "moderator"];
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = members.map(String::from).to_vec();
    team.max_rounds = Some(4);
    team.consensus = Some(Consensus {
        threshold: 0.75,
        every_round: true,
    });
    let mut setup = Setup::new(team).backend("oa", &server, Wire::OpenAi, "");
    let firsts = ["agree", "disagree", "disagree", "agree"];
    for (who, first) in members.iter().zip(firsts) {
        let model = format!("{who}-model");
        setup = setup.agent(who, "oa", &model, &format!("You are the {who}."));
        for (n, choice) in [(1, first), (2, "agree")] {
            let words = format!("{who} speaks, take {n}");
            replies.add(
                &model,
                None,
                Wire::OpenAi.reply(&Turn::text([words.as_str()]).usage(20, 5)),
            );
            let id = format!("call_{who}_{n}");
            let ballot = vote(&id, choice, &format!("round {n}"));
            replies.add(&model, Some("cast_vote"), Wire::OpenAi.reply(&ballot));
        }
    }
    let events = run(setup, "Rewrite billing in Rust?").await;

    let tallies: Vec<(u32, bool, u32, u32)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Consensus {
                round,
                reached,
                agree,
                disagree,
                ..
            } => Some((*round, *reached, *agree, *disagree)),
            _ => None,
        })
        .collect();
    assert_eq!(tallies, [(1, false, 2, 2), (2, true, 4, 0)]);
    let skeptic_votes: Vec<(u32, VoteChoice)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Vote {
                round,
                agent,
                choice,
                ..
            } if agent == "skeptic" => Some((*round, *choice)),
            _ => None,
        })
        .collect();
    assert_eq!(
        skeptic_votes,
        [(1, VoteChoice::Disagree), (2, VoteChoice::Agree)]
    );
    assert_eq!(
        finished(&events),
        (Outcome::Consensus, Some("moderator speaks, take 2".into()))
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    // Speeches in round-robin order, each round's four ballots after its speeches.
    let sent = Wire::OpenAi.requests(&server);
    assert_eq!(sent.len(), 16);
    for round in sent.chunks(8) {
        let speakers: Vec<String> = round[..4].iter().map(model_of).collect();
        assert_eq!(
            speakers,
            members.map(|m| format!("{m}-model")),
            "speeches in order"
        );
        let mut voters: Vec<String> = round[4..].iter().map(model_of).collect();
        voters.sort();
        let mut expected = members.map(|m| format!("{m}-model")).to_vec();
        expected.sort();
        assert_eq!(voters, expected, "one ballot each");
        for speech in &round[..4] {
            let body = speech.json();
            assert_eq!(forced_tool(&body), None, "{body}");
            assert!(offered_tools(&body).is_empty(), "{body}");
        }
        for ballot in &round[4..] {
            let body = ballot.json();
            assert_eq!(forced_tool(&body).as_deref(), Some("cast_vote"));
            assert_eq!(offered_tools(&body), ["cast_vote"]);
            let params = &body["tools"][0]["function"]["parameters"];
            assert_eq!(
                params["properties"]["choice"]["enum"],
                json!(["agree", "disagree", "abstain"])
            );
        }
    }
    for r in &sent {
        let body = r.json();
        let who = model_of(r).trim_end_matches("-model").to_string();
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": format!("You are the {who}.")}),
            "OpenAI takes the system prompt as the first message"
        );
        assert_eq!(body["stream"], true);
        assert_eq!(r.header("authorization"), Some("Bearer sk-oa-secret-1111"));
        assert_calls_answered_in_order_openai(&body);
    }
    // The last speaker of round 2 heard everyone before it, the person's question first.
    let last = sent[11].json().to_string();
    assert!(last.contains("Rewrite billing in Rust?"));
    for who in ["optimist", "skeptic", "pragmatist"] {
        assert!(last.contains(&format!("{who} speaks, take 2")), "{last}");
    }
}

/// The support team: triage on Anthropic hands over to `billing.eu` (its tool name sanitized to
/// `transfer_to_billing_eu`) on OpenAI, whose backend fails as `desk` answers; `tech` on
/// Anthropic is billing's fallback.
fn support_setup(server: &FakeServer, desk_extra: &str) -> (Setup, ByRequest) {
    let replies = ByRequest::install(server, &[Wire::Anthropic, Wire::OpenAi]);
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["triage", "billing.eu", "tech"].map(String::from).to_vec();
    team.entry = Some("triage".into());
    team.handoffs
        .insert("triage".into(), vec!["billing.eu".into()]);
    team.fallback
        .insert("billing.eu".into(), vec!["tech".into()]);
    let setup = Setup::new(team)
        .backend("front", server, Wire::Anthropic, "")
        .backend("desk", server, Wire::OpenAi, desk_extra)
        .agent("triage", "front", "triage-model", "You are triage.")
        .agent("billing.eu", "desk", "billing-model", "You are billing.")
        .agent("tech", "front", "tech-model", "You are tech support.");
    let triage = Turn::text(["Let me get ", "billing."])
        .tool(
            "toolu_01",
            "transfer_to_billing_eu",
            r#"{"reason":"refund"}"#,
        )
        .usage(40, 12);
    replies.add("triage-model", None, Wire::Anthropic.reply(&triage));
    replies.add(
        "tech-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["I issued ", "the refund."]).usage(50, 6)),
    );
    (setup, replies)
}

#[tokio::test]
async fn a_failing_handoff_target_falls_back_after_its_retries() {
    for retries in [0usize, 1] {
        let server = FakeServer::start().await;
        let (setup, replies) = support_setup(&server, &format!("max_retries = {retries}\n"));
        let boom = json!({"error": {"message": "The server had an error", "type": "server_error"}});
        for _ in 0..3 {
            let reply = Reply::json(500, boom.clone()).header("retry-after-ms", "5");
            replies.add("billing-model", None, reply);
        }
        let events = run(setup, "refund please").await;

        let mut order = vec!["handoff_requested", "handoff_accepted"];
        order.extend(std::iter::repeat_n("turn_failed", retries + 1));
        order.extend(["handoff_fallback", "message", "session_finished"]);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.type_name()).collect();
        assert!(in_order(&events, &order), "{kinds:?}");
        let failures: Vec<(String, String, bool)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::TurnFailed {
                    agent,
                    error,
                    will_retry,
                    ..
                } => Some((agent.clone(), error.kind.to_string(), *will_retry)),
                _ => None,
            })
            .collect();
        let mut expected =
            vec![("billing.eu".to_string(), "overloaded".to_string(), true); retries];
        expected.push(("billing.eu".into(), "overloaded".into(), false));
        assert_eq!(failures, expected, "max_retries = {retries}");
        assert!(events.iter().any(|e| matches!(&e.kind, EventKind::HandoffFallback { failed, to, .. } if failed == "billing.eu" && to == "tech")));
        assert_eq!(
            finished(&events),
            (Outcome::Completed, Some("I issued the refund.".into()))
        );
        assert_eq!(
            Wire::OpenAi.requests(&server).len(),
            retries + 1,
            "max_retries = {retries}, then give up"
        );
        assert_eq!(replies.unused().len(), 2 - retries);
        check_support_requests(&server);
    }
}

#[tokio::test]
async fn a_completed_handoff_returns_to_triage_with_its_call_answered() {
    let server = FakeServer::start().await;
    let (setup, replies) = support_setup(&server, "");
    let done = Turn::text(["Refunded."]).tool(
        "call_b1",
        "complete_handoff",
        r#"{"summary":"refunded 40 euros"}"#,
    );
    replies.add("billing-model", None, Wire::OpenAi.reply(&done));
    replies.add(
        "triage-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Anything else?"])),
    );
    let events = run(setup, "refund please").await;

    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::HandoffCompleted { summary, .. } if summary == "refunded 40 euros")));
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Anything else?".into()))
    );
    let front = Wire::Anthropic.requests(&server);
    assert_eq!(
        front.iter().map(model_of).collect::<Vec<_>>(),
        ["triage-model", "triage-model"],
        "tech is not needed"
    );
    // Triage's second request answers its transfer right after the reply that made it.
    let again = front[1].json();
    assert_calls_answered_in_order_anthropic(&again);
    let messages = again["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{again}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_01", "name": "transfer_to_billing_eu",
            "input": {"reason": "refund"}})
    );
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "toolu_01");
    let rest = messages[2].to_string();
    assert!(rest.contains("refunded 40 euros"), "{rest}");
    let billing = Wire::OpenAi.requests(&server);
    assert_eq!(billing.len(), 1);
    assert_eq!(
        offered_tools(&billing[0].json()),
        ["complete_handoff"],
        "billing has no targets of its own but may hand control back"
    );
}

#[tokio::test]
async fn a_rejected_key_is_not_retried_and_never_shown() {
    let server = FakeServer::start().await;
    let (setup, replies) = support_setup(&server, "");
    // Real servers echo part of the key; this one echoes all of it.
    let denied = json!({"error": {"message": "Incorrect API key provided: sk-oa-secret-1111.",
        "type": "invalid_request_error", "code": "invalid_api_key"}});
    replies.add("billing-model", None, Reply::json(401, denied));
    let events = run(setup, "refund please").await;

    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::TurnFailed { agent, error, will_retry: false, .. } if agent == "billing.eu" && error.kind == "auth" && error.message.contains("[redacted]"))));
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::HandoffFallback { to, .. } if to == "tech"))
    );
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("I issued the refund.".into()))
    );
    assert_eq!(
        Wire::OpenAi.requests(&server).len(),
        1,
        "auth is not retried"
    );
    check_support_requests(&server);
    insta::assert_snapshot!("support_chain_auth_fallback", jsonl(&events, &server));
}

/// What triage, billing and tech were sent.
fn check_support_requests(server: &FakeServer) {
    let front = Wire::Anthropic.requests(server);
    assert_eq!(
        front.iter().map(model_of).collect::<Vec<_>>(),
        ["triage-model", "tech-model"]
    );
    let triage = front[0].json();
    assert_eq!(
        triage["system"], "You are triage.",
        "Anthropic takes the system prompt as a top-level field"
    );
    assert!(
        triage["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["role"] != "system")
    );
    assert_eq!(offered_tools(&triage), ["transfer_to_billing_eu"]);
    assert_eq!(
        triage["tools"][0]["input_schema"]["required"],
        json!(["reason"])
    );
    assert_eq!(triage["tool_choice"], json!({"type": "auto"}));
    assert_eq!(front[0].header("x-api-key"), Some("sk-ant-secret-2222"));
    assert_eq!(front[1].json()["system"], "You are tech support.");
    for r in &front {
        assert_calls_answered_in_order_anthropic(&r.json());
    }
    for r in Wire::OpenAi.requests(server) {
        let body = r.json();
        assert_eq!(model_of(&r), "billing-model");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "You are billing."})
        );
        assert!(body.to_string().contains("refund please"), "{body}");
        assert_calls_answered_in_order_openai(&body);
    }
}

/// The events as JSONL, fields in their written order, with what changes from run to run
/// masked: `ts`, `session`, `ttft_ms`, `latency_ms` and the server's port.
fn jsonl(events: &[Event], server: &FakeServer) -> String {
    let masks = [
        (r#""ts":"[^"]*""#, r#""ts":"<ts>""#),
        (r#""session":"[^"]*""#, r#""session":"<session>""#),
        (r#""ttft_ms":\d+"#, r#""ttft_ms":"<ms>""#),
        (r#""latency_ms":\d+"#, r#""latency_ms":"<ms>""#),
    ]
    .map(|(pattern, with)| (regex::Regex::new(pattern).unwrap(), with));
    let mut out = String::new();
    for e in events {
        let mut line = serde_json::to_string(e).unwrap();
        for (pattern, with) in &masks {
            line = pattern.replace_all(&line, *with).into_owned();
        }
        out.push_str(&line.replace(&server.url(), "http://<fake>"));
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn first_success_keeps_the_fast_answer_and_closes_the_slow_streams() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi, Wire::Anthropic, Wire::Ollama]);
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = ["fast", "slow1", "slow2"].map(String::from).to_vec();
    team.strategy = Some(Strategy::FirstSuccess);
    // One wire each: every provider must close its connection when its turn is cancelled.
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .backend("an", &server, Wire::Anthropic, "")
        .backend("ol", &server, Wire::Ollama, "")
        .agent("fast", "oa", "fast-model", "")
        .agent("slow1", "an", "slow1-model", "")
        .agent("slow2", "ol", "slow2-model", "");
    // The fast answer waits until both slow requests are in, so there are streams to close.
    let both_slow_in = Gate::new();
    replies.open_when(&both_slow_in, &["slow1-model", "slow2-model"]);
    let mut fast = Wire::OpenAi.reply(&Turn::text(["quick ", "answer"]));
    fast.steps.insert(0, Step::Wait(both_slow_in.clone()));
    replies.add("fast-model", None, fast);
    let thinking = Turn::text(["Thinking", " slowly"]);
    let slow1 = support::wire::anthropic_events(&thinking);
    replies.add(
        "slow1-model",
        None,
        Reply::sse(&slow1[..4]).then(Step::Stall),
    );
    let slow2 = support::wire::ollama_lines(&thinking);
    replies.add(
        "slow2-model",
        None,
        Reply::ndjson(&slow2[..1]).then(Step::Stall),
    );
    let events = run(setup, "What is 2 + 2?").await;

    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("quick answer".into()))
    );
    let sent = server.requests();
    for loser in ["slow1", "slow2"] {
        let cancelled: Vec<&str> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::TurnCancelled {
                    agent,
                    partial_text,
                    ..
                } if agent == loser => Some(partial_text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(cancelled.len(), 1, "{loser} cancelled once");
        assert!("Thinking".starts_with(cancelled[0]), "{cancelled:?}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Message { agent, .. } if agent == loser))
        );
        // Among every request (the context-window probes too), the loser's chat request.
        let index = sent
            .iter()
            .position(|r| is_chat(r) && model_of(r) == format!("{loser}-model"))
            .expect("the slow request arrived");
        let closed = server
            .wait_client_closed(index, Duration::from_secs(10))
            .await;
        assert!(closed.is_some(), "{loser}'s connection was closed");
    }
    let fast_index = sent
        .iter()
        .position(|r| is_chat(r) && model_of(r) == "fast-model")
        .unwrap();
    assert_eq!(server.requests()[fast_index].client_closed_at, None);
}

#[tokio::test]
async fn best_of_on_ollama_scores_with_the_judges_tool_and_the_best_wins() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Ollama]);
    let mut team = TeamConfig::new(PatternKind::BestOf);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.judge = Some("judge".into());
    let setup = Setup::new(team)
        .backend("local", &server, Wire::Ollama, "num_ctx = 8192\n")
        .agent("a", "local", "a-model", "You answer briefly.")
        .agent("b", "local", "b-model", "You answer in depth.")
        .agent("judge", "local", "judge-model", "You judge fairly.");
    replies.add(
        "a-model",
        None,
        Wire::Ollama.reply(&Turn::text(["answer ", "a"]).usage(9, 2)),
    );
    replies.add(
        "b-model",
        None,
        Wire::Ollama.reply(&Turn::text(["answer ", "b"]).usage(9, 2)),
    );
    let scores = json!({"scores": [
        {"agent": "a", "score": 4, "reason": "thin"},
        {"agent": "b", "score": 9, "reason": "clear"}
    ]});
    let verdict = Turn::default().tool("", "submit_scores", &scores.to_string());
    replies.add("judge-model", None, Wire::Ollama.reply(&verdict));
    let events = run(setup, "Why is the sky blue?").await;

    let scored: Vec<(String, f64, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => Some((agent.clone(), *score, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        scored,
        [
            ("a".to_string(), 4.0, "thin".to_string()),
            ("b".to_string(), 9.0, "clear".to_string())
        ]
    );
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("answer b".into()))
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    let sent = Wire::Ollama.requests(&server);
    assert_eq!(sent.len(), 3);
    let judge = sent
        .iter()
        .find(|r| model_of(r) == "judge-model")
        .expect("the judge was asked")
        .json();
    assert_eq!(
        judge["messages"][0],
        json!({"role": "system", "content": "You judge fairly."}),
        "Ollama takes the system prompt as the first message"
    );
    assert_eq!(
        offered_tools(&judge),
        ["submit_scores"],
        "only the forced tool"
    );
    assert!(judge.get("tool_choice").is_none(), "{judge}");
    assert_eq!(judge["options"]["num_ctx"], 8192);
    let asked = judge.to_string();
    assert!(
        asked.contains("answer a") && asked.contains("answer b"),
        "{asked}"
    );
    for r in &sent {
        assert_calls_answered_in_order_openai(&r.json());
    }
}

#[tokio::test]
async fn a_ping_pong_between_openai_and_anthropic_is_stopped() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi, Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.handoffs.insert("a".into(), vec!["b".into()]);
    team.handoffs.insert("b".into(), vec!["a".into()]);
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .backend("an", &server, Wire::Anthropic, "")
        .agent("a", "oa", "a-model", "You are A.")
        .agent("b", "an", "b-model", "You are B.");
    // A asks twice in one reply: the first call wins, the second is answered with an error.
    let a1 = Turn::text(["yours"])
        .tool("call_a1", "transfer_to_b", r#"{"reason":"b knows"}"#)
        .tool("call_a2", "transfer_to_b", r#"{"reason":"really"}"#);
    let b1 = Turn::text(["no, yours"]).tool("toolu_b1", "transfer_to_a", r#"{"reason":"a knows"}"#);
    let a2 = Turn::text(["b again"]).tool("call_a3", "transfer_to_b", r#"{"reason":"b"}"#);
    replies.add("a-model", None, Wire::OpenAi.reply(&a1));
    replies.add("b-model", None, Wire::Anthropic.reply(&b1));
    replies.add("a-model", None, Wire::OpenAi.reply(&a2));
    let events = run(setup, "who?").await;

    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("ping-pong"))
    ));
    assert_eq!(finished(&events).0, Outcome::Failed);
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::HandoffAccepted { .. })),
        2
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    let oa = Wire::OpenAi.requests(&server);
    let an = Wire::Anthropic.requests(&server);
    assert_eq!(oa.len(), 2);
    assert_eq!(offered_tools(&oa[0].json()), ["transfer_to_b"]);
    // Holding control B handed over, A may also hand it back.
    assert_eq!(
        offered_tools(&oa[1].json()),
        ["transfer_to_b", "complete_handoff"]
    );
    for r in &oa {
        let body = r.json();
        assert_eq!(body["tool_choice"], "auto");
        assert_calls_answered_in_order_openai(&body);
    }
    // A's second request carries its own two calls, each answered once, in order, the second
    // as an error, right after the assistant message that made them.
    let second = oa[1].json();
    let messages = second["messages"].as_array().unwrap();
    let at = messages
        .iter()
        .position(|m| m["role"] == "assistant")
        .expect("A's earlier reply");
    let ids: Vec<&Value> = messages[at]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, [&json!("call_a1"), &json!("call_a2")]);
    assert_eq!(
        messages[at + 1],
        json!({"role": "tool", "tool_call_id": "call_a1", "content": "control transferred to b"})
    );
    assert_eq!(messages[at + 2]["tool_call_id"], "call_a2");
    let refused = messages[at + 2]["content"].as_str().unwrap();
    assert!(refused.contains("only one handoff"), "{refused}");
    assert_eq!(
        messages[at + 3],
        json!({"role": "user", "content": "[b]: no, yours"}),
        "then what B said"
    );
    let tool_answers = messages.iter().filter(|m| m["role"] == "tool").count();
    assert_eq!(tool_answers, 2, "{second}");

    assert_eq!(an.len(), 1);
    let b = an[0].json();
    assert_eq!(b["system"], "You are B.");
    assert_eq!(offered_tools(&b), ["transfer_to_a", "complete_handoff"]);
    assert_eq!(b["messages"][0]["role"], "user", "{b}");
    assert_calls_answered_in_order_anthropic(&b);
    assert!(b.to_string().contains("who?"), "{b}");
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_ms_is_retried_then_answered() {
    let server = FakeServer::start().await;
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["solo".into()];
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("solo", "oa", "solo-model", "");
    let limited = json!({"error": {"message": "Rate limit reached for requests",
        "type": "requests", "code": "rate_limit_exceeded"}});
    server.push(
        Wire::OpenAi.path(),
        Reply::json(429, limited).header("retry-after-ms", "20"),
    );
    server.push(
        Wire::OpenAi.path(),
        Wire::OpenAi.reply(&Turn::text(["Hello ", "again"]).usage(5, 2)),
    );
    let events = run(setup, "hi").await;

    let kinds: Vec<&str> = events.iter().map(|e| e.kind.type_name()).collect();
    assert!(
        in_order(
            &events,
            &["turn_started", "turn_failed", "token", "message"]
        ),
        "{kinds:?}"
    );
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::TurnFailed { error, will_retry: true, .. } if error.kind == "rate_limit")));
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::TurnFailed { .. })),
        1
    );
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::TurnStarted { .. })),
        1,
        "a retry is the same turn"
    );
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Message { text, usage, .. } if text == "Hello again" && usage.output == Some(2))));
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Hello again".into()))
    );
    let sent = Wire::OpenAi.requests(&server);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].body, sent[1].body,
        "the retry sends the same request"
    );
}

#[tokio::test]
async fn overloaded_after_tokens_were_shown_is_not_retried_and_keeps_the_partial_text() {
    let server = FakeServer::start().await;
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec!["solo".into()];
    let setup = Setup::new(team)
        .backend("an", &server, Wire::Anthropic, "max_retries = 3\n")
        .agent("solo", "an", "solo-model", "");
    let mut stream = support::wire::anthropic_events(&Turn::text(["Partial ", "answer"]));
    stream.truncate(5); // message_start, ping, block start, two deltas
    stream.push(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
            .into(),
    );
    server.push(Wire::Anthropic.path(), Reply::sse(stream));
    let events = run(setup, "hi").await;

    let tokens: String = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Token { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, "Partial answer");
    let failed: Vec<(String, bool)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnFailed {
                error, will_retry, ..
            } => Some((error.kind.to_string(), *will_retry)),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [("overloaded".to_string(), false)]);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Message { .. }))
    );
    let state = SessionState::replay(&events);
    let turn = state.turns.values().next().expect("one turn");
    assert_eq!(turn.text, "Partial answer", "the partial text is kept");
    assert_eq!(finished(&events).0, Outcome::Failed);
    assert_eq!(Wire::Anthropic.requests(&server).len(), 1, "no retry");
}

/// Read events until one matches `done` (a generous timeout only guards against hangs).
async fn until(
    events: &mut conclave::core::session::EventStream,
    seen: &mut Vec<Event>,
    done: impl Fn(&EventKind) -> bool,
) {
    let wait = async {
        while let Some(e) = events.recv().await {
            let hit = done(&e.kind);
            seen.push(e);
            if hit {
                return;
            }
        }
        panic!("the session ended first");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the event came within 20 s");
}

#[tokio::test]
async fn a_speaker_picked_twice_in_a_row_is_never_sent_its_own_words_last() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["x", "y"].map(String::from).to_vec();
    team.speaker_selection = Some(conclave::config::SpeakerSelection::Human);
    let setup = Setup::new(team)
        .backend("an", &server, Wire::Anthropic, "")
        .agent("x", "an", "x-model", "You are X.")
        .agent("y", "an", "y-model", "You are Y.");
    replies.add(
        "x-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["First point."])),
    );
    replies.add(
        "x-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Second point."])),
    );
    let mut session = Session::new(setup.spec()).expect("valid spec");
    let mut events = session.subscribe();
    let handle = session.start();
    handle
        .send(Command::Send {
            text: "Discuss.".into(),
            to: None,
        })
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        handle
            .send(Command::PickSpeaker { agent: "x".into() })
            .unwrap();
        until(
            &mut events,
            &mut seen,
            |k| matches!(k, EventKind::Message { agent, .. } if agent == "x"),
        )
        .await;
    }
    handle.send(Command::Stop {}).unwrap();
    until(&mut events, &mut seen, |k| {
        matches!(k, EventKind::SessionFinished { .. })
    })
    .await;
    check_invariants(&seen);

    let sent = Wire::Anthropic.requests(&server);
    assert_eq!(sent.len(), 2);
    let again = sent[1].json();
    assert_anthropic_roles_alternate(&again);
    let messages = again["messages"].as_array().unwrap();
    assert_eq!(messages[1]["role"], "assistant", "{again}");
    assert_eq!(messages[1]["content"][0]["text"], "First point.");
    assert_eq!(
        messages.last().unwrap()["role"],
        "user",
        "a last assistant message would be a prefill the model continues: {again}"
    );
}

#[tokio::test]
async fn anthropic_ballots_are_forced_and_a_malformed_one_is_asked_for_again() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["x", "y"].map(String::from).to_vec();
    team.max_rounds = Some(1);
    team.consensus = Some(Consensus {
        threshold: 1.0,
        every_round: true,
    });
    let setup = Setup::new(team)
        .backend("an", &server, Wire::Anthropic, "")
        .agent("x", "an", "x-model", "You are X.")
        .agent("y", "an", "y-model", "You are Y.");
    replies.add(
        "x-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Tabs."])),
    );
    replies.add(
        "y-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Tabs, then."])),
    );
    // Cut off mid-arguments, as by max_tokens.
    let cut = Turn::default()
        .tool("toolu_x1", "cast_vote", r#"{"choice": "agr"#)
        .finish("max_tokens");
    let ballot = |id: &str| vote(id, "agree", "settled");
    replies.add("x-model", Some("cast_vote"), Wire::Anthropic.reply(&cut));
    replies.add(
        "x-model",
        Some("cast_vote"),
        Wire::Anthropic.reply(&ballot("toolu_x2")),
    );
    replies.add(
        "y-model",
        Some("cast_vote"),
        Wire::Anthropic.reply(&ballot("toolu_y1")),
    );
    let events = run(setup, "Tabs or spaces?").await;

    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("x cast an invalid vote"))));
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::ToolResult { call_id, is_error: true, .. } if call_id == "toolu_x1")));
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Consensus {
            reached: true,
            agree: 2,
            ..
        }
    )));
    assert_eq!(
        finished(&events),
        (Outcome::Consensus, Some("Tabs, then.".into()))
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    let sent = Wire::Anthropic.requests(&server);
    assert_eq!(sent.len(), 5);
    let ballots: Vec<Value> = sent
        .iter()
        .map(Recorded::json)
        .filter(|b| forced_tool(b).is_some())
        .collect();
    assert_eq!(ballots.len(), 3);
    for b in &ballots {
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "cast_vote"})
        );
        assert_eq!(offered_tools(b), ["cast_vote"]);
        assert_calls_answered_in_order_anthropic(b);
    }
    let again = ballots
        .iter()
        .filter(|b| b["model"] == "x-model")
        .nth(1)
        .expect("x was asked again");
    let asked = again["messages"].to_string();
    assert!(asked.contains("Your vote was invalid"), "{asked}");
    for r in &sent {
        assert_anthropic_roles_alternate(&r.json());
    }
}

#[tokio::test]
async fn an_ollama_handoff_answers_calls_without_ids_by_name_and_in_order() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Ollama]);
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["a", "b"].map(String::from).to_vec();
    team.handoffs.insert("a".into(), vec!["b".into()]);
    let setup = Setup::new(team)
        .backend("ol", &server, Wire::Ollama, "")
        .agent("a", "ol", "a-model", "You are A.")
        .agent("b", "ol", "b-model", "You are B.");
    // Ollama sends no call ids; two calls in one reply.
    let a1 = Turn::text(["Over to B."])
        .tool("", "transfer_to_b", r#"{"reason":"b knows"}"#)
        .tool("", "transfer_to_b", r#"{"reason":"twice"}"#);
    let b1 = Turn::default().tool("", "complete_handoff", r#"{"summary":"sorted"}"#);
    replies.add("a-model", None, Wire::Ollama.reply(&a1));
    replies.add("b-model", None, Wire::Ollama.reply(&b1));
    replies.add(
        "a-model",
        None,
        Wire::Ollama.reply(&Turn::text(["Thanks, B."])),
    );
    let events = run(setup, "help").await;

    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("Thanks, B.".into()))
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
    let ids: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                agent, tool_calls, ..
            } if agent == "a" => Some(tool_calls.iter().map(|c| c.id.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "generated ids are distinct");

    let sent = Wire::Ollama.requests(&server);
    assert_eq!(
        sent.iter().map(model_of).collect::<Vec<_>>(),
        ["a-model", "b-model", "a-model"]
    );
    let again = sent[2].json();
    assert_calls_answered_in_order_openai(&again);
    let messages = again["messages"].as_array().unwrap();
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "You are A."})
    );
    let at = messages
        .iter()
        .position(|m| m["role"] == "assistant")
        .expect("A's earlier reply");
    let calls = messages[at]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["function"]["arguments"],
        json!({"reason": "b knows"}),
        "Ollama takes arguments as an object"
    );
    assert_eq!(messages[at + 1]["role"], "tool");
    assert_eq!(messages[at + 1]["tool_name"], "transfer_to_b");
    assert_eq!(messages[at + 2]["role"], "tool");
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    assert!(last.to_string().contains("sorted"), "{again}");
}

#[tokio::test]
async fn a_turn_past_its_deadline_fails_and_its_connection_is_closed() {
    let server = FakeServer::start().await;
    let mut team = TeamConfig::new(PatternKind::Concurrent);
    team.members = vec!["slow".into()];
    team.timeout_ms = Some(150);
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .agent("slow", "oa", "slow-model", "");
    let events = support::wire::openai_events(&Turn::text(["zz", "z"]));
    server.push(
        Wire::OpenAi.path(),
        Reply::sse(&events[..2]).then(Step::Stall),
    );
    let events = run(setup, "q").await;

    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::TurnFailed { error, will_retry: false, .. } if error.kind == "timeout" && error.message.contains("150 ms"))));
    assert_eq!(finished(&events).0, Outcome::Failed);
    let chat = server
        .requests()
        .iter()
        .position(|r| r.path == Wire::OpenAi.path())
        .expect("the chat request");
    let closed = server
        .wait_client_closed(chat, Duration::from_secs(10))
        .await;
    assert!(closed.is_some(), "the deadline closes the connection");
    let state = SessionState::replay(&events);
    assert_eq!(
        state.turns.values().next().map(|t| t.text.as_str()),
        Some("zz")
    );
}

#[tokio::test]
async fn conclave_run_drives_the_support_chain_over_http_and_keys_stay_secret() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::Anthropic, Wire::OpenAi]);
    let triage = Turn::text(["Let me get billing."]).tool(
        "toolu_01",
        "transfer_to_billing",
        r#"{"reason":"refund"}"#,
    );
    replies.add("triage-model", None, Wire::Anthropic.reply(&triage));
    let denied = json!({"error": {"message": "Incorrect API key provided: sk-oa-secret-1111.",
        "type": "invalid_request_error", "code": "invalid_api_key"}});
    replies.add("billing-model", None, Reply::json(401, denied));
    replies.add(
        "tech-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["I issued the refund."])),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let url = server.url();
    std::fs::write(
        &config,
        format!(
            r#"
[backends.front]
kind = "anthropic"
base_url = "{url}"
api_key_env = "CONCLAVE_TEST_FRONT_KEY"

[backends.desk]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "CONCLAVE_TEST_DESK_KEY"

[agents.triage]
backend = "front"
model = "triage-model"
system = "You are triage."

[agents.billing]
backend = "desk"
model = "billing-model"

[agents.tech]
backend = "front"
model = "tech-model"

[teams.support]
pattern = "handoff"
members = ["triage", "billing", "tech"]
entry = "triage"
handoffs = {{ triage = ["billing"] }}
fallback = {{ billing = ["tech"] }}
"#
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["run", "--config"])
        .arg(&config)
        .args([
            "--team",
            "support",
            "--prompt",
            "refund please",
            "--events",
            "jsonl",
        ])
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", &data)
        .env("CONCLAVE_LOG", "trace")
        .env("CONCLAVE_TEST_FRONT_KEY", KEYS[1])
        .env("CONCLAVE_TEST_DESK_KEY", KEYS[0])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("conclave run ends within 20 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let events: Vec<Event> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    check_invariants(&events);
    assert!(in_order(
        &events,
        &[
            "handoff_accepted",
            "turn_failed",
            "handoff_fallback",
            "message",
            "session_finished"
        ]
    ));
    assert_eq!(
        finished(&events),
        (Outcome::Completed, Some("I issued the refund.".into()))
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
    let desk = Wire::OpenAi.requests(&server);
    assert_eq!(
        desk[0].header("authorization"),
        Some("Bearer sk-oa-secret-1111")
    );

    // The debug log, and the journal once `run` writes one: no key in any of them.
    let written = files_under(&data);
    assert!(
        written.iter().any(|(_, text)| !text.is_empty()),
        "the run logs under CONCLAVE_DATA_DIR"
    );
    for key in KEYS {
        assert!(!stdout.contains(key) && !stderr.contains(key));
        for (path, text) in &written {
            assert!(!text.contains(key), "{key} leaked into {}", path.display());
        }
    }
}

#[tokio::test]
async fn a_manager_picks_speakers_with_the_forced_tool_and_an_invalid_pick_is_asked_again() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi, Wire::Anthropic]);
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = ["x", "y"].map(String::from).to_vec();
    team.speaker_selection = Some(conclave::config::SpeakerSelection::Manager);
    team.manager = Some("m".into());
    team.max_rounds = Some(1);
    let setup = Setup::new(team)
        .backend("oa", &server, Wire::OpenAi, "")
        .backend("an", &server, Wire::Anthropic, "")
        .agent("m", "oa", "m-model", "You chair the discussion.")
        .agent("x", "oa", "x-model", "You are X.")
        .agent("y", "an", "y-model", "You are Y.");
    // A round is as many speeches as members, whoever gives them.
    for (n, pick) in ["ghost", "y", "y"].iter().enumerate() {
        let args = json!({"agent": pick, "reason": format!("pick {n}")}).to_string();
        let turn = Turn::default().tool(&format!("call_m{n}"), "select_speaker", &args);
        replies.add("m-model", Some("select_speaker"), Wire::OpenAi.reply(&turn));
    }
    replies.add(
        "y-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Y opens."])),
    );
    replies.add(
        "y-model",
        None,
        Wire::Anthropic.reply(&Turn::text(["Y adds more."])),
    );
    let events = run(setup, "Plan the offsite.").await;

    let picks: Vec<(String, conclave::core::event::SelectedBy)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SpeakerSelected { agent, by, .. } => Some((agent.clone(), *by)),
            _ => None,
        })
        .collect();
    use conclave::core::event::SelectedBy::Manager;
    assert_eq!(picks, [("y".into(), Manager), ("y".into(), Manager)]);
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Error { message, .. } if message.contains("m made an invalid pick"))));
    assert_eq!(finished(&events).0, Outcome::MaxRounds);
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    let asks: Vec<Value> = Wire::OpenAi
        .requests(&server)
        .iter()
        .filter(|r| model_of(r) == "m-model")
        .map(Recorded::json)
        .collect();
    assert_eq!(asks.len(), 3);
    for ask in &asks {
        assert_eq!(forced_tool(ask).as_deref(), Some("select_speaker"));
        assert_eq!(
            ask["tools"][0]["function"]["parameters"]["properties"]["agent"]["enum"],
            json!(["x", "y"])
        );
        assert_eq!(ask["messages"][0]["content"], "You chair the discussion.");
        assert_calls_answered_in_order_openai(ask);
    }
    assert!(
        asks[1]
            .to_string()
            .contains("Your previous pick was invalid"),
        "{}",
        asks[1]
    );
    // Picked twice in a row, Y still gets a request that ends with a user message.
    let y = Wire::Anthropic.requests(&server);
    assert_eq!(y.len(), 2);
    for r in &y {
        assert_anthropic_roles_alternate(&r.json());
    }
    assert!(y[1].json()["messages"].to_string().contains("Y opens."));
}
