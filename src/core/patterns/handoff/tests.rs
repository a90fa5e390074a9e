//! The handoff pattern driven through the simulator: negotiation under each approval policy,
//! the person's cancel and redirect, fallbacks, loop limits, malformed handoffs and resume.

use serde_json::json;

use crate::config::Approval;
use crate::core::Command;
use crate::core::event::{EventKind, Outcome, PatternKind};
use crate::core::patterns::sim::{Sim, reply, tool, tools};
use crate::core::patterns::{Input, UnattendedApproval};

fn support(approval: Approval) -> Sim {
    Sim::new(PatternKind::Handoff, &["triage", "billing", "tech"], |t| {
        t.entry = Some("triage".into());
        t.approval = Some(approval);
        for (from, to) in [
            ("triage", vec!["billing", "tech"]),
            ("billing", vec!["triage", "tech"]),
            ("tech", vec!["triage"]),
        ] {
            t.handoffs
                .insert(from.into(), to.into_iter().map(String::from).collect());
        }
        t.fallback.insert("billing".into(), vec!["tech".into()]);
    })
}

fn transfer(to: &str) -> crate::core::patterns::sim::Reply {
    tool(
        "",
        &format!("transfer_to_{to}"),
        json!({"reason": "because"}),
    )
}

fn tool_names(sim: &Sim, agent: &str) -> Vec<String> {
    sim.spec_of(agent)
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect()
}

fn has(sim: &Sim, pred: impl Fn(&EventKind) -> bool) -> bool {
    sim.recent().iter().any(pred)
}

#[test]
fn resumed_with_an_active_handoff_the_holder_answers_again() {
    let mut sim = Sim::new(PatternKind::Handoff, &["triage", "billing"], |t| {
        t.approval = Some(Approval::Auto);
        t.handoffs.insert("triage".into(), vec!["billing".into()]);
    });
    sim.send("refund please");
    sim.complete(
        "triage",
        tool("", "transfer_to_billing", json!({"reason": "money"})),
    );
    sim.stream("billing", "let me");
    sim.restart(0);
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
    assert_eq!(sim.running_agents(), ["billing"]);
    assert!(
        sim.spec_of("billing")
            .tools
            .iter()
            .any(|t| t.name == "complete_handoff")
    );
    sim.complete("billing", reply("refunded"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("refunded".into())))
    );
}

#[test]
fn resumed_during_an_approval_window_rearms_the_whole_window() {
    let mut sim = Sim::new(PatternKind::Handoff, &["triage", "billing"], |t| {
        t.approval = Some(Approval::Window);
        t.approval_window_ms = Some(2500);
        t.handoffs.insert("triage".into(), vec!["billing".into()]);
    });
    sim.send("refund please");
    sim.complete(
        "triage",
        tool("", "transfer_to_billing", json!({"reason": "money"})),
    );
    assert!(sim.state.handoff.pending.is_some());
    sim.restart(10_000);
    assert_eq!(sim.timer_ms.get("handoff:h1"), Some(&2500));
    sim.timer("handoff:h1");
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
    assert_eq!(sim.running_agents(), ["billing"]);
}

#[test]
fn auto_handoff_moves_control_and_complete_hands_it_back() {
    let mut sim = support(Approval::Auto);
    sim.send("my card was charged twice");
    assert_eq!(
        tool_names(&sim, "triage"),
        ["transfer_to_billing", "transfer_to_tech"]
    );
    sim.complete("triage", transfer("billing"));
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffAccepted { id, .. } if id == "h1")
    ));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::ToolResult {
            is_error: false,
            turn: 0,
            ..
        }
    )));
    assert_eq!(sim.running_agents(), ["billing"]);
    assert!(tool_names(&sim, "billing").contains(&"complete_handoff".to_string()));
    sim.complete(
        "billing",
        tool(
            "refunded",
            "complete_handoff",
            json!({"summary": "refund issued"}),
        ),
    );
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffCompleted { summary, .. } if summary == "refund issued")
    ));
    assert_eq!(sim.running_agents(), ["triage"]);
    assert!(
        sim.spec_of("triage")
            .instructions
            .as_deref()
            .is_some_and(|i| i.contains("refund issued"))
    );
    sim.complete("triage", reply("anything else?"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("anything else?".into())))
    );
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("triage"));
}

