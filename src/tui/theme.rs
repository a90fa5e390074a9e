//! Themes: a flat table of named colours loaded from TOML.
//!
//! Built-ins (`dark`, `light`, `high-contrast`) are embedded from `themes/`; a user theme is
//! `<config dir>/themes/<name>.toml` and is a partial override of `dark`. Unknown keys and bad
//! colours are warnings, never failures. `NO_COLOR` is honoured by the renderer, which strips
//! every colour from the finished frame (see `render::strip_colors`).

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType, Borders};

use crate::config::paths::config_dir;

/// The colours of the console.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Color,
    pub dim: Color,
    pub accent: Color,
    pub border: Color,
    pub border_focused: Color,
    pub speaking: Color,
    pub status_fg: Color,
    pub status_bg: Color,
    pub demo: Color,
    pub error: Color,
    pub warning: Color,
    pub success: Color,
    pub user: Color,
    pub handoff: Color,
    pub heading: Color,
    pub code: Color,
    pub quote: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub popup_bg: Color,
    /// A syntect theme name for code blocks.
    pub syntax_theme: String,
    /// Colours handed to agents that have none in the config, in order.
    pub agents: Vec<Color>,
}

/// The names of the embedded themes.
pub const BUILTIN: [&str; 3] = ["dark", "light", "high-contrast"];

impl Theme {
    /// The default theme.
    pub fn dark() -> Theme {
        let (theme, _) = Theme::from_toml("dark", DARK, None);
        theme
    }

    /// Load the theme called `name` (built-in or a user file); `None` means dark.
    /// Returns the theme and warnings (unknown theme, unknown keys, bad colours).
    pub fn load(name: Option<&str>) -> (Theme, Vec<String>) {
        Theme::load_from(name, &config_dir().join("themes"))
    }

    /// Like [`Theme::load`] with user themes looked up in `user_dir`.
    pub fn load_from(name: Option<&str>, user_dir: &Path) -> (Theme, Vec<String>) {
        let name = name.unwrap_or("dark");
        if let Some(text) = builtin(name) {
            return Theme::from_toml(name, text, None);
        }
        let path = user_dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => Theme::from_toml(name, &text, Some(&path)),
            Err(e) => {
                let mut theme = Theme::dark();
                theme.name = "dark".into();
                let warning = format!(
                    "theme {name:?}: cannot read {}: {e}; using dark (built-ins: {})",
                    path.display(),
                    BUILTIN.join(", ")
                );
                (theme, vec![warning])
            }
        }
    }

    /// Parse theme TOML over the dark defaults. `origin` names the file in warnings.
    pub fn from_toml(name: &str, text: &str, origin: Option<&Path>) -> (Theme, Vec<String>) {
        let origin = origin
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("built-in theme {name}"));
        let mut theme = if name == "dark" && origin.starts_with("built-in") {
            fallback()
        } else {
            Theme::dark()
        };
        theme.name = name.to_string();
        let mut warnings = Vec::new();
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(format!("{origin}: {}; using dark", e.message()));
                return (theme, warnings);
            }
        };
        for (key, value) in &table {
            if let Err(w) = theme.set(key, value) {
                warnings.push(format!("{origin}: {w}"));
            }
        }
        (theme, warnings)
    }

    /// The colour of the `index`-th agent when the config gives none.
    pub fn agent_color(&self, index: usize) -> Color {
        self.agents
            .get(index % self.agents.len().max(1))
            .copied()
            .unwrap_or(self.accent)
    }

    pub fn text_style(&self) -> Style {
        Style::new().fg(self.text)
    }

    pub fn dim_style(&self) -> Style {
        Style::new().fg(self.dim)
    }

    pub fn selection_style(&self) -> Style {
        Style::new()
            .fg(self.selection_fg)
            .bg(self.selection_bg)
            .add_modifier(Modifier::BOLD)
    }

    /// The frame of a popup drawn above the screen: rounded, on the popup background, its
    /// border in `border`.
    pub fn popup(&self, border: Color) -> Block<'static> {
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(Style::new().fg(border))
            .style(Style::new().bg(self.popup_bg))
    }

    fn set(&mut self, key: &str, value: &toml::Value) -> Result<(), String> {
        if key == "syntax_theme" {
            let s = value.as_str().ok_or("syntax_theme: expected a string")?;
            self.syntax_theme = s.to_string();
            return Ok(());
        }
        if key == "agents" {
            let list = value
                .as_array()
                .ok_or("agents: expected a list of colours")?;
            let colors: Result<Vec<Color>, String> = list.iter().map(to_color).collect();
            self.agents = colors.map_err(|e| format!("agents: {e}"))?;
            return Ok(());
        }
        let slot = match key {
            "text" => &mut self.text,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "speaking" => &mut self.speaking,
            "status_fg" => &mut self.status_fg,
            "status_bg" => &mut self.status_bg,
            "demo" => &mut self.demo,
            "error" => &mut self.error,
            "warning" => &mut self.warning,
            "success" => &mut self.success,
            "user" => &mut self.user,
            "handoff" => &mut self.handoff,
            "heading" => &mut self.heading,
            "code" => &mut self.code,
            "quote" => &mut self.quote,
            "selection_fg" => &mut self.selection_fg,
            "selection_bg" => &mut self.selection_bg,
            "popup_bg" => &mut self.popup_bg,
            _ => return Err(format!("unknown key {key:?} (ignored)")),
        };
        *slot = to_color(value).map_err(|e| format!("{key}: {e}"))?;
        Ok(())
    }
}

