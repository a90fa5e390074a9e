//! Guards (issue 10 item 4) over real HTTP: every agent, the guard included, is a model behind the
//! in-repo fake OpenAI server, and the tool calls go to the in-repo MCP fault server. A denied
//! handoff falls back, a denied tool call is answered to the model with the guard's reason and
//! the model goes on, a denied final answer is withheld, a malformed verdict is asked once more
//! and then fails closed, and the guard's calls are in the ledger under purpose `guard`.
//!
//! The fault server is built by `cargo test` (an example); run alone, build it first with
//! `cargo build --example mcp_fault_server`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use conclave::config::{AgentConfig, Approval, McpConfig, TeamConfig};
use conclave::core::Event;
use conclave::core::event::{Boundary, EventKind, Outcome, PatternKind, Purpose};
use conclave::core::metrics::Metrics;
use conclave::core::session::SessionSpec;
use conclave::llm::build_provider;
use conclave::tools::Hub;
use conclave::view::View;
use support::events::{check_invariants, count, finished, run_observed};
use support::llm_fake::{ByRequest, Wire};
use support::{FakeServer, Turn};

const VERDICT: &str = "guard_verdict";

fn verdict(allow: bool, reason: &str) -> support::Reply {
    let args = serde_json::json!({"allow": allow, "reason": reason}).to_string();
    Wire::OpenAi.reply(&Turn::default().tool("v", VERDICT, &args).usage(40, 7))
}

fn text(t: &str) -> support::Reply {
    Wire::OpenAi.reply(&Turn::text([t]))
}

fn agent(model: &str) -> AgentConfig {
    AgentConfig {
        backend: "b".into(),
        model: model.into(),
        system: Some(format!("You are {model}.")),
        ..Default::default()
    }
}

fn spec(
    server: &FakeServer,
    team: TeamConfig,
    agents: &[&str],
    tools: Option<Arc<Hub>>,
) -> SessionSpec {
    let backend = Wire::OpenAi.backend(server, "api_key = \"k\"\nmax_retries = 0\n");
    let mut configs: BTreeMap<String, AgentConfig> =
        agents.iter().map(|a| (a.to_string(), agent(a))).collect();
    if let Some(reader) = configs.get_mut("reader") {
        reader.tools = vec!["fault".into()];
        reader.tool_approval = Some(Approval::Auto);
    }
    SessionSpec {
        id: "guards".into(),
        team_name: "t".into(),
        team,
        agents: configs,
        providers: BTreeMap::from([("b".to_string(), build_provider("b", &backend).unwrap())]),
        history: Vec::new(),
        unattended: None,
        tools,
    }
}

async fn run(spec: SessionSpec, prompt: &str) -> Vec<Event> {
    let events = run_observed(spec, prompt, |_| {}).await;
    check_invariants(&events);
    events
}

fn trips(events: &[Event]) -> Vec<(Boundary, String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::GuardTripped {
                boundary,
                subject,
                reason,
                ..
            } => Some((boundary.clone(), subject.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// What the transcript says for each event (the one narration every front end shows).
fn narration(events: &[Event]) -> Vec<String> {
    let mut view = View::new(BTreeMap::new());
    events
        .iter()
        .map(|e| view.push(e))
        .filter(|p| !p.is_hidden())
        .map(|p| p.plain("->"))
        .collect()
}

fn single(member: &str) -> TeamConfig {
    let mut team = TeamConfig::new(PatternKind::Single);
    team.members = vec![member.into()];
    team.guard = Some("compliance".into());
    team
}

#[tokio::test]
async fn a_denied_handoff_falls_back_and_the_guard_is_metered_under_purpose_guard() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "triage",
        None,
        Wire::OpenAi.reply(&Turn::default().tool(
            "h",
            "transfer_to_billing",
            r#"{"reason":"wants a refund"}"#,
        )),
    );
    replies.add(
        "compliance",
        Some(VERDICT),
        verdict(false, "billing is closed today"),
    );
    replies.add("tech", None, text("Tech here: I can help with that."));
    replies.add("compliance", Some(VERDICT), verdict(true, "harmless"));
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["triage", "billing", "tech"].map(String::from).to_vec();
    team.entry = Some("triage".into());
    team.handoffs
        .insert("triage".into(), vec!["billing".into(), "tech".into()]);
    team.fallback.insert("billing".into(), vec!["tech".into()]);
    team.approval = Some(Approval::Auto);
    team.guard = Some("compliance".into());
    let events = run(
        spec(
            &server,
            team,
            &["triage", "billing", "tech", "compliance"],
            None,
        ),
        "refund please",
    )
    .await;
    assert_eq!(
        trips(&events),
        [(
            Boundary::Handoff,
            "handoff h1: triage → billing".to_string(),
            "billing is closed today".to_string()
        )]
    );
    assert_eq!(
        count(
            &events,
            |k| matches!(k, EventKind::HandoffRejected { reason, .. }
            if reason.contains("blocked by the guard compliance"))
        ),
        1
    );
    assert_eq!(
        count(
            &events,
            |k| matches!(k, EventKind::HandoffFallback { to, .. } if to == "tech")
        ),
        1
    );
    assert_eq!(
        finished(&events),
        (
            Outcome::Completed,
            Some("Tech here: I can help with that.".into())
        )
    );
    assert!(replies.unused().is_empty(), "{:?}", replies.unused());
    // What the guard was shown: the handoff, its reason and the requester's instructions.
    let asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["model"] == "compliance")
        .map(|b| b.to_string())
        .collect();
    assert_eq!(asked.len(), 2);
    for wanted in [
        "handoff h1: triage → billing",
        "wants a refund",
        "You are triage.",
    ] {
        assert!(asked[0].contains(wanted), "{wanted}: {}", asked[0]);
    }
    // The ledger: both guard calls, under purpose guard.
    let mut metrics = Metrics::new(BTreeMap::new());
    for e in &events {
        metrics.apply(e);
    }
    let guard = &metrics.agents["compliance"].by_purpose[&Purpose::Guard];
    assert_eq!(
        (guard.calls, guard.input_tokens, guard.output_tokens),
        (2, Some(80), Some(14))
    );
    let said = narration(&events);
    assert!(
        said.iter().any(|l| l
            == "compliance blocked handoff h1: triage → billing (the handoff is rejected): billing is closed today"),
        "{said:#?}"
    );
}

