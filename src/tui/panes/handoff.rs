//! The handoff panel: who holds control and for how long, the pending request with the countdown
//! of its approval window (or `held`), the keys that decide it and the one that previews what its
//! target will receive, and the chain of transfers.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use chrono::{DateTime, Utc};

use super::super::keymap::{Action, Keymap};
use super::super::sanitize::clean_line;
use super::super::theme::Theme;
use super::super::wrap::truncate;
use super::AgentColors;
use crate::view::{Handoffs, TransferState};

/// Rows the panel wants for its content (borders included).
pub fn wanted_height(h: &Handoffs) -> u16 {
    let chain = (h.transfers.len().min(MAX_TRANSFERS) as u16 * 2).max(1);
    let pending = u16::from(h.pending().is_some()) * 4;
    3 + pending + chain
}

/// The newest transfers shown; older ones are in the transcript.
const MAX_TRANSFERS: usize = 4;

/// What the handoff panel draws with besides the chain itself.
#[derive(Clone, Copy)]
pub struct HandoffLook<'a> {
    /// Who holds control.
    pub holder: Option<&'a str>,
    /// The clock, for the holder's time and the approval countdown.
    pub now: DateTime<Utc>,
    /// For the keys that decide a pending request.
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    pub colors: &'a AgentColors,
}

/// Draw the handoff panel.
pub fn render(frame: &mut Frame<'_>, area: Rect, h: &Handoffs, look: HandoffLook<'_>) {
    let HandoffLook {
        holder: current_holder,
        now,
        keymap: km,
        theme,
        colors,
    } = look;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(if h.pending().is_some() {
            theme.speaking
        } else {
            theme.border
        }))
        .title(Span::styled(
            " Handoff ",
            Style::new().fg(theme.handoff).add_modifier(Modifier::BOLD),
        ));
    let who = |name: &str| {
        Span::styled(
            name.to_string(),
            Style::new()
                .fg(colors.of(name))
                .add_modifier(Modifier::BOLD),
        )
    };
    let dim = |t: String| Span::styled(t, theme.dim_style());
    let mut lines = Vec::new();
    let mut holder = vec![dim("holder ".into())];
    match current_holder {
        Some(name) => {
            holder.push(who(name));
            if let Some(since) = h
                .current()
                .and_then(|t| t.active_since.filter(|_| t.to == name))
            {
                holder.push(dim(format!(" · for {}", clock(now - since))));
            }
        }
        None => holder.push(dim("—".into())),
    }
    lines.push(Line::from(holder));
    if let Some(p) = h.pending() {
        let mut spans = vec![
            Span::styled("▸ ", Style::new().fg(theme.speaking)),
            who(&p.from),
            Span::styled(" → ", Style::new().fg(theme.handoff)),
            who(&p.to),
        ];
        match h.window_left_ms(now) {
            Some(left) => spans.push(Span::styled(
                format!("  {:.1}s left", left as f64 / 1000.0),
                Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
            )),
            None if p.held => spans.push(Span::styled(
                "  held",
                Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
            )),
            None => spans.push(Span::styled(
                "  awaiting approval",
                Style::new().fg(theme.speaking),
            )),
        }
        lines.push(Line::from(spans));
        let rows: [&[(Action, &str)]; 3] = [
            &[
                (Action::ApproveHandoff, "approve"),
                (Action::RejectHandoff, "reject"),
            ],
            &[
                (Action::RedirectHandoff, "redirect"),
                (Action::CancelHandoff, "cancel"),
            ],
            &[(Action::PreviewContext, "preview the request")],
        ];
        for pair in rows {
            let mut keys = vec![Span::raw("  ")];
            for &(action, label) in pair {
                if let Some(k) = km.hint(action) {
                    keys.push(Span::styled(
                        k,
                        Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
                    ));
                    keys.push(dim(format!(" {label:<10}")));
                }
            }
            lines.push(Line::from(keys));
        }
    }
    if h.transfers.is_empty() {
        lines.push(dim("no transfers yet".into()).into());
    }
    let shown = usize::from(area.height.saturating_sub(2)).saturating_sub(lines.len()) / 2;
    let skip = h
        .transfers
        .len()
        .saturating_sub(shown.clamp(1, MAX_TRANSFERS));
    let inner_w = usize::from(area.width.saturating_sub(2));
    for (i, t) in h.transfers.iter().enumerate().skip(skip) {
        let color = match &t.state {
            TransferState::Requested => theme.speaking,
            TransferState::Accepted | TransferState::Completed(_) => theme.success,
            TransferState::Rejected(_) => theme.error,
            TransferState::Cancelled(_) | TransferState::FellBack { .. } => theme.warning,
        };
        lines.push(Line::from(vec![
            dim(format!("{}. ", i + 1)),
            who(&t.from),
            dim(" → ".into()),
            who(&t.to),
            Span::styled(
                format!("  {}", t.state.label()),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            ),
        ]));
        let mut parts = Vec::new();
        match &t.state {
            TransferState::FellBack { failed } => parts.push(format!("{failed} failed")),
            TransferState::Rejected(r) if !r.is_empty() => parts.push(r.clone()),
            TransferState::Completed(s) if !s.is_empty() => parts.push(format!("done: {s}")),
            _ => parts.push(t.reason.clone()),
        }
        if let Some((orig, by)) = &t.redirected {
            parts.push(format!("was {orig}, redirected by {by}"));
        }
        let detail = parts.join(" · ");
        lines.push(Line::from(dim(truncate(&format!("   {detail}"), inner_w))));
    }
    let lines: Vec<Line<'static>> = lines.into_iter().map(clean_line).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `m:ss` of a duration (negative counts as zero).
pub fn clock(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