#[test]
fn messages_of_the_person_go_to_the_holder() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    // Sent while billing answers: queued, then billing (the holder) answers it next.
    sim.send("it was 40 euros");
    assert!(has(&sim, |e| matches!(e, EventKind::MessageQueued { .. })));
    sim.complete("billing", reply("looking"));
    assert!(
        sim.recent()
            .iter()
            .any(|e| matches!(e, EventKind::UserMessage { to: Some(to), queued_id: Some(_), .. } if to == "billing"))
    );
    assert_eq!(sim.running_agents(), ["billing"]);
    sim.complete("billing", reply("refunded 40 euros"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("refunded 40 euros".into())))
    );
    sim.send("thanks");
    assert_eq!(sim.running_agents(), ["billing"]);
}

#[test]
fn window_accepts_when_the_timer_runs_out() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffRequested { window_ms: Some(3000), approval: Some(a), .. } if a == "window")
    ));
    assert!(sim.running_agents().is_empty());
    sim.timer("handoff:h1");
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::HandoffAccepted { .. }
    )));
    assert_eq!(sim.running_agents(), ["billing"]);
}

#[test]
fn unattended_a_window_is_settled_at_once_by_the_policy() {
    let mut sim = support(Approval::Window).unattended(UnattendedApproval::Reject);
    sim.send("help");
    sim.complete("triage", transfer("tech"));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::HandoffRejected { reason, .. } if reason == "rejected by --approve reject"
    )));
    assert!(sim.timers.is_empty());
    assert_eq!(sim.running_agents(), ["triage"]);

    let mut sim = support(Approval::Window).unattended(UnattendedApproval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("tech"));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::HandoffAccepted { reason, .. } if reason == "approved by --approve auto"
    )));
    assert!(sim.timers.is_empty());
    assert_eq!(sim.running_agents(), ["tech"]);
}

#[test]
fn becoming_unattended_settles_the_waiting_handoff() {
    for approval in [Approval::Confirm, Approval::Window] {
        let mut sim = support(approval);
        sim.send("help");
        sim.complete("triage", transfer("tech"));
        sim.input(Input::Continue);
        assert!(sim.state.handoff.pending.is_some(), "{approval:?}");
        sim.ctx.unattended = Some(UnattendedApproval::Reject);
        sim.pattern = crate::core::patterns::build(sim.ctx.clone());
        sim.input(Input::Continue);
        assert!(sim.state.handoff.pending.is_none(), "{approval:?}");
        assert!(sim.timers.is_empty(), "{approval:?}");
        assert_eq!(sim.running_agents(), ["triage"], "{approval:?}");
    }
}

#[test]
fn cancel_during_the_window_returns_control_to_the_requester() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::CancelHandoff {});
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffCancelled { id, by } if id == "h1" && by == "user")
    ));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::ToolResult { is_error: true, .. }
    )));
    assert!(sim.timers.is_empty());
    assert_eq!(sim.running_agents(), ["triage"]);
    assert!(sim.state.handoff.pending.is_none());
}

#[test]
fn redirect_to_a_non_member_is_an_error_and_to_an_allowed_target_accepts() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::RedirectHandoff { to: "ghost".into() });
    assert!(sim.last_error().is_some_and(|e| e.contains("ghost")));
    assert!(sim.state.handoff.pending.is_some());
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffRedirected { from_target, to, .. } if from_target == "billing" && to == "tech")
    ));
    assert_eq!(sim.running_agents(), ["tech"]);
    assert!(sim.timers.is_empty());
}

#[test]
fn confirm_waits_for_approval_and_reject_falls_back() {
    let mut sim = support(Approval::Confirm);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    assert!(sim.running_agents().is_empty());
    // A message while the handoff waits is queued, then delivered to whoever holds control next.
    sim.send("hello?");
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::MessageQueued { id, .. } if id == "q1")
    ));
    sim.command(Command::RejectHandoff {
        reason: Some("not billing".into()),
    });
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffRejected { reason, .. } if reason == "not billing")
    ));
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffFallback { failed, to, .. } if failed == "billing" && to == "tech")
    ));
    assert_eq!(sim.running_agents(), ["tech"]);
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::UserMessage { text, queued_id: Some(q), .. } if text == "hello?" && q == "q1")
    ));
    assert!(sim.state.queued.is_empty());
    assert_eq!(sim.state.handoff.chain.len(), 1);
    sim.command(Command::ApproveHandoff {});
    assert!(sim.last_error().is_some());
}

