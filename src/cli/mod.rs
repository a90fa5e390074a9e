//! The command line (DESIGN section 4): argument types and the dispatch to each subcommand.
//!
//! Mental model: clap parses into the types below; [`dispatch`] turns them into the plain options
//! of [`crate::host`], where every subcommand's work lives, and its [`Exit`] into an exit status:
//! 0 success, 1 the run failed, 2 bad usage or bad config, 128 + N after signal N (130 SIGINT,
//! 129 SIGHUP, 131 SIGQUIT, 143 SIGTERM). Nothing here
//! prints; logs go to a file (`host::logging`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::host::{self, Exit};

/// Exit codes of every subcommand.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    /// Added to a terminating signal's number (SIGTERM 15 gives 143), so scripts can tell the
    /// console was stopped, and by what.
    pub const SIGNALLED: u8 = 128;
}

#[derive(Debug, Parser)]
#[command(
    name = "conclave",
    version,
    about = "A terminal console for running and steering multi-agent LLM sessions",
    long_about = "A terminal console for running and steering multi-agent LLM sessions.\n\n\
        Without a subcommand, opens the console. With no config file it picks a backend by itself \
        (Ollama, then OPENAI_API_KEY, then ANTHROPIC_API_KEY, else an offline demo)."
)]
pub struct Cli {
    /// Config file (else $CONCLAVE_CONFIG, else <config dir>/config.toml, else the built-in default).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The team to open the console with.
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,

    /// Resume a session by id, or `last`.
    #[arg(long, value_name = "ID")]
    pub resume: Option<String>,

    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a team without the console, printing its events.
    Run(RunArgs),
    /// Validate the config, reach every backend and list its models.
    Check(CheckArgs),
    /// Write a commented config file to the config dir.
    Init(InitArgs),
    /// List, show, export, fork or remove recorded sessions.
    Sessions(SessionsArgs),
    /// Serve a team as an A2A agent (1.0 and 0.3 JSON-RPC, SSE streaming).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The team to serve.
    #[arg(long, value_name = "NAME")]
    pub team: String,
    /// The address to listen on (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0: any free port; the one taken is printed).
    #[arg(long, value_name = "P", default_value_t = 9999)]
    pub port: u16,
    /// Requests must carry `Authorization: Bearer <the value of this environment variable>`.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// What handoffs that need a person's approval do (nobody is at the console).
    #[arg(long, value_enum, default_value_t = ApproveMode::Auto)]
    pub approve: ApproveMode,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The team to run (not needed with --resume).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "resume",
        default_value = ""
    )]
    pub team: String,
    /// The task; read from standard input when absent (unless --control jsonl is given).
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
    /// How to print events.
    #[arg(long, value_enum, default_value_t = EventsFormat::Text)]
    pub events: EventsFormat,
    /// Keep reading commands from standard input while the session runs, one JSON object a line.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub control: Option<ControlFormat>,
    /// What handoffs that need a person's approval do without one.
    #[arg(long, value_enum, default_value_t = ApproveMode::Auto)]
    pub approve: ApproveMode,
    /// Continue a recorded session (id or `last`).
    #[arg(long, value_name = "ID")]
    pub resume: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    Text,
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ControlFormat {
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApproveMode {
    Auto,
    Reject,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only validate the file; do not contact the backends.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing config file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: Option<SessionsAction>,
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// Sessions, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A session's transcript as readable text.
    Show { id: String },
    /// A session as Markdown or as the JSON array of its events.
    Export {
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
    },
    /// Start a new session whose history is ID's up to event SEQ.
    Fork {
        id: String,
        #[arg(long, value_name = "SEQ")]
        at: u64,
    },
    /// Delete a recorded session.
    Rm { id: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

/// Run the subcommand `cli` asks for and return its exit code. Each arm calls its module in
/// `host`; the console is the default.
pub fn dispatch(cli: Cli) -> u8 {
    let _log = host::logging::init();
    code(match cli.command {
        Some(Cmd::Check(args)) => host::check::run(cli.config.as_deref(), args.offline),
        Some(Cmd::Init(args)) => host::init::run(cli.config.as_deref(), args.force),
        None => host::console::run(&host::console::ConsoleOptions {
            config: cli.config,
            team: cli.team,
            resume: cli.resume,
        }),
        Some(Cmd::Sessions(args)) => sessions(args.action),
        Some(Cmd::Run(args)) => host::run::run(args.into_options(cli.config)),
        Some(Cmd::Serve(args)) => host::serve::run(host::serve::ServeOptions {
            config: cli.config,
            team: args.team,
            host: args.host,
            port: args.port,
            token_env: args.token_env,
            approve: match args.approve {
                ApproveMode::Auto => crate::core::patterns::UnattendedApproval::Auto,
                ApproveMode::Reject => crate::core::patterns::UnattendedApproval::Reject,
            },
        }),
    })
}

/// `conclave sessions ACTION` (the list when none is given) on the recorded journals.
fn sessions(action: Option<SessionsAction>) -> Exit {
    use host::sessions::{self, ExportFormat as To};
    let dir = host::bootstrap::journal_dir();
    match action.unwrap_or(SessionsAction::List { json: false }) {
        SessionsAction::List { json } => sessions::list(&dir, json),
        SessionsAction::Show { id } => sessions::show(&dir, &id),
        SessionsAction::Export { id, format } => {
            let to = match format {
                ExportFormat::Md => To::Markdown,
                ExportFormat::Json => To::Json,
            };
            sessions::export(&dir, &id, to)
        }
        SessionsAction::Fork { id, at } => sessions::fork(&dir, &id, at),
        SessionsAction::Rm { id } => sessions::rm(&dir, &id),
    }
}

/// The exit status for how a front end ended.
pub fn code(exit: Exit) -> u8 {
    match exit {
        Exit::Ok => exit::OK,
        Exit::Failed => exit::FAILED,
        Exit::Usage => exit::USAGE,
        Exit::Signalled(signal) => u8::try_from(signal)
            .ok()
            .and_then(|n| exit::SIGNALLED.checked_add(n))
            .unwrap_or(exit::FAILED),
    }
}

impl RunArgs {
    /// The plain options of the headless driver; `config` is the global `--config`.
    pub fn into_options(self, config: Option<PathBuf>) -> host::run::RunOptions {
        host::run::RunOptions {
            config,
            team: self.team,
            prompt: self.prompt,
            events: match self.events {
                EventsFormat::Text => crate::headless::Format::Text,
                EventsFormat::Jsonl => crate::headless::Format::Jsonl,
            },
            control: match self.control {
                Some(ControlFormat::Jsonl) => true,
                None => false,
            },
            approve: match self.approve {
                ApproveMode::Auto => crate::core::patterns::UnattendedApproval::Auto,
                ApproveMode::Reject => crate::core::patterns::UnattendedApproval::Reject,
            },
            resume: self.resume,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_ending_has_its_status() {
        assert_eq!(code(Exit::Ok), 0);
        assert_eq!(code(Exit::Failed), 1);
        assert_eq!(code(Exit::Usage), 2);
        assert_eq!(code(Exit::Signalled(15)), 143);
        assert_eq!(code(Exit::Signalled(2)), 130);
        assert_eq!(code(Exit::Signalled(1)), 129);
        assert_eq!(code(Exit::Signalled(3)), 131);
        assert_eq!(code(Exit::Signalled(-1)), 1);
        assert_eq!(code(Exit::Signalled(200)), 1);
    }
}
