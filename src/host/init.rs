//! `conclave init`: write the commented example config (config.example.toml, embedded at build
//! time) where `load` would read it: `--config FILE`, then `$CONCLAVE_CONFIG`, then the config
//! dir. An existing file is only replaced with `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Exit;
use crate::config::paths;

/// The text `init` writes: the repository's config.example.toml.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; run `conclave init --force` to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Run `init` (`force`: replace an existing file) and say how it ended.
pub fn run(explicit: Option<&Path>, force: bool) -> Exit {
    let path = crate::config::load::config_path(explicit).unwrap_or_else(paths::config_file);
    match write_config(&path, force) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "wrote the example config");
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "wrote {}\nedit it, then run `conclave check` to validate it",
                path.display()
            );
            Exit::Ok
        }
        Err(e) => {
            tracing::warn!(error = %e, "init wrote nothing");
            let _ = writeln!(std::io::stderr().lock(), "conclave init: {e}");
            match e {
                InitError::Exists { .. } => Exit::Usage,
                InitError::Io { .. } => Exit::Failed,
            }
        }
    }
}

/// Write [`EXAMPLE_CONFIG`] to `path`, creating its directory; refuse to replace an existing file
/// unless `force`.
pub fn write_config(path: &Path, force: bool) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(InitError::Exists {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io(e)),
    };
    file.write_all(EXAMPLE_CONFIG.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_refuses_then_overwrites_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/conclave/config.toml");
        write_config(&path, false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), EXAMPLE_CONFIG);

        std::fs::write(&path, "# mine").unwrap();
        let err = write_config(&path, false).unwrap_err();
        assert!(matches!(err, InitError::Exists { .. }));
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine");

        write_config(&path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), EXAMPLE_CONFIG);
    }

    #[test]
    fn unwritable_place_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = write_config(&blocker.join("config.toml"), false).unwrap_err();
        assert!(matches!(err, InitError::Io { .. }), "{err}");
    }
}
