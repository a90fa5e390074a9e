//! One agent's pane data: which finished turns it shows and which turn is its newest (their text,
//! status and error are core's [`TurnRecord`]s), and the turn it is streaming.
//!
//! A streaming turn keeps its text as completed lines plus a raw tail: a token appends to the
//! tail, and each newline moves a line into `lines`. Only completed lines are ever styled and
//! wrapped (once each, by the agent pane, which keeps those rows); the tail is drawn raw. Text is
//! stripped of terminal control sequences as lines complete (the tail is stripped when drawn), and
//! a finished answer when it is laid out.

use std::collections::BTreeMap;

use crate::core::event::{AgentInfo, Purpose};
use crate::core::state::{TurnRecord, TurnStatus};

use super::super::sanitize::strip_controls;

/// What an agent is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentStatus {
    Idle,
    /// Turn started, no token yet.
    Thinking,
    Streaming,
    Failed(String),
    Cancelled,
}

/// One finished piece of an agent's pane, read from core's record of its turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block<'a> {
    pub turn: u64,
    pub round: Option<u32>,
    pub kind: BlockKind,
    /// The answer, the partial text of a cancelled turn, or the error message (unsanitized).
    pub text: &'a str,
}

impl<'a> Block<'a> {
    /// The block of finished turn `turn`, if core has it.
    pub fn of(turns: &'a BTreeMap<u64, TurnRecord>, turn: u64) -> Option<Block<'a>> {
        let t = turns.get(&turn)?;
        let (kind, text) = match t.status {
            TurnStatus::Running => return None,
            TurnStatus::Completed => (BlockKind::Answer, t.text.as_str()),
            TurnStatus::Cancelled => (BlockKind::Cancelled, t.text.as_str()),
            TurnStatus::Failed => (
                BlockKind::Failed,
                t.error.as_ref().map(|e| e.message.as_str()).unwrap_or(""),
            ),
        };
        Some(Block {
            turn,
            round: t.round,
            kind,
            text,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Answer,
    Cancelled,
    Failed,
}

/// The turn being streamed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveTurn {
    /// Which of this agent's live turns it is (1, 2, …), so that a pane's rows laid out for an
    /// earlier one (a retried turn keeps its number) are never taken for this one's.
    pub epoch: u64,
    pub turn: u64,
    pub round: Option<u32>,
    pub purpose: Purpose,
    pub lines: Vec<String>,
    pub tail: String,
    /// The backend whose queue the turn waits in (`turn_waiting`), until its first token.
    pub waiting_for: Option<String>,
}

impl LiveTurn {
    pub fn push(&mut self, text: &str) {
        let mut rest = text;
        while let Some(i) = rest.find('\n') {
            self.tail.push_str(&rest[..i]);
            let line = std::mem::take(&mut self.tail);
            self.lines.push(strip_controls(&line));
            rest = &rest[i + 1..];
        }
        self.tail.push_str(rest);
    }

    /// The streamed text so far.
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        if !self.lines.is_empty() {
            s.push('\n');
        }
        s.push_str(&strip_controls(&self.tail));
        s
    }
}

/// An agent as the console shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentView {
    pub info: AgentInfo,
    /// The agent's newest turn: what it is doing is what core's record of that turn says.
    pub last_turn: Option<u64>,
    /// The finished turns the pane shows, in the order they ended.
    pub blocks: Vec<u64>,
    pub live: Option<LiveTurn>,
    /// How many live turns were started (see [`LiveTurn::epoch`]).
    epochs: u64,
    /// The agent's MCP calls in the order asked: (how many blocks came before it, call id). The
    /// pane shows each as a cell of its own between the blocks (see [`AgentView::cell`]).
    pub calls: Vec<(usize, String)>,
}

/// What one cell of an agent's pane is, in the order they came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaneCell {
    /// `blocks[i]`.
    Block(usize),
    /// `calls[i]`.
    Call(usize),
    /// The live turn (always last).
    Live,
}

impl AgentView {
    pub fn new(info: AgentInfo) -> AgentView {
        AgentView {
            info,
            last_turn: None,
            blocks: Vec::new(),
            live: None,
            epochs: 0,
            calls: Vec::new(),
        }
    }

    /// The agent asked for MCP call `id`.
    pub fn call(&mut self, id: &str) {
        self.calls.push((self.blocks.len(), id.to_string()));
    }

    /// How many cells the pane has: blocks, calls, and the live turn.
    pub fn cell_count(&self) -> usize {
        self.blocks.len() + self.calls.len() + usize::from(self.live.is_some())
    }

