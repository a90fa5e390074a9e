//! The console's session manager: the bridge between the TUI and the one session on screen.
//!
//! Mental model: a task that owns the current session and `select!`s over what the TUI asks
//! ([`Outbound`]), the session's events (forwarded as [`Inbound::Event`]) and the background
//! backend detection. It performs commands, new sessions, export, the sessions picker, fork and
//! resume through [`crate::host::launch`], and reports every failure as a notice, never as a crash.
//! Leaving a session (switching, forking, quitting) drops its handle and waits for its journal
//! ([`bootstrap::settle`]) before the next one starts, so a journal is never written twice.
//! Events reach the screen only once the journal has them (the `run` gate, [`DurableGate`]); when a
//! journal write fails the session is left where its journal stops and the person told why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::backend_label;
use crate::config::detect::{self, Detected};
use crate::config::schema::Config;
use crate::config::{defaults, paths};
use crate::core::Command;
use crate::core::event::EventKind;
use crate::core::session::{EventStream, SessionHandle};
use crate::headless::gate::DurableGate;
use crate::host::bootstrap::{self, JournalEnd};
use crate::host::launch::{self, Launched};
use crate::host::providers::ProviderCache;
use crate::store::{self, Journal, JournalError, WriterReport};
use crate::tui::{Inbound, Outbound};

/// The session on screen.
struct Current {
    id: String,
    team: String,
    handle: SessionHandle,
    events: Option<EventStream>,
    journal_path: Option<PathBuf>,
    journal: Option<JoinHandle<Result<WriterReport, JournalError>>>,
    /// The journal's acknowledgements, until its writer ends.
    acks: Option<UnboundedReceiver<u64>>,
    /// Events held until the journal has them: the screen never shows more than the disk holds.
    gate: DurableGate,
    /// A resumed session (a new one gets the welcome note after its start).
    resumed: bool,
    /// Whether the person gave it a task; a new session without one leaves no journal behind.
    had_task: bool,
    /// The OTLP exporter (`[telemetry]`), waited for when the session is left.
    telemetry: Option<JoinHandle<()>>,
}

/// Connects the console to its session; see the module docs.
pub(super) struct Bridge {
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
    /// A bridge with no session yet that talks to the console through `to_console`; `pending`
    /// are notes for after the first welcome (the config's warnings).
    pub(super) fn new(
        config: Config,
        dir: PathBuf,
        to_console: UnboundedSender<Inbound>,
        pending: Vec<String>,
    ) -> Self {
        Bridge {
            config,
            dir,
            to_console,
            current: None,
            sent_anything: false,
            pending,
            providers: Arc::default(),
        }
    }

    /// No session is on screen, or it was resumed (so no welcome will flush the pending notes).
    pub(super) fn is_resumed_or_empty(&self) -> bool {
        self.current.as_ref().is_none_or(|c| c.resumed)
    }

    /// Show the pending notes now.
    pub(super) fn flush_pending(&mut self) {
        for w in std::mem::take(&mut self.pending) {
            self.notice(w);
        }
    }

