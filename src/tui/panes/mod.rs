//! The panes of the main screen, one module each; each renders itself from the `App`.

pub mod agent;
pub mod handoff;
pub mod input;
pub mod metrics;
pub mod status;
pub mod transcript;

use ratatui::text::{Line, Span};

use super::wrap::{width_of, wrap_line};

/// Wrap `lines` to `width - indent` and indent every row by `indent` spaces. Code, quote and
/// list lines keep a hanging indent: their gutter (`│ `, `▌ `) repeats on continuation rows,
/// and list items continue under their text.
pub fn wrap_indented(lines: &[Line<'_>], width: u16, indent: u16) -> Vec<Line<'static>> {
    let inner = width.saturating_sub(indent).max(1);
    let pad = " ".repeat(usize::from(indent));
    lines
        .iter()
        .flat_map(|l| wrap_hanging(l, inner))
        .map(|mut row| {
            if indent > 0 {
                row.spans.insert(0, pad.clone().into());
            }
            row
        })
        .collect()
}

/// Wrap one line, repeating its gutter or indenting under its list marker.
pub fn wrap_hanging(line: &Line<'_>, width: u16) -> Vec<Line<'static>> {
    let marker_spans = line
        .spans
        .iter()
        .position(|s| matches!(s.content.as_ref(), "│ " | "▌ " | "• "))
        .filter(|i| line.spans[..*i].iter().all(|s| s.content.trim().is_empty()));
    let Some(i) = marker_spans else {
        return wrap_line(line, width);
    };
    let head: Vec<Span<'static>> = line.spans[..=i]
        .iter()
        .map(|s| Span::styled(s.content.to_string(), s.style))
        .collect();
    let head_w = head.iter().map(|s| width_of(&s.content)).sum::<usize>();
    if head_w + 1 >= usize::from(width) {
        return wrap_line(line, width);
    }
    let marker = &line.spans[i];
    let cont: Vec<Span<'static>> = if marker.content == "• " {
        vec![Span::raw(" ".repeat(head_w))]
    } else {
        let lead = head_w - 2;
        vec![
            Span::raw(" ".repeat(lead)),
            Span::styled(marker.content.to_string(), marker.style),
        ]
    };
    let rest = Line::from(line.spans[i + 1..].to_vec()).style(line.style);
    wrap_line(&rest, width - head_w as u16)
        .into_iter()
        .enumerate()
        .map(|(n, mut row)| {
            let prefix = if n == 0 { head.clone() } else { cont.clone() };
            row.spans.splice(0..0, prefix);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_gutters_repeat_and_bullets_hang() {
        let code = Line::from(vec![Span::raw("│ "), Span::raw("let a = b + c;")]);
        let rows: Vec<String> = wrap_indented(&[code], 10, 0)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(rows, ["│ let a =", "│ b + c;"]);
        let item = Line::from(vec![
            Span::raw(""),
            Span::raw("• "),
            Span::raw("one two three"),
        ]);
        let rows: Vec<String> = wrap_indented(&[item], 9, 0)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(rows, ["• one two", "  three"]);
    }
}
