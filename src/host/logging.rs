//! Logging: `tracing` events go to `<data dir>/conclave.log`, never to the terminal (the console
//! owns it). The level comes from `CONCLAVE_LOG` (an `EnvFilter` such as `debug` or
//! `conclave=trace`), `info` when unset or unreadable. If the file cannot be opened, logging is
//! off: a log must never stop the program. A new log is created `0600` (it can quote
//! conversations), like the journals.
//!
//! Two writers, by how much there is to write. At the default `info` level a session logs a few
//! lines, most runs none: each line is one `write(2)` appended to the file, which is opened (and
//! the data dir made) on the first line only, so a run that logs nothing pays for no file, no
//! thread and no queue. A level chosen with `CONCLAVE_LOG` can log on every token: those lines
//! go through tracing-appender's queue to a thread of their own, so the program never waits on
//! the disk.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::paths;

/// The log file's name inside the data dir.
pub const LOG_FILE: &str = "conclave.log";

/// Keep it alive until exit: dropping it writes out what a queued log still holds.
pub enum LogGuard {
    /// The default level: every line was written when it was logged.
    Direct,
    /// A chosen level: the queue's thread, flushed on drop.
    Queued(WorkerGuard),
}

/// Start logging to the file.
pub fn init() -> Option<LogGuard> {
    let path = paths::data_dir().join(LOG_FILE);
    match EnvFilter::try_from_env(paths::ENV_LOG) {
        Ok(filter) => {
            let (writer, guard) = tracing_appender::non_blocking(open(&path)?);
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(writer)
                .with_ansi(false)
                .try_init()
                .ok()?;
            Some(LogGuard::Queued(guard))
        }
        Err(_) => {
            tracing_subscriber::fmt()
                .with_max_level(LevelFilter::INFO)
                .with_writer(OnFirstLine {
                    path,
                    file: OnceLock::new(),
                })
                .with_ansi(false)
                .try_init()
                .ok()?;
            Some(LogGuard::Direct)
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Open (create `0600`) the log for appending, making the data dir first.
fn open(path: &std::path::Path) -> Option<File> {
    if let Some(dir) = path.parent() {
        crate::store::private::create_dir_all(dir).ok()?;
    }
    crate::store::private::options()
        .create(true)
        .append(true)
        .open(path)
        .ok()
}

/// The log file, opened when the first line is written (`None` inside once it could not be).
struct OnFirstLine {
    path: PathBuf,
    file: OnceLock<Option<File>>,
}

impl<'a> MakeWriter<'a> for OnFirstLine {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(self)
    }
}

/// One formatted line: tracing-subscriber hands it over whole (`write_all`), and the file is in
/// append mode, so lines from two threads never interleave.
struct Line<'a>(&'a OnFirstLine);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let log = self.0;
        match log.file.get_or_init(|| open(&log.path)) {
            Some(file) => (&*file).write(buf),
            // Logging is off: the line is dropped, the program goes on.
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_made_on_the_first_line_and_lines_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(LOG_FILE);
        let log = OnFirstLine {
            path: path.clone(),
            file: OnceLock::new(),
        };
        assert!(!path.exists(), "nothing logged, no file");
        log.make_writer().write_all(b"one\n").unwrap();
        log.make_writer().write_all(b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_log_that_cannot_be_opened_drops_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let log = OnFirstLine {
            path: blocker.join("data").join(LOG_FILE),
            file: OnceLock::new(),
        };
        log.make_writer().write_all(b"lost\n").unwrap();
        assert!(matches!(log.file.get(), Some(None)));
    }
}
