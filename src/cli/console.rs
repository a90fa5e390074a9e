//! The console as the default command: load the config, pick the team, start (or resume) a
//! journaled session, and run the TUI beside a bridge task that connects the two.
//!
//! Mental model: the TUI never touches sessions; it reads [`Inbound`] and writes [`Outbound`].
//! The [`Bridge`] owns the one session on screen: it forwards that session's events, performs
//! what the person asks (commands, new sessions, export, the sessions picker, fork, resume) and
//! reports every failure as a notice, never as a crash. Switching sessions stops the old one and
//! waits for its journal before the new one starts, so a journal is never written twice; a new
//! session that was never given a task leaves no journal (so `--resume last` finds real work).
//!
//! With no config file the embedded default is built from environment variables alone, so the
//! first frame never waits on the network; Ollama is probed in the background, and if it
//! answers before the person sent anything the default team is relaunched on it.
//!
//! Everything that can go wrong before the terminal is taken over (a bad config, an unknown team
//! or session) is printed to stderr with exit status 2; after that, nothing is printed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::{Cli, exit};
use crate::config::detect::{self, Detected};
use crate::config::load::{self, Source};
use crate::config::schema::{BackendKind, Config};
use crate::config::{defaults, paths};
use crate::core::Command;
use crate::core::event::EventKind;
use crate::core::session::{EventStream, SessionHandle};
use crate::launch::{self, LaunchOptions, Launched, ProviderCache};
use crate::store::{self, Journal, JournalError, WriterReport};
use crate::tui::{self, ConsoleSetup, Inbound, Outbound};

/// How long leaving waits for a session's journal to be written out.
const JOURNAL_GRACE: Duration = Duration::from_secs(10);

/// Open the console for `cli` and return the exit status.
pub fn run(cli: &Cli) -> u8 {
    let loaded = match load::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("conclave: {e}");
            eprintln!("Fix the config (`conclave check` lists every problem) and try again.");
            return exit::USAGE;
        }
    };
    let embedded = loaded.source == Source::Embedded;
    let config = loaded.config;
    let dir = store::sessions_dir();
    let start = match &cli.resume {
        Some(id) => match launch::find_journal(&dir, id) {
            Ok(journal) => Start::Resume(Box::new(journal)),
            Err(e) => {
                eprintln!("conclave: {e}");
                eprintln!("`conclave sessions list` shows the recorded sessions.");
                return exit::USAGE;
            }
        },
        None => match pick_team(&config, cli.team.as_deref()) {
            Ok(team) => Start::New(team),
            Err(message) => {
                eprintln!("conclave: {message}");
                return exit::USAGE;
            }
        },
    };
    if let Start::Resume(journal) = &start
        && let Err(e) = launch::check_resumable(&config, &journal.header)
    {
        eprintln!("conclave: cannot resume {}: {e}", journal.header.session);
        return exit::USAGE;
    }
    if !(std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stdout()))
    {
        eprintln!(
            "conclave: the console needs a terminal, and standard input or output is not one."
        );
        eprintln!(
            "To run a team without the console, use `conclave run --team TEAM --prompt \"TASK\"` (see `conclave run --help`)."
        );
        return exit::USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conclave: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let warnings = loaded.warnings.iter().map(|d| d.to_string()).collect();
    match runtime.block_on(console(config, embedded, dir, start, warnings)) {
        Ok(Ended::Quit) => exit::OK,
        Ok(Ended::Terminated) => TERMINATED,
        Err(e) => {
            eprintln!("conclave: {e:#}");
            exit::FAILED
        }
    }
}

/// The team to open: `wanted`, else `ui.default_team`, else the first team.
pub fn pick_team(config: &Config, wanted: Option<&str>) -> Result<String, String> {
    let known = || config.teams.keys().cloned().collect::<Vec<_>>().join(", ");
    if config.teams.is_empty() {
        return Err("the config defines no teams; add one under [teams]".into());
    }
    if let Some(team) = wanted {
        if config.teams.contains_key(team) {
            return Ok(team.to_string());
        }
        return Err(format!("unknown team '{team}'; the teams are: {}", known()));
    }
    if let Some(team) = &config.ui.default_team {
        if config.teams.contains_key(team) {
            return Ok(team.clone());
        }
        return Err(format!(
            "ui.default_team is '{team}', which is not a team; the teams are: {}",
            known()
        ));
    }
    config
        .teams
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| "the config defines no teams".into())
}

