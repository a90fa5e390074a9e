//! An agent's pane: its answers, one block per turn, and the turn it is streaming, with the
//! agent's colour on the border and a highlight while it speaks.
//!
//! [`AgentCells`] exposes the blocks (and the live turn) as scrollable cells: a finished block is
//! laid out once per width (cached in the block); the live turn styles each completed line once,
//! wraps it once per width, and re-wraps only the raw tail on each frame.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::super::app::App;
use super::super::markdown::MdStyler;
use super::super::sanitize::strip_controls;
use super::super::scroll::{self, Cells};
use super::super::state::agents::{AgentStatus, AgentView, BlockKind, LiveTurn};
use super::super::theme::Theme;
use super::super::wrap::wrap_line;
use super::{wrap_hanging, wrap_indented};
use crate::core::event::Purpose;

/// The scrollable cells of one agent's pane.
pub struct AgentCells<'a> {
    agent: &'a mut AgentView,
    theme: &'a Theme,
}

impl<'a> AgentCells<'a> {
    pub fn new(agent: &'a mut AgentView, theme: &'a Theme) -> AgentCells<'a> {
        AgentCells { agent, theme }
    }
}

impl Cells for AgentCells<'_> {
    fn count(&self) -> usize {
        self.agent.blocks.len() + usize::from(self.agent.live.is_some())
    }

    fn rows(&mut self, index: usize, width: u16) -> &[Line<'static>] {
        let theme = self.theme;
        if index < self.agent.blocks.len() {
            let block = &mut self.agent.blocks[index];
            let (turn, round, kind) = (block.turn, block.round, block.kind);
            let text = &block.text;
            return block.cache.get_or(width, || {
                layout_block(turn, round, kind, text, width, theme)
            });
        }
        match &mut self.agent.live {
            Some(live) => layout_live(live, width, theme),
            None => &[],
        }
    }
}

