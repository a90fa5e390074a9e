//! Model text made safe for a terminal.
//!
//! Model output may contain control characters and terminal escape sequences (by accident or by
//! prompt injection). Every provider passes each `TextDelta` through [`sanitize_text`] before it
//! leaves the `llm` layer, so nothing above has to think about it. Newlines and tabs stay; U+FFFD
//! (a replacement character the server already produced) passes through as ordinary text.

/// Remove C0 controls (except `\n` and `\t`), DEL and C1 controls; a `\r\n` becomes `\n`.
///
/// Escape sequences lose their ESC byte, so they can no longer steer the terminal; the printable
/// remainder (e.g. `[31m`) stays visible, which is the honest rendering of what the model wrote.
pub fn sanitize_text(text: &str) -> String {
    if !text.chars().any(is_stripped) {
        return text.to_string();
    }
    text.chars().filter(|c| !is_stripped(*c)).collect()
}

fn is_stripped(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        c if (c as u32) < 0x20 => true,
        '\u{7f}'..='\u{9f}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_text_newlines_tabs_and_replacement_char() {
        assert_eq!(sanitize_text("a\tb\nc \u{fffd} é"), "a\tb\nc \u{fffd} é");
    }

    #[test]
    fn strips_escapes_and_controls() {
        assert_eq!(
            sanitize_text("\u{1b}[31mred\u{1b}[0m\r\n\u{7}"),
            "[31mred[0m\n"
        );
        assert_eq!(sanitize_text("x\u{9b}2Jy\u{0}"), "x2Jy");
    }
}
