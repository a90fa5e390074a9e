//! Local servers as they are (issue 17), over real HTTP to the fake server's local modes
//! (`support::local`): a serial server that answers a second concurrent request with an empty
//! stream, `llama-server` refusing (HTTP 400) or ignoring forced tool calls, and a context limit
//! whose stream just ends. Each test runs a 3-agent debate with votes (or one stream) and checks
//! that the votes are real, what the server received, and what the session said about it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use conclave::config::{AgentConfig, BackendConfig, Consensus, TeamConfig};
use conclave::core::Event;
use conclave::core::event::{EventKind, Outcome, PatternKind, VoteChoice};
use conclave::core::session::SessionSpec;
use conclave::llm::build_provider;
use serde_json::json;
use support::events::finished;
use support::llm_fake::{ByRequest, Wire, forced_tool, offered_tools};
use support::local;
use support::{FakeServer, Turn};

const MEMBERS: [&str; 3] = ["optimist", "skeptic", "pragmatist"];

/// A one-round debate of [`MEMBERS`] with a vote, every agent on backend `local` (its own model
/// name `<agent>-model`).
fn spec(backend: BackendConfig) -> SessionSpec {
    let mut team = TeamConfig::new(PatternKind::GroupChat);
    team.members = MEMBERS.map(String::from).to_vec();
    team.max_rounds = Some(1);
    team.consensus = Some(Consensus {
        threshold: 0.6,
        every_round: true,
    });
    let agents: BTreeMap<String, AgentConfig> = MEMBERS
        .iter()
        .map(|who| {
            let agent: AgentConfig = toml::from_str(&format!(
                "backend = \"local\"\nmodel = \"{who}-model\"\nsystem = \"You are the {who}.\""
            ))
            .unwrap();
            (who.to_string(), agent)
        })
        .collect();
    let provider = build_provider("local", &backend).expect("provider");
    SessionSpec {
        id: "local-run".into(),
        team_name: "debate".into(),
        team,
        agents,
        providers: [("local".to_string(), provider)].into(),
        history: Vec::new(),
        unattended: None,
        tools: None,
    }
}

async fn run(spec: SessionSpec) -> Vec<Event> {
    support::events::run_to_end(spec, "Move the team to a four-day week?").await
}

/// One `cast_vote` call agreeing, per member, queued on `replies` (OpenAI).
fn tool_ballots(replies: &ByRequest) {
    for who in MEMBERS {
        let ballot = ballot(&format!("call_{who}"), "agree", &format!("{who} agrees"));
        replies.add(
            &format!("{who}-model"),
            Some("cast_vote"),
            Wire::OpenAi.reply(&ballot),
        );
    }
}

/// One speech per member, queued on `replies` for its model.
fn speeches(replies: &ByRequest, wire: Wire) {
    for who in MEMBERS {
        let words = format!("{who} has spoken");
        replies.add(
            &format!("{who}-model"),
            None,
            wire.reply(&Turn::text([words.as_str()])),
        );
    }
}

