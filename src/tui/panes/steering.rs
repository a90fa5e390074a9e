//! The Steering panel: every steering key of the team's pattern with what it does, how to address
//! one agent, and the slash commands, in the wide layout's side column under the handoff and
//! metrics panels. The keys come from the keymap (as the footer's), the list from
//! [`steering_actions`](crate::tui::app::hints::steering_actions); rows that do not fit are
//! left out, the keys first to stay.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::super::keymap::{Action, Keymap};
use super::super::theme::Theme;
use crate::core::event::PatternKind;

/// Rows the panel wants for `keys` steering keys (borders and the `@agent` / help rows included).
pub fn wanted_height(keys: usize) -> u16 {
    keys as u16 + 5
}

/// The slash commands that act in a team of `pattern` (the README lists the same).
pub fn slash_commands(pattern: Option<PatternKind>) -> &'static str {
    match pattern {
        Some(PatternKind::GroupChat) => "/vote /pause /resume /unqueue /stop /team /export",
        Some(PatternKind::Sequential | PatternKind::Handoff | PatternKind::Plan) => {
            "/pause /resume /unqueue /stop /team /export"
        }
        _ => "/unqueue /stop /agents /team /export /new",
    }
}

/// Draw the panel: `actions` with their keys, then `@agent` and the slash commands.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    actions: &[(Action, &'static str)],
    pattern: Option<PatternKind>,
    keymap: &Keymap,
    theme: &Theme,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.border))
        .title(Span::styled(
            " Steering ",
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
    let key_style = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
    let row = |key: String, what: String| {
        Line::from(vec![
            Span::styled(format!("{key:<7}"), key_style),
            Span::styled(what, theme.dim_style()),
        ])
    };
    let mut lines: Vec<Line<'static>> = actions
        .iter()
        .filter_map(|&(action, label)| Some(row(keymap.hint(action)?, label.to_string())))
        .collect();
    lines.push(row("@name".into(), "address one agent".into()));
    let help = keymap.hint(Action::Help);
    if let Some(help) = &help {
        lines.push(row(help.clone(), "every key".into()));
    }
    lines.push(Line::styled(slash_commands(pattern), theme.dim_style()));
    // Short of rows: the keys that act now first, then where to find the rest.
    let rows = usize::from(area.height.saturating_sub(2));
    if lines.len() > rows && rows > 0 {
        lines.truncate(rows - 1);
        let more = help.map_or("more keys in the footer".to_string(), |h| {
            format!("{h} more keys")
        });
        lines.push(Line::styled(format!("… {more}"), theme.dim_style()));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
