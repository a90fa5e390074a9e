//! MCP tool calls inline in an agent's pane: one compact cell per call, between the agent's
//! answers in the order they came (see [`PaneCell`](crate::tui::state::agents::PaneCell)).
//!
//! A folded call is its line (mark, `server.tool`, the arguments folded to one line, how it
//! stands: a spinner while it runs, `waiting for you` while it waits for the person, with the
//! window's countdown, ✓ or ✗ with its duration and size once it is done) and, once answered, the
//! result's first line. Unfolded ([`CallFocus::unfolded`]), it shows the arguments pretty-printed
//! and the result, each cut at a few dozen lines with a note saying how many were left out. The
//! words come from the view ([`crate::view::tools`]); what a call is comes from core's record
//! joined with the view's extras ([`CallView`]). A cell is laid out again only when what it shows
//! changed ([`CallKey`]): its width, status, selection, fold, result, or the spinner's frame.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::sanitize::strip_controls;
use super::super::theme::Theme;
use super::super::wrap::{truncate, width_of};
use super::wrap_indented;
use crate::core::state::calls::CallStatus;
use crate::view::tools::{FOLD, fold, size};
use crate::view::{CallView, View};

/// Lines of an unfolded call's arguments, and of its result, shown before the rest is cut.
pub const UNFOLD_ARGS: usize = 16;
pub const UNFOLD_RESULT: usize = 24;
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// How often the spinner moves (the run loop redraws this often while a call runs).
pub const SPINNER_MS: i64 = 120;

/// Which call the person has chosen (the approval panel and the call keys act on it) and which
/// calls are unfolded, by call id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFocus {
    pub selected: Option<String>,
    pub unfolded: BTreeSet<String>,
}

impl CallFocus {
    /// Fold or unfold call `id`.
    pub fn toggle(&mut self, id: &str) {
        if !self.unfolded.remove(id) {
            self.unfolded.insert(id.to_string());
        }
    }
}

/// What the agent pane needs to draw its calls.
#[derive(Clone, Copy, Debug)]
pub struct CallsLook<'a> {
    pub view: &'a View,
    pub focus: &'a CallFocus,
    /// The clock, for the spinner and the window's countdown.
    pub now: DateTime<Utc>,
}

/// Everything a call's cell shows that can change: same key, same rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CallKey {
    width: u16,
    status: CallStatus,
    selected: bool,
    unfolded: bool,
    answered: bool,
    header: bool,
    /// The spinner's frame, or the countdown's tenth of a second.
    tick: i64,
}

