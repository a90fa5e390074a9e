//! Steering over real HTTP (issue 12): a real session actor and the OpenAI provider against the
//! fake server on loopback, steered with the same commands the console and `--control` send.
//! Each test checks the events the session publishes and the request bodies the server received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use conclave::config::{AgentConfig, Approval, TeamConfig};
use conclave::core::event::{ContextMessage, EventKind, Outcome, PatternKind};
use conclave::core::patterns::{Ctx, pending_request};
use conclave::core::session::{EventStream, Session, SessionHandle, SessionSpec};
use conclave::core::state::SessionState;
use conclave::core::{Command, Event};
use conclave::llm::build_provider;
use support::events::{check_invariants, finished};
use support::llm_fake::{ByRequest, Wire, edit_replies, requests_of, roles_and_texts};
use support::{FakeServer, Reply, Step, Turn};

/// A running session with what it has published so far.
struct Live {
    handle: SessionHandle,
    events: EventStream,
    seen: Vec<Event>,
}

impl Live {
    /// `team` with each `(agent, model)` on one OpenAI backend at `server`.
    fn start(server: &FakeServer, team: TeamConfig, agents: &[(&str, &str)]) -> Live {
        Live::start_from(server, team, agents, false, Vec::new())
    }

    /// `start`, each agent with a system prompt `You are <agent>.` when `system`, resuming
    /// `history` (a journal) when it is not empty.
    fn start_from(
        server: &FakeServer,
        team: TeamConfig,
        agents: &[(&str, &str)],
        system: bool,
        history: Vec<Event>,
    ) -> Live {
        let backend = Wire::OpenAi.backend(server, "max_retries = 0\n");
        let agents = agent_configs(agents, system);
        let spec = SessionSpec {
            id: "steer-run".into(),
            team_name: "t".into(),
            team,
            agents,
            providers: BTreeMap::from([(
                "oa".to_string(),
                build_provider("oa", &backend).expect("provider"),
            )]),
            history,
            unattended: None,
            tools: None,
        };
        let mut session = Session::new(spec).expect("valid spec");
        let events = session.subscribe();
        Live {
            handle: session.start(),
            events,
            seen: Vec::new(),
        }
    }

    fn send(&self, command: Command) {
        self.handle.send(command).expect("running");
    }

    /// Read events until one matches `done` (the timeout only guards against hangs).
    async fn until(&mut self, done: impl Fn(&EventKind) -> bool) -> Event {
        let wait = async {
            while let Some(e) = self.events.recv().await {
                self.seen.push(e.clone());
                if done(&e.kind) {
                    return e;
                }
            }
            panic!("the session ended first: {:?}", self.kinds());
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("the event came within 20 s")
    }

    /// Read what arrives during `d` (nothing must be waited for).
    async fn during(&mut self, d: Duration) {
        let _ = tokio::time::timeout(d, async {
            while let Some(e) = self.events.recv().await {
                self.seen.push(e);
            }
        })
        .await;
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.seen.iter().map(|e| e.kind.type_name()).collect()
    }
}

/// Each `(agent, model)` on the OpenAI backend `oa`, with a system prompt `You are <agent>.`
/// when `system`.
fn agent_configs(agents: &[(&str, &str)], system: bool) -> BTreeMap<String, AgentConfig> {
    agents
        .iter()
        .map(|(name, model)| {
            let mut text = format!("backend = \"oa\"\nmodel = \"{model}\"\n");
            if system {
                text.push_str(&format!("system = \"You are {name}.\"\n"));
            }
            (name.to_string(), toml::from_str(&text).expect("agent TOML"))
        })
        .collect()
}

fn support_team(approval: Approval, window_ms: u64) -> TeamConfig {
    let mut team = TeamConfig::new(PatternKind::Handoff);
    team.members = ["triage", "billing", "tech"].map(String::from).to_vec();
    team.entry = Some("triage".into());
    team.handoffs.insert(
        "triage".into(),
        ["billing", "tech"].map(String::from).to_vec(),
    );
    team.approval = Some(approval);
    team.approval_window_ms = Some(window_ms);
    team
}

const SUPPORT: [(&str, &str); 3] = [
    ("triage", "triage-model"),
    ("billing", "billing-model"),
    ("tech", "tech-model"),
];

/// Item 1: a held window never runs out; the person decides long after it would have, then
/// redirects the accepted handoff while its holder streams (the stream is closed, the partial
/// text kept), and the new holder is told who handed over and why.
#[tokio::test]
async fn a_held_window_waits_and_a_speaking_holder_can_be_redirected() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let triage = Turn::text(["Passing you on."]).tool(
        "call_t1",
        "transfer_to_billing",
        r#"{"reason":"double charge"}"#,
    );
    replies.add("triage-model", None, Wire::OpenAi.reply(&triage));
    let partial = support::wire::openai_events(&Turn::text(["Let me check your ", "invoice"]));
    replies.add(
        "billing-model",
        None,
        Reply::sse(&partial[..2]).then(Step::Stall),
    );
    replies.add(
        "tech-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Tech here: ", "fixed."])),
    );
    let mut live = Live::start(&server, support_team(Approval::Window, 300), &SUPPORT);
    live.send(Command::Send {
        text: "I was charged twice".into(),
        to: None,
    });
    live.until(|k| matches!(k, EventKind::HandoffRequested { .. }))
        .await;
    live.send(Command::HoldHandoff {});
    live.until(|k| matches!(k, EventKind::HandoffHeld { id, by } if id == "h1" && by == "user"))
        .await;
    live.during(Duration::from_millis(1200)).await;
    assert!(
        !live.kinds().contains(&"handoff_accepted"),
        "{:?}",
        live.kinds()
    );
    assert_eq!(requests_of(&server, "billing-model").len(), 0);

    live.send(Command::ApproveHandoff {});
    live.until(|k| matches!(k, EventKind::Token { agent, .. } if agent == "billing"))
        .await;
    live.send(Command::RedirectHandoff { to: "tech".into() });
    let cancelled = live
        .until(|k| matches!(k, EventKind::TurnCancelled { agent, .. } if agent == "billing"))
        .await;
    let EventKind::TurnCancelled { partial_text, .. } = cancelled.kind else {
        unreachable!()
    };
    assert!(partial_text.starts_with("Let me check"), "{partial_text}");
    live.until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    check_invariants(&live.seen);
    assert_eq!(
        finished(&live.seen),
        (Outcome::Completed, Some("Tech here: fixed.".into()))
    );
    // Among every request the server saw (context-window probes too), billing's chat request.
    let billing_at = server
        .requests()
        .iter()
        .position(|r| r.path == Wire::OpenAi.path() && r.json()["model"] == "billing-model")
        .unwrap();
    assert!(
        server
            .wait_client_closed(billing_at, Duration::from_secs(5))
            .await
            .is_some(),
        "the redirected holder's stream is closed"
    );
    let tech = requests_of(&server, "tech-model");
    let last = tech[0]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(
        last.contains("triage handed the conversation over"),
        "{last}"
    );
    assert!(last.contains("double charge"), "{last}");
    assert!(last.contains("redirected it from billing"), "{last}");
}

