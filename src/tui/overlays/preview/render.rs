//! Drawing the context preview: a tall popup between the status bar and the footer (at most
//! [`MAX_WIDTH`] cells wide), the target's system prompt first, then every message with its
//! number, sender and role above its wrapped text; the selected message has a bar down its left
//! side, a deleted one is struck through, an edited one says so. While a message is edited the
//! lower part of the popup is its editor. The rows each message took are written back to the
//! state for paging; the selected message is scrolled into view when asked (`reveal`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::{TextArea, WrapMode};

use super::super::super::keymap::{Action, Keymap};
use super::super::super::panes::AgentColors;
use super::super::super::sanitize::strip_controls;
use super::super::super::theme::Theme;
use super::super::super::wrap::{truncate, wrap_line};
use super::{CONCLAVE, ContextPreview, PreviewMessage};

/// The widest the popup gets on a wide screen: text wider than this is hard to read. Up to
/// [`MAX_WIDTH`] + [`MIN_MARGIN`] columns it takes the whole width (slivers of the panes beside
/// it would only be noise).
pub const MAX_WIDTH: u16 = 110;
const MIN_MARGIN: u16 = 30;
/// Rows of a message's text shown in the editor at most (it scrolls beyond).
const MAX_EDITOR_ROWS: u16 = 10;
/// The popup is never shorter than this (when the screen allows).
const MIN_HEIGHT: u16 = 12;

/// What the preview is drawn with besides its own state.
#[derive(Clone, Copy)]
pub struct PreviewLook<'a> {
    /// The handoff's window is held (the panel says so too).
    pub held: bool,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    pub colors: &'a AgentColors,
}

/// Draw `preview` in `area` (the screen between the status bar and the footer), with `editor`
/// below the list while a message is edited.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    preview: &mut ContextPreview,
    editor: Option<&mut TextArea<'static>>,
    look: PreviewLook<'_>,
) {
    let PreviewLook {
        held,
        keymap,
        theme,
        colors,
    } = look;
    let width = if area.width < MAX_WIDTH + MIN_MARGIN {
        area.width
    } else {
        MAX_WIDTH
    };
    // As tall as the request and its editor want (a short one leaves the screen around it),
    // centred in `area`.
    let lines = layout(preview, width.saturating_sub(2), theme, colors);
    let editor_rows = match &editor {
        Some(ta) if preview.editing => (ta.lines().len() as u16).clamp(3, MAX_EDITOR_ROWS) + 2,
        _ => 0,
    };
    let wanted = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2 + editor_rows);
    let rect = super::super::centered(area, width, wanted.max(MIN_HEIGHT));
    let bold = |c: Color| Style::new().fg(c).add_modifier(Modifier::BOLD);
    let window = if held { " · held" } else { "" };
    let title = format!(
        " Context {} receives · {} → {}{window} ",
        preview.to, preview.from, preview.to
    );
    let (deleted, edited) = preview.counts();
    let mut status = format!(
        " {}/{} ",
        (preview.selected + 1).min(preview.messages.len()),
        preview.messages.len()
    );
    if deleted + edited > 0 {
        status.push_str(&format!("· {deleted} deleted · {edited} edited "));
    }
    if let Some(flash) = &preview.flash {
        status.push_str(&format!("· {flash} "));
    }
    let keys = |a: Action, label: &str| {
        keymap
            .hint(a)
            .map(|k| format!("{k} {label}"))
            .unwrap_or_default()
    };
    let hint = format!(
        " {} · {} ",
        keys(Action::PreviewApprove, "approve"),
        keys(Action::PreviewClose, "back")
    );
    let block = theme
        .popup(theme.accent)
        .title(Span::styled(
            truncate(&title, usize::from(width.saturating_sub(4))),
            bold(theme.accent),
        ))
        .title_bottom(Line::styled(status, theme.dim_style()).left_aligned())
        .title_bottom(Line::styled(hint, theme.dim_style()).right_aligned());
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let (list_area, editor_area) = if editor_rows > 0 {
        let h = editor_rows.min(inner.height / 2).max(3);
        let [l, e] = Layout::vertical([Constraint::Fill(1), Constraint::Length(h)]).areas(inner);
        (l, Some(e))
    } else {
        (inner, None)
    };
    scroll_into_view(preview, usize::from(list_area.height), lines.len());
    let shown: Vec<Line<'static>> = lines
        .into_iter()
        .skip(preview.scroll)
        .take(usize::from(list_area.height))
        .collect();
    frame.render_widget(Paragraph::new(shown), list_area);
    if let (Some(ta), Some(area)) = (editor, editor_area) {
        let m = preview.current();
        let what = m.map_or(String::new(), |m| {
            format!(
                " Editing {}. {} · role {} ",
                preview.selected + 1,
                shown_sender(m),
                m.role
            )
        });
        let keys = format!(
            " {} · {} ",
            keys(Action::PreviewEditKeep, "keep"),
            keys(Action::PreviewEditDrop, "drop")
        );
        ta.set_block(
            theme
                .popup(theme.speaking)
                .title(Span::styled(what, bold(theme.speaking)))
                .title_bottom(Line::styled(keys, theme.dim_style()).right_aligned()),
        );
        ta.set_style(theme.text_style());
        ta.set_cursor_line_style(Style::new());
        ta.set_cursor_style(Style::new().add_modifier(Modifier::REVERSED));
        ta.set_wrap_mode(WrapMode::WordOrGlyph);
        frame.render_widget(&*ta, area);
    }
}