/// A call's cell with the key it was laid out for.
#[derive(Clone, Debug, Default)]
pub struct CallCache {
    entry: Option<(CallKey, Vec<Line<'static>>)>,
}

impl CallCache {
    /// The rows of `call`, laid out again only when its key changed. `header`: the first call of
    /// its turn's run of calls, which opens with the turn's rule.
    pub fn rows(
        &mut self,
        call: CallView<'_>,
        header: bool,
        look: &CallsLook<'_>,
        width: u16,
        theme: &Theme,
    ) -> &[Line<'static>] {
        let key = CallKey {
            width,
            status: call.record.status,
            selected: look.focus.selected.as_deref() == Some(call.id),
            unfolded: look.focus.unfolded.contains(call.id),
            answered: call.result().is_some(),
            header,
            tick: tick(&call, look.now),
        };
        if self.entry.as_ref().is_none_or(|(k, _)| *k != key) {
            let rows = layout(call, &key, look.now, theme);
            self.entry = Some((key, rows));
        }
        self.entry.as_ref().map_or(&[], |(_, rows)| rows.as_slice())
    }
}

/// What moves in a call's line: the spinner while it runs, the countdown while it waits.
fn tick(call: &CallView<'_>, now: DateTime<Utc>) -> i64 {
    match call.record.status {
        CallStatus::Asked | CallStatus::Running => now.timestamp_millis() / SPINNER_MS,
        CallStatus::Waiting => call.window_left_ms(now).map_or(-1, |ms| (ms / 100) as i64),
        _ => 0,
    }
}

/// Fit `subject` and `words` on a line of `width` after `fixed` cells, the subject cut first
/// (down to a few cells), then the words: (subject, words, cells left for the arguments).
pub fn squeeze(subject: &str, words: &str, fixed: usize, width: usize) -> (String, String, usize) {
    let room = width.saturating_sub(fixed + width_of(words));
    let subject = if width_of(subject) > room {
        truncate(subject, room.max(8))
    } else {
        subject.to_string()
    };
    let left = width.saturating_sub(fixed + width_of(&subject));
    let words = if width_of(words) > left {
        truncate(words, left)
    } else {
        words.to_string()
    };
    let args = width.saturating_sub(fixed + width_of(&subject) + width_of(&words));
    (subject, words, args)
}

/// `3.2 s` or `250 ms`.
fn duration(ms: u64) -> String {
    if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// The mark, its colour, and the words of how a call stands.
fn standing(call: &CallView<'_>, now: DateTime<Utc>, theme: &Theme) -> (String, Style, String) {
    let spin = SPINNER[(now.timestamp_millis() / SPINNER_MS).rem_euclid(10) as usize];
    let warn = Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD);
    match call.record.status {
        CallStatus::Asked => (spin.into(), warn, "starting".into()),
        CallStatus::Running => (spin.into(), warn, "running".into()),
        CallStatus::Waiting => {
            let words = match call.window_left_ms(now) {
                Some(left) => format!("waiting for you · runs in {}", duration(left)),
                None => "waiting for you".into(),
            };
            ("⏸".into(), Style::new().fg(theme.warning), words)
        }
        CallStatus::Rejected => ("✗".into(), Style::new().fg(theme.error), "rejected".into()),
        CallStatus::Interrupted => ("⊘".into(), theme.dim_style(), "interrupted".into()),
        CallStatus::Done => {
            let (content, is_error, ms) = call.result().unwrap_or(("", false, None));
            let mut words = Vec::new();
            if is_error {
                words.push("failed".to_string());
            }
            if let Some(ms) = ms {
                words.push(duration(ms));
            }
            words.push(size(content.len()));
            let (mark, style) = if is_error {
                ("✗", Style::new().fg(theme.error))
            } else {
                ("✓", Style::new().fg(theme.success))
            };
            (mark.into(), style, words.join(" · "))
        }
    }
}

fn layout(
    call: CallView<'_>,
    key: &CallKey,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = key.width;
    let w = usize::from(width);
    let mut rows = Vec::new();
    if key.header {
        rows.push(Line::styled(
            format!("── turn {} · tools", call.record.turn),
            theme.dim_style(),
        ));
    }
    let (mark, mark_style, words) = standing(&call, now, theme);
    let pointer = if key.selected { "▸ " } else { "  " };
    let fixed = width_of(pointer) + width_of(&mark) + 1;
    let (subject, words, args_room) = squeeze(&call.subject(), &format!("  {words}"), fixed, w);
    let args = strip_controls(&fold(&call.record.arguments, FOLD));
    let args = if args_room >= 4 {
        format!(" {}", truncate(&args, args_room - 1))
    } else {
        String::new()
    };
    let subject_style = if key.selected {
        Style::new()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    } else {
        Style::new().fg(theme.text).add_modifier(Modifier::BOLD)
    };
    let line = Line::from(vec![
        Span::styled(pointer, Style::new().fg(theme.accent)),
        Span::styled(mark, mark_style),
        Span::raw(" "),
        Span::styled(subject, subject_style),
        Span::styled(args, theme.dim_style()),
        Span::styled(words, mark_style),
    ]);
    rows.push(line);
    let rejected = call.extra.and_then(|x| x.rejected.as_ref());
    if !key.unfolded {
        let first = match (rejected, call.result()) {
            (Some((by, reason)), _) => Some(format!("rejected by {by}: {reason}")),
            (None, Some((content, _, _))) => Some(content.lines().next().unwrap_or("").to_string()),
            _ => None,
        };
        if let Some(first) = first {
            let style = if call.result().is_some_and(|r| r.1) {
                Style::new().fg(theme.error)
            } else {
                theme.dim_style()
            };
            let text = truncate(&strip_controls(&fold(&first, FOLD)), w.saturating_sub(6));
            rows.push(Line::from(vec![
                Span::styled("    ↳ ", theme.dim_style()),
                Span::styled(text, style),
            ]));
        }
        return rows;
    }
    rows.push(Line::styled("    arguments", theme.dim_style()));
    let pretty = serde_json::from_str::<serde_json::Value>(&call.record.arguments)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| call.record.arguments.clone());
    push_cut(
        &mut rows,
        &pretty,
        UNFOLD_ARGS,
        theme.text_style(),
        width,
        theme,
    );
    if let Some((by, reason)) = rejected {
        rows.push(Line::styled(
            format!("    rejected by {by}: {reason}"),
            Style::new().fg(theme.error),
        ));
    }
    match call.result() {
        Some((content, is_error, _)) => {
            rows.push(Line::styled(
                if is_error { "    error" } else { "    result" },
                theme.dim_style(),
            ));
            let style = if is_error {
                Style::new().fg(theme.error)
            } else {
                theme.text_style()
            };
            push_cut(&mut rows, content, UNFOLD_RESULT, style, width, theme);
        }
        None => rows.push(Line::styled("    (no result yet)", theme.dim_style())),
    }
    rows
}

/// `text` indented under a call, at most `max` of its lines, then a note of what was left out.
fn push_cut(
    rows: &mut Vec<Line<'static>>,
    text: &str,
    max: usize,
    style: Style,
    width: u16,
    theme: &Theme,
) {
    let clean = strip_controls(text);
    let lines: Vec<&str> = clean.lines().collect();
    for l in lines.iter().take(max) {
        let line = Line::styled(l.replace('\t', "    "), style);
        rows.extend(wrap_indented(&[line], width, 6));
    }
    if lines.len() > max {
        let more = lines.len() - max;
        rows.push(Line::styled(
            format!(
                "      … {more} more line{} (the transcript and /export keep it all)",
                if more == 1 { "" } else { "s" }
            ),
            theme.dim_style().add_modifier(Modifier::ITALIC),
        ));
    }
}
