//! Votes: after a round (with `consensus.every_round`) or on `call_vote`, every member answers
//! `cast_vote`. An invalid vote is asked once more, then counts as abstain; a failed or cancelled
//! vote turn abstains too. Once every member has voted, the `consensus` tally ends the task when
//! the agreeing share reaches the threshold, else the discussion goes on. Resumed mid-vote, the
//! votes cast stand and the members whose vote was cut off are asked again.

use super::{DEFAULT_THRESHOLD, GroupChat, finish};
use crate::core::event::{EventKind, Outcome, Purpose, VoteChoice};
use crate::core::patterns::common::{answer, answer_others, error};
use crate::core::patterns::{Effect, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

impl GroupChat {
    pub(super) fn start_vote(&self, round: u32, why: &str) -> Vec<Effect> {
        self.members()
            .iter()
            .map(|m| self.vote_turn(m, round, &format!("{why} {}", vote_question())))
            .collect()
    }

    pub(super) fn vote_turn(&self, agent: &str, round: u32, text: &str) -> Effect {
        let mut spec = TurnSpec::forced(agent, Purpose::Vote, tools::vote_tool(), text.to_string());
        spec.round = Some(round);
        spec.context = crate::core::context::mode_for(&self.ctx.team, None, agent);
        Effect::StartTurn(spec)
    }

    pub(super) fn on_vote(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        if t.status == TurnStatus::Running {
            return Vec::new();
        }
        let round = state.task.voting.or(t.round).unwrap_or(state.task.round);
        let (mut out, vote) = self.read_vote(state, turn, round);
        let Some((choice, reason)) = vote else {
            return out;
        };
        out.push(Effect::Emit(EventKind::Vote {
            round,
            agent: t.agent.clone(),
            choice,
            reason: reason.clone(),
        }));
        let mut votes = state.task.votes.clone();
        votes.insert(t.agent.clone(), (choice, reason));
        out.extend(self.tally(state, &votes, round));
        out
    }

    /// The tool results of an ended vote turn and the vote it counts as; `None` when the vote
    /// was invalid and the agent is asked again (the effects then include that turn).
    pub(super) fn read_vote(
        &self,
        state: &SessionState,
        turn: u64,
        round: u32,
    ) -> (Vec<Effect>, Option<(VoteChoice, String)>) {
        let t = &state.turns[&turn];
        let mut out = Vec::new();
        let vote = match t.status {
            TurnStatus::Running => return (out, None),
            TurnStatus::Completed => {
                let (call, parsed) = tools::parse_vote(&t.text, &t.tool_calls);
                out.extend(answer_others(&t.agent, turn, &t.tool_calls, call.as_ref()));
                match parsed {
                    Ok(v) => {
                        out.extend(answer(
                            &t.agent,
                            turn,
                            call.as_ref(),
                            "vote recorded",
                            false,
                        ));
                        Some(v)
                    }
                    Err(e) => {
                        out.extend(answer(&t.agent, turn, call.as_ref(), &e.0, true));
                        let attempts = state
                            .turns
                            .range(state.task.voting_first_turn..)
                            .filter(|(_, x)| x.agent == t.agent && x.purpose == Purpose::Vote)
                            .count();
                        if attempts < 2 {
                            out.push(error(format!(
                                "{} cast an invalid vote ({}); asking again",
                                t.agent, e.0
                            )));
                            out.push(self.vote_turn(
                                &t.agent,
                                round,
                                &format!("Your vote was invalid: {}. {}", e.0, vote_question()),
                            ));
                            return (out, None);
                        }
                        out.push(error(format!(
                            "{} cast an invalid vote twice ({}); counted as abstain",
                            t.agent, e.0
                        )));
                        None
                    }
                }
            }
            TurnStatus::Failed | TurnStatus::Cancelled => None,
        };
        let vote = vote.unwrap_or((VoteChoice::Abstain, "no valid vote".to_string()));
        (out, Some(vote))
    }

    /// Once every member has voted: the `consensus` tally, then the end of the task when reached,
    /// else the discussion goes on.
    pub(super) fn tally(
        &self,
        state: &SessionState,
        votes: &std::collections::BTreeMap<String, (VoteChoice, String)>,
        round: u32,
    ) -> Vec<Effect> {
        if !self.members().iter().all(|m| votes.contains_key(m)) {
            return Vec::new();
        }
        let count = |c: VoteChoice| votes.values().filter(|(v, _)| *v == c).count() as u32;
        let (agree, disagree, abstain) = (
            count(VoteChoice::Agree),
            count(VoteChoice::Disagree),
            count(VoteChoice::Abstain),
        );
        let threshold = self
            .ctx
            .team
            .consensus
            .map_or(DEFAULT_THRESHOLD, |c| c.threshold);
        let total = (agree + disagree + abstain).max(1) as f64;
        let reached = agree as f64 / total + 1e-9 >= threshold;
        let mut out = vec![Effect::Emit(EventKind::Consensus {
            round,
            reached,
            agree,
            disagree,
            abstain,
            threshold,
        })];
        if reached {
            out.push(finish(state, Outcome::Consensus));
        } else {
            out.push(Effect::Continue);
        }
        out
    }

    /// Resume in the middle of a vote: votes whose turns ended are counted, members whose vote
    /// was cut off (or never started) are asked again, and the tally follows once all are in.
    pub(super) fn resume_vote(&self, state: &SessionState, round: u32) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut votes = state.task.votes.clone();
        let mut waiting = false;
        for m in self.members() {
            if votes.contains_key(m) {
                continue;
            }
            let last = state
                .turns
                .range(state.task.voting_first_turn..)
                .rev()
                .find(|(_, t)| &t.agent == m && t.purpose == Purpose::Vote);
            match last {
                Some((id, t)) if matches!(t.status, TurnStatus::Completed | TurnStatus::Failed) => {
                    let (effects, vote) = self.read_vote(state, *id, round);
                    out.extend(effects);
                    match vote {
                        Some((choice, reason)) => {
                            out.push(Effect::Emit(EventKind::Vote {
                                round,
                                agent: m.clone(),
                                choice,
                                reason: reason.clone(),
                            }));
                            votes.insert(m.clone(), (choice, reason));
                        }
                        None => waiting = true,
                    }
                }
                _ => {
                    out.push(self.vote_turn(m, round, vote_question()));
                    waiting = true;
                }
            }
        }
        if !waiting {
            out.extend(self.tally(state, &votes, round));
        }
        out
    }
}

pub(super) fn vote_question() -> &'static str {
    "Do you agree with the position the group has reached? Call cast_vote with agree, disagree or abstain and a reason."
}
