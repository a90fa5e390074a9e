//! What a front end holds of a session. [`Session::new`] checks a [`SessionSpec`] (every agent the
//! team references exists and has its backend); [`Session::start`] spawns the actor and returns a
//! [`SessionHandle`], a cheap clonable sender of commands.
//!
//! Every subscriber ([`Session::subscribe`] before the start, [`SessionHandle::subscribe`] after)
//! gets every event from then on, in `seq` order, none missing, on its own unbounded channel; the
//! stream ends when the session does. A session with a person present can lose them
//! ([`SessionHandle::set_unattended`]: a headless control script ended): the actor then settles
//! what waited for the person and acknowledges with [`Settled`], so the front end can tell a
//! session that will still do something from one that is idle for good.
//! The session ends after `stop`, or when every [`SessionHandle`] is dropped (the front end quit:
//! nothing more is recorded, so the task stays open for a resume).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use super::actor::{self, ToActor};
use super::fanout::Subscribers;
use crate::config::{AgentConfig, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{Event, PatternKind};
use crate::core::patterns::{self, UnattendedApproval};
use crate::llm::Provider;

/// Everything a session needs to run.
pub struct SessionSpec {
    pub id: String,
    pub team_name: String,
    pub team: TeamConfig,
    /// At least every agent the team references.
    pub agents: BTreeMap<String, AgentConfig>,
    /// Keyed by backend name (`AgentConfig.backend`).
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// Replayed first (resume/fork); empty when new.
    pub history: Vec<Event>,
    /// `None`: a person is present; `Some(Auto|Reject)`: headless `--approve`.
    pub unattended: Option<UnattendedApproval>,
    /// The front end's MCP servers, shared by its sessions (`None`: no tools).
    pub tools: Option<Arc<crate::tools::Hub>>,
}

/// Events of one session, in `seq` order, none missing.
pub type EventStream = UnboundedReceiver<Event>;

/// Why a session could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "team '{team}' uses agent '{agent}', which is not defined: add [agents.{agent}] or fix the team"
    )]
    UnknownAgent { team: String, agent: String },
    #[error(
        "agent '{agent}' uses backend '{backend}', which is not available: add [backends.{backend}] or fix the agent"
    )]
    UnknownBackend { agent: String, backend: String },
    #[error("team '{team}': {message}")]
    InvalidTeam { team: String, message: String },
}

/// What the actor reports once it has handled [`SessionHandle::set_unattended`]: every event
/// caused by the commands sent before it has been published by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// A task is under way (it will end with `session_finished`).
    pub task_active: bool,
    /// Turns whose streams are still being read.
    pub turns_running: usize,
}

impl Settled {
    /// No task and no turn: without a new command nothing more will happen.
    pub fn is_idle(&self) -> bool {
        !self.task_active && self.turns_running == 0
    }
}

/// The session has ended; commands can no longer be sent.
#[derive(Debug, thiserror::Error)]
#[error("session {0} has ended")]
pub struct SessionClosed(pub String);

/// A session built and checked, not running yet.
pub struct Session {
    spec: SessionSpec,
    subscribers: Subscribers,
}

