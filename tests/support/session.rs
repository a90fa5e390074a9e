//! Whole sessions over HTTP: a team with its agents and backends ([`Setup`], built the way the
//! host builds them), run on one prompt until `session_finished` ([`run_with`]) with the
//! event-stream invariants checked.

use std::collections::BTreeMap;
use std::time::Duration;

use conclave::config::{AgentConfig, BackendConfig, TeamConfig};
use conclave::core::event::EventKind;
use conclave::core::session::{Session, SessionSpec};
use conclave::core::{Command, Event};
use conclave::llm::build_provider;

use super::FakeServer;
use super::llm_fake::Wire;

/// A team, its agents and its backends, each backend pointing at the fake server.
pub struct Setup {
    pub team: TeamConfig,
    pub agents: BTreeMap<String, AgentConfig>,
    pub backends: Vec<(String, BackendConfig)>,
    /// TOML lines every backend of a wire gets first (an inline key, say).
    key: fn(Wire) -> String,
}

impl Setup {
    pub fn new(team: TeamConfig) -> Self {
        Setup {
            team,
            agents: BTreeMap::new(),
            backends: Vec::new(),
            key: |_| String::new(),
        }
    }

    /// Give every backend added after this the lines `key(wire)`.
    pub fn with_keys(mut self, key: fn(Wire) -> String) -> Self {
        self.key = key;
        self
    }

    pub fn backend(mut self, name: &str, server: &FakeServer, wire: Wire, extra: &str) -> Self {
        let extra = format!("{}{extra}", (self.key)(wire));
        self.backends
            .push((name.to_string(), wire.backend(server, &extra)));
        self
    }

    /// An agent on `backend` running `model`; an empty `system` sets none.
    pub fn agent(mut self, name: &str, backend: &str, model: &str, system: &str) -> Self {
        self.agents.insert(
            name.to_string(),
            AgentConfig {
                backend: backend.into(),
                model: model.into(),
                system: Some(system.into()).filter(|s: &String| !s.is_empty()),
                ..Default::default()
            },
        );
        self
    }

    /// Change agent `name`'s config.
    pub fn with(mut self, name: &str, change: impl FnOnce(&mut AgentConfig)) -> Self {
        if let Some(a) = self.agents.get_mut(name) {
            change(a);
        }
        self
    }

    pub fn spec(self) -> SessionSpec {
        let providers = self
            .backends
            .iter()
            .map(|(name, cfg)| (name.clone(), build_provider(name, cfg).expect("provider")))
            .collect();
        SessionSpec {
            id: "http-run".into(),
            team_name: "t".into(),
            team: self.team,
            agents: self.agents,
            providers,
            history: Vec::new(),
            unattended: None,
            tools: None,
        }
    }
}

/// Run `prompt` until `session_finished` (a generous timeout only guards against hangs);
/// `on_event` sees every event as it comes. The invariants of the stream are checked.
pub async fn run_with(setup: Setup, prompt: &str, on_event: impl FnMut(&Event)) -> Vec<Event> {
    super::events::run_observed(setup.spec(), prompt, on_event).await
}