/// The status bar's backend label for `team` (the backends its agents use) and whether they are
/// all the offline scripted backend.
pub fn backend_label(config: &Config, team: &str) -> (String, bool) {
    let mut used: Vec<&str> = launch::team_of(config, team)
        .map(|t| crate::core::patterns::referenced_agents(&t))
        .unwrap_or_default()
        .iter()
        .filter_map(|a| config.agents.get(a).map(|a| a.backend.as_str()))
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut demo = !used.is_empty();
    let labels: Vec<String> = used
        .iter()
        .filter_map(|name| config.backends.get(*name).map(|b| (name, b)))
        .map(|(name, b)| {
            if b.kind != BackendKind::Scripted {
                demo = false;
            }
            match (b.kind, b.base_url.as_deref()) {
                (BackendKind::Scripted, _) => format!("{name} (offline demo)"),
                (_, Some(url)) => format!("{name} @ {}", host_of(url)),
                (BackendKind::Ollama, None) => format!("{name} @ 127.0.0.1:11434"),
                (BackendKind::Openai, None) => format!("{name} @ api.openai.com"),
                (BackendKind::Anthropic, None) => format!("{name} @ api.anthropic.com"),
            }
        })
        .collect();
    (labels.join(", "), demo)
}

/// The exit status after SIGTERM (128 + 15), so scripts can tell the console was stopped.
pub const TERMINATED: u8 = 143;

/// How the console ended.
enum Ended {
    Quit,
    Terminated,
}

/// How to start.
enum Start {
    New(String),
    Resume(Box<Journal>),
}

async fn console(
    config: Config,
    embedded: bool,
    dir: PathBuf,
    start: Start,
    warnings: Vec<String>,
) -> anyhow::Result<Ended> {
    let mut terminate = crate::tui::terminal::TerminateWatch::new();
    let (in_tx, in_rx) = unbounded_channel();
    let (out_tx, out_rx) = unbounded_channel();
    let mut bridge = Bridge {
        config: config.clone(),
        dir,
        to_console: in_tx,
        current: None,
        sent_anything: false,
        pending: warnings,
        providers: Arc::default(),
    };
    let (team, history) = match start {
        Start::New(team) => {
            bridge.launch_new(&team, true);
            (team, Vec::new())
        }
        Start::Resume(journal) => {
            let team = journal.header.team.clone();
            let history = bridge.resume(*journal, false);
            (team, history)
        }
    };
    if bridge.current.as_ref().is_none_or(|c| c.resumed) {
        for w in std::mem::take(&mut bridge.pending) {
            bridge.notice(w);
        }
    }
    let (backend_label, is_demo) = backend_label(&config, &team);
    let setup = ConsoleSetup {
        config,
        team,
        backend_label,
        is_demo,
        history,
    };
    let detection = (embedded && bridge.current.as_ref().is_some_and(|c| !c.resumed))
        .then(|| tokio::spawn(detect::detect()));
    let bridge = tokio::spawn(bridge.run(out_rx, detection));
    let result = tui::run_console(setup, in_rx, out_tx).await;
    // The console has returned, so `out_tx` is gone and the bridge winds down by itself.
    match tokio::time::timeout(JOURNAL_GRACE * 2, bridge).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("the console bridge failed: {e}"),
        Err(_) => tracing::warn!("the console bridge did not finish in time"),
    }
    result?;
    Ok(if terminate.fired() {
        Ended::Terminated
    } else {
        Ended::Quit
    })
}

/// The session on screen.
struct Current {
    id: String,
    team: String,
    handle: SessionHandle,
    events: Option<EventStream>,
    journal_path: Option<PathBuf>,
    journal: Option<JoinHandle<Result<WriterReport, JournalError>>>,
    /// A resumed session (a new one gets the welcome note after its start).
    resumed: bool,
    /// Whether the person gave it a task; a new session without one leaves no journal behind.
    had_task: bool,
}