    /// What cell `index` is. Cells are only appended, so an index always names the same cell:
    /// call `k` asked after `at` blocks is cell `at + k`.
    pub fn cell(&self, index: usize) -> Option<PaneCell> {
        // Call k sits at cell `at + k`, which grows with k: binary search for the calls before.
        let (mut lo, mut hi) = (0, self.calls.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.calls[mid].0 + mid < index {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let calls_before = lo;
        if let Some((at, _)) = self.calls.get(calls_before)
            && at + calls_before == index
        {
            return Some(PaneCell::Call(calls_before));
        }
        let block = index - calls_before;
        if block < self.blocks.len() {
            Some(PaneCell::Block(block))
        } else if block == self.blocks.len() && self.live.is_some() {
            Some(PaneCell::Live)
        } else {
            None
        }
    }

    /// The cell index of call `k`.
    pub fn call_cell(&self, k: usize) -> Option<usize> {
        self.calls.get(k).map(|(at, _)| at + k)
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// What the agent is doing: streaming its live turn, else how its newest turn stands in
    /// core's records (a turn still running after the session `finished` is over).
    pub fn status(&self, turns: &BTreeMap<u64, TurnRecord>, finished: bool) -> AgentStatus {
        if let Some(live) = &self.live {
            return if live.lines.is_empty() && live.tail.is_empty() {
                AgentStatus::Thinking
            } else {
                AgentStatus::Streaming
            };
        }
        let Some(t) = self.last_turn.and_then(|turn| turns.get(&turn)) else {
            return AgentStatus::Idle;
        };
        match t.status {
            TurnStatus::Running if !finished => AgentStatus::Thinking,
            TurnStatus::Running | TurnStatus::Completed => AgentStatus::Idle,
            TurnStatus::Cancelled => AgentStatus::Cancelled,
            TurnStatus::Failed => AgentStatus::Failed(
                t.error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
            ),
        }
    }

    pub fn start(&mut self, turn: u64, round: Option<u32>, purpose: Purpose) {
        self.last_turn = Some(turn);
        self.epochs += 1;
        self.live = Some(LiveTurn {
            epoch: self.epochs,
            turn,
            round,
            purpose,
            ..LiveTurn::default()
        });
    }

    pub fn token(&mut self, turn: u64, text: &str) {
        if self.live.is_none() {
            self.epochs += 1;
            self.last_turn = Some(turn);
        }
        let epoch = self.epochs;
        let live = self.live.get_or_insert_with(|| LiveTurn {
            epoch,
            turn,
            ..LiveTurn::default()
        });
        live.push(text);
    }

    /// The turn waits in `backend`'s queue.
    pub fn waiting(&mut self, turn: u64, backend: &str) {
        if let Some(live) = self.live.as_mut().filter(|l| l.turn == turn) {
            live.waiting_for = Some(backend.to_string());
        }
    }

    /// A reply of a tool loop ended and the turn goes on (its tool calls are answered, then the
    /// model is asked again): the next reply streams afresh; the transcript keeps this one.
    pub fn step(&mut self) {
        self.live = None;
    }

    /// The turn ended with `text` (a finished answer, a partial one, or an error message).
    pub fn finish(&mut self, turn: u64, text: &str, kind: BlockKind, purpose: Purpose) {
        self.live = None;
        // A plan's final answer (the planner's synthesis) stays in the planner's pane.
        if !matches!(purpose, Purpose::Speak | Purpose::Synthesize) && kind == BlockKind::Answer {
            return;
        }
        if kind == BlockKind::Cancelled && text.trim().is_empty() {
            return;
        }
        self.blocks.push(turn);
    }

    /// The text the `copy` action takes: what is streaming, or the newest answer.
    pub fn last_text(&self, turns: &BTreeMap<u64, TurnRecord>) -> Option<String> {
        if let Some(live) = &self.live {
            let t = live.text();
            if !t.trim().is_empty() {
                return Some(t);
            }
        }
        let turn = *self.blocks.last()?;
        Block::of(turns, turn).map(|b| strip_controls(b.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_complete_lines_and_a_tail() {
        let mut live = LiveTurn::default();
        for t in ["Hel", "lo\nwor", "ld\n\n", "tail\u{1b}[31m"] {
            live.push(t);
        }
        assert_eq!(live.lines, ["Hello", "world", ""]);
        assert_eq!(live.tail, "tail\u{1b}[31m");
        assert_eq!(live.text(), "Hello\nworld\n\ntail");
    }

    #[test]
    fn a_tool_loop_turn_is_one_block_and_each_reply_streams_afresh() {
        let mut a = AgentView::new(AgentInfo {
            name: "r".into(),
            backend: "b".into(),
            model: "m".into(),
            color: None,
            price: None,
            ..Default::default()
        });
        a.start(3, None, Purpose::Speak);
        a.token(3, "Let me look.");
        a.step();
        a.token(3, "Found it.");
        assert_eq!(
            a.live.as_ref().map(LiveTurn::text).as_deref(),
            Some("Found it.")
        );
        a.finish(3, "Found it.", BlockKind::Answer, Purpose::Speak);
        assert_eq!(a.blocks, [3]);
    }

    #[test]
    fn calls_are_cells_between_the_blocks_in_the_order_they_came() {
        let mut a = AgentView::new(AgentInfo::default());
        a.start(1, None, Purpose::Speak);
        a.finish(1, "one", BlockKind::Answer, Purpose::Speak);
        a.start(2, None, Purpose::Speak);
        a.step();
        a.call("c1");
        a.call("c2");
        a.token(2, "done");
        assert_eq!(a.cell_count(), 4);
        let cells: Vec<_> = (0..5).map(|i| a.cell(i)).collect();
        assert_eq!(
            cells,
            [
                Some(PaneCell::Block(0)),
                Some(PaneCell::Call(0)),
                Some(PaneCell::Call(1)),
                Some(PaneCell::Live),
                None
            ]
        );
        a.finish(2, "done", BlockKind::Answer, Purpose::Speak);
        a.call("c3");
        assert_eq!(a.cell(3), Some(PaneCell::Block(1)));
        assert_eq!(a.cell(4), Some(PaneCell::Call(2)));
        assert_eq!(a.call_cell(2), Some(4));
    }
}
