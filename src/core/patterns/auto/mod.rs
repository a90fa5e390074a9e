//! `pattern = "auto"` (issue 11): a router agent picks which of the team's `teams` takes the task,
//! and the session goes on as that team, in the same journal.
//!
//! Mental model: two phases over one state. *Routing*: the person's message opens the task and
//! the router is asked with the forced tool `route_task {team, reason}` (text fallback `ROUTE:`,
//! a bare team name counts too); a malformed answer is asked once more with the error shown,
//! then the task fails saying why. The pick is a `routed` event decided by the team's `approval`
//! like a handoff: `auto` takes it at once, `window` when `approval_window_ms` pass (held while
//! the person decides: `hold_route`), `confirm` waits for the person; within the window the
//! person's `route {team}` picks another team (or confirms). Headless, `--approve` decides.
//! *Routed*: `agents_announced` settles the route (the fold starts the task afresh for the new
//! team), and from then on every input goes to the routed team's own pattern, built from its
//! config like any other, which takes the task as if it had just been sent. An auto team routed
//! to another auto team routes again one level down (`depth`, `state.routes.at(depth)`).
//! Like every pattern this keeps no state of its own: the built routed pattern is only a cache,
//! so a resumed session rebuilds exactly the pattern of the team the journal says is active.

use crate::config::{Approval, PatternKind, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose, RoutedBy, USER};
use crate::core::patterns::common::{self, answer, answer_others, command_error, error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec, UnattendedApproval};
use crate::core::state::route::Route;
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

/// The approval window of a route when the team sets `approval = "window"` without a length.
pub const DEFAULT_WINDOW_MS: u64 = 5000;

/// The timer of the route window `depth` levels down.
pub fn timer_name(depth: usize) -> String {
    format!("route_window:{depth}")
}

pub struct Auto {
    ctx: Ctx,
    depth: usize,
    /// The routed team's pattern, built on first use (a cache: patterns keep no state).
    routed: Option<(String, Box<dyn Pattern>)>,
    /// The `task.first_turn` the routed team was last started on, so it is started once (a
    /// pattern that goes on with `Continue` from its start, a group chat, is not started again).
    started_on: Option<u64>,
}

impl Auto {
    pub fn new(ctx: Ctx) -> Self {
        Self::at(ctx, 0)
    }

    fn at(ctx: Ctx, depth: usize) -> Self {
        Auto {
            ctx,
            depth,
            routed: None,
            started_on: None,
        }
    }

    fn teams(&self) -> &[String] {
        &self.ctx.team.teams
    }

    fn router(&self) -> String {
        self.ctx.team.router.clone().unwrap_or_default()
    }

