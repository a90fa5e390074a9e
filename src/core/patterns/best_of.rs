//! `best_of`: every member answers in parallel (each under the team's `timeout_ms`); then the
//! judge scores the answers with `submit_scores` against the rubric. Each score is a
//! `candidate_scored` event and the best-scored answer (ties: the earliest) is the final answer.
//! A malformed verdict is asked for once more; after that, or when the judge fails, the first
//! answer stands and an `error` event says why.

use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose};
use crate::core::patterns::common::{self, answer, answer_others, error};
use crate::core::patterns::concurrent::{answers, resume_fan_out, start_fan_out};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

pub struct BestOf {
    ctx: Ctx,
}

impl BestOf {
    pub fn new(ctx: Ctx) -> Self {
        BestOf { ctx }
    }

    fn ask_judge(&self, judge: &str, candidates: &[String], error: Option<&str>) -> Effect {
        let rubric = self
            .ctx
            .team
            .rubric
            .as_deref()
            .map(|r| format!(" Rubric: {r}"))
            .unwrap_or_default();
        let mut text = format!(
            "Score each candidate answer above ({}) from 0 to 10.{rubric} Call submit_scores.",
            candidates.join(", ")
        );
        if let Some(e) = error {
            text = format!("Your scores were invalid: {e}. {text}");
        }
        let mut spec =
            TurnSpec::forced(judge, Purpose::Judge, tools::scores_tool(candidates), text);
        spec.timeout_ms = self.ctx.team.timeout_ms;
        Effect::StartTurn(spec)
    }

    fn on_candidate(&self, state: &SessionState) -> Vec<Effect> {
        if !state.running_turns().is_empty() {
            return Vec::new();
        }
        let answers = answers(state);
        let Some((_, first)) = answers.first() else {
            return vec![
                error("no candidate gave an answer"),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: None,
                },
            ];
        };
        match &self.ctx.team.judge {
            Some(judge) => {
                let names: Vec<String> = answers.iter().map(|(a, _)| a.clone()).collect();
                vec![self.ask_judge(judge, &names, None)]
            }
            None => vec![Effect::Finish {
                outcome: Outcome::Completed,
                final_text: Some(first.clone()),
            }],
        }
    }

    fn on_verdict(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let answers = answers(state);
        let names: Vec<String> = answers.iter().map(|(a, _)| a.clone()).collect();
        let first = answers.first().map(|(_, text)| text.clone());
        let mut out = Vec::new();
        let why = match t.status {
            TurnStatus::Running => return out,
            TurnStatus::Failed | TurnStatus::Cancelled => {
                format!("the judge {} gave no verdict", t.agent)
            }
            TurnStatus::Completed => {
                let (call, parsed) = tools::parse_scores(&t.text, &t.tool_calls, &names);
                out.extend(answer_others(&t.agent, turn, &t.tool_calls, call.as_ref()));
                match parsed {
                    Ok(scores) => {
                        out.extend(answer(
                            &t.agent,
                            turn,
                            call.as_ref(),
                            "scores recorded",
                            false,
                        ));
                        let mut best: Option<(f64, &str)> = None;
                        for (agent, score, reason) in &scores {
                            out.push(Effect::Emit(EventKind::CandidateScored {
                                agent: agent.clone(),
                                score: *score,
                                reason: reason.clone(),
                            }));
                        }
                        for (agent, _) in &answers {
                            let score = scores
                                .iter()
                                .find(|(a, _, _)| a == agent)
                                .map_or(0.0, |s| s.1);
                            if best.is_none_or(|(b, _)| score > b) {
                                best = Some((score, agent.as_str()));
                            }
                        }
                        let winner = best.and_then(|(_, w)| answers.iter().find(|(a, _)| a == w));
                        out.push(Effect::Finish {
                            outcome: Outcome::Completed,
                            final_text: winner.map(|(_, text)| text.clone()),
                        });
                        return out;
                    }
                    Err(e) => {
                        out.extend(answer(&t.agent, turn, call.as_ref(), &e.0, true));
                        let attempts = state
                            .task_turns()
                            .filter(|(_, x)| x.purpose == Purpose::Judge)
                            .count();
                        if attempts < 2 {
                            out.push(error(format!(
                                "the judge's scores were invalid ({}); asking again",
                                e.0
                            )));
                            out.push(self.ask_judge(&t.agent, &names, Some(&e.0)));
                            return out;
                        }
                        format!("the judge's scores were invalid twice ({})", e.0)
                    }
                }
            }
        };
        out.push(error(format!("{why}; the first answer stands")));
        out.push(Effect::Finish {
            outcome: Outcome::Completed,
            final_text: first,
        });
        out
    }
}

