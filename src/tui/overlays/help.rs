//! The help overlay: every binding of the keymap by context, generated from it, in as many
//! columns as the screen needs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::super::app::App;
use super::super::keymap::{Action, Context};
use super::super::wrap::truncate;
use super::centered;

/// Draw the help overlay.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let key_w = 16usize;
    for ctx in Context::ALL {
        let title = match ctx {
            Context::Global => "Anywhere",
            Context::Input => "Input box",
            Context::Completion => "Completion popup",
            Context::Picker => "Pickers",
            Context::Confirm => "Questions",
            Context::Help => "This help",
        };
        lines.push(Line::styled(
            title.to_string(),
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
        for a in Action::ALL.iter().filter(|a| a.context() == ctx) {
            let keys = truncate(&app.keymap.keys_display(*a), key_w - 1);
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<key_w$}"), Style::new().fg(theme.speaking)),
                Span::styled(a.describe().to_string(), theme.text_style()),
            ]));
        }
    }
    lines.push(Line::styled("Slash commands: /team /agents /vote /pause /resume /stop /export /new /sessions /fork /help", theme.dim_style()));
    let rows = area.height.saturating_sub(4).max(1) as usize;
    let columns = lines.len().div_ceil(rows).max(1);
    let col_w = 60u16.min(area.width.saturating_sub(4) / columns as u16);
    let height = (lines.len().div_ceil(columns) as u16 + 2).min(area.height);
    let width = (col_w * columns as u16 + 2).min(area.width);
    let rect = centered(area, width, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.accent))
        .style(Style::new().bg(theme.popup_bg))
        .title(Span::styled(
            " Keys ",
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ))
        .title_bottom(
            Line::styled(
                format!(" {} closes ", app.keymap.keys_display(Action::HelpClose)),
                theme.dim_style(),
            )
            .right_aligned(),
        );
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let per_col = lines.len().div_ceil(columns);
    let cols = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(inner);
    for (chunk, col) in lines.chunks(per_col.max(1)).zip(cols.iter()) {
        let w = usize::from(col.width);
        let fitted: Vec<Line<'static>> = chunk
            .iter()
            .map(|l| {
                let text: String = l.to_string();
                if text.chars().count() <= w {
                    l.clone()
                } else {
                    let style = l.spans.last().map(|s| s.style).unwrap_or_default();
                    let mut spans = l.spans.clone();
                    if let Some(first) = spans.first().cloned() {
                        let rest = truncate(
                            &text[first.content.len()..],
                            w.saturating_sub(first.content.chars().count()),
                        );
                        spans = vec![first, Span::styled(rest, style)];
                    }
                    Line::from(spans)
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(fitted), *col);
    }
}
