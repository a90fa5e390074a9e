//! Drawing a frame: the layout of the screen and which pane goes where.
//!
//! ```text
//! status bar                                               (1 row)
//! ┌ agent ┐┌ agent ┐┌ agent ┐   │ tool calls waiting (only while one waits)
//! │       ││       ││       │   │ handoff panel
//! │       ││       ││       │   │ metrics panel
//! └───────┘└───────┘└───────┘   │ steering panel (keys of the pattern)
//! transcript (full width)
//! input box                                           (1–6 lines)
//! footer key hints                                         (1 row)
//! ```
//! Wide screens get the agent grid (as many columns as fit at 36 cells each) beside the side
//! panels, each as tall as it wants (the steering panel only when it fits), and the transcript
//! below both at full width, so no column is left mostly blank. Small screens, or too many agents for the grid, collapse the agents to
//! tabs showing the focused (or speaking) one, and the metrics to one line. Zoom gives the
//! focused pane the whole body. With `NO_COLOR`, colours are stripped from the finished frame.
//!
//! This is the one place that knows both the `App` and the panes: it hands each pane the part
//! of the `App` it draws from.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::app::hints::steering_actions;
use super::overlays::{self, Overlay};
use super::panes::agent::AgentLook;
use super::panes::calls::CallsLook;
use super::panes::handoff::HandoffLook;
use super::panes::plan::{self, PlanLook};
use super::panes::status::StatusLine;
use super::panes::{
    AgentColors, Focus, handoff, input, metrics, replay, status, steering, tool_approval,
};
use crate::core::event::PatternKind;

/// Fewer rows than this (two keys and the borders) and the steering panel is left out.
const MIN_STEERING_HEIGHT: u16 = 4;

/// Smallest agent pane in the grid before falling back to tabs.
const MIN_PANE_WIDTH: u16 = 36;
const MIN_PANE_HEIGHT: u16 = 6;
/// Rows the transcript keeps in the wide layout, however tall the side panels want to be.
const MIN_TRANSCRIPT_HEIGHT: u16 = 8;

/// Draw the whole console.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    app.pane_rects.clear();
    let colors = app.agent_colors();
    let input_h = input::wanted_height(&app.input);
    let [status_area, body, input_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);
    let line = StatusLine {
        backend_label: &app.backend_label,
        is_demo: app.is_demo,
        now: app.now,
    };
    let key = app.screen.key(app.now);
    let (session, theme) = (&app.session, &app.theme);
    app.screen.status.draw(frame, status_area, key, |f| {
        status::render_status(f, status_area, session, line, theme)
    });
    draw_body(frame, body, app, &colors);
    let target = app.input_target();
    let overlay_open = !app.overlays.is_empty();
    match &app.replay {
        // A replay sends nothing: its bar stands where the input box is.
        Some(bar) => replay::render(frame, input_area, bar, &app.theme),
        None => input::render(
            frame,
            input_area,
            &mut app.input,
            &target,
            overlay_open,
            &app.theme,
        ),
    }
    let mut cache = std::mem::take(&mut app.screen.footer);
    cache.draw(frame, footer, key, |f| {
        let hints = app.hint_actions();
        status::render_footer(f, footer, &hints, &app.keymap, &app.theme);
    });
    app.screen.footer = cache;
    let (keymap, theme) = (&app.keymap, &app.theme);
    match app.overlays.last() {
        Some(Overlay::Help(scroll)) => {
            overlays::help::render_for(frame, area, keymap, theme, *scroll, app.replay.is_some())
        }
        Some(Overlay::Picker(p)) => {
            overlays::picker::render(frame, area, p, &colors, keymap, theme)
        }
        Some(Overlay::Confirm(k)) => {
            let running = app.session.is_running();
            overlays::confirm::render(frame, area, *k, running, keymap, theme)
        }
        Some(Overlay::Reason(p)) => {
            let left = app.reason_countdown(p);
            overlays::reason::render(frame, area, p, left.as_deref(), keymap, theme)
        }
        Some(Overlay::Tools(report, scroll)) => {
            overlays::tools::render(frame, area, report, *scroll, keymap, theme)
        }
        Some(Overlay::Preview(_)) => draw_preview(frame, status_area, footer, app, &colors),
        Some(Overlay::PlanEdit(editor)) => {
            let window = app.session.plan_window_label(app.now);
            let look = overlays::plan_edit::render::EditLook {
                window: &window,
                keymap,
                theme,
                colors: &colors,
            };
            overlays::plan_edit::render::render(frame, area, editor, look);
        }
        None => {}
    }
    if app.no_color {
        strip_colors(frame.buffer_mut());
    }
}

