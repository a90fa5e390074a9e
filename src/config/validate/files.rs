//! Rules that look outside the config text: a scripted backend's `script` must be readable and
//! `ui.theme` must name a built-in theme or a file in the themes directory. `run`, the console
//! and `check` all load through these, so what `check` refuses they refuse too.

use std::path::Path;

use super::{Finding, suggest};
use crate::config::schema::{BUILTIN_THEMES, BackendKind, Config};
use crate::config::spans::{KeyPath, Part};

/// Problems with the files `config` names; user themes are looked up in `themes_dir`.
pub fn check_files(config: &Config, themes_dir: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, b) in &config.backends {
        if b.kind != BackendKind::Scripted {
            continue;
        }
        if let Some(script) = &b.script
            && let Err(e) = std::fs::read_to_string(script)
        {
            out.push(
                Finding::error(
                    KeyPath::of(&["backends", name, "script"]),
                    Part::Value,
                    format!("cannot read the script {}: {e}", script.display()),
                )
                .hint("paths are relative to the working directory; leave script out for the built-in demo"),
            );
        }
    }
    if let Some(name) = config.ui.theme.as_deref()
        && !is_builtin_theme(name)
    {
        let user_file = themes_dir.join(format!("{name}.toml"));
        if !user_file.is_file() {
            let hint = match suggest(name, BUILTIN_THEMES) {
                Some(close) => format!("did you mean \"{close}\"?"),
                None => format!(
                    "the built-in themes are {}; a theme of your own goes in {}",
                    BUILTIN_THEMES.join(", "),
                    user_file.display()
                ),
            };
            out.push(
                Finding::error(
                    KeyPath::of(&["ui", "theme"]),
                    Part::Value,
                    format!("no theme named '{name}'"),
                )
                .hint(hint),
            );
        }
    }
    out
}

/// Whether `name` is a built-in theme (`high_contrast` is read as `high-contrast`).
pub fn is_builtin_theme(name: &str) -> bool {
    BUILTIN_THEMES.contains(&name) || name == "high_contrast"
}
