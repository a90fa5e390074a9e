//! `conclave check`: say which configuration is checked, print every diagnostic (warnings too)
//! as `file:line:col: …`, then a summary line. `Exit::Usage` when there are errors, `Ok` otherwise.
//!
//! Validation is the first step of `check`; [`validate`] hands a valid config back so that
//! further steps can work on it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Exit;
use crate::config::diag::{ConfigError, Diagnostic};
use crate::config::schema::Config;
use crate::config::{defaults, detect, load, paths};

/// Run `check` and return its exit code: validation, then (unless `offline`) every backend is
/// reached and its models listed. `Usage` for an invalid config, `Failed` when a backend fails.
pub fn run(explicit: Option<&Path>, offline: bool) -> Exit {
    let mut out = std::io::stdout().lock();
    let config = match validate(explicit, &mut out) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    if offline {
        return Exit::Ok;
    }
    let backends = report_backends(&config, &mut out);
    let tools = super::check_tools::report_tools(&config, &mut out);
    if backends == Exit::Ok {
        tools
    } else {
        backends
    }
}

/// Reach every backend at once and print one block per backend: `ok …: N models: …` or
/// `FAIL …` with the classified error and what to do. `Failed` when any backend fails.
pub fn report_backends(config: &Config, out: &mut dyn Write) -> Exit {
    if config.backends.is_empty() {
        let _ = writeln!(out, "no backends configured");
        return Exit::Ok;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(out, "conclave check: cannot start the async runtime: {e}");
            return Exit::Failed;
        }
    };
    let reports = runtime.block_on(futures_util::future::join_all(
        config
            .backends
            .iter()
            .map(|(name, cfg)| check_and_probe(config, name, cfg)),
    ));
    let mut failed = 0;
    for report in &reports {
        failed += usize::from(report.result.is_err());
        let _ = writeln!(out, "{report}");
    }
    let _ = writeln!(
        out,
        "{} of {} backends reachable",
        reports.len() - failed,
        reports.len()
    );
    if failed == 0 { Exit::Ok } else { Exit::Failed }
}

/// List `[backends.name]`'s models, then probe it once for forced tool calls with the model of
/// the first agent using it (else the first model it lists). Scripted backends are not probed.
async fn check_and_probe(
    config: &Config,
    name: &str,
    cfg: &crate::config::BackendConfig,
) -> crate::llm::BackendReport {
    let mut report = crate::llm::check_backend(name, cfg).await;
    if cfg.kind == crate::config::BackendKind::Scripted {
        return report;
    }
    let listed = report.result.as_ref().ok().and_then(|m| m.first().cloned());
    let model = config
        .agents
        .values()
        .find(|a| a.backend == name)
        .map(|a| a.model.clone())
        .or(listed);
    if let (Ok(_), Some(model)) = (&report.result, model) {
        report.tool_form = Some(crate::llm::probe_tool_form(name, cfg, &model).await);
    }
    report
}

