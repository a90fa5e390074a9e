//! The replay bar: where the input box is in a live console, a console playing a recorded
//! session says where the player stands (`‖ paused · seq 57 / 120 · 2x`), the count being
//! typed for a seek key, and why a key did nothing. Also the `seq` label the transcript's
//! focused cell gets, so `/fork SEQ` (or `conclave sessions fork ID --at SEQ`) can be typed
//! from what is on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::super::app::replay::ReplayBar;
use super::super::theme::Theme;

/// Draw the bar in `area` (as tall as an empty input box).
pub fn render(frame: &mut Frame<'_>, area: Rect, bar: &ReplayBar, theme: &Theme) {
    let st = &bar.status;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.accent))
        .title(Span::styled(
            format!(" replay {} ", st.session),
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
    let (glyph, color) = if st.at_end() {
        ("■ ", theme.accent)
    } else if st.paused {
        ("‖ ", theme.warning)
    } else {
        ("▶ ", theme.success)
    };
    let seq = st.seq.map_or_else(|| "-".to_string(), |s| s.to_string());
    let mut spans = vec![
        Span::styled(
            format!("{glyph}{}", st.state_label()),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" · seq {seq} / {}", st.last_seq),
            theme.text_style(),
        ),
        Span::styled(
            format!(" · event {} of {}", st.played, st.total),
            theme.dim_style(),
        ),
        Span::styled(format!(" · {}", st.speed_label()), theme.text_style()),
    ];
    if let Some(n) = bar.count {
        spans.push(Span::styled(
            format!(" · N = {n}"),
            Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(word) = bar.refused.as_ref().or(st.note.as_ref()) {
        spans.push(Span::styled(
            format!(" · {word}"),
            Style::new().fg(theme.warning),
        ));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(Line::from(spans)), inner);
}

/// Write ` seq N ` on the bottom border of the pane drawn in `area`, left of anything else.
pub fn render_seq_label(frame: &mut Frame<'_>, area: Rect, seq: u64, theme: &Theme) {
    let label = format!(" seq {seq} ");
    let width = label.chars().count() as u16;
    if area.height < 2 || area.width < width + 4 {
        return;
    }
    let at = Rect {
        x: area.x + 2,
        y: area.y + area.height - 1,
        width,
        height: 1,
    };
    let style = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
    frame.render_widget(Paragraph::new(Line::styled(label, style)), at);
}
