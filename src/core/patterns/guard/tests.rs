use serde_json::json;

use super::*;
use crate::config::Approval;
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, PatternKind};
use crate::core::patterns::UnattendedApproval;
use crate::core::patterns::sim::{Reply, Sim, reply, tool as call};

fn verdict(allow: bool, reason: &str) -> Reply {
    call("", GUARD_VERDICT, json!({"allow": allow, "reason": reason}))
}

fn calls(name: &str, args: &str) -> Vec<ToolCallInfo> {
    vec![ToolCallInfo {
        id: "1".into(),
        name: name.into(),
        arguments: args.into(),
    }]
}

fn tripped_events(sim: &Sim) -> Vec<(Boundary, String, String)> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::GuardTripped {
                boundary,
                subject,
                reason,
                ..
            } => Some((boundary, subject, reason)),
            _ => None,
        })
        .collect()
}

fn asked_count(sim: &Sim) -> usize {
    sim.events()
        .iter()
        .filter(|e| matches!(e, EventKind::GuardAsked { .. }))
        .count()
}

fn single() -> Sim {
    Sim::new(PatternKind::Single, &["writer"], |t| {
        t.guard = Some("compliance".into());
        t.description = Some("answers customers".into());
    })
}

// --- the verdict ---------------------------------------------------------------------------

