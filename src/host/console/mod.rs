//! The console as the default command: load the config, pick the team, start (or resume) a
//! journaled session, and run the TUI beside a bridge task that connects the two.
//!
//! Mental model: the TUI never touches sessions; it reads [`tui::Inbound`] and writes
//! [`tui::Outbound`]. The bridge (`bridge`, the console's session manager) owns the one session
//! on screen: it forwards that session's events, performs what the person asks (commands, new
//! sessions, export, the sessions picker, fork, resume) and reports every failure as a notice,
//! never as a crash. Switching sessions stops the old one and waits for its journal before the
//! new one starts, so a journal is never written twice; a new session that was never given a
//! task leaves no journal (so `--resume last` finds real work).
//!
//! With no config file the embedded default is built from environment variables alone, so the
//! first frame never waits on the network; Ollama is probed in the background, and if it
//! answers before the person sent anything the default team is relaunched on it.
//!
//! Everything that can go wrong before the terminal is taken over (a bad config, an unknown team
//! or session) is printed to stderr (`Exit::Usage`; a sessions dir or journal that cannot be
//! written is `Exit::Failed`); after that, nothing is printed.

mod bridge;

use std::path::PathBuf;

use tokio::sync::mpsc::unbounded_channel;

use super::Exit;
use super::bootstrap::{self, JOURNAL_GRACE};
use super::launch;
use crate::config::detect;
use crate::config::load::{self, Source};
use crate::config::schema::{BackendKind, Config};
use crate::store::Journal;
use crate::tui::{self, ConsoleSetup};
use bridge::Bridge;

/// What the command line asks of the console.
#[derive(Clone, Debug, Default)]
pub struct ConsoleOptions {
    /// `--config`: the config file, else the usual places, else the embedded default.
    pub config: Option<PathBuf>,
    /// `--team`: the team to open.
    pub team: Option<String>,
    /// `--resume`: a session id or `last`.
    pub resume: Option<String>,
}

/// Open the console and say how it ended.
pub fn run(options: &ConsoleOptions) -> Exit {
    let loaded = match load::load(options.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("conclave: {e}");
            eprintln!("Fix the config (`conclave check` lists every problem) and try again.");
            return Exit::Usage;
        }
    };
    let embedded = loaded.source == Source::Embedded;
    let config = loaded.config;
    let dir = bootstrap::journal_dir();
    let start = match &options.resume {
        Some(id) => match launch::find_journal(&dir, id) {
            Ok(journal) => Start::Resume(Box::new(journal)),
            Err(e) => {
                eprintln!("conclave: {e}");
                eprintln!("`conclave sessions list` shows the recorded sessions.");
                return Exit::Usage;
            }
        },
        None => match pick_team(&config, options.team.as_deref()) {
            Ok(team) => Start::New(team),
            Err(message) => {
                eprintln!("conclave: {message}");
                return Exit::Usage;
            }
        },
    };
    if let Start::Resume(journal) = &start
        && let Err(e) = launch::check_resumable(&config, &journal.header)
    {
        eprintln!("conclave: cannot resume {}: {e}", journal.header.session);
        return Exit::Usage;
    }
    let resumed = match &start {
        Start::Resume(journal) => Some(journal.path.as_path()),
        Start::New(_) => None,
    };
    if let Err(e) = bootstrap::check_recordable(&dir, resumed) {
        eprintln!("conclave: {e}");
        return Exit::Failed;
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
        return Exit::Usage;
    }
    let runtime = match bootstrap::runtime("conclave") {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let warnings = loaded.warnings.iter().map(|d| d.to_string()).collect();
    match runtime.block_on(console(config, embedded, dir, start, warnings)) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("conclave: {e:#}");
            Exit::Failed
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
                (BackendKind::Replay, _) => format!("{name} (replay)"),
                (_, Some(url)) => format!("{name} @ {}", host_of(url)),
                (BackendKind::Ollama, None) => format!("{name} @ 127.0.0.1:11434"),
                (BackendKind::Openai, None) => format!("{name} @ api.openai.com"),
                (BackendKind::Anthropic, None) => format!("{name} @ api.anthropic.com"),
                (BackendKind::A2a, None) => format!("{name} (remote agent)"),
            }
        })
        .collect();
    (labels.join(", "), demo)
}

/// How to start.
enum Start {
    New(String),
    Resume(Box<Journal>),
}

/// Run the TUI beside its bridge until the person quits; `Exit::Signalled` after a terminating
/// signal.
async fn console(
    config: Config,
    embedded: bool,
    dir: PathBuf,
    start: Start,
    warnings: Vec<String>,
) -> anyhow::Result<Exit> {
    let (in_tx, in_rx) = unbounded_channel();
    let (out_tx, out_rx) = unbounded_channel();
    let mut bridge = Bridge::new(config.clone(), dir, in_tx, warnings);
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
    if bridge.is_resumed_or_empty() {
        bridge.flush_pending();
    }
    let (backend_label, is_demo) = backend_label(&config, &team);
    let setup = ConsoleSetup {
        config,
        team,
        backend_label,
        is_demo,
        history,
    };
    let detection =
        (embedded && !bridge.is_resumed_or_empty()).then(|| tokio::spawn(detect::detect()));
    let bridge = tokio::spawn(bridge.run(out_rx, detection));
    let result = tui::run_console(setup, in_rx, out_tx).await;
    // The console has returned, so `out_tx` is gone and the bridge winds down by itself.
    match tokio::time::timeout(JOURNAL_GRACE * 2, bridge).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("the console bridge failed: {e}"),
        Err(_) => tracing::warn!("the console bridge did not finish in time"),
    }
    Ok(match result? {
        tui::Ended::Quit => Exit::Ok,
        tui::Ended::Signal(signal) => Exit::Signalled(signal),
        // Gone with its terminal: as after the hangup that comes with it.
        tui::Ended::TerminalLost => Exit::Signalled(tui::signals::HANGUP),
    })
}

/// Where a base URL points, as the status bar shows it: without scheme, credentials or query values.
fn host_of(url: &str) -> String {
    let shown = crate::text::redact::redact_url(url);
    let rest = shown.split_once("://").map_or(shown.as_str(), |(_, r)| r);
    rest.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults;
    use crate::config::detect::{Detected, DetectedKind};
    use crate::host::tests::demo;

    #[test]
    fn the_backend_label_hides_url_credentials_and_query_values() {
        assert_eq!(
            host_of("http://bob:pw-label-9@gpu.lan:8000/v1?key=k-label-7"),
            "[redacted credentials]@gpu.lan:8000/v1?key=[redacted]"
        );
        assert_eq!(host_of("http://127.0.0.1:11434/"), "127.0.0.1:11434");
    }

    #[test]
    fn the_team_is_the_asked_one_else_the_default_else_the_first() {
        let mut config = demo();
        assert_eq!(pick_team(&config, Some("support")).unwrap(), "support");
        assert_eq!(pick_team(&config, None).unwrap(), "debate");
        let err = pick_team(&config, Some("nope")).unwrap_err();
        assert!(err.contains("unknown team 'nope'"), "{err}");
        assert!(
            err.contains("debate, fanout, pipeline, research, review, support"),
            "{err}"
        );
        config.ui.default_team = None;
        // The first team by name: the built-in plan team `build` (issue 11).
        assert_eq!(pick_team(&config, None).unwrap(), "build");
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
