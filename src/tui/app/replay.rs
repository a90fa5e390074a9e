//! The console playing a recorded session: the `replay` keys become [`ReplayControl`]s for the
//! host's player, digits typed before a seek key are its count, and anything that would reach
//! the agents is refused with a word in the replay bar (there are none to reach).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::super::keymap::{Action, Context};
use super::super::overlays::{ConfirmKind, Overlay};
use super::super::replay::{ReplayControl, ReplayStatus, ReplayTarget};
use super::super::scroll::Scroll;
use super::super::state::SessionView;
use super::{App, Effect};
use crate::tui::Outbound;

/// How many events `back` / `forward` move when no count was typed.
pub const DEFAULT_COUNT: u64 = 10;

/// What the replay bar shows: the player's last status and the count being typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayBar {
    pub status: ReplayStatus,
    /// Digits typed so far (`N` of the seek keys).
    pub count: Option<u64>,
    /// Why the last key did nothing, until the next key.
    pub refused: Option<String>,
}

impl App {
    /// Whether this console plays a recorded session.
    pub fn is_replay(&self) -> bool {
        self.replay.is_some()
    }

    /// A key with no overlay open, in a replay console: `replay` keys, then digits, then the
    /// `global` keys that only look (focus, scroll, zoom, help, copy, quit).
    pub(super) fn handle_replay_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(bar) = &mut self.replay {
            bar.refused = None;
        }
        if let Some(action) = self.keymap.lookup(Context::Replay, &key) {
            return self.perform(action);
        }
        if let KeyCode::Char(c @ '0'..='9') = key.code
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && let Some(bar) = &mut self.replay
        {
            let digit = u64::from(c) - u64::from('0');
            bar.count = Some(
                bar.count
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(digit),
            );
            return Vec::new();
        }
        let Some(action) = self.keymap.lookup(Context::Global, &key) else {
            return Vec::new();
        };
        match action {
            Action::ApproveHandoff
            | Action::RejectHandoff
            | Action::CancelHandoff
            | Action::RedirectHandoff
            | Action::CancelTurn
            | Action::TogglePause
            | Action::PickSpeaker
            | Action::CallVote => {
                if let Some(bar) = &mut self.replay {
                    bar.refused = Some(format!(
                        "{}: a replay sends nothing to the agents",
                        action.name()
                    ));
                }
                Vec::new()
            }
            Action::Interrupt => {
                self.overlays.push(Overlay::Confirm(ConfirmKind::Quit));
                Vec::new()
            }
            other => self.perform(other),
        }
    }

    /// Perform a `replay` action.
    pub(super) fn replay_action(&mut self, action: Action) -> Vec<Effect> {
        let count = self.replay.as_mut().and_then(|b| b.count.take());
        let control = match action {
            Action::ReplayToggle => ReplayControl::Toggle,
            Action::ReplayStep => ReplayControl::Step,
            Action::ReplayNextTurn => ReplayControl::Next(ReplayTarget::Turn),
            Action::ReplayNextHandoff => ReplayControl::Next(ReplayTarget::Handoff),
            Action::ReplayNextVote => ReplayControl::Next(ReplayTarget::Vote),
            Action::ReplayBack => ReplayControl::Back(count.unwrap_or(DEFAULT_COUNT)),
            Action::ReplayForward => ReplayControl::Forward(count.unwrap_or(DEFAULT_COUNT)),
            Action::ReplaySeek => ReplayControl::Seek(count.unwrap_or(0)),
            Action::ReplayEnd => ReplayControl::End,
            Action::ReplayFaster => ReplayControl::Faster,
            Action::ReplaySlower => ReplayControl::Slower,
            Action::ReplayQuit => return vec![Effect::Send(Outbound::Quit), Effect::Quit],
            _ => return Vec::new(),
        };
        vec![Effect::Send(Outbound::Replay(control))]
    }

    /// The player's news: the first status makes this a replay console.
    pub(super) fn replay_status(&mut self, status: ReplayStatus) {
        let bar = self.replay.get_or_insert_with(ReplayBar::default);
        bar.status = status;
    }

    /// A seek back: the view starts empty (the events up to the target follow); focus, zoom
    /// and the person's pin stay as they were.
    pub(super) fn replay_restart(&mut self) {
        let team = self.session.team().to_string();
        self.session = SessionView::new(&self.config, &team);
        let (focus, zoom, pinned) = (self.panes.focus, self.panes.zoom, self.panes.pinned);
        self.panes.reset(0);
        self.panes.zoom = zoom;
        if pinned {
            self.panes.pin(focus);
        }
    }

    /// The `seq` of the transcript cell in focus: the newest when the transcript follows, else
    /// the first one on screen.
    pub fn focused_seq(&self) -> Option<u64> {
        let count = self.session.transcript.len();
        let index = match self.panes.transcript.scroll.pos {
            Scroll::Follow => count.checked_sub(1)?,
            Scroll::At { cell, .. } => cell.min(count.checked_sub(1)?),
        };
        self.session.seq_of_entry(index)
    }

    /// The clock the screen uses: the recorded time of the last event played, in a replay.
    pub fn clock(&self, wall: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        self.replay
            .as_ref()
            .and_then(|b| b.status.clock)
            .unwrap_or(wall)
    }

    /// The footer's hints in a replay console.
    pub(super) fn replay_hints(&self) -> Vec<(Action, &'static str)> {
        let paused = self
            .replay
            .as_ref()
            .is_none_or(|b| b.status.paused || b.status.at_end());
        vec![
            (Action::ReplayToggle, if paused { "play" } else { "pause" }),
            (Action::ReplayStep, "step"),
            (Action::ReplayNextTurn, "turn"),
            (Action::ReplayNextHandoff, "handoff"),
            (Action::ReplayNextVote, "vote"),
            (Action::ReplayBack, "back"),
            (Action::ReplayForward, "fwd"),
            (Action::ReplayQuit, "quit"),
            (Action::Help, "help"),
            (Action::ReplaySeek, "go to seq"),
            (Action::ReplayFaster, "faster"),
            (Action::ReplaySlower, "slower"),
            (Action::FocusNext, "focus"),
        ]
    }
}
