//! Whether a session is still being written: the writer holds an advisory OS lock (`flock`) on
//! `<id>.lock` next to the journal for its whole life, with its process id written inside for
//! messages. The OS drops the lock when the process dies however it dies (SIGKILL, crash, power
//! cut of the process), so "is it running" is simply "is the lock taken": a stale file left by a
//! dead writer, or a pid since reused by another program, never blocks a resume.
//!
//! A clean end removes the file. Taking the lock checks that the locked file is still the one at
//! the path (a writer ending at that moment unlinks it), and retries briefly when a probe holds
//! it for an instant. Outside Unix there is no `flock` on our toolchain: the file is created
//! atomically and an existing one is taken at its word (delete it if no conclave runs).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file of the journal at `journal`.
pub fn lock_path(journal: &Path) -> PathBuf {
    journal.with_extension("lock")
}

/// The id of the live process writing `journal`, if any (this process included).
pub fn running_pid(journal: &Path) -> Option<u32> {
    let path = lock_path(journal);
    let file = File::open(&path).ok()?;
    match sys::try_lock(&file, false) {
        Ok(true) => None,
        Ok(false) => Some(read_pid(&path).unwrap_or(0)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot probe a journal lock");
            None
        }
    }
}

/// The lock on one journal, held until dropped or released.
#[derive(Debug)]
pub struct JournalLock {
    file: File,
    path: PathBuf,
}

/// Why the lock of a journal could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("held by process {pid}")]
    Held { pid: u32 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Take the lock of `journal` for this process, or say which process holds it.
pub fn acquire(journal: &Path) -> Result<JournalLock, LockError> {
    let path = lock_path(journal);
    let mut last_holder = 0;
    for _ in 0..ATTEMPTS {
        let mut file = match sys::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(LockError::Held {
                    pid: read_pid(&path).unwrap_or(0),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if !sys::try_lock(&file, true)? {
            last_holder = read_pid(&path).unwrap_or(0);
            std::thread::sleep(RETRY_PAUSE);
            continue;
        }
        if !sys::still_at(&file, &path) {
            continue;
        }
        file.set_len(0)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
        file.flush()?;
        return Ok(JournalLock { file, path });
    }
    Err(LockError::Held { pid: last_holder })
}

impl JournalLock {
    /// Remove the lock file and let the lock go, reporting a failure to remove it.
    pub fn release(self) -> std::io::Result<()> {
        let result = self.remove();
        drop(self);
        result
    }

    fn remove(&self) -> std::io::Result<()> {
        if !sys::still_at(&self.file, &self.path) {
            return Ok(());
        }
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a journal lock");
        }
    }
}

const ATTEMPTS: usize = 50;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(unix)]
mod sys {
    use std::fs::File;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    pub fn open(path: &Path) -> std::io::Result<File> {
        crate::store::private::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }

    /// `Ok(false)` when another open file holds a conflicting lock.
    pub fn try_lock(file: &File, exclusive: bool) -> std::io::Result<bool> {
        let mode = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        loop {
            // SAFETY: the descriptor belongs to `file`, open for this whole call; flock reads
            // no memory of ours.
            let rc = unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(true);
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => return Ok(false),
                Some(libc::EINTR) => continue,
                _ => return Err(err),
            }
        }
    }

    /// Whether `path` still names the file `file` has open.
    pub fn still_at(file: &File, path: &Path) -> bool {
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}

#[cfg(not(unix))]
mod sys {
    use std::fs::File;
    use std::path::Path;

    pub fn open(path: &Path) -> std::io::Result<File> {
        crate::store::private::options()
            .write(true)
            .create_new(true)
            .open(path)
    }

    /// Without `flock`, an existing lock file is held by whoever wrote it.
    pub fn try_lock(_file: &File, exclusive: bool) -> std::io::Result<bool> {
        Ok(exclusive)
    }

    pub fn still_at(_file: &File, path: &Path) -> bool {
        path.exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn own_lock_is_running_and_release_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s.jsonl");
        assert_eq!(running_pid(&journal), None);
        let lock = acquire(&journal).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(lock_path(&journal))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, crate::store::private::FILE_MODE, "private");
        }
        assert_eq!(running_pid(&journal), Some(std::process::id()));
        assert!(
            matches!(acquire(&journal), Err(LockError::Held { pid }) if pid == std::process::id())
        );
        lock.release().unwrap();
        assert!(!lock_path(&journal).exists());
        assert_eq!(running_pid(&journal), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_lock_file_naming_a_live_pid_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s.jsonl");
        // pid 1 is always alive: a reused pid must not make a stale file look held.
        std::fs::write(lock_path(&journal), "1\n").unwrap();
        assert_eq!(running_pid(&journal), None);
        let lock = acquire(&journal).unwrap();
        assert_eq!(read_pid(&lock_path(&journal)), Some(std::process::id()));
        drop(lock);
        assert!(!lock_path(&journal).exists());
    }

    /// Not a test on its own: the child process of `a_lock_held_by_a_live_child_refuses_until_it_is_killed`.
    #[test]
    #[ignore = "run by a test as its lock-holding child process"]
    fn hold_lock_as_child() {
        let journal = PathBuf::from(std::env::var_os("CONCLAVE_TEST_LOCK").unwrap());
        let _lock = acquire(&journal).unwrap();
        println!("locked");
        std::thread::sleep(std::time::Duration::from_secs(300));
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_held_by_a_live_child_refuses_until_it_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s.jsonl");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "--nocapture",
                "store::lock::tests::hold_lock_as_child",
            ])
            .env("CONCLAVE_TEST_LOCK", &journal)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let locked = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("locked"));
        assert!(locked, "the child never took the lock");
        let pid = child.id();
        assert_eq!(running_pid(&journal), Some(pid));
        assert!(matches!(acquire(&journal), Err(LockError::Held { pid: p }) if p == pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            lock_path(&journal).exists(),
            "SIGKILL leaves the file behind"
        );
        assert_eq!(running_pid(&journal), None);
        let lock = acquire(&journal).unwrap();
        assert_eq!(read_pid(&lock_path(&journal)), Some(std::process::id()));
        lock.release().unwrap();
    }
}
