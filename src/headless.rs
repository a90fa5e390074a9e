//! `conclave run`: one session without the console, its events printed as they happen.
//!
//! Mental model: prepare (load the config, read the task, find the journal to resume), then
//! start the session through [`crate::launch`] (which journals it into
//! [`crate::store::sessions_dir`]) and run three things side by side until `session_finished`:
//! the printer (every event, as JSONL exactly as serialized or as readable text), the control
//! reader (`--control jsonl`: each stdin line parsed as a [`Command`]; an invalid line is
//! published through the session as an `error` event, seq'd and journaled, and the session goes
//! on) and Ctrl+C (sends `stop`, then the run ends with status 1). Before exiting, the run waits
//! for the journal writer to put everything on disk.
//!
//! `--resume ID|last` continues a recorded session: one cut off mid-task runs on to its end (its
//! `--prompt`, if any, is sent once that task is done); a finished one continues with `--prompt`
//! (or the `--control` script). In text mode the session id is printed on stderr at the start, with
//! the command that resumes it; JSONL mode keeps stdout for events only.
//!
//! Exit status: 0 when the session finished `completed`, `consensus` or `max_rounds` (the team did
//! what it was configured to do); 1 for `failed`, `cancelled`, `timeout` or `budget` (no answer the
//! task asked for), or when interrupted; 2 for bad usage or a bad config (unknown team, no task,
//! a backend that cannot be built, an unknown session), before any session starts.
//!
//! Approvals: without `--control` nobody can approve, so handoffs that need it follow `--approve`.
//! With `--control` the control script is the person: approvals wait for its commands. A control
//! line that is not UTF-8 is an invalid command like any other. When the script ends (EOF) nobody
//! is left: the session becomes unattended, so a waiting approval follows `--approve`, a person's
//! speaker choice falls back to round robin and a paused session resumes. The session
//! acknowledges that after handling every command sent before it; if it then has no task and no
//! running turn, nothing more can happen, so the run prints what is left and ends: with the
//! status of the last task this run saw finish, or else (every `send` was refused) with status 1
//! and "standard input ended and no task is running" on stderr.

mod gate;
mod text;

pub use text::TextPrinter;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, oneshot};

use crate::cli::{ApproveMode, EventsFormat, RunArgs, exit};
use crate::config::schema::{Config, Price};
use crate::core::command::Command;
use crate::core::event::{Event, EventKind, Outcome};
use crate::core::metrics::Metrics;
use crate::core::patterns::UnattendedApproval;
use crate::core::session::{SessionHandle, Settled};
use crate::core::state::SessionState;
use crate::launch::{LaunchOptions, Launched};
use crate::store::Journal;
use gate::DurableGate;

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

/// The exit status for a finished session (see the module docs).
pub fn exit_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Completed | Outcome::Consensus | Outcome::MaxRounds => exit::OK,
        Outcome::Failed | Outcome::Cancelled | Outcome::Timeout | Outcome::Budget => exit::FAILED,
    }
}

// ---------------------------------------------------------------------------------------------

/// What to start: a new session of a team, or a recorded one.
enum Start {
    New { team: String },
    Resume(Box<Journal>),
}

struct Prepared {
    config: Config,
    start: Start,
    /// Sent at once for a new or finished session; after the running task for an unfinished one.
    prompt: Option<String>,
    /// The resumed session stopped in the middle of a task.
    unfinished: bool,
    /// The resumed session was paused (nobody can resume it without `--control`).
    paused: bool,
    options: LaunchOptions,
    prices: BTreeMap<String, Price>,
}

