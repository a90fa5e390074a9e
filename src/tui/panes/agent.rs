//! An agent's pane: its answers, one block per turn, and the turn it is streaming, with the
//! agent's colour on the border and a highlight while it speaks.
//!
//! [`AgentPane`] is the pane's own state: its scroll position, the rows of each finished block
//! (laid out once per width) and the rows of the live turn (each completed line styled once and
//! wrapped once per width; the tail, the paragraph still streaming, cleaned and wrapped only
//! where it grew since the last frame). It draws from the
//! agent's [`AgentView`], which holds no render state, and core's records of its turns.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::super::cache::CellCaches;
use super::super::markdown::MdStyler;
use super::super::put::put;
use super::super::sanitize::strip_controls;
use super::super::scroll::{self, Cells, ScrollBy, ScrollState};
use super::super::state::agents::{
    AgentStatus, AgentView, Block as TurnBlock, BlockKind, LiveTurn, PaneCell,
};
use super::super::theme::Theme;
use super::super::wrap::{Wrapper, wrap_line};
use super::calls::{CallCache, CallsLook};
use super::{scrolled_hint, wrap_hanging, wrap_indented};
use crate::core::event::Purpose;
use crate::core::state::TurnRecord;
use crate::core::state::calls::CallStatus;
use crate::text::Sanitizer;

/// Core's record of every turn of the session, where a finished block's text lives.
pub type Turns = BTreeMap<u64, TurnRecord>;

/// One agent's pane.
#[derive(Debug, Default)]
pub struct AgentPane {
    pub scroll: ScrollState,
    blocks: CellCaches,
    live: LiveLayout,
    /// The rows of each of the agent's MCP calls, by call.
    calls: Vec<CallCache>,
}

/// How the agent pane shows itself this frame.
#[derive(Clone, Debug)]
pub struct AgentLook {
    /// What the agent is doing (the label on the right).
    pub status: AgentStatus,
    /// The agent's colour (border, name).
    pub color: Color,
    /// It is the speaker (or busy): a thick border in its colour.
    pub speaking: bool,
    pub focused: bool,
    /// The longest its backend may take to start answering, shown while it thinks (none for
    /// backends without one, like the scripted one).
    pub wait: Option<std::time::Duration>,
}

impl AgentPane {
    pub fn is_following(&self) -> bool {
        self.scroll.is_following()
    }