#[test]
fn a_verdict_is_read_from_the_tool_the_marker_or_a_bare_word() {
    let v = parse_verdict(
        "",
        &calls(GUARD_VERDICT, r#"{"allow":false,"reason":"pii"}"#),
    );
    assert_eq!(
        v,
        Ok(Verdict {
            allow: false,
            reason: "pii".into()
        })
    );
    let v = parse_verdict(
        "",
        &calls(GUARD_VERDICT, r#"{"allow":"allow","reason":"ok"}"#),
    );
    assert!(v.is_ok_and(|v| v.allow));
    let v = parse_verdict("Thinking.\n**GUARD: deny: it leaks a key**", &[]).unwrap();
    assert_eq!((v.allow, v.reason.as_str()), (false, "it leaks a key"));
    assert!(parse_verdict("guard: ALLOW: fine", &[]).unwrap().allow);
    assert!(parse_verdict(" **Allow.** ", &[]).unwrap().allow);
    assert!(!parse_verdict("deny", &[]).unwrap().allow);
}

#[test]
fn a_malformed_verdict_says_what_to_fix() {
    for (text, calls, wanted) in [
        ("I am not sure.", vec![], "no verdict found"),
        ("GUARD: maybe: hmm", vec![], "invalid verdict 'maybe'"),
        (
            "",
            calls(GUARD_VERDICT, r#"{"reason":"r"}"#),
            "needs `allow`",
        ),
        ("", calls(GUARD_VERDICT, "[1]"), "must be a JSON object"),
        (
            "",
            calls(GUARD_VERDICT, r#"{"reason":"fine","allow":"al"#),
            "cut off inside `allow`",
        ),
    ] {
        let e = parse_verdict(text, &calls).unwrap_err();
        assert!(e.0.contains(wanted), "{text:?}: {}", e.0);
    }
}

#[test]
fn the_guard_turn_forces_the_verdict_and_shows_what_crosses_and_the_team() {
    let sim = single();
    let c = handoff("h1", "writer", "billing", "card issue");
    let spec = turn(&sim.ctx, "compliance", &c, Some("no verdict found"));
    assert_eq!(spec.purpose, Purpose::Guard);
    assert_eq!(
        spec.tool_choice,
        crate::llm::ToolChoice::Tool(GUARD_VERDICT.into())
    );
    assert_eq!(spec.context, ContextMode::None);
    let text = spec.instructions.unwrap();
    for wanted in [
        "answers customers",
        "handoff h1: writer → billing",
        "writer → billing, the reason given:\ncard issue",
        "could not be used (no verdict found)",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert!(
        crate::core::tools::marker_instructions(&verdict_tool()).contains("GUARD: <allow|deny>")
    );
}

// --- the final answer ----------------------------------------------------------------------

#[test]
fn an_allowed_final_answer_is_given_as_the_pattern_said() {
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello there."));
    assert_eq!(sim.finished(), None, "held for the guard");
    assert!(sim.events().iter().any(|e| matches!(e,
        EventKind::GuardAsked { boundary: Boundary::Final, content, outcome: Some(Outcome::Completed), .. }
            if content == "Hello there.")));
    sim.complete("compliance", verdict(true, "fine"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("Hello there.".into())))
    );
    assert!(tripped_events(&sim).is_empty());
}

#[test]
fn a_denied_final_answer_is_withheld_and_the_task_fails() {
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("The card number is 4111."));
    sim.complete("compliance", verdict(false, "it leaks a card number"));
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
    assert_eq!(
        tripped_events(&sim),
        [(
            Boundary::Final,
            "final answer of writer".to_string(),
            "it leaks a card number".to_string()
        )]
    );
    // The next task is guarded afresh.
    sim.send("again");
    sim.complete("writer", reply("Fine now."));
    sim.complete("compliance", verdict(true, "ok"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("Fine now.".into())))
    );
}

#[test]
fn a_malformed_verdict_is_asked_once_more_then_the_guard_fails_closed() {
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    sim.complete("compliance", reply("Hmm, hard to say."));
    assert_eq!(asked_count(&sim), 2, "asked again");
    assert!(
        sim.spec_of("compliance")
            .instructions
            .as_deref()
            .is_some_and(|i| i.contains("no verdict found"))
    );
    sim.complete("compliance", reply("Still thinking."));
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
    let trips = tripped_events(&sim);
    assert!(trips[0].2.starts_with("fail closed"), "{trips:?}");
    // One malformed answer, then a good one: it counts.
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    sim.complete("compliance", reply("?"));
    sim.complete("compliance", reply("allow"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("Hello.".into())))
    );
}

#[test]
fn a_failed_guard_call_denies_and_while_it_runs_the_pattern_hears_nothing() {
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    sim.command(Command::PickSpeaker {
        agent: "writer".into(),
    });
    assert!(
        sim.last_error()
            .is_some_and(|e| e.contains("waits for the guard"))
    );
    sim.fail("compliance", "network");
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
    assert!(tripped_events(&sim)[0].2.contains("could not be asked"));
}

#[test]
fn stop_while_the_guard_decides_ends_cancelled_without_the_unchecked_answer() {
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    sim.command(Command::Stop {});
    assert_eq!(sim.finished(), Some((Outcome::Cancelled, None)));
    assert!(sim.state.running_turns().is_empty());
}

#[test]
fn every_pattern_s_final_answer_is_guarded() {
    let mut sim = Sim::new(PatternKind::Sequential, &["pm", "dev"], |t| {
        t.guard = Some("g".into())
    });
    sim.send("build it");
    sim.complete("pm", reply("spec"));
    sim.complete("dev", reply("code"));
    assert_eq!(sim.finished(), None);
    sim.complete("g", verdict(true, "ok"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("code".into())))
    );

    let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |t| {
        t.guard = Some("g".into())
    });
    sim.send("q");
    sim.complete("a", reply("A"));
    sim.complete("b", reply("B"));
    sim.complete("g", verdict(false, "no"));
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
}

#[test]
fn a_resumed_session_reads_a_given_verdict_and_asks_again_after_an_interrupted_one() {
    // Interrupted while the guard was deciding: asked again.
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    sim.restart(0);
    assert_eq!(asked_count(&sim), 2);
    sim.complete("compliance", verdict(true, "ok"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("Hello.".into())))
    );

    // The verdict was given but the process died before the finish: not asked again.
    let mut sim = single();
    sim.send("hi");
    sim.complete("writer", reply("Hello."));
    let turn = sim.turn_of("compliance");
    let at = sim.log.len();
    guard_says(
        &mut sim,
        turn,
        "",
        calls(GUARD_VERDICT, r#"{"allow":false,"reason":"no"}"#),
    );
    assert_eq!(sim.log.len(), at + 1);
    sim.restart(0);
    assert_eq!(asked_count(&sim), 1, "not asked again");
    assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
}

// --- handoffs ------------------------------------------------------------------------------

