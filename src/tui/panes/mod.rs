//! The panes of the main screen, one module each. A pane owns its UI state (scroll position,
//! laid-out rows) and draws from the session view, the theme and the agents' colours it is
//! handed; no pane knows the `App`. [`PaneState`] holds them all with the focus and zoom;
//! focus cycles over the agent panes, then the transcript.

pub mod agent;
pub mod calls;
pub mod handoff;
pub mod input;
pub mod metrics;
pub mod plan;
pub mod replay;
pub mod status;
pub mod steering;
pub mod tool_approval;
pub mod transcript;

use std::collections::BTreeMap;

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::scroll::{ScrollBy, ScrollState};
use super::state::SessionView;
use super::theme::Theme;
use super::wrap::{width_of, wrap_line};
use agent::AgentPane;
use transcript::TranscriptPane;

/// A focusable pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Agent(usize),
    Transcript,
    /// The Plan pane of a plan team.
    Plan,
}

/// The panes with their own state, the focus and the zoom.
#[derive(Debug)]
pub struct PaneState {
    pub focus: Focus,
    pub zoom: bool,
    /// The person chose the focus; until then it follows whoever speaks.
    pub pinned: bool,
    pub agents: Vec<AgentPane>,
    pub transcript: TranscriptPane,
    /// The chosen MCP call and the unfolded ones.
    pub calls: calls::CallFocus,
    /// The Plan pane, for plan teams (it joins the focus cycle, first).
    pub plan: Option<plan::PlanPane>,
}

/// What a pane looks like from outside: focus, zoom and scroll positions, not its caches.
pub type Positions = (Focus, bool, bool, Vec<ScrollState>, ScrollState);

impl Default for PaneState {
    fn default() -> Self {
        PaneState {
            focus: Focus::Transcript,
            zoom: false,
            pinned: false,
            agents: Vec::new(),
            transcript: TranscriptPane::default(),
            calls: calls::CallFocus::default(),
            plan: None,
        }
    }
}

impl PaneState {
    /// Start over for `agents` panes, focusing the first agent.
    pub fn reset(&mut self, agents: usize) {
        *self = PaneState {
            focus: if agents > 0 {
                Focus::Agent(0)
            } else {
                Focus::Transcript
            },
            agents: (0..agents).map(|_| AgentPane::default()).collect(),
            ..PaneState::default()
        };
    }

    /// Make room for agents that appeared mid-session.
    pub fn ensure(&mut self, agents: usize) {
        if self.agents.len() < agents {
            self.agents.resize_with(agents, AgentPane::default);
        }
    }

    pub fn focus_next(&mut self) {
        self.pinned = true;
        let n = self.agents.len();
        let plan = self.plan.is_some();
        self.focus = match self.focus {
            Focus::Agent(i) if i + 1 < n => Focus::Agent(i + 1),
            Focus::Agent(_) => Focus::Transcript,
            Focus::Transcript if plan => Focus::Plan,
            Focus::Transcript | Focus::Plan if n > 0 => Focus::Agent(0),
            Focus::Transcript | Focus::Plan => Focus::Transcript,
        };
    }

    pub fn focus_prev(&mut self) {
        self.pinned = true;
        let n = self.agents.len();
        let plan = self.plan.is_some();
        self.focus = match self.focus {
            Focus::Agent(0) if plan => Focus::Plan,
            Focus::Agent(0) | Focus::Plan => Focus::Transcript,
            Focus::Agent(i) => Focus::Agent(i - 1),
            Focus::Transcript if n > 0 => Focus::Agent(n - 1),
            Focus::Transcript if plan => Focus::Plan,
            Focus::Transcript => Focus::Transcript,
        };
    }

    /// Focus `focus` because the person asked for it.
    pub fn pin(&mut self, focus: Focus) {
        self.focus = focus;
        self.pinned = true;
    }

    pub fn focused_agent(&self) -> Option<usize> {
        match self.focus {
            Focus::Agent(i) => Some(i),
            Focus::Transcript | Focus::Plan => None,
        }
    }

    /// Focus, zoom and scroll positions, to tell whether anything visible moved.
    pub fn positions(&self) -> Positions {
        (
            self.focus,
            self.zoom,
            self.pinned,
            self.agents.iter().map(|a| a.scroll).collect(),
            self.transcript.scroll,
        )
    }

    /// The scroll position of the focused pane.
    pub fn focused_scroll(&mut self) -> Option<&mut ScrollState> {
        match self.focus {
            Focus::Agent(i) => self.agents.get_mut(i).map(|a| &mut a.scroll),
            Focus::Transcript => Some(&mut self.transcript.scroll),
            Focus::Plan => None,
        }
    }

