//! Model output is untrusted: before any of it reaches the screen it goes through the program's
//! one sanitizer, [`crate::text::sanitize_text`] (escape sequences and control characters
//! removed, newlines kept), and tabs become spaces for layout. Text from providers and journals
//! was already cleaned where it entered; this pass guards whatever else reaches the console.

/// `text` without terminal control sequences and with tabs expanded, safe to draw.
pub fn strip_controls(text: &str) -> String {
    let clean = crate::text::sanitize_text(text);
    if clean.contains('\t') {
        clean.replace('\t', "    ")
    } else {
        clean
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules themselves are tested in `crate::text`; here only what the console adds.
    #[test]
    fn sanitizes_and_expands_tabs() {
        assert_eq!(strip_controls("a\u{1b}[31mred\u{1b}[0m\tb"), "ared    b");
        let line = clean_line(ratatui::text::Line::from("x\u{1b}]52;c;AAAA\u{7}y"));
        assert_eq!(line.spans[0].content, "xy");
    }
}
