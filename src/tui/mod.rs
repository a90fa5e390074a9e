//! The console: a live multi-pane terminal UI to watch and steer a session.
//!
//! It is driven entirely through channels, so it never talks HTTP or spawns sessions:
//! [`Inbound`] values come in on one channel — mostly session events (a session's stream starts
//! with `session_started`, which resets the view, so a [`Outbound::NewSession`] is answered by a
//! fresh stream), plus what the host has to say (a notice, the sessions list, a new backend) —
//! and everything the person asks for goes out as [`Outbound`] values on the other. Keys become
//! named actions (`keymap`), actions become state changes and `Outbound`s (`app`), events fold
//! into the view (`state`), and frames are drawn at most 60 times a second, only when something
//! changed (`frame`, `run_loop`, `render`).
//!
//! ```ignore
//! let (ev_tx, ev_rx) = tokio::sync::mpsc::unbounded_channel();
//! let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel();
//! // send Inbound::Event(e) for each session event into ev_tx; act on what arrives in out_rx
//! conclave::tui::run_console(setup, ev_rx, out_tx).await?;
//! ```

pub mod app;
pub mod cache;
pub mod frame;
pub mod keymap;
pub mod markdown;
pub mod osc52;
pub mod overlays;
pub mod panes;
pub mod put;
pub mod render;
pub mod replay;
pub mod run_loop;
pub mod sanitize;
pub mod scroll;
pub mod signals;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod wrap;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::config::Config;
use crate::core::{Command, Event};
use crate::view::SessionSummary;

pub use app::App;
pub use keymap::validate as validate_keys;

/// What the console needs to start.
#[derive(Clone, Debug)]
pub struct ConsoleSetup {
    pub config: Config,
    /// The team the session runs (the status bar; `/new` reuses it).
    pub team: String,
    /// Shown in the status bar, e.g. `ollama @ 127.0.0.1:11434`.
    pub backend_label: String,
    /// The offline scripted backend: the status bar says DEMO.
    pub is_demo: bool,
    /// Events of a resumed session, folded in before the first frame.
    pub history: Vec<Event>,
}

/// What the console asks of its host.
#[derive(Clone, Debug, PartialEq)]
pub enum Outbound {
    /// A command for the running session.
    Command(Command),
    /// Start a new session of `team`; its events then arrive on the same channel.
    NewSession { team: String },
    /// Show the recorded sessions (`/sessions`).
    OpenSessions,
    /// Export the session (`md` or `json`).
    Export { format: String },
    /// Fork the session at event `seq`.
    Fork { seq: u64 },
    /// Continue the recorded session `id` (chosen in the `/sessions` picker).
    Resume { id: String },
    /// Show where the session on screen and the recorded session `id` diverge (`/diff ID`).
    Diff { id: String },
    /// The person quit; the console has returned or is about to.
    Quit,
    /// A request for the player of a recorded session (`conclave replay`).
    Replay(replay::ReplayControl),
    /// List the MCP servers and their tools (`/tools`), answered with [`Inbound::Tools`].
    ListTools,
}

/// What the host tells the console.
// Events are nearly all of this channel's traffic (a token each); boxing them would allocate
// per token to save the rare notice a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// An event of the session on screen.
    Event(Event),
    /// A line for the person, shown in the transcript ("exported to …", a launch failure).
    Notice(String),
    /// The recorded sessions, newest first, answering [`Outbound::OpenSessions`]: shown as a
    /// picker whose choice is sent back as [`Outbound::Resume`].
    Sessions(Vec<SessionSummary>),
    /// The session now runs on another backend (background detection found one).
    Backend { label: String, is_demo: bool },
    /// A replay seeks back: the view starts empty, the events up to the target follow.
    ReplayRestart,
    /// Where the player of a recorded session stands; the first one makes this a replay
    /// console (see [`replay`]).
    ReplayStatus(replay::ReplayStatus),
    /// The MCP servers with their tools or why they failed, answering [`Outbound::ListTools`].
    Tools(Vec<crate::tools::ServerListing>),
}

/// How the console ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The person quit.
    Quit,
    /// A terminating signal (its number) ended it, as quitting does.
    Signal(i32),
    /// Reading or drawing failed: the terminal is gone (closed, hung up). Ended as quitting does.
    TerminalLost,
}

/// Run the console until the person quits, a terminating signal (SIGINT, SIGHUP, SIGQUIT,
/// SIGTERM) arrives or the terminal is gone; each way the session is left as quitting leaves it.
/// Honours `NO_COLOR`.
pub async fn run_console(
    setup: ConsoleSetup,
    events: UnboundedReceiver<Inbound>,
    out: UnboundedSender<Outbound>,
) -> anyhow::Result<Ended> {
    let mut app = App::new(setup);
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    run_loop::run(app, events, out).await
}

/// Run the console as the player of a recorded session: the replay bar instead of the input box,
/// the `replay` keys, nothing sent to agents. The host plays the events in (see [`replay`]).
pub async fn run_replay_console(
    setup: ConsoleSetup,
    status: replay::ReplayStatus,
    events: UnboundedReceiver<Inbound>,
    out: UnboundedSender<Outbound>,
) -> anyhow::Result<Ended> {
    let mut app = App::new(setup);
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    app.receive(Inbound::ReplayStatus(status));
    run_loop::run(app, events, out).await
}