    fn route<'s>(&self, state: &'s SessionState) -> Option<&'s Route> {
        state.routes.at(self.depth)
    }

    /// The pattern of `team`, built from its resolved config.
    fn routed(&mut self, team: &str) -> Option<&mut Box<dyn Pattern>> {
        if self.routed.as_ref().is_none_or(|(t, _)| t != team) {
            let config = self.ctx.team.resolved.get(team)?.clone();
            let ctx = Ctx {
                team: config,
                agents: self.ctx.agents.clone(),
                unattended: self.ctx.unattended,
            };
            let pattern: Box<dyn Pattern> = if ctx.team.pattern == PatternKind::Auto {
                Box::new(Auto::at(ctx, self.depth + 1))
            } else {
                super::build(ctx)
            };
            self.routed = Some((team.to_string(), pattern));
        }
        self.routed.as_mut().map(|(_, p)| p)
    }

    fn ask_router(&self, state: &SessionState, error: Option<&str>) -> Effect {
        let roster: Vec<String> = self
            .teams()
            .iter()
            .map(|t| {
                match self
                    .ctx
                    .team
                    .resolved
                    .get(t)
                    .and_then(|c| c.description.as_deref())
                {
                    Some(d) => format!("{t} ({d})"),
                    None => t.clone(),
                }
            })
            .collect();
        let mut text = format!(
            "The task: {}\n\nPick the team that should take this task among: {}. Call route_task.",
            state.task.prompt,
            roster.join(", ")
        );
        if let Some(e) = error {
            text = format!("Your previous answer was invalid: {e}. {text}");
        }
        Effect::StartTurn(TurnSpec::forced(
            &self.router(),
            Purpose::Router,
            tools::route_tool(self.teams()),
            text,
        ))
    }

    /// The router's turn `turn` ended: route, ask once more, or fail.
    fn on_router_ended(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let Some(t) = common::ended(state, turn).filter(|t| t.purpose == Purpose::Router) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let why = match t.status {
            TurnStatus::Running => return Vec::new(),
            TurnStatus::Cancelled => {
                return vec![Effect::Finish {
                    outcome: Outcome::Cancelled,
                    final_text: None,
                }];
            }
            TurnStatus::Failed => t
                .error
                .as_ref()
                .map_or("the router's turn failed".to_string(), |e| {
                    e.message.clone()
                }),
            TurnStatus::Completed => {
                let (call, parsed) = tools::parse_route(&t.text, &t.tool_calls, self.teams());
                out.extend(answer_others(&t.agent, turn, &t.tool_calls, call.as_ref()));
                match parsed {
                    Ok((team, reason)) => {
                        out.extend(answer(&t.agent, turn, call.as_ref(), "team picked", false));
                        out.extend(self.picked(state, team, reason));
                        return out;
                    }
                    Err(e) => {
                        out.extend(answer(&t.agent, turn, call.as_ref(), &e.0, true));
                        e.0
                    }
                }
            }
        };
        let attempts = state
            .task_turns()
            .filter(|(_, t)| t.purpose == Purpose::Router)
            .count();
        if attempts < 2 {
            out.push(error(format!(
                "{} did not pick a team ({why}); asking again",
                t.agent
            )));
            out.push(self.ask_router(state, Some(&why)));
            return out;
        }
        let message = format!("{} could not pick a team twice: {why}", t.agent);
        out.push(error(message.clone()));
        out.push(Effect::Finish {
            outcome: Outcome::Failed,
            final_text: Some(message),
        });
        out
    }

    /// The router picked `team`: record it and let the approval decide.
    fn picked(&self, state: &SessionState, team: String, reason: String) -> Vec<Effect> {
        let approval = self.ctx.team.approval.unwrap_or_default();
        let window_ms = self.window_ms();
        let mut out = vec![Effect::Emit(EventKind::Routed {
            team: team.clone(),
            by: RoutedBy::Router,
            reason,
            approval: Some(approval.into()),
            window_ms: (approval == Approval::Window).then_some(window_ms),
        })];
        out.extend(self.decide(state, &team, approval, false));
        out
    }

    fn window_ms(&self) -> u64 {
        self.ctx
            .team
            .approval_window_ms
            .unwrap_or(DEFAULT_WINDOW_MS)
    }

    /// What settles a pending pick of `team` now, if anything: `auto`, `--approve`, or the
    /// window's timer (unless the person holds it).
    fn decide(
        &self,
        state: &SessionState,
        team: &str,
        approval: Approval,
        held: bool,
    ) -> Vec<Effect> {
        match (approval, self.ctx.unattended) {
            (Approval::Auto, _) | (_, Some(UnattendedApproval::Auto)) => self.settle(state, team),
            (_, Some(UnattendedApproval::Reject)) => {
                let message = format!("the route to {team} was rejected by --approve reject");
                vec![
                    error(message.clone()),
                    Effect::Finish {
                        outcome: Outcome::Failed,
                        final_text: Some(message),
                    },
                ]
            }
            (Approval::Window, None) if !held => vec![Effect::SetTimer {
                name: timer_name(self.depth),
                ms: self.window_ms(),
            }],
            _ => Vec::new(),
        }
    }

    /// `team` takes over: its agents not yet announced are, and it starts on the task.
    fn settle(&self, state: &SessionState, team: &str) -> Vec<Effect> {
        let config = self.ctx.team.resolved.get(team);
        let names = config.map(super::announced_agents).unwrap_or_default();
        let fresh: Vec<String> = names
            .into_iter()
            .filter(|n| !state.agents.iter().any(|a| &a.name == n))
            .collect();
        vec![
            Effect::CancelTimer(timer_name(self.depth)),
            Effect::Emit(EventKind::AgentsAnnounced {
                team: team.to_string(),
                agents: super::agent_infos(&self.ctx.agents, &fresh),
            }),
            Effect::Continue,
        ]
    }

    /// The person's `route {team}` while a pick waits.
    fn person_routes(&self, state: &SessionState, cmd: &Command, team: &str) -> Vec<Effect> {
        if self.route(state).is_none_or(|r| r.settled) {
            return vec![command_error(
                cmd,
                "no route waits for a decision: a team can be picked within the approval window",
            )];
        }
        let Ok(team) = tools::parse_route(team, &[], self.teams())
            .1
            .map(|(t, _)| t)
        else {
            return vec![command_error(
                cmd,
                format!(
                    "unknown team '{team}': choose one of {}",
                    self.teams().join(", ")
                ),
            )];
        };
        let mut out = vec![
            Effect::CancelTimer(timer_name(self.depth)),
            Effect::Emit(EventKind::Routed {
                team: team.clone(),
                by: RoutedBy::Person,
                reason: "picked by the person".into(),
                approval: None,
                window_ms: None,
            }),
        ];
        out.extend(self.settle(state, &team));
        out
    }

    fn hold(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
        match self.route(state) {
            Some(r) if !r.settled && !r.held => vec![
                Effect::CancelTimer(timer_name(self.depth)),
                Effect::Emit(EventKind::RouteHeld { by: USER.into() }),
            ],
            Some(r) if !r.settled => vec![command_error(cmd, "the route is already held")],
            _ => vec![command_error(cmd, "no route waits for a decision")],
        }
    }

    /// Inputs before the route is settled.
    fn routing(&self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } if !state.task.active => {
                    // The task is folded before the router is asked about it.
                    vec![common::user_message(text, to.clone()), Effect::Continue]
                }
                Command::Send { text, to } => vec![common::queue(state, text, to.clone())],
                Command::Route { team } => self.person_routes(state, &cmd, team),
                Command::HoldRoute {} => self.hold(state, &cmd),
                Command::CancelQueued { id } => common::cancel_queued(state, &cmd, id),
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Pause {} => common::pause(state, &cmd),
                Command::Resume {} => common::resume(state, &cmd),
                Command::Stop {} => common::stop(state),
                _ => vec![command_error(
                    &cmd,
                    format!(
                        "{} does not apply while the router picks a team",
                        cmd.type_name()
                    ),
                )],
            },
            // Acted on when the person resumes (`go_on`).
            Input::TurnEnded { .. } if state.paused => Vec::new(),
            Input::TurnEnded { turn } => self.on_router_ended(state, turn),
            Input::Timer(name) if name == timer_name(self.depth) => match self.route(state) {
                Some(r) if !r.settled && !r.held => self.settle(state, &r.team.clone()),
                _ => Vec::new(),
            },
            Input::Timer(_) => Vec::new(),
            Input::Continue => self.go_on(state),
        }
    }

    /// Carry on routing from whatever the state says: ask the router, act on its last answer,
    /// or let the pending pick's approval decide.
    fn go_on(&self, state: &SessionState) -> Vec<Effect> {
        if !state.task.active || state.paused || state.is_running(Purpose::Router) {
            return Vec::new();
        }
        match self.route(state) {
            Some(r) if !r.settled => {
                let approval = r.approval.as_ref().map_or(Approval::Auto, config_approval);
                match self.ctx.unattended {
                    Some(_) => self.decide(state, &r.team.clone(), approval, r.held),
                    None => Vec::new(),
                }
            }
            Some(_) => Vec::new(),
            None => match common::last_ended(state) {
                Some(turn) if state.turns[&turn].purpose == Purpose::Router => {
                    self.on_router_ended(state, turn)
                }
                _ => vec![self.ask_router(state, None)],
            },
        }
    }
}

