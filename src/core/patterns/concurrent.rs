//! `concurrent`: the same task to every member at once. Strategy `all` waits for every turn (each
//! under the team's per-agent `timeout_ms`), then an aggregator agent synthesizes the answers, or
//! they are joined. Strategy `first_success`: the first non-empty completed answer wins and the
//! other turns are cancelled (their streams dropped, so their connections close).

use crate::config::{ContextMode, Strategy};
use crate::core::command::Command;
use crate::core::event::{Outcome, Purpose};
use crate::core::patterns::common::{self, error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};

pub struct Concurrent {
    ctx: Ctx,
}

impl Concurrent {
    pub fn new(ctx: Ctx) -> Self {
        Concurrent { ctx }
    }

    fn on_speak_ended(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let others_running: Vec<u64> = state
            .running_turns()
            .into_iter()
            .filter(|id| matches!(state.turns[id].purpose, Purpose::Speak | Purpose::Summarize))
            .collect();
        if self.ctx.team.strategy.unwrap_or_default() == Strategy::FirstSuccess {
            if t.status == TurnStatus::Completed && !t.text.trim().is_empty() {
                let mut out: Vec<Effect> =
                    others_running.into_iter().map(Effect::CancelTurn).collect();
                out.push(Effect::Finish {
                    outcome: Outcome::Completed,
                    final_text: Some(t.text.clone()),
                });
                return out;
            }
            if others_running.is_empty() {
                return vec![
                    error("no agent gave an answer"),
                    Effect::Finish {
                        outcome: Outcome::Failed,
                        final_text: None,
                    },
                ];
            }
            return Vec::new();
        }
        if !others_running.is_empty() {
            return Vec::new();
        }
        let answers = answers(state);
        if answers.is_empty() {
            return vec![
                error("no agent gave an answer"),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: None,
                },
            ];
        }
        match &self.ctx.team.aggregator {
            Some(aggregator) => vec![self.aggregate_turn(aggregator, &answers)],
            None => vec![Effect::Finish {
                outcome: Outcome::Completed,
                final_text: Some(join(&answers)),
            }],
        }
    }

    /// The aggregator's turn. It always sees the answers it must combine: in its context under
    /// `full`; under `last_n`, `none` or `summary` (which may cut them) they come with its
    /// instructions, redacted when the team sanitizes.
    fn aggregate_turn(&self, aggregator: &str, answers: &[(String, String)]) -> Effect {
        let mut spec = TurnSpec::speak(&self.ctx, aggregator, None);
        spec.purpose = Purpose::Aggregate;
        let names = answers
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        spec.instructions = Some(if spec.context == ContextMode::Full {
            format!(
                "Synthesize the answers of {names} above into one answer to the person's request."
            )
        } else {
            let sanitize = self.ctx.team.sanitize == Some(true);
            let shown: Vec<String> = answers
                .iter()
                .map(|(a, text)| {
                    let text = if sanitize {
                        crate::core::sanitize::redact(text)
                    } else {
                        text.clone()
                    };
                    format!("[{a}]: {text}")
                })
                .collect();
            format!(
                "The answers of {names}:\n\n{}\n\nSynthesize them into one answer to the person's request.",
                shown.join("\n\n")
            )
        });
        Effect::StartTurn(spec)
    }
}

/// The turn of `member` answering the task (under the team's per-agent timeout).
/// A new task of a fan-out (concurrent, best_of): the person's message, then every member at
/// once; refused while a task runs.
pub fn start_fan_out(
    ctx: &Ctx,
    state: &SessionState,
    cmd: &Command,
    text: &str,
    to: Option<String>,
) -> Vec<Effect> {
    if state.task.active {
        return common::busy(cmd);
    }
    if let Some(to) = to
        .as_deref()
        .filter(|t| !ctx.team.members.iter().any(|m| m == t))
    {
        return vec![common::command_error(
            cmd,
            format!(
                "{to} is not a member: choose one of {}",
                ctx.team.members.join(", ")
            ),
        )];
    }
    // `@agent` asks only that member.
    let asked: Vec<&String> = ctx
        .team
        .members
        .iter()
        .filter(|m| to.as_deref().is_none_or(|t| t == m.as_str()))
        .collect();
    let mut out = vec![common::user_message(text, to.clone())];
    out.extend(asked.into_iter().map(|m| member_turn(ctx, m)));
    out
}

pub fn member_turn(ctx: &Ctx, member: &str) -> Effect {
    let mut spec = TurnSpec::speak(ctx, member, None);
    spec.timeout_ms = ctx.team.timeout_ms;
    Effect::StartTurn(spec)
}

/// Resume of a fan-out: interrupted member turns run again (the caller reruns its own kinds of
/// turn); with nothing interrupted, the last ended turn is taken up, and a task cut off before
/// any turn started starts every member.
pub fn resume_fan_out(
    pattern: &mut dyn Pattern,
    ctx: &Ctx,
    state: &SessionState,
    interrupted: &[u64],
) -> Vec<Effect> {
    if !interrupted.is_empty() {
        return interrupted
            .iter()
            .filter_map(|id| state.turns.get(id))
            .filter(|t| matches!(t.purpose, Purpose::Speak | Purpose::Summarize))
            .map(|t| member_turn(ctx, &t.agent))
            .collect();
    }
    match common::last_ended(state) {
        Some(turn) => pattern.on(state, Input::TurnEnded { turn }),
        None => ctx
            .team
            .members
            .iter()
            .map(|m| member_turn(ctx, m))
            .collect(),
    }
}

