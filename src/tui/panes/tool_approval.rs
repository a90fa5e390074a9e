//! The tool-call approval panel, in the side column above the handoff panel (or under the
//! agents on a narrow screen) while MCP calls wait for the person: the calls as a list (agent,
//! `server.tool`, the arguments on one line, the countdown of a `window` approval), the chosen
//! one's full arguments, and the keys that decide it. The core has no hold for a tool's window
//! (as `hold_handoff` is for a handoff's), so a `window` call keeps counting while the person
//! chooses; the panel says so.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::super::keymap::{Action, Keymap};
use super::super::sanitize::{clean_line, strip_controls};
use super::super::theme::Theme;
use super::super::wrap::{truncate, width_of, wrap_line};
use super::AgentColors;
use super::calls::squeeze;
use super::wrap_indented;
use crate::view::CallView;
use crate::view::tools::{FOLD, fold};

/// Waiting calls listed; more are counted.
const MAX_LISTED: usize = 4;
/// Rows of the chosen call's arguments.
const MAX_ARG_ROWS: usize = 6;

/// Rows the panel wants for `waiting` calls at `width` (borders included).
pub fn wanted_height(
    waiting: &[CallView<'_>],
    chosen: Option<&str>,
    width: u16,
    keymap: &Keymap,
) -> u16 {
    if waiting.is_empty() {
        return 0;
    }
    let listed = waiting.len().min(MAX_LISTED) + usize::from(waiting.len() > MAX_LISTED);
    let inner = width.saturating_sub(2);
    let args = chosen_of(waiting, chosen).map_or(0, |c| {
        argument_rows(&c.record.arguments, inner, Style::new()).len()
    });
    let keys = key_rows(waiting.len(), keymap, &Theme::dark(), inner).len();
    (2 + listed + args + keys) as u16
}

/// The keys that decide the chosen call, wrapped to `width`.
fn key_rows(waiting: usize, keymap: &Keymap, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let mut keys = vec![Span::raw("  ")];
    let mut pairs = vec![
        (Action::ApproveHandoff, "approve"),
        (Action::RejectHandoff, "reject"),
    ];
    if waiting > 1 {
        pairs.push((Action::SelectCallNext, "next"));
    }
    pairs.push((Action::ToggleCall, "unfold"));
    for (action, label) in pairs {
        if let Some(k) = keymap.hint(action) {
            keys.push(Span::styled(
                k,
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            ));
            keys.push(Span::styled(format!(" {label}  "), theme.dim_style()));
        }
    }
    wrap_line(&Line::from(keys), width)
}

/// The chosen call's arguments, pretty-printed and wrapped, cut at [`MAX_ARG_ROWS`].
fn argument_rows(arguments: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    let text = strip_controls(&pretty(arguments));
    let mut rows: Vec<Line<'static>> = text
        .lines()
        .flat_map(|l| wrap_indented(&[Line::styled(l.to_string(), style)], width, 4))
        .collect();
    if rows.len() > MAX_ARG_ROWS {
        rows.truncate(MAX_ARG_ROWS - 1);
        rows.push(Line::styled(
            "    … (unfold the call in its pane for the rest)",
            style,
        ));
    }
    rows
}

/// The call the keys act on: the chosen one if it waits, else the oldest.
pub fn chosen_of<'a>(
    waiting: &'a [CallView<'a>],
    chosen: Option<&str>,
) -> Option<&'a CallView<'a>> {
    waiting
        .iter()
        .find(|c| Some(c.id) == chosen)
        .or_else(|| waiting.first())
}

fn pretty(arguments: &str) -> String {
    serde_json::from_str::<serde_json::Value>(arguments)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| arguments.to_string())
}

/// `runs in 3.2 s` for a call in a window, else `waiting`.
pub fn countdown(call: &CallView<'_>, now: DateTime<Utc>) -> String {
    match call.window_left_ms(now) {
        Some(left) => format!("runs in {:.1} s", left as f64 / 1000.0),
        None => "waiting".into(),
    }
}

/// Draw the panel.
#[allow(clippy::too_many_arguments)]
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    waiting: &[CallView<'_>],
    chosen: Option<&str>,
    now: DateTime<Utc>,
    keymap: &Keymap,
    theme: &Theme,
    colors: &AgentColors,
) {
    let title = if waiting.len() == 1 {
        " Tool call waits ".to_string()
    } else {
        format!(" {} tool calls wait ", waiting.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.speaking))
        .title(Span::styled(
            title,
            Style::new().fg(theme.warning).add_modifier(Modifier::BOLD),
        ));
    let inner_w = area.width.saturating_sub(2);
    let w = usize::from(inner_w);
    let dim = theme.dim_style();
    let chosen = chosen_of(waiting, chosen);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for call in waiting.iter().take(MAX_LISTED) {
        let is_chosen = chosen.is_some_and(|c| c.id == call.id);
        let agent = call.record.agent.clone();
        let left = format!("  {}", countdown(call, now));
        let fixed = 2 + width_of(&agent) + 1;
        let (subject, left, room) = squeeze(&call.subject(), &left, fixed, w);
        let args = strip_controls(&fold(&call.record.arguments, FOLD));
        let subject_style = if is_chosen {
            Style::new()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().fg(theme.text).add_modifier(Modifier::BOLD)
        };
        lines.push(Line::from(vec![
            Span::styled(
                if is_chosen { "▸ " } else { "  " },
                Style::new().fg(theme.speaking),
            ),
            Span::styled(
                agent.clone(),
                Style::new()
                    .fg(colors.of(&agent))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(" "),
            Span::styled(subject, subject_style),
            Span::styled(
                if room >= 4 {
                    format!(" {}", truncate(&args, room - 1))
                } else {
                    String::new()
                },
                dim,
            ),
            Span::styled(
                left,
                Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
            ),
        ]));
    }
    if waiting.len() > MAX_LISTED {
        lines.push(Line::styled(
            format!("  … {} more", waiting.len() - MAX_LISTED),
            dim,
        ));
    }
    // The keys stay; the arguments give way when the panel is short of rows.
    let keys = key_rows(waiting.len(), keymap, theme, inner_w);
    if let Some(call) = chosen {
        let room =
            usize::from(area.height.saturating_sub(2)).saturating_sub(lines.len() + keys.len());
        let mut args = argument_rows(&call.record.arguments, inner_w, dim);
        if args.len() > room {
            args.truncate(room.saturating_sub(1));
            if room > 0 {
                args.push(Line::styled("    … (unfold the call in its pane)", dim));
            }
        }
        lines.extend(args);
    }
    lines.extend(keys);
    let lines: Vec<Line<'static>> = lines.into_iter().map(clean_line).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