/// Connects the console to its session; see the module docs.
struct Bridge {
    config: Config,
    dir: PathBuf,
    to_console: UnboundedSender<Inbound>,
    current: Option<Current>,
    /// Whether the person sent a command yet (then a found backend no longer replaces the demo).
    sent_anything: bool,
    /// Notes for after the next welcome (the config's warnings).
    pending: Vec<String>,
    /// The HTTP providers every session of this console shares.
    providers: Arc<ProviderCache>,
}

impl Bridge {
    async fn run(
        mut self,
        mut out: UnboundedReceiver<Outbound>,
        mut detection: Option<JoinHandle<Detected>>,
    ) {
        loop {
            let events = self.current.as_mut().and_then(|c| c.events.as_mut());
            let has_events = events.is_some();
            tokio::select! {
                o = out.recv() => match o {
                    Some(Outbound::Quit) | None => break,
                    Some(o) => self.perform(o).await,
                },
                ev = recv(events), if has_events => self.forward(ev),
                found = join(detection.as_mut()), if detection.is_some() => {
                    detection = None;
                    if let Some(found) = found {
                        self.detected(found).await;
                    }
                }
            }
        }
        if let Some(d) = detection {
            d.abort();
        }
        self.retire().await;
    }

    async fn perform(&mut self, o: Outbound) {
        match o {
            Outbound::Command(command) => self.command(command),
            Outbound::NewSession { team } => {
                self.retire().await;
                self.launch_new(&team, false);
            }
            Outbound::OpenSessions => match store::list_sessions(&self.dir) {
                Ok(listing) => {
                    for p in listing.problems {
                        self.notice(p);
                    }
                    self.send(Inbound::Sessions(listing.sessions));
                }
                Err(e) => self.notice(format!("cannot list the sessions: {e}")),
            },
            Outbound::Export { format } => self.export(&format),
            Outbound::Fork { seq } => self.fork(seq).await,
            Outbound::Resume { id } => {
                if self.current.as_ref().is_some_and(|c| c.id == id) {
                    self.notice(format!("{id} is the session on screen"));
                    return;
                }
                match launch::find_journal(&self.dir, &id) {
                    Ok(journal) => {
                        self.retire().await;
                        self.resume(journal, true);
                    }
                    Err(e) => self.notice(format!("cannot resume {id}: {e}")),
                }
            }
            Outbound::Quit => {}
        }
    }

    fn command(&mut self, command: Command) {
        self.sent_anything = true;
        let Some(current) = &mut self.current else {
            self.notice("no session is running: /new or /team starts one");
            return;
        };
        if matches!(command, Command::Send { .. }) {
            current.had_task = true;
        }
        if let Err(e) = current.handle.send(command) {
            self.notice(format!(
                "the session has ended ({}): /new starts another",
                e.0
            ));
        }
    }

