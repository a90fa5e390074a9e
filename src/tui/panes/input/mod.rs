//! The input box (ratatui-textarea) and its completion popup for `/commands` and `@agents`: its
//! state (`state`: text, history, completion) and how it is drawn.

pub mod state;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, List, ListItem, ListState};

use super::super::theme::Theme;
pub use state::{Completion, InputState, SLASH_COMMANDS};

/// Rows the input box wants: its lines (up to 6) and the borders.
pub fn wanted_height(input: &InputState) -> u16 {
    input.line_count().clamp(1, 6) as u16 + 2
}

/// Draw the input box in `area`, titled `target` (what Enter does: ` message `, ` to @a `, …),
/// and the completion popup above it. While an overlay has the keys the box is drawn inactive.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    input: &mut InputState,
    target: &str,
    focused_overlay: bool,
    theme: &Theme,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(if focused_overlay {
            theme.border
        } else {
            theme.accent
        }))
        .title(Span::styled(
            target.to_string(),
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
    let ta = &mut input.textarea;
    ta.set_block(block);
    ta.set_style(theme.text_style());
    ta.set_cursor_line_style(Style::new());
    ta.set_placeholder_style(theme.dim_style());
    ta.set_cursor_style(if focused_overlay {
        Style::new()
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    });
    frame.render_widget(&*ta, area);
    if let Some(c) = &input.completion {
        let height = (c.items.len() as u16).min(8) + 2;
        let width = c
            .items
            .iter()
            .map(|(i, d)| (i.chars().count() + d.chars().count() + 4) as u16)
            .max()
            .unwrap_or(20)
            .clamp(20, area.width.max(20));
        let popup = Rect {
            x: area.x + 1,
            y: area.y.saturating_sub(height),
            width: width.min(area.width.saturating_sub(2)),
            height: height.min(area.y),
        };
        let items: Vec<ListItem<'_>> = c
            .items
            .iter()
            .map(|(i, d)| {
                ListItem::new(Line::from(vec![
                    Span::styled(
                        i.clone(),
                        Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(format!("  {d}"), theme.dim_style()),
                ]))
            })
            .collect();
        let list = List::new(items)
            .block(theme.popup(theme.accent))
            .highlight_style(theme.selection_style());
        let mut state = ListState::default().with_selected(Some(c.selected));
        frame.render_widget(Clear, popup);
        frame.render_stateful_widget(list, popup, &mut state);
    }
}