fn support(approval: Approval) -> Sim {
    Sim::new(PatternKind::Handoff, &["triage", "billing", "tech"], |t| {
        t.entry = Some("triage".into());
        t.handoffs
            .insert("triage".into(), vec!["billing".into(), "tech".into()]);
        t.fallback.insert("billing".into(), vec!["tech".into()]);
        t.approval = Some(approval);
        t.guard = Some("compliance".into());
    })
}

fn transfer(sim: &mut Sim) {
    sim.send("refund please");
    sim.complete(
        "triage",
        call("", "transfer_to_billing", json!({"reason": "refund"})),
    );
}

#[test]
fn a_handoff_waits_for_the_guard_and_is_accepted_when_allowed() {
    let mut sim = support(Approval::Auto);
    transfer(&mut sim);
    assert_eq!(sim.running_agents(), ["compliance"]);
    assert!(sim.state.handoff.pending.is_some());
    sim.complete("compliance", verdict(true, "refunds are billing's"));
    assert!(sim.events().iter().any(|e| matches!(e,
        EventKind::HandoffAccepted { reason, .. } if reason.contains("compliance allowed it: refunds"))));
    assert_eq!(sim.running_agents(), ["billing"]);
}

#[test]
fn a_denied_handoff_is_rejected_and_falls_back() {
    let mut sim = support(Approval::Auto);
    transfer(&mut sim);
    sim.complete("compliance", verdict(false, "billing is closed"));
    let trips = tripped_events(&sim);
    assert_eq!(trips.len(), 1);
    assert_eq!(trips[0].0, Boundary::Handoff);
    assert_eq!(trips[0].1, "handoff h1: triage → billing");
    assert!(sim.events().iter().any(|e| matches!(e,
        EventKind::HandoffRejected { reason, .. } if reason.contains("blocked by the guard compliance: billing is closed"))));
    assert!(sim.events().iter().any(|e| matches!(e,
        EventKind::HandoffFallback { to, .. } if to == "tech")));
    assert_eq!(sim.running_agents(), ["tech"]);
}

#[test]
fn a_handoff_the_person_approves_is_checked_after_the_approval() {
    let mut sim = support(Approval::Confirm);
    transfer(&mut sim);
    assert!(
        sim.running_agents().is_empty(),
        "waits for the person first"
    );
    sim.command(Command::ApproveHandoff {});
    assert_eq!(sim.running_agents(), ["compliance"]);
    sim.command(Command::ApproveHandoff {});
    assert_eq!(asked_count(&sim), 1, "a second approval changes nothing");
    sim.complete("compliance", reply("GUARD: allow: fine"));
    assert_eq!(sim.running_agents(), ["billing"]);
}

#[test]
fn a_malformed_handoff_verdict_twice_rejects_it_and_unattended_runs_are_guarded_too() {
    let mut sim = support(Approval::Confirm).unattended(UnattendedApproval::Auto);
    transfer(&mut sim);
    sim.complete("compliance", reply("dunno"));
    sim.complete("compliance", reply("dunno"));
    assert!(tripped_events(&sim)[0].2.starts_with("fail closed"));
    assert!(sim.state.handoff.pending.is_none());
    assert_eq!(sim.running_agents(), ["tech"]);
}

#[test]
fn a_rejected_handoff_ignores_the_late_verdict() {
    let mut sim = support(Approval::Confirm);
    transfer(&mut sim);
    sim.command(Command::ApproveHandoff {});
    sim.command(Command::RejectHandoff {
        reason: Some("changed my mind".into()),
    });
    let before = sim.events().len();
    sim.complete("compliance", verdict(true, "ok"));
    let after: Vec<_> = sim.events()[before..].to_vec();
    assert!(
        !after
            .iter()
            .any(|e| matches!(e, EventKind::HandoffAccepted { .. })),
        "{after:?}"
    );
}

// --- tool calls (the actor's boundary; decisions here) -------------------------------------

/// Perform what `check` asks for `c` (its `guard_asked` and the guard's turn); the turn's id.
fn ask_about(sim: &mut Sim, c: &Crossing) -> u64 {
    let ctx = sim.ctx.clone();
    let Check::Ask(effects) = check(&ctx, &sim.state, c.clone()) else {
        panic!("asks");
    };
    for e in effects {
        match e {
            Effect::Emit(kind) => sim.emit(kind),
            Effect::StartTurn(spec) => {
                let turn = sim.state.next_turn;
                sim.emit(EventKind::TurnStarted {
                    agent: spec.agent,
                    turn,
                    round: None,
                    purpose: spec.purpose,
                });
            }
            other => panic!("{other:?}"),
        }
    }
    sim.turn_of("compliance")
}

