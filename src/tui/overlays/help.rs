//! The help overlay: every binding of the keymap by context, generated from it. As many
//! columns of about 60 cells as the screen holds; what still does not fit scrolls.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::super::keymap::{Action, Context, Keymap};
use super::super::theme::Theme;
use super::super::wrap::truncate;
use super::centered;

const KEY_W: usize = 18;
const COLUMN_W: u16 = 62;

/// Draw the help overlay scrolled down by `scroll` rows.
pub fn render(frame: &mut Frame<'_>, area: Rect, keymap: &Keymap, theme: &Theme, scroll: u16) {
    render_for(frame, area, keymap, theme, scroll, false);
}

/// Draw the help overlay; `replay`: the console plays a recorded session, so the `replay` keys
/// come first (a live console leaves them out).
pub fn render_for(
    frame: &mut Frame<'_>,
    area: Rect,
    keymap: &Keymap,
    theme: &Theme,
    scroll: u16,
    replay: bool,
) {
    let lines = content(keymap, replay);
    let avail_w = area.width.saturating_sub(4).max(10);
    let rows = usize::from(area.height.saturating_sub(4).max(1));
    let max_cols = usize::from((avail_w / COLUMN_W).max(1));
    let columns = lines.len().div_ceil(rows).clamp(1, max_cols);
    let per_col = lines.len().div_ceil(columns);
    let col_w = (avail_w / columns as u16).min(COLUMN_W);
    let height = (per_col.min(rows) as u16 + 2).min(area.height);
    let rect = centered(area, col_w * columns as u16 + 2, height);
    let scrollable = per_col > rows;
    let max_scroll = per_col.saturating_sub(rows);
    let scroll = usize::from(scroll).min(max_scroll);
    let mut block = super::info_block(" Keys ", keymap, theme);
    if scrollable {
        let hint = format!(" {}/{} ↓↑ ", scroll + rows.min(per_col), per_col);
        block = block.title_bottom(Line::styled(hint, theme.dim_style()).left_aligned());
    }
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let cols = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(inner);
    for (chunk, col) in lines.chunks(per_col.max(1)).zip(cols.iter()) {
        let w = usize::from(col.width);
        let fitted: Vec<Line<'static>> = chunk
            .iter()
            .skip(scroll)
            .map(|(k, d, title)| fit(k, d, *title, w, theme))
            .collect();
        frame.render_widget(Paragraph::new(fitted), *col);
    }
}

/// (keys, description, is a section title)
fn content(keymap: &Keymap, replay: bool) -> Vec<(String, String, bool)> {
    let mut lines = Vec::new();
    let contexts = Context::ALL.into_iter().filter(|c| *c != Context::Replay);
    let first = replay.then_some(Context::Replay);
    for ctx in first.into_iter().chain(contexts) {
        let title = match ctx {
            Context::Global => "Anywhere",
            Context::Input => "Input box",
            Context::Completion => "Completion popup",
            Context::Picker => "Pickers",
            Context::Confirm => "Questions",
            Context::Help => "This help and /tools",
            Context::Plan => "Plan pane",
            Context::PlanEdit => "Plan review",
            Context::PlanText => "Plan review text",
            Context::Replay => "Replay (type digits for N)",
            Context::Reason => "Reason for a rejection",
            Context::Preview => "Context preview",
            Context::PreviewEdit => "Editing a previewed message",
        };
        if !lines.is_empty() {
            lines.push((String::new(), String::new(), false));
        }
        lines.push((title.to_string(), String::new(), true));
        for a in Action::ALL.iter().filter(|a| a.context() == ctx) {
            lines.push((keymap.keys_display(*a), a.describe().to_string(), false));
        }
    }
    lines.push((String::new(), String::new(), false));
    lines.push(("Slash commands".into(), String::new(), true));
    lines.push((
        "/team /agents /vote".into(),
        "/pause /resume /stop".into(),
        false,
    ));
    lines.push(("/export /new /fork".into(), "/sessions /help".into(), false));
    lines.push(("/diff ID".into(), "diff against a session".into(), false));
    lines.push((
        "/tools".into(),
        "MCP servers, tools, who may use them".into(),
        false,
    ));
    lines
}

fn fit(keys: &str, desc: &str, title: bool, w: usize, theme: &Theme) -> Line<'static> {
    if title {
        return Line::styled(
            truncate(keys, w),
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        );
    }
    let key_w = KEY_W.min(w / 2);
    let keys = truncate(keys, key_w.saturating_sub(1));
    Line::from(vec![
        Span::styled(format!(" {keys:<key_w$}"), Style::new().fg(theme.speaking)),
        Span::styled(
            truncate(desc, w.saturating_sub(key_w + 1)),
            theme.text_style(),
        ),
    ])
}