/// The config's approval for an event's.
fn config_approval(a: &crate::core::event::Approval) -> Approval {
    match a {
        crate::core::event::Approval::Confirm => Approval::Confirm,
        crate::core::event::Approval::Window => Approval::Window,
        _ => Approval::Auto,
    }
}

impl Pattern for Auto {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        let Some(team) = self
            .route(state)
            .filter(|r| r.settled)
            .map(|r| r.team.clone())
        else {
            return self.routing(state, input);
        };
        // Routed: the team's pattern decides. It starts on the task the first time it is asked
        // to go on after the route settled (the fold started the task afresh for it).
        let fresh = state.task.active
            && state.task_turns().next().is_none()
            && !state.paused
            && self.started_on != Some(state.task.first_turn);
        let routes_again = self
            .ctx
            .team
            .resolved
            .get(&team)
            .is_some_and(|t| t.pattern == PatternKind::Auto);
        if let Input::Command(cmd @ (Command::Route { .. } | Command::HoldRoute {})) = &input
            && !routes_again
        {
            return vec![command_error(
                cmd,
                format!("no route waits for a decision: the session goes on as {team}"),
            )];
        }
        let start = fresh && input == Input::Continue;
        if start {
            self.started_on = Some(state.task.first_turn);
        }
        let Some(routed) = self.routed(&team) else {
            return vec![error(format!(
                "the routed team '{team}' is not configured any more"
            ))];
        };
        if start {
            return routed.resume(state, &[], 0);
        }
        routed.on(state, input)
    }

    fn resume(
        &mut self,
        state: &SessionState,
        interrupted: &[u64],
        elapsed_ms: u64,
    ) -> Vec<Effect> {
        match self.route(state).cloned() {
            Some(r) if r.settled => {
                self.started_on = Some(state.task.first_turn);
                match self.routed(&r.team) {
                    Some(routed) => routed.resume(state, interrupted, elapsed_ms),
                    None => vec![error(format!(
                        "the routed team '{}' is not configured any more",
                        r.team
                    ))],
                }
            }
            Some(r) => {
                let approval = r.approval.as_ref().map_or(Approval::Auto, config_approval);
                self.decide(state, &r.team, approval, r.held)
            }
            None => match common::last_ended(state) {
                Some(turn)
                    if interrupted.is_empty() && state.turns[&turn].purpose == Purpose::Router =>
                {
                    self.on_router_ended(state, turn)
                }
                _ => vec![self.ask_router(state, None)],
            },
        }
    }
}

/// The team the session goes on as: `team` itself, or for an auto team the config of the team
/// its settled routes lead to.
pub fn active_team<'t>(team: &'t TeamConfig, state: &SessionState) -> &'t TeamConfig {
    let mut current = team;
    for route in state.routes.0.iter().filter(|r| r.settled) {
        match current.resolved.get(&route.team) {
            Some(next) => current = next,
            None => break,
        }
    }
    current
}

#[cfg(test)]
mod tests;
