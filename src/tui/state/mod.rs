//! The session as the console sees it: the view ([`View`]: core's state and ledger, the handoff
//! history, and what each event says) plus what only a screen keeps.
//!
//! No terminal, no clock, no IO: events in, view data out, so reducer tests need nothing but
//! events. The console folds nothing the view already folds: run state, rounds, votes, turns,
//! the handoff chain and the metrics are read from it. What it keeps on top: for each agent's
//! pane the ids of the turns it shows and the live turn's streaming buffer (`agents`), the
//! transcript cells (the view's
//! [`Parts`](crate::view::Parts) of each event and the console's own notes), and the session's
//! wall-clock start. A `session_started` event starts everything afresh (a new session's stream
//! begins with one).

pub mod agents;
pub mod plan;
pub mod transcript;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::{Budget, Config, Price};
use crate::core::event::{AgentInfo, Event, EventKind, Outcome, PatternKind, Purpose};
use crate::core::metrics::Metrics;
use crate::core::metrics::forecast::{self, Forecast};
use crate::view::{Handoffs, View, outcome_name};

use agents::{AgentStatus, AgentView, BlockKind};
use transcript::Entry;

/// Whether the session is doing something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// No `session_started` yet.
    Waiting,
    /// Started, nothing streaming: the session waits for the person or the next step.
    Idle,
    Running,
    /// A handoff, a tool call or a plan waits for approval (or for its window to run out).
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
            RunState::Finished(o) => format!("finished: {}", outcome_name(o)),
        }
    }
}