fn prepare(args: &RunArgs, config_path: Option<&Path>) -> Result<Prepared, String> {
    let loaded = crate::config::load::load(config_path).map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let config = loaded.config;
    let unattended = args
        .control
        .is_none()
        .then(|| unattended_policy(args.approve));
    let options = LaunchOptions {
        unattended,
        journal_dir: Some(crate::store::sessions_dir()),
        providers: None,
    };
    let prices = config
        .agents
        .iter()
        .filter_map(|(name, a)| Some((name.clone(), a.price?)))
        .collect();
    let prompt = args.prompt.clone();
    if prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err("the task is empty: pass --prompt TEXT or pipe it on standard input".into());
    }
    if let Some(id) = &args.resume {
        let (journal, state) = find_resumable(args, id, prompt.is_some())?;
        return Ok(Prepared {
            config,
            start: Start::Resume(Box::new(journal)),
            prompt,
            unfinished: state.task.active,
            paused: state.paused,
            options,
            prices,
        });
    }
    if args.team.is_empty() {
        return Err(
            "pass --team NAME to start a session, or --resume ID|last to continue one".into(),
        );
    }
    // The providers are built once, by `launch` (building runs `api_key_cmd`).
    crate::launch::team_of(&config, &args.team).map_err(|e| e.to_string())?;
    let prompt = match (prompt, args.control.is_some()) {
        (Some(p), _) => Some(p),
        (None, true) => None,
        (None, false) => Some(read_stdin_prompt()?),
    };
    if prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err("the task is empty: pass --prompt TEXT or pipe it on standard input".into());
    }
    Ok(Prepared {
        config,
        start: Start::New {
            team: args.team.clone(),
        },
        prompt,
        unfinished: false,
        paused: false,
        options,
        prices,
    })
}

