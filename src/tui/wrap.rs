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
    let mut wrapper = Wrapper::new(width);
    wrapper.push_line(line);
    wrapper.into_lines()
}

/// Greedy wrapping fed one character at a time. A row, once closed, never changes when more
/// text is pushed, so text that only grows (a streaming paragraph) is wrapped once: keep the
/// wrapper, push what is new, and read [`Wrapper::closed`] plus the open row. Feeding a whole line
/// gives exactly [`wrap_line`]. Cost per push is independent of how much was pushed before.
#[derive(Clone, Debug)]
pub struct Wrapper {
    width: usize,
    closed: Vec<Line<'static>>,
    row: Vec<(char, Style)>,
    row_width: usize,
    last_space: Option<usize>,
}

impl Wrapper {
    pub fn new(width: u16) -> Wrapper {
        Wrapper {
            width: usize::from(width.max(1)),
            closed: Vec::new(),
            row: Vec::new(),
            row_width: 0,
            last_space: None,
        }
    }

    /// Push every character of `line`, each with the line's style patched by its span's.
    pub fn push_line(&mut self, line: &Line<'_>) {
        let base = line.style;
        for span in &line.spans {
            self.push_str(&span.content, base.patch(span.style));
        }
    }

    /// Push every character of `text` in `style`.
    pub fn push_str(&mut self, text: &str, style: Style) {
        for c in text.chars() {
            self.push(c, style);
        }
    }

    /// Push one character.
    pub fn push(&mut self, c: char, style: Style) {
        let w = c.width().unwrap_or(0);
        if self.row_width + w > self.width && !self.row.is_empty() {
            if c == ' ' {
                self.close(Vec::new());
                return;
            }
            let carry = match self.last_space {
                Some(at) if at > 0 => {
                    let rest = self.row.split_off(at + 1);
                    self.row.pop();
                    rest
                }
                _ => Vec::new(),
            };
            self.close(carry);
            if c == ' ' && self.row.is_empty() {
                return;
            }
        }
        if c == ' ' {
            self.last_space = Some(self.row.len());
        }
        self.row.push((c, style));
        self.row_width += w;
    }

    /// The rows closed since the last call (final: later pushes only close rows after them).
    pub fn take_closed(&mut self) -> Vec<Line<'static>> {
        std::mem::take(&mut self.closed)
    }

    /// The open row with `text` pushed after it, wrapped: the rows that would close, then the
    /// open one. The wrapper itself is left as it was.
    pub fn open_with(&self, text: &str, style: Style) -> Vec<Line<'static>> {
        let mut rest = Wrapper {
            width: self.width,
            closed: Vec::new(),
            row: self.row.clone(),
            row_width: self.row_width,
            last_space: self.last_space,
        };
        rest.push_str(text, style);
        rest.into_lines()
    }

    /// The closed rows and the open one (at least one row, possibly empty).
    pub fn into_lines(mut self) -> Vec<Line<'static>> {
        let row = std::mem::take(&mut self.row);
        self.closed.push(into_line(row));
        self.closed
    }

    fn close(&mut self, carry: Vec<(char, Style)>) {
        let row = std::mem::replace(&mut self.row, carry);
        self.closed.push(into_line(row));
        self.row_width = self.row.iter().map(|(c, _)| c.width().unwrap_or(0)).sum();
        self.last_space = None;
    }
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
    fn pushing_in_pieces_wraps_as_the_whole_line() {
        let text = "the quick brown fox jumps over the lazy dog, abcdefghijklmnopqrstuvwxyz  a  b ";
        let cursor = Style::new().bold();
        for width in [1, 3, 5, 8, 13] {
            let whole = Line::from(vec![Span::raw(text), Span::styled("▌", cursor)]);
            let want = wrap_line(&whole, width);
            for piece in [1, 2, 7] {
                let mut w = Wrapper::new(width);
                let mut got = Vec::new();
                let chars: Vec<char> = text.chars().collect();
                for chunk in chars.chunks(piece) {
                    w.push_str(&chunk.iter().collect::<String>(), Style::new());
                    got.extend(w.take_closed());
                    // Looking at the open row changes nothing.
                    let _ = w.open_with("▌", cursor);
                }
                got.extend(w.open_with("▌", cursor));
                assert_eq!(got, want, "width {width}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn wide_characters_count_two_cells() {
        let rows = wrap_line(&Line::from("日本語です"), 4);
        assert_eq!(texts(&rows), ["日本", "語で", "す"]);
        assert_eq!(truncate("日本語", 4), "日…");
    }
}
