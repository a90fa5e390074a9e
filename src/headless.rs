//! `conclave run`: one session without the console, its events printed as they happen.
//!
//! Mental model: prepare (load the config, find the team, build its providers, read the task),
//! then start one [`Session`] and run three things side by side until `session_finished`: the
//! printer (every event, as JSONL exactly as serialized or as readable text), the control reader
//! (`--control jsonl`: each stdin line parsed as a [`Command`]; an invalid line becomes an `error`
//! event and the session goes on) and Ctrl+C (sends `stop`, then the run ends with status 1).
//! The session never sees an invalid line, so its `error` event is printed here, right after
//! the session event it follows and carrying that event's `seq`.
//!
//! Exit status: 0 when the session finished `completed`, `consensus` or `max_rounds` (the team did
//! what it was configured to do); 1 for `failed`, `cancelled`, `timeout` or `budget` (no answer the
//! task asked for), or when interrupted; 2 for bad usage or a bad config (unknown team, no task,
//! a backend that cannot be built), before any session starts.
//!
//! Approvals: without `--control` nobody can approve, so handoffs that need it follow `--approve`.
//! With `--control` the control script is the person: approvals wait for its commands.

mod text;

pub use text::TextPrinter;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::cli::{ApproveMode, EventsFormat, RunArgs, exit};
use crate::config::schema::{Config, Price};
use crate::core::command::Command;
use crate::core::event::{Event, EventKind, Outcome, SCHEMA_VERSION};
use crate::core::metrics::Metrics;
use crate::core::patterns::{UnattendedApproval, referenced_agents};
use crate::core::session::{Session, SessionSpec, new_session_id};
use crate::llm::{LlmError, Provider};

/// Run `conclave run` and return the process exit status.
pub fn run(args: RunArgs, config_path: Option<&Path>) -> u8 {
    let prepared = match prepare(&args, config_path) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("conclave run: {message}");
            return exit::USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conclave run: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    runtime.block_on(drive(args, prepared))
}

/// Build a provider for every backend of `config`.
pub fn build_providers(config: &Config) -> Result<BTreeMap<String, Arc<dyn Provider>>, LlmError> {
    config
        .backends
        .iter()
        .map(|(name, cfg)| Ok((name.clone(), crate::llm::build_provider(name, cfg)?)))
        .collect()
}

/// The exit status for a finished session (see the module docs).
pub fn exit_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Completed | Outcome::Consensus | Outcome::MaxRounds => exit::OK,
        Outcome::Failed | Outcome::Cancelled | Outcome::Timeout | Outcome::Budget => exit::FAILED,
    }
}

// ---------------------------------------------------------------------------------------------

struct Prepared {
    spec: SessionSpec,
    prompt: Option<String>,
    prices: BTreeMap<String, Price>,
}

fn prepare(args: &RunArgs, config_path: Option<&Path>) -> Result<Prepared, String> {
    if let Some(id) = &args.resume {
        return Err(format!(
            "--resume {id}: resuming a recorded session is not available in this build"
        ));
    }
    let loaded = crate::config::load::load(config_path).map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let config = loaded.config;
    let Some(team) = config.teams.get(&args.team).cloned() else {
        let names: Vec<&str> = config.teams.keys().map(String::as_str).collect();
        return Err(if names.is_empty() {
            format!("unknown team '{}': the config defines no teams", args.team)
        } else {
            format!(
                "unknown team '{}'; the teams are: {}",
                args.team,
                names.join(", ")
            )
        });
    };
    let agents = referenced_agents(&team);
    let mut backends = BTreeSet::new();
    for agent in &agents {
        match config.agents.get(agent) {
            Some(a) => {
                backends.insert(a.backend.clone());
            }
            None => {
                return Err(format!(
                    "team '{}' uses agent '{agent}', which is not defined under [agents]",
                    args.team
                ));
            }
        }
    }
    let mut needed = config.clone();
    needed.backends.retain(|name, _| backends.contains(name));
    if let Some(missing) = backends.iter().find(|b| !needed.backends.contains_key(*b)) {
        return Err(format!(
            "an agent of team '{}' uses backend '{missing}', which is not defined under [backends]",
            args.team
        ));
    }
    let providers = build_providers(&needed).map_err(|e| e.to_string())?;
    let prompt = match (&args.prompt, args.control.is_some()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => None,
        (None, false) => Some(read_stdin_prompt()?),
    };
    if prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err("the task is empty: pass --prompt TEXT or pipe it on standard input".into());
    }
    let unattended = match (args.control.is_some(), args.approve) {
        (true, _) => None,
        (false, ApproveMode::Auto) => Some(UnattendedApproval::Auto),
        (false, ApproveMode::Reject) => Some(UnattendedApproval::Reject),
    };
    let spec = SessionSpec {
        id: new_session_id(),
        team_name: args.team.clone(),
        team,
        agents: config.agents.clone(),
        providers,
        history: Vec::new(),
        unattended,
    };
    let prices = config
        .agents
        .iter()
        .filter_map(|(name, a)| Some((name.clone(), a.price?)))
        .collect();
    Ok(Prepared {
        spec,
        prompt,
        prices,
    })
}

fn read_stdin_prompt() -> Result<String, String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("conclave run: reading the task from standard input (end it with Ctrl+D)");
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the task from standard input: {e}"))?;
    Ok(text.trim().to_string())
}

