//! The player behind `conclave replay` in the console: a recorded session's events, how many of
//! them are on screen, the speed and whether it plays. Pure: no clock, no channel; the driver
//! (`console`) sleeps [`Player::wait`] and calls [`Player::tick`], and hands the person's
//! [`ReplayControl`]s to [`Player::control`].
//!
//! Mental model: the screen shows the first `played` events. Playing appends the next event
//! when its recorded gap (divided by the speed, capped by [`MAX_GAP`](super::MAX_GAP)) has
//! passed, with every event stamped at the same moment; at `instant` everything at once. Every
//! move the person makes (step, jump, seek) pauses there, so what they went to look at stays on
//! screen; space plays on from it. Moving forward appends; moving back rebuilds: the view
//! starts empty and the events from the first one up to the target are folded again (the fold
//! is cheap, and it is the same fold, so the screen is the one the live console showed there).

use std::time::Duration;

use crate::core::event::{Event, EventKind, Purpose};
use crate::tui::Inbound;
use crate::tui::replay::{ReplayControl, ReplayStatus, ReplayTarget};

/// The speeds `faster` and `slower` step through; past the last one is `instant`.
pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// What a change puts on screen: a fresh view first when `restart`, then `events[from..to]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Played {
    pub restart: bool,
    pub from: usize,
    pub to: usize,
}

/// A recorded session being played.
#[derive(Clone, Debug)]
pub struct Player {
    events: Vec<Event>,
    session: String,
    played: usize,
    /// `None`: instant.
    speed: Option<f64>,
    paused: bool,
    note: Option<String>,
}

impl Player {
    /// A player of `events` (a journal's, in order) at `speed` (`None`: instant), playing,
    /// with nothing on screen yet.
    pub fn new(session: &str, events: Vec<Event>, speed: Option<f64>) -> Player {
        Player {
            events,
            session: session.to_string(),
            played: 0,
            speed,
            paused: false,
            note: None,
        }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events are on screen.
    pub fn played(&self) -> usize {
        self.played
    }

    pub fn at_end(&self) -> bool {
        self.played >= self.events.len()
    }

    /// How long until the next event is due; `None` when paused or at the end.
    pub fn wait(&self) -> Option<Duration> {
        if self.paused || self.at_end() {
            return None;
        }
        let (Some(prev), Some(speed)) = (self.played.checked_sub(1), self.speed) else {
            return Some(Duration::ZERO);
        };
        Some(super::pace(
            self.events[prev].ts,
            self.events[self.played].ts,
            speed,
        ))
    }

    /// The next event is due: play it and every one due at the same moment.
    pub fn tick(&mut self) -> Played {
        if self.paused || self.at_end() {
            return self.unchanged();
        }
        let from = self.played;
        self.played += 1;
        while self.wait() == Some(Duration::ZERO) {
            self.played += 1;
        }
        self.note = None;
        Played {
            restart: false,
            from,
            to: self.played,
        }
    }

    /// Do what the person asked.
    pub fn control(&mut self, control: ReplayControl) -> Played {
        self.note = None;
        let first = 1.min(self.events.len());
        match control {
            ReplayControl::Toggle if self.at_end() => {
                self.paused = false;
                self.go_to(0)
            }
            ReplayControl::Toggle => {
                self.paused = !self.paused;
                self.unchanged()
            }
            ReplayControl::Step => self.pause_at(self.played + 1),
            ReplayControl::Next(target) => {
                let found = self.events[self.played.min(self.events.len())..]
                    .iter()
                    .position(|e| is_target(e, target));
                match found {
                    Some(i) => self.pause_at(self.played + i + 1),
                    None => {
                        self.paused = true;
                        self.note = Some(format!("no later {}", target_name(target)));
                        self.unchanged()
                    }
                }
            }
            ReplayControl::Back(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                self.pause_at(self.played.saturating_sub(n).max(first))
            }
            ReplayControl::Forward(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                self.pause_at(self.played.saturating_add(n))
            }
            ReplayControl::Seek(seq) => {
                let upto = self.events.partition_point(|e| e.seq <= seq);
                self.pause_at(upto.max(first))
            }
            ReplayControl::End => self.pause_at(self.events.len()),
            ReplayControl::Faster => {
                self.speed = self.speed.and_then(|s| SPEEDS.into_iter().find(|x| *x > s));
                self.unchanged()
            }
            ReplayControl::Slower => {
                let slowest = SPEEDS[0];
                self.speed = Some(match self.speed {
                    None => SPEEDS[SPEEDS.len() - 1],
                    Some(s) => SPEEDS.into_iter().rev().find(|x| *x < s).unwrap_or(slowest),
                });
                self.unchanged()
            }
        }
    }

    /// Where the player stands.
    pub fn status(&self) -> ReplayStatus {
        let last = self.played.checked_sub(1).and_then(|i| self.events.get(i));
        ReplayStatus {
            session: self.session.clone(),
            seq: last.map(|e| e.seq),
            last_seq: self.events.last().map_or(0, |e| e.seq),
            played: self.played,
            total: self.events.len(),
            speed: self.speed,
            paused: self.paused,
            clock: last.map(|e| e.ts),
            note: self.note.clone(),
        }
    }

    /// What the console is sent for `played`: a restart, the events, the new status.
    pub fn inbounds(&self, played: Played) -> Vec<Inbound> {
        let events = self.events.get(played.from..played.to).unwrap_or_default();
        let mut out = Vec::with_capacity(events.len() + 2);
        if played.restart {
            out.push(Inbound::ReplayRestart);
        }
        out.extend(events.iter().cloned().map(Inbound::Event));
        out.push(Inbound::ReplayStatus(self.status()));
        out
    }

    fn pause_at(&mut self, target: usize) -> Played {
        self.paused = true;
        self.go_to(target)
    }

    /// Show the first `target` events: append when that is ahead, rebuild when behind.
    fn go_to(&mut self, target: usize) -> Played {
        let target = target.min(self.events.len());
        if target >= self.played {
            let from = self.played;
            self.played = target;
            return Played {
                restart: false,
                from,
                to: target,
            };
        }
        self.played = target;
        Played {
            restart: true,
            from: 0,
            to: target,
        }
    }

    fn unchanged(&self) -> Played {
        Played {
            restart: false,
            from: self.played,
            to: self.played,
        }
    }
}

/// Whether `event` is a place `target` jumps to.
pub fn is_target(event: &Event, target: ReplayTarget) -> bool {
    match target {
        ReplayTarget::Turn => matches!(
            event.kind,
            EventKind::TurnStarted {
                purpose: Purpose::Speak,
                ..
            }
        ),
        ReplayTarget::Handoff => matches!(event.kind, EventKind::HandoffRequested { .. }),
        ReplayTarget::Vote => matches!(event.kind, EventKind::Vote { .. }),
    }
}

fn target_name(target: ReplayTarget) -> &'static str {
    match target {
        ReplayTarget::Turn => "turn",
        ReplayTarget::Handoff => "handoff",
        ReplayTarget::Vote => "vote",
    }
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
