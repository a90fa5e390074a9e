//! The status bar (backend, models, team, pattern, run state, elapsed time, the demo label) and
//! the footer of key hints, generated from the keymap for the actions the `App` says are worth
//! a hint right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use chrono::{DateTime, Utc};

use super::super::keymap::{Action, Keymap};
use super::super::state::{RunState, SessionView};
use super::super::theme::Theme;
use super::super::wrap::width_of;
use super::handoff::clock;

/// What the status bar says besides the session.
#[derive(Clone, Copy, Debug)]
pub struct StatusLine<'a> {
    pub backend_label: &'a str,
    /// The offline scripted backend: a DEMO label on the right.
    pub is_demo: bool,
    /// The clock, for the elapsed time.
    pub now: DateTime<Utc>,
}

/// Draw the status bar. Segments are dropped, least important first, until it fits.
pub fn render_status(
    frame: &mut Frame<'_>,
    area: Rect,
    session: &SessionView,
    line: StatusLine<'_>,
    theme: &Theme,
) {
    let base = Style::new().fg(theme.status_fg).bg(theme.status_bg);
    let mut models: Vec<&str> = session
        .agents
        .iter()
        .map(|a| a.info.model.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    models.sort_unstable();
    models.dedup();
    let run = session.run_state();
    let run_color = match run {
        RunState::Running => theme.success,
        RunState::Paused | RunState::Approval => theme.warning,
        RunState::Finished(_) => theme.accent,
        RunState::Idle | RunState::Waiting => theme.status_fg,
    };
    let dot = match run {
        RunState::Running => "● ",
        RunState::Paused => "‖ ",
        RunState::Approval => "⇄ ",
        RunState::Finished(_) => "■ ",
        _ => "○ ",
    };
    // (priority: lower is dropped first, spans)
    let mut segments: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    segments.push((
        1,
        vec![Span::styled(" conclave", base.add_modifier(Modifier::BOLD))],
    ));
    segments.push((
        7,
        vec![Span::styled(
            format!(" {dot}{}", run.label()),
            base.fg(run_color).add_modifier(Modifier::BOLD),
        )],
    ));
    let mut team = vec![Span::styled(
        format!(" team {}", session.team()),
        base.add_modifier(Modifier::BOLD),
    )];
    if let Some(p) = session.pattern() {
        team.push(Span::styled(format!(" · {}", p.as_str()), base));
    }
    segments.push((6, team));
    segments.push((
        5,
        vec![Span::styled(format!(" {}", line.backend_label), base)],
    ));
    if !models.is_empty() {
        let shown = if models.len() > 2 {
            format!("{} models", models.len())
        } else {
            models.join(", ")
        };
        segments.push((
            2,
            vec![Span::styled(format!(" {shown}"), base.fg(theme.dim))],
        ));
    }
    if let Some(r) = session.round() {
        segments.push((4, vec![Span::styled(format!(" round {r}"), base)]));
    }
    if let Some(start) = session.started_at {
        let end = if session.finished().is_some() {
            session.last_event_at.unwrap_or(line.now)
        } else {
            line.now
        };
        segments.push((
            3,
            vec![Span::styled(
                format!(" {}", clock(end - start)),
                base.fg(theme.dim),
            )],
        ));
    }
    let right = if line.is_demo {
        vec![Span::styled(
            " DEMO · offline scripted backend ",
            Style::new()
                .fg(theme.status_bg)
                .bg(theme.demo)
                .add_modifier(Modifier::BOLD),
        )]
    } else {
        Vec::new()
    };
    let width_of_spans =
        |spans: &[Span<'_>]| spans.iter().map(|s| width_of(&s.content)).sum::<usize>();
    let sep_w = 2;
    let total = |segs: &[(u8, Vec<Span<'static>>)]| {
        segs.iter()
            .map(|(_, s)| width_of_spans(s) + sep_w)
            .sum::<usize>()
            + width_of_spans(&right)
    };
    while total(&segments) > usize::from(area.width) && segments.len() > 1 {
        let Some(lowest) = segments
            .iter()
            .enumerate()
            .min_by_key(|(_, (p, _))| *p)
            .map(|(i, _)| i)
        else {
            break;
        };
        segments.remove(lowest);
    }
    let mut spans = Vec::new();
    for (i, (_, seg)) in segments.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │", base.fg(theme.dim)));
        }
        spans.extend(seg);
    }
    let used = width_of_spans(&spans) + width_of_spans(&right);
    spans.push(Span::styled(
        " ".repeat(usize::from(area.width).saturating_sub(used)),
        base,
    ));
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

/// Draw the footer hints, as many as fit; help and quit keep their place at the end.
pub fn render_footer(
    frame: &mut Frame<'_>,
    area: Rect,
    actions: &[(Action, &'static str)],
    keymap: &Keymap,
    theme: &Theme,
) {
    let hints: Vec<(String, &'static str, bool)> = actions
        .iter()
        .filter_map(|&(action, label)| {
            let key = keymap.hint(action)?;
            Some((
                key,
                label,
                matches!(action, Action::Help | Action::Quit | Action::ReplayQuit),
            ))
        })
        .collect();
    let width = |key: &str, label: &str| width_of(key) + width_of(label) + 3;
    let mut left = usize::from(area.width).saturating_sub(1);
    let reserved: usize = hints
        .iter()
        .filter(|(_, _, essential)| *essential)
        .map(|(k, l, _)| width(k, l))
        .sum();
    let mut spare = left.saturating_sub(reserved);
    let mut spans = vec![Span::raw(" ")];
    for (key, label, essential) in hints {
        let w = width(&key, label);
        let budget = if essential { &mut left } else { &mut spare };
        if w > *budget {
            if essential {
                break;
            }
            spare = 0;
            continue;
        }
        *budget -= w;
        if !essential {
            left = left.saturating_sub(w);
        }
        spans.push(Span::styled(
            key,
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {label}  "), theme.dim_style()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
