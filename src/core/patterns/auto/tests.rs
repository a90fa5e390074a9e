use std::collections::BTreeMap;

use serde_json::json;

use super::timer_name;
use crate::config::{Approval, TeamConfig};
use crate::core::Command;
use crate::core::event::{EventKind, Outcome, PatternKind, Purpose, RoutedBy};
use crate::core::patterns::UnattendedApproval;
use crate::core::patterns::sim::{Sim, reply, tool};
use crate::llm::ToolChoice;

fn team(pattern: PatternKind, members: &[&str]) -> TeamConfig {
    let mut t = TeamConfig::new(pattern);
    t.members = members.iter().map(|m| m.to_string()).collect();
    t
}

/// An auto team routing to `solo` (one agent) and `duo` (a two-step pipeline).
fn ask(approval: Approval) -> Sim {
    Sim::new(PatternKind::Auto, &[], |t| {
        t.router = Some("router".into());
        t.teams = vec!["solo".into(), "duo".into()];
        t.approval = Some(approval);
        t.approval_window_ms = Some(1500);
        t.resolved = BTreeMap::from([
            ("solo".to_string(), team(PatternKind::Single, &["s"])),
            (
                "duo".to_string(),
                team(PatternKind::Sequential, &["a", "b"]),
            ),
        ]);
    })
}

fn route(team: &str) -> crate::core::patterns::sim::Reply {
    tool("", "route_task", json!({"team": team, "reason": "fits"}))
}

fn routed(sim: &Sim) -> Vec<(String, RoutedBy)> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::Routed { team, by, .. } => Some((team, by)),
            _ => None,
        })
        .collect()
}