    fn forward(&mut self, ev: Option<crate::core::Event>) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        let Some(ev) = ev else {
            current.events = None;
            return;
        };
        if matches!(ev.kind, EventKind::UserMessage { .. }) {
            current.had_task = true;
        }
        let fresh_start = (!current.resumed && matches!(ev.kind, EventKind::SessionStarted { .. }))
            .then(|| current.team.clone());
        self.send(Inbound::Event(ev));
        if let Some(team) = fresh_start {
            self.welcome(&team);
        }
    }

    /// Launch a new session of `team`; failures become notices. `first`: the console's first
    /// session (its backend label is in the setup already).
    fn launch_new(&mut self, team: &str, first: bool) {
        let options = LaunchOptions {
            unattended: None,
            journal_dir: Some(self.dir.clone()),
            providers: Some(self.providers.clone()),
        };
        match launch::launch(&self.config, team, &options) {
            Ok(l) => self.adopt(l, false),
            Err(e) => {
                tracing::warn!("launching {team}: {e}");
                self.notice(format!("cannot start team {team}: {e}"));
                for w in std::mem::take(&mut self.pending) {
                    self.notice(w);
                }
                return;
            }
        }
        if !first {
            let (label, is_demo) = backend_label(&self.config, team);
            self.send(Inbound::Backend { label, is_demo });
        }
    }

    /// Resume `journal`; returns its history. `forward`: send the history to the console (a
    /// switch); otherwise the caller puts it in the setup.
    fn resume(&mut self, journal: Journal, forward: bool) -> Vec<crate::core::Event> {
        let team = journal.header.team.clone();
        let id = journal.header.session.clone();
        if let Some(pid) = store::lock::running_pid(&journal.path) {
            self.notice(format!(
                "{id} is open in another conclave (process {pid}); close it there first"
            ));
            return Vec::new();
        }
        let options = LaunchOptions {
            unattended: None,
            journal_dir: Some(self.dir.clone()),
            providers: Some(self.providers.clone()),
        };
        match launch::resume(&self.config, journal, &options) {
            Ok(mut l) => {
                let history = std::mem::take(&mut l.history);
                if forward {
                    for e in &history {
                        self.send(Inbound::Event(e.clone()));
                    }
                    let (label, is_demo) = backend_label(&self.config, &team);
                    self.send(Inbound::Backend { label, is_demo });
                }
                let warnings = std::mem::take(&mut l.warnings);
                self.adopt(l, true);
                for warning in warnings {
                    self.notice(format!("warning: {warning}"));
                }
                self.notice(format!("resumed {id}; type to continue"));
                history
            }
            Err(e) => {
                self.notice(format!("cannot resume {id}: {e}"));
                Vec::new()
            }
        }
    }

    fn adopt(&mut self, l: Launched, resumed: bool) {
        self.current = Some(Current {
            id: l.handle.id().to_string(),
            team: l.team_name,
            handle: l.handle,
            events: Some(l.events),
            journal_path: l.journal_path,
            journal: l.journal,
            resumed,
            had_task: false,
        });
    }

    /// Leave the session on screen and wait for its journal. The session is suspended, not
    /// stopped: dropping its last handle ends the actor without closing the task, so a debate
    /// left mid-round (by quitting, switching team or resuming another session) carries on where
    /// it was with `--resume`. `/stop` is the way to end a task.
    async fn retire(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        drop(current.handle);
        drop(current.events);
        if let Some(journal) = current.journal {
            match tokio::time::timeout(JOURNAL_GRACE, journal).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(e))) => {
                    tracing::warn!("journal of {}: {e}", current.id);
                    self.notice(format!("the journal of {} failed: {e}", current.id));
                }
                Ok(Err(e)) => tracing::warn!("journal task of {}: {e}", current.id),
                Err(_) => tracing::warn!("journal of {} did not finish in time", current.id),
            }
        }
        if !current.resumed
            && !current.had_task
            && let Some(path) = current.journal_path
        {
            tracing::debug!(path = %path.display(), "removing the journal of an unused session");
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!("removing {}: {e}", path.display());
            }
        }
    }

    fn export(&mut self, format: &str) {
        let Some((id, path)) = self.journal_of_current() else {
            return;
        };
        let result = store::read_journal(&path).and_then(|journal| match format {
            "json" => store::to_json(&journal),
            _ => Ok(store::to_markdown(&journal)),
        });
        let ext = if format == "json" { "json" } else { "md" };
        let file = PathBuf::from(format!("conclave-{id}.{ext}"));
        match result.map_err(|e| e.to_string()).and_then(|text| {
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))
        }) {
            Ok(()) => {
                let shown = std::fs::canonicalize(&file).unwrap_or(file);
                self.notice(format!("exported to {}", shown.display()));
            }
            Err(e) => self.notice(format!("export failed: {e}")),
        }
    }

    /// Fork the session on screen after event `seq` and continue the fork. The session is
    /// stopped first so that its journal holds every event; if the fork fails, it is resumed.
    async fn fork(&mut self, seq: u64) {
        let Some((id, path)) = self.journal_of_current() else {
            return;
        };
        if self
            .current
            .as_ref()
            .is_some_and(|c| !c.had_task && !c.resumed)
        {
            self.notice("nothing to fork yet: send a message first");
            return;
        }
        self.retire().await;
        let new_id = crate::core::session::new_session_id();
        let forked = store::fork(&path, seq, &new_id).and_then(|p| store::read_journal(&p));
        match forked {
            Ok(journal) => {
                self.resume(journal, true);
                self.notice(format!("forked {id} at event {seq} into {new_id}"));
            }
            Err(e) => {
                match store::read_journal(&path) {
                    Ok(original) => {
                        self.resume(original, true);
                    }
                    Err(e) => self.notice(format!("cannot reopen {id}: {e}")),
                }
                self.notice(format!("cannot fork {id} at {seq}: {e}"));
            }
        }
    }

    fn journal_of_current(&mut self) -> Option<(String, PathBuf)> {
        let found = self
            .current
            .as_ref()
            .and_then(|c| Some((c.id.clone(), c.journal_path.clone()?)));
        if found.is_none() {
            self.notice("no recorded session on screen");
        }
        found
    }

    /// Background detection answered: relaunch on a better backend if nothing was sent yet.
    async fn detected(&mut self, found: Detected) {
        let before = detect::detect_env();
        if found == before {
            return;
        }
        let config = defaults::embedded(&found);
        if self.sent_anything {
            self.config = config;
            self.notice(format!(
                "Found {}: /new starts a session on it.",
                found.describe()
            ));
            return;
        }
        let team = self
            .current
            .as_ref()
            .map(|c| c.team.clone())
            .unwrap_or_else(|| defaults::DEFAULT_TEAM.to_string());
        tracing::info!(backend = %found.describe(), "detection found a backend; relaunching");
        self.config = config;
        self.retire().await;
        self.launch_new(&team, false);
    }

    fn welcome(&mut self, team: &str) {
        let (label, demo) = backend_label(&self.config, team);
        let text = if demo {
            format!(
                "Backend: {label} — scripted answers, no model. To use a real one, start Ollama \
                 or set OPENAI_API_KEY or ANTHROPIC_API_KEY, or run `conclave init` and edit {}.",
                paths::config_file().display()
            )
        } else {
            format!(
                "Backend: {label}. `conclave init` writes {} to change backends, agents and teams.",
                paths::config_file().display()
            )
        };
        self.notice(text);
        self.notice("Type a message and press Enter · F1 lists the keys.");
        for w in std::mem::take(&mut self.pending) {
            self.notice(w);
        }
    }

    fn notice(&self, text: impl Into<String>) {
        self.send(Inbound::Notice(text.into()));
    }

    fn send(&self, inbound: Inbound) {
        if self.to_console.send(inbound).is_err() {
            tracing::debug!("the console is gone");
        }
    }
}