    /// Draw `agent` in `area`.
    pub fn render(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        (agent, turns, calls): (&AgentView, &Turns, &CallsLook<'_>),
        look: AgentLook,
        theme: &Theme,
    ) {
        let AgentLook {
            color,
            speaking,
            focused,
            status,
            wait,
        } = look;
        // Between the replies of a tool loop the turn waits on its calls.
        let calling = agent.calls.iter().rev().take(8).find_map(|(_, id)| {
            match calls.view.state.calls.get(id)?.status {
                CallStatus::Waiting => Some("waiting for you"),
                CallStatus::Asked | CallStatus::Running => Some("calling a tool…"),
                _ => None,
            }
        });
        let status = match status {
            AgentStatus::Idle => Span::styled("idle", theme.dim_style()),
            AgentStatus::Thinking if calling.is_some() && agent.live.is_none() => Span::styled(
                calling.unwrap_or_default(),
                Style::new().fg(theme.warning).add_modifier(Modifier::BOLD),
            ),
            AgentStatus::Thinking => Span::styled(
                match (
                    agent.live.as_ref().and_then(|l| l.waiting_for.as_ref()),
                    wait,
                ) {
                    (Some(backend), _) => format!("waiting for {backend}…"),
                    (None, Some(wait)) => format!("thinking… up to {}", short_duration(wait)),
                    (None, None) => "thinking…".to_string(),
                },
                Style::new().fg(theme.speaking),
            ),
            AgentStatus::Streaming => Span::styled(
                match agent.live.as_ref().map(|l| l.purpose) {
                    Some(Purpose::Vote) => "voting…",
                    Some(Purpose::Judge) => "judging…",
                    Some(Purpose::SelectSpeaker) => "choosing…",
                    Some(Purpose::Summarize) => "summarizing…",
                    Some(Purpose::Router) => "routing…",
                    Some(Purpose::Planner) => "planning…",
                    Some(Purpose::Synthesize) => "writing the answer…",
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
        if !self.scroll.is_following() {
            block = block.title_bottom(scrolled_hint(theme));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let (mut cells, st) = self.cells(agent, turns, calls, theme);
        let mut lines = scroll::visible(&mut cells, st, inner.width, inner.height);
        if lines.is_empty() {
            lines.push(Line::styled("(no answers yet)", theme.dim_style()));
        }
        put(frame.buffer_mut(), inner, &lines);
    }

    /// Scroll through `agent`'s blocks.
    pub fn scroll(
        &mut self,
        by: ScrollBy,
        (agent, turns, calls): (&AgentView, &Turns, &CallsLook<'_>),
        theme: &Theme,
    ) {
        let (mut cells, st) = self.cells(agent, turns, calls, theme);
        scroll::scroll_by(&mut cells, st, by);
    }

    /// Show cell `index` at the top of the pane (a chosen call), unless the pane follows its
    /// end and the cell is on screen there anyway: the view follows again once nothing is below.
    pub fn reveal(&mut self, index: usize) {
        self.scroll.pos = scroll::Scroll::At {
            cell: index,
            row: 0,
        };
    }

    fn cells<'a>(
        &'a mut self,
        agent: &'a AgentView,
        turns: &'a Turns,
        calls: &'a CallsLook<'a>,
        theme: &'a Theme,
    ) -> (AgentCells<'a>, &'a mut ScrollState) {
        self.blocks.fit(agent.blocks.len());
        self.calls.truncate(agent.calls.len());
        self.calls
            .resize_with(agent.calls.len(), CallCache::default);
        let cells = AgentCells {
            agent,
            turns,
            blocks: &mut self.blocks,
            live: &mut self.live,
            calls: &mut self.calls,
            look: calls,
            theme,
        };
        (cells, &mut self.scroll)
    }
}

/// The scrollable cells of one agent's pane: its blocks, then the live turn.
struct AgentCells<'a> {
    agent: &'a AgentView,
    turns: &'a Turns,
    blocks: &'a mut CellCaches,
    live: &'a mut LiveLayout,
    calls: &'a mut Vec<CallCache>,
    look: &'a CallsLook<'a>,
    theme: &'a Theme,
}

impl Cells for AgentCells<'_> {
    fn count(&self) -> usize {
        self.agent.cell_count()
    }

    fn rows(&mut self, index: usize, width: u16) -> &[Line<'static>] {
        let theme = self.theme;
        match self.agent.cell(index) {
            Some(PaneCell::Block(i)) => {
                let Some(block) = self
                    .agent
                    .blocks
                    .get(i)
                    .and_then(|&turn| TurnBlock::of(self.turns, turn))
                else {
                    return &[];
                };
                self.blocks
                    .cell(i)
                    .get_or(width, || layout_block(block, width, theme))
            }
            Some(PaneCell::Call(k)) => {
                let look = self.look;
                let Some(call) = self
                    .agent
                    .calls
                    .get(k)
                    .and_then(|(_, id)| look.view.calls.get(&look.view.state, id))
                else {
                    return &[];
                };
                // The first of a run of calls of one turn opens with the turn's rule.
                let header = k == 0
                    || self.agent.call_cell(k - 1).map(|c| c + 1) != self.agent.call_cell(k)
                    || self
                        .agent
                        .calls
                        .get(k - 1)
                        .and_then(|(_, id)| look.view.state.calls.get(id).map(|c| c.turn))
                        != Some(call.record.turn);
                match self.calls.get_mut(k) {
                    Some(cache) => cache.rows(call, header, look, width, theme),
                    None => &[],
                }
            }
            Some(PaneCell::Live) => match &self.agent.live {
                Some(live) => self.live.rows(live, width, theme),
                None => &[],
            },
            None => &[],
        }
    }
}

/// What the pane keeps for the live turn so that each completed line is styled once and
/// wrapped once per width, and the tail (the paragraph being streamed) is cleaned and wrapped
/// only where it grew: a frame costs the same at the 10th word of a paragraph and at the 2,000th.
#[derive(Debug, Default)]
struct LiveLayout {
    /// The [`LiveTurn::epoch`] these rows belong to.
    epoch: u64,
    styler: MdStyler,
    styled: Vec<Line<'static>>,
    width: u16,
    /// The header, the rows of completed lines, the tail's closed rows, then its open rows.
    wrapped: Vec<Line<'static>>,
    /// How many styled lines `wrapped` holds; rows past `committed` are the tail's.
    wrapped_upto: usize,
    committed: usize,
    tail: Option<TailLayout>,
}

/// The live tail as laid out so far. The tail only grows until a newline completes it (then
/// `LiveTurn::lines` grows and the tail starts over), so what was fed stays valid.
#[derive(Debug)]
struct TailLayout {
    /// `LiveTurn::lines.len()` when this tail began.
    line: usize,
    /// Bytes of `LiveTurn::tail` cleaned and wrapped.
    fed: usize,
    clean: Sanitizer,
    wrapper: Wrapper,
    /// Rows of `wrapped` (after `committed`) that are this tail's closed rows.
    closed: usize,
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

fn layout_block(block: TurnBlock<'_>, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut rows = vec![header(block.turn, block.round, "", theme)];
    let text = &strip_controls(block.text);
    match block.kind {
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

impl LiveLayout {
    /// The rows of `live` at `width`.
    fn rows(&mut self, live: &LiveTurn, width: u16, theme: &Theme) -> &[Line<'static>] {
        if self.epoch != live.epoch {
            *self = LiveLayout {
                epoch: live.epoch,
                ..LiveLayout::default()
            };
        }
        while self.styled.len() < live.lines.len() {
            let line = self.styler.line(&live.lines[self.styled.len()], theme);
            self.styled.push(line);
        }
        if self.width != width || self.wrapped.is_empty() {
            self.width = width;
            self.wrapped = vec![header(live.turn, live.round, "live", theme)];
            self.wrapped_upto = 0;
            self.committed = 1;
            self.tail = None;
        }
        let tail_restarts = self.tail.as_ref().is_none_or(|t| {
            t.line != live.lines.len()
                || t.fed > live.tail.len()
                || !live.tail.is_char_boundary(t.fed)
        });
        if tail_restarts {
            self.wrapped.truncate(self.committed);
            while self.wrapped_upto < self.styled.len() {
                let rows = wrap_hanging(&self.styled[self.wrapped_upto], width);
                self.wrapped.extend(rows);
                self.wrapped_upto += 1;
            }
            self.committed = self.wrapped.len();
            self.tail = Some(TailLayout {
                line: live.lines.len(),
                fed: 0,
                clean: Sanitizer::default(),
                wrapper: Wrapper::new(width),
                closed: 0,
            });
        }
        let Some(tail) = self.tail.as_mut() else {
            return &self.wrapped;
        };
        self.wrapped.truncate(self.committed + tail.closed);
        let fresh = tail.clean.push(&live.tail[tail.fed..]);
        tail.fed = live.tail.len();
        tail.wrapper
            .push_str(&fresh.replace('\t', "    "), theme.text_style());
        let closed = tail.wrapper.take_closed();
        tail.closed += closed.len();
        self.wrapped.extend(closed);
        self.wrapped
            .extend(tail.wrapper.open_with("▌", Style::new().fg(theme.speaking)));
        &self.wrapped
    }
}

/// `5 min`, `90 s`: a wait as the pane title shows it.
fn short_duration(wait: std::time::Duration) -> String {
    let secs = wait.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{} s", wait.as_secs_f64().ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::AgentInfo;

    fn agent_a() -> AgentView {
        AgentView::new(AgentInfo {
            name: "a".into(),
            backend: "b".into(),
            model: "m".into(),
            ..Default::default()
        })
    }

    /// The rows of `agent`'s first cell in `pane` at `width`, with no turns or calls.
    fn first_rows(pane: &mut AgentPane, agent: &AgentView, width: u16) -> Vec<Line<'static>> {
        let theme = Theme::dark();
        let turns = Turns::new();
        let view = crate::view::View::default();
        let focus = super::super::calls::CallFocus::default();
        let look = CallsLook {
            view: &view,
            focus: &focus,
            now: chrono::Utc::now(),
        };
        let (mut cells, _) = pane.cells(agent, &turns, &look, &theme);
        cells.rows(0, width).to_vec()
    }

    #[test]
    fn live_turn_lays_out_completed_lines_once_and_the_tail_raw() {
        let mut agent = agent_a();
        let mut pane = AgentPane::default();
        let rows = |pane: &mut AgentPane, agent: &AgentView| -> Vec<String> {
            first_rows(pane, agent, 40)
                .iter()
                .map(|l| l.to_string())
                .collect()
        };
        agent.start(1, None, Purpose::Speak);
        agent.token(1, "# Title\nsome **bold");
        assert_eq!(
            rows(&mut pane, &agent),
            ["── turn 1 · live", "Title", "some **bold▌"]
        );
        agent.token(1, "** text\n");
        assert_eq!(
            rows(&mut pane, &agent),
            ["── turn 1 · live", "Title", "some bold text", "▌"]
        );
        assert_eq!(pane.live.styled.len(), 2);
        // A retried turn keeps its number but starts over: nothing of the first attempt shows.
        agent.live = None;
        agent.token(1, "again");
        assert_eq!(rows(&mut pane, &agent), ["── turn 1 · live", "again▌"]);
    }

    #[test]
    fn a_growing_tail_lays_out_as_a_fresh_pane_would() {
        let mut agent = agent_a();
        let rows = first_rows;
        let mut pane = AgentPane::default();
        agent.start(1, None, Purpose::Speak);
        let pieces = [
            "intro line\n",
            "a",
            " long",
            "\tparagraph",
            " with \u{1b}[3",
            "1mred\u{1b}[0m",
            " words",
            " 日本語",
            " and",
            " more\n",
            "next",
            " one",
        ];
        for (i, piece) in pieces.iter().cycle().take(120).enumerate() {
            agent.token(1, piece);
            let width = if i % 40 < 30 { 17 } else { 23 };
            let got = rows(&mut pane, &agent, width);
            let want = rows(&mut AgentPane::default(), &agent, width);
            assert_eq!(got, want, "after piece {i}");
        }
        let text: String = rows(&mut pane, &agent, 17)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(!text.contains('\u{1b}') && !text.contains("[31m") && !text.contains('\t'));
    }
}