/// Item 2: with `sanitize = true` the person's text, the handoff reason and the summary reach
/// the other agents redacted, the `triage->billing` edge decides billing's context, and the
/// summary reaches the agent control returns to.
#[tokio::test]
async fn context_crosses_intact_and_redacted_with_edges_in_a_handoff() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let triage = Turn::text(["One moment."]).tool(
        "call_t1",
        "transfer_to_billing",
        r#"{"reason":"refund to bob@example.com"}"#,
    );
    replies.add("triage-model", None, Wire::OpenAi.reply(&triage));
    let billing = Turn::text(["Refunded."]).tool(
        "call_b1",
        "complete_handoff",
        r#"{"summary":"refund sent; receipt to bob@example.com"}"#,
    );
    replies.add("billing-model", None, Wire::OpenAi.reply(&billing));
    replies.add(
        "triage-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Anything else?"])),
    );
    let mut team = support_team(Approval::Auto, 0);
    team.sanitize = Some(true);
    team.edges.insert(
        "triage->billing".into(),
        conclave::config::ContextMode::None,
    );
    let mut live = Live::start(&server, team, &SUPPORT);
    live.send(Command::Send {
        text: "Charged twice, mail me at bob@example.com".into(),
        to: None,
    });
    live.until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    check_invariants(&live.seen);
    let billing = requests_of(&server, "billing-model");
    let messages = billing[0]["messages"].as_array().unwrap();
    let text = billing[0]["messages"].to_string();
    assert!(!text.contains("bob@example.com"), "{text}");
    assert!(
        !text.contains("One moment."),
        "edge `none`: only the prompt: {text}"
    );
    assert!(text.contains("Charged twice"), "{text}");
    let last = messages.last().unwrap().to_string();
    assert!(
        last.contains("triage handed the conversation over"),
        "{last}"
    );
    assert!(last.contains("refund to"), "{last}");
    let back = requests_of(&server, "triage-model");
    let last = back[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(last.contains("billing completed the handoff"), "{last}");
    assert!(last.contains("refund sent; receipt to"), "{last}");
    assert!(!last.contains("bob@example.com"), "{last}");
}