async fn recv(events: Option<&mut EventStream>) -> Option<crate::core::Event> {
    match events {
        Some(e) => e.recv().await,
        None => std::future::pending().await,
    }
}

async fn join(task: Option<&mut JoinHandle<Detected>>) -> Option<Detected> {
    match task {
        Some(t) => t.await.ok(),
        None => std::future::pending().await,
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::detect::DetectedKind;

    fn demo() -> Config {
        defaults::embedded(&Detected {
            kind: DetectedKind::Demo,
        })
    }

    #[test]
    fn the_team_is_the_asked_one_else_the_default_else_the_first() {
        let mut config = demo();
        assert_eq!(pick_team(&config, Some("support")).unwrap(), "support");
        assert_eq!(pick_team(&config, None).unwrap(), "debate");
        let err = pick_team(&config, Some("nope")).unwrap_err();
        assert!(err.contains("unknown team 'nope'"), "{err}");
        assert!(
            err.contains("debate, fanout, pipeline, review, support"),
            "{err}"
        );
        config.ui.default_team = None;
        assert_eq!(pick_team(&config, None).unwrap(), "debate");
        config.ui.default_team = Some("gone".into());
        assert!(
            pick_team(&config, None)
                .unwrap_err()
                .contains("ui.default_team")
        );
        config.teams.clear();
        assert!(pick_team(&config, None).unwrap_err().contains("no teams"));
    }

    #[test]
    fn the_backend_label_names_what_the_team_uses() {
        assert_eq!(
            backend_label(&demo(), "debate"),
            ("demo (offline demo)".to_string(), true)
        );
        let ollama = defaults::embedded(&Detected {
            kind: DetectedKind::Ollama {
                host: "http://127.0.0.1:11434".into(),
                models: vec!["qwen2.5:7b".into()],
            },
        });
        assert_eq!(
            backend_label(&ollama, "support"),
            ("ollama @ 127.0.0.1:11434".to_string(), false)
        );
        let openai = defaults::embedded(&Detected {
            kind: DetectedKind::OpenAi,
        });
        assert_eq!(
            backend_label(&openai, "debate"),
            ("openai @ api.openai.com".to_string(), false)
        );
        assert_eq!(backend_label(&openai, "nope"), (String::new(), false));
    }
}