/// Validate the configuration `load` would use, printing what was checked and every problem.
/// A valid config comes back (warnings allowed); otherwise `Exit::Usage`.
pub fn validate(explicit: Option<&Path>, out: &mut dyn Write) -> Result<Config, Exit> {
    let mut note = None;
    let (label, config, diagnostics) = match load::config_path(explicit) {
        Some(path) => {
            tracing::info!(path = %path.display(), "checking config file");
            let text = match load::read_text(&path) {
                Ok(t) => t,
                Err(ConfigError::Invalid { diagnostics }) => {
                    let _ = writeln!(out, "checking {}", path.display());
                    for d in &diagnostics {
                        let _ = writeln!(out, "{d}");
                    }
                    let label = path.display().to_string();
                    let _ = writeln!(out, "{}", summary(&label, &diagnostics));
                    return Err(Exit::Usage);
                }
                Err(e) => {
                    let _ = writeln!(out, "conclave check: {e}");
                    return Err(Exit::Usage);
                }
            };
            let _ = writeln!(out, "checking {}", path.display());
            let report = load::diagnose(&text, &path);
            let mut diagnostics = report.diagnostics;
            let mut config = report.config;
            if let Some(c) = &config {
                diagnostics.extend(key_warnings(c, &text, &path));
                let themes =
                    theme_diagnostics(c, &text, &path, &paths::config_dir().join("themes"));
                diagnostics.extend(themes);
                diagnostics.extend(script_diagnostics(c, &text, &path));
                if report.builtin_cast {
                    note = Some(builtin_cast_note(&path, c));
                }
            }
            if diagnostics
                .iter()
                .any(|d| d.severity == crate::config::Severity::Error)
            {
                config = None;
            }
            (path.display().to_string(), config, diagnostics)
        }
        None => {
            let detected = detect_now();
            tracing::info!(backend = %detected.describe(), "no config file; checking the built-in default");
            let _ = writeln!(
                out,
                "no config file found (looked for {}); checking the built-in default for {}",
                paths::config_file().display(),
                detected.describe()
            );
            let config = defaults::embedded(&detected);
            let diagnostics = load::diagnose_config(&config, &PathBuf::from("<built-in>"));
            let ok = diagnostics.is_empty();
            (
                "the built-in default".to_string(),
                ok.then_some(config),
                diagnostics,
            )
        }
    };
    for d in &diagnostics {
        let _ = writeln!(out, "{d}");
    }
    if let Some(note) = note {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(out, "{}", summary(&label, &diagnostics));
    config.ok_or(Exit::Usage)
}

/// The console's key binding warnings (`tui::validate_keys`) as diagnostics, each placed on the
/// first line of `text` that names the offending context or action.
pub fn key_warnings(config: &Config, text: &str, file: &Path) -> Vec<Diagnostic> {
    // Each one is placed by a scan of the text: only as many as the config's own problems.
    let limit = crate::config::structure::MAX_PROBLEMS;
    let warnings = crate::tui::validate_keys(config);
    let more = warnings.len().saturating_sub(limit);
    let mut out: Vec<Diagnostic> = warnings
        .into_iter()
        .take(limit)
        .map(|message| {
            let (path, rest) = message.split_once(": ").unwrap_or(("keys", &message));
            let name = path.rsplit('.').next().unwrap_or(path);
            let line = text
                .lines()
                .position(|l| l.contains(name))
                .map_or(1, |i| i + 1);
            Diagnostic {
                severity: crate::config::Severity::Warning,
                file: file.to_path_buf(),
                line,
                column: 1,
                path: path.to_string(),
                message: rest.to_string(),
                hint: None,
            }
        })
        .collect();
    if more > 0 {
        out.push(Diagnostic {
            severity: crate::config::Severity::Warning,
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            path: "keys".into(),
            message: format!("{more} more key binding warnings are not listed"),
            hint: None,
        });
    }
    out
}

/// Bad keys inside a user theme file in `themes_dir` are warnings (that `ui.theme` names a theme
/// at all is checked with the rest of the config, so `run` and the console refuse it too).
pub fn theme_diagnostics(
    config: &Config,
    text: &str,
    file: &Path,
    themes_dir: &Path,
) -> Vec<Diagnostic> {
    use crate::tui::theme::Theme;
    let Some(name) = config.ui.theme.as_deref() else {
        return Vec::new();
    };
    if crate::config::validate::files::is_builtin_theme(name)
        || !themes_dir.join(format!("{name}.toml")).is_file()
    {
        return Vec::new();
    }
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("theme"))
        .map_or(1, |i| i + 1);
    let (_, warnings) = Theme::load_from(Some(name), themes_dir);
    warnings
        .into_iter()
        .map(|message| Diagnostic {
            severity: crate::config::Severity::Warning,
            file: file.to_path_buf(),
            line,
            column: 1,
            path: "ui.theme".into(),
            message,
            hint: None,
        })
        .collect()
}

/// Each scripted backend's script, read and parsed the way `run` reads it (nothing is
/// reached, so `--offline` checks it too); a script `run` would refuse is an error at `script`.
pub fn script_diagnostics(config: &Config, text: &str, file: &Path) -> Vec<Diagnostic> {
    use crate::config::schema::BackendKind;
    use crate::config::spans::{self, KeyPath, Part};
    let doc = toml::de::DeTable::parse(text).ok();
    config
        .backends
        .iter()
        .filter(|(_, b)| b.kind == BackendKind::Scripted && b.script.is_some())
        .filter_map(|(name, b)| Some((name, crate::llm::build_provider(name, b).err()?)))
        .map(|(name, e)| {
            let path = KeyPath::of(&["backends", name, "script"]);
            let (line, column) = doc
                .as_ref()
                .and_then(|d| spans::span_of(d.get_ref(), &path, Part::Value))
                .map_or((1, 1), |s| load::line_col(text, s.start));
            Diagnostic {
                severity: crate::config::Severity::Error,
                file: file.to_path_buf(),
                line,
                column,
                path: path.to_string(),
                message: e.message,
                hint: e.hint,
            }
        })
        .collect()
}

/// The note for a file that defines no teams, agents or backends of its own.
fn builtin_cast_note(path: &Path, config: &Config) -> String {
    let teams: Vec<&str> = config.teams.keys().map(String::as_str).collect();
    format!(
        "note: {} defines no teams, agents or backends, so the built-in ones are used (teams: {})",
        path.display(),
        teams.join(", ")
    )
}