fn votes(events: &[Event]) -> Vec<(String, VoteChoice, String)> {
    let mut out: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Vote {
                agent,
                choice,
                reason,
                ..
            } => Some((agent.clone(), *choice, reason.clone())),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn notices(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnNotice { kind, text, .. } => Some((kind.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

fn ballot(id: &str, choice: &str, reason: &str) -> Turn {
    let args = json!({"choice": choice, "reason": reason}).to_string();
    Turn::default().tool(id, "cast_vote", &args)
}

#[tokio::test]
async fn a_debate_against_a_serial_server_with_max_concurrent_one_counts_every_vote() {
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    let refused = local::serial(&server, &replies, Duration::from_millis(150));
    speeches(&replies, Wire::OpenAi);
    tool_ballots(&replies);
    let backend = Wire::OpenAi.backend(&server, "max_concurrent = 1\nmax_retries = 0");
    let events = run(spec(backend)).await;

    assert_eq!(refused.count(), 0, "no request ever overlapped another");
    let got = votes(&events);
    assert_eq!(got.len(), 3, "{got:?}");
    for (agent, choice, reason) in &got {
        assert_eq!(*choice, VoteChoice::Agree);
        assert_eq!(
            reason,
            &format!("{agent} agrees"),
            "a real vote, not an abstention"
        );
    }
    assert_eq!(finished(&events).0, Outcome::Consensus);
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());

    // The votes asked at once waited for the backend, said so, and their latency leaves the
    // wait out: a waiting turn's message came well after its start, its latency is one reply.
    let waiting: Vec<u64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnWaiting { turn, backend, .. } => {
                assert_eq!(backend, "local");
                Some(*turn)
            }
            _ => None,
        })
        .collect();
    assert_eq!(waiting.len(), 2, "two of the three ballots queued");
    let at = |turn: u64, started: bool| {
        events
            .iter()
            .find(|e| match &e.kind {
                EventKind::TurnStarted { turn: t, .. } => started && *t == turn,
                EventKind::Message { turn: t, .. } => !started && *t == turn,
                _ => false,
            })
            .unwrap()
    };
    let last = *waiting.iter().max().unwrap();
    let span = (at(last, false).ts - at(last, true).ts).num_milliseconds() as u64;
    let EventKind::Message {
        latency_ms,
        ttft_ms,
        ..
    } = &at(last, false).kind
    else {
        unreachable!()
    };
    assert!(
        span >= 300,
        "the last ballot waited for two others ({span} ms)"
    );
    assert!(
        *latency_ms + 150 <= span,
        "latency {latency_ms} ms counts the wait (span {span} ms)"
    );
    assert!(ttft_ms.unwrap() <= *latency_ms);
}

#[tokio::test]
async fn an_empty_forced_reply_beside_another_request_is_asked_again_when_alone() {
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    let refused = local::serial(&server, &replies, Duration::from_millis(150));
    speeches(&replies, Wire::OpenAi);
    tool_ballots(&replies);
    // No max_concurrent: the three ballots go out at once and two find the server busy.
    let backend = Wire::OpenAi.backend(&server, "max_retries = 0");
    let events = run(spec(backend)).await;

    assert!(refused.count() >= 2, "{}", refused.count());
    let got = votes(&events);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got.iter().all(|(_, c, _)| *c == VoteChoice::Agree),
        "{got:?}"
    );
    assert_eq!(finished(&events).0, Outcome::Consensus);
    let retried: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnFailed {
                error, will_retry, ..
            } => {
                assert!(*will_retry, "{}", error.message);
                Some(error.message.clone())
            }
            _ => None,
        })
        .collect();
    assert!(!retried.is_empty());
    for message in &retried {
        assert!(message.contains("one request at a time"), "{message}");
        assert!(message.contains("max_concurrent = 1"), "{message}");
    }
}

/// The marker-form ballots of every member, on `wire`.
fn marker_ballots(replies: &ByRequest, wire: Wire) {
    for who in MEMBERS {
        let line = format!("VOTE: agree: {who} agrees in text");
        replies.add(
            &format!("{who}-model"),
            None,
            wire.reply(&Turn::text([line.as_str()])),
        );
    }
}

/// After the speeches: one forced try, then every ballot in the marker form (no tools, the
/// marker line asked for in the system prompt).
fn check_one_forced_try(wire: Wire, server: &FakeServer) {
    let sent = wire.requests(server);
    let ballots = &sent[MEMBERS.len()..];
    assert_eq!(
        ballots.len(),
        MEMBERS.len() + 1,
        "one failed try, then three ballots"
    );
    let forced: Vec<_> = ballots
        .iter()
        .filter(|r| forced_tool(&r.json()).is_some())
        .collect();
    assert_eq!(forced.len(), 1, "forced once only");
    assert_eq!(offered_tools(&forced[0].json()), ["cast_vote"]);
    for r in ballots.iter().filter(|r| forced_tool(&r.json()).is_none()) {
        let body = r.json();
        assert!(offered_tools(&body).is_empty(), "{body}");
        assert!(
            body.to_string().contains("VOTE: <agree|disagree|abstain>"),
            "{body}"
        );
    }
}