/// Item 4: messages sent during a pipeline step wait (`message_queued`), one is taken back
/// (`queued_cancelled`), and the other reaches the next step's request; an `@agent` message for
/// a step already done makes that step run again before the pipeline goes on.
#[tokio::test]
async fn a_pipeline_queues_messages_for_the_next_step_and_reruns_an_addressed_one() {
    let server = FakeServer::start().await;
    let replies = ByRequest::install(&server, &[Wire::OpenAi]);
    let gate = support::Gate::new();
    let mut pm = Wire::OpenAi.reply(&Turn::text(["The spec."]));
    pm.steps.insert(0, Step::Wait(gate.clone()));
    replies.add("pm-model", None, pm);
    let dev_gate = support::Gate::new();
    let mut dev = Wire::OpenAi.reply(&Turn::text(["The code."]));
    dev.steps.insert(0, Step::Wait(dev_gate.clone()));
    replies.add("dev-model", None, dev);
    replies.add(
        "pm-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["The spec, on postgres."])),
    );
    replies.add(
        "qa-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Tested."])),
    );
    let mut team = TeamConfig::new(PatternKind::Sequential);
    team.members = ["pm", "dev", "qa"].map(String::from).to_vec();
    let agents = [("pm", "pm-model"), ("dev", "dev-model"), ("qa", "qa-model")];
    let mut live = Live::start(&server, team, &agents);
    live.send(Command::Send {
        text: "Build a todo app".into(),
        to: None,
    });
    live.until(|k| matches!(k, EventKind::TurnStarted { agent, .. } if agent == "pm"))
        .await;
    live.send(Command::Send {
        text: "Use postgres".into(),
        to: None,
    });
    live.send(Command::Send {
        text: "Forget it".into(),
        to: None,
    });
    live.send(Command::CancelQueued { id: "q2".into() });
    live.until(|k| matches!(k, EventKind::QueuedCancelled { id, .. } if id == "q2"))
        .await;
    gate.open();
    live.until(|k| matches!(k, EventKind::TurnStarted { agent, .. } if agent == "dev"))
        .await;
    live.send(Command::Send {
        text: "pm: mind the budget".into(),
        to: Some("pm".into()),
    });
    live.until(|k| matches!(k, EventKind::MessageQueued { id, .. } if id == "q3"))
        .await;
    dev_gate.open();
    live.until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    check_invariants(&live.seen);
    assert_eq!(
        finished(&live.seen),
        (Outcome::Completed, Some("Tested.".into()))
    );
    let speakers: Vec<String> = live
        .seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TurnStarted { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(speakers, ["pm", "dev", "pm", "qa"], "pm's step re-ran");
    let delivered: Vec<Option<String>> = live
        .seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::UserMessage { queued_id, .. } => Some(queued_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, [None, Some("q1".into()), Some("q3".into())]);
    let dev = requests_of(&server, "dev-model")[0]["messages"].to_string();
    assert!(dev.contains("Use postgres"), "{dev}");
    assert!(!dev.contains("Forget it"), "{dev}");
    let pm_again = requests_of(&server, "pm-model")[1]["messages"].to_string();
    assert!(pm_again.contains("mind the budget"), "{pm_again}");
    assert!(pm_again.contains("again"), "{pm_again}");
}

/// The edited context of a pending handoff (issue 12 item 3) for the tests below: billing is to
/// receive only these two messages.
fn edited() -> Vec<ContextMessage> {
    vec![
        ContextMessage {
            role: "user".into(),
            text: "Customer 42 was charged twice for invoice 7.".into(),
        },
        ContextMessage {
            role: "assistant".into(),
            text: "Noted, refund pending.".into(),
        },
    ]
}

/// Item 3: `edit_context` while a handoff waits is an error before it and a `context_edited`
/// event during it; the target's first request carries exactly the edited messages after its
/// own system prompt, and nothing of the conversation it would otherwise have seen.
#[tokio::test]
async fn an_edited_context_is_what_the_handoff_target_receives() {
    let server = FakeServer::start().await;
    edit_replies(&server);
    let mut live = Live::start_from(
        &server,
        support_team(Approval::Confirm, 0),
        &SUPPORT,
        true,
        Vec::new(),
    );
    live.send(Command::EditContext { messages: edited() });
    let err = live.until(|k| matches!(k, EventKind::Error { .. })).await;
    let EventKind::Error { message, .. } = err.kind else {
        unreachable!()
    };
    assert!(message.contains("no handoff is waiting"), "{message}");
    live.send(Command::Send {
        text: "I was charged twice".into(),
        to: None,
    });
    live.until(|k| matches!(k, EventKind::HandoffRequested { .. }))
        .await;
    live.send(Command::EditContext {
        messages: vec![ContextMessage {
            role: "tool".into(),
            text: "x".into(),
        }],
    });
    live.until(|k| matches!(k, EventKind::Error { message, .. } if message.contains("role")))
        .await;
    live.send(Command::EditContext { messages: edited() });
    let e = live
        .until(|k| matches!(k, EventKind::ContextEdited { .. }))
        .await;
    assert_eq!(
        e.kind,
        EventKind::ContextEdited {
            handoff: "h1".into(),
            agent: "billing".into(),
            by: "user".into(),
            messages: edited(),
        }
    );
    assert_eq!(requests_of(&server, "billing-model").len(), 0);
    live.send(Command::ApproveHandoff {});
    live.until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    check_invariants(&live.seen);
    assert_eq!(
        finished(&live.seen),
        (Outcome::Completed, Some("Refund sent.".into()))
    );
    let billing = requests_of(&server, "billing-model");
    assert_eq!(billing.len(), 1);
    assert_eq!(
        roles_and_texts(&billing[0]),
        vec![
            ("system".to_string(), "You are billing.".to_string()),
            (
                "user".to_string(),
                "Customer 42 was charged twice for invoice 7.".to_string()
            ),
            (
                "assistant".to_string(),
                "Noted, refund pending.".to_string()
            ),
        ]
    );
}