impl Pattern for Concurrent {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } => {
                    start_fan_out(&self.ctx, state, &cmd, text, to.clone())
                }
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Stop {} => common::stop(state),
                _ => common::not_here(&cmd, "concurrent"),
            },
            Input::TurnEnded { turn } => {
                let Some(t) = common::ended(state, turn) else {
                    return Vec::new();
                };
                match (t.purpose, t.status) {
                    (Purpose::Speak | Purpose::Summarize, _) => self.on_speak_ended(state, turn),
                    (Purpose::Aggregate, TurnStatus::Completed) => vec![Effect::Finish {
                        outcome: Outcome::Completed,
                        final_text: Some(t.text.clone()),
                    }],
                    (Purpose::Aggregate, TurnStatus::Failed | TurnStatus::Cancelled) => vec![
                        error(format!(
                            "the aggregator {} gave no answer; the answers are joined",
                            t.agent
                        )),
                        Effect::Finish {
                            outcome: Outcome::Completed,
                            final_text: Some(join(&answers(state))),
                        },
                    ],
                    _ => Vec::new(),
                }
            }
            Input::Timer(_) | Input::Continue => Vec::new(),
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        let ctx = self.ctx.clone();
        let rerun: Vec<Effect> = interrupted
            .iter()
            .filter_map(|id| state.turns.get(id))
            .filter(|t| t.purpose == Purpose::Aggregate)
            .map(|t| self.aggregate_turn(&t.agent, &answers(state)))
            .collect();
        let mut out = resume_fan_out(self, &ctx, state, interrupted);
        out.extend(rerun);
        out
    }
}

/// The non-empty completed speak answers of this task, in turn order.
pub fn answers(state: &SessionState) -> Vec<(String, String)> {
    state
        .task_turns()
        .filter(|(_, t)| {
            t.purpose == Purpose::Speak
                && t.status == TurnStatus::Completed
                && !t.text.trim().is_empty()
        })
        .map(|(_, t)| (t.agent.clone(), t.text.clone()))
        .collect()
}

fn join(answers: &[(String, String)]) -> String {
    answers
        .iter()
        .map(|(a, t)| format!("## {a}\n\n{}", t.trim()))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use crate::config::Strategy;
    use crate::core::Command;
    use crate::core::event::{EventKind, Outcome, PatternKind, Purpose};
    use crate::core::patterns::sim::{Sim, reply};

    #[test]
    fn resumed_fan_out_reruns_only_the_cut_off_members() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |t| {
            t.aggregator = Some("agg".into())
        });
        sim.send("q");
        sim.complete("a", reply("A"));
        sim.stream("b", "B?");
        sim.restart(0);
        assert_eq!(sim.running_agents(), ["b"]);
        sim.complete("b", reply("B"));
        sim.stream("agg", "A");
        sim.restart(0);
        assert_eq!(sim.spec_of("agg").purpose, Purpose::Aggregate);
        sim.complete("agg", reply("A+B"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("A+B".into())))
        );
    }

    #[test]
    fn first_success_cancels_the_losers() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b", "c"], |t| {
            t.strategy = Some(Strategy::FirstSuccess);
            t.timeout_ms = Some(5000);
        });
        sim.send("q");
        assert_eq!(sim.spec_of("a").timeout_ms, Some(5000));
        sim.fail("a", "overloaded");
        assert_eq!(sim.running_agents(), ["b", "c"]);
        sim.stream("c", "partial");
        sim.complete("b", reply("answer b"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("answer b".into())))
        );
        assert!(sim.recent().iter().any(|e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "c" && partial_text == "partial")));
        assert!(sim.running_agents().is_empty());
    }

    #[test]
    fn an_aggregator_with_a_cut_context_gets_the_answers_with_its_instructions() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |t| {
            t.aggregator = Some("agg".into());
            t.sanitize = Some(true);
            t.edges
                .insert("*->agg".into(), crate::config::ContextMode::None);
        });
        sim.send("q");
        sim.complete("a", reply("A, mail bob@example.com"));
        sim.complete("b", reply("B"));
        let spec = sim.spec_of("agg");
        assert_eq!(spec.context, crate::config::ContextMode::None);
        let told = spec.instructions.clone().unwrap_or_default();
        assert!(
            told.contains("[a]: A, mail") && told.contains("[b]: B"),
            "{told}"
        );
        assert!(!told.contains("bob@example.com"), "{told}");
    }

    #[test]
    fn all_waits_then_aggregates_or_joins() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |t| {
            t.aggregator = Some("agg".into())
        });
        sim.send("q");
        sim.complete("b", reply("B"));
        assert_eq!(sim.running_agents(), ["a"]);
        sim.complete("a", reply("A"));
        assert_eq!(sim.spec_of("agg").purpose, Purpose::Aggregate);
        sim.complete("agg", reply("A+B"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("A+B".into())))
        );

        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |_| {});
        sim.send("q");
        sim.complete("a", reply("A"));
        sim.fail("b", "timeout");
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("## a\n\nA".into())))
        );
    }

    #[test]
    fn every_agent_failing_fails_the_task() {
        let mut sim = Sim::new(PatternKind::Concurrent, &["a", "b"], |_| {});
        sim.send("q");
        sim.command(Command::CancelTurn {
            agent: Some("a".into()),
        });
        sim.fail("b", "network");
        assert_eq!(sim.finished(), Some((Outcome::Failed, None)));
    }
}
