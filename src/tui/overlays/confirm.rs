//! A yes/no question (quitting).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::super::keymap::{Action, Keymap};
use super::super::theme::Theme;
use super::super::wrap::wrap_line;
use super::{ConfirmKind, centered};

/// The width of the question's box.
const WIDTH: u16 = 56;

/// Draw the question `kind`; `running` says whether agents are still at work.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    kind: ConfirmKind,
    running: bool,
    keymap: &Keymap,
    theme: &Theme,
) {
    let (title, body) = match kind {
        ConfirmKind::Quit => (
            " Quit conclave? ",
            if running {
                "Agents are still running; they stop here and --resume last carries on."
            } else {
                "The session stays in its journal; resume it later."
            },
        ),
    };
    let keys = |a: Action| keymap.keys_display(a);
    // The body wraps inside the box (a long one used to be cut off at the border).
    let mut lines: Vec<Line<'static>> = wrap_line(&Line::raw(body), WIDTH - 4)
        .iter()
        .map(|l| Line::styled(l.to_string().trim_end().to_string(), theme.text_style()))
        .collect();
    let height = lines.len() as u16 + 4;
    lines.extend([
        Line::default(),
        Line::from(vec![
            Span::styled(
                keys(Action::ConfirmYes),
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(" quit    ", theme.dim_style()),
            Span::styled(
                keys(Action::ConfirmNo),
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(" stay", theme.dim_style()),
        ]),
    ]);
    let rect = centered(area, WIDTH, height);
    let block = theme.popup(theme.warning).title(Span::styled(
        title,
        Style::new().fg(theme.warning).add_modifier(Modifier::BOLD),
    ));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).centered(), rect);
}
