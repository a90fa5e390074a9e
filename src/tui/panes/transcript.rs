//! The transcript pane: every typed cell of the session in order. Each cell renders itself for a
//! width (`layout`) and caches the rows in the cell.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::super::app::App;
use super::super::app::panes::Focus;
use super::super::markdown::MdStyler;
use super::super::sanitize::clean_line;
use super::super::scroll::{self, Cells};
use super::super::state::outcome_label;
use super::super::state::transcript::{Entry, EntryKind};
use super::super::theme::Theme;
use super::wrap_indented;
use crate::core::event::{Approval, SelectedBy, VoteChoice};

/// The transcript as scrollable cells.
pub struct TranscriptCells<'a> {
    entries: &'a mut [Entry],
    theme: &'a Theme,
    colors: &'a BTreeMap<String, Color>,
}

impl<'a> TranscriptCells<'a> {
    pub fn new(
        entries: &'a mut [Entry],
        theme: &'a Theme,
        colors: &'a BTreeMap<String, Color>,
    ) -> TranscriptCells<'a> {
        TranscriptCells {
            entries,
            theme,
            colors,
        }
    }
}

impl Cells for TranscriptCells<'_> {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn rows(&mut self, index: usize, width: u16) -> &[Line<'static>] {
        let (theme, colors) = (self.theme, self.colors);
        match self.entries.get_mut(index) {
            Some(entry) => {
                let kind = &entry.kind;
                entry.cache.get_or(width, || {
                    layout(kind, width, theme, colors)
                        .into_iter()
                        .map(clean_line)
                        .collect()
                })
            }
            None => &[],
        }
    }
}

