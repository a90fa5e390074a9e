//! `plan`: a planner decomposes the task into a graph of tasks that run in parallel (issue 11).
//!
//! This commit carries only the shared surface (events, commands, config, the state fold); the
//! machine itself follows. Until then a plan team answers a prompt with an error and ends
//! `failed`, so nothing pretends to run.

use crate::core::command::Command;
use crate::core::event::Outcome;
use crate::core::patterns::common::{self, command_error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern};
use crate::core::state::SessionState;

pub struct Plan {
    _ctx: Ctx,
}

impl Plan {
    pub fn new(ctx: Ctx) -> Self {
        Plan { _ctx: ctx }
    }
}

impl Pattern for Plan {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } if !state.task.active => vec![
                    common::user_message(text, to.clone()),
                    common::error("the plan pattern is not available in this build yet"),
                    Effect::Finish {
                        outcome: Outcome::Failed,
                        final_text: None,
                    },
                ],
                Command::Stop {} => common::stop(state),
                _ => vec![command_error(
                    &cmd,
                    "the plan pattern is not available in this build yet",
                )],
            },
            _ => Vec::new(),
        }
    }

    fn resume(&mut self, state: &SessionState, _: &[u64], _: u64) -> Vec<Effect> {
        common::stop(state)
    }
}
