//! The queue every pattern shares: a message the person sends while agents work waits
//! (`message_queued`, cancellable with `cancel_queued`) and is delivered at the pattern's next
//! boundary, as a `user_message` carrying its `queued_id`.
//!
//! [`Queueing`] wraps any pattern. It answers `send` while a task runs with `message_queued`
//! (checking that an `@agent` names one of the team's agents) and `cancel_queued` itself; and
//! whenever the pattern starts its next conversation turn (the next speaker of a group chat,
//! the next step of a pipeline, the holder of a handoff, the aggregator), the waiting messages
//! are delivered just before it, so that turn answers them. What a task still has waiting when it
//! finishes (a fan-out or a judge has no turn left to deliver to) opens the next task: the
//! wrapped pattern is handed it as a `send` once the finish is folded, and `@agent` then asks
//! only that agent where the pattern allows it. A group chat's `@agent` also picks that agent as
//! the next speaker at once; a pipeline re-runs an addressed step that is already done (see
//! `sequential`). Pure, like the patterns.

use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, PatternKind, Purpose};
use crate::core::patterns::common::{self, command_error};
use crate::core::patterns::{Effect, Input, Pattern, referenced_agents};
use crate::core::state::SessionState;

use super::Ctx;

pub struct Queueing {
    kind: PatternKind,
    agents: Vec<String>,
    inner: Box<dyn Pattern>,
}

impl Queueing {
    pub fn new(ctx: &Ctx, inner: Box<dyn Pattern>) -> Self {
        Queueing {
            kind: ctx.team.pattern,
            agents: referenced_agents(&ctx.team),
            inner,
        }
    }

    fn on_send(
        &self,
        state: &SessionState,
        cmd: &Command,
        text: &str,
        to: &Option<String>,
    ) -> Vec<Effect> {
        if let Some(to) = to
            .as_deref()
            .filter(|t| !self.agents.iter().any(|a| a == t))
        {
            return vec![command_error(
                cmd,
                format!(
                    "{to} is not an agent of this team: choose one of {}",
                    self.agents.join(", ")
                ),
            )];
        }
        let mut out = vec![common::queue(state, text, to.clone())];
        if self.kind == PatternKind::GroupChat {
            out.extend(to.as_deref().map(common::addressed));
        }
        // A pattern waiting at a boundary (paused, nothing running) delivers when it goes on.
        out.push(Effect::Continue);
        out
    }

    /// Deliver what waits before the first conversation turn `effects` start; ask to go on
    /// after a finish that leaves messages waiting.
    fn around(&self, state: &SessionState, mut effects: Vec<Effect>) -> Vec<Effect> {
        if state.queued.is_empty() {
            return effects;
        }
        let starts = effects.iter().position(|e| {
            matches!(e, Effect::StartTurn(s) if matches!(s.purpose, Purpose::Speak | Purpose::Aggregate))
        });
        let finishes = effects
            .iter()
            .any(|e| matches!(e, Effect::Finish { outcome, .. } if *outcome != Outcome::Cancelled));
        match starts {
            Some(i) if state.task.active && !finishes => {
                let delivered = common::deliver_queued(state);
                effects.splice(i..i, delivered);
            }
            _ if finishes => effects.push(Effect::Continue),
            _ => {}
        }
        effects
    }

    /// Nothing runs and messages wait: the first opens the next task.
    fn open_next(&mut self, state: &SessionState) -> Vec<Effect> {
        let Some(q) = state.queued.first().cloned() else {
            return Vec::new();
        };
        let send = Command::Send {
            text: q.text.clone(),
            to: q.to.clone(),
        };
        self.inner
            .on(state, Input::Command(send))
            .into_iter()
            .map(|e| match e {
                Effect::Emit(EventKind::UserMessage {
                    text,
                    to,
                    interject,
                    queued_id: None,
                }) if text == q.text => Effect::Emit(EventKind::UserMessage {
                    text,
                    to,
                    interject,
                    queued_id: Some(q.id.clone()),
                }),
                other => other,
            })
            .collect()
    }
}

impl Pattern for Queueing {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match &input {
            Input::Command(cmd @ Command::Send { text, to }) if state.task.active => {
                return self.on_send(state, cmd, text, to);
            }
            Input::Command(cmd @ Command::CancelQueued { id }) => {
                return common::cancel_queued(state, cmd, id);
            }
            Input::Continue
                if !state.task.active && state.finished.is_some() && !state.queued.is_empty() =>
            {
                return self.open_next(state);
            }
            _ => {}
        }
        let effects = self.inner.on(state, input);
        self.around(state, effects)
    }

    fn resume(
        &mut self,
        state: &SessionState,
        interrupted: &[u64],
        elapsed_ms: u64,
    ) -> Vec<Effect> {
        let effects = self.inner.resume(state, interrupted, elapsed_ms);
        self.around(state, effects)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::Command;
    use crate::core::event::{EventKind, PatternKind};
    use crate::core::patterns::sim::{Sim, reply};

    fn delivered(sim: &Sim, id: &str) -> bool {
        sim.events()
            .iter()
            .any(|e| matches!(e, EventKind::UserMessage { queued_id: Some(q), .. } if q == id))
    }

    #[test]
    fn a_fan_out_takes_a_queued_message_as_its_next_task_and_at_agent_asks_only_that_agent() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |_| {});
        sim.send("q");
        sim.command(Command::Send {
            text: "and you, b?".into(),
            to: Some("b".into()),
        });
        sim.command(Command::Send {
            text: "x".into(),
            to: Some("ghost".into()),
        });
        assert!(sim.last_error().is_some_and(|e| e.contains("ghost")));
        sim.complete("a", reply("A"));
        sim.complete("b", reply("B"));
        assert!(delivered(&sim, "q1"));
        assert_eq!(sim.running_agents(), ["b"]);
        assert!(sim.state.task.active);
    }
}