#[test]
fn confirm_approve_and_unattended_policies() {
    let mut sim = support(Approval::Confirm);
    sim.send("help");
    sim.complete("triage", transfer("tech"));
    sim.command(Command::ApproveHandoff {});
    assert_eq!(sim.running_agents(), ["tech"]);

    let mut sim = support(Approval::Confirm).unattended(UnattendedApproval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("tech"));
    assert_eq!(sim.running_agents(), ["tech"]);

    let mut sim = support(Approval::Confirm).unattended(UnattendedApproval::Reject);
    sim.send("help");
    sim.complete("triage", transfer("tech"));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::HandoffRejected { .. }
    )));
    assert_eq!(sim.running_agents(), ["triage"]);
}

#[test]
fn cancel_a_handoff_two_levels_deep() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.complete("billing", transfer("tech"));
    assert_eq!(sim.state.handoff.chain.len(), 2);
    sim.stream("tech", "let me check");
    sim.command(Command::CancelHandoff {});
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "tech" && partial_text == "let me check")
    ));
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffCancelled { id, .. } if id == "h2")
    ));
    assert_eq!(sim.running_agents(), ["billing"]);
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
    assert_eq!(sim.state.handoff.chain.len(), 1);
    assert!(sim.finished().is_none());
}

#[test]
fn redirect_an_active_handoff() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    assert_eq!(sim.running_agents(), ["tech"]);
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("tech"));
}

#[test]
fn a_failed_target_falls_back() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.fail("billing", "overloaded");
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffFallback { failed, to, .. } if failed == "billing" && to == "tech")
    ));
    assert_eq!(sim.running_agents(), ["tech"]);
    sim.fail("tech", "overloaded");
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
}

#[test]
fn two_handoffs_in_one_reply_first_wins() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete(
        "triage",
        tools(
            "",
            &[
                ("transfer_to_tech", json!({"reason": "a"})),
                ("transfer_to_billing", json!({"reason": "b"})),
            ],
        ),
    );
    assert_eq!(sim.running_agents(), ["tech"]);
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::ToolResult { call_id, is_error: true, .. } if call_id == "call_1")
    ));
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::ToolResult { call_id, is_error: false, .. } if call_id == "call_0")
    ));
}

#[test]
fn ping_pong_is_stopped() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.complete("billing", transfer("triage"));
    sim.complete("triage", transfer("billing"));
    assert!(sim.last_error().is_some_and(|e| e.contains("ping-pong")));
    assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
    assert!(sim.running_agents().is_empty());
}

#[test]
fn depth_limit_stops_the_chain() {
    let mut sim = Sim::new(PatternKind::Handoff, &["a", "b", "c"], |t| {
        t.max_depth = Some(1);
        t.handoffs.insert("a".into(), vec!["b".into()]);
        t.handoffs.insert("b".into(), vec!["c".into()]);
    });
    sim.send("go");
    sim.complete("a", transfer("b"));
    sim.complete("b", transfer("c"));
    assert!(sim.last_error().is_some_and(|e| e.contains("depth")));
    assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
}

#[test]
fn malformed_handoff_is_retried_once_then_the_reply_stands() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", tool("hm", "transfer_to_nobody", json!({})));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::ToolResult { is_error: true, .. }
    )));
    assert!(
        sim.spec_of("triage")
            .instructions
            .as_deref()
            .is_some_and(|i| i.contains("billing"))
    );
    sim.complete("triage", reply("HANDOFF: nobody: still wrong"));
    assert_eq!(
        sim.finished(),
        Some((
            Outcome::Completed,
            Some("HANDOFF: nobody: still wrong".into())
        ))
    );
}

