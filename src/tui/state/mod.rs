//! The session as the console sees it: a pure fold over events (`SessionView::apply`).
//!
//! No terminal, no clock, no IO: events in, view data out, so reducer tests need nothing but
//! events. Split by concern: agents (panes), the transcript and the handoff chain; the metrics
//! are the core's own fold ([`crate::core::metrics::Metrics`]), the one source of those figures.
//! A `session_started` event resets everything (a new session's stream begins with one).

pub mod agents;
pub mod handoff;
pub mod transcript;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::{Budget, Config, Price};
use crate::core::event::{AgentInfo, Event, EventKind, Outcome, PatternKind, Purpose, VoteChoice};
use crate::core::metrics::Metrics;

use agents::{AgentStatus, AgentView, BlockKind};
use handoff::{HandoffView, Transfer, TransferState};
use transcript::{Entry, EntryKind};

/// Whether the session is doing something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// No `session_started` yet.
    Waiting,
    /// Started, nothing streaming: the session waits for the person or the next step.
    Idle,
    Running,
    /// A handoff waits for approval (or for its window to run out).
    Approval,
    Paused,
    Finished(Outcome),
}

impl RunState {
    pub fn label(self) -> String {
        match self {
            RunState::Waiting => "starting".into(),
            RunState::Idle => "idle".into(),
            RunState::Running => "running".into(),
            RunState::Approval => "awaiting approval".into(),
            RunState::Paused => "paused".into(),
            RunState::Finished(o) => format!("finished: {}", outcome_label(o)),
        }
    }
}

pub fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Completed => "completed",
        Outcome::Cancelled => "cancelled",
        Outcome::Failed => "failed",
        Outcome::MaxRounds => "max rounds",
        Outcome::Budget => "budget",
        Outcome::Consensus => "consensus",
        Outcome::Timeout => "timeout",
    }
}

/// The latest vote tally of a round, for the metrics/status panels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub round: u32,
    pub votes: BTreeMap<String, VoteChoice>,
}

/// Everything the console knows about the session.
#[derive(Debug, PartialEq)]
pub struct SessionView {
    pub session: Option<String>,
    pub team: String,
    pub pattern: Option<PatternKind>,
    pub agents: Vec<AgentView>,
    pub transcript: Vec<Entry>,
    pub handoff: HandoffView,
    pub metrics: Metrics,
    /// The team's budget from the config, if it has one.
    pub budget: Option<Budget>,
    pub tally: Tally,
    pub started_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The `seq` of the newest event (for `/fork`).
    pub last_seq: Option<u64>,
    pub round: Option<u32>,
    /// The agent whose turn started last and is still running.
    pub speaking: Option<String>,
    pub paused: bool,
    pub finished: Option<Outcome>,
    /// Handoff entry agent from the config, the holder before any transfer.
    entry_agent: Option<String>,
    /// Per-agent prices from the config, for a fresh [`Metrics`] at each `session_started`.
    prices: BTreeMap<String, Price>,
}

impl SessionView {
    /// An empty view; prices and budget come from the config, the entry agent from the team.
    pub fn new(config: &Config, team: &str) -> SessionView {
        let prices: BTreeMap<String, Price> = config
            .agents
            .iter()
            .filter_map(|(n, a)| a.price.map(|p| (n.clone(), p)))
            .collect();
        let team_cfg = config.teams.get(team);
        SessionView {
            session: None,
            team: team.to_string(),
            pattern: team_cfg.map(|t| t.pattern),
            agents: Vec::new(),
            transcript: Vec::new(),
            handoff: HandoffView::default(),
            metrics: Metrics::new(prices.clone()),
            budget: team_cfg.and_then(|t| t.budget),
            tally: Tally::default(),
            started_at: None,
            last_event_at: None,
            last_seq: None,
            round: None,
            speaking: None,
            paused: false,
            finished: None,
            entry_agent: team_cfg.and_then(|t| t.entry.clone()),
            prices,
        }
    }

    pub fn run_state(&self) -> RunState {
        if let Some(o) = self.finished {
            RunState::Finished(o)
        } else if self.paused {
            RunState::Paused
        } else if self.agents.iter().any(AgentView::is_busy) {
            RunState::Running
        } else if self.handoff.pending().is_some() {
            RunState::Approval
        } else if self.session.is_some() {
            RunState::Idle
        } else {
            RunState::Waiting
        }
    }

    /// Whether a task was given and has not finished yet.
    pub fn task_open(&self) -> bool {
        self.session.is_some()
            && self.finished.is_none()
            && self
                .transcript
                .iter()
                .any(|e| matches!(e.kind, EntryKind::User { .. }))
    }

    pub fn is_running(&self) -> bool {
        self.agents.iter().any(AgentView::is_busy)
    }

