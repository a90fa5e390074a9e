//! The journal writer: a tokio task fed from the session's event stream that appends every event
//! to the journal, so that a session killed at any moment keeps everything that completed.
//!
//! Durability rules:
//! - every event but `token` is written as soon as it is received: the buffered writer is flushed
//!   (a `write(2)`, which survives SIGKILL) after each batch drained from the channel. Writes go
//!   to the page cache and are made on the session's own thread; only fsyncs, which wait for the
//!   disk, go to tokio's blocking pool (a thread hop per write cost a short run a thread and a
//!   tenth of its CPU);
//! - the file is fsynced (`sync_data`) after any batch holding a boundary event: everything except
//!   `token` and `turn_started` (so after `message`, `turn_failed`, `turn_cancelled`, handoffs,
//!   votes, consensus, `session_finished`, user messages …), and once more when the channel closes
//!   if anything was written after the last one. A new journal's header is not fsynced on its own:
//!   a session's first event, `session_started`, is a boundary, and its fsync takes the header
//!   with it (each fsync of a one-turn run is a tenth of its CPU);
//! - `token` events are coalesced per (agent, turn): their texts are concatenated into one event
//!   that keeps the seq and timestamp of the last token it holds. Pending tokens are written every
//!   [`TOKEN_FLUSH_INTERVAL`] and before any other event, so a kill loses well under a second of
//!   streamed text. Coalesced lines are written in seq order, so seqs in the file increase but may
//!   have gaps where tokens were merged (readers accept gaps; see `journal`).
//!
//! Optional acks: [`spawn_writer_with_acks`] reports the seq of each boundary event once it is on
//! disk (after the fsync), which the crash test uses to check that nothing acknowledged is lost.
//! While the writer runs it holds the OS lock on `<id>.lock`, which names its process (see `lock`).
//!
//! [`spawn_appender`] continues an existing journal (resume): it cuts off a torn last line first,
//! so the file stays a clean sequence of whole lines.
//!
//! [`OpenJournal`] opens (creates with its header, or reopens to append) before the writer
//! starts, so a front end learns that a session cannot be recorded before the session starts.
//! A write that fails later ends the writer with the error (naming the file); whoever started
//! it stops the session there (see `host`).

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::io::{BufWriter, Read, Seek, Write};
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::error::JournalError;
use super::header::JournalHeader;
use super::journal::read_journal;
use super::lock;
use super::private;
use crate::core::event::{Event, EventKind};

/// How often pending coalesced tokens are written.
pub const TOKEN_FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// What a writer did, returned when its channel closes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterReport {
    pub path: PathBuf,
    /// Events received from the channel.
    pub events: u64,
    /// Event lines written (not counting the header).
    pub lines: u64,
    /// `sync_data` calls.
    pub syncs: u64,
}

/// Create the journal at `path` (it must not exist), write `header`, then append every event
/// received on `events` until the channel closes.
pub fn spawn_writer(
    path: PathBuf,
    header: JournalHeader,
    events: UnboundedReceiver<Event>,
) -> JoinHandle<Result<WriterReport, JournalError>> {
    tokio::spawn(run(path, Open::Create(header), events, None))
}

/// [`spawn_writer`], also sending on `acks` the seq of each boundary event once it is fsynced.
pub fn spawn_writer_with_acks(
    path: PathBuf,
    header: JournalHeader,
    events: UnboundedReceiver<Event>,
    acks: UnboundedSender<u64>,
) -> JoinHandle<Result<WriterReport, JournalError>> {
    tokio::spawn(run(path, Open::Create(header), events, Some(acks)))
}

/// Continue the existing journal at `path` (a resumed session): drop a torn last line if there is
/// one, then append every event received on `events` until the channel closes. The events should
/// continue the journal's seqs (see [`Journal::next_seq`](super::Journal::next_seq)). Refused while
/// another live process writes the journal.
pub fn spawn_appender(
    path: PathBuf,
    events: UnboundedReceiver<Event>,
) -> JoinHandle<Result<WriterReport, JournalError>> {
    tokio::spawn(run(path, Open::Append, events, None))
}

/// [`spawn_appender`], also sending on `acks` the seq of each boundary event once it is fsynced.
pub fn spawn_appender_with_acks(
    path: PathBuf,
    events: UnboundedReceiver<Event>,
    acks: UnboundedSender<u64>,
) -> JoinHandle<Result<WriterReport, JournalError>> {
    tokio::spawn(run(path, Open::Append, events, Some(acks)))
}

