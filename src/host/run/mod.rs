//! `conclave run`, the headless driver: one session without the console, its events printed as
//! they happen.
//!
//! Mental model: prepare (load the config, read the task, find the journal to resume), then
//! start the session through [`super::launch`] (which journals it into
//! [`super::bootstrap::journal_dir`]) and run three things side by side until `session_finished`
//! ([`drive`]): the printer (`crate::headless::Output`: every event, as JSONL exactly as
//! serialized or as readable text), the control reader ([`control`], `--control jsonl`: each
//! stdin line parsed as a [`Command`](crate::core::Command); an invalid line is published through
//! the session as an `error` event, seq'd and journaled, and the session goes on) and Ctrl+C
//! (sends `stop`, then the run ends with `Exit::Failed`). Before exiting, the run waits for the
//! journal writer to put everything on disk.
//!
//! `--resume ID|last` continues a recorded session: one cut off mid-task runs on to its end (its
//! `--prompt`, if any, is sent once that task is done); a finished one continues with `--prompt`
//! (or the `--control` script). In text mode the session id is printed on stderr at the start, with
//! the command that resumes it; JSONL mode keeps stdout for events only.
//!
//! How it ends ([`Exit`]): `Ok` when the session finished `completed`, `consensus` or `max_rounds`
//! (the team did what it was configured to do); `Failed` for `failed`, `cancelled`, `timeout` or
//! `budget` (no answer the task asked for), or when interrupted; `Usage` for bad usage or a bad
//! config (unknown team, no task, a backend that cannot be built, an unknown session), before any
//! session starts; also `Failed`, before anything starts, when the session could not be recorded
//! (the sessions dir, the journal or its lock file cannot be written), and when the journal or
//! standard output fails during the run (the session stops; it stays resumable).
//!
//! Approvals: without `--control` nobody can approve, so handoffs that need it follow `--approve`.
//! With `--control` the control script is the person: approvals wait for its commands. A control
//! line that is not UTF-8 is an invalid command like any other. When the script ends (EOF) nobody
//! is left: the session becomes unattended, so a waiting approval follows `--approve`, a person's
//! speaker choice falls back to round robin and a paused session resumes. The session
//! acknowledges that after handling every command sent before it; if it then has no task and no
//! running turn, nothing more can happen, so the run prints what is left and ends: with the
//! outcome of the last task this run saw finish, or else (every `send` was refused) `Failed`
//! and "standard input ended and no task is running" on stderr.

mod control;
mod drive;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use super::Exit;
use super::bootstrap;
use super::launch::{self, LaunchOptions};
use crate::config::schema::{Config, Price};
use crate::core::patterns::UnattendedApproval;
use crate::core::state::SessionState;
use crate::headless::Format;
use crate::store::Journal;

/// What the command line asks of `conclave run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `--config`: the config file, else the usual places, else the embedded default.
    pub config: Option<PathBuf>,
    /// `--team`: the team to run; empty when not given (allowed with `resume`).
    pub team: String,
    /// `--prompt`: the task; read from standard input when absent (unless `control`).
    pub prompt: Option<String>,
    /// `--events`: how to print events.
    pub events: Format,
    /// `--control jsonl`: keep reading commands from standard input while the session runs.
    pub control: bool,
    /// `--approve`: what approvals do once nobody is present.
    pub approve: UnattendedApproval,
    /// `--resume`: a session id or `last`.
    pub resume: Option<String>,
}

/// Run `conclave run` and say how it ended.
pub fn run(options: RunOptions) -> Exit {
    let prepared = match prepare(&options) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("conclave run: {message}");
            return Exit::Usage;
        }
    };
    // A new session's journal is the first thing `launch` creates, before any model is called,
    // so only a resume is checked up front (its journal and lock file must open for writing).
    if let Start::Resume(journal) = &prepared.start
        && let Err(e) = bootstrap::check_recordable(&bootstrap::journal_dir(), Some(&journal.path))
    {
        eprintln!("conclave run: {e}");
        return Exit::Failed;
    }
    match bootstrap::single_thread_runtime("conclave run") {
        Ok(runtime) => runtime.block_on(drive::drive(options, prepared)),
        Err(exit) => exit,
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

fn prepare(args: &RunOptions) -> Result<Prepared, String> {
    let loaded = crate::config::load::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let config = loaded.config;
    let unattended = (!args.control).then_some(args.approve);
    let options = LaunchOptions {
        headless: true, // the run ends with its task: nobody answers a remote agent's question
        ..bootstrap::options(unattended, None)
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
    launch::team_of(&config, &args.team).map_err(|e| e.to_string())?;
    let prompt = match (prompt, args.control) {
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
    args: &RunOptions,
    id: &str,
    has_prompt: bool,
) -> Result<(Journal, SessionState), String> {
    let dir = bootstrap::journal_dir();
    let journal = launch::find_journal(&dir, id).map_err(|e| e.to_string())?;
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
    if !state.task.active && !has_prompt && !args.control {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::Outcome;

    #[test]
    fn the_exit_follows_the_outcome() {
        assert_eq!(Exit::of(Outcome::Consensus), Exit::Ok);
        assert_eq!(Exit::of(Outcome::MaxRounds), Exit::Ok);
        assert_eq!(Exit::of(Outcome::MaxMessages), Exit::Ok);
        assert_eq!(Exit::of(Outcome::Completed), Exit::Ok);
        for bad in [
            Outcome::Failed,
            Outcome::Cancelled,
            Outcome::Timeout,
            Outcome::Budget,
        ] {
            assert_eq!(Exit::of(bad), Exit::Failed);
        }
    }
}