/// `config.toml: 2 errors, 1 warning` or `config.toml: valid, no warnings`.
pub fn summary(label: &str, diagnostics: &[Diagnostic]) -> String {
    use crate::config::Severity;
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        format!("{label}: valid, no warnings")
    } else if errors == 0 {
        format!("{label}: valid, {}", plural(warnings, "warning"))
    } else {
        format!(
            "{label}: {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Probe for a backend the way the console does; without a runtime, environment variables only.
fn detect_now() -> detect::Detected {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(detect::detect()),
        Err(_) => detect::detect_env(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;

    fn diag(severity: Severity) -> Diagnostic {
        Diagnostic {
            severity,
            file: PathBuf::from("c.toml"),
            line: 1,
            column: 1,
            path: String::new(),
            message: "m".into(),
            hint: None,
        }
    }

    #[test]
    fn summary_lines() {
        assert_eq!(summary("c.toml", &[]), "c.toml: valid, no warnings");
        assert_eq!(
            summary("c.toml", &[diag(Severity::Warning)]),
            "c.toml: valid, 1 warning"
        );
        assert_eq!(
            summary(
                "c.toml",
                &[
                    diag(Severity::Error),
                    diag(Severity::Error),
                    diag(Severity::Warning)
                ]
            ),
            "c.toml: 2 errors, 1 warning"
        );
    }

    #[test]
    fn key_binding_problems_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let text = format!(
            "{}\n[keys.global]\nfly_away = \"ctrl+x\"\n[keys.nowhere]\nquit = \"ctrl+q\"\n",
            crate::host::init::EXAMPLE_CONFIG
        );
        std::fs::write(&path, &text).unwrap();
        let mut out = Vec::new();
        assert!(validate(Some(&path), &mut out).is_ok());
        let out = String::from_utf8(out).unwrap();
        let fly = text.lines().position(|l| l.contains("fly_away")).unwrap() + 1;
        assert!(
            out.contains(&format!(
                ":{fly}:1: warning: keys.global.fly_away: unknown action"
            )),
            "{out}"
        );
        assert!(out.contains("keys.nowhere: unknown context"), "{out}");
        assert!(out.contains("valid, 2 warnings"), "{out}");
    }

    #[test]
    fn key_warnings_are_placed_a_bounded_number_of_times() {
        // Each is placed by a scan of the text: 20,000 unknown actions took a minute.
        let limit = crate::config::structure::MAX_PROBLEMS;
        let actions: String = (0..3 * limit)
            .map(|i| format!("action_{i} = \"ctrl+x\"\n"))
            .collect();
        let text = format!("[keys.global]\n{actions}");
        let config = crate::config::structure::read(&text).config;
        let warnings = key_warnings(&config, &text, Path::new("c.toml"));
        assert_eq!(warnings.len(), limit + 1);
        assert_eq!(
            warnings[limit].message,
            format!("{} more key binding warnings are not listed", 2 * limit)
        );
    }

    #[test]
    fn bad_keys_in_a_user_theme_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let themes = dir.path().join("themes");
        std::fs::create_dir_all(&themes).unwrap();
        std::fs::write(themes.join("mine.toml"), "bogus_key = \"red\"\n").unwrap();
        let file = Path::new("c.toml");
        let with = |theme: &str| {
            let mut config = crate::config::defaults::embedded(&detect::Detected {
                kind: detect::DetectedKind::Demo,
            });
            config.ui.theme = Some(theme.into());
            theme_diagnostics(
                &config,
                &format!("[ui]\ntheme = \"{theme}\"\n"),
                file,
                &themes,
            )
        };
        assert_eq!(with("light"), vec![]);
        assert_eq!(with("high-contrast"), vec![]);
        let mine = with("mine");
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0].severity, Severity::Warning);
        assert!(mine[0].message.contains("bogus_key"), "{mine:?}");
    }

    #[test]
    fn the_config_knows_the_console_s_built_in_themes() {
        assert_eq!(
            crate::config::schema::BUILTIN_THEMES,
            crate::tui::theme::BUILTIN
        );
    }

    #[test]
    fn validate_prints_every_problem_and_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[ui]\nmouse = 1\ntheme = 2\n").unwrap();
        let mut out = Vec::new();
        assert_eq!(validate(Some(&path), &mut out).unwrap_err(), Exit::Usage);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(":2:9: error: ui.mouse"), "{text}");
        assert!(text.contains(":3:9: error: ui.theme"), "{text}");
        assert!(text.contains("2 errors"), "{text}");
    }
}