/// The journal `--resume ID` names, checked against `args`, and its replayed state.
fn find_resumable(
    args: &RunArgs,
    id: &str,
    has_prompt: bool,
) -> Result<(Journal, SessionState), String> {
    let dir = crate::store::sessions_dir();
    let journal = crate::launch::find_journal(&dir, id).map_err(|e| e.to_string())?;
    for w in &journal.warnings {
        eprintln!("conclave run: {}: {w}", journal.path.display());
    }
    if !args.team.is_empty() && args.team != journal.header.team {
        return Err(format!(
            "session {} belongs to team '{}', not '{}': drop --team to resume it",
            journal.id(),
            journal.header.team,
            args.team
        ));
    }
    let state = SessionState::replay(&journal.events);
    if !state.task.active && !has_prompt && args.control.is_none() {
        let what = if state.finished.is_some() {
            "is finished"
        } else {
            "has no task yet"
        };
        return Err(format!(
            "session {} {what}: pass --prompt TEXT (or --control jsonl) to continue it",
            journal.id()
        ));
    }
    Ok((journal, state))
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
    // `ctrl_c` installs its handler on the first poll: poll it once now, before the session
    // starts, so that an interrupt is never the default "kill the process".
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut watch_ctrl_c = true;
    match futures_util::FutureExt::now_or_never(ctrl_c.as_mut()) {
        None => {}
        Some(Ok(())) => return exit::FAILED,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl+C");
            watch_ctrl_c = false;
        }
    }
    let launched = match &prepared.start {
        Start::New { team } => crate::launch::launch(&prepared.config, team, &prepared.options),
        Start::Resume(journal) => {
            crate::launch::resume(&prepared.config, (**journal).clone(), &prepared.options)
        }
    };
    let Launched {
        handle,
        mut events,
        history,
        journal,
        journal_acks,
        warnings,
        ..
    } = match launched {
        Ok(l) => l,
        Err(e) => {
            eprintln!("conclave run: {e}");
            return if e.is_usage() {
                exit::USAGE
            } else {
                exit::FAILED
            };
        }
    };
    for warning in &warnings {
        eprintln!("conclave run: warning: {warning}");
    }
    if args.events == EventsFormat::Text {
        eprintln!(
            "session {id}; resume with conclave run --resume {id}",
            id = handle.id()
        );
    }
    let mut out = Output {
        format: args.events,
        printer: TextPrinter::new(),
        metrics: Metrics::new(prepared.prices),
        stdout: std::io::stdout().lock(),
        gate: DurableGate::new(journal_acks.is_some()),
        last_outcome: None,
        run_span: None,
    };
    for event in &history {
        out.metrics.apply(event);
        if args.events == EventsFormat::Text {
            let _ = out.print(event);
        }
    }
    let mut acks = journal_acks;

    let mut deferred = None;
    let mut task_sent = prepared.unfinished;
    if let Some(prompt) = prepared.prompt {
        task_sent = true;
        if prepared.unfinished {
            deferred = Some(prompt);
        } else {
            let _ = handle.send(Command::Send {
                text: prompt,
                to: None,
            });
        }
    }
    if prepared.paused && args.control.is_none() {
        let _ = handle.send(Command::Resume {});
    }
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    if args.control.is_some() {
        tokio::spawn(read_control(control_tx));
    } else {
        drop(control_tx);
    }

    let mut interrupted = false;
    let mut events_open = true;
    // Commands sent to the session so far, and when the control script's end was acknowledged.
    let mut sent: u64 = 0;
    let mut sent_before_settling: u64 = 0;
    let mut settling: Option<oneshot::Receiver<Settled>> = None;
    // The actor has acknowledged the script's end with no task and no turn: nothing more comes.
    let mut idle = false;
    let grace = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(grace);
    let code = loop {
        tokio::select! {
            got = events.recv(), if events_open => match got {
                Some(event) => {
                    sent += on_event(event, &mut deferred, interrupted, &handle, &mut out.gate);
                }
                None => {
                    events_open = false;
                    out.gate.release_all();
                }
            },
            acked = recv_ack(&mut acks) => match acked {
                Some(seq) => out.gate.durable(seq),
                // The writer is gone (it failed and said so): nothing more will be acknowledged.
                None => {
                    acks = None;
                    out.gate.release_all();
                }
            },
            Some(control) = control_rx.recv() => match control {
                Control::Command(cmd) => {
                    task_sent |= matches!(cmd, Command::Send { .. });
                    let _ = handle.send(cmd);
                    sent += 1;
                }
                Control::Invalid { message, line } => {
                    let _ = handle.report_error(message, Some(offending(&line)));
                }
                Control::Closed if !task_sent => {
                    eprintln!(
                        "conclave run: standard input ended before any task was sent: pass --prompt TEXT or send {{\"type\":\"send\",\"text\":…}}"
                    );
                    break exit::USAGE;
                }
                // Nobody is left to approve, pick or resume: the session goes on unattended,
                // following `--approve`.
                Control::Closed => {
                    settling = handle.set_unattended(unattended_policy(args.approve)).ok();
                    sent_before_settling = sent;
                }
            },
            settled = recv_settled(&mut settling) => {
                settling = None;
                // Everything the actor published before acknowledging is in `events` already.
                while let Ok(event) = events.try_recv() {
                    sent += on_event(event, &mut deferred, interrupted, &handle, &mut out.gate);
                }
                match settled {
                    // A command sent since (a deferred prompt) may have started something:
                    // ask again.
                    Some(_) if sent != sent_before_settling => {
                        settling = handle.set_unattended(unattended_policy(args.approve)).ok();
                        sent_before_settling = sent;
                    }
                    Some(s) => idle = s.is_idle(),
                    // The actor ended first: its event stream ends too, which ends the run.
                    None => {}
                }
            }
            _ = &mut ctrl_c, if watch_ctrl_c && !interrupted => {
                interrupted = true;
                let _ = handle.send(Command::Stop {});
                if !task_sent {
                    break exit::FAILED;
                }
                // Stop finishes a running task at once; this bound only guards a session that
                // had nothing left to finish.
                grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = &mut grace, if interrupted => break exit::FAILED,
        }
        let printed = out.print_ready();
        if printed.broken {
            // Nobody reads stdout any more (a closed pipe): stop the session.
            let _ = handle.send(Command::Stop {});
        }
        if let Some(outcome) = printed.finished {
            if args.events == EventsFormat::Text {
                let line = text::usage_line(&out.metrics, out.run_ms());
                let _ = writeln!(out.stdout, "{line}");
            }
            break if interrupted {
                exit::FAILED
            } else {
                exit_code(outcome)
            };
        }
        if idle && out.gate.is_empty() {
            break match out.last_outcome {
                Some(outcome) if !interrupted => exit_code(outcome),
                _ => {
                    eprintln!(
                        "conclave run: standard input ended and no task is running: nothing more will happen"
                    );
                    exit::FAILED
                }
            };
        }
        if !events_open && out.gate.is_empty() {
            eprintln!("conclave run: the session ended without finishing");
            break exit::FAILED;
        }
    };
    // The last handle gone, the actor ends and so does the journal's event stream.
    drop(handle);
    drop(events);
    if let Some(writer) = journal {
        match tokio::time::timeout(JOURNAL_GRACE, writer).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => eprintln!("conclave run: {e}"),
            Ok(Err(e)) => eprintln!("conclave run: the journal writer failed: {e}"),
            Err(_) => eprintln!("conclave run: the journal was not finished in time"),
        }
    }
    code
}

