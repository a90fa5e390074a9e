//! The panes of the main screen, one module each; each renders itself from the `App`.

pub mod agent;
pub mod handoff;
pub mod input;
pub mod metrics;
pub mod status;
pub mod transcript;

use ratatui::text::Line;

use super::wrap::wrap_line;

/// Wrap `lines` to `width - indent` and indent every row by `indent` spaces.
pub fn wrap_indented(lines: &[Line<'_>], width: u16, indent: u16) -> Vec<Line<'static>> {
    let inner = width.saturating_sub(indent).max(1);
    let pad = " ".repeat(usize::from(indent));
    lines
        .iter()
        .flat_map(|l| wrap_line(l, inner))
        .map(|mut row| {
            if indent > 0 {
                row.spans.insert(0, pad.clone().into());
            }
            row
        })
        .collect()
}