#[test]
fn text_marker_handoff_works_without_tools() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", reply("Passing you on.\nHANDOFF: tech: printer"));
    assert_eq!(sim.running_agents(), ["tech"]);
}

#[test]
fn commands_without_a_handoff_are_errors() {
    let mut sim = support(Approval::Auto);
    for cmd in [
        Command::ApproveHandoff {},
        Command::RejectHandoff { reason: None },
        Command::CancelHandoff {},
        Command::RedirectHandoff { to: "tech".into() },
        Command::PickSpeaker {
            agent: "tech".into(),
        },
        Command::CallVote {},
        Command::Interject { text: "x".into() },
    ] {
        sim.command(cmd.clone());
        assert!(sim.last_error().is_some(), "{cmd:?}");
    }
}

#[test]
fn a_resumed_pattern_decides_like_the_live_one() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    let live = sim.decide(crate::core::patterns::Input::Timer("handoff:h1".into()));
    sim.resume();
    let resumed = sim.decide(crate::core::patterns::Input::Timer("handoff:h1".into()));
    assert_eq!(live, resumed);
    assert!(!live.is_empty());
}

#[test]
fn hold_stops_the_window_until_the_person_decides() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    assert!(sim.timers.contains("handoff:h1"));
    sim.command(Command::HoldHandoff {});
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffHeld { id, by } if id == "h1" && by == "user")
    ));
    assert!(sim.timers.is_empty(), "the window no longer counts");
    // A timer that fired just before the hold reached the actor accepts nothing.
    sim.input(Input::Timer("handoff:h1".into()));
    assert!(sim.state.handoff.pending.is_some());
    assert!(sim.running_agents().is_empty());
    // A second hold changes nothing; a resume does not re-arm the window.
    sim.command(Command::HoldHandoff {});
    assert!(sim.recent().is_empty());
    sim.restart(60_000);
    assert!(sim.timers.is_empty());
    assert!(sim.state.handoff.pending.as_ref().is_some_and(|p| p.held));
    // The person decides long after the window would have run out.
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    assert_eq!(sim.running_agents(), ["tech"]);
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("tech"));
}

#[test]
fn hold_without_a_pending_handoff_is_an_error_and_confirm_needs_no_hold() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.command(Command::HoldHandoff {});
    assert!(sim.last_error().is_some_and(|e| e.contains("no handoff")));
    let mut sim = support(Approval::Confirm);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::HoldHandoff {});
    assert!(sim.recent().is_empty());
}

#[test]
fn redirect_and_cancel_while_the_holder_speaks_keep_its_partial_text() {
    let mut sim = support(Approval::Window);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.timer("handoff:h1");
    sim.stream("billing", "Let me look at your invo");
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "billing" && partial_text == "Let me look at your invo")
    ));
    assert_eq!(sim.running_agents(), ["tech"]);
    assert!(sim.finished().is_none());
    sim.stream("tech", "Which vers");
    sim.command(Command::CancelHandoff {});
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "tech" && partial_text == "Which vers")
    ));
    assert_eq!(sim.running_agents(), ["triage"]);
    assert_eq!(sim.state.handoff.holder.as_deref(), Some("triage"));
    assert!(sim.finished().is_none());
}

#[test]
fn redirect_targets_are_the_ones_the_core_accepts() {
    let sim = support(Approval::Window);
    let team = &sim.ctx.team;
    assert_eq!(
        crate::core::patterns::redirect_targets(team, "triage", "billing"),
        ["tech"]
    );
    assert!(crate::core::patterns::redirect_targets(team, "tech", "triage").is_empty());
}

