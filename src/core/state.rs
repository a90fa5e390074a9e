//! The session state: everything a pattern needs to decide and everything resume needs, rebuilt by
//! folding events with [`SessionState::apply`].
//!
//! This is the ONE fold: the live actor applies each event it publishes, and resume applies the
//! journal, so "replay(journal) == live state" holds by construction. It is pure (no tokio, no
//! clock, no IO). Per-prompt bookkeeping (rounds, votes, scores, counts) lives in [`TaskState`] and
//! starts afresh with the `user_message` that opens a task; the conversation, the handoff holder and
//! chain carry over from task to task.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::core::event::{
    AgentInfo, ErrorInfo, Event, EventKind, Outcome, PatternKind, Purpose, SelectedBy,
    ToolCallInfo, VoteChoice,
};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionState {
    pub session: String,
    pub team: String,
    pub pattern: Option<PatternKind>,
    pub agents: Vec<AgentInfo>,
    /// The conversation in order: what context is built from.
    pub entries: Vec<Entry>,
    /// Every turn of the session by id.
    pub turns: BTreeMap<u64, TurnRecord>,
    /// The ids of the turns still streaming.
    pub running: BTreeSet<u64>,
    pub task: TaskState,
    pub handoff: HandoffState,
    pub paused: bool,
    /// Set by `session_finished`, cleared when the next task starts.
    pub finished: Option<Finished>,
    pub next_seq: u64,
    pub next_turn: u64,
    /// Tokens of every call so far, per agent (input, output): completed, failed and cancelled,
    /// estimated where the server reported none.
    pub usage: BTreeMap<String, (u64, u64)>,
    /// Messages typed while agents worked, oldest first, until delivered or cancelled.
    pub queued: Vec<Queued>,
    /// `message_queued` events so far (ids are `q<count>`).
    pub queued_count: u32,
    /// MCP tool calls by id (issue 10).
    pub calls: calls::Calls,
    /// The plan of the current prompt in a plan team (issue 11): versions, review, task runs.
    pub plan: plan::PlanState,
}

/// A message waiting for the next boundary of the pattern (`message_queued`).
#[derive(Clone, Debug, PartialEq)]
pub struct Queued {
    pub id: String,
    pub text: String,
    pub to: Option<String>,
}

/// One item of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    User {
        text: String,
        to: Option<String>,
        interject: bool,
    },
    Agent {
        agent: String,
        turn: u64,
        text: String,
        tool_calls: Vec<ToolCallInfo>,
        purpose: Purpose,
    },
    ToolResult {
        agent: String,
        turn: u64,
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// One model call and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnRecord {
    pub agent: String,
    pub purpose: Purpose,
    pub round: Option<u32>,
    pub status: TurnStatus,
    /// Streamed text so far; the full text once completed; the partial text once cancelled.
    pub text: String,
    pub tool_calls: Vec<ToolCallInfo>,
    pub finish: Option<crate::core::event::FinishReason>,
    pub error: Option<ErrorInfo>,
    /// Tokens this turn cost (input, output), every attempt included.
    pub usage: (u64, u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub outcome: Outcome,
    pub final_text: Option<String>,
}

/// What belongs to the prompt being worked on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskState {
    /// Between the opening `user_message` and `session_finished`.
    pub active: bool,
    pub prompt: String,
    pub started_at: Option<DateTime<Utc>>,
    /// The first turn id of this task: turns below it belong to earlier tasks.
    pub first_turn: u64,
    /// Completed `speak`/`aggregate` messages.
    pub messages: u32,
    /// The current group-chat round (0 before the first speaker).
    pub round: u32,
    /// Who has spoken in the current round, in order (one item per turn started).
    pub spoken: Vec<String>,
    /// Speakers of this task, in order.
    pub speakers: Vec<String>,
    pub next_speaker: Option<(String, SelectedBy)>,
    /// `select_speaker` turns since the last `speaker_selected`.
    pub select_attempts: u32,
    /// The round being voted on, from the first vote turn to the `consensus` tally.
    pub voting: Option<u32>,
    /// The first turn id of the vote in progress.
    pub voting_first_turn: u64,
    pub votes: BTreeMap<String, (VoteChoice, String)>,
    /// Rounds already voted on, with whether consensus was reached.
    pub tallies: Vec<(u32, bool)>,
    pub scores: BTreeMap<String, (f64, String)>,
    /// Accepted handoff moves of this task (from, to), for ping-pong detection.
    pub hops: Vec<(String, String)>,
    /// Agents whose turn failed in this task (fallbacks skip them).
    pub failed: Vec<String>,
    /// `next_turn` when the person last spoke into the running task: a turn whose id is below it
    /// started before that message and has not seen it.
    pub heard_until: Option<u64>,
}