/// Every row of the preview at `width`, recording where each message starts and ends.
fn layout(
    preview: &mut ContextPreview,
    width: u16,
    theme: &Theme,
    colors: &AgentColors,
) -> Vec<Line<'static>> {
    let dim = theme.dim_style();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            "System prompt",
            Style::new().fg(theme.heading).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!("  {}'s own, sent first · {}", preview.to, preview.model),
            dim,
        ),
    ])];
    if let Some(note) = &preview.note {
        let style = Style::new().fg(theme.warning);
        lines.splice(0..0, body(note, width, "", style));
    }
    match preview.system.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(system) => lines.extend(body(system, width, "  ", dim)),
        None => lines.push(Line::styled("  (none)", dim)),
    }
    lines.push(Line::default());
    let mut spans = Vec::with_capacity(preview.messages.len());
    for (i, m) in preview.messages.iter().enumerate() {
        let first = lines.len();
        let selected = i == preview.selected;
        lines.push(header(i, m, selected, theme, colors));
        let (gutter, style) = match (selected, m.deleted) {
            (_, true) => (
                if selected { "┃ " } else { "  " },
                dim.add_modifier(Modifier::CROSSED_OUT),
            ),
            (true, false) => ("┃ ", theme.text_style()),
            (false, false) => ("  ", theme.text_style()),
        };
        let gutter_style = Style::new().fg(theme.accent);
        let text = if m.text.trim().is_empty() {
            "(empty)".to_string()
        } else {
            m.text.clone()
        };
        for row in body(&text, width, "", style) {
            let mut spans = vec![Span::styled(gutter, gutter_style)];
            spans.extend(row.spans);
            lines.push(Line::from(spans));
        }
        spans.push((first, lines.len()));
        lines.push(Line::default());
    }
    if preview.messages.is_empty() {
        lines.push(Line::styled("(no messages)", dim));
    } else {
        // No blank row after the last message.
        lines.pop();
    }
    preview.layout = spans;
    lines
}

/// `1. triage · user` with what happened to the message.
fn header(
    i: usize,
    m: &PreviewMessage,
    selected: bool,
    theme: &Theme,
    colors: &AgentColors,
) -> Line<'static> {
    let color = match m.sender.as_str() {
        "user" => theme.user,
        CONCLAVE => theme.dim,
        s if s.starts_with("tool ") => theme.accent,
        s => colors.of(s),
    };
    let marker = if selected { "▶ " } else { "  " };
    let mut spans = vec![
        Span::styled(
            format!("{marker}{}. ", i + 1),
            Style::new().fg(theme.accent).add_modifier(if selected {
                Modifier::BOLD
            } else {
                Modifier::empty()
            }),
        ),
        Span::styled(
            shown_sender(m),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" · role {}", m.role), theme.dim_style()),
    ];
    if !m.calls.is_empty() {
        spans.push(Span::styled(
            format!(" · called {}", m.calls.join(", ")),
            theme.dim_style(),
        ));
    }
    if m.deleted {
        spans.push(Span::styled(
            "  deleted",
            Style::new().fg(theme.error).add_modifier(Modifier::BOLD),
        ));
    } else if m.is_edited() {
        spans.push(Span::styled(
            "  edited",
            Style::new().fg(theme.warning).add_modifier(Modifier::BOLD),
        ));
    }
    let mut line = Line::from(spans);
    if selected {
        line = line.patch_style(Style::new().bg(theme.selection_bg));
    }
    line
}

/// The sender as the transcript names it: the person is `you`.
fn shown_sender(m: &PreviewMessage) -> String {
    match m.sender.as_str() {
        "user" => "you".to_string(),
        s => strip_controls(s),
    }
}

/// `text`'s lines wrapped to `width` less the indent and the gutter, each row after `indent`.
fn body(text: &str, width: u16, indent: &'static str, style: Style) -> Vec<Line<'static>> {
    // The indent or gutter on the left, a column of air on the right.
    let inner = width.saturating_sub(3).max(1);
    strip_controls(text)
        .lines()
        .flat_map(|l| wrap_line(&Line::styled(l.to_string(), style), inner))
        .map(|row| {
            let mut spans = vec![Span::raw(indent)];
            spans.extend(row.spans);
            Line::from(spans)
        })
        .collect()
}

/// Clamp the scroll to the content and, when asked, bring the selected message into view (its
/// first rows when it is taller than the view; the system prompt too for the first message).
fn scroll_into_view(preview: &mut ContextPreview, viewport: usize, total: usize) {
    preview.viewport = viewport;
    if preview.reveal {
        if let Some(&(first, end)) = preview.layout.get(preview.selected) {
            if preview.selected == 0 && end <= viewport {
                preview.scroll = 0;
            } else if first < preview.scroll || end - first > viewport {
                preview.scroll = first;
            } else if end > preview.scroll + viewport {
                preview.scroll = end - viewport;
            }
        }
        preview.reveal = false;
    }
    preview.scroll = preview.scroll.min(total.saturating_sub(viewport));
}