impl Pattern for BestOf {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => match &cmd {
                Command::Send { text, to } => {
                    start_fan_out(&self.ctx, state, &cmd, text, to.clone())
                }
                Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
                Command::Stop {} => common::stop(state),
                _ => common::not_here(&cmd, "best_of"),
            },
            Input::TurnEnded { turn } => match common::ended(state, turn).map(|t| t.purpose) {
                Some(Purpose::Speak | Purpose::Summarize) => self.on_candidate(state),
                Some(Purpose::Judge) => self.on_verdict(state, turn),
                _ => Vec::new(),
            },
            Input::Timer(_) | Input::Continue => Vec::new(),
        }
    }

    fn resume(&mut self, state: &SessionState, interrupted: &[u64], _: u64) -> Vec<Effect> {
        let ctx = self.ctx.clone();
        let judge: Vec<Effect> = interrupted
            .iter()
            .filter_map(|id| state.turns.get(id))
            .filter(|t| t.purpose == Purpose::Judge)
            .map(|t| {
                let names: Vec<String> = answers(state).into_iter().map(|(a, _)| a).collect();
                self.ask_judge(&t.agent, &names, None)
            })
            .collect();
        let mut out = resume_fan_out(self, &ctx, state, interrupted);
        out.extend(judge);
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::core::event::{EventKind, Outcome, PatternKind, Purpose};
    use crate::core::patterns::sim::{Sim, reply, tool};
    use crate::llm::ToolChoice;

    fn contest() -> Sim {
        Sim::new(PatternKind::BestOf, &["a", "b"], |t| {
            t.judge = Some("judge".into());
            t.rubric = Some("clarity".into());
        })
    }

    #[test]
    fn the_judge_scores_and_the_best_answer_wins() {
        let mut sim = contest();
        sim.send("write a haiku");
        sim.complete("a", reply("haiku a"));
        sim.complete("b", reply("haiku b"));
        let spec = sim.spec_of("judge");
        assert_eq!(spec.purpose, Purpose::Judge);
        assert_eq!(spec.tool_choice, ToolChoice::Tool("submit_scores".into()));
        assert!(
            spec.instructions
                .as_deref()
                .is_some_and(|i| i.contains("clarity"))
        );
        sim.complete(
            "judge",
            tool(
                "",
                "submit_scores",
                json!({"scores": [
                    {"agent": "a", "score": 6, "reason": "ok"},
                    {"agent": "b", "score": 9, "reason": "vivid"}
                ]}),
            ),
        );
        let scored = sim
            .recent()
            .iter()
            .filter(|e| matches!(e, EventKind::CandidateScored { .. }))
            .count();
        assert_eq!(scored, 2);
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("haiku b".into())))
        );
    }

    #[test]
    fn a_malformed_verdict_is_retried_then_the_first_answer_stands() {
        let mut sim = contest();
        sim.send("q");
        sim.complete("a", reply("A"));
        sim.complete("b", reply("B"));
        sim.complete("judge", tool("", "submit_scores", json!({"scores": []})));
        assert!(sim.last_error().is_some());
        sim.complete("judge", reply("both fine"));
        assert_eq!(sim.finished(), Some((Outcome::Completed, Some("A".into()))));
    }

    #[test]
    fn only_answers_are_judged() {
        let mut sim = contest();
        sim.send("q");
        sim.fail("a", "overloaded");
        sim.complete("b", reply("B"));
        sim.complete("judge", reply("SCORE: b: 4: meh"));
        assert_eq!(sim.finished(), Some((Outcome::Completed, Some("B".into()))));
    }
}
