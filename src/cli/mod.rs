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
    /// List, show, export, fork, diff or remove recorded sessions.
    Sessions(SessionsArgs),
    /// Play a recorded session back from its journal: no backend, no key, no tool server.
    Replay(ReplayArgs),
    /// Run every task of a suite through each team and score the answers.
    Eval(EvalArgs),
    /// Serve a team as an A2A agent (1.0 and 0.3 JSON-RPC, SSE streaming).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The suite: a TOML file of [[task]] tables (prompt, answer or answer_regex).
    pub suite: PathBuf,
    /// The teams to compare, comma-separated (default: every team of the config but `auto`).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub teams: Vec<String>,
    /// The token budget of every task's session.
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Run every task this many times per team.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Compare with a saved result; exit 1 on a regression.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save the result (the --json object) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A session id, a unique prefix, or `last`.
    pub id: String,
    /// Playback speed: 2 plays twice as fast as recorded (waits are capped at 5 s).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        conflicts_with = "instant"
    )]
    pub speed: f64,
    /// Print everything at once.
    #[arg(long)]
    pub instant: bool,
    /// Print the events instead of playing them in the console: readable lines with each
    /// event's seq in a margin, or JSONL (the default when standard output is not a terminal
    /// is text).
    #[arg(long, value_enum)]
    pub events: Option<EventsFormat>,
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
    /// A session as Markdown or as the JSON array of its events, or its trace sent to an
    /// OpenTelemetry collector (`--format otlp`).
    Export {
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// With `--format otlp`: the collector's base URL (default: `[telemetry] otlp_endpoint`,
        /// then OTEL_EXPORTER_OTLP_ENDPOINT).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
    /// Start a new session whose history is ID's up to event SEQ.
    Fork {
        id: String,
        #[arg(long, value_name = "SEQ")]
        at: u64,
    },
    /// Delete a recorded session.
    Rm { id: String },
    /// Where two sessions first diverge, and how each ended (exit 0: they match, 1: they differ).
    Diff {
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
    /// Send the trace over OTLP/HTTP instead of printing.
    Otlp,
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
        Some(Cmd::Sessions(args)) => sessions(args.action, cli.config.as_deref()),
        Some(Cmd::Run(args)) => host::run::run(args.into_options(cli.config)),
        Some(Cmd::Eval(args)) => host::eval::run(&host::eval::EvalOptions {
            suite: args.suite,
            config: cli.config,
            teams: args.teams,
            budget_tokens: args.budget_tokens,
            repeat: args.repeat,
            json: args.json,
            baseline: args.baseline,
            save_baseline: args.save_baseline,
        }),
        Some(Cmd::Replay(args)) => host::replay::run(&host::replay::ReplayOptions {
            id: args.id,
            events: args.events.map(|e| match e {
                EventsFormat::Text => crate::headless::Format::Text,
                EventsFormat::Jsonl => crate::headless::Format::Jsonl,
            }),
            speed: (!args.instant).then_some(args.speed),
            config: cli.config.clone(),
        }),
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
fn sessions(action: Option<SessionsAction>, config: Option<&std::path::Path>) -> Exit {
    use host::sessions::{self, ExportFormat as To};
    let dir = host::bootstrap::journal_dir();
    match action.unwrap_or(SessionsAction::List { json: false }) {
        SessionsAction::List { json } => sessions::list(&dir, json),
        SessionsAction::Show { id } => sessions::show(&dir, &id),
        SessionsAction::Export {
            id,
            format,
            endpoint,
        } => match (format, endpoint) {
            (ExportFormat::Otlp, endpoint) => {
                host::trace_export::export_otlp(&dir, &id, config, endpoint.as_deref())
            }
            (_, Some(_)) => {
                eprintln!("conclave: --endpoint goes with --format otlp");
                Exit::Usage
            }
            (ExportFormat::Md, None) => sessions::export(&dir, &id, To::Markdown),
            (ExportFormat::Json, None) => sessions::export(&dir, &id, To::Json),
        },
        SessionsAction::Fork { id, at } => sessions::fork(&dir, &id, at),
        SessionsAction::Rm { id } => sessions::rm(&dir, &id),
        SessionsAction::Diff { a, b, json } => sessions::diff(&dir, &a, &b, json),
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