#[test]
fn the_target_learns_who_and_why_and_the_summary_returns_redacted_under_the_edge_mode() {
    let mut sim = support(Approval::Auto);
    sim.ctx.team.sanitize = Some(true);
    sim.ctx
        .team
        .edges
        .insert("triage->billing".into(), crate::config::ContextMode::None);
    sim.pattern = crate::core::patterns::build(sim.ctx.clone());
    sim.send("charged twice");
    sim.complete(
        "triage",
        tool(
            "",
            "transfer_to_billing",
            json!({"reason": "refund for bob@example.com"}),
        ),
    );
    let spec = sim.spec_of("billing");
    assert_eq!(
        spec.context,
        crate::config::ContextMode::None,
        "edge honoured"
    );
    let told = spec.instructions.clone().unwrap_or_default();
    assert!(
        told.contains("triage handed the conversation over"),
        "{told}"
    );
    assert!(told.contains("Reason: refund for"), "{told}");
    assert!(!told.contains("bob@example.com"), "{told}");
    sim.complete(
        "billing",
        tool(
            "",
            "complete_handoff",
            json!({"summary": "refunded; receipt to bob@example.com"}),
        ),
    );
    let told = sim
        .spec_of("triage")
        .instructions
        .clone()
        .unwrap_or_default();
    assert!(told.contains("billing completed the handoff"), "{told}");
    assert!(told.contains("Summary: refunded; receipt to"), "{told}");
    assert!(!told.contains("bob@example.com"), "{told}");
}

#[test]
fn a_redirected_or_fallback_holder_is_told_who_handed_over_and_why() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    let told = sim.spec_of("tech").instructions.clone().unwrap_or_default();
    assert!(
        told.contains("triage handed the conversation over"),
        "{told}"
    );
    assert!(told.contains("Reason: because"), "{told}");
    assert!(told.contains("redirected it from billing"), "{told}");

    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.fail("billing", "overloaded");
    let told = sim.spec_of("tech").instructions.clone().unwrap_or_default();
    assert!(told.contains("Reason: because"), "{told}");
    assert!(told.contains("billing could not take it over"), "{told}");
}

#[test]
fn pause_holds_the_holders_reply_until_resume() {
    let mut sim = support(Approval::Auto);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(Command::Pause {});
    assert!(sim.state.paused);
    sim.complete("billing", transfer("tech"));
    assert!(sim.running_agents().is_empty(), "held while paused");
    assert!(!has(&sim, |e| matches!(
        e,
        EventKind::HandoffRequested { .. }
    )));
    sim.command(Command::Resume {});
    assert!(has(
        &sim,
        |e| matches!(e, EventKind::HandoffRequested { from, to, .. } if from == "billing" && to == "tech")
    ));
    assert_eq!(sim.running_agents(), ["tech"]);
    sim.command(Command::Resume {});
    assert!(sim.last_error().is_some_and(|e| e.contains("not paused")));
}

fn edit(text: &str) -> Command {
    Command::EditContext {
        messages: vec![crate::core::event::ContextMessage {
            role: "user".into(),
            text: text.into(),
        }],
    }
}

#[test]
fn an_edit_follows_its_handoff_to_the_target_and_no_further() {
    let mut sim = support(Approval::Confirm);
    sim.send("help");
    sim.command(edit("early"));
    assert!(sim.last_error().is_some_and(|e| e.contains("no handoff")));
    sim.complete("triage", transfer("billing"));
    sim.command(Command::EditContext { messages: vec![] });
    assert!(sim.last_error().is_some_and(|e| e.contains("at least one")));
    sim.command(edit("only this"));
    assert!(has(&sim, |e| matches!(
        e,
        EventKind::ContextEdited { handoff, agent, by, messages }
            if handoff == "h1" && agent == "billing" && by == "user" && messages.len() == 1
    )));
    // Not used while the handoff waits; once accepted, only by the target it was made for.
    assert!(sim.state.edited_context("billing").is_none());
    sim.command(Command::ApproveHandoff {});
    let used = sim.state.edited_context("billing").map(<[_]>::to_vec);
    assert_eq!(
        used.map(|m| m[0].text.clone()).as_deref(),
        Some("only this")
    );
    assert!(sim.state.edited_context("triage").is_none());
    // Its first reply uses it up.
    sim.complete("billing", reply("Done."));
    assert!(sim.state.handoff.edited.is_none());

    // A redirect drops the edit: the new target gets its ordinary context.
    let mut sim = support(Approval::Confirm);
    sim.send("help");
    sim.complete("triage", transfer("billing"));
    sim.command(edit("for billing"));
    sim.command(Command::RedirectHandoff { to: "tech".into() });
    assert!(sim.state.handoff.edited.is_none());
    assert!(sim.state.edited_context("tech").is_none());
}