fn announced(sim: &Sim) -> Vec<(String, Vec<String>)> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::AgentsAnnounced { team, agents } => {
                Some((team, agents.into_iter().map(|a| a.name).collect()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_router_picks_and_the_routed_team_takes_the_task() {
    let mut sim = ask(Approval::Auto);
    sim.send("build a todo app");
    let spec = sim.spec_of("router");
    assert_eq!(spec.purpose, Purpose::Router);
    assert_eq!(spec.tool_choice, ToolChoice::Tool("route_task".into()));
    assert_eq!(
        spec.tools[0].parameters["properties"]["team"]["enum"],
        json!(["solo", "duo"])
    );
    sim.complete("router", route("duo"));
    assert_eq!(routed(&sim), [("duo".to_string(), RoutedBy::Router)]);
    assert_eq!(
        announced(&sim),
        [("duo".to_string(), vec!["a".into(), "b".into()])]
    );
    assert_eq!(sim.state.routes.active(), Some("duo"));
    assert_eq!(sim.running_agents(), ["a"]);
    sim.complete("a", reply("spec"));
    sim.complete("b", reply("code"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("code".into())))
    );
    // The session goes on as the routed team: the next task is the pipeline's at once.
    sim.send("again");
    assert_eq!(sim.running_agents(), ["a"]);
    assert_eq!(routed(&sim).len(), 1);
}

#[test]
fn a_reply_that_is_only_a_team_name_is_a_pick() {
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.complete("router", reply("**Solo**"));
    assert_eq!(routed(&sim), [("solo".to_string(), RoutedBy::Router)]);
    assert_eq!(sim.running_agents(), ["s"]);
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.complete("router", reply("ROUTE: duo: two steps"));
    assert_eq!(sim.running_agents(), ["a"]);
}

#[test]
fn a_malformed_answer_is_asked_again_then_the_task_fails_clearly() {
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.complete("router", route("chess"));
    assert!(sim.last_error().is_some_and(|e| e.contains("asking again")));
    let again = sim
        .spec_of("router")
        .instructions
        .clone()
        .unwrap_or_default();
    assert!(again.contains("unknown team 'chess'"), "{again}");
    sim.complete("router", reply("I would rather not say"));
    let (outcome, text) = sim.finished().expect("finished");
    assert_eq!(outcome, Outcome::Failed);
    assert!(text.is_some_and(|t| t.contains("could not pick a team")));
    assert!(routed(&sim).is_empty());
    // A failed router turn counts as a malformed answer too.
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.fail("router", "network");
    assert_eq!(sim.running_agents(), ["router"]);
}

#[test]
fn within_the_window_the_person_picks_another_team() {
    let mut sim = ask(Approval::Window);
    sim.send("hi");
    sim.complete("router", route("duo"));
    assert!(sim.timers.contains(&timer_name(0)));
    assert_eq!(sim.timer_ms[&timer_name(0)], 1500);
    assert!(
        sim.running_agents().is_empty(),
        "nothing runs while the pick waits"
    );
    assert!(announced(&sim).is_empty());
    sim.command(Command::HoldRoute {});
    assert!(
        !sim.timers.contains(&timer_name(0)),
        "held: the window stops"
    );
    assert!(sim.state.routes.pending().is_some_and(|r| r.held));
    sim.command(Command::Route {
        team: "chess".into(),
    });
    assert!(sim.last_error().is_some_and(|e| e.contains("unknown team")));
    sim.command(Command::Route {
        team: "solo".into(),
    });
    assert_eq!(
        routed(&sim),
        [
            ("duo".to_string(), RoutedBy::Router),
            ("solo".to_string(), RoutedBy::Person)
        ]
    );
    assert_eq!(announced(&sim), [("solo".to_string(), vec!["s".into()])]);
    assert_eq!(sim.running_agents(), ["s"]);
    sim.command(Command::Route { team: "duo".into() });
    assert!(
        sim.last_error()
            .is_some_and(|e| e.contains("no route waits"))
    );
}

#[test]
fn when_the_window_runs_out_the_routers_pick_stands() {
    let mut sim = ask(Approval::Window);
    sim.send("hi");
    sim.complete("router", route("duo"));
    sim.timer(&timer_name(0));
    assert_eq!(sim.state.routes.active(), Some("duo"));
    assert_eq!(sim.running_agents(), ["a"]);
}

#[test]
fn confirm_waits_for_the_person_and_unattended_approval_decides() {
    let mut sim = ask(Approval::Confirm);
    sim.send("hi");
    sim.complete("router", route("duo"));
    assert!(sim.timers.is_empty());
    assert!(sim.running_agents().is_empty());
    sim.command(Command::Route { team: "duo".into() });
    assert_eq!(sim.running_agents(), ["a"]);

    let mut sim = ask(Approval::Confirm).unattended(UnattendedApproval::Auto);
    sim.send("hi");
    sim.complete("router", route("duo"));
    assert_eq!(sim.running_agents(), ["a"]);

    let mut sim = ask(Approval::Window).unattended(UnattendedApproval::Reject);
    sim.send("hi");
    sim.complete("router", route("duo"));
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Failed));
}

#[test]
fn resume_rebuilds_the_routed_team_or_the_pending_window() {
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.complete("router", route("duo"));
    sim.complete("a", reply("spec"));
    sim.stream("b", "co");
    sim.restart(0);
    assert_eq!(
        sim.running_agents(),
        ["b"],
        "the routed pipeline goes on where it was"
    );
    sim.complete("b", reply("code"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("code".into())))
    );
    assert_eq!(
        sim.state.turns.values().filter(|t| t.agent == "a").count(),
        1
    );

    let mut sim = ask(Approval::Window);
    sim.send("hi");
    sim.complete("router", route("duo"));
    sim.restart(0);
    assert!(
        sim.timers.contains(&timer_name(0)),
        "the window is armed again"
    );
    sim.timer(&timer_name(0));
    assert_eq!(sim.running_agents(), ["a"]);

    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.stream("router", "so");
    sim.restart(0);
    assert_eq!(
        sim.running_agents(),
        ["router"],
        "an interrupted router is asked again"
    );
}

