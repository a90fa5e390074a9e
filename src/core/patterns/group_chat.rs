//! `group_chat`: a discussion in rounds. A round is one speak turn per member; who speaks next
//! is chosen by `round_robin`, `manager` (an agent answers `select_speaker`; an invalid pick is
//! asked once more, then round robin takes over), `human` (waits for `pick_speaker`; round robin
//! when nobody is present) or `random` (seeded by the event count, so a replay decides the same).
//! `pick_speaker` forces the next speaker under any selection.
//!
//! After each round, when consensus is configured, every member answers `cast_vote` (also at any
//! time on `call_vote`); the `consensus` tally ends the task when the agreeing share reaches the
//! threshold. Termination conditions combine: max rounds (default 10), max messages, keyword,
//! token or cost budget, wall-clock limit (timer `time_limit`). Interjections enter the
//! transcript and the next speaker sees them. Pause stops new turns; resume continues. Loops are
//! broken: a manager picking the speaker of the last two turns again is overridden by round robin,
//! and a message repeated verbatim is flagged (the next speaker is told to move on); a third
//! identical message ends the task.
//!
//! Resumed after the process died mid-task: a speak turn that was cut off counts as that
//! speaker's turn and the round carries on; votes already cast stand, a vote that was cut off is
//! asked again; the wall-clock limit gets the time that was left.