/// A journal opened for writing (its lock taken, a new one's header on disk) whose writer has
/// not started yet: opening first lets a front end refuse to start a session it cannot record.
pub struct OpenJournal {
    sink: Sink,
}

impl OpenJournal {
    /// Create the journal at `path` (it must not exist, its directory is created `0700`) and
    /// write `header` (fsynced with the first boundary event).
    pub fn create(path: &Path, header: &JournalHeader) -> Result<Self, JournalError> {
        Ok(OpenJournal {
            sink: Sink::create(path, header)?,
        })
    }

    /// Open the existing journal at `path` to continue it, cutting off a torn last line.
    pub fn append(path: &Path) -> Result<Self, JournalError> {
        Ok(OpenJournal {
            sink: Sink::append(path)?,
        })
    }

    /// Append every event received on `events` until the channel closes, sending on `acks`
    /// the seq of each boundary event once it is fsynced. Must be called inside a tokio runtime.
    pub fn spawn(
        self,
        events: UnboundedReceiver<Event>,
        acks: Option<UnboundedSender<u64>>,
    ) -> JoinHandle<Result<WriterReport, JournalError>> {
        tokio::spawn(feed(self.sink, events, acks))
    }
}

/// How the writer opens its file.
enum Open {
    /// A new journal starting with this header.
    Create(JournalHeader),
    /// An existing journal, continued.
    Append,
}

async fn run(
    path: PathBuf,
    open: Open,
    events: UnboundedReceiver<Event>,
    acks: Option<UnboundedSender<u64>>,
) -> Result<WriterReport, JournalError> {
    let at = path.clone();
    let sink = tokio::task::spawn_blocking(move || match open {
        Open::Create(header) => Sink::create(&path, &header),
        Open::Append => Sink::append(&path),
    })
    .await
    .map_err(|e| JournalError::io(at, std::io::Error::other(e)))??;
    feed(sink, events, acks).await
}

async fn feed(
    mut sink: Sink,
    mut events: UnboundedReceiver<Event>,
    acks: Option<UnboundedSender<u64>>,
) -> Result<WriterReport, JournalError> {
    let mut pending = Pending::default();
    let mut ticker = tokio::time::interval(TOKEN_FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut durable: Vec<u64> = Vec::new();
    loop {
        tokio::select! {
            received = events.recv() => {
                let Some(first) = received else { break };
                let mut next = Some(first);
                while let Some(event) = next {
                    sink.report.events += 1;
                    if let EventKind::Token { .. } = event.kind {
                        pending.add(event);
                    } else {
                        for token in pending.take() {
                            sink.write(&token)?;
                        }
                        if is_boundary(&event.kind) {
                            durable.push(event.seq);
                        }
                        sink.write(&event)?;
                    }
                    next = events.try_recv().ok();
                }
                sink.flush()?;
                if !durable.is_empty() {
                    sink.sync().await?;
                    if let Some(acks) = &acks {
                        for seq in durable.drain(..) {
                            let _ = acks.send(seq);
                        }
                    }
                    durable.clear();
                }
            }
            _ = ticker.tick() => {
                if !pending.is_empty() {
                    for token in pending.take() {
                        sink.write(&token)?;
                    }
                    sink.flush()?;
                }
            }
        }
    }
    for token in pending.take() {
        sink.write(&token)?;
    }
    sink.flush()?;
    if sink.unsynced {
        sink.sync().await?;
    }
    sink.lock
        .release()
        .map_err(|e| JournalError::io(lock::lock_path(&sink.path), e))?;
    Ok(sink.report)
}

/// Take the lock of the journal at `path`; `id` names the session in the refusal (else the
/// file's stem).
fn take_lock(path: &Path, id: Option<&str>) -> Result<lock::JournalLock, JournalError> {
    lock::acquire(path).map_err(|e| match e {
        lock::LockError::Held { pid } => JournalError::Running {
            id: id.map(String::from).unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            pid,
        },
        lock::LockError::Io(e) => JournalError::io(lock::lock_path(path), e),
    })
}

/// Whether an event is a boundary after which the journal is fsynced.
fn is_boundary(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Token { .. } | EventKind::TurnStarted { .. }
    )
}

/// Tokens not yet written, merged per (agent, turn).
#[derive(Default)]
struct Pending {
    by_turn: BTreeMap<(String, u64), Event>,
}