/// Draw the transcript in `area`.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &mut App) {
    let focused = app.panes.focus == Focus::Transcript;
    let colors = app.agent_colors();
    let theme = &app.theme;
    let st = &mut app.panes.transcript;
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Double
        } else {
            BorderType::Rounded
        })
        .border_style(Style::new().fg(if focused {
            theme.border_focused
        } else {
            theme.border
        }))
        .title(Line::from(vec![Span::styled(
            " Transcript ",
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        )]));
    if !st.is_following() {
        block = block.title_bottom(
            Line::styled(" ↑ scrolled · Ctrl+End follows ", theme.dim_style()).right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut cells = TranscriptCells::new(&mut app.session.transcript, theme, &colors);
    let lines = scroll::visible(&mut cells, st, inner.width, inner.height);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The rows of one cell.
pub fn layout(
    kind: &EntryKind,
    width: u16,
    theme: &Theme,
    colors: &BTreeMap<String, Color>,
) -> Vec<Line<'static>> {
    let who = |name: &str| {
        let c = colors.get(name).copied().unwrap_or(theme.accent);
        Span::styled(
            name.to_string(),
            Style::new().fg(c).add_modifier(Modifier::BOLD),
        )
    };
    let dim = |t: String| Span::styled(t, theme.dim_style());
    let styled = |t: String, c: Color| Span::styled(t, Style::new().fg(c));
    let one = |spans: Vec<Span<'static>>| wrap_indented(&[Line::from(spans)], width, 0);
    match kind {
        EntryKind::SessionStarted {
            team,
            pattern,
            agents,
        } => one(vec![
            styled("━━ ".into(), theme.accent),
            Span::styled(
                format!("team {team}"),
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            ),
            dim(format!(" · {} · {}", pattern.as_str(), agents.join(", "))),
        ]),
        EntryKind::User {
            text,
            to,
            interject,
        } => {
            let mut head = vec![Span::styled(
                "you",
                Style::new().fg(theme.user).add_modifier(Modifier::BOLD),
            )];
            if let Some(to) = to {
                head.push(dim(" → ".into()));
                head.push(who(&format!("@{to}")));
            }
            if *interject {
                head.push(dim(" (interjection)".into()));
            }
            let mut rows = vec![Line::default()];
            rows.extend(one(head));
            let body: Vec<Line<'static>> = text
                .lines()
                .map(|l| Line::styled(l.to_string(), theme.text_style()))
                .collect();
            rows.extend(wrap_indented(&body, width, 2));
            rows
        }
        EntryKind::Message { agent, round, text } => {
            let mut head = vec![who(agent)];
            if let Some(r) = round {
                head.push(dim(format!(" · round {r}")));
            }
            let mut rows = vec![Line::default()];
            rows.extend(one(head));
            rows.extend(wrap_indented(&MdStyler::text(text, theme), width, 2));
            rows
        }
        EntryKind::Cancelled { agent, partial } => {
            let mut rows = one(vec![
                dim("⊘ ".into()),
                who(agent),
                dim(" was cancelled".into()),
            ]);
            if !partial.trim().is_empty() {
                let body: Vec<Line<'static>> = partial
                    .lines()
                    .map(|l| Line::styled(l.to_string(), theme.dim_style()))
                    .collect();
                rows.extend(wrap_indented(&body, width, 2));
            }
            rows
        }
        EntryKind::Failed {
            agent,
            kind,
            message,
            will_retry,
        } => {
            let mut spans = vec![
                styled("✗ ".into(), theme.error),
                who(agent),
                styled(format!(" failed ({kind}): {message}"), theme.error),
            ];
            if *will_retry {
                spans.push(dim(" — retrying".into()));
            }
            one(spans)
        }
        EntryKind::Speaker { agent, by, reason } => {
            let by = match by {
                SelectedBy::RoundRobin => "round robin",
                SelectedBy::Manager => "manager",
                SelectedBy::Human => "you",
                SelectedBy::Random => "random",
            };
            let mut spans = vec![dim("» next: ".into()), who(agent), dim(format!(" ({by})"))];
            if let Some(r) = reason {
                spans.push(dim(format!(": {r}")));
            }
            one(spans)
        }
        EntryKind::HandoffRequested {
            from,
            to,
            reason,
            approval,
        } => {
            let mut spans = vec![
                styled("⇄ ".into(), theme.handoff),
                who(from),
                styled(" → ".into(), theme.handoff),
                who(to),
                Span::styled(format!(": {reason}"), theme.text_style()),
            ];
            if let Some(a) = approval.as_ref().filter(|a| **a != Approval::Auto) {
                spans.push(dim(format!(" [{a}]")));
            }
            one(spans)
        }
        EntryKind::HandoffAccepted { to, reason } => {
            let mut spans = vec![
                styled("  ✓ ".into(), theme.success),
                dim("handoff to ".into()),
                who(to),
                dim(" accepted".into()),
            ];
            if !reason.is_empty() {
                spans.push(dim(format!(": {reason}")));
            }
            one(spans)
        }
        EntryKind::HandoffRejected { to, reason } => one(vec![
            styled("  ✗ ".into(), theme.error),
            dim("handoff to ".into()),
            who(to),
            styled(format!(" rejected: {reason}"), theme.error),
        ]),
        EntryKind::HandoffRedirected {
            from_target,
            to,
            by,
        } => one(vec![
            styled("  ↪ ".into(), theme.warning),
            dim("handoff redirected from ".into()),
            who(from_target),
            dim(" to ".into()),
            who(to),
            dim(format!(" by {by}")),
        ]),
        EntryKind::HandoffCancelled { to, by } => one(vec![
            styled("  ⊘ ".into(), theme.warning),
            dim("handoff to ".into()),
            who(to),
            dim(format!(" cancelled by {by}")),
        ]),
        EntryKind::HandoffCompleted { from, to, summary } => one(vec![
            styled("  ↩ ".into(), theme.success),
            who(from),
            dim(" handed back to ".into()),
            who(to),
            Span::styled(format!(": {summary}"), theme.text_style()),
        ]),
        EntryKind::HandoffFallback { failed, to } => one(vec![
            styled("  ⤷ ".into(), theme.warning),
            who(failed),
            dim(" failed; fell back to ".into()),
            who(to),
        ]),
        EntryKind::Vote {
            round: _,
            agent,
            choice,
            reason,
        } => {
            let (mark, label, color) = vote_look(*choice, theme);
            one(vec![
                styled(format!("  {mark} "), color),
                who(agent),
                dim(" votes ".into()),
                Span::styled(
                    label.to_string(),
                    Style::new().fg(color).add_modifier(Modifier::BOLD),
                ),
                dim(format!(": {reason}")),
            ])
        }
        EntryKind::Consensus {
            round,
            reached,
            agree,
            disagree,
            abstain,
            threshold,
        } => {
            let (verdict, color) = if *reached {
                ("consensus reached", theme.success)
            } else {
                ("no consensus", theme.warning)
            };
            one(vec![
                styled("═ ".into(), color),
                Span::styled(
                    format!("round {round}: {verdict}"),
                    Style::new().fg(color).add_modifier(Modifier::BOLD),
                ),
                dim(format!(
                    " — {agree} agree · {disagree} disagree · {abstain} abstain (threshold {:.0}%)",
                    threshold * 100.0
                )),
            ])
        }
        EntryKind::Score {
            agent,
            score,
            reason,
        } => one(vec![
            styled("★ ".into(), theme.speaking),
            who(agent),
            Span::styled(
                format!(" scored {score:.1}"),
                Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
            ),
            dim(format!(": {reason}")),
        ]),
        EntryKind::Paused { by } => one(vec![
            styled("‖ ".into(), theme.warning),
            dim(format!("paused by {by}")),
        ]),
        EntryKind::Resumed { by } => one(vec![
            styled("▶ ".into(), theme.success),
            dim(format!("resumed by {by}")),
        ]),
        EntryKind::Error { message } => one(vec![Span::styled(
            format!("! {message}"),
            Style::new().fg(theme.error).add_modifier(Modifier::BOLD),
        )]),
        EntryKind::Finished {
            outcome,
            final_text,
        } => {
            let mut rows = vec![Line::default()];
            rows.extend(one(vec![Span::styled(
                format!("━━ finished: {}", outcome_label(*outcome)),
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            )]));
            if let Some(t) = final_text.as_deref().filter(|t| !t.trim().is_empty()) {
                rows.extend(wrap_indented(&MdStyler::text(t, theme), width, 2));
            }
            rows
        }
        EntryKind::Notice { text } => one(vec![Span::styled(
            format!("· {text}"),
            theme.dim_style().add_modifier(Modifier::ITALIC),
        )]),
    }
}

/// Mark, word and colour of a vote.
pub fn vote_look(choice: VoteChoice, theme: &Theme) -> (&'static str, &'static str, Color) {
    match choice {
        VoteChoice::Agree => ("✔", "agree", theme.success),
        VoteChoice::Disagree => ("✘", "disagree", theme.error),
        VoteChoice::Abstain => ("○", "abstain", theme.dim),
    }
}