/// Item 3, resumed: the journal up to `context_edited` is replayed into a new session (the
/// process died while the handoff waited); approving there sends billing the edited messages.
#[tokio::test]
async fn an_edited_context_is_replayed_on_resume() {
    let server = FakeServer::start().await;
    edit_replies(&server);
    let mut first = Live::start_from(
        &server,
        support_team(Approval::Confirm, 0),
        &SUPPORT,
        true,
        Vec::new(),
    );
    first.send(Command::Send {
        text: "I was charged twice".into(),
        to: None,
    });
    first
        .until(|k| matches!(k, EventKind::HandoffRequested { .. }))
        .await;
    first.send(Command::EditContext { messages: edited() });
    first
        .until(|k| matches!(k, EventKind::ContextEdited { .. }))
        .await;
    let journal = first.seen.clone();
    drop(first);

    let mut resumed = Live::start_from(
        &server,
        support_team(Approval::Confirm, 0),
        &SUPPORT,
        true,
        journal,
    );
    resumed.send(Command::ApproveHandoff {});
    resumed
        .until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    let billing = requests_of(&server, "billing-model");
    assert_eq!(billing.len(), 1);
    let sent = roles_and_texts(&billing[0]);
    assert_eq!(
        sent[0],
        ("system".to_string(), "You are billing.".to_string())
    );
    assert_eq!(
        &sent[1..],
        &edited()
            .into_iter()
            .map(|m| (m.role, m.text))
            .collect::<Vec<_>>()[..]
    );
    assert!(
        !billing[0].to_string().contains("I was charged twice"),
        "{}",
        billing[0]
    );
}

/// Item 3, preview: what `pending_request` shows for a waiting handoff, without an edit and
/// after one, is the request the target then sends: same system prompt, same messages in order.
#[tokio::test]
async fn the_preview_of_a_pending_handoff_is_the_request_the_target_sends() {
    let unedited = preview_then_send(false).await;
    assert!(
        unedited
            .iter()
            .any(|(_, t)| t.contains("triage handed the conversation over")),
        "{unedited:?}"
    );
    assert!(
        unedited
            .iter()
            .any(|(_, t)| t.contains("I was charged twice")),
        "{unedited:?}"
    );
    let edited_sent = preview_then_send(true).await;
    assert_eq!(edited_sent.len(), 3, "{edited_sent:?}");
    assert_ne!(unedited, edited_sent);
}

/// Run the handoff to billing, edited when `edit`; assert the preview taken just before the
/// approval equals billing's request body and return it.
async fn preview_then_send(edit: bool) -> Vec<(String, String)> {
    let server = FakeServer::start().await;
    edit_replies(&server);
    let team = support_team(Approval::Confirm, 0);
    let mut live = Live::start_from(&server, team.clone(), &SUPPORT, true, Vec::new());
    live.send(Command::Send {
        text: "I was charged twice".into(),
        to: None,
    });
    live.until(|k| matches!(k, EventKind::HandoffRequested { .. }))
        .await;
    if edit {
        live.send(Command::EditContext { messages: edited() });
        live.until(|k| matches!(k, EventKind::ContextEdited { .. }))
            .await;
    }
    let ctx = Ctx {
        team,
        agents: agent_configs(&SUPPORT, true),
        unattended: None,
    };
    let state = SessionState::replay(&live.seen);
    let request = pending_request(&ctx, &state, true).expect("a handoff waits");
    let mut shown = vec![(
        "system".to_string(),
        request.system.clone().unwrap_or_default(),
    )];
    shown.extend(request.messages.iter().map(|m| {
        let m = ContextMessage::from_chat(m);
        (m.role, m.text)
    }));
    live.send(Command::ApproveHandoff {});
    live.until(|k| matches!(k, EventKind::SessionFinished { .. }))
        .await;
    let billing = requests_of(&server, "billing-model");
    assert_eq!(roles_and_texts(&billing[0]), shown);
    shown
}
