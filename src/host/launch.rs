//! Launching, resuming and forking a session: from a loaded config and a team name (or a recorded
//! journal) to a running session whose every event is journaled. The console and `conclave run`
//! both start sessions here, so a session looks the same on disk whichever front end ran it.
//!
//! Mental model: `launch` = pick the team → build only the providers its agents use → build the
//! `SessionSpec` → subscribe the journal writer and the front end *before* the actor starts (so
//! neither misses `session_started`) → start. `resume` is the same with the journal's events as
//! history and an appender continuing the same file (the OTLP exporter, when `[telemetry]` names
//! a collector, is subscribed beside the journal); `fork` copies a journal's prefix into a new
//! session's file, which is then resumed. Must be called inside a tokio runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use super::providers::{ProviderCache, providers_for};
use crate::config::schema::{Config, TeamConfig};
use crate::core::event::Event;
use crate::core::session::{
    EventStream, Session, SessionError, SessionHandle, SessionSpec, UnattendedApproval,
    new_session_id,
};
use crate::llm::LlmError;
use crate::store::{Journal, JournalError, JournalHeader, OpenJournal, WriterReport};

/// The MCP servers of the session: the front end's shared hub (kept in its provider cache), else
/// one of its own; `None` without `[mcp]` tables.
fn tool_hub(config: &Config, options: &LaunchOptions) -> Option<Arc<crate::tools::Hub>> {
    if config.mcp.is_empty() {
        return None;
    }
    Some(match &options.providers {
        Some(cache) => cache.tools(&config.mcp),
        None => Arc::new(crate::tools::Hub::new(&config.mcp)),
    })
}

/// How to launch.
#[derive(Clone, Debug, Default)]
pub struct LaunchOptions {
    /// `None`: a person is present and answers approvals; `Some`: headless `--approve`.
    pub unattended: Option<UnattendedApproval>,
    /// Where journals go; `None` records nothing.
    pub journal_dir: Option<PathBuf>,
    /// Share HTTP providers with the other sessions this front end starts; `None` builds fresh
    /// ones for this session.
    pub providers: Option<Arc<ProviderCache>>,
    /// The session ends with its task and nobody answers afterwards (`run`, `serve`): a remote
    /// agent's question (A2A input-required) fails its turn instead of waiting for an answer.
    pub headless: bool,
}

/// A started session and what hangs off it.
pub struct Launched {
    pub handle: SessionHandle,
    /// The front end's event stream, subscribed before the session started.
    pub events: EventStream,
    /// The events before this process took over (resume / fork); empty for a new session.
    pub history: Vec<Event>,
    pub team_name: String,
    pub journal_path: Option<PathBuf>,
    /// Ends (with its report) once the session's event streams close.
    pub journal: Option<JoinHandle<Result<WriterReport, JournalError>>>,
    /// The seq of each boundary event (everything but `token` and `turn_started`) once it is
    /// fsynced into the journal, for a front end that shows an event only once it is on disk.
    /// May be dropped unread.
    pub journal_acks: Option<UnboundedReceiver<u64>>,
    /// What the person should know before going on (a resumed journal recorded under another
    /// configuration); the front end shows each one.
    pub warnings: Vec<String>,
    /// The OTLP exporter (`[telemetry]`), when a collector is configured; ends after its last
    /// send once the session's streams close ([`super::bootstrap::settle_telemetry`]).
    pub telemetry: Option<JoinHandle<()>>,
}

/// Why a session could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{}", unknown_team(.team, .teams))]
    UnknownTeam { team: String, teams: Vec<String> },
    #[error("team '{team}' uses agent '{agent}', which is not defined under [agents]")]
    UnknownAgent { team: String, agent: String },
    #[error("agent '{agent}' uses backend '{backend}', which is not defined under [backends]")]
    UnknownBackend { agent: String, backend: String },
    #[error(
        "session {session} ran team '{team}' as a {recorded} team, but the config now makes it a \
         {now} team; restore the team's pattern to resume it, or start a new session"
    )]
    PatternChanged {
        session: String,
        team: String,
        recorded: String,
        now: String,
    },
    #[error("{0}")]
    Provider(#[from] LlmError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("{0}")]
    Journal(#[from] JournalError),
}

impl LaunchError {
    /// Whether the person asked for something that does not exist (exit 2) rather than
    /// something failing (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            LaunchError::UnknownTeam { .. }
            | LaunchError::UnknownAgent { .. }
            | LaunchError::UnknownBackend { .. }
            | LaunchError::PatternChanged { .. }
            | LaunchError::Session(_) => true,
            LaunchError::Provider(e) => e.kind == crate::llm::ErrorKind::Config,
            LaunchError::Journal(e) => e.is_usage(),
        }
    }
}