fn check_text_votes(events: &[Event]) {
    let got = votes(events);
    assert_eq!(got.len(), 3, "{got:?}");
    for (agent, choice, reason) in &got {
        assert_eq!(*choice, VoteChoice::Agree);
        assert_eq!(reason, &format!("{agent} agrees in text"));
    }
    assert_eq!(finished(events).0, Outcome::Consensus);
    let notes = notices(events);
    assert_eq!(notes.len(), 1, "one notice: {notes:?}");
    assert_eq!(notes[0].0, "text_markers");
    assert!(notes[0].1.contains("text markers"), "{}", notes[0].1);
}

#[tokio::test]
async fn llama_server_refusing_forced_tools_on_anthropic_votes_through_markers() {
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    local::refuse_forced(&server, Wire::Anthropic, &replies);
    speeches(&replies, Wire::Anthropic);
    marker_ballots(&replies, Wire::Anthropic);
    let backend = Wire::Anthropic.backend(&server, "max_concurrent = 1\napi_key = \"k\"");
    let events = run(spec(backend)).await;
    check_text_votes(&events);
    assert!(
        notices(&events)[0]
            .1
            .contains("Failed to initialize samplers")
    );
    check_one_forced_try(Wire::Anthropic, &server);
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
}

#[tokio::test]
async fn llama_server_refusing_forced_tools_on_openai_votes_through_markers() {
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    local::refuse_forced(&server, Wire::OpenAi, &replies);
    speeches(&replies, Wire::OpenAi);
    marker_ballots(&replies, Wire::OpenAi);
    let backend = Wire::OpenAi.backend(&server, "max_concurrent = 1");
    let events = run(spec(backend)).await;
    check_text_votes(&events);
    check_one_forced_try(Wire::OpenAi, &server);
}

#[tokio::test]
async fn an_ignored_named_tool_choice_votes_through_markers_and_drops_the_text() {
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    local::ignore_forced(&server, Wire::OpenAi, &replies, "I rather like the idea.");
    speeches(&replies, Wire::OpenAi);
    marker_ballots(&replies, Wire::OpenAi);
    let backend = Wire::OpenAi.backend(&server, "max_concurrent = 1");
    let events = run(spec(backend)).await;
    check_text_votes(&events);
    assert!(notices(&events)[0].1.contains("answered in text"));
    check_one_forced_try(Wire::OpenAi, &server);
    for e in &events {
        if let EventKind::Token { text, .. } | EventKind::Message { text, .. } = &e.kind {
            assert!(
                !text.contains("rather like"),
                "the ignored answer is not shown"
            );
        }
    }
}

/// Where the context window comes from in [`a_debate_on_a_small_context_trims_the_oldest_shared_context`].
#[derive(Clone, Copy, Debug)]
enum WindowFrom {
    /// llama.cpp's `/props`.
    Props,
    /// `context_window` on each agent (the server does not say).
    Agent,
}