impl Session {
    /// Checks that every agent the team references exists and has its backend.
    pub fn new(spec: SessionSpec) -> Result<Session, SessionError> {
        let team = &spec.team_name;
        for agent in patterns::referenced_agents(&spec.team) {
            let Some(cfg) = spec.agents.get(&agent) else {
                return Err(SessionError::UnknownAgent {
                    team: team.clone(),
                    agent,
                });
            };
            let fallbacks = cfg.fallback.iter().map(|f| &f.backend);
            if let Some(backend) = std::iter::once(&cfg.backend)
                .chain(fallbacks)
                .find(|b| !spec.providers.contains_key(*b))
            {
                return Err(SessionError::UnknownBackend {
                    agent,
                    backend: backend.clone(),
                });
            }
        }
        let needs_members = match spec.team.pattern {
            PatternKind::Handoff | PatternKind::Auto => false,
            PatternKind::Sequential => spec.team.steps.is_empty(),
            _ => true,
        };
        if needs_members && spec.team.members.is_empty() {
            return Err(SessionError::InvalidTeam {
                team: team.clone(),
                message: "the team has no members: add members = [\"agent\", …]".into(),
            });
        }
        if spec.team.pattern == PatternKind::Handoff
            && spec.team.entry.is_none()
            && spec.team.members.is_empty()
        {
            return Err(SessionError::InvalidTeam {
                team: team.clone(),
                message: "a handoff team needs `entry` or `members`".into(),
            });
        }
        if spec.team.pattern == PatternKind::Auto
            && (spec.team.router.is_none() || spec.team.resolved.is_empty())
        {
            return Err(SessionError::InvalidTeam {
                team: team.clone(),
                message:
                    "an auto team needs a router and teams to route to: add router = \"AGENT\" \
                          and teams = [\"TEAM\", …] naming defined teams"
                        .into(),
            });
        }
        Ok(Session {
            spec,
            subscribers: Subscribers::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Every event published after `start`, in `seq` order.
    pub fn subscribe(&mut self) -> EventStream {
        self.subscribers.subscribe()
    }

    /// Spawn the actor on the current tokio runtime.
    pub fn start(self) -> SessionHandle {
        let id = Arc::from(self.spec.id.as_str());
        let subscribers = self.subscribers.clone();
        let commands = actor::spawn(self.spec, self.subscribers);
        SessionHandle {
            id,
            commands,
            subscribers,
        }
    }
}

/// A cheap, clonable handle on a running session.
#[derive(Clone)]
pub struct SessionHandle {
    id: Arc<str>,
    commands: UnboundedSender<ToActor>,
    subscribers: Subscribers,
}

impl SessionHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn send(&self, command: Command) -> Result<(), SessionClosed> {
        self.commands
            .send(ToActor::Command(command))
            .map_err(|_| SessionClosed(self.id.to_string()))
    }

    /// Publish an `error` event through the session (it gets the next `seq` and is journaled like
    /// every other event): for input the front end could not turn into a command, `command`
    /// carrying the offending input.
    pub fn report_error(
        &self,
        message: String,
        command: Option<serde_json::Value>,
    ) -> Result<(), SessionClosed> {
        self.commands
            .send(ToActor::Error { message, command })
            .map_err(|_| SessionClosed(self.id.to_string()))
    }

    /// Nobody is present any more (a `--control` script ended): from now on approvals follow
    /// `policy`, a person's speaker choice falls back to round robin, and a paused session
    /// resumes. What was waiting for the person is settled at once. The receiver resolves once
    /// the actor has done so (see [`Settled`]); it is dropped unanswered if the session ends
    /// first. Calling it again with the same policy changes nothing and acknowledges again.
    pub fn set_unattended(
        &self,
        policy: UnattendedApproval,
    ) -> Result<oneshot::Receiver<Settled>, SessionClosed> {
        let (ack, settled) = oneshot::channel();
        self.commands
            .send(ToActor::Unattended { policy, ack })
            .map_err(|_| SessionClosed(self.id.to_string()))?;
        Ok(settled)
    }

    /// Events from now on; the stream ends when the session does.
    pub fn subscribe(&self) -> EventStream {
        self.subscribers.subscribe()
    }

    /// Whether the actor has ended (after `stop`); commands would fail.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

/// A sortable, readable id for a session starting now: `20261121-131500-k3x9`. Every new
/// session gets its id here, forks included.
pub fn new_session_id() -> String {
    session_id_at(Utc::now())
}

/// The id of a session started at `now`: the UTC start time (so ids sort by age) and four random
/// characters of `[a-z0-9]`.
pub fn session_id_at(now: chrono::DateTime<Utc>) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..4)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    format!("{}-{suffix}", now.format("%Y%m%d-%H%M%S"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_are_sortable_and_readable() {
        let id = super::new_session_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0].len(), 8);
        assert_eq!(parts[1].len(), 6);
        assert!(
            parts[0]
                .chars()
                .chain(parts[1].chars())
                .all(|c| c.is_ascii_digit())
        );
        assert!(
            parts[2].len() == 4
                && parts[2]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
