//! `sequential`: an SOP pipeline (product manager → architect → developer → QA). Each step is one
//! speak turn of its agent with the step's instructions, seeing the context passed from the steps
//! before it (the team's or the edge's context mode). A failed step fails the task; the last
//! step's answer is the final answer. Pause holds the next step; resume starts it. A resumed
//! session runs the step that was cut off again. A message sent during a step waits for the next
//! one (see `queue`); one addressed `@agent` to a step already done runs that step again with it,
//! then the pipeline goes on where it was.

use crate::config::Step;
use crate::core::command::Command;
use crate::core::event::{Outcome, Purpose};
use crate::core::patterns::common;
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};

pub struct Sequential {
    ctx: Ctx,
}

impl Sequential {
    pub fn new(ctx: Ctx) -> Self {
        Sequential { ctx }
    }

    /// The configured steps, else one step per member in order.
    fn steps(&self) -> Vec<Step> {
        if self.ctx.team.steps.is_empty() {
            self.ctx
                .team
                .members
                .iter()
                .map(|m| Step {
                    agent: m.clone(),
                    instructions: None,
                })
                .collect()
        } else {
            self.ctx.team.steps.clone()
        }
    }

    fn advance(&self, state: &SessionState) -> Vec<Effect> {
        if !state.task.active || state.paused || !state.running_turns().is_empty() {
            return Vec::new();
        }
        let steps = self.steps();
        // Steps done: completed speak turns in step order (a re-run step does not count twice).
        let mut done = 0;
        for (_, t) in state.task_turns() {
            if t.purpose == Purpose::Speak
                && t.status == TurnStatus::Completed
                && steps.get(done).is_some_and(|s| s.agent == t.agent)
            {
                done += 1;
            }
        }
        // A queued `@agent` message for a step already done runs that step again with it.
        let rerun = state.queued.iter().find_map(|q| {
            let to = q.to.as_deref()?;
            steps[..done].iter().position(|s| s.agent == to)
        });
        if let Some(i) = rerun {
            let step = &steps[i];
            let mut spec = TurnSpec::speak(&self.ctx, &step.agent, None);
            spec.instructions = Some(format!(
                "Step {} of {} again: the person addressed you above; redo your part with what they said.{}",
                i + 1,
                steps.len(),
                step.instructions
                    .as_ref()
                    .map(|s| format!(" Your step: {s}"))
                    .unwrap_or_default()
            ));
            return vec![Effect::StartTurn(spec)];
        }
        let Some(step) = steps.get(done) else {
            return vec![Effect::Finish {
                outcome: Outcome::Completed,
                final_text: state.last_answer().map(|(_, t)| t.to_string()),
            }];
        };
        let previous = done
            .checked_sub(1)
            .and_then(|i| steps.get(i))
            .map(|s| s.agent.as_str());
        let mut spec = TurnSpec::speak(&self.ctx, &step.agent, previous);
        spec.instructions = Some(match &step.instructions {
            Some(i) => format!("Step {} of {}: {i}", done + 1, steps.len()),
            None => format!(
                "Step {} of {}: do your part of the task.",
                done + 1,
                steps.len()
            ),
        });
        vec![Effect::StartTurn(spec)]
    }
}