/// Route one session event: into the gate, and the deferred prompt once the task it waited for
/// has finished. Returns how many commands it sent.
fn on_event(
    event: Event,
    deferred: &mut Option<String>,
    interrupted: bool,
    handle: &SessionHandle,
    gate: &mut DurableGate,
) -> u64 {
    let mut sent = 0;
    if matches!(event.kind, EventKind::SessionFinished { .. })
        && let Some(text) = deferred.take().filter(|_| !interrupted)
    {
        let _ = handle.send(Command::Send { text, to: None });
        gate.skip_finish += 1;
        sent += 1;
    }
    gate.hold(event);
    sent
}

async fn recv_settled(settling: &mut Option<oneshot::Receiver<Settled>>) -> Option<Settled> {
    match settling {
        Some(rx) => rx.await.ok(),
        None => std::future::pending().await,
    }
}

async fn recv_ack(acks: &mut Option<mpsc::UnboundedReceiver<u64>>) -> Option<u64> {
    match acks {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Where the run's events go: stdout, through the durability gate.
struct Output<W: Write> {
    format: EventsFormat,
    printer: TextPrinter,
    metrics: Metrics,
    stdout: W,
    gate: DurableGate,
    /// The outcome of the last `session_finished` printed by this run.
    last_outcome: Option<Outcome>,
    /// The timestamps of the first and the last event of this run (a resumed session's history
    /// not included): the usage line shows the time of this run, not of the whole session.
    run_span: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
}

/// What printing the ready events came to.
#[derive(Default)]
struct Printed {
    /// The `session_finished` that ends the run was printed.
    finished: Option<Outcome>,
    /// Writing to stdout failed.
    broken: bool,
}

impl<W: Write> Output<W> {
    fn print(&mut self, event: &Event) -> std::io::Result<()> {
        print(&mut self.stdout, self.format, &mut self.printer, event)
    }

    fn run_ms(&self) -> Option<u64> {
        self.run_span
            .map(|(first, last)| (last - first).num_milliseconds().max(0) as u64)
    }

    /// Print every event the gate lets through, stopping at the `session_finished` that ends the
    /// run.
    fn print_ready(&mut self) -> Printed {
        let mut printed = Printed::default();
        while let Some(event) = self.gate.next_ready() {
            self.metrics.apply(&event);
            let first = self.run_span.map_or(event.ts, |(first, _)| first);
            self.run_span = Some((first, event.ts));
            printed.broken |= self.print(&event).is_err();
            if let EventKind::SessionFinished { outcome, .. } = event.kind {
                self.last_outcome = Some(outcome);
                if self.gate.skip_finish > 0 {
                    self.gate.skip_finish -= 1;
                } else {
                    printed.finished = Some(outcome);
                    return printed;
                }
            }
        }
        printed
    }
}

/// How long the run waits for the journal writer to finish before exiting.
const JOURNAL_GRACE: Duration = Duration::from_secs(10);

/// How long Ctrl+C waits for `session_finished` before giving up.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the control reader passes on.
enum Control {
    Command(Command),
    Invalid { message: String, line: String },
    Closed,
}

async fn read_control(tx: mpsc::UnboundedSender<Control>) {
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match input.read_until(b'\n', &mut bytes).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read --control input");
                break;
            }
        }
        // A line that is not UTF-8 is reported as an invalid command like any other bad line;
        // the lines after it are still read.
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\n', '\r']).to_string();
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

/// What `--approve` says once nobody is present.
fn unattended_policy(approve: ApproveMode) -> UnattendedApproval {
    match approve {
        ApproveMode::Auto => UnattendedApproval::Auto,
        ApproveMode::Reject => UnattendedApproval::Reject,
    }
}

/// The offending control line as JSON when it is JSON, else as a string.
fn offending(line: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(line)
        .unwrap_or_else(|_| serde_json::Value::String(line.to_string()))
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
    fn only_the_backends_a_team_uses_are_built() {
        let config: Config = toml::from_str(
            "[backends.cloud]\nkind = \"anthropic\"\napi_key_env = \"CONCLAVE_TEST_NO_SUCH_KEY\"\n\
             [backends.demo]\nkind = \"scripted\"\n\
             [agents.a]\nbackend = \"demo\"\nmodel = \"a\"\n\
             [teams.solo]\npattern = \"single\"\nmembers = [\"a\"]\n",
        )
        .unwrap();
        let team = crate::launch::team_of(&config, "solo").unwrap();
        let built = crate::launch::providers_for(&config, "solo", &team, None).unwrap();
        assert_eq!(built.keys().collect::<Vec<_>>(), ["demo"]);
        assert_eq!(built["demo"].backend(), "demo");
    }
}
