//! Where conclave keeps things: the config dir (config.toml, themes/) and the data dir (session
//! journals, the log file), from `directories::ProjectDirs`, with `CONCLAVE_DATA_DIR` overriding
//! the data dir. When the platform has no home directory, both fall back to `./.conclave`.

use std::path::PathBuf;

/// Environment variable naming a config file to load (after `--config`).
pub const ENV_CONFIG: &str = "CONCLAVE_CONFIG";
/// Environment variable overriding the data dir.
pub const ENV_DATA_DIR: &str = "CONCLAVE_DATA_DIR";
/// Environment variable with the log level filter (`info`, `conclave=debug`, …).
pub const ENV_LOG: &str = "CONCLAVE_LOG";

/// The directory holding `config.toml` and user `themes/`.
pub fn config_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(fallback_dir)
}

/// `<config dir>/config.toml`.
pub fn config_file() -> PathBuf {
    config_dir().join("config.toml")
}

/// The directory holding session journals (`sessions/`) and `conclave.log`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(ENV_DATA_DIR).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(fallback_dir)
}

/// `<data dir>/sessions`, one `<id>.jsonl` journal per session.
pub fn sessions_dir() -> PathBuf {
    data_dir().join("sessions")
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "conclave")
}

fn fallback_dir() -> PathBuf {
    PathBuf::from(".conclave")
}