use crate::config::SpeakerSelection;
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose, SelectedBy, VoteChoice};
use crate::core::metrics;
use crate::core::patterns::common::{self, answer, answer_others, command_error, error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

pub const DEFAULT_MAX_ROUNDS: u32 = 10;
/// The threshold of a `call_vote` when the team configures no consensus.
pub const DEFAULT_THRESHOLD: f64 = 0.67;
pub const TIME_LIMIT_TIMER: &str = "time_limit";

pub struct GroupChat {
    ctx: Ctx,
}

impl GroupChat {
    pub fn new(ctx: Ctx) -> Self {
        GroupChat { ctx }
    }

    fn members(&self) -> &[String] {
        &self.ctx.team.members
    }

    fn on_command(&self, state: &SessionState, cmd: Command) -> Vec<Effect> {
        let active = state.task.active;
        match &cmd {
            Command::Send { text, to } => {
                if let Some(to) = to
                    .as_deref()
                    .filter(|t| !self.members().iter().any(|m| m == t))
                {
                    return vec![command_error(
                        &cmd,
                        format!("{to} is not a member of this group"),
                    )];
                }
                let mut out = vec![Effect::Emit(EventKind::UserMessage {
                    text: text.clone(),
                    to: to.clone(),
                    interject: active,
                })];
                if !active && let Some(s) = self.ctx.team.time_limit_s {
                    out.push(Effect::SetTimer {
                        name: TIME_LIMIT_TIMER.into(),
                        ms: s.saturating_mul(1000),
                    });
                }
                if let Some(to) = to {
                    out.push(Effect::Emit(EventKind::SpeakerSelected {
                        agent: to.clone(),
                        by: SelectedBy::Human,
                        reason: Some("addressed by the person".into()),
                    }));
                }
                out.push(Effect::Continue);
                out
            }
            Command::Interject { text } => {
                if !active {
                    return vec![command_error(
                        &cmd,
                        "no discussion is running: use send to start one",
                    )];
                }
                vec![Effect::Emit(EventKind::UserMessage {
                    text: text.clone(),
                    to: None,
                    interject: true,
                })]
            }
            Command::PickSpeaker { agent } => {
                if !active {
                    return vec![command_error(&cmd, "no discussion is running")];
                }
                if !self.members().iter().any(|m| m == agent) {
                    return vec![command_error(
                        &cmd,
                        format!(
                            "{agent} is not a member: choose one of {}",
                            self.members().join(", ")
                        ),
                    )];
                }
                let mut out: Vec<Effect> = state
                    .running_turns()
                    .into_iter()
                    .filter(|t| state.turns[t].purpose == Purpose::SelectSpeaker)
                    .map(Effect::CancelTurn)
                    .collect();
                out.push(Effect::Emit(EventKind::SpeakerSelected {
                    agent: agent.clone(),
                    by: SelectedBy::Human,
                    reason: None,
                }));
                out.push(Effect::Continue);
                out
            }
            Command::CallVote {} => {
                if !active {
                    return vec![command_error(&cmd, "no discussion is running")];
                }
                if state.task.voting.is_some() {
                    return vec![command_error(&cmd, "a vote is already under way")];
                }
                if state.task.messages == 0 {
                    return vec![command_error(
                        &cmd,
                        "nothing to vote on yet: nobody has spoken",
                    )];
                }
                self.start_vote(state.task.round, "The person called a vote.")
            }
            Command::Pause {} => common::pause(state, &cmd),
            Command::Resume {} => common::resume(state, &cmd),
            Command::CancelTurn { agent } => common::cancel_turn(state, &cmd, agent.as_deref()),
            Command::Stop {} => common::stop(state),
            _ => common::not_here(&cmd, "group_chat"),
        }
    }

    /// Start the next turn if nothing runs and nothing ends the task.
    fn advance(&self, state: &SessionState) -> Vec<Effect> {
        if !state.task.active
            || state.paused
            || !state.running_turns().is_empty()
            || state.task.voting.is_some()
        {
            return Vec::new();
        }
        if let Some(done) = self.terminated(state) {
            return done;
        }
        let n = self.members().len();
        let round = state.task.round;
        let mut next_round = round.max(1);
        if round > 0 && state.task.spoken.len() >= n {
            let voted = state.task.tallies.iter().any(|(r, _)| *r == round);
            if self.ctx.team.consensus.is_some_and(|c| c.every_round) && !voted {
                return self.start_vote(round, &format!("Round {round} is over."));
            }
            if round >= self.ctx.team.max_rounds.unwrap_or(DEFAULT_MAX_ROUNDS) {
                return vec![finish(state, Outcome::MaxRounds)];
            }
            next_round = round + 1;
        }
        let instructions = (repeats(state) >= 2).then(|| {
            "The last message repeated an earlier one. Do not repeat: add something new."
                .to_string()
        });
        if let Some((agent, _)) = &state.task.next_speaker {
            return vec![self.speak(state, agent, next_round, instructions)];
        }
        let (agent, by, reason) = match self.ctx.team.speaker_selection.unwrap_or_default() {
            SpeakerSelection::RoundRobin => (self.round_robin(state), SelectedBy::RoundRobin, None),
            SpeakerSelection::Random => (self.random(state), SelectedBy::Random, None),
            SpeakerSelection::Manager => match &self.ctx.team.manager {
                Some(manager) => return vec![self.ask_manager(manager, None)],
                None => (
                    self.round_robin(state),
                    SelectedBy::RoundRobin,
                    Some("no manager configured".to_string()),
                ),
            },
            SpeakerSelection::Human if self.ctx.unattended.is_some() => (
                self.round_robin(state),
                SelectedBy::RoundRobin,
                Some("nobody is present to pick".to_string()),
            ),
            SpeakerSelection::Human => return Vec::new(),
        };
        vec![
            Effect::Emit(EventKind::SpeakerSelected {
                agent: agent.clone(),
                by,
                reason,
            }),
            self.speak(state, &agent, next_round, instructions),
        ]
    }

    fn terminated(&self, state: &SessionState) -> Option<Vec<Effect>> {
        let team = &self.ctx.team;
        let last = state.last_answer();
        if let (Some(kw), Some((_, text))) = (&team.keyword, last)
            && !kw.is_empty()
            && text.contains(kw.as_str())
        {
            return Some(vec![finish(state, Outcome::Completed)]);
        }
        if team.max_messages.is_some_and(|m| state.task.messages >= m) {
            return Some(vec![finish(state, Outcome::MaxRounds)]);
        }
        if let Some(budget) = team.budget {
            let usage = state.task_usage();
            let tokens: u64 = usage.values().map(|(i, o)| i + o).sum();
            let cost: f64 = usage
                .iter()
                .map(|(agent, (i, o))| {
                    self.ctx
                        .agents
                        .get(agent)
                        .and_then(|a| a.price)
                        .map_or(0.0, |p| metrics::cost_of(p, Some(*i), Some(*o)))
                })
                .sum();
            if budget.tokens.is_some_and(|b| tokens >= b) || budget.cost.is_some_and(|b| cost >= b)
            {
                return Some(vec![finish(state, Outcome::Budget)]);
            }
        }
        if repeats(state) >= 3 {
            return Some(vec![
                Effect::Emit(EventKind::Error {
                    message: "loop detected: the same message three times in a row; the discussion is stopped".into(),
                    command: None,
                }),
                finish(state, Outcome::Failed),
            ]);
        }
        let n = self.members().len().max(1);
        let recent: Vec<TurnStatus> = state
            .task_turns()
            .filter(|(_, t)| t.purpose == Purpose::Speak)
            .map(|(_, t)| t.status)
            .collect();
        if recent.len() >= n
            && recent[recent.len() - n..]
                .iter()
                .all(|s| *s == TurnStatus::Failed)
        {
            return Some(vec![
                Effect::Emit(EventKind::Error {
                    message: format!("the last {n} turns all failed; the discussion is stopped"),
                    command: None,
                }),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: None,
                },
            ]);
        }
        None
    }

    fn speak(
        &self,
        state: &SessionState,
        agent: &str,
        round: u32,
        instructions: Option<String>,
    ) -> Effect {
        let previous = state.task.speakers.last().map(String::as_str);
        let mut spec = TurnSpec::speak(&self.ctx, agent, previous);
        spec.round = Some(round);
        spec.instructions = instructions;
        Effect::StartTurn(spec)
    }

    fn round_robin(&self, state: &SessionState) -> String {
        let m = self.members();
        let next = state
            .task
            .speakers
            .last()
            .and_then(|last| m.iter().position(|x| x == last))
            .map_or(0, |i| (i + 1) % m.len().max(1));
        m.get(next).cloned().unwrap_or_default()
    }

    fn random(&self, state: &SessionState) -> String {
        let last = state.task.speakers.last();
        let mut candidates: Vec<&String> =
            self.members().iter().filter(|m| Some(*m) != last).collect();
        if candidates.is_empty() {
            candidates = self.members().iter().collect();
        }
        let mut rng = fastrand::Rng::with_seed(state.next_seq);
        candidates
            .get(rng.usize(..candidates.len().max(1)))
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    fn ask_manager(&self, manager: &str, error: Option<&str>) -> Effect {
        let roster: Vec<String> = self
            .members()
            .iter()
            .map(|m| {
                match self
                    .ctx
                    .agents
                    .get(m)
                    .and_then(|a| a.description.as_deref())
                {
                    Some(d) => format!("{m} ({d})"),
                    None => m.clone(),
                }
            })
            .collect();
        let mut text = format!(
            "Pick who speaks next in this discussion among: {}. Call select_speaker.",
            roster.join(", ")
        );
        if let Some(e) = error {
            text = format!("Your previous pick was invalid: {e}. {text}");
        }
        Effect::StartTurn(TurnSpec::forced(
            manager,
            Purpose::SelectSpeaker,
            tools::select_speaker_tool(self.members()),
            text,
        ))
    }

    fn start_vote(&self, round: u32, why: &str) -> Vec<Effect> {
        self.members()
            .iter()
            .map(|m| self.vote_turn(m, round, &format!("{why} {}", vote_question())))
            .collect()
    }

    fn vote_turn(&self, agent: &str, round: u32, text: &str) -> Effect {
        let mut spec = TurnSpec::forced(agent, Purpose::Vote, tools::vote_tool(), text.to_string());
        spec.round = Some(round);
        spec.context = crate::core::context::mode_for(&self.ctx.team, None, agent);
        Effect::StartTurn(spec)
    }

    fn on_vote(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
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
    fn read_vote(
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
    fn tally(
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
    fn resume_vote(&self, state: &SessionState, round: u32) -> Vec<Effect> {
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

    fn on_pick(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
        let t = &state.turns[&turn];
        let mut out = Vec::new();
        let why = match t.status {
            TurnStatus::Running | TurnStatus::Cancelled => return vec![Effect::Continue],
            TurnStatus::Failed => "the manager's turn failed".to_string(),
            TurnStatus::Completed => {
                let (call, parsed) = tools::parse_speaker(&t.text, &t.tool_calls, self.members());
                out.extend(answer_others(&t.agent, turn, &t.tool_calls, call.as_ref()));
                match parsed {
                    Ok((agent, reason)) => {
                        out.extend(answer(
                            &t.agent,
                            turn,
                            call.as_ref(),
                            "speaker selected",
                            false,
                        ));
                        let s = &state.task.speakers;
                        if s.len() >= 2 && s[s.len() - 2..].iter().all(|x| *x == agent) {
                            out.push(error(format!(
                                "loop detected: {agent} spoke the last two turns; round robin picks instead"
                            )));
                            format!("{agent} was picked a third time in a row")
                        } else {
                            out.push(Effect::Emit(EventKind::SpeakerSelected {
                                agent,
                                by: SelectedBy::Manager,
                                reason: Some(reason),
                            }));
                            out.push(Effect::Continue);
                            return out;
                        }
                    }
                    Err(e) => {
                        out.extend(answer(&t.agent, turn, call.as_ref(), &e.0, true));
                        if state.task.select_attempts < 2 {
                            out.push(error(format!(
                                "{} made an invalid pick ({}); asking again",
                                t.agent, e.0
                            )));
                            out.push(self.ask_manager(&t.agent, Some(&e.0)));
                            return out;
                        }
                        out.push(error(format!(
                            "{} made an invalid pick twice ({})",
                            t.agent, e.0
                        )));
                        format!("the manager's pick was invalid: {}", e.0)
                    }
                }
            }
        };
        out.push(Effect::Emit(EventKind::SpeakerSelected {
            agent: self.round_robin(state),
            by: SelectedBy::RoundRobin,
            reason: Some(why),
        }));
        out.push(Effect::Continue);
        out
    }
}

impl Pattern for GroupChat {
    fn on(&mut self, state: &SessionState, input: Input) -> Vec<Effect> {
        match input {
            Input::Command(cmd) => self.on_command(state, cmd),
            Input::TurnEnded { turn } => {
                let Some(t) = common::ended(state, turn) else {
                    return Vec::new();
                };
                match t.purpose {
                    Purpose::Vote => self.on_vote(state, turn),
                    Purpose::SelectSpeaker => self.on_pick(state, turn),
                    _ => {
                        let mut out = answer_others(&t.agent, turn, &t.tool_calls, None);
                        if t.status == TurnStatus::Completed && repeats(state) == 2 {
                            out.push(error(format!(
                                "loop detected: {} repeated the previous message",
                                t.agent
                            )));
                        }
                        out.push(Effect::Continue);
                        out
                    }
                }
            }
            Input::Timer(name) if name == TIME_LIMIT_TIMER && state.task.active => {
                vec![finish(state, Outcome::Timeout)]
            }
            Input::Timer(_) => Vec::new(),
            Input::Continue => self.advance(state),
        }
    }

    fn resume(&mut self, state: &SessionState, _: &[u64], elapsed_ms: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Some(s) = self.ctx.team.time_limit_s {
            out.push(Effect::SetTimer {
                name: TIME_LIMIT_TIMER.into(),
                ms: s.saturating_mul(1000).saturating_sub(elapsed_ms),
            });
        }
        match state.task.voting {
            Some(round) => out.extend(self.resume_vote(state, round)),
            None if state
                .task
                .tallies
                .last()
                .is_some_and(|(_, reached)| *reached) =>
            {
                out.push(finish(state, Outcome::Consensus));
            }
            None => out.push(Effect::Continue),
        }
        out
    }
}

fn vote_question() -> &'static str {
    "Do you agree with the position the group has reached? Call cast_vote with agree, disagree or abstain and a reason."
}

fn finish(state: &SessionState, outcome: Outcome) -> Effect {
    Effect::Finish {
        outcome,
        final_text: state.last_answer().map(|(_, t)| t.to_string()),
    }
}

/// How many completed speak messages at the end of the task are the same text.
fn repeats(state: &SessionState) -> usize {
    let texts: Vec<String> = state
        .task_turns()
        .filter(|(_, t)| t.purpose == Purpose::Speak && t.status == TurnStatus::Completed)
        .map(|(_, t)| t.text.trim().to_lowercase())
        .collect();
    let Some(last) = texts.last().filter(|l| !l.is_empty()) else {
        return 0;
    };
    texts.iter().rev().take_while(|t| *t == last).count()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::{Budget, Consensus, ContextMode, SpeakerSelection};
    use crate::core::Command;
    use crate::core::event::{EventKind, Outcome, PatternKind, Purpose, SelectedBy, VoteChoice};
    use crate::core::patterns::sim::{Sim, reply, tool};
    use crate::core::patterns::{Input, UnattendedApproval};
    use crate::llm::ChatMessage;

    fn debate(tweak: impl FnOnce(&mut crate::config::TeamConfig)) -> Sim {
        Sim::new(PatternKind::GroupChat, &["a", "b", "c"], |t| {
            t.max_rounds = Some(3);
            tweak(t);
        })
    }

    fn vote(choice: &str) -> crate::core::patterns::sim::Reply {
        tool("", "cast_vote", json!({"choice": choice, "reason": "r"}))
    }

    fn round(sim: &mut Sim, texts: [&str; 3]) {
        for (agent, text) in ["a", "b", "c"].into_iter().zip(texts) {
            sim.complete(agent, reply(text));
        }
    }

    #[test]
    fn round_robin_votes_each_round_and_reaches_consensus_in_round_two() {
        let mut sim = debate(|t| {
            t.consensus = Some(Consensus {
                threshold: 0.67,
                every_round: true,
            });
        });
        sim.send("should we ship?");
        assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::RoundRobin, .. } if agent == "a")));
        assert_eq!(sim.spec_of("a").round, Some(1));
        round(&mut sim, ["yes", "no", "maybe"]);
        assert_eq!(sim.running_agents(), ["a", "b", "c"]);
        assert_eq!(sim.spec_of("a").purpose, Purpose::Vote);
        sim.complete("a", vote("agree"));
        sim.complete("b", vote("disagree"));
        sim.complete("c", vote("disagree"));
        assert!(sim.recent().iter().any(|e| matches!(
            e,
            EventKind::Consensus {
                round: 1,
                reached: false,
                agree: 1,
                disagree: 2,
                ..
            }
        )));
        assert_eq!(sim.spec_of("a").round, Some(2));
        round(&mut sim, ["ship", "ok ship", "fine, ship"]);
        sim.complete("a", vote("agree"));
        sim.complete("b", vote("agree"));
        sim.complete("c", vote("agree"));
        assert!(sim.recent().iter().any(|e| matches!(
            e,
            EventKind::Consensus {
                round: 2,
                reached: true,
                agree: 3,
                ..
            }
        )));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Consensus, Some("fine, ship".into())))
        );
    }

    #[test]
    fn max_rounds_max_messages_and_keyword_end_the_chat() {
        let mut sim = debate(|t| t.max_rounds = Some(1));
        sim.send("go");
        round(&mut sim, ["1", "2", "3"]);
        assert_eq!(sim.finished(), Some((Outcome::MaxRounds, Some("3".into()))));

        let mut sim = debate(|t| t.max_messages = Some(2));
        sim.send("go");
        sim.complete("a", reply("1"));
        sim.complete("b", reply("2"));
        assert_eq!(sim.finished(), Some((Outcome::MaxRounds, Some("2".into()))));

        let mut sim = debate(|t| t.keyword = Some("TERMINATE".into()));
        sim.send("go");
        sim.complete("a", reply("done. TERMINATE"));
        assert_eq!(
            sim.finished(),
            Some((Outcome::Completed, Some("done. TERMINATE".into())))
        );
    }

    #[test]
    fn token_budget_and_time_limit_end_the_chat() {
        let mut sim = debate(|t| {
            t.budget = Some(Budget {
                tokens: Some(100),
                cost: None,
            })
        });
        sim.send("go");
        let mut r = reply("long");
        r.usage = (80, 30);
        sim.complete("a", r);
        assert!(matches!(sim.finished(), Some((Outcome::Budget, _))));

        let mut sim = debate(|t| t.time_limit_s = Some(60));
        sim.send("go");
        sim.timer("time_limit");
        assert!(matches!(sim.finished(), Some((Outcome::Timeout, _))));
        assert!(sim.running_agents().is_empty());
    }

    #[test]
    fn interjections_reach_the_next_speaker() {
        let mut sim = debate(|_| {});
        sim.send("go");
        sim.command(Command::Interject {
            text: "consider cost".into(),
        });
        sim.complete("a", reply("first"));
        let ctx = crate::core::context::messages(&sim.state, &sim.ctx.team, "b", ContextMode::Full);
        assert!(
            ctx.iter()
                .any(|m| matches!(m, ChatMessage::User { text } if text.contains("consider cost")))
        );
        sim.send("and speed");
        assert!(sim.state.entries.iter().any(|e| matches!(e, crate::core::state::Entry::User { text, interject: true, .. } if text == "and speed")));
        assert_eq!(sim.running_agents(), ["b"]);
    }

    #[test]
    fn pause_while_a_turn_streams_then_resume() {
        let mut sim = debate(|_| {});
        sim.send("go");
        sim.stream("a", "thinking");
        sim.command(Command::Pause {});
        assert!(sim.state.paused);
        sim.command(Command::Pause {});
        assert!(sim.last_error().is_some());
        sim.complete("a", reply("thinking done"));
        assert!(sim.running_agents().is_empty());
        sim.command(Command::Resume {});
        assert_eq!(sim.running_agents(), ["b"]);
        sim.command(Command::Resume {});
        assert!(sim.last_error().is_some());
    }

    #[test]
    fn cancel_turn_skips_the_speaker_and_stray_calls_are_answered() {
        let mut sim = debate(|_| {});
        sim.send("go");
        sim.command(Command::CancelTurn {
            agent: Some("b".into()),
        });
        assert!(sim.last_error().is_some());
        sim.command(Command::CancelTurn {
            agent: Some("a".into()),
        });
        assert_eq!(sim.running_agents(), ["b"]);
        sim.complete("b", tool("hi", "browse", json!({})));
        assert!(sim.recent().iter().any(
            |e| matches!(e, EventKind::ToolResult { is_error: true, name, .. } if name == "browse")
        ));
        assert_eq!(sim.running_agents(), ["c"]);
    }

    #[test]
    fn resumed_mid_vote_keeps_the_votes_cast_and_asks_the_rest_again() {
        let mut sim = debate(|t| {
            t.consensus = Some(Consensus {
                threshold: 0.6,
                every_round: true,
            });
            t.time_limit_s = Some(60);
        });
        sim.send("go");
        round(&mut sim, ["1", "2", "3"]);
        sim.complete("a", vote("agree"));
        sim.stream("b", "thinking");
        sim.restart(20_000);
        assert_eq!(sim.timer_ms.get(super::TIME_LIMIT_TIMER), Some(&40_000));
        assert!(sim.recent().iter().any(
            |e| matches!(e, EventKind::TurnCancelled { agent, partial_text, .. } if agent == "b" && partial_text == "thinking")
        ));
        assert_eq!(sim.running_agents(), ["b", "c"]);
        assert_eq!(sim.state.task.votes.len(), 1);
        sim.complete("b", vote("agree"));
        sim.complete("c", vote("disagree"));
        assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Consensus));
        let votes: Vec<(String, VoteChoice)> = sim
            .events()
            .into_iter()
            .filter_map(|e| match e {
                EventKind::Vote { agent, choice, .. } => Some((agent, choice)),
                _ => None,
            })
            .collect();
        assert_eq!(
            votes,
            [
                ("a".to_string(), VoteChoice::Agree),
                ("b".to_string(), VoteChoice::Agree),
                ("c".to_string(), VoteChoice::Disagree)
            ]
        );
    }

    #[test]
    fn resumed_mid_speech_carries_the_round_on() {
        let mut sim = debate(|_| {});
        sim.send("go");
        sim.complete("a", reply("1"));
        sim.stream("b", "half");
        sim.restart(0);
        assert_eq!(sim.running_agents(), ["c"]);
        assert_eq!(sim.state.task.round, 1);
    }

    #[test]
    fn resumed_after_the_last_ballot_before_the_tally_counts_it() {
        let mut sim = debate(|t| {
            t.consensus = Some(Consensus {
                threshold: 0.5,
                every_round: true,
            })
        });
        sim.send("go");
        round(&mut sim, ["1", "2", "3"]);
        sim.complete("a", vote("agree"));
        sim.complete("b", vote("agree"));
        // The process died right after c's ballot arrived, before its vote was recorded.
        let c = sim.turn_of("c");
        sim.stream("c", "");
        let mut log = sim.log.clone();
        log.push(crate::core::event::Event {
            v: 1,
            seq: sim.state.next_seq,
            ts: chrono::DateTime::UNIX_EPOCH,
            session: "s".into(),
            kind: EventKind::Message {
                agent: "c".into(),
                turn: c,
                text: String::new(),
                usage: Default::default(),
                ttft_ms: None,
                latency_ms: 0,
                finish: "tool_calls".into(),
                purpose: Purpose::Vote,
                tool_calls: vec![crate::core::event::ToolCallInfo {
                    id: "v".into(),
                    name: "cast_vote".into(),
                    arguments: json!({"choice": "disagree", "reason": "no"}).to_string(),
                }],
            },
        });
        sim.log = log;
        sim.restart(0);
        assert!(sim.running_agents().is_empty());
        assert_eq!(sim.finished().map(|f| f.0), Some(Outcome::Consensus));
    }

    #[test]
    fn stop_during_a_vote_cancels_every_ballot() {
        let mut sim = debate(|t| {
            t.consensus = Some(Consensus {
                threshold: 0.5,
                every_round: true,
            })
        });
        sim.send("go");
        round(&mut sim, ["1", "2", "3"]);
        sim.complete("a", vote("agree"));
        sim.command(Command::Stop {});
        let cancelled = sim
            .recent()
            .iter()
            .filter(|e| matches!(e, EventKind::TurnCancelled { .. }))
            .count();
        assert_eq!(cancelled, 2);
        assert_eq!(sim.finished(), Some((Outcome::Cancelled, None)));
        assert!(
            !sim.events()
                .iter()
                .any(|e| matches!(e, EventKind::Consensus { .. }))
        );
    }

    #[test]
    fn pick_speaker_forces_the_next_speaker_under_round_robin() {
        let mut sim = debate(|_| {});
        sim.command(Command::PickSpeaker { agent: "c".into() });
        assert!(sim.last_error().is_some());
        sim.send("go");
        sim.command(Command::PickSpeaker {
            agent: "ghost".into(),
        });
        assert!(sim.last_error().is_some());
        sim.command(Command::PickSpeaker { agent: "c".into() });
        sim.complete("a", reply("1"));
        assert_eq!(sim.running_agents(), ["c"]);
    }

    #[test]
    fn human_selection_waits_for_a_pick_unless_nobody_is_present() {
        let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Human));
        sim.send("go");
        assert!(sim.running_agents().is_empty());
        sim.command(Command::PickSpeaker { agent: "b".into() });
        assert_eq!(sim.running_agents(), ["b"]);

        let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Human))
            .unattended(UnattendedApproval::Auto);
        sim.send("go");
        assert_eq!(sim.running_agents(), ["a"]);
    }

    #[test]
    fn manager_picks_and_invalid_picks_fall_back_to_round_robin() {
        let mut sim = debate(|t| {
            t.speaker_selection = Some(SpeakerSelection::Manager);
            t.manager = Some("m".into());
        });
        sim.send("go");
        assert_eq!(sim.spec_of("m").purpose, Purpose::SelectSpeaker);
        sim.complete(
            "m",
            tool(
                "",
                "select_speaker",
                json!({"agent": "c", "reason": "expert"}),
            ),
        );
        assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::Manager, .. } if agent == "c")));
        sim.complete("c", reply("1"));
        sim.complete("m", tool("", "select_speaker", json!({"agent": "ghost"})));
        assert!(sim.last_error().is_some());
        assert!(
            sim.spec_of("m")
                .instructions
                .as_deref()
                .is_some_and(|i| i.contains("invalid"))
        );
        sim.complete("m", reply("no idea"));
        assert!(sim.recent().iter().any(|e| matches!(e, EventKind::SpeakerSelected { agent, by: SelectedBy::RoundRobin, .. } if agent == "a")));
        assert_eq!(sim.running_agents(), ["a"]);
    }

    #[test]
    fn a_repeated_speaker_loop_is_broken() {
        let mut sim = debate(|t| {
            t.speaker_selection = Some(SpeakerSelection::Manager);
            t.manager = Some("m".into());
        });
        sim.send("go");
        for text in ["1", "2"] {
            sim.complete(
                "m",
                tool("", "select_speaker", json!({"agent": "b", "reason": ""})),
            );
            sim.complete("b", reply(text));
        }
        sim.complete(
            "m",
            tool("", "select_speaker", json!({"agent": "b", "reason": ""})),
        );
        assert!(sim.last_error().is_some_and(|e| e.contains("loop")));
        assert_eq!(sim.running_agents(), ["c"]);
    }

    #[test]
    fn a_repeated_message_loop_is_broken() {
        let mut sim = debate(|t| t.max_rounds = Some(5));
        sim.send("go");
        sim.complete("a", reply("same"));
        sim.complete("b", reply("same"));
        assert!(sim.last_error().is_some_and(|e| e.contains("loop")));
        assert!(sim.spec_of("c").instructions.is_some());
        sim.complete("c", reply("Same"));
        assert!(matches!(sim.finished(), Some((Outcome::Failed, _))));
    }

    #[test]
    fn call_vote_and_malformed_votes() {
        let mut sim = debate(|_| {});
        sim.send("go");
        sim.command(Command::CallVote {});
        assert!(
            sim.last_error()
                .is_some_and(|e| e.contains("nothing to vote"))
        );
        sim.complete("a", reply("proposal"));
        sim.command(Command::CallVote {});
        assert_eq!(sim.running_agents(), ["b", "a", "b", "c"]);
        sim.command(Command::CallVote {});
        assert!(sim.last_error().is_some());
        sim.complete("b", reply("2"));
        assert!(
            !sim.state.is_running(Purpose::Speak),
            "no speaker while the vote runs"
        );
        sim.complete("a", tool("", "cast_vote", json!({"choice": "perhaps"})));
        assert!(sim.last_error().is_some());
        sim.complete("a", reply("I cannot decide"));
        assert!(sim.recent().iter().any(|e| matches!(e, EventKind::Vote { agent, choice: VoteChoice::Abstain, .. } if agent == "a")));
        sim.complete("b", vote("agree"));
        sim.complete("c", vote("agree"));
        assert!(sim.recent().iter().any(|e| matches!(
            e,
            EventKind::Consensus {
                reached: false,
                agree: 2,
                abstain: 1,
                ..
            }
        )));
        assert_eq!(sim.running_agents(), ["c"]);
    }

    #[test]
    fn random_selection_replays_identically() {
        let mut sim = debate(|t| t.speaker_selection = Some(SpeakerSelection::Random));
        sim.send("go");
        let first = sim.running_agents();
        sim.complete(&first[0], reply("1"));
        let running = sim.running_agents()[0].clone();
        sim.stream(&running, "x");
        let t = sim.turn_of(&running);
        sim.emit(EventKind::TurnFailed {
            agent: running.clone(),
            turn: t,
            error: crate::core::event::ErrorInfo {
                kind: "network".into(),
                message: "m".into(),
            },
            will_retry: false,
        });
        let live = sim.decide(Input::TurnEnded { turn: t });
        sim.resume();
        assert_eq!(sim.decide(Input::TurnEnded { turn: t }), live);
        assert!(!live.is_empty());
    }

    #[test]
    fn handoff_commands_are_errors_here() {
        let mut sim = debate(|_| {});
        sim.send("go");
        for cmd in [
            Command::ApproveHandoff {},
            Command::CancelHandoff {},
            Command::RedirectHandoff { to: "a".into() },
        ] {
            sim.command(cmd);
            assert!(sim.last_error().is_some());
        }
        assert_eq!(sim.running_agents(), ["a"]);
    }
}
