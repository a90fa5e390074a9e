//! Untrusted text made safe for a terminal: the one sanitizer of the program.
//!
//! Mental model: text from outside — a model's answer, the arguments of its tool calls, a server's
//! error body, a journal file someone handed us — may carry terminal control sequences, by
//! accident or by prompt injection. It is cleaned once where it enters: the `llm` layer cleans
//! everything a provider yields (streamed with [`Sanitizer`], whose state survives chunk
//! boundaries), and the journal reader cleans every string of every event it reads
//! ([`sanitize_json`]). Front ends draw what they get. One set of rules:
//! - escape sequences (CSI `ESC [ … final`, OSC/DCS/SOS/PM/APC strings up to BEL or ST, two-byte
//!   `ESC x` and `ESC ( B`) and their C1 forms are removed whole, parameters included;
//! - every other C0 control, DEL and C1 control is removed, `\r` too (so `\r\n` becomes `\n`);
//! - `\n` and `\t` stay (the TUI turns tabs into spaces when it lays text out);
//! - an unterminated sequence swallows the rest of its text (of its stream, for a [`Sanitizer`]).
//!
//! It lives at the bottom of the crate, under every layer, because both `llm` and `store` need it
//! and `store` must not import `llm`. So does its sibling [`redact`], the one redactor of secrets
//! and personal data (a team's `sanitize = true`, and every error and printed URL).

pub mod redact;

use serde_json::Value;

/// `text` with terminal control sequences and control characters removed (see the module docs).
pub fn sanitize_text(text: &str) -> String {
    Sanitizer::default().push(text)
}

/// Clean every string inside `value` (object keys are left alone). Returns whether anything
/// changed.
pub fn sanitize_json(value: &mut Value) -> bool {
    let mut changed = false;
    match value {
        Value::String(s) if !s.chars().all(is_plain) => {
            *s = Sanitizer::default().step_all(s);
            changed = true;
        }
        Value::Array(items) => {
            for v in items {
                changed |= sanitize_json(v);
            }
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                changed |= sanitize_json(v);
            }
        }
        _ => {}
    }
    changed
}

/// The arguments of a tool call (JSON text as the model wrote it) with every string value
/// cleaned. Clean arguments come back byte for byte; cleaned ones are re-serialized compactly;
/// text that is not JSON is cleaned as plain text.
pub fn sanitize_json_text(raw: &str) -> String {
    if !raw.contains('\\') && raw.chars().all(|c| is_plain(c) || c == '\r') {
        return raw.to_string();
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(mut value) => {
            if sanitize_json(&mut value) {
                value.to_string()
            } else {
                raw.to_string()
            }
        }
        Err(_) => sanitize_text(raw),
    }
}

/// A sanitizer for text that arrives in pieces: an escape sequence split across two pieces is
/// still removed whole. One per stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sanitizer {
    state: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// After ESC.
    Escape,
    /// After `ESC <intermediate>`: the next character ends the sequence.
    Intermediate,
    /// Inside a CSI sequence, until its final byte.
    Csi,
    /// Inside an OSC/DCS/SOS/PM/APC string, until BEL or ST.
    Str,
    /// ESC inside a string: `\` completes ST, anything else ends the string and is text again.
    StrEscape,
}

impl Sanitizer {
    /// Clean the next piece.
    pub fn push(&mut self, piece: &str) -> String {
        if self.state == State::Text && piece.chars().all(is_plain) {
            return piece.to_string();
        }
        self.step_all(piece)
    }

    /// Clean `piece` character by character (the caller knows it is not all plain text).
    fn step_all(&mut self, piece: &str) -> String {
        let mut out = String::with_capacity(piece.len());
        for c in piece.chars() {
            self.step(c, &mut out);
        }
        out
    }