impl Pending {
    fn add(&mut self, event: Event) {
        let EventKind::Token { agent, turn, text } = &event.kind else {
            return;
        };
        let key = (agent.clone(), *turn);
        match self.by_turn.get_mut(&key) {
            Some(held) => {
                if let EventKind::Token {
                    text: held_text, ..
                } = &mut held.kind
                {
                    held_text.push_str(text);
                }
                held.seq = event.seq;
                held.ts = event.ts;
            }
            None => {
                self.by_turn.insert(key, event);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.by_turn.is_empty()
    }

    /// The pending tokens in seq order, leaving none.
    fn take(&mut self) -> Vec<Event> {
        let mut tokens: Vec<Event> = std::mem::take(&mut self.by_turn).into_values().collect();
        tokens.sort_by_key(|e| e.seq);
        tokens
    }
}

/// The open journal file.
struct Sink {
    path: PathBuf,
    lock: lock::JournalLock,
    out: BufWriter<Shared>,
    report: WriterReport,
    /// Something was written since the last fsync.
    unsynced: bool,
}

impl Sink {
    fn create(path: &Path, header: &JournalHeader) -> Result<Self, JournalError> {
        // A directory that cannot be made or written to is what `bootstrap::check_recordable`
        // reports too, in the same words: a new session is refused here before it starts.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let unwritable = |source| JournalError::Unwritable {
            path: dir.unwrap_or(path).to_path_buf(),
            source,
        };
        if let Some(dir) = dir {
            private::create_dir_all(dir).map_err(unwritable)?;
        }
        let mut file = private::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => JournalError::Exists {
                    path: path.to_path_buf(),
                },
                _ => unwritable(e),
            })?;
        let lock = take_lock(path, None)?;
        let line = encode(path, header)?;
        if let Err(e) = file.write_all(&line) {
            // A journal without its header would only be listed as damaged.
            let _ = std::fs::remove_file(path);
            return Err(JournalError::io(path, e));
        }
        // Written, not yet fsynced: the first boundary's fsync takes it.
        let mut sink = Sink::new(path, lock, file, 0);
        sink.unsynced = true;
        Ok(sink)
    }

    fn append(path: &Path) -> Result<Self, JournalError> {
        let journal = read_journal(path)?;
        let lock = take_lock(path, Some(&journal.header.session))?;
        let io = |e| JournalError::io(path, e);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        file.set_len(journal.valid_len).map_err(io)?;
        let mut needs_newline = false;
        if journal.valid_len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(journal.valid_len - 1))
                .map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            needs_newline = last[0] != b'\n';
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        if needs_newline {
            file.write_all(b"\n").map_err(io)?;
        }
        file.sync_data().map_err(io)?;
        Ok(Sink::new(path, lock, file, 1))
    }

    fn new(path: &Path, lock: lock::JournalLock, file: std::fs::File, syncs: u64) -> Self {
        Sink {
            path: path.to_path_buf(),
            lock,
            out: BufWriter::new(Shared(Arc::new(file))),
            report: WriterReport {
                path: path.to_path_buf(),
                syncs,
                ..WriterReport::default()
            },
            unsynced: false,
        }
    }

    /// Append `event` to the buffer (written out when it fills, or at [`Sink::flush`]).
    fn write(&mut self, event: &Event) -> Result<(), JournalError> {
        let line = encode(&self.path, event)?;
        self.out
            .write_all(&line)
            .map_err(|e| JournalError::io(&self.path, e))?;
        self.report.lines += 1;
        self.unsynced = true;
        Ok(())
    }

    /// Hand what is buffered to the OS: one `write(2)` to the page cache, which returns in
    /// microseconds, so it is made on the session's thread.
    fn flush(&mut self) -> Result<(), JournalError> {
        self.out
            .flush()
            .map_err(|e| JournalError::io(&self.path, e))
    }

    /// `sync_data`, which waits for the disk: on tokio's blocking pool.
    async fn sync(&mut self) -> Result<(), JournalError> {
        let file = Arc::clone(&self.out.get_ref().0);
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(std::io::Error::other)
            .and_then(|synced| synced)
            .map_err(|e| JournalError::io(&self.path, e))?;
        self.report.syncs += 1;
        self.unsynced = false;
        Ok(())
    }
}

/// The journal file, shared with the blocking-pool task that fsyncs it.
struct Shared(Arc<std::fs::File>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

/// One JSON line, newline included, so a line is always handed to the OS whole.
pub(crate) fn encode<T: serde::Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, JournalError> {
    let mut line = serde_json::to_vec(value).map_err(|source| JournalError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    line.push(b'\n');
    Ok(line)
}
