//! Drawing a frame: the layout of the screen and which pane goes where.
//!
//! ```text
//! status bar                                               (1 row)
//! ┌ agent ┐┌ agent ┐┌ agent ┐   │ handoff panel
//! └───────┘└───────┘└───────┘   │ metrics panel
//! transcript                    │
//! input box                                           (1–6 lines)
//! footer key hints                                         (1 row)
//! ```
//! Wide screens get the agent grid (as many columns as fit at 36 cells each), the transcript
//! below it and a sidebar. Small screens, or too many agents for the grid, collapse the agents to
//! tabs showing the focused (or speaking) one, and the metrics to one line. Zoom gives the
//! focused pane the whole body. With `NO_COLOR`, colours are stripped from the finished frame.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::app::overlay::Overlay;
use super::app::panes::Focus;
use super::overlays;
use super::panes::{agent, handoff, input, metrics, status, transcript};
use crate::core::event::PatternKind;

/// Smallest agent pane in the grid before falling back to tabs.
const MIN_PANE_WIDTH: u16 = 36;
const MIN_PANE_HEIGHT: u16 = 6;

/// Draw the whole console.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    app.pane_rects.clear();
    let input_h = input::wanted_height(app);
    let [status_area, body, input_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);
    status::render_status(frame, status_area, app);
    draw_body(frame, body, app);
    input::render(frame, input_area, app);
    status::render_footer(frame, footer, app);
    if let Some(top) = app.overlays.last().cloned() {
        match top {
            Overlay::Help(scroll) => overlays::help::render(frame, area, app, scroll),
            Overlay::Picker(p) => overlays::picker::render(frame, area, app, &p),
            Overlay::Confirm(k) => overlays::confirm::render(frame, area, app, k),
        }
    }
    if app.no_color {
        strip_colors(frame.buffer_mut());
    }
}

/// Remove every colour from `buf`, keeping modifiers (NO_COLOR).
pub fn strip_colors(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        cell.underline_color = Color::Reset;
    }
}

fn draw_body(frame: &mut Frame<'_>, body: Rect, app: &mut App) {
    if app.panes.zoom {
        let focus = app.panes.focus;
        draw_pane(frame, body, app, focus);
        return;
    }
    let show_handoff =
        app.session.pattern == Some(PatternKind::Handoff) || !app.session.handoff.chain.is_empty();
    let n = app.session.agents.len() as u16;
    if body.width >= 100 && body.height >= 18 {
        let side_w = (body.width * 35 / 100).clamp(40, 64);
        let [main, side] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(side_w)]).areas(body);
        let handoff_h = if show_handoff {
            handoff::wanted_height(app)
        } else {
            0
        };
        let [handoff_area, metrics_area] =
            Layout::vertical([Constraint::Length(handoff_h), Constraint::Fill(1)]).areas(side);
        if show_handoff {
            handoff::render(frame, handoff_area, app);
        }
        metrics::render(frame, metrics_area, app);
        if n == 0 {
            draw_pane(frame, main, app, Focus::Transcript);
            return;
        }
        let [agents, trans] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Fill(1)]).areas(main);
        draw_agents(frame, agents, app);
        draw_pane(frame, trans, app, Focus::Transcript);
        return;
    }
    let handoff_h = if show_handoff {
        handoff::wanted_height(app).min(body.height / 3)
    } else {
        0
    };
    let agents_h = if n == 0 {
        0
    } else {
        (body.height * 35 / 100).max(MIN_PANE_HEIGHT)
    };
    let [agents, handoff_area, trans, summary] = Layout::vertical([
        Constraint::Length(agents_h),
        Constraint::Length(handoff_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(body);
    if n > 0 {
        draw_tabs(frame, agents, app);
    }
    if show_handoff {
        handoff::render(frame, handoff_area, app);
    }
    draw_pane(frame, trans, app, Focus::Transcript);
    let line = Line::styled(format!(" {}", metrics::summary(app)), app.theme.dim_style());
    frame.render_widget(Paragraph::new(line), summary);
}

fn draw_pane(frame: &mut Frame<'_>, area: Rect, app: &mut App, focus: Focus) {
    app.pane_rects.push((focus, area));
    match focus {
        Focus::Agent(i) => agent::render(frame, area, app, i, true),
        Focus::Transcript => transcript::render(frame, area, app),
    }
}

fn draw_agents(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let n = app.session.agents.len() as u16;
    let cols = n.min((area.width / MIN_PANE_WIDTH).max(1));
    let rows = n.div_ceil(cols);
    if area.height / rows.max(1) < MIN_PANE_HEIGHT {
        draw_tabs(frame, area, app);
        return;
    }
    let row_areas = Layout::vertical(vec![Constraint::Fill(1); usize::from(rows)]).split(area);
    let mut index = 0usize;
    for (r, row_area) in row_areas.iter().enumerate() {
        let in_row = (n - cols * r as u16).min(cols);
        let cells =
            Layout::horizontal(vec![Constraint::Fill(1); usize::from(in_row)]).split(*row_area);
        for cell in cells.iter() {
            let focused = app.panes.focus == Focus::Agent(index);
            app.pane_rects.push((Focus::Agent(index), *cell));
            agent::render(frame, *cell, app, index, focused);
            index += 1;
        }
    }
}

/// One agent at a time under a tab bar.
fn draw_tabs(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let shown = app
        .panes
        .focused_agent()
        .or_else(|| {
            app.session
                .speaking
                .as_deref()
                .and_then(|s| app.session.agent_index(s))
        })
        .unwrap_or(0);
    let [bar, pane] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let theme = &app.theme;
    let mut spans = Vec::new();
    for (i, a) in app.session.agents.iter().enumerate() {
        let color = app.agent_color(&a.info.name);
        let mark = if a.is_busy() { "◆" } else { "●" };
        let style = if i == shown {
            Style::new()
                .fg(theme.selection_fg)
                .bg(color)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(color)
        };
        spans.push(Span::styled(format!(" {mark} {} ", a.info.name), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), bar);
    let focused = app.panes.focus == Focus::Agent(shown);
    app.pane_rects.push((Focus::Agent(shown), pane));
    agent::render(frame, pane, app, shown, focused);
}
