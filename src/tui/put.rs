//! Drawing lines that are already laid out (wrapped to the pane's width, cut to what is visible)
//! into the frame: what `Paragraph::new(lines)` draws, cell for cell, for less.
//!
//! Mental model: the panes lay their text out themselves (`wrap`, `cache`, `scroll`), so all a
//! frame needs is to copy each visible line's characters into cells. ratatui's paragraph first
//! sweeps its whole area to apply an empty style, then cuts every line into graphemes and
//! measures each one; on a streaming screen that was a fifth of the console's CPU. [`put`] skips
//! the sweep (the frame's buffer starts blank) and copies ASCII text byte by byte (printable
//! ASCII is one grapheme of width one each); anything else goes through graphemes and widths
//! exactly as the paragraph does. Same cells, same truncation, same alignment: the screen
//! snapshots are drawn with it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use unicode_segmentation::UnicodeSegmentation;

/// Draw `lines` into `area`, one per row from the top, each cut to the area's width: the cells
/// `Paragraph::new(lines)` (no block, wrap, scroll or style of its own) would draw.
pub fn put(buf: &mut Buffer, area: Rect, lines: &[Line<'_>]) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    for (row, line) in (area.top()..area.bottom()).zip(lines) {
        let alignment = line.alignment.unwrap_or(Alignment::Left);
        let x = match alignment {
            Alignment::Left => 0,
            // Where it starts depends on how much of it fits: measured first.
            _ => {
                let mut width = 0;
                each_grapheme(line, area.width, |_, _, w| width += w);
                match alignment {
                    Alignment::Center => (area.width / 2).saturating_sub(width / 2),
                    _ => area.width.saturating_sub(width),
                }
            }
        };
        let mut x = area.left() + x;
        each_grapheme(line, area.width, |symbol, style, width| {
            if width == 0 {
                return;
            }
            let cell = &mut buf[(x, row)];
            match symbol {
                Symbol::Ascii(c) => cell.set_char(char::from(c)),
                Symbol::Str(s) => cell.set_symbol(s),
            }
            .set_style(style);
            x += width;
        });
    }
}

// ---------------------------------------------------------------------------------------------

/// One grapheme of a line.
enum Symbol<'a> {
    /// A printable ASCII character.
    Ascii(u8),
    Str(&'a str),
}

/// Call `f` with each grapheme of `line` that fits in `max` columns, its style and its width, as
/// ratatui's truncating line composer sees them: graphemes holding a control character are left
/// out, one wider than the whole width is skipped, and the line ends at the first that does not
/// fit.
fn each_grapheme<'a>(line: &'a Line<'_>, max: u16, mut f: impl FnMut(Symbol<'a>, Style, u16)) {
    let base = Style::default().patch(line.style);
    let mut used: u16 = 0;
    for span in &line.spans {
        let style = base.patch(span.style);
        let text: &str = span.content.as_ref();
        if text.is_ascii() {
            for &b in text.as_bytes() {
                if b < 0x20 || b == 0x7f {
                    continue;
                }
                if used + 1 > max {
                    return;
                }
                used += 1;
                f(Symbol::Ascii(b), style, 1);
            }
            continue;
        }
        for g in text.graphemes(true) {
            if g.contains(char::is_control) {
                continue;
            }
            let width = cell_width(g);
            if width > max {
                continue;
            }
            if used + width > max {
                return;
            }
            used += width;
            f(Symbol::Str(g), style, width);
        }
    }
}

/// The columns a grapheme takes, as ratatui measures them.
fn cell_width(g: &str) -> u16 {
    ratatui::buffer::CellWidth::cell_width(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier, Stylize};
    use ratatui::text::Span;
    use ratatui::widgets::{Paragraph, Widget};

    /// `put` and the paragraph draw the same cells.
    fn same(lines: Vec<Line<'static>>, area: Rect) {
        let whole = Rect::new(0, 0, area.right() + 2, area.bottom() + 1);
        let mut theirs = Buffer::empty(whole);
        Paragraph::new(lines.clone()).render(area, &mut theirs);
        let mut ours = Buffer::empty(whole);
        put(&mut ours, area, &lines);
        assert_eq!(ours, theirs, "{lines:?} in {area:?}");
    }

    #[test]
    fn ascii_lines_styles_and_truncation_match_the_paragraph() {
        let area = Rect::new(1, 0, 12, 3);
        same(
            vec![
                Line::from("hello world, this is long"),
                Line::from(vec![
                    Span::styled("red", Style::new().fg(Color::Red)),
                    Span::raw(" and "),
                    Span::styled("bold", Style::new().add_modifier(Modifier::BOLD)),
                ])
                .style(Style::new().bg(Color::Blue)),
                Line::from("tab\there\x1b[31m\x7f ok"),
                Line::from("a fourth line past the area"),
            ],
            area,
        );
    }

    #[test]
    fn alignment_matches_the_paragraph() {
        for width in [5, 10, 11, 30] {
            let area = Rect::new(0, 0, width, 4);
            same(
                vec![
                    Line::from("centered").centered(),
                    Line::from("right").right_aligned(),
                    Line::from("a centered line wider than most").centered(),
                    Line::from("wide 漢字 right").right_aligned(),
                ],
                area,
            );
        }
    }

    #[test]
    fn wide_combining_and_emoji_graphemes_match_the_paragraph() {
        let area = Rect::new(0, 0, 7, 4);
        same(
            vec![
                Line::from("漢字漢字漢字"),
                Line::from("e\u{301}e\u{301} ok ñ"),
                Line::from("👩‍👩‍👧 family"),
                Line::from(vec![Span::raw("ab"), "漢".green(), Span::raw("\u{200b}z")]),
            ],
            area,
        );
        same(vec![Line::from("漢")], Rect::new(0, 0, 1, 1));
    }

    proptest::proptest! {
        /// Any mix of ASCII, wide, combining, zero-width, emoji and control characters, styled
        /// spans and alignments, in any area: the same cells as the paragraph.
        #[test]
        fn any_lines_match_the_paragraph(
            lines in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        ("[a-z .]{0,6}|[漢字é\u{301}\u{200b}👩\t\x1b\x7f a]{0,5}", 0u8..4),
                        0..4,
                    ),
                    0u8..4,
                ),
                0..6,
            ),
            width in 0u16..14,
            height in 0u16..5,
        ) {
            let lines: Vec<Line<'static>> = lines
                .into_iter()
                .map(|(spans, align)| {
                    let spans: Vec<Span<'static>> = spans
                        .into_iter()
                        .map(|(text, look)| match look {
                            0 => Span::raw(text),
                            1 => Span::styled(text, Style::new().fg(Color::Red)),
                            2 => Span::styled(text, Style::new().add_modifier(Modifier::BOLD)),
                            _ => Span::styled(text, Style::new().bg(Color::Green)),
                        })
                        .collect();
                    let line = Line::from(spans);
                    match align {
                        0 => line,
                        1 => line.left_aligned(),
                        2 => line.centered(),
                        _ => line.right_aligned().style(Style::new().fg(Color::Blue)),
                    }
                })
                .collect();
            same(lines, Rect::new(1, 1, width, height));
        }
    }

    #[test]
    fn an_empty_area_or_no_lines_draw_nothing() {
        same(vec![], Rect::new(0, 0, 4, 2));
        same(vec![Line::from("x")], Rect::new(0, 0, 0, 2));
        same(vec![Line::from("x")], Rect::new(0, 0, 3, 0));
    }
}