    pub(super) async fn run(
        mut self,
        mut out: UnboundedReceiver<Outbound>,
        mut detection: Option<JoinHandle<Detected>>,
    ) {
        loop {
            let (events, acks) = match self.current.as_mut() {
                Some(c) => (c.events.as_mut(), c.acks.as_mut()),
                None => (None, None),
            };
            let has_events = events.is_some();
            let has_acks = acks.is_some();
            tokio::select! {
                acked = recv_ack(acks), if has_acks => self.acked(acked).await,
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
            Outbound::Diff { id } => self.diff(&id),
            Outbound::Quit => {}
            // Only a replay console has a player to ask.
            Outbound::Replay(_) => {}
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
        current.gate.hold(ev);
        self.show_ready();
    }

    /// Send the console every event the journal has.
    fn show_ready(&mut self) {
        while let Some(current) = self.current.as_mut()
            && let Some(ev) = current.gate.next_ready()
        {
            let fresh_start = (!current.resumed
                && matches!(ev.kind, EventKind::SessionStarted { .. }))
            .then(|| current.team.clone());
            self.send(Inbound::Event(ev));
            if let Some(team) = fresh_start {
                self.welcome(&team);
            }
        }
    }

    /// The journal acknowledged `acked`, or (`None`) its writer ended: after the session did, or
    /// because a write failed. Then the session is paused where its journal stops: left (as when
    /// quitting, so it stays resumable) with nothing shown that is not on disk, and the person
    /// is told why.
    async fn acked(&mut self, acked: Option<u64>) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        if let Some(seq) = acked {
            current.gate.durable(seq);
            self.show_ready();
            return;
        }
        current.acks = None;
        let ended = match current.journal.take() {
            Some(writer) => bootstrap::settle(writer).await,
            None => Ok(WriterReport::default()),
        };
        match ended {
            Ok(_) => {
                current.gate.release_all();
                self.show_ready();
            }
            Err(e) => {
                let id = current.id.clone();
                tracing::warn!("journal of {id}: {e}");
                self.current = None;
                self.notice(format!(
                    "{e}: session {id} is paused and nothing more is recorded; fix that, then \
                     resume it (/sessions, or `conclave --resume {id}`)"
                ));
            }
        }
    }

    /// Launch a new session of `team`; failures become notices. `first`: the console's first
    /// session (its backend label is in the setup already).
    pub(super) fn launch_new(&mut self, team: &str, first: bool) {
        let options = bootstrap::options(None, Some(self.providers.clone()));
        match launch::launch(&self.config, team, &options) {
            Ok(l) => self.adopt(l, false),
            Err(e) => {
                tracing::warn!("launching {team}: {e}");
                self.notice(format!("cannot start team {team}: {e}"));
                self.flush_pending();
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
    pub(super) fn resume(&mut self, journal: Journal, forward: bool) -> Vec<crate::core::Event> {
        let team = journal.header.team.clone();
        let id = journal.header.session.clone();
        for warning in &journal.warnings {
            self.notice(format!("warning: {}: {warning}", journal.path.display()));
        }
        if let Some(pid) = store::lock::running_pid(&journal.path) {
            self.notice(format!(
                "{id} is open in another conclave (process {pid}); close it there first"
            ));
            return Vec::new();
        }
        let options = bootstrap::options(None, Some(self.providers.clone()));
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
            gate: DurableGate::new(l.journal_acks.is_some()),
            acks: l.journal_acks,
            resumed,
            had_task: false,
            telemetry: l.telemetry,
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
            match bootstrap::settle(journal).await {
                Ok(_) => {}
                Err(JournalEnd::Failed(e)) => {
                    tracing::warn!("journal of {}: {e}", current.id);
                    self.notice(format!("the journal of {} failed: {e}", current.id));
                }
                Err(e) => tracing::warn!("journal of {}: {e}", current.id),
            }
        }
        if let Some(exporter) = current.telemetry {
            bootstrap::settle_telemetry(exporter).await;
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
        // The id names a file in the current directory: only one that follows the id grammar.
        if !store::is_valid_id(&id) {
            self.notice(format!("export failed: {id:?} is not a valid session id"));
            return;
        }
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
        let forked =
            launch::fork(&path, seq).and_then(|(new_id, p)| Ok((new_id, store::read_journal(&p)?)));
        match forked {
            Ok((new_id, journal)) => {
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

    /// `/diff ID`: the session on screen against `id`, as `sessions diff` prints it, one notice
    /// a line.
    fn diff(&mut self, id: &str) {
        let Some((_, path)) = self.journal_of_current() else {
            return;
        };
        match diff_text(&self.dir, &path, id) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    self.notice(line.to_string());
                }
            }
            Err(e) => self.notice(format!("cannot diff with {id}: {e}")),
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
        self.flush_pending();
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

async fn recv_ack(acks: Option<&mut UnboundedReceiver<u64>>) -> Option<u64> {
    match acks {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn join(task: Option<&mut JoinHandle<Detected>>) -> Option<Detected> {
    match task {
        Some(t) => t.await.ok(),
        None => std::future::pending().await,
    }
}
/// The diff of the journal at `current` against the session `other` names in `dir`.
fn diff_text(dir: &Path, current: &Path, other: &str) -> Result<String, JournalError> {
    let a = store::read_journal(current)?;
    let b = store::read_journal(&store::resolve_id(dir, other)?)?;
    Ok(store::diff::to_text(&store::diff::diff(&a, &b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_text_compares_the_journal_on_screen_with_a_recorded_one() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let a = dir.path().join("20261121-130000-f1x7.jsonl");
        std::fs::copy(fixtures.join("every_event.jsonl"), &a).unwrap();
        std::fs::copy(
            fixtures.join("interrupted.jsonl"),
            dir.path().join("20261121-120000-cut1.jsonl"),
        )
        .unwrap();
        let text = diff_text(dir.path(), &a, "20261121-120000").unwrap();
        assert!(text.contains("First divergence:"), "{text}");
        let e = diff_text(dir.path(), &a, "nosuch").unwrap_err();
        assert!(e.is_usage(), "{e}");
    }
}