/// Start a new session of `team_name`.
pub fn launch(
    config: &Config,
    team_name: &str,
    options: &LaunchOptions,
) -> Result<Launched, LaunchError> {
    let team = team_of(config, team_name)?;
    let pattern = team.pattern;
    let id = new_session_id();
    // The journal is opened before anything else so that a session that cannot be recorded
    // never starts (and never calls a model).
    let opened = match &options.journal_dir {
        Some(dir) => {
            let path = dir.join(format!("{id}.{}", crate::store::JOURNAL_EXT));
            let header = JournalHeader::new(&id, team_name, pattern, config, Utc::now());
            Some((OpenJournal::create(&path, &header)?, path))
        }
        None => None,
    };
    let unrecorded = |e: LaunchError| {
        if let Some((_, path)) = &opened {
            discard(path);
        }
        e
    };
    let spec = SessionSpec {
        id,
        team_name: team_name.to_string(),
        providers: headless(
            providers_for(config, team_name, &team, options.providers.as_deref())
                .map_err(unrecorded)?,
            options,
        ),
        agents: config.agents.clone(),
        team,
        history: Vec::new(),
        unattended: options.unattended,
        tools: tool_hub(config, options),
    };
    let mut session = Session::new(spec).map_err(|e| unrecorded(e.into()))?;
    let events = session.subscribe();
    let (journal, journal_path) = match opened {
        Some((open, path)) => {
            let (acks, acked) = unbounded_channel();
            let writer = open.spawn(session.subscribe(), Some(acks));
            (Some((writer, acked)), Some(path))
        }
        None => (None, None),
    };
    let (journal, journal_acks) = journal.unzip();
    let telemetry = subscribe_telemetry(config, &[], &mut session);
    Ok(Launched {
        handle: session.start(),
        events,
        history: Vec::new(),
        team_name: team_name.to_string(),
        journal_path,
        journal,
        journal_acks,
        warnings: Vec::new(),
        telemetry,
    })
}

/// The OTLP exporter of `session` when `config` (or the environment) names a collector; `history`
/// is what a resumed session had recorded before.
fn subscribe_telemetry(
    config: &Config,
    history: &[Event],
    session: &mut Session,
) -> Option<JoinHandle<()>> {
    let settings = crate::telemetry::Settings::from_config(config)?;
    crate::telemetry::otlp::spawn(&settings, history, session.subscribe())
}

/// Tell each provider whether anybody answers after the task (see [`LaunchOptions::headless`]).
fn headless(providers: Providers, options: &LaunchOptions) -> Providers {
    providers
        .values()
        .for_each(|p| p.set_headless(options.headless));
    providers
}

type Providers = std::collections::BTreeMap<String, Arc<dyn crate::llm::Provider>>;

/// Remove the journal (and its lock) of a session that could not be started after all.
fn discard(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove an unused journal");
    }
}

/// Whether the journal with `header` can be resumed under `config`: its team must still exist
/// with the same pattern. The warnings say what else changed since it was recorded.
pub fn check_resumable(
    config: &Config,
    header: &JournalHeader,
) -> Result<Vec<String>, LaunchError> {
    let team = team_of(config, &header.team)?;
    if team.pattern != header.pattern {
        return Err(LaunchError::PatternChanged {
            session: header.session.clone(),
            team: header.team.clone(),
            recorded: header.pattern.as_str().to_string(),
            now: team.pattern.as_str().to_string(),
        });
    }
    let mut warnings = Vec::new();
    if crate::store::config_fingerprint(config) != header.config_fingerprint {
        warnings.push(format!(
            "the configuration changed since session {} was recorded; it continues with the \
             current agents and backends",
            header.session
        ));
    }
    Ok(warnings)
}

/// Continue the session recorded in `journal`, appending to the same file when `options` has a
/// journal dir (refused while another live process still writes it). The team must still exist
/// in `config` with the pattern it was recorded with (`check_resumable`).
pub fn resume(
    config: &Config,
    journal: Journal,
    options: &LaunchOptions,
) -> Result<Launched, LaunchError> {
    if options.journal_dir.is_some()
        && let Some(pid) = crate::store::lock::running_pid(&journal.path)
    {
        return Err(JournalError::Running {
            id: journal.header.session.clone(),
            pid,
        }
        .into());
    }
    let warnings = check_resumable(config, &journal.header)?;
    let team_name = journal.header.team.clone();
    let team = team_of(config, &team_name)?;
    let spec = SessionSpec {
        id: journal.header.session.clone(),
        team_name: team_name.clone(),
        providers: headless(
            providers_for(config, &team_name, &team, options.providers.as_deref())?,
            options,
        ),
        agents: config.agents.clone(),
        team,
        history: journal.events.clone(),
        unattended: options.unattended,
        tools: tool_hub(config, options),
    };
    let opened = match &options.journal_dir {
        Some(_) => Some(OpenJournal::append(&journal.path)?),
        None => None,
    };
    let mut session = Session::new(spec)?;
    let events = session.subscribe();
    let (writer, path) = match opened {
        Some(open) => {
            let (acks, acked) = unbounded_channel();
            let writer = open.spawn(session.subscribe(), Some(acks));
            (Some((writer, acked)), Some(journal.path.clone()))
        }
        None => (None, None),
    };
    let (writer, journal_acks) = writer.unzip();
    let telemetry = subscribe_telemetry(config, &journal.events, &mut session);
    Ok(Launched {
        handle: session.start(),
        events,
        history: journal.events,
        team_name,
        journal_path: path,
        journal: writer,
        journal_acks,
        warnings,
        telemetry,
    })
}