/// Parse a colour name, 0–255 index or `#rrggbb`.
pub fn parse_color(s: &str) -> Option<Color> {
    s.parse::<Color>().ok()
}

const DARK: &str = include_str!("../../themes/dark.toml");
const LIGHT: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.toml");

fn builtin(name: &str) -> Option<&'static str> {
    match name {
        "dark" => Some(DARK),
        "light" => Some(LIGHT),
        "high-contrast" | "high_contrast" => Some(HIGH_CONTRAST),
        _ => None,
    }
}

fn to_color(value: &toml::Value) -> Result<Color, String> {
    match value {
        toml::Value::String(s) => parse_color(s).ok_or_else(|| format!("bad colour {s:?}")),
        toml::Value::Integer(i) => u8::try_from(*i)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {i} is not in 0..=255")),
        other => Err(format!("expected a colour, found {}", other.type_str())),
    }
}

/// The base every theme starts from before `dark.toml` is applied.
fn fallback() -> Theme {
    Theme {
        name: "dark".into(),
        text: Color::Reset,
        dim: Color::DarkGray,
        accent: Color::Cyan,
        border: Color::DarkGray,
        border_focused: Color::Cyan,
        speaking: Color::Yellow,
        status_fg: Color::White,
        status_bg: Color::DarkGray,
        demo: Color::Yellow,
        error: Color::Red,
        warning: Color::LightRed,
        success: Color::Green,
        user: Color::Magenta,
        handoff: Color::Blue,
        heading: Color::Cyan,
        code: Color::Green,
        quote: Color::DarkGray,
        selection_fg: Color::Black,
        selection_bg: Color::Cyan,
        popup_bg: Color::Black,
        syntax_theme: "base16-ocean.dark".into(),
        agents: vec![Color::Green, Color::Yellow, Color::Cyan, Color::Magenta],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_without_warnings() {
        for name in BUILTIN {
            let (theme, warnings) = Theme::load_from(Some(name), Path::new("/nonexistent"));
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert_eq!(theme.name, name);
            assert_eq!(theme.agents.len(), 8);
        }
        let (light, _) = Theme::load_from(Some("light"), Path::new("/nonexistent"));
        assert_ne!(light.text, Theme::dark().text);
    }

    #[test]
    fn user_theme_overrides_and_unknown_keys_warn() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "accent = \"#ff0000\"\nsparkle = \"pink\"\nerror = \"nope\"\n",
        )
        .unwrap();
        let (theme, warnings) = Theme::load_from(Some("mine"), dir.path());
        assert_eq!(theme.accent, Color::Rgb(255, 0, 0));
        assert_eq!(theme.text, Theme::dark().text);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("sparkle")));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("error") && w.contains("nope"))
        );
    }

    #[test]
    fn missing_theme_falls_back_with_a_warning() {
        let (theme, warnings) = Theme::load_from(Some("nope"), Path::new("/nonexistent"));
        assert_eq!(theme.name, "dark");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("nope"));
    }
}
