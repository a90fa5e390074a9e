//! Pane state: which pane has focus, whether it is zoomed, and each pane's scroll position.
//! Focus cycles over the agent panes, then the transcript.

use super::super::scroll::ScrollState;

/// A focusable pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Agent(usize),
    Transcript,
}

/// Focus, zoom and scroll positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneState {
    pub focus: Focus,
    pub zoom: bool,
    /// The person chose the focus; until then it follows whoever speaks.
    pub pinned: bool,
    pub agents: Vec<ScrollState>,
    pub transcript: ScrollState,
}

impl Default for PaneState {
    fn default() -> Self {
        PaneState {
            focus: Focus::Transcript,
            zoom: false,
            pinned: false,
            agents: Vec::new(),
            transcript: ScrollState::default(),
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
            agents: vec![ScrollState::default(); agents],
            ..PaneState::default()
        };
    }

    /// Make room for agents that appeared mid-session.
    pub fn ensure(&mut self, agents: usize) {
        if self.agents.len() < agents {
            self.agents.resize(agents, ScrollState::default());
        }
    }

    pub fn focus_next(&mut self) {
        self.pinned = true;
        let n = self.agents.len();
        self.focus = match self.focus {
            Focus::Agent(i) if i + 1 < n => Focus::Agent(i + 1),
            Focus::Agent(_) => Focus::Transcript,
            Focus::Transcript if n > 0 => Focus::Agent(0),
            Focus::Transcript => Focus::Transcript,
        };
    }

    pub fn focus_prev(&mut self) {
        self.pinned = true;
        let n = self.agents.len();
        self.focus = match self.focus {
            Focus::Agent(0) => Focus::Transcript,
            Focus::Agent(i) => Focus::Agent(i - 1),
            Focus::Transcript if n > 0 => Focus::Agent(n - 1),
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
            Focus::Transcript => None,
        }
    }
}