#[test]
fn a_message_sent_while_routing_waits_for_the_routed_team() {
    let mut sim = ask(Approval::Auto);
    sim.send("hi");
    sim.send("also this");
    assert!(matches!(sim.recent()[0], EventKind::MessageQueued { .. }));
    sim.command(Command::ApproveHandoff {});
    assert!(sim.last_error().is_some_and(|e| e.contains("router picks")));
    sim.complete("router", route("solo"));
    assert!(sim.events().iter().any(|e| matches!(
        e,
        EventKind::UserMessage { queued_id: Some(q), .. } if q == "q1"
    )));
    assert_eq!(sim.running_agents(), ["s"]);
}

#[test]
fn an_auto_team_routed_to_another_routes_again_one_level_down() {
    let mut sim = Sim::new(PatternKind::Auto, &[], |t| {
        t.router = Some("router".into());
        t.teams = vec!["inner".into()];
        let mut inner = TeamConfig::new(PatternKind::Auto);
        inner.router = Some("r2".into());
        inner.teams = vec!["solo".into()];
        inner.resolved = BTreeMap::from([("solo".to_string(), team(PatternKind::Single, &["s"]))]);
        t.resolved = BTreeMap::from([("inner".to_string(), inner)]);
    });
    sim.send("hi");
    sim.complete("router", route("inner"));
    assert_eq!(announced(&sim), [("inner".to_string(), vec!["r2".into()])]);
    sim.complete("r2", route("solo"));
    assert_eq!(sim.state.routes.active(), Some("solo"));
    assert_eq!(sim.running_agents(), ["s"]);
    let active = crate::core::patterns::active_team(&sim.ctx.team, &sim.state);
    assert_eq!(active.members, ["s"]);
    sim.complete("s", reply("done"));
    assert_eq!(
        sim.finished(),
        Some((Outcome::Completed, Some("done".into())))
    );
}

#[test]
fn routed_to_a_handoff_desk_unattended() {
    let mut sim = Sim::new(PatternKind::Auto, &[], |t| {
        t.router = Some("router".into());
        t.teams = vec!["desk".into()];
        t.approval = Some(Approval::Window);
        let mut desk = team(PatternKind::Handoff, &["triage", "billing"]);
        desk.entry = Some("triage".into());
        desk.approval = Some(Approval::Window);
        desk.handoffs = BTreeMap::from([("triage".to_string(), vec!["billing".to_string()])]);
        t.resolved = BTreeMap::from([("desk".to_string(), desk)]);
    })
    .unattended(UnattendedApproval::Auto);
    sim.send("refund");
    sim.complete("router", route("desk"));
    assert_eq!(sim.running_agents(), ["triage"]);
}

#[test]
fn routed_to_a_group_chat_it_is_started_once() {
    let mut sim = Sim::new(PatternKind::Auto, &[], |t| {
        t.router = Some("router".into());
        t.teams = vec!["debate".into()];
        let mut debate = team(PatternKind::GroupChat, &["pro", "con"]);
        debate.max_rounds = Some(1);
        t.resolved = BTreeMap::from([("debate".to_string(), debate)]);
    });
    sim.send("tabs or spaces?");
    assert!(
        sim.spec_of("router")
            .instructions
            .as_deref()
            .is_some_and(|i| i.contains("The task: tabs or spaces?"))
    );
    sim.complete("router", route("debate"));
    assert_eq!(sim.running_agents(), ["pro"]);
    sim.complete("pro", reply("tabs"));
    sim.complete("con", reply("spaces"));
    assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::MaxRounds));
}

#[test]
fn routed_to_a_plan_team_the_planner_is_asked() {
    let mut sim = Sim::new(PatternKind::Auto, &[], |t| {
        t.router = Some("router".into());
        t.teams = vec!["build".into()];
        let mut build = team(PatternKind::Plan, &["dev", "qa"]);
        build.planner = Some("pm".into());
        build.approval = Some(Approval::Auto);
        t.resolved = BTreeMap::from([("build".to_string(), build)]);
    });
    sim.send("build a todo CLI");
    sim.complete("router", route("build"));
    assert_eq!(sim.running_agents(), ["pm"]);
    assert_eq!(sim.spec_of("pm").purpose, Purpose::Planner);
}