/// The context preview, between the status bar and the footer.
fn draw_preview(
    frame: &mut Frame<'_>,
    status: Rect,
    footer: Rect,
    app: &mut App,
    colors: &AgentColors,
) {
    let top = status.y + status.height;
    let area = Rect::new(status.x, top, status.width, footer.y.saturating_sub(top));
    let held = app.session.handoff().pending().is_some_and(|t| t.held);
    let look = overlays::preview::render::PreviewLook {
        held,
        keymap: &app.keymap,
        theme: &app.theme,
        colors,
    };
    if let Some(Overlay::Preview(p)) = app.overlays.last_mut() {
        overlays::preview::render::render(frame, area, p, app.preview_editor.as_mut(), look);
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

fn draw_body(frame: &mut Frame<'_>, body: Rect, app: &mut App, colors: &AgentColors) {
    if app.panes.zoom {
        // A waiting tool call stays in sight above the zoomed pane.
        let calls_h = calls_height(app, body.width).min(body.height / 2);
        let [calls_area, pane] =
            Layout::vertical([Constraint::Length(calls_h), Constraint::Fill(1)]).areas(body);
        draw_calls(frame, calls_area, app, colors);
        let focus = app.panes.focus;
        draw_pane(frame, pane, app, colors, focus);
        return;
    }
    let show_handoff = app.session.pattern() == Some(PatternKind::Handoff)
        || !app.session.handoff().transfers.is_empty();
    // A plan team's Plan pane takes the handoff panel's place, at the top of the side column
    // (wide) or under the agent tabs (small).
    let show_plan = app.panes.plan.is_some();
    let panel_h = if show_plan {
        plan::wanted_height(app.session.plan())
    } else if show_handoff {
        handoff::wanted_height(app.session.handoff())
    } else {
        0
    };
    let n = app.session.agents.len() as u16;
    if body.width >= 100 && body.height >= 18 {
        let side_w = (body.width * 35 / 100).clamp(40, 64);
        let handoff_h = panel_h;
        let calls_h = calls_height(app, side_w);
        if n == 0 {
            let [main, side] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(side_w)]).areas(body);
            let [calls_area, handoff_area, metrics_area] = Layout::vertical([
                Constraint::Length(calls_h),
                Constraint::Length(handoff_h),
                Constraint::Fill(1),
            ])
            .areas(side);
            draw_calls(frame, calls_area, app, colors);
            draw_panel(frame, handoff_area, app, colors, show_plan, show_handoff);
            draw_metrics(frame, metrics_area, app, colors);
            draw_transcript(frame, main, app, colors);
            return;
        }
        // The agents and the side panels share the top rows: half the body, or what the handoff
        // and metrics panels want; the steering panel fills what is left there when it fits. The
        // transcript takes the full width below.
        let metrics_h = metrics::wanted_height(&app.session);
        let steer = steering_actions(app.session.pattern());
        let steer_h = steering::wanted_height(steer.len());
        let top_h = (body.height / 2)
            .max(calls_h + handoff_h + metrics_h)
            .min(body.height.saturating_sub(MIN_TRANSCRIPT_HEIGHT));
        let [top, trans] =
            Layout::vertical([Constraint::Length(top_h), Constraint::Fill(1)]).areas(body);
        let [agents, side] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(side_w)]).areas(top);
        // A waiting tool call stops its turn: its panel goes first.
        let calls_h = calls_h.min(top_h);
        let [calls_area, side] =
            Layout::vertical([Constraint::Length(calls_h), Constraint::Fill(1)]).areas(side);
        draw_calls(frame, calls_area, app, colors);
        let top_h = top_h - calls_h;
        let handoff_h = handoff_h.min(top_h);
        let metrics_h = metrics_h.min(top_h - handoff_h);
        // The steering panel takes the rows left over, clipped to the keys that act now when it
        // cannot have all it wants (the footer and F1 still list every key).
        let with_steering = top_h - handoff_h - metrics_h >= steer_h.min(MIN_STEERING_HEIGHT);
        let [handoff_area, metrics_area, steer_area] = Layout::vertical([
            Constraint::Length(handoff_h),
            if with_steering {
                Constraint::Length(metrics_h)
            } else {
                Constraint::Fill(1)
            },
            if with_steering {
                Constraint::Fill(1)
            } else {
                Constraint::Length(0)
            },
        ])
        .areas(side);
        draw_panel(frame, handoff_area, app, colors, show_plan, show_handoff);
        draw_metrics(frame, metrics_area, app, colors);
        if with_steering {
            let pattern = app.session.pattern();
            let key = app.screen.key(app.now);
            let (keymap, theme) = (&app.keymap, &app.theme);
            app.screen.steering.draw(frame, steer_area, key, |f| {
                steering::render(f, steer_area, &steer, pattern, keymap, theme)
            });
        }
        draw_agents(frame, agents, app, colors);
        draw_transcript(frame, trans, app, colors);
        return;
    }
    let handoff_h = panel_h.min(body.height / 3);
    let agents_h = if n == 0 {
        0
    } else {
        (body.height * 35 / 100).max(MIN_PANE_HEIGHT)
    };
    let calls_h = calls_height(app, body.width).min(body.height / 3);
    let [agents, calls_area, handoff_area, trans, summary] = Layout::vertical([
        Constraint::Length(agents_h),
        Constraint::Length(calls_h),
        Constraint::Length(handoff_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(body);
    if n > 0 {
        draw_tabs(frame, agents, app, colors);
    }
    draw_calls(frame, calls_area, app, colors);
    draw_panel(frame, handoff_area, app, colors, show_plan, show_handoff);
    draw_transcript(frame, trans, app, colors);
    let line = Line::styled(
        format!(" {}", metrics::summary(&app.session)),
        app.theme.dim_style(),
    );
    frame.render_widget(Paragraph::new(line), summary);
}

/// Rows of the tool-call approval panel at `width` (none while no call waits).
fn calls_height(app: &App, width: u16) -> u16 {
    let view = &app.session.view;
    let waiting = view.calls.waiting(&view.state);
    let chosen = app.panes.calls.selected.as_deref();
    tool_approval::wanted_height(&waiting, chosen, width, &app.keymap)
}

fn draw_calls(frame: &mut Frame<'_>, area: Rect, app: &App, colors: &AgentColors) {
    let view = &app.session.view;
    let waiting = view.calls.waiting(&view.state);
    if waiting.is_empty() || area.height == 0 {
        return;
    }
    let chosen = app.panes.calls.selected.as_deref();
    let (now, keymap, theme) = (app.now, &app.keymap, &app.theme);
    tool_approval::render(frame, area, &waiting, chosen, now, keymap, theme, colors);
}

/// The panel of the team's pattern: the Plan pane, or the handoff panel.
fn draw_panel(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &mut App,
    colors: &AgentColors,
    show_plan: bool,
    show_handoff: bool,
) {
    if show_plan {
        app.pane_rects.push((Focus::Plan, area));
        draw_plan(frame, area, app, colors);
    } else if show_handoff {
        draw_handoff(frame, area, app, colors);
    }
}

fn draw_plan(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors) {
    let planner = app.session.planner().map(str::to_string);
    let look = PlanLook {
        focused: app.panes.focus == Focus::Plan,
        now: app.now,
        window_left_ms: app.session.plan_window_left_ms(app.now),
        planner: planner.as_deref(),
        keymap: &app.keymap,
        theme: &app.theme,
        colors,
    };
    if let Some(pane) = &mut app.panes.plan {
        pane.render(frame, area, &app.session.view.state.plan, look);
    }
}

fn draw_handoff(frame: &mut Frame<'_>, area: Rect, app: &App, colors: &AgentColors) {
    let look = HandoffLook {
        holder: app.session.holder(),
        now: app.now,
        keymap: &app.keymap,
        theme: &app.theme,
        colors,
    };
    handoff::render(frame, area, app.session.handoff(), look);
}

fn draw_pane(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors, focus: Focus) {
    app.pane_rects.push((focus, area));
    match focus {
        Focus::Agent(i) => draw_agent(frame, area, app, colors, i, true),
        Focus::Transcript => {
            let focused = app.panes.focus == Focus::Transcript;
            app.panes.transcript.render(
                frame,
                area,
                &app.session.transcript,
                focused,
                &app.theme,
                colors,
            );
            if app.is_replay()
                && let Some(seq) = app.focused_seq()
            {
                replay::render_seq_label(frame, area, seq, &app.theme);
            }
        }
        Focus::Plan => draw_plan(frame, area, app, colors),
    }
}

/// The metrics panel, through its cache.
fn draw_metrics(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors) {
    let key = app.screen.key(app.now);
    let (session, theme) = (&app.session, &app.theme);
    app.screen.metrics.draw(frame, area, key, |f| {
        metrics::render(f, area, session, theme, colors)
    });
}

/// The transcript pane, through its cache (the zoomed one is drawn by `draw_pane`).
fn draw_transcript(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors) {
    let key = app.screen.key(app.now);
    let mut cache = std::mem::take(&mut app.screen.transcript);
    let mut drawn = false;
    cache.draw(frame, area, key, |f| {
        drawn = true;
        draw_pane(f, area, app, colors, Focus::Transcript);
    });
    app.screen.transcript = cache;
    if !drawn {
        app.pane_rects.push((Focus::Transcript, area));
    }
}

/// Draw agent `index` in `area`.
fn draw_agent(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &mut App,
    colors: &AgentColors,
    index: usize,
    focused: bool,
) {
    let (Some(agent), Some(pane)) = (
        app.session.agents.get(index),
        app.panes.agents.get_mut(index),
    ) else {
        return;
    };
    let look = AgentLook {
        status: app.session.agent_status(index),
        color: colors.of(&agent.info.name),
        speaking: app.session.speaking() == Some(agent.info.name.as_str())
            || app.session.is_busy(index),
        focused,
        wait: app
            .config
            .backends
            .get(&agent.info.backend)
            .filter(|b| b.kind != crate::config::BackendKind::Scripted)
            .map(crate::llm::http::first_token_wait),
    };
    let turns = &app.session.view.state.turns;
    let calls = CallsLook {
        view: &app.session.view,
        focus: &app.panes.calls,
        now: app.now,
    };
    pane.render(frame, area, (agent, turns, &calls), look, &app.theme);
}

fn draw_agents(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors) {
    let n = app.session.agents.len() as u16;
    let cols = n.min((area.width / MIN_PANE_WIDTH).max(1));
    let rows = n.div_ceil(cols);
    if area.height / rows.max(1) < MIN_PANE_HEIGHT {
        draw_tabs(frame, area, app, colors);
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
            draw_agent(frame, *cell, app, colors, index, focused);
            index += 1;
        }
    }
}

/// One agent at a time under a tab bar.
fn draw_tabs(frame: &mut Frame<'_>, area: Rect, app: &mut App, colors: &AgentColors) {
    let shown = app
        .panes
        .focused_agent()
        .or_else(|| {
            app.session
                .speaking()
                .and_then(|s| app.session.agent_index(s))
        })
        .unwrap_or(0);
    let [bar, pane] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let theme = &app.theme;
    let mut spans = Vec::new();
    for (i, a) in app.session.agents.iter().enumerate() {
        let color = colors.of(&a.info.name);
        let mark = if app.session.is_busy(i) { "◆" } else { "●" };
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
    draw_agent(frame, pane, app, colors, shown, focused);
}