/// Speeches of about 500 tokens each, a window of 1024: the third speech and every ballot would
/// overflow. The fake server ends the stream of any request over 1100 tokens (body / 4).
#[tokio::test]
async fn a_debate_on_a_small_context_trims_the_oldest_shared_context() {
    for from in [WindowFrom::Props, WindowFrom::Agent] {
        let server = FakeServer::start().await;
        let replies = ByRequest::default();
        local::context_limit(&server, &replies, 1100);
        match from {
            WindowFrom::Props => server.always(
                "/props",
                support::Reply::json(
                    200,
                    json!({"default_generation_settings": {"n_ctx": 1024}, "total_slots": 1}),
                ),
            ),
            WindowFrom::Agent => {}
        }
        for who in MEMBERS {
            let words = format!("{who} says {}", "many words ".repeat(180));
            replies.add(
                &format!("{who}-model"),
                None,
                Wire::OpenAi.reply(&Turn::text([words.as_str()])),
            );
        }
        tool_ballots(&replies);
        let mut spec = spec(Wire::OpenAi.backend(&server, "max_concurrent = 1"));
        if let WindowFrom::Agent = from {
            for agent in spec.agents.values_mut() {
                agent.context_window = Some(1024);
            }
        }
        let events = run(spec).await;

        let got = votes(&events);
        assert_eq!(got.len(), 3, "{from:?}: {got:?}");
        assert!(
            got.iter().all(|(_, c, _)| *c == VoteChoice::Agree),
            "{got:?}"
        );
        assert_eq!(finished(&events).0, Outcome::Consensus, "{from:?}");
        let trimmed: Vec<String> = notices(&events)
            .into_iter()
            .filter(|(kind, _)| kind == "context_trimmed")
            .map(|(_, text)| text)
            .collect();
        assert!(
            trimmed.len() >= 4,
            "the last speech and the ballots: {trimmed:?}"
        );
        assert!(
            trimmed[0].contains("context window of 1024 tokens"),
            "{}",
            trimmed[0]
        );
        for r in Wire::OpenAi.requests(&server) {
            assert!(
                local::prompt_tokens(&r) <= 1100,
                "{from:?}: a request overflowed"
            );
            let body = r.json().to_string();
            assert!(
                body.contains("Move the team to a four-day week?"),
                "the task stays"
            );
        }
        let props = server
            .requests()
            .iter()
            .filter(|r| r.path == "/props")
            .count();
        match from {
            WindowFrom::Props => assert_eq!(props, 3, "asked once per model"),
            WindowFrom::Agent => assert_eq!(props, 0, "the agent's window is not asked for"),
        }
    }
}

#[tokio::test]
async fn a_stream_that_just_ends_after_a_too_long_prompt_is_context_too_long() {
    use conclave::llm::{ChatMessage, ChatRequest, ErrorKind};
    use tokio_util::sync::CancellationToken;
    let long = ChatRequest {
        model: "small".into(),
        messages: vec![ChatMessage::User {
            text: "a long prompt ".repeat(200),
        }],
        ..ChatRequest::default()
    };
    // The server says its window: the silent end is a context problem, named as one.
    let server = FakeServer::start().await;
    let replies = ByRequest::default();
    local::context_limit(&server, &replies, 300);
    server.always(
        "/props",
        support::Reply::json(200, json!({"default_generation_settings": {"n_ctx": 512}})),
    );
    let provider =
        build_provider("local", &Wire::OpenAi.backend(&server, "max_retries = 0")).unwrap();
    assert_eq!(provider.context_window("small").await, Some(512));
    let (_, error) =
        support::collect(provider.stream(long.clone(), CancellationToken::new())).await;
    let error = error.expect("fails");
    assert_eq!(error.kind, ErrorKind::ContextTooLong, "{error}");
    assert!(
        error.to_string().contains("context window (512)"),
        "{error}"
    );
    assert!(error.hint.is_some(), "{error}");

    // It does not: a broken stream, with a hint at the context window.
    let server = FakeServer::start().await;
    local::context_limit(&server, &replies, 300);
    let provider =
        build_provider("local", &Wire::OpenAi.backend(&server, "max_retries = 0")).unwrap();
    assert_eq!(provider.context_window("small").await, None);
    let (_, error) = support::collect(provider.stream(long, CancellationToken::new())).await;
    let error = error.expect("fails");
    assert_eq!(error.kind, ErrorKind::Protocol, "{error}");
    assert!(
        error
            .to_string()
            .contains("set context_window on the agent"),
        "{error}"
    );
}

