//! `group_chat`: a discussion in rounds. A round is one speak turn per member; who speaks next
//! is chosen by `round_robin`, `manager` (an agent answers `select_speaker`; an invalid pick is
//! asked once more, then round robin takes over), `human` (waits for `pick_speaker`; round robin
//! when nobody is present) or `random` (seeded by the event count, so a replay decides the same).
//! `pick_speaker` forces the next speaker under any selection.
//!
//! After each round, when consensus is configured, every member answers `cast_vote` (also at any
//! time on `call_vote`); the `consensus` tally ends the task when the agreeing share reaches the
//! threshold. Termination conditions combine: max rounds (default 10), max messages (outcome
//! `max_messages`), keyword, wall-clock limit per task (timer `time_limit`, armed by the message
//! that starts the discussion); the token or cost budget is the session's, checked by the actor
//! before every call (as in every pattern). Interjections enter the
//! transcript and the next speaker sees them. Pause stops new turns; resume continues. Loops are
//! broken: a manager picking the speaker of the last two turns again is overridden by round robin,
//! and a message repeated verbatim is flagged (the next speaker is told to move on); a third
//! identical message ends the task.
//!
//! Resumed after the process died mid-task: a speak turn that was cut off counts as that
//! speaker's turn and the round carries on; votes already cast stand, a vote that was cut off is
//! asked again; the wall-clock limit gets the time that was left.
//!
//! This file is the discussion itself (commands, the next turn, termination); `speaker` picks who
//! speaks when nobody was picked, `vote` runs the votes and the consensus tally.

mod speaker;
mod vote;

use crate::config::SpeakerSelection;
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, Purpose, SelectedBy};
use crate::core::patterns::common::{self, answer_others, command_error, error};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};

pub const DEFAULT_MAX_ROUNDS: u32 = crate::core::metrics::forecast::DEFAULT_ROUNDS;
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
                    queued_id: None,
                })];
                if !active && let Some(s) = self.ctx.team.time_limit_s {
                    out.push(Effect::SetTimer {
                        name: TIME_LIMIT_TIMER.into(),
                        ms: s.saturating_mul(1000),
                    });
                }
                out.extend(to.as_deref().map(common::addressed));
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
                    queued_id: None,
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
            return Some(vec![finish(state, Outcome::MaxMessages)]);
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
        // The last n speak turns, newest first (read from the end: a turn costs the same at
        // message 40 and at message 4,000).
        let recent: Vec<TurnStatus> = state
            .task_turns()
            .rev()
            .filter(|(_, t)| t.purpose == Purpose::Speak)
            .take(n)
            .map(|(_, t)| t.status)
            .collect();
        if recent.len() >= n && recent.iter().all(|s| *s == TurnStatus::Failed) {
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

fn finish(state: &SessionState, outcome: Outcome) -> Effect {
    Effect::Finish {
        outcome,
        final_text: state.last_answer().map(|(_, t)| t.to_string()),
    }
}

/// How many completed speak messages at the end of the task are the same text (read from the
/// end, stopping at the first different one).
fn repeats(state: &SessionState) -> usize {
    let mut texts = state
        .task_turns()
        .rev()
        .filter(|(_, t)| t.purpose == Purpose::Speak && t.status == TurnStatus::Completed)
        .map(|(_, t)| t.text.trim());
    let Some(last) = texts.next().filter(|l| !l.is_empty()) else {
        return 0;
    };
    let last = last.to_lowercase();
    1 + texts.take_while(|t| t.to_lowercase() == last).count()
}

#[cfg(test)]
mod tests;
