//! Logging: `tracing` events go to `<data dir>/conclave.log`, never to the terminal (the console
//! owns it). The level comes from `CONCLAVE_LOG` (an `EnvFilter` such as `debug` or
//! `conclave=trace`), `info` when unset or unreadable. If the file cannot be opened, logging is
//! off: a log must never stop the program. A new log is created `0600` (it can quote
//! conversations), like the journals.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::paths;

/// The log file's name inside the data dir.
pub const LOG_FILE: &str = "conclave.log";

/// Lines the log's queue holds at the default level (see [`init`]).
const QUIET_LOG_LINES: usize = 4096;

/// Start logging to the file. Keep the guard alive until exit: dropping it flushes the log.
pub fn init() -> Option<WorkerGuard> {
    let dir = paths::data_dir();
    crate::store::private::create_dir_all(&dir).ok()?;
    let file = crate::store::private::options()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))
        .ok()?;
    let chosen = EnvFilter::try_from_env(paths::ENV_LOG);
    // The writer's queue is allocated (and touched) whole up front: tracing-appender's default of
    // 128,000 lines is ~1,000 page faults, most of a short run's start-up. The default `info` log
    // writes a few lines a session; a chosen level (`debug`, `trace`) keeps the large queue.
    let lines = if chosen.is_ok() {
        tracing_appender::non_blocking::DEFAULT_BUFFERED_LINES_LIMIT
    } else {
        QUIET_LOG_LINES
    };
    let filter = chosen.or_else(|_| EnvFilter::try_new("info")).ok()?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(lines)
        .finish(file);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
