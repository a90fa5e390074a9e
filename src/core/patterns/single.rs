//! `single`: chat with one agent. A `send` starts its turn; the task is done when the turn ends
//! (completed, failed or cancelled). A `send` while the agent answers enters the conversation and
//! the agent answers it with one more turn before the task ends. Resumed with its turn cut off, the
//! agent answers again.

use crate::core::command::Command;
use crate::core::event::Outcome;
use crate::core::patterns::common::{self, command_error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};

pub struct Single {
    ctx: Ctx,
}

impl Single {
    pub fn new(ctx: Ctx) -> Self {
        Single { ctx }
    }

    fn agent(&self) -> Option<&str> {
        self.ctx.team.members.first().map(String::as_str)
    }
}

impl Pattern for Single {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } => {
                    let Some(agent) = self.agent() else {
                        return vec![command_error(&cmd, "the team has no member")];
                    };
                    if let Some(to) = to.as_deref().filter(|t| *t != agent) {
                        return vec![command_error(&cmd, format!("{to} is not in this team"))];
                    }
                    if state.task.active {
                        return vec![common::follow_up(text, agent)];
                    }
                    vec![
                        common::user_message(text, to.clone()),
                        Effect::StartTurn(TurnSpec::speak(&self.ctx, agent, None)),
                    ]
                }
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Stop {} => common::stop(state),
                _ => common::not_here(&cmd, "single"),
            },
            Input::TurnEnded { turn } => {
                let Some(t) = common::ended(state, turn) else {
                    return Vec::new();
                };
                let (outcome, final_text) = match t.status {
                    TurnStatus::Completed if state.spoke_after(turn) => {
                        let agent = t.agent.clone();
                        return vec![Effect::StartTurn(TurnSpec::speak(&self.ctx, &agent, None))];
                    }
                    TurnStatus::Completed => (Outcome::Completed, Some(t.text.clone())),
                    TurnStatus::Failed => (Outcome::Failed, None),
                    TurnStatus::Cancelled => (Outcome::Cancelled, Some(t.text.clone())),
                    TurnStatus::Running => return Vec::new(),
                };
                vec![Effect::Finish {
                    outcome,
                    final_text,
                }]
            }
            Input::Timer(_) | Input::Continue => Vec::new(),
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        let Some(agent) = self.agent().map(str::to_string) else {
            return Vec::new();
        };
        match common::last_ended(state) {
            Some(turn) if interrupted.is_empty() => self.on(state, Input::TurnEnded { turn }),
            _ => vec![Effect::StartTurn(TurnSpec::speak(&self.ctx, &agent, None))],
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::Command;
    use crate::core::event::{EventKind, Outcome, PatternKind};
    use crate::core::patterns::sim::{Sim, reply};

    #[test]
    fn resumed_mid_answer_the_agent_answers_again() {
        let mut sim = Sim::new(PatternKind::Single, &["solo"], |_| {});
        sim.send("hi");
        sim.stream("solo", "hal");
        sim.restart(0);
        assert!(sim.recent().iter().any(
            |e| matches!(e, EventKind::TurnCancelled { partial_text, .. } if partial_text == "hal")
        ));
        assert_eq!(sim.running_agents(), ["solo"]);
        sim.complete("solo", reply("hello"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("hello".into())))
        );
    }

    #[test]
    fn send_runs_one_turn_and_finishes() {
        let mut sim = Sim::new(PatternKind::Single, &["solo"], |_| {});
        sim.send("hi");
        assert_eq!(sim.running_agents(), vec!["solo"]);
        sim.complete("solo", reply("hello"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("hello".into())))
        );
    }

    #[test]
    fn a_send_while_busy_gets_its_own_turn_and_team_commands_are_errors() {
        let mut sim = Sim::new(PatternKind::Single, &["solo"], |_| {});
        sim.send("hi");
        sim.send("also this");
        assert!(sim.last_error().is_none());
        sim.complete("solo", reply("first"));
        assert!(sim.finished().is_none());
        assert_eq!(sim.running_agents(), vec!["solo"]);
        for cmd in [
            Command::CallVote {},
            Command::ApproveHandoff {},
            Command::Pause {},
        ] {
            sim.command(cmd);
            assert!(sim.last_error().is_some());
        }
        assert_eq!(sim.running_agents(), vec!["solo"]);
    }

    #[test]
    fn cancel_turn_and_stop_end_the_task_as_cancelled() {
        let mut sim = Sim::new(PatternKind::Single, &["solo"], |_| {});
        sim.send("hi");
        sim.stream("solo", "half");
        sim.command(Command::CancelTurn { agent: None });
        assert_eq!(
            sim.finished(),
            Some((Outcome::Cancelled, Some("half".into())))
        );
        assert!(sim.events().iter().any(
            |e| matches!(e, EventKind::TurnCancelled { partial_text, .. } if partial_text == "half")
        ));
        sim.send("next");
        sim.command(Command::Stop {});
        assert_eq!(sim.finished(), Some((Outcome::Cancelled, None)));
        sim.command(Command::CancelTurn { agent: None });
        assert!(sim.last_error().is_some());
    }

    #[test]
    fn a_failed_turn_fails_the_task_and_the_next_send_starts_anew() {
        let mut sim = Sim::new(PatternKind::Single, &["solo"], |_| {});
        sim.send("hi");
        sim.fail("solo", "overloaded");
        assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
        sim.send("again");
        sim.complete("solo", reply("ok"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("ok".into())))
        );
    }
}