/// The guard's turn `turn` completes with `text` and `calls`.
fn guard_says(sim: &mut Sim, turn: u64, text: &str, calls: Vec<ToolCallInfo>) {
    sim.emit(EventKind::Message {
        agent: "compliance".into(),
        turn,
        text: text.into(),
        usage: Default::default(),
        ttft_ms: None,
        latency_ms: 0,
        finish: "stop".into(),
        purpose: Purpose::Guard,
        tool_calls: calls,
        served_by: None,
        continues: false,
    });
}

/// Ask about `c` and let the guard answer; what its answers add up to.
fn answer_about(sim: &mut Sim, c: &Crossing, text: &str, calls: Vec<ToolCallInfo>) -> Decision {
    let turn = ask_about(sim, c);
    guard_says(sim, turn, text, calls);
    let asked = sim.state.guards.of_turn(turn).unwrap().clone();
    decide(&sim.state, &asked)
}

#[test]
fn a_tool_call_is_asked_about_once_and_passes_once_allowed() {
    let mut sim = single();
    let ctx = sim.ctx.clone();
    let c = tool("c1", "writer", "fs", "write_file", r#"{"path":"a"}"#);
    let turn = ask_about(&mut sim, &c);
    assert_eq!(check(&ctx, &sim.state, c.clone()), Check::Wait);
    let asked = sim.state.guards.of_turn(turn).unwrap().clone();
    assert_eq!(asked.crossing.subject, "fs.write_file called by writer");
    guard_says(&mut sim, turn, "GUARD: allow: harmless", Vec::new());
    assert_eq!(
        check(&ctx, &sim.state, c.clone()),
        Check::Pass(Some("harmless".into()))
    );
    // The same call with other arguments is another question.
    let other = tool("c1", "writer", "fs", "write_file", r#"{"path":"b"}"#);
    assert!(matches!(check(&ctx, &sim.state, other), Check::Ask(_)));
    // Without a guard everything passes.
    let mut open = ctx.clone();
    open.team.guard = None;
    assert_eq!(check(&open, &sim.state, c), Check::Pass(None));
}

#[test]
fn a_tool_call_is_denied_or_asked_again_then_denied_fail_closed() {
    let mut sim = single();
    let c = tool("c1", "writer", "fs", "delete", r#"{"path":"/"}"#);
    assert_eq!(
        answer_about(
            &mut sim,
            &c,
            "",
            calls(
                GUARD_VERDICT,
                r#"{"allow":false,"reason":"deletes everything"}"#
            )
        ),
        Decision::Deny("deletes everything".into())
    );
    let mut sim = single();
    let first = answer_about(&mut sim, &c, "no idea", vec![]);
    assert!(
        matches!(&first, Decision::Ask(Some(n)) if n.contains("no verdict found")),
        "{first:?}"
    );
    let asked = sim.state.guards.get(&Boundary::Tool, "c1").unwrap().clone();
    assert_eq!(
        answer_calls(&sim.state, &asked, &first),
        Vec::new(),
        "a text answer has no call to answer"
    );
    let second = answer_about(&mut sim, &c, "still no idea", vec![]);
    assert!(
        matches!(&second, Decision::Deny(r) if r.starts_with("fail closed: no usable verdict after 2 asks")),
        "{second:?}"
    );
    // The call's end closes the question; a guard's own verdict call result does not.
    sim.emit(EventKind::ToolResult {
        agent: "compliance".into(),
        turn: 0,
        call_id: "c1".into(),
        name: GUARD_VERDICT.into(),
        content: "allowed".into(),
        is_error: false,
        server: None,
        ms: None,
    });
    assert!(sim.state.guards.get(&Boundary::Tool, "c1").unwrap().open);
    sim.emit(EventKind::ToolRejected {
        call_id: "c1".into(),
        by: "guard".into(),
        reason: "no".into(),
    });
    assert!(!sim.state.guards.get(&Boundary::Tool, "c1").unwrap().open);
}