    pub fn agent_index(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.info.name == name)
    }

    /// Fold one event into the view.
    pub fn apply(&mut self, event: &Event) {
        let ts = event.ts;
        self.last_event_at = Some(ts);
        self.last_seq = Some(event.seq);
        if matches!(event.kind, EventKind::SessionStarted { .. }) {
            self.metrics = Metrics::new(self.prices.clone());
        }
        self.metrics.apply(event);
        match &event.kind {
            EventKind::SessionStarted {
                team,
                pattern,
                agents,
            } => {
                self.start(event, team, *pattern, agents);
            }
            EventKind::UserMessage {
                text,
                to,
                interject,
            } => {
                if !interject {
                    // A new task: the last one's outcome no longer describes the session.
                    self.finished = None;
                }
                self.push(
                    ts,
                    EntryKind::User {
                        text: text.clone(),
                        to: to.clone(),
                        interject: *interject,
                    },
                )
            }
            EventKind::TurnStarted {
                agent,
                turn,
                round,
                purpose,
            } => {
                if round.is_some() {
                    self.round = *round;
                }
                if *purpose == Purpose::Speak {
                    self.speaking = Some(agent.clone());
                    if self.pattern == Some(PatternKind::Handoff) {
                        self.handoff.holder = Some(agent.clone());
                    }
                }
                self.agent_mut(agent).start(*turn, *round, *purpose);
            }
            EventKind::Token { agent, turn, text } => self.agent_mut(agent).token(*turn, text),
            EventKind::Message {
                agent,
                turn,
                text,
                purpose,
                ..
            } => {
                let round = self.agent_mut(agent).live.as_ref().and_then(|l| l.round);
                self.agent_mut(agent)
                    .finish(*turn, text, BlockKind::Answer, *purpose);
                self.stop_speaking(agent);
                if *purpose == Purpose::Speak && !text.trim().is_empty() {
                    self.push(
                        ts,
                        EntryKind::Message {
                            agent: agent.clone(),
                            round,
                            text: crate::tui::sanitize::strip_controls(text),
                        },
                    );
                }
            }
            EventKind::TurnFailed {
                agent,
                turn,
                error,
                will_retry,
            } => {
                let a = self.agent_mut(agent);
                if *will_retry {
                    a.live = None;
                    a.status = AgentStatus::Thinking;
                } else {
                    a.finish(*turn, &error.message, BlockKind::Failed, Purpose::Speak);
                    self.stop_speaking(agent);
                }
                self.push(
                    ts,
                    EntryKind::Failed {
                        agent: agent.clone(),
                        kind: error.kind.to_string(),
                        message: error.message.clone(),
                        will_retry: *will_retry,
                    },
                );
            }
            EventKind::TurnCancelled {
                agent,
                turn,
                partial_text,
            } => {
                self.agent_mut(agent).finish(
                    *turn,
                    partial_text,
                    BlockKind::Cancelled,
                    Purpose::Speak,
                );
                self.stop_speaking(agent);
                self.push(
                    ts,
                    EntryKind::Cancelled {
                        agent: agent.clone(),
                        partial: crate::tui::sanitize::strip_controls(partial_text),
                    },
                );
            }
            EventKind::ToolResult { .. } => {}
            EventKind::SpeakerSelected { agent, by, reason } => self.push(
                ts,
                EntryKind::Speaker {
                    agent: agent.clone(),
                    by: *by,
                    reason: reason.clone(),
                },
            ),
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                approval,
                window_ms,
            } => {
                if self.handoff.holder.is_none() {
                    self.handoff.holder = Some(from.clone());
                }
                self.handoff.request(Transfer {
                    id: id.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    reason: reason.clone(),
                    state: TransferState::Requested,
                    approval: approval.clone(),
                    window_ms: *window_ms,
                    requested_at: ts,
                    active_since: None,
                    redirected: None,
                });
                self.push(
                    ts,
                    EntryKind::HandoffRequested {
                        from: from.clone(),
                        to: to.clone(),
                        reason: reason.clone(),
                        approval: approval.clone(),
                    },
                );
            }
            EventKind::HandoffAccepted { id, reason } => {
                self.handoff
                    .update(id, ts, |t| t.state = TransferState::Accepted);
                let to = self.target_of(id);
                self.push(
                    ts,
                    EntryKind::HandoffAccepted {
                        to,
                        reason: reason.clone(),
                    },
                );
            }
            EventKind::HandoffRejected { id, reason } => {
                self.handoff.update(id, ts, |t| {
                    t.state = TransferState::Rejected(reason.clone())
                });
                let to = self.target_of(id);
                self.push(
                    ts,
                    EntryKind::HandoffRejected {
                        to,
                        reason: reason.clone(),
                    },
                );
            }
            EventKind::HandoffRedirected {
                id,
                from_target,
                to,
                by,
            } => {
                self.handoff.update(id, ts, |t| {
                    t.redirected = Some((from_target.clone(), by.clone()));
                    t.to = to.clone();
                });
                self.push(
                    ts,
                    EntryKind::HandoffRedirected {
                        from_target: from_target.clone(),
                        to: to.clone(),
                        by: by.clone(),
                    },
                );
            }
            EventKind::HandoffCancelled { id, by } => {
                self.handoff
                    .update(id, ts, |t| t.state = TransferState::Cancelled(by.clone()));
                let to = self.target_of(id);
                self.push(ts, EntryKind::HandoffCancelled { to, by: by.clone() });
            }
            EventKind::HandoffCompleted { id, summary } => {
                self.handoff.update(id, ts, |t| {
                    t.state = TransferState::Completed(summary.clone())
                });
                let (from, to) = self
                    .handoff
                    .chain
                    .iter()
                    .rev()
                    .find(|t| &t.id == id)
                    .map(|t| (t.to.clone(), t.from.clone()))
                    .unwrap_or_default();
                self.push(
                    ts,
                    EntryKind::HandoffCompleted {
                        from,
                        to,
                        summary: summary.clone(),
                    },
                );
            }
            EventKind::HandoffFallback { id, failed, to } => {
                self.handoff.update(id, ts, |t| {
                    t.state = TransferState::FellBack {
                        failed: failed.clone(),
                    };
                    t.to = to.clone();
                });
                self.push(
                    ts,
                    EntryKind::HandoffFallback {
                        failed: failed.clone(),
                        to: to.clone(),
                    },
                );
            }
            EventKind::Vote {
                round,
                agent,
                choice,
                reason,
            } => {
                if self.tally.round != *round {
                    self.tally = Tally {
                        round: *round,
                        votes: BTreeMap::new(),
                    };
                }
                self.tally.votes.insert(agent.clone(), *choice);
                self.push(
                    ts,
                    EntryKind::Vote {
                        round: *round,
                        agent: agent.clone(),
                        choice: *choice,
                        reason: reason.clone(),
                    },
                );
            }
            EventKind::Consensus {
                round,
                reached,
                agree,
                disagree,
                abstain,
                threshold,
            } => self.push(
                ts,
                EntryKind::Consensus {
                    round: *round,
                    reached: *reached,
                    agree: *agree,
                    disagree: *disagree,
                    abstain: *abstain,
                    threshold: *threshold,
                },
            ),
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => self.push(
                ts,
                EntryKind::Score {
                    agent: agent.clone(),
                    score: *score,
                    reason: reason.clone(),
                },
            ),
            EventKind::Paused { by } => {
                self.paused = true;
                self.push(ts, EntryKind::Paused { by: by.clone() });
            }
            EventKind::Resumed { by } => {
                self.paused = false;
                self.push(ts, EntryKind::Resumed { by: by.clone() });
            }
            EventKind::Error { message, .. } => self.push(
                ts,
                EntryKind::Error {
                    message: message.clone(),
                },
            ),
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => {
                self.finished = Some(*outcome);
                self.paused = false;
                self.speaking = None;
                for a in &mut self.agents {
                    if a.is_busy() {
                        a.status = AgentStatus::Idle;
                        a.live = None;
                    }
                }
                self.push(
                    ts,
                    EntryKind::Finished {
                        outcome: *outcome,
                        final_text: final_text.clone(),
                    },
                );
            }
        }
    }

    /// Add a console-side note to the transcript.
    pub fn notice(&mut self, ts: DateTime<Utc>, text: impl Into<String>) {
        self.push(ts, EntryKind::Notice { text: text.into() });
    }

    fn start(&mut self, event: &Event, team: &str, pattern: PatternKind, agents: &[AgentInfo]) {
        self.session = Some(event.session.clone());
        self.team = team.to_string();
        self.pattern = Some(pattern);
        self.agents = agents.iter().cloned().map(AgentView::new).collect();
        self.transcript.clear();
        self.handoff = HandoffView::default();
        if pattern == PatternKind::Handoff {
            self.handoff.holder = self
                .entry_agent
                .clone()
                .filter(|e| agents.iter().any(|a| &a.name == e))
                .or_else(|| agents.first().map(|a| a.name.clone()));
        }
        self.tally = Tally::default();
        self.started_at = Some(event.ts);
        self.round = None;
        self.speaking = None;
        self.paused = false;
        self.finished = None;
        self.push(
            event.ts,
            EntryKind::SessionStarted {
                team: team.to_string(),
                pattern,
                agents: agents.iter().map(|a| a.name.clone()).collect(),
            },
        );
    }

    fn push(&mut self, ts: DateTime<Utc>, kind: EntryKind) {
        self.transcript.push(Entry::new(ts, kind));
    }

    fn stop_speaking(&mut self, agent: &str) {
        if self.speaking.as_deref() == Some(agent) {
            self.speaking = None;
        }
    }

    fn target_of(&self, id: &str) -> String {
        self.handoff
            .chain
            .iter()
            .rev()
            .find(|t| t.id == id)
            .map(|t| t.to.clone())
            .unwrap_or_default()
    }

    /// The view of `name`, created on the fly for an agent the session did not announce.
    fn agent_mut(&mut self, name: &str) -> &mut AgentView {
        let index = match self.agent_index(name) {
            Some(i) => i,
            None => {
                self.agents.push(AgentView::new(AgentInfo {
                    name: name.to_string(),
                    backend: String::new(),
                    model: String::new(),
                    color: None,
                }));
                self.agents.len() - 1
            }
        };
        &mut self.agents[index]
    }
}
