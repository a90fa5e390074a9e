//! Loading: which file, reading it, checking it, and turning findings into located diagnostics.
//!
//! Load order: `--config FILE`, then `$CONCLAVE_CONFIG`, then `<config dir>/config.toml`, else the
//! embedded default (built from the environment only, so loading never waits on the network; the
//! console re-detects Ollama in the background). Checking runs the structural pass (syntax, keys,
//! types) and then the semantic rules, and reports every problem with file, line and column.
//!
//! A file that defines no teams, agents or backends (only `[ui]` or `[keys]`, say) keeps the
//! embedded default's backends, agents and teams, so setting a theme never leaves the console
//! without a team; a file that defines any of them uses only its own.

use std::path::{Path, PathBuf};

use super::defaults;
use super::detect;
use super::diag::{ConfigError, Diagnostic, Severity};
use super::paths;
use super::schema::Config;
use super::spans;
use super::structure;
use super::validate::{self, Finding};

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
    /// The file defines no teams, agents or backends: the built-in ones are used.
    pub builtin_cast: bool,
}

/// Everything `check` needs: what could be read and every problem, sorted by position.
#[derive(Clone, Debug)]
pub struct Report {
    /// The config, when there are no errors (warnings allowed).
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    /// The file defines no teams, agents or backends: the built-in ones are used.
    pub builtin_cast: bool,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
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

/// Load the configuration following the load order; with no file, the embedded default for the
/// backend the environment points to (`detect::detect_env`).
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    match config_path(explicit) {
        Some(path) => load_file(&path),
        None => Ok(Loaded {
            config: defaults::embedded(&detect::detect_env()),
            source: Source::Embedded,
            warnings: Vec::new(),
            builtin_cast: true,
        }),
    }
}

/// The largest config file read: 1 MiB, a hundred times the size of a large real one. Past it
/// the file is refused at once with its size, so a stray multi-megabyte file cannot make
/// `check` or the console spin.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Read and check one file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = read_text(path)?;
    parse_str(&text, path)
}

/// The text of a config file: at most [`MAX_CONFIG_BYTES`], UTF-8 and free of NUL bytes. A file
/// that is too big or not text is refused with a located diagnostic (the line of the first bad
/// byte), a file that cannot be read with the IO error.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    let refuse = |text: &str, offset: usize, message: String, hint: &str| {
        let (line, column) = line_col(text, offset);
        ConfigError::Invalid {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: path.to_path_buf(),
                line,
                column,
                path: String::new(),
                message,
                hint: Some(hint.to_string()),
            }],
        }
    };
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(refuse(
            "",
            0,
            "the file is larger than 1 MiB, the most a config file may be".to_string(),
            "is this the right file? a config file is a few kilobytes of TOML",
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let bad = e.as_bytes().get(good).copied().unwrap_or(0);
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
            return Err(refuse(
                &prefix,
                good,
                format!("the file is not UTF-8 text: byte 0x{bad:02x} at offset {good}"),
                "a config file is TOML text saved as UTF-8; is this a binary file?",
            ));
        }
    };
    if let Some(nul) = text.find('\0') {
        return Err(refuse(
            &text,
            nul,
            format!("the file holds a NUL byte (offset {nul}), so it is not text"),
            "a config file is TOML text saved as UTF-8; is this a binary file?",
        ));
    }
    Ok(text)
}

/// Check configuration text; `origin` names the file in diagnostics. Errors carry every
/// diagnostic (warnings included); a success carries the warnings.
pub fn parse_str(text: &str, origin: &Path) -> Result<Loaded, ConfigError> {
    let report = diagnose(text, origin);
    match report.config {
        Some(config) => Ok(Loaded {
            config,
            source: Source::File(origin.to_path_buf()),
            warnings: report.diagnostics,
            builtin_cast: report.builtin_cast,
        }),
        None => Err(ConfigError::Invalid {
            diagnostics: report.diagnostics,
        }),
    }
}

