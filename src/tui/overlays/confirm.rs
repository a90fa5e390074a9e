//! A yes/no question (quitting).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::super::keymap::{Action, Keymap};
use super::super::theme::Theme;
use super::{ConfirmKind, centered};

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
    let lines = vec![
        Line::styled(body, theme.text_style()),
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
    ];
    let rect = centered(area, 56, 5);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.warning))
        .style(Style::new().bg(theme.popup_bg))
        .title(Span::styled(
            title,
            Style::new().fg(theme.warning).add_modifier(Modifier::BOLD),
        ));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).centered(), rect);
}