impl Pattern for Sequential {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } => {
                    if state.task.active {
                        return common::busy(&cmd);
                    }
                    vec![common::user_message(text, to.clone()), Effect::Continue]
                }
                Command::Pause {} => common::pause(state, &cmd),
                Command::Resume {} => common::resume(state, &cmd),
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Stop {} => common::stop(state),
                _ => common::not_here(&cmd, "sequential"),
            },
            Input::TurnEnded { turn } => match common::ended(state, turn).map(|t| t.status) {
                Some(TurnStatus::Completed) => self.advance(state),
                Some(TurnStatus::Failed) => vec![Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: state.last_answer().map(|(_, t)| t.to_string()),
                }],
                Some(TurnStatus::Cancelled) => vec![Effect::Finish {
                    outcome: Outcome::Cancelled,
                    final_text: None,
                }],
                Some(TurnStatus::Running) | None => Vec::new(),
            },
            Input::Continue => self.advance(state),
            Input::Timer(_) => Vec::new(),
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        match common::last_ended(state) {
            Some(turn)
                if interrupted.is_empty() && state.turns[&turn].status != TurnStatus::Completed =>
            {
                self.on(state, Input::TurnEnded { turn })
            }
            _ => self.advance(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ContextMode, Step};
    use crate::core::Command;
    use crate::core::event::{Outcome, PatternKind};
    use crate::core::patterns::sim::{Sim, reply};

    fn sop() -> Sim {
        Sim::new(PatternKind::Sequential, &[], |t| {
            t.steps = ["pm", "dev", "qa"]
                .iter()
                .map(|a| Step {
                    agent: a.to_string(),
                    instructions: Some(format!("{a} work")),
                })
                .collect();
            t.edges.insert("dev->qa".into(), ContextMode::None);
        })
    }

    #[test]
    fn resumed_mid_step_runs_that_step_again() {
        let mut sim = Sim::new(PatternKind::Sequential, &["pm", "dev", "qa"], |_| {});
        sim.send("build it");
        sim.complete("pm", reply("spec"));
        sim.stream("dev", "cod");
        sim.restart(0);
        assert_eq!(sim.running_agents(), ["dev"]);
        sim.complete("dev", reply("code"));
        sim.complete("qa", reply("ok"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("ok".into())))
        );
    }

    #[test]
    fn steps_run_in_order_with_their_instructions_and_edge_context() {
        let mut sim = sop();
        sim.send("build a todo app");
        assert!(
            sim.spec_of("pm")
                .instructions
                .as_deref()
                .is_some_and(|i| i.contains("Step 1 of 3: pm work"))
        );
        sim.complete("pm", reply("spec"));
        assert_eq!(sim.spec_of("dev").context, ContextMode::Full);
        sim.complete("dev", reply("code"));
        assert_eq!(sim.spec_of("qa").context, ContextMode::None);
        sim.complete("qa", reply("tested"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("tested".into())))
        );
    }

    #[test]
    fn pause_holds_the_next_step_and_a_failed_step_fails() {
        let mut sim = sop();
        sim.send("go");
        sim.command(Command::Pause {});
        sim.complete("pm", reply("spec"));
        assert!(sim.running_agents().is_empty());
        sim.command(Command::Resume {});
        assert_eq!(sim.running_agents(), ["dev"]);
        sim.command(Command::CancelQueued { id: "q1".into() });
        assert!(sim.last_error().is_some(), "nothing is queued yet");
        sim.send("more");
        assert_eq!(sim.state.queued.len(), 1);
        sim.command(Command::CancelQueued { id: "q1".into() });
        assert!(sim.state.queued.is_empty());
        sim.fail("dev", "network");
        assert_eq!(sim.finished(), Some((Outcome::Failed, Some("spec".into()))));
    }

    #[test]
    fn cancel_turn_cancels_the_pipeline() {
        let mut sim = sop();
        sim.send("go");
        sim.command(Command::CancelTurn {
            agent: Some("pm".into()),
        });
        assert_eq!(sim.finished(), Some((Outcome::Cancelled, None)));
        sim.command(Command::CallVote {});
        assert!(sim.last_error().is_some());
    }

    fn delivered_q(sim: &Sim, id: &str) -> bool {
        sim.events().iter().any(
            |e| matches!(e, crate::core::event::EventKind::UserMessage { queued_id: Some(q), .. } if q == id),
        )
    }

    #[test]
    fn a_pipeline_delivers_at_the_next_step_and_reruns_an_addressed_step() {
        let mut sim = sop();
        sim.send("build it");
        sim.send("use postgres");
        assert!(!delivered_q(&sim, "q1"), "pm is still at work");
        sim.complete("pm", reply("spec"));
        assert!(delivered_q(&sim, "q1"));
        assert_eq!(sim.running_agents(), ["dev"]);
        // Addressed to pm, whose step is done: pm redoes it, then the pipeline goes on.
        sim.command(Command::Send {
            text: "add a budget".into(),
            to: Some("pm".into()),
        });
        sim.complete("dev", reply("code"));
        assert!(delivered_q(&sim, "q2"));
        assert_eq!(sim.running_agents(), ["pm"]);
        let told = sim.spec_of("pm").instructions.clone().unwrap_or_default();
        assert!(told.contains("Step 1 of 3 again"), "{told}");
        sim.complete("pm", reply("spec with budget"));
        assert_eq!(sim.running_agents(), ["qa"]);
        sim.complete("qa", reply("tested"));
        assert!(sim.finished().is_some());
    }
}
