//! Who speaks next when nobody was picked: `round_robin` (the member after the last speaker),
//! `random` (never the last speaker, seeded by the event count so a replay decides the same) or
//! `manager` (an agent answers `select_speaker`; an invalid pick is asked once more, and a pick of
//! the speaker of the last two turns is overridden, both by round robin).

use super::GroupChat;
use crate::core::event::{EventKind, Purpose, SelectedBy};
use crate::core::patterns::common::{answer, answer_others, error};
use crate::core::patterns::{Effect, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;

impl GroupChat {
    pub(super) fn round_robin(&self, state: &SessionState) -> String {
        let m = self.members();
        let next = state
            .task
            .speakers
            .last()
            .and_then(|last| m.iter().position(|x| x == last))
            .map_or(0, |i| (i + 1) % m.len().max(1));
        m.get(next).cloned().unwrap_or_default()
    }

    pub(super) fn random(&self, state: &SessionState) -> String {
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

    pub(super) fn ask_manager(&self, manager: &str, error: Option<&str>) -> Effect {
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

    pub(super) fn on_pick(&self, state: &SessionState, turn: u64) -> Vec<Effect> {
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
