//! A picker: a titled list to choose one item from (redirect target, next speaker, team, agent).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, List, ListItem, ListState};

use super::super::keymap::{Action, Keymap};
use super::super::panes::AgentColors;
use super::super::theme::Theme;
use super::super::wrap::width_of;
use super::{Picker, centered};

/// Draw `picker`; items that name an agent take its colour.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    picker: &Picker,
    colors: &AgentColors,
    keymap: &Keymap,
    theme: &Theme,
) {
    let content_w = picker
        .items
        .iter()
        .zip(
            picker
                .details
                .iter()
                .chain(std::iter::repeat(&String::new())),
        )
        .map(|(i, d)| width_of(i) + width_of(d) + 6)
        .chain([width_of(&picker.title) + 4, 40])
        .max()
        .unwrap_or(40) as u16;
    let rect = centered(area, content_w + 2, picker.items.len() as u16 + 2);
    let items: Vec<ListItem<'_>> = picker
        .items
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut spans = vec![Span::styled(
                format!(" {name}"),
                Style::new()
                    .fg(colors.of(name))
                    .add_modifier(Modifier::BOLD),
            )];
            if let Some(d) = picker.details.get(i).filter(|d| !d.is_empty()) {
                spans.push(Span::styled(format!("  {d}"), theme.dim_style()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let hint = format!(
        " {} choose · {} close ",
        keymap.hint(Action::PickerSelect).unwrap_or_default(),
        keymap.hint(Action::PickerClose).unwrap_or_default()
    );
    let list = List::new(items)
        .block(
            theme
                .popup(theme.accent)
                .title(Span::styled(
                    format!(" {} ", picker.title),
                    Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
                ))
                .title_bottom(Line::styled(hint, theme.dim_style()).right_aligned()),
        )
        .highlight_style(theme.selection_style())
        .highlight_symbol("›");
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_widget(Clear, rect);
    frame.render_stateful_widget(list, rect, &mut state);
}
