//! One key chord (`ctrl+r`, `alt+enter`, `f1`, `pageup`, `?`): parsing from config text,
//! matching crossterm key events, and display for help and footer hints.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, normalized so that equal chords compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeRepr,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// The key codes a binding can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeRepr {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
}

impl Key {
    /// Parse `ctrl+shift+x`, `alt+enter`, `f5`, `pgup`, `shift+tab`, `?`, `space`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let lower = text.trim().to_lowercase();
        if lower.is_empty() {
            return Err("empty key".into());
        }
        let mut parts: Vec<&str> = lower.split('+').collect();
        // `ctrl++` or a bare `+`
        if lower.ends_with('+') && lower.len() > 1 && lower.ends_with("++") {
            parts.retain(|p| !p.is_empty());
            parts.push("+");
        }
        let name = parts.pop().unwrap_or_default();
        let mut key = Key {
            code: KeyCodeRepr::Char(' '),
            ctrl: false,
            alt: false,
            shift: false,
        };
        for m in parts {
            match m {
                "ctrl" | "control" | "c" => key.ctrl = true,
                "alt" | "meta" | "option" | "m" => key.alt = true,
                "shift" | "s" => key.shift = true,
                other => return Err(format!("unknown modifier {other:?} in {text:?}")),
            }
        }
        key.code = match name {
            "enter" | "return" => KeyCodeRepr::Enter,
            "esc" | "escape" => KeyCodeRepr::Esc,
            "tab" if key.shift => {
                key.shift = false;
                KeyCodeRepr::BackTab
            }
            "tab" => KeyCodeRepr::Tab,
            "backtab" => KeyCodeRepr::BackTab,
            "backspace" | "bs" => KeyCodeRepr::Backspace,
            "delete" | "del" => KeyCodeRepr::Delete,
            "insert" | "ins" => KeyCodeRepr::Insert,
            "up" => KeyCodeRepr::Up,
            "down" => KeyCodeRepr::Down,
            "left" => KeyCodeRepr::Left,
            "right" => KeyCodeRepr::Right,
            "home" => KeyCodeRepr::Home,
            "end" => KeyCodeRepr::End,
            "pageup" | "pgup" => KeyCodeRepr::PageUp,
            "pagedown" | "pgdn" | "pgdown" => KeyCodeRepr::PageDown,
            "space" => KeyCodeRepr::Char(' '),
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                let n: u8 = f[1..]
                    .parse()
                    .map_err(|_| format!("bad function key {text:?}"))?;
                if !(1..=24).contains(&n) {
                    return Err(format!("function key out of range in {text:?}"));
                }
                KeyCodeRepr::F(n)
            }
            c if c.chars().count() == 1 => {
                let ch = text.trim().chars().last().unwrap_or(' ');
                let ch = if key.ctrl || key.alt {
                    ch.to_ascii_lowercase()
                } else {
                    ch
                };
                KeyCodeRepr::Char(ch)
            }
            other => return Err(format!("unknown key {other:?} in {text:?}")),
        };
        Ok(key.normalized())
    }

    /// The chord of a crossterm key event.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let m = ev.modifiers;
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeRepr::Char(c),
            KeyCode::F(n) => KeyCodeRepr::F(n),
            KeyCode::Enter => KeyCodeRepr::Enter,
            KeyCode::Esc => KeyCodeRepr::Esc,
            KeyCode::Tab => KeyCodeRepr::Tab,
            KeyCode::BackTab => KeyCodeRepr::BackTab,
            KeyCode::Backspace => KeyCodeRepr::Backspace,
            KeyCode::Delete => KeyCodeRepr::Delete,
            KeyCode::Insert => KeyCodeRepr::Insert,
            KeyCode::Up => KeyCodeRepr::Up,
            KeyCode::Down => KeyCodeRepr::Down,
            KeyCode::Left => KeyCodeRepr::Left,
            KeyCode::Right => KeyCodeRepr::Right,
            KeyCode::Home => KeyCodeRepr::Home,
            KeyCode::End => KeyCodeRepr::End,
            KeyCode::PageUp => KeyCodeRepr::PageUp,
            KeyCode::PageDown => KeyCodeRepr::PageDown,
            _ => return None,
        };
        let key = Key {
            code,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift: m.contains(KeyModifiers::SHIFT),
        };
        Some(key.normalized())
    }

    /// A crossterm event for this chord (tests and the help overlay's examples).
    pub fn to_event(self) -> KeyEvent {
        let code = match self.code {
            KeyCodeRepr::Char(c) => KeyCode::Char(c),
            KeyCodeRepr::F(n) => KeyCode::F(n),
            KeyCodeRepr::Enter => KeyCode::Enter,
            KeyCodeRepr::Esc => KeyCode::Esc,
            KeyCodeRepr::Tab => KeyCode::Tab,
            KeyCodeRepr::BackTab => KeyCode::BackTab,
            KeyCodeRepr::Backspace => KeyCode::Backspace,
            KeyCodeRepr::Delete => KeyCode::Delete,
            KeyCodeRepr::Insert => KeyCode::Insert,
            KeyCodeRepr::Up => KeyCode::Up,
            KeyCodeRepr::Down => KeyCode::Down,
            KeyCodeRepr::Left => KeyCode::Left,
            KeyCodeRepr::Right => KeyCode::Right,
            KeyCodeRepr::Home => KeyCode::Home,
            KeyCodeRepr::End => KeyCode::End,
            KeyCodeRepr::PageUp => KeyCode::PageUp,
            KeyCodeRepr::PageDown => KeyCode::PageDown,
        };
        let mut m = KeyModifiers::NONE;
        if self.ctrl {
            m |= KeyModifiers::CONTROL;
        }
        if self.alt {
            m |= KeyModifiers::ALT;
        }
        if self.shift {
            m |= KeyModifiers::SHIFT;
        }
        KeyEvent::new(code, m)
    }

    /// `Ctrl+R`, `Alt+Enter`, `F1`, `PgUp`, `Shift+Tab`.
    pub fn display(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("Ctrl+");
        }
        if self.alt {
            s.push_str("Alt+");
        }
        if self.shift {
            s.push_str("Shift+");
        }
        s.push_str(&self.code_name());
        s
    }

    /// Compact form for footer hints: `^R`, `M-c`, `F1`.
    pub fn short(&self) -> String {
        if self.ctrl
            && !self.alt
            && !self.shift
            && let KeyCodeRepr::Char(c) = self.code
        {
            return format!("^{}", c.to_ascii_uppercase());
        }
        self.display()
    }

    fn code_name(&self) -> String {
        match self.code {
            KeyCodeRepr::Char(' ') => "Space".into(),
            KeyCodeRepr::Char(c) if self.ctrl || self.alt => c.to_ascii_uppercase().to_string(),
            KeyCodeRepr::Char(c) => c.to_string(),
            KeyCodeRepr::F(n) => format!("F{n}"),
            KeyCodeRepr::Enter => "Enter".into(),
            KeyCodeRepr::Esc => "Esc".into(),
            KeyCodeRepr::Tab => "Tab".into(),
            KeyCodeRepr::BackTab => "Shift+Tab".into(),
            KeyCodeRepr::Backspace => "Backspace".into(),
            KeyCodeRepr::Delete => "Delete".into(),
            KeyCodeRepr::Insert => "Insert".into(),
            KeyCodeRepr::Up => "Up".into(),
            KeyCodeRepr::Down => "Down".into(),
            KeyCodeRepr::Left => "Left".into(),
            KeyCodeRepr::Right => "Right".into(),
            KeyCodeRepr::Home => "Home".into(),
            KeyCodeRepr::End => "End".into(),
            KeyCodeRepr::PageUp => "PgUp".into(),
            KeyCodeRepr::PageDown => "PgDn".into(),
        }
    }

    fn normalized(mut self) -> Key {
        match self.code {
            // Terminals report Shift+a as 'A' (with or without SHIFT).
            KeyCodeRepr::Char(_) if !self.ctrl && !self.alt => self.shift = false,
            KeyCodeRepr::Char(c) => {
                if c.is_ascii_uppercase() {
                    self.shift = true;
                }
                self.code = KeyCodeRepr::Char(c.to_ascii_lowercase());
            }
            KeyCodeRepr::BackTab => self.shift = false,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_events() {
        let k = Key::parse("ctrl+r").unwrap();
        let ev = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&ev), Some(k));
        assert_eq!(k.short(), "^R");
        assert_eq!(
            Key::parse("Shift+Tab").unwrap(),
            Key::from_event(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)).unwrap()
        );
        assert_eq!(Key::parse("alt+enter").unwrap().display(), "Alt+Enter");
        assert_eq!(Key::parse("pgup").unwrap().display(), "PgUp");
        assert_eq!(Key::parse("f1").unwrap().display(), "F1");
        let q = Key::parse("?").unwrap();
        assert_eq!(
            Key::from_event(&KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(q)
        );
        assert_eq!(Key::from_event(&q.to_event()), Some(q));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(Key::parse("hyper+x").is_err());
        assert!(Key::parse("ctrl+banana").is_err());
        assert!(Key::parse("f99").is_err());
        assert!(Key::parse("").is_err());
    }
}