/// Run every check on `text` and locate each finding.
pub fn diagnose(text: &str, origin: &Path) -> Report {
    let mut read = structure::read(text);
    let builtin_cast = defines_no_cast(&read.config) && !broke_a_cast_section(&read.broken);
    if builtin_cast {
        adopt_builtin_cast(&mut read.config, &detect::detect_env());
    }
    read.config.derive_members();
    read.config.derive_a2a_backends();
    let lines = Lines::new(text);
    let mut located: Vec<Diagnostic> = read
        .findings
        .iter()
        .map(|(f, span)| {
            let offset = span.as_ref().map(|s| s.start);
            to_diagnostic(f, &lines, offset, origin)
        })
        .collect();
    for (section, name) in &read.broken.entries {
        let key = spans::KeyPath::of(&[section.as_str(), name.as_str()]);
        // Only a key that is really there: a backend that could not be read at all must not
        // be warned about a key it does not have.
        if section == "backends"
            && let Some(span) = spans::exact_span(&read.doc, &key.key("api_key"), spans::Part::Key)
        {
            let f = validate::backends::inline_key_warning(&key);
            located.push(to_diagnostic(&f, &lines, Some(span.start), origin));
        }
    }
    let mut semantic = validate::validate_with(&read.config, &read.broken);
    if !read.broken.unreadable {
        let themes = paths::config_dir().join("themes");
        semantic.extend(validate::files::check_files(&read.config, &themes));
    }
    let mut semantic: Vec<&Finding> = semantic
        .iter()
        .filter(|f| !read.broken.echoes(&f.path))
        .collect();
    let dropped = semantic.split_off(semantic.len().min(structure::MAX_PROBLEMS));
    for f in semantic {
        let offset = spans::span_of(&read.doc, &f.path, f.part).map(|s| s.start);
        located.push(to_diagnostic(f, &lines, offset, origin));
    }
    if !dropped.is_empty() {
        // Only as grave as the worst of what it stands for: unlisted warnings fail nothing.
        let mut f = Finding::warning(
            spans::KeyPath::root(),
            spans::Part::Key,
            format!(
                "too many problems: only the first {} are listed",
                structure::MAX_PROBLEMS
            ),
        )
        .hint("fix these and run `conclave check` again");
        if dropped.iter().any(|d| d.severity == Severity::Error) {
            f.severity = Severity::Error;
        }
        located.push(to_diagnostic(&f, &lines, None, origin));
    }
    located.sort_by_key(|d| (d.line, d.column));
    let clean = !located.iter().any(|d| d.severity == Severity::Error);
    Report {
        config: clean.then_some(read.config),
        diagnostics: located,
        builtin_cast,
    }
}

/// Whether `config` defines no teams, agents or backends of its own.
pub fn defines_no_cast(config: &Config) -> bool {
    config.teams.is_empty() && config.agents.is_empty() && config.backends.is_empty()
}

/// Give `config` the embedded default's backends, agents and teams (and its default team when
/// the file names none), keeping everything else the file set.
pub fn adopt_builtin_cast(config: &mut Config, detected: &detect::Detected) {
    let builtin = defaults::embedded(detected);
    config.backends = builtin.backends;
    config.agents = builtin.agents;
    config.teams = builtin.teams;
    for (name, server) in builtin.mcp {
        config.mcp.entry(name).or_insert(server);
    }
    if config.ui.default_team.is_none() {
        config.ui.default_team = builtin.ui.default_team;
    }
}

/// Diagnostics for a config that has no text (the embedded default), located at `origin:1:1`.
pub fn diagnose_config(config: &Config, origin: &Path) -> Vec<Diagnostic> {
    let lines = Lines::new("");
    validate::validate(config)
        .iter()
        .map(|f| to_diagnostic(f, &lines, None, origin))
        .collect()
}

/// Whether the file tried to define teams, agents or backends and got them wrong: then its own
/// errors are reported rather than the built-in cast hiding them.
fn broke_a_cast_section(broken: &structure::Broken) -> bool {
    const CAST: [&str; 3] = ["teams", "agents", "backends"];
    broken.sections.iter().any(|s| CAST.contains(&s.as_str()))
        || broken
            .entries
            .iter()
            .any(|(s, _)| CAST.contains(&s.as_str()))
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, column)
}

/// Where each line starts, so that locating a finding costs a binary search and not a scan of
/// the whole text (thousands of findings in a large file stay linear).
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// Like [`line_col`].
    fn locate(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |l| l.chars().count() + 1);
        (line, column)
    }
}

fn to_diagnostic(
    f: &Finding,
    lines: &Lines<'_>,
    offset: Option<usize>,
    origin: &Path,
) -> Diagnostic {
    let (line, column) = offset.map(|o| lines.locate(o)).unwrap_or((1, 1));
    Diagnostic {
        severity: f.severity,
        file: origin.to_path_buf(),
        line,
        column,
        path: f.path.to_string(),
        message: f.message.clone(),
        hint: f.hint.clone(),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