    fn step(&mut self, c: char, out: &mut String) {
        self.state = match self.state {
            State::Text => match c {
                '\u{1b}' => State::Escape,
                '\u{9b}' => State::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => State::Str,
                c if is_plain(c) => {
                    out.push(c);
                    State::Text
                }
                _ => State::Text,
            },
            State::Escape => match c {
                '[' => State::Csi,
                ']' | 'P' | 'X' | '^' | '_' => State::Str,
                '\u{20}'..='\u{2f}' => State::Intermediate,
                _ => State::Text,
            },
            State::Intermediate => State::Text,
            State::Csi if ('\u{40}'..='\u{7e}').contains(&c) => State::Text,
            State::Csi => State::Csi,
            State::Str => match c {
                '\u{7}' | '\u{9c}' => State::Text,
                '\u{1b}' => State::StrEscape,
                _ => State::Str,
            },
            State::StrEscape => {
                self.state = State::Text;
                if c != '\\' {
                    self.step(c, out);
                }
                return;
            }
        };
    }
}

/// Passes through untouched: anything but a control character, and `\n`, `\t`.
fn is_plain(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}

/// `text` cut to at most `max` characters, ending in `…` when it was cut (`max` at least 1).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_text_newlines_tabs_and_replacement_char() {
        let text = "a\tb\nc \u{fffd} é héllo ✓ 日本語";
        assert_eq!(sanitize_text(text), text);
    }

    #[test]
    fn removes_sequences_whole_and_controls() {
        assert_eq!(sanitize_text("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize_text("x\u{1b}]52;c;AAAA\u{7}y"), "xy");
        assert_eq!(sanitize_text("x\u{1b}]0;title\u{1b}\\y"), "xy");
        assert_eq!(sanitize_text("one\r\ntwo\u{8}\u{0}\u{7f}"), "one\ntwo");
        assert_eq!(sanitize_text("\u{1b}(Bok\u{9b}2Jdone"), "okdone");
        assert_eq!(sanitize_text("\u{1b}7saved\u{1b}8"), "saved");
        assert_eq!(sanitize_text("a\u{9d}0;t\u{9c}b\u{85}c"), "abc");
        assert_eq!(sanitize_text("s\u{1b}]0;t\u{1b}x"), "sx");
    }

    #[test]
    fn unterminated_sequences_eat_to_the_end() {
        assert_eq!(sanitize_text("ok\u{1b}[12"), "ok");
        assert_eq!(sanitize_text("ok\u{1b}"), "ok");
        assert_eq!(sanitize_text("ok\u{1b}]0;never ends"), "ok");
    }

    #[test]
    fn a_stream_cleans_the_same_at_every_split() {
        let text = "Ha \u{1b}]0;pwned\u{7} got\u{1b}(Bcha \u{1b}[2J done\r\n\u{9b}1m!";
        let whole = sanitize_text(text);
        assert_eq!(whole, "Ha  gotcha  done\n!");
        let chars: Vec<char> = text.chars().collect();
        for i in 0..=chars.len() {
            for j in i..=chars.len() {
                let pieces = [&chars[..i], &chars[i..j], &chars[j..]];
                let mut s = Sanitizer::default();
                let out: String = pieces
                    .iter()
                    .map(|p| s.push(&p.iter().collect::<String>()))
                    .collect();
                assert_eq!(out, whole, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn json_strings_are_cleaned_and_clean_json_is_kept() {
        let mut v = serde_json::json!({"a": ["x\u{1b}[31my", 1], "b": {"c": "fine"}});
        assert!(sanitize_json(&mut v));
        assert_eq!(v, serde_json::json!({"a": ["xy", 1], "b": {"c": "fine"}}));
        assert!(!sanitize_json(&mut v));

        let clean = "{ \"reason\" : \"line\\nnext\\ttab\" }";
        assert_eq!(sanitize_json_text(clean), clean);
        assert_eq!(
            sanitize_json_text(r#"{"reason":"sure \u001b]0;pwned\u0007 fine"}"#),
            r#"{"reason":"sure  fine"}"#
        );
        assert_eq!(sanitize_json_text("{oops\u{1b}[2J"), "{oops");
    }
}