#[tokio::test]
async fn a_denied_final_answer_is_withheld_and_the_person_is_told_why() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add("writer", None, text("The admin password is hunter2."));
    replies.add(
        "compliance",
        Some(VERDICT),
        verdict(false, "it reveals a password"),
    );
    let events = run(
        spec(&server, single("writer"), &["writer", "compliance"], None),
        "what is the password?",
    )
    .await;
    assert_eq!(finished(&events), (Outcome::Failed, None));
    assert_eq!(trips(&events)[0].0, Boundary::Final);
    let said = narration(&events);
    assert!(
        said.iter().any(|l| l
            == "compliance blocked final answer of writer (the final answer is withheld): it reveals a password"),
        "{said:#?}"
    );
    let journal: Vec<String> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::SessionFinished { .. }))
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(!journal[0].contains("hunter2"), "{journal:?}");
}

#[tokio::test]
async fn a_malformed_verdict_is_asked_once_more_then_the_guard_fails_closed() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add("writer", None, text("Hello."));
    replies.add(
        "compliance",
        Some(VERDICT),
        Wire::OpenAi.reply(&Turn::default().tool("v1", VERDICT, r#"{"reason":"hm"}"#)),
    );
    replies.add(
        "compliance",
        Some(VERDICT),
        Wire::OpenAi.reply(&Turn::default().tool("v2", VERDICT, r#"{"allow":"perhaps"}"#)),
    );
    let events = run(
        spec(&server, single("writer"), &["writer", "compliance"], None),
        "hi",
    )
    .await;
    assert_eq!(finished(&events), (Outcome::Failed, None));
    let reason = &trips(&events)[0].2;
    assert!(reason.starts_with("fail closed"), "{reason}");
    let second = server
        .requests()
        .iter()
        .map(|r| r.json().to_string())
        .filter(|b| b.contains("\"model\":\"compliance\""))
        .nth(1)
        .unwrap();
    assert!(
        second.contains("could not be used") && second.contains("needs `allow`"),
        "the guard is told what was wrong: {second}"
    );
}

fn fault_server() -> PathBuf {
    support::mcp_fault_server()
}

#[tokio::test]
async fn a_denied_tool_call_is_answered_with_the_reason_and_the_model_goes_on() {
    let notes = tempfile::NamedTempFile::new().unwrap();
    let path = notes.path().display().to_string();
    let hub = Arc::new(Hub::new(&BTreeMap::from([(
        "fault".to_string(),
        McpConfig {
            command: Some(fault_server().display().to_string()),
            env: BTreeMap::from([("FAULT_NOTES_FILE".to_string(), path.clone())]),
            ..McpConfig::default()
        },
    )])));
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    replies.add(
        "reader",
        None,
        Wire::OpenAi.reply(&Turn::default().tool(
            "w1",
            "fault__write_note",
            r#"{"text":"card 4111 1111 1111 1111"}"#,
        )),
    );
    replies.add(
        "compliance",
        Some(VERDICT),
        verdict(false, "no card numbers in notes"),
    );
    replies.add("reader", None, text("I could not save that note."));
    replies.add("compliance", Some(VERDICT), verdict(true, "fine"));
    let events = run(
        spec(
            &server,
            single("reader"),
            &["reader", "compliance"],
            Some(hub.clone()),
        ),
        "save my card",
    )
    .await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e.kind.type_name())
        .filter(|t| t.starts_with("tool_") || t.starts_with("guard_"))
        .collect();
    assert_eq!(
        types,
        [
            "tool_call",
            "tool_approved",
            "guard_asked",
            "tool_result",
            "guard_tripped",
            "tool_rejected",
            "tool_result",
            "guard_asked",
            "tool_result",
        ],
        "the approval, then the guard, then the rejection (and each verdict call answered)"
    );
    assert_eq!(
        count(
            &events,
            |k| matches!(k, EventKind::ToolRejected { by, reason, .. }
            if by == "guard" && reason == "no card numbers in notes")
        ),
        1
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "not run");
    let again = server
        .requests()
        .iter()
        .map(|r| r.json().to_string())
        .filter(|b| b.contains("\"model\":\"reader\""))
        .nth(1)
        .unwrap();
    assert!(
        again.contains("rejected by the guard: no card numbers in notes"),
        "the model is told why: {again}"
    );
    assert_eq!(
        finished(&events),
        (
            Outcome::Completed,
            Some("I could not save that note.".into())
        )
    );
    hub.shutdown().await;
}