#[tokio::test]
async fn a_limit_named_in_an_error_is_learnt_and_ollama_says_its_num_ctx() {
    use conclave::llm::{ChatMessage, ChatRequest, ErrorKind};
    use tokio_util::sync::CancellationToken;
    let server = FakeServer::start().await;
    server.push(
        Wire::OpenAi.path(),
        support::Reply::json(
            400,
            json!({"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it (n_prompt_tokens: 900, n_ctx: 512)", "type": "exceed_context_size_error"}}),
        ),
    );
    let provider =
        build_provider("local", &Wire::OpenAi.backend(&server, "max_retries = 0")).unwrap();
    let request = ChatRequest {
        model: "small".into(),
        messages: vec![ChatMessage::User { text: "hi".into() }],
        ..ChatRequest::default()
    };
    let (_, error) = support::collect(provider.stream(request, CancellationToken::new())).await;
    assert_eq!(error.expect("fails").kind, ErrorKind::ContextTooLong);
    assert_eq!(provider.context_window("small").await, Some(512));
    assert!(
        !server.requests().iter().any(|r| r.path == "/props"),
        "named by the error: not asked"
    );

    let ollama = FakeServer::start().await;
    ollama.always(
        "/api/show",
        support::Reply::json(
            200,
            json!({"parameters": "num_ctx 2048\nstop \"<|eot_id|>\"", "model_info": {"llama.context_length": 131072}}),
        ),
    );
    let provider = build_provider("local", &Wire::Ollama.backend(&ollama, "")).unwrap();
    assert_eq!(provider.context_window("llama3.2").await, Some(2048));
    assert_eq!(provider.context_window("llama3.2").await, Some(2048));
    let shows: Vec<_> = ollama
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/show")
        .collect();
    assert_eq!(shows.len(), 1, "asked once");
    assert_eq!(shows[0].json(), json!({"model": "llama3.2"}));
    let own = build_provider("local", &Wire::Ollama.backend(&ollama, "num_ctx = 1024")).unwrap();
    assert_eq!(own.context_window("llama3.2").await, Some(1024));
}

#[tokio::test]
async fn a_request_cancelled_while_queued_leaves_the_queue_and_is_never_sent() {
    use conclave::llm::{ChatMessage, ChatRequest, LlmEvent};
    use futures_util::StreamExt;
    use support::{Gate, Step};
    use tokio_util::sync::CancellationToken;
    let server = FakeServer::start().await;
    let gate = Gate::new();
    // The first reply holds its end until the gate opens.
    let events = support::wire::openai_events(&Turn::text(["first"]));
    let mut held = support::Reply::sse(&events[..2]).then(Step::Wait(gate.clone()));
    for rest in &events[2..] {
        held = held.then(Step::Write(rest.clone().into_bytes()));
    }
    server.push(Wire::OpenAi.path(), held);
    server.push(
        Wire::OpenAi.path(),
        Wire::OpenAi.reply(&Turn::text(["third"])),
    );
    let provider = build_provider(
        "local",
        &Wire::OpenAi.backend(&server, "max_concurrent = 1"),
    )
    .unwrap();
    let ask = |model: &str| ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage::User { text: "hi".into() }],
        ..ChatRequest::default()
    };
    let mut first = provider.stream(ask("first"), CancellationToken::new());
    assert_eq!(
        first.next().await.unwrap().unwrap(),
        LlmEvent::TextDelta("first".into())
    );
    let cancel = CancellationToken::new();
    let mut second = provider.stream(ask("second"), cancel.clone());
    assert_eq!(
        second.next().await.unwrap().unwrap(),
        LlmEvent::Queued {
            backend: "local".into()
        }
    );
    cancel.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), second.next()).await;
    assert!(matches!(ended, Ok(None)), "a cancelled wait ends at once");
    gate.open();
    let (events, error) = support::collect(first).await;
    assert!(error.is_none() && !events.is_empty());
    // The queue is free again: the next request goes straight out, with no wait announced.
    let (events, error) =
        support::collect(provider.stream(ask("third"), CancellationToken::new())).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!events.iter().any(|e| matches!(e, LlmEvent::Queued { .. })));
    assert_eq!(support::text_of(&events), "third");
    let models: Vec<String> = Wire::OpenAi
        .requests(&server)
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        models,
        ["first", "third"],
        "the cancelled request was never sent"
    );
}