/// Who holds control in a handoff team, and the chain of active handoffs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandoffState {
    pub holder: Option<String>,
    /// Active handoffs, oldest first; the last one's `to` is the holder.
    pub chain: Vec<HandoffLink>,
    pub pending: Option<PendingHandoff>,
    /// The last rejected request (a fallback after a rejection starts from it).
    pub rejected: Option<PendingHandoff>,
    /// Handoff requests so far (ids are `h<count>`).
    pub requested: u32,
    /// The person's edit of what a handoff's target receives (`context_edited`): it replaces
    /// the messages of the target's speak turns once the handoff is accepted, until one of them
    /// completes; dropped when the handoff goes elsewhere (rejected, cancelled, redirected).
    pub edited: Option<EditedContext>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EditedContext {
    pub handoff: String,
    pub agent: String,
    pub messages: Vec<crate::core::event::ContextMessage>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HandoffLink {
    pub id: String,
    pub from: String,
    pub to: String,
    /// Why `from` handed over (what every holder of this link is told).
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PendingHandoff {
    pub id: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub approval: Option<crate::core::event::Approval>,
    /// The person is deciding (`handoff_held`): the approval window no longer counts.
    pub held: bool,
}

impl SessionState {
    /// Fold one event into the state.
    pub fn apply(&mut self, event: &Event) {
        self.next_seq = event.seq + 1;
        if self.session.is_empty() {
            self.session = event.session.clone();
        }
        match &event.kind {
            EventKind::SessionStarted {
                team,
                pattern,
                agents,
            } => {
                self.team = team.clone();
                self.pattern = Some(*pattern);
                self.agents = agents.clone();
            }
            EventKind::UserMessage {
                text,
                to,
                interject,
                queued_id,
            } => {
                if let Some(q) = queued_id {
                    self.queued.retain(|m| &m.id != q);
                }
                if !self.task.active && !interject {
                    self.task = TaskState {
                        active: true,
                        prompt: text.clone(),
                        started_at: Some(event.ts),
                        first_turn: self.next_turn,
                        ..TaskState::default()
                    };
                    self.finished = None;
                    self.paused = false;
                    self.plan = plan::PlanState::default();
                    if self.pattern == Some(PatternKind::Plan) {
                        self.plan.phase = plan::PlanPhase::Planning;
                    }
                } else if self.task.active {
                    self.task.heard_until = Some(self.next_turn);
                }
                self.entries.push(Entry::User {
                    text: text.clone(),
                    to: to.clone(),
                    interject: *interject,
                });
            }
            EventKind::TurnStarted {
                agent,
                turn,
                round,
                purpose,
            } => {
                self.turn_started(agent, *turn, *round, *purpose);
                self.plan.apply(&event.kind, event.ts, &self.turns);
            }
            EventKind::Token { turn, text, .. } => {
                if let Some(t) = self.turns.get_mut(turn) {
                    t.text.push_str(text);
                }
            }
            EventKind::Message {
                agent,
                turn,
                text,
                usage,
                finish,
                purpose,
                tool_calls,
                continues,
                ..
            } => {
                if !*continues
                    && *purpose == Purpose::Speak
                    && self.handoff.pending.is_none()
                    && self
                        .handoff
                        .edited
                        .as_ref()
                        .is_some_and(|e| &e.agent == agent)
                {
                    // The edited context was used: later turns see the conversation again.
                    self.handoff.edited = None;
                }
                if *continues {
                    // A step of the tool loop: the turn runs on with the next model call.
                    if let Some(t) = self.turns.get_mut(turn) {
                        t.text.clear();
                    }
                } else {
                    self.running.remove(turn);
                }
                if let Some(t) = self.turns.get_mut(turn).filter(|_| !*continues) {
                    t.status = TurnStatus::Completed;
                    t.text = text.clone();
                    t.tool_calls = tool_calls.clone();
                    t.finish = Some(finish.clone());
                }
                self.spend(agent, *turn, usage);
                if !*continues && matches!(purpose, Purpose::Speak | Purpose::Aggregate) {
                    self.task.messages += 1;
                }
                self.entries.push(Entry::Agent {
                    agent: agent.clone(),
                    turn: *turn,
                    text: text.clone(),
                    tool_calls: tool_calls.clone(),
                    purpose: *purpose,
                });
            }
            EventKind::TurnFailed {
                agent,
                turn,
                error,
                will_retry,
                usage,
            } => {
                self.spend(agent, *turn, usage);
                if let Some(t) = self.turns.get_mut(turn) {
                    if *will_retry {
                        t.text.clear();
                    } else {
                        self.running.remove(turn);
                        t.status = TurnStatus::Failed;
                        t.error = Some(error.clone());
                        if !self.task.failed.contains(agent) {
                            self.task.failed.push(agent.clone());
                        }
                    }
                }
            }
            EventKind::TurnCancelled {
                agent,
                turn,
                partial_text,
                usage,
            } => {
                self.spend(agent, *turn, usage);
                self.running.remove(turn);
                if let Some(t) = self.turns.get_mut(turn) {
                    t.status = TurnStatus::Cancelled;
                    t.text = partial_text.clone();
                }
            }
            EventKind::ToolResult {
                agent,
                turn,
                call_id,
                name,
                content,
                is_error,
                ..
            } => {
                self.calls.apply(&event.kind);
                self.entries.push(Entry::ToolResult {
                    agent: agent.clone(),
                    turn: *turn,
                    call_id: call_id.clone(),
                    name: name.clone(),
                    content: content.clone(),
                    is_error: *is_error,
                });
            }
            EventKind::SpeakerSelected { agent, by, .. } => {
                self.task.next_speaker = Some((agent.clone(), *by));
                self.task.select_attempts = 0;
            }
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                approval,
                ..
            } => {
                self.handoff.requested += 1;
                self.handoff.edited = None;
                self.handoff.pending = Some(PendingHandoff {
                    id: id.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    reason: reason.clone(),
                    approval: approval.clone(),
                    held: false,
                });
            }
            EventKind::HandoffAccepted { id, .. } => {
                if let Some(p) = self.handoff.pending.take_if(|p| &p.id == id) {
                    self.task.hops.push((p.from.clone(), p.to.clone()));
                    self.handoff.holder = Some(p.to.clone());
                    self.handoff.chain.push(HandoffLink {
                        id: p.id,
                        from: p.from,
                        to: p.to,
                        reason: p.reason,
                    });
                }
            }
            EventKind::HandoffRejected { id, .. } => {
                self.drop_edit(id);
                if let Some(p) = self.handoff.pending.take_if(|p| &p.id == id) {
                    self.handoff.rejected = Some(p);
                }
            }
            EventKind::HandoffRedirected { id, to, .. } => {
                self.drop_edit(id);
                if let Some(p) = self.handoff.pending.as_mut().filter(|p| &p.id == id) {
                    p.to = to.clone();
                } else if let Some(link) = self.handoff.chain.iter_mut().find(|l| &l.id == id) {
                    link.to = to.clone();
                    self.handoff.holder = Some(to.clone());
                }
            }
            EventKind::HandoffCancelled { id, .. } => {
                self.drop_edit(id);
                if self.handoff.pending.as_ref().is_some_and(|p| &p.id == id) {
                    self.handoff.pending = None;
                } else {
                    self.unwind_to(id);
                }
            }
            EventKind::HandoffCompleted { id, .. } => self.unwind_to(id),
            EventKind::HandoffFallback { id, to, .. } => {
                if let Some(link) = self.handoff.chain.iter_mut().find(|l| &l.id == id) {
                    link.to = to.clone();
                } else if let Some(r) = self.handoff.rejected.take_if(|r| &r.id == id) {
                    self.handoff.chain.push(HandoffLink {
                        id: r.id,
                        from: r.from,
                        to: to.clone(),
                        reason: r.reason,
                    });
                }
                self.handoff.holder = Some(to.clone());
            }
            EventKind::Vote {
                round,
                agent,
                choice,
                reason,
            } => {
                self.task.voting.get_or_insert(*round);
                self.task
                    .votes
                    .insert(agent.clone(), (*choice, reason.clone()));
            }
            EventKind::Consensus { round, reached, .. } => {
                self.task.voting = None;
                self.task.tallies.push((*round, *reached));
            }
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => {
                self.task
                    .scores
                    .insert(agent.clone(), (*score, reason.clone()));
            }
            EventKind::BackendFallback { .. } => {}
            EventKind::Paused { .. } => self.paused = true,
            EventKind::Resumed { .. } => self.paused = false,
            EventKind::Error { .. } => {}
            EventKind::TurnWaiting { .. } | EventKind::TurnNotice { .. } => {}
            EventKind::ToolCall { .. }
            | EventKind::ToolApprovalRequested { .. }
            | EventKind::ToolApproved { .. }
            | EventKind::ToolRejected { .. } => self.calls.apply(&event.kind),
            EventKind::ToolInterrupted { call_id } => {
                self.calls.apply(&event.kind);
                if let Some(c) = self.calls.get(call_id) {
                    self.entries.push(Entry::ToolResult {
                        agent: c.agent.clone(),
                        turn: c.turn,
                        call_id: call_id.clone(),
                        name: c.name.clone(),
                        content: calls::INTERRUPTED.into(),
                        is_error: true,
                    });
                }
            }
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => {
                self.plan.apply(&event.kind, event.ts, &self.turns);
                self.task.active = false;
                self.handoff.pending = None;
                self.handoff.edited = None;
                self.finished = Some(Finished {
                    outcome: *outcome,
                    final_text: final_text.clone(),
                });
            }
            // Steering (issue 12).
            EventKind::MessageQueued { id, text, to } => {
                self.queued_count += 1;
                self.queued.push(Queued {
                    id: id.clone(),
                    text: text.clone(),
                    to: to.clone(),
                });
            }
            EventKind::QueuedCancelled { id, .. } => self.queued.retain(|m| &m.id != id),
            EventKind::ContextEdited {
                handoff,
                agent,
                messages,
                ..
            } => {
                self.handoff.edited = Some(EditedContext {
                    handoff: handoff.clone(),
                    agent: agent.clone(),
                    messages: messages.clone(),
                });
            }
            EventKind::HandoffHeld { id, .. } => {
                if let Some(p) = self.handoff.pending.as_mut().filter(|p| &p.id == id) {
                    p.held = true;
                }
            }
            // Plans (issue 11).
            EventKind::PlanProposed { .. }
            | EventKind::PlanEdited { .. }
            | EventKind::PlanApproved { .. }
            | EventKind::PlanRejected { .. }
            | EventKind::PlanHeld { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::TaskFinished { .. }
            | EventKind::TaskSkipped { .. }
            | EventKind::CompensationStarted { .. }
            | EventKind::CompensationFinished { .. }
            | EventKind::Replanned { .. } => self.plan.apply(&event.kind, event.ts, &self.turns),
        }
    }

    /// Forget the edited context of handoff `id` (it no longer goes where it was edited for).
    fn drop_edit(&mut self, id: &str) {
        if self
            .handoff
            .edited
            .as_ref()
            .is_some_and(|e| e.handoff == id)
        {
            self.handoff.edited = None;
        }
    }

    /// The edited messages `agent`'s next speak turn receives instead of its context: set by
    /// `context_edited` and used once the handoff to `agent` is accepted.
    pub fn edited_context(&self, agent: &str) -> Option<&[crate::core::event::ContextMessage]> {
        let e = self.handoff.edited.as_ref()?;
        let accepted = self.handoff.pending.is_none()
            && self.handoff.chain.last().is_some_and(|l| l.id == e.handoff);
        (accepted && e.agent == agent).then_some(e.messages.as_slice())
    }

    /// Fold a whole journal.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> SessionState {
        let mut state = SessionState::default();
        for e in events {
            state.apply(e);
        }
        state
    }

    /// Whether the person spoke into the task after `turn` started (so it has not seen it).
    pub fn spoke_after(&self, turn: u64) -> bool {
        self.task.heard_until.is_some_and(|n| n > turn)
    }

    /// Ids of the turns still streaming.
    pub fn running_turns(&self) -> Vec<u64> {
        self.running.iter().copied().collect()
    }

    /// The `turn_cancelled` event that closes `turn`, its partial text kept (`None`: no such turn).
    /// Its usage is the output estimated from the partial text; the actor, which knows the
    /// request and what the server reported, replaces it for a live turn.
    pub fn cancellation(&self, turn: u64) -> Option<EventKind> {
        let t = self.turns.get(&turn)?;
        Some(EventKind::TurnCancelled {
            agent: t.agent.clone(),
            turn,
            partial_text: t.text.clone(),
            usage: crate::core::event::UsageInfo {
                input: None,
                output: Some(crate::llm::estimate::output_tokens(&t.text, 0)),
                estimated: true,
            },
        })
    }

    pub fn is_running(&self, purpose: Purpose) -> bool {
        self.running
            .iter()
            .any(|id| self.turns.get(id).is_some_and(|t| t.purpose == purpose))
    }

    /// Turns of the current task, oldest first.
    pub fn task_turns(&self) -> impl DoubleEndedIterator<Item = (&u64, &TurnRecord)> {
        self.turns.range(self.task.first_turn..)
    }

    /// The last completed speak/aggregate message of the current task.
    pub fn last_answer(&self) -> Option<(&str, &str)> {
        self.task_turns()
            .rev()
            .find(|(_, t)| {
                t.status == TurnStatus::Completed
                    && matches!(t.purpose, Purpose::Speak | Purpose::Aggregate)
            })
            .map(|(_, t)| (t.agent.as_str(), t.text.as_str()))
    }

    /// Tokens used by the current task's turns per agent (input, output as reported).
    pub fn task_usage(&self) -> BTreeMap<String, (u64, u64)> {
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (_, t) in self.task_turns() {
            let used = out.entry(t.agent.clone()).or_default();
            used.0 += t.usage.0;
            used.1 += t.usage.1;
        }
        out
    }

    /// Count what one call cost, for its turn and its agent (every call: completed, failed or
    /// cancelled, estimated or reported).
    fn spend(&mut self, agent: &str, turn: u64, usage: &crate::core::event::UsageInfo) {
        let (input, output) = (usage.input.unwrap_or(0), usage.output.unwrap_or(0));
        if let Some(t) = self.turns.get_mut(&turn) {
            t.usage.0 += input;
            t.usage.1 += output;
        }
        let used = self.usage.entry(agent.to_string()).or_default();
        used.0 += input;
        used.1 += output;
    }

    fn turn_started(&mut self, agent: &str, turn: u64, round: Option<u32>, purpose: Purpose) {
        self.next_turn = self.next_turn.max(turn + 1);
        self.running.insert(turn);
        self.turns.insert(
            turn,
            TurnRecord {
                agent: agent.to_string(),
                purpose,
                round,
                status: TurnStatus::Running,
                text: String::new(),
                tool_calls: Vec::new(),
                finish: None,
                error: None,
                usage: (0, 0),
            },
        );
        match purpose {
            Purpose::Speak => {
                if let Some(r) = round
                    && r != self.task.round
                {
                    self.task.round = r;
                    self.task.spoken.clear();
                }
                if round.is_some() {
                    self.task.spoken.push(agent.to_string());
                }
                self.task.speakers.push(agent.to_string());
                if self
                    .task
                    .next_speaker
                    .as_ref()
                    .is_some_and(|(a, _)| a == agent)
                {
                    self.task.next_speaker = None;
                }
            }
            Purpose::Vote if self.task.voting.is_none() => {
                self.task.voting = round.or(Some(self.task.round));
                self.task.voting_first_turn = turn;
                self.task.votes.clear();
            }
            Purpose::SelectSpeaker => self.task.select_attempts += 1,
            _ => {}
        }
    }

    /// Unwind the handoff chain down to (and including) the link `id`; control returns to the
    /// agent that made that handoff.
    fn unwind_to(&mut self, id: &str) {
        if let Some(pos) = self.handoff.chain.iter().position(|l| l.id == id) {
            let link = self.handoff.chain[pos].clone();
            self.handoff.chain.truncate(pos);
            self.handoff.holder = Some(link.from);
        }
    }
}

pub mod calls;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod plan;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Approval;
    use crate::core::event::PatternKind;
    use crate::core::patterns::sim::{Sim, reply, tool};

    #[test]
    fn replaying_the_journal_gives_the_live_state() {
        let mut sim = Sim::new(PatternKind::Handoff, &["triage", "billing"], |t| {
            t.approval = Some(Approval::Auto);
            t.handoffs.insert("triage".into(), vec!["billing".into()]);
        });
        sim.send("help");
        sim.stream("triage", "one moment");
        sim.complete(
            "triage",
            tool("one moment", "transfer_to_billing", json!({"reason": "r"})),
        );
        sim.complete("billing", reply("done"));
        sim.send("thanks");
        for prefix in 0..=sim.log.len() {
            let replayed = super::SessionState::replay(&sim.log[..prefix]);
            assert_eq!(replayed.next_seq, prefix as u64);
        }
        assert_eq!(super::SessionState::replay(&sim.log), sim.state);
        assert_eq!(sim.state.handoff.holder.as_deref(), Some("billing"));
        assert!(sim.state.task.active);
        assert_eq!(sim.state.task.prompt, "thanks");
    }
}