/// Draw agent `index` in `area`.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &mut App, index: usize, focused: bool) {
    let color = app
        .session
        .agents
        .get(index)
        .map(|a| app.agent_color(&a.info.name));
    let (Some(agent), Some(color)) = (app.session.agents.get_mut(index), color) else {
        return;
    };
    let theme = &app.theme;
    let speaking =
        app.session.speaking.as_deref() == Some(agent.info.name.as_str()) || agent.is_busy();
    let status = match &agent.status {
        AgentStatus::Idle => Span::styled("idle", theme.dim_style()),
        AgentStatus::Thinking => Span::styled("thinking…", Style::new().fg(theme.speaking)),
        AgentStatus::Streaming => Span::styled(
            match agent.live.as_ref().map(|l| l.purpose) {
                Some(Purpose::Vote) => "voting…",
                Some(Purpose::Judge) => "judging…",
                Some(Purpose::SelectSpeaker) => "choosing…",
                Some(Purpose::Summarize) => "summarizing…",
                _ => "speaking…",
            },
            Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
        ),
        AgentStatus::Failed(_) => Span::styled("failed", Style::new().fg(theme.error)),
        AgentStatus::Cancelled => Span::styled("cancelled", theme.dim_style()),
    };
    let mut title = vec![
        Span::styled(if speaking { " ◆ " } else { " ● " }, Style::new().fg(color)),
        Span::styled(
            agent.info.name.clone(),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
    ];
    if !agent.info.model.is_empty() {
        title.push(Span::styled(
            format!(" · {}", agent.info.model),
            theme.dim_style(),
        ));
    }
    title.push(Span::raw(" "));
    let border_style = if speaking {
        Style::new().fg(color).add_modifier(Modifier::BOLD)
    } else if focused {
        Style::new().fg(theme.border_focused)
    } else {
        Style::new().fg(theme.border)
    };
    let Some(st) = app.panes.agents.get_mut(index) else {
        return;
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if speaking {
            BorderType::Thick
        } else if focused {
            BorderType::Double
        } else {
            BorderType::Rounded
        })
        .border_style(border_style)
        .title(Line::from(title))
        .title(Line::from(vec![Span::raw(" "), status, Span::raw(" ")]).right_aligned());
    if !st.is_following() {
        block = block.title_bottom(
            Line::styled(" ↑ scrolled · Ctrl+End follows ", theme.dim_style()).right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut cells = AgentCells::new(agent, theme);
    let mut lines = scroll::visible(&mut cells, st, inner.width, inner.height);
    if lines.is_empty() {
        lines.push(Line::styled("(no answers yet)", theme.dim_style()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn header(turn: u64, round: Option<u32>, note: &str, theme: &Theme) -> Line<'static> {
    let mut text = format!("── turn {turn}");
    if let Some(r) = round {
        text.push_str(&format!(" · round {r}"));
    }
    if !note.is_empty() {
        text.push_str(&format!(" · {note}"));
    }
    Line::styled(text, theme.dim_style())
}

fn layout_block(
    turn: u64,
    round: Option<u32>,
    kind: BlockKind,
    text: &str,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut rows = vec![header(turn, round, "", theme)];
    match kind {
        BlockKind::Answer => rows.extend(wrap_indented(&MdStyler::text(text, theme), width, 0)),
        BlockKind::Cancelled => {
            rows.extend(wrap_indented(&MdStyler::text(text, theme), width, 0));
            rows.push(Line::styled("⊘ cancelled", theme.dim_style()));
        }
        BlockKind::Failed => {
            let line = Line::styled(format!("✗ {text}"), Style::new().fg(theme.error));
            rows.extend(wrap_line(&line, width));
        }
    }
    rows
}

fn layout_live<'a>(live: &'a mut LiveTurn, width: u16, theme: &Theme) -> &'a [Line<'static>] {
    let lay = &mut live.layout;
    while lay.styled.len() < live.lines.len() {
        let line = lay.styler.line(&live.lines[lay.styled.len()], theme);
        lay.styled.push(line);
    }
    if lay.width != width || lay.wrapped.is_empty() {
        lay.width = width;
        lay.wrapped = vec![header(live.turn, live.round, "live", theme)];
        lay.wrapped_upto = 0;
        lay.committed = 1;
    }
    lay.wrapped.truncate(lay.committed);
    while lay.wrapped_upto < lay.styled.len() {
        let rows = wrap_hanging(&lay.styled[lay.wrapped_upto], width);
        lay.wrapped.extend(rows);
        lay.wrapped_upto += 1;
    }
    lay.committed = lay.wrapped.len();
    let tail = strip_controls(&live.tail);
    let tail_line = Line::from(vec![
        Span::styled(tail, theme.text_style()),
        Span::styled("▌", Style::new().fg(theme.speaking)),
    ]);
    lay.wrapped.extend(wrap_line(&tail_line, width));
    &lay.wrapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::AgentInfo;

    #[test]
    fn live_turn_lays_out_completed_lines_once_and_the_tail_raw() {
        let theme = Theme::dark();
        let mut agent = AgentView::new(AgentInfo {
            name: "a".into(),
            backend: "b".into(),
            model: "m".into(),
            color: None,
            price: None,
        });
        agent.start(1, None, Purpose::Speak);
        agent.token(1, "# Title\nsome **bold");
        let mut cells = AgentCells::new(&mut agent, &theme);
        let rows: Vec<String> = cells.rows(0, 40).iter().map(|l| l.to_string()).collect();
        assert_eq!(rows, ["── turn 1 · live", "Title", "some **bold▌"]);
        agent.token(1, "** text\n");
        let mut cells = AgentCells::new(&mut agent, &theme);
        let rows: Vec<String> = cells.rows(0, 40).iter().map(|l| l.to_string()).collect();
        assert_eq!(rows, ["── turn 1 · live", "Title", "some bold text", "▌"]);
        let styled = agent.live.as_ref().unwrap().layout.styled.len();
        assert_eq!(styled, 2);
    }
}