async fn drive(args: RunArgs, prepared: Prepared) -> u8 {
    let mut session = match Session::new(prepared.spec) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conclave run: {e}");
            return exit::USAGE;
        }
    };
    // `ctrl_c` installs its handler on the first poll: poll it once now, before the session
    // starts, so that an interrupt is never the default "kill the process".
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let mut watch_ctrl_c = true;
    match futures_util::FutureExt::now_or_never(ctrl_c.as_mut()) {
        None => {}
        Some(Ok(())) => return exit::FAILED,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl+C");
            watch_ctrl_c = false;
        }
    }
    let mut events = session.subscribe();
    let handle = session.start();
    let mut task_sent = prepared.prompt.is_some();
    if let Some(prompt) = prepared.prompt {
        let _ = handle.send(Command::Send {
            text: prompt,
            to: None,
        });
    }
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    if args.control.is_some() {
        tokio::spawn(read_control(control_tx));
    } else {
        drop(control_tx);
    }

    let mut printer = TextPrinter::new();
    let mut metrics = Metrics::new(prepared.prices);
    let mut stdout = std::io::stdout().lock();
    let mut last_seq: Option<u64> = None;
    let mut pending_errors: Vec<(String, String)> = Vec::new();
    let grace = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(grace);
    loop {
        tokio::select! {
            got = events.recv() => {
                let Some(event) = got else {
                    eprintln!("conclave run: the session ended without finishing");
                    return exit::FAILED;
                };
                last_seq = Some(event.seq);
                metrics.apply(&event);
                let finished = match &event.kind {
                    EventKind::SessionFinished { outcome, .. } => Some(*outcome),
                    _ => None,
                };
                if print(&mut stdout, args.events, &mut printer, &event).is_err() {
                    // Nobody reads stdout any more (a closed pipe): stop the session.
                    let _ = handle.send(Command::Stop {});
                }
                for (message, line) in pending_errors.drain(..) {
                    let e = control_error(handle.id(), event.seq, message, &line);
                    let _ = print(&mut stdout, args.events, &mut printer, &e);
                }
                if let Some(outcome) = finished {
                    if args.events == EventsFormat::Text {
                        let _ = writeln!(stdout, "{}", text::usage_line(&metrics));
                    }
                    return if interrupted { exit::FAILED } else { exit_code(outcome) };
                }
            }
            Some(control) = control_rx.recv() => match control {
                Control::Command(cmd) => {
                    task_sent |= matches!(cmd, Command::Send { .. });
                    let _ = handle.send(cmd);
                }
                Control::Invalid { message, line } => match last_seq {
                    Some(seq) => {
                        let e = control_error(handle.id(), seq, message, &line);
                        let _ = print(&mut stdout, args.events, &mut printer, &e);
                    }
                    None => pending_errors.push((message, line)),
                },
                Control::Closed if !task_sent => {
                    eprintln!(
                        "conclave run: standard input ended before any task was sent: pass --prompt TEXT or send {{\"type\":\"send\",\"text\":…}}"
                    );
                    return exit::USAGE;
                }
                Control::Closed => {}
            },
            _ = &mut ctrl_c, if watch_ctrl_c && !interrupted => {
                interrupted = true;
                let _ = handle.send(Command::Stop {});
                if !task_sent {
                    return exit::FAILED;
                }
                // Stop finishes a running task at once; this bound only guards a session that
                // had nothing left to finish.
                grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = &mut grace, if interrupted => return exit::FAILED,
        }
    }
}

/// How long Ctrl+C waits for `session_finished` before giving up.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the control reader passes on.
enum Control {
    Command(Command),
    Invalid { message: String, line: String },
    Closed,
}

async fn read_control(tx: mpsc::UnboundedSender<Control>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read --control input");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let msg = match Command::parse_line(&line) {
            Ok(cmd) => Control::Command(cmd),
            Err(message) => Control::Invalid { message, line },
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
    let _ = tx.send(Control::Closed);
}

/// The `error` event for an invalid control line. The session never saw the line, so the event
/// is printed by `run` itself, after the session event it follows and with that event's `seq`
/// (the session's own events stay gap-free).
fn control_error(session: &str, seq: u64, message: String, line: &str) -> Event {
    let command = serde_json::from_str::<serde_json::Value>(line)
        .unwrap_or_else(|_| serde_json::Value::String(line.to_string()));
    Event {
        v: SCHEMA_VERSION,
        seq,
        ts: chrono::Utc::now(),
        session: session.to_string(),
        kind: EventKind::Error {
            message,
            command: Some(command),
        },
    }
}

fn print(
    out: &mut impl Write,
    format: EventsFormat,
    printer: &mut TextPrinter,
    event: &Event,
) -> std::io::Result<()> {
    match format {
        EventsFormat::Jsonl => {
            let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        EventsFormat::Text => {
            for line in printer.lines(event) {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_outcome() {
        assert_eq!(exit_code(Outcome::Consensus), 0);
        assert_eq!(exit_code(Outcome::MaxRounds), 0);
        assert_eq!(exit_code(Outcome::Completed), 0);
        for bad in [
            Outcome::Failed,
            Outcome::Cancelled,
            Outcome::Timeout,
            Outcome::Budget,
        ] {
            assert_eq!(exit_code(bad), 1);
        }
    }

    #[test]
    fn every_backend_kind_builds_a_provider_named_after_its_table() {
        let config: Config = toml::from_str(
            "[backends.cloud]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             [backends.demo]\nkind = \"scripted\"\n",
        )
        .unwrap();
        let built = build_providers(&config).unwrap();
        assert_eq!(built["cloud"].backend(), "cloud");
        assert_eq!(built["demo"].backend(), "demo");
    }
}