/// Read the journal `id` names (`last`, an id, or a unique prefix) from `dir`.
pub fn find_journal(dir: &Path, id: &str) -> Result<Journal, JournalError> {
    let path = crate::store::resolve_id(dir, id)?;
    crate::store::read_journal(&path)
}

/// Fork the journal at `src` after event `at` into a new session; returns the new session's id
/// and the path of its journal (next to `src`), ready to resume.
pub fn fork(src: &Path, at: u64) -> Result<(String, PathBuf), JournalError> {
    let id = new_session_id();
    let path = crate::store::fork(src, at, &id)?;
    Ok((id, path))
}

/// The team `name` of `config`, or an error listing the teams there are.
pub fn team_of(config: &Config, name: &str) -> Result<TeamConfig, LaunchError> {
    let mut team = config
        .teams
        .get(name)
        .cloned()
        .ok_or_else(|| LaunchError::UnknownTeam {
            team: name.to_string(),
            teams: config.teams.keys().cloned().collect(),
        })?;
    team.derive_members();
    resolve_routes(config, &mut team, &mut vec![name.to_string()]);
    Ok(team)
}

/// Give an auto team the configs of the teams it routes to (`resolved`), recursively; `path`
/// (the teams on the way) stops a cycle `conclave check` reports. Unknown names are left out: the
/// router is offered only the teams that exist.
fn resolve_routes(config: &Config, team: &mut TeamConfig, path: &mut Vec<String>) {
    if team.pattern != crate::config::PatternKind::Auto {
        return;
    }
    team.teams
        .retain(|t| config.teams.contains_key(t) && !path.contains(t));
    for name in team.teams.clone() {
        let Some(mut routed) = config.teams.get(&name).cloned() else {
            continue;
        };
        routed.derive_members();
        path.push(name.clone());
        resolve_routes(config, &mut routed, path);
        path.pop();
        team.resolved.insert(name, routed);
    }
}

fn unknown_team(team: &str, teams: &[String]) -> String {
    if teams.is_empty() {
        format!("unknown team '{team}': the config defines no teams")
    } else {
        format!("unknown team '{team}'; the teams are: {}", teams.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PatternKind;
    use crate::host::tests::demo;

    /// The header of a `debate` session recorded under `config`.
    fn recorded(config: &Config) -> JournalHeader {
        let pattern = config.teams["debate"].pattern;
        JournalHeader::new("s1", "debate", pattern, config, Utc::now())
    }

    #[test]
    fn a_journal_resumes_under_the_config_it_was_recorded_with() {
        let config = demo();
        let header = recorded(&config);
        assert_eq!(
            check_resumable(&config, &header).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_changed_pattern_is_refused_naming_both() {
        let mut config = demo();
        let header = recorded(&config);
        let recorded = header.pattern;
        let now = if recorded == PatternKind::Handoff {
            PatternKind::GroupChat
        } else {
            PatternKind::Handoff
        };
        config.teams.get_mut("debate").unwrap().pattern = now;
        let err = check_resumable(&config, &header).unwrap_err();
        assert!(err.is_usage());
        let text = err.to_string();
        assert!(text.contains(recorded.as_str()), "{text}");
        assert!(text.contains(now.as_str()), "{text}");
    }

    #[test]
    fn a_removed_team_is_refused() {
        let mut config = demo();
        let header = recorded(&config);
        config.teams.remove("debate");
        let err = check_resumable(&config, &header).unwrap_err();
        assert!(matches!(err, LaunchError::UnknownTeam { .. }), "{err}");
        assert!(err.is_usage());
    }

    #[test]
    fn a_changed_config_resumes_with_a_warning() {
        let mut config = demo();
        let header = recorded(&config);
        for agent in config.agents.values_mut() {
            agent.temperature = Some(0.123);
        }
        let warnings = check_resumable(&config, &header).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("configuration changed"),
            "{warnings:?}"
        );
    }
}
