//! Whether a session is still being written: the writer keeps `<id>.lock` next to the journal,
//! holding its process id, and removes it when it ends cleanly. A lock whose process is gone
//! (killed, crashed) means the session was interrupted.
//!
//! Liveness is checked through `/proc` on Linux; elsewhere a lock is taken at its word.

use std::path::{Path, PathBuf};

/// The lock file of the journal at `journal`.
pub fn lock_path(journal: &Path) -> PathBuf {
    journal.with_extension("lock")
}

/// The id of the live process writing `journal`, if any.
pub fn running_pid(journal: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(lock_path(journal)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_alive(pid).then_some(pid)
}

/// Write the lock of `journal` for this process.
pub(crate) fn create(journal: &Path) -> std::io::Result<()> {
    std::fs::write(lock_path(journal), format!("{}\n", std::process::id()))
}

/// Remove the lock of `journal`, if there is one.
pub(crate) fn remove(journal: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(lock_path(journal)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn is_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_lock_is_running_and_removal_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s.jsonl");
        assert_eq!(running_pid(&journal), None);
        create(&journal).unwrap();
        assert_eq!(running_pid(&journal), Some(std::process::id()));
        remove(&journal).unwrap();
        assert_eq!(running_pid(&journal), None);
        remove(&journal).unwrap();
    }

    #[test]
    fn a_lock_of_a_dead_process_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s.jsonl");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        std::fs::write(lock_path(&journal), format!("{pid}\n")).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(running_pid(&journal), None);
        }
    }
}
