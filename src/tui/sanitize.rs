//! Model output is untrusted: before any of it reaches the screen, terminal control sequences
//! (CSI, OSC, DCS and other escape sequences), C0/C1 control characters and carriage returns are
//! stripped, and tabs become spaces. Newlines survive; everything else printable passes through.

/// `text` without terminal control sequences, safe to draw.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI / OSC / DCS introducers.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' | '\u{90}' => skip_until_string_end(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `line` with control sequences stripped from every span (reasons, summaries and other text
/// that models write outside their answers).
pub fn clean_line(mut line: ratatui::text::Line<'static>) -> ratatui::text::Line<'static> {
    for span in &mut line.spans {
        if span.content.chars().any(|c| c.is_control()) {
            span.content = strip_controls(&span.content).into();
        }
    }
    line
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_until_string_end(chars),
        // Two-byte sequences (ESC 7, ESC c, ESC ( B …): drop the intermediates and the final.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_until_final(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
    }
}

fn skip_until_string_end(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(strip_controls("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(strip_controls("x\u{1b}]52;c;AAAA\u{7}y"), "xy");
        assert_eq!(strip_controls("x\u{1b}]0;title\u{1b}\\y"), "xy");
        assert_eq!(strip_controls("one\r\ntwo\u{8}\u{0}"), "one\ntwo");
        assert_eq!(strip_controls("\u{1b}(Bok\u{9b}2Jdone"), "okdone");
        assert_eq!(strip_controls("tab\there"), "tab    here");
        assert_eq!(strip_controls("héllo ✓"), "héllo ✓");
    }

    #[test]
    fn unterminated_sequences_eat_to_the_end() {
        assert_eq!(strip_controls("ok\u{1b}[12"), "ok");
        assert_eq!(strip_controls("ok\u{1b}"), "ok");
    }
}
