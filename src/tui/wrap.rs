//! Word wrapping of styled lines to a width, in terminal cells (unicode-width).
//!
//! Breaks at the last space that fits, else mid-word; a wrapped row never starts with the space
//! it broke at. Styles are kept per character and merged back into spans. Callers cache the result
//! per width; wrapping itself is cheap but is only ever done for lines that may become visible.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// `line` wrapped to rows of at most `width` cells (at least one row, possibly empty).
pub fn wrap_line(line: &Line<'_>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let base = line.style;
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| {
            let style = base.patch(s.style);
            s.content.chars().map(move |c| (c, style))
        })
        .collect();
    let mut rows: Vec<Vec<(char, Style)>> = Vec::new();
    let mut row: Vec<(char, Style)> = Vec::new();
    let mut row_width = 0usize;
    let mut last_space: Option<usize> = None;
    for (c, style) in cells {
        let w = c.width().unwrap_or(0);
        if row_width + w > width && !row.is_empty() {
            if c == ' ' {
                rows.push(std::mem::take(&mut row));
                row_width = 0;
                last_space = None;
                continue;
            }
            let carry = match last_space {
                Some(at) if at > 0 => {
                    let rest = row.split_off(at + 1);
                    row.pop();
                    rest
                }
                _ => Vec::new(),
            };
            rows.push(std::mem::take(&mut row));
            row = carry;
            row_width = row.iter().map(|(c, _)| c.width().unwrap_or(0)).sum();
            last_space = None;
            if c == ' ' && row.is_empty() {
                continue;
            }
        }
        if c == ' ' {
            last_space = Some(row.len());
        }
        row.push((c, style));
        row_width += w;
    }
    rows.push(row);
    rows.into_iter().map(into_line).collect()
}

/// Display width of `text` in cells.
pub fn width_of(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` cut to at most `width` cells, with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if width_of(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

fn into_line(row: Vec<(char, Style)>) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut current: Option<Style> = None;
    for (c, style) in row {
        if current != Some(style) {
            if let Some(s) = current {
                spans.push(Span::styled(std::mem::take(&mut text), s));
            }
            current = Some(style);
        }
        text.push(c);
    }
    if let Some(s) = current {
        spans.push(Span::styled(text, s));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_spaces_and_hard_breaks_long_words() {
        let l = Line::from("the quick brown fox jumps");
        assert_eq!(
            texts(&wrap_line(&l, 10)),
            ["the quick", "brown fox", "jumps"]
        );
        let l = Line::from("abcdefghijkl");
        assert_eq!(texts(&wrap_line(&l, 5)), ["abcde", "fghij", "kl"]);
        assert_eq!(texts(&wrap_line(&Line::from(""), 5)), [""]);
    }

    #[test]
    fn keeps_styles_across_breaks() {
        let bold = Style::new().bold();
        let l = Line::from(vec![Span::raw("aa "), Span::styled("bbbb", bold)]);
        let rows = wrap_line(&l, 4);
        assert_eq!(texts(&rows), ["aa", "bbbb"]);
        assert_eq!(rows[1].spans[0].style, bold);
    }

    #[test]
    fn wide_characters_count_two_cells() {
        let rows = wrap_line(&Line::from("日本語です"), 4);
        assert_eq!(texts(&rows), ["日本", "語で", "す"]);
        assert_eq!(truncate("日本語", 4), "日…");
    }
}