/// Everything the console knows about the session.
#[derive(Debug)]
pub struct SessionView {
    /// The one projection of the session's events.
    pub view: View,
    pub agents: Vec<AgentView>,
    pub transcript: Vec<Entry>,
    /// The team's budget from the config, if it has one.
    pub budget: Option<Budget>,
    /// For a group chat: what its configured rounds would cost, shown before it starts.
    pub forecast: Option<Forecast>,
    /// The agents' own budgets from the config, by agent.
    pub agent_budgets: BTreeMap<String, Budget>,
    pub started_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// (index in `transcript`, `seq`) of each cell an event made, in order: what `/fork SEQ`
    /// needs to know about a cell on screen.
    pub entry_seqs: Vec<(usize, u64)>,
    /// The team the console opened with, shown until a session announces its own.
    team: String,
    /// Its pattern, from the config.
    pattern: Option<PatternKind>,
    /// Handoff entry agent from the config, the holder before any transfer.
    entry_agent: Option<String>,
    /// A plan team's planner, from the config.
    planner: Option<String>,
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
            view: View::new(prices),
            agents: Vec::new(),
            transcript: Vec::new(),
            budget: team_cfg.and_then(|t| t.budget),
            forecast: forecast_of(config, team),
            agent_budgets: agent_budgets(config),
            started_at: None,
            last_event_at: None,
            entry_seqs: Vec::new(),
            team: team.to_string(),
            pattern: team_cfg.map(|t| t.pattern),
            entry_agent: team_cfg.and_then(|t| t.entry.clone()),
            planner: team_cfg.and_then(|t| t.planner.clone()),
        }
    }

    /// The team's budget and forecast from `config`, for the team the session runs.
    pub fn set_team_figures(&mut self, config: &Config) {
        let team = self.team().to_string();
        self.budget = config.teams.get(&team).and_then(|t| t.budget);
        self.forecast = forecast_of(config, &team);
        self.agent_budgets = agent_budgets(config);
        self.planner = config.teams.get(&team).and_then(|t| t.planner.clone());
    }

    /// An auto team's routed `team` took over (issue 11): the pattern, entry agent and budget
    /// the console reads are that team's from now on.
    pub fn routed_to(&mut self, config: &Config, team: &str) {
        let Some(t) = config.teams.get(team) else {
            return;
        };
        self.pattern = Some(t.pattern);
        self.entry_agent = t.entry.clone();
        self.planner = t.planner.clone();
        self.budget = self.budget.or(t.budget);
    }

    /// The team the session goes on as: the team an auto team routed to, else [`Self::team`].
    pub fn active_team(&self) -> &str {
        self.view
            .state
            .routes
            .active()
            .unwrap_or_else(|| self.team())
    }

    /// The team on screen: the session's, or the one the console opened with.
    pub fn team(&self) -> &str {
        if self.started() {
            &self.view.state.team
        } else {
            &self.team
        }
    }

    pub fn pattern(&self) -> Option<PatternKind> {
        if self.view.state.routes.active().is_some() {
            // Routed: the team that took over (set by `routed_to`).
            return self.pattern;
        }
        self.view.state.pattern.or(self.pattern)
    }

    /// The ledger: tokens and cost per agent and in total.
    pub fn metrics(&self) -> &Metrics {
        &self.view.metrics
    }

    /// The handoff log.
    pub fn handoff(&self) -> &Handoffs {
        &self.view.handoffs
    }

    /// Who holds control in a handoff team: core's holder, else (before any transfer) the
    /// team's entry agent.
    pub fn holder(&self) -> Option<&str> {
        if let Some(h) = &self.view.state.handoff.holder {
            return Some(h);
        }
        if self.pattern() != Some(PatternKind::Handoff) || !self.started() {
            return None;
        }
        let agents = &self.view.state.agents;
        self.entry_agent
            .as_deref()
            .filter(|e| agents.iter().any(|a| a.name == *e))
            .or_else(|| agents.first().map(|a| a.name.as_str()))
    }

    /// How the last task ended, until the next one starts.
    pub fn finished(&self) -> Option<Outcome> {
        self.view.state.finished.as_ref().map(|f| f.outcome)
    }

    pub fn paused(&self) -> bool {
        self.view.state.paused && self.finished().is_none()
    }

    /// The current group-chat round.
    pub fn round(&self) -> Option<u32> {
        let r = self.view.state.task.round;
        (r > 0).then_some(r)
    }

    /// The `seq` of the newest event (for `/fork`).
    pub fn last_seq(&self) -> Option<u64> {
        self.last_event_at
            .map(|_| self.view.state.next_seq.saturating_sub(1))
    }

    /// The agent whose speaking turn started last and is still running.
    pub fn speaking(&self) -> Option<&str> {
        if self.finished().is_some() {
            return None;
        }
        let state = &self.view.state;
        state
            .running
            .iter()
            .rev()
            .filter_map(|turn| state.turns.get(turn))
            .find(|t| t.purpose == Purpose::Speak)
            .map(|t| t.agent.as_str())
    }

    pub fn run_state(&self) -> RunState {
        if let Some(o) = self.finished() {
            RunState::Finished(o)
        } else if self.paused() {
            RunState::Paused
        } else if self.view.state.calls.waiting().next().is_some() {
            RunState::Approval
        } else if self.is_running() {
            RunState::Running
        } else if self.handoff().pending().is_some()
            || self.view.state.routes.pending().is_some()
            || self.plan_review().is_some()
        {
            RunState::Approval
        } else if self.started() {
            RunState::Idle
        } else {
            RunState::Waiting
        }
    }

    /// What the guard blocked in the current (or just finished) task, for the status bar:
    /// `<guard> blocked the <step>` (issue 10.4).
    pub fn guard_blocked(&self) -> Option<String> {
        let state = &self.view.state;
        let trip = state.guards.last_trip()?;
        let first = trip.turns.first().copied().unwrap_or(0);
        if first < state.task.first_turn {
            return None;
        }
        let step = match trip.crossing.boundary {
            crate::core::event::Boundary::Handoff => "handoff",
            crate::core::event::Boundary::Tool => "tool call",
            crate::core::event::Boundary::Final => "final answer",
            crate::core::event::Boundary::Other(_) => "step",
        };
        Some(format!("{} blocked the {step}", trip.guard))
    }

    /// Whether a task was given and has not finished yet.
    pub fn task_open(&self) -> bool {
        self.started() && self.view.state.task.active
    }

    pub fn is_running(&self) -> bool {
        (0..self.agents.len()).any(|i| self.is_busy(i))
    }

    /// What agent `index` is doing.
    pub fn agent_status(&self, index: usize) -> AgentStatus {
        self.agents.get(index).map_or(AgentStatus::Idle, |a| {
            a.status(&self.view.state.turns, self.finished().is_some())
        })
    }

    /// Whether agent `index` is thinking or streaming.
    pub fn is_busy(&self, index: usize) -> bool {
        matches!(
            self.agent_status(index),
            AgentStatus::Thinking | AgentStatus::Streaming
        )
    }

    pub fn agent_index(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.info.name == name)
    }

    /// Fold one event into the view.
    pub fn apply(&mut self, event: &Event) {
        self.last_event_at = Some(event.ts);
        if let EventKind::SessionStarted { agents, .. } = &event.kind {
            // The view starts afresh by itself.
            self.agents = agents.iter().cloned().map(AgentView::new).collect();
            self.transcript.clear();
            self.entry_seqs.clear();
            self.started_at = Some(event.ts);
        }
        if let EventKind::AgentsAnnounced { agents, .. } = &event.kind {
            // A routed team took over (issue 11): its agents get their panes.
            for a in agents {
                if self.agent_index(&a.name).is_none() {
                    self.agents.push(AgentView::new(a.clone()));
                }
            }
        }
        let parts = self.view.push(event);
        if let Some(entry) = Entry::of(parts) {
            self.entry_seqs.push((self.transcript.len(), event.seq));
            self.transcript.push(entry);
        }
        match &event.kind {
            EventKind::TurnStarted {
                agent,
                turn,
                round,
                purpose,
            } => self.agent_mut(agent).start(*turn, *round, *purpose),
            EventKind::Token { agent, turn, text } => self.agent_mut(agent).token(*turn, text),
            EventKind::Message {
                agent,
                continues: true,
                ..
            } => self.agent_mut(agent).step(),
            EventKind::Message {
                agent,
                turn,
                text,
                purpose,
                ..
            } => self
                .agent_mut(agent)
                .finish(*turn, text, BlockKind::Answer, *purpose),
            EventKind::TurnFailed {
                agent,
                turn,
                error,
                will_retry,
                ..
            } => {
                let a = self.agent_mut(agent);
                if *will_retry {
                    // The turn starts over: thinking again until its first token.
                    a.live = None;
                } else {
                    a.finish(*turn, &error.message, BlockKind::Failed, Purpose::Speak);
                }
            }
            EventKind::TurnCancelled {
                agent,
                turn,
                partial_text,
                ..
            } => self.agent_mut(agent).finish(
                *turn,
                partial_text,
                BlockKind::Cancelled,
                Purpose::Speak,
            ),
            EventKind::TurnWaiting {
                agent,
                turn,
                backend,
            } => self.agent_mut(agent).waiting(*turn, backend),
            EventKind::ToolCall { agent, call_id, .. } => self.agent_mut(agent).call(call_id),
            // Nothing streams once the session is over.
            EventKind::SessionFinished { .. } => self.agents.iter_mut().for_each(|a| a.live = None),
            _ => {}
        }
    }

    /// The `seq` of transcript cell `index`: its event's, or for a note the event before it.
    pub fn seq_of_entry(&self, index: usize) -> Option<u64> {
        let after = self.entry_seqs.partition_point(|(i, _)| *i <= index);
        after.checked_sub(1).map(|k| self.entry_seqs[k].1)
    }

    /// Add a console-side note to the transcript.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.transcript.push(Entry::Notice(text.into()));
    }

    fn started(&self) -> bool {
        self.started_at.is_some()
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
                    price: None,
                    fallback: Vec::new(),
                }));
                self.agents.len() - 1
            }
        };
        &mut self.agents[index]
    }
}

/// The forecast of `team` when it is a group chat (before any prompt: the rounds alone).
fn forecast_of(config: &Config, team: &str) -> Option<Forecast> {
    let t = config.teams.get(team)?;
    (t.pattern == PatternKind::GroupChat).then(|| forecast::group_chat(t, &config.agents, 0))
}

fn agent_budgets(config: &Config) -> BTreeMap<String, Budget> {
    config
        .agents
        .iter()
        .filter_map(|(n, a)| a.budget.map(|b| (n.clone(), b)))
        .collect()
}
