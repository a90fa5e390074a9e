//! Files that hold whole conversations are private: journals, their lock files, forks and the
//! log are created `0600` and the directories holding them `0700`, whatever the umask (a umask
//! can only take more away). Existing files and directories keep the mode they have.
//!
//! Outside Unix there are no mode bits; these are the plain `std` calls.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// The mode of a new journal, lock file or log.
pub const FILE_MODE: u32 = 0o600;
/// The mode of a new sessions or data directory.
pub const DIR_MODE: u32 = 0o700;

/// `create_dir_all`, every directory it creates `0700`.
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Options that create a file `0600` (set `create`/`create_new` and the access mode on them).
pub fn options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Create (or truncate) `path` as a `0600` file for writing.
pub fn create(path: &Path) -> std::io::Result<File> {
    options().write(true).create(true).truncate(true).open(path)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_directories_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&root.path().join("a")), DIR_MODE);
        assert_eq!(mode(&dir), DIR_MODE);
        let file = dir.join("f");
        create(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
    }
}