    /// Scroll the focused pane through the cells of `session`.
    pub fn scroll_focused(
        &mut self,
        by: ScrollBy,
        session: &SessionView,
        (theme, now): (&Theme, chrono::DateTime<chrono::Utc>),
        colors: &AgentColors,
    ) {
        match self.focus {
            Focus::Agent(i) => {
                let look = calls::CallsLook {
                    view: &session.view,
                    focus: &self.calls,
                    now,
                };
                if let (Some(pane), Some(agent)) = (self.agents.get_mut(i), session.agents.get(i)) {
                    let turns = &session.view.state.turns;
                    pane.scroll(by, (agent, turns, &look), theme);
                }
            }
            Focus::Transcript => self
                .transcript
                .scroll(by, &session.transcript, theme, colors),
            Focus::Plan => {
                if let Some(pane) = &mut self.plan {
                    pane.scroll(by, session.plan());
                }
            }
        }
    }
}

/// The frame of a pane that takes the focus: double when focused, else rounded in `border`.
pub fn focus_frame(focused: bool, border: Color, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Double
        } else {
            BorderType::Rounded
        })
        .border_style(Style::new().fg(if focused {
            theme.border_focused
        } else {
            border
        }))
}

/// The note at the bottom of a pane that is not following its end.
pub fn scrolled_hint(theme: &Theme) -> Line<'static> {
    Line::styled(" ↑ scrolled · Ctrl+End follows ", theme.dim_style()).right_aligned()
}

/// Each agent's colour, resolved once per frame: its own (from the session or the config), else
/// the theme's palette by its place in the session.
#[derive(Clone, Debug, Default)]
pub struct AgentColors {
    /// The agents of the session.
    pub session: BTreeMap<String, Color>,
    /// Agents of the config with a colour of their own.
    pub configured: BTreeMap<String, Color>,
    /// Anyone else.
    pub default: Color,
}

impl AgentColors {
    /// The colour of `name`, whoever it is.
    pub fn of(&self, name: &str) -> Color {
        self.session
            .get(name)
            .or_else(|| self.configured.get(name))
            .copied()
            .unwrap_or(self.default)
    }
}

/// Wrap `lines` to `width - indent` and indent every row by `indent` spaces. Code, quote and
/// list lines keep a hanging indent: their gutter (`│ `, `▌ `) repeats on continuation rows,
/// and list items continue under their text.
pub fn wrap_indented(lines: &[Line<'_>], width: u16, indent: u16) -> Vec<Line<'static>> {
    let inner = width.saturating_sub(indent).max(1);
    let pad = " ".repeat(usize::from(indent));
    lines
        .iter()
        .flat_map(|l| wrap_hanging(l, inner))
        .map(|mut row| {
            if indent > 0 {
                row.spans.insert(0, pad.clone().into());
            }
            row
        })
        .collect()
}

/// Wrap one line, repeating its gutter or indenting under its list marker.
pub fn wrap_hanging(line: &Line<'_>, width: u16) -> Vec<Line<'static>> {
    let marker_spans = line
        .spans
        .iter()
        .position(|s| matches!(s.content.as_ref(), "│ " | "▌ " | "• "))
        .filter(|i| line.spans[..*i].iter().all(|s| s.content.trim().is_empty()));
    let Some(i) = marker_spans else {
        return wrap_line(line, width);
    };
    let head: Vec<Span<'static>> = line.spans[..=i]
        .iter()
        .map(|s| Span::styled(s.content.to_string(), s.style))
        .collect();
    let head_w = head.iter().map(|s| width_of(&s.content)).sum::<usize>();
    if head_w + 1 >= usize::from(width) {
        return wrap_line(line, width);
    }
    let marker = &line.spans[i];
    let cont: Vec<Span<'static>> = if marker.content == "• " {
        vec![Span::raw(" ".repeat(head_w))]
    } else {
        let lead = head_w - 2;
        vec![
            Span::raw(" ".repeat(lead)),
            Span::styled(marker.content.to_string(), marker.style),
        ]
    };
    let rest = Line::from(line.spans[i + 1..].to_vec()).style(line.style);
    wrap_line(&rest, width - head_w as u16)
        .into_iter()
        .enumerate()
        .map(|(n, mut row)| {
            let prefix = if n == 0 { head.clone() } else { cont.clone() };
            row.spans.splice(0..0, prefix);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_gutters_repeat_and_bullets_hang() {
        let code = Line::from(vec![Span::raw("│ "), Span::raw("let a = b + c;")]);
        let rows: Vec<String> = wrap_indented(&[code], 10, 0)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(rows, ["│ let a =", "│ b + c;"]);
        let item = Line::from(vec![
            Span::raw(""),
            Span::raw("• "),
            Span::raw("one two three"),
        ]);
        let rows: Vec<String> = wrap_indented(&[item], 9, 0)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(rows, ["• one two", "  three"]);
    }
}
