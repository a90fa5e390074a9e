//! The console as a player of a recorded session (`conclave replay`): what the person asks of
//! the player and what the player says back, carried on the console's usual channels.
//!
//! Mental model: the console does not read journals or keep time. A host-side player owns the
//! recorded events and the pace; it sends them as ordinary [`Inbound::Event`]s, so they fold
//! into the same view and draw in the same panes as a live session's. Before a seek back it
//! sends [`Inbound::ReplayRestart`] (the view starts empty) and then the events from the first
//! one up to the target. After every change it sends a [`ReplayStatus`], which the replay bar
//! draws. Keys of the `replay` context become [`ReplayControl`]s sent as
//! [`Outbound::Replay`]. Nothing goes to agents: commands for a session are refused on screen.
//!
//! [`Inbound::Event`]: super::Inbound::Event
//! [`Inbound::ReplayRestart`]: super::Inbound::ReplayRestart
//! [`Outbound::Replay`]: super::Outbound::Replay

use chrono::{DateTime, Utc};

/// What to jump to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayTarget {
    /// The next `turn_started` of a speaking turn.
    Turn,
    /// The next `handoff_requested`.
    Handoff,
    /// The next `vote`.
    Vote,
}

/// What the person asks of the player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayControl {
    /// Pause, or play on (from the start again once at the end).
    Toggle,
    /// Pause and play exactly one more event.
    Step,
    /// Pause after playing up to and including the next event of this kind.
    Next(ReplayTarget),
    /// Pause `n` events earlier: the view is rebuilt from the first event.
    Back(u64),
    /// Pause `n` events later.
    Forward(u64),
    /// Pause at the last event whose `seq` is at most this one (rebuilt when it is earlier).
    Seek(u64),
    /// Pause at the last event.
    End,
    /// Play faster (at the fastest: everything at once).
    Faster,
    /// Play slower.
    Slower,
}

/// Where the player stands, for the replay bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayStatus {
    /// The session played back.
    pub session: String,
    /// The `seq` of the last event played, `None` before the first.
    pub seq: Option<u64>,
    /// The `seq` of the journal's last event.
    pub last_seq: u64,
    /// Events played and in all.
    pub played: usize,
    pub total: usize,
    /// `None`: instant; else the speed (1.0 = as recorded).
    pub speed: Option<f64>,
    pub paused: bool,
    /// The recorded time of the last event played: the console's clock while replaying.
    pub clock: Option<DateTime<Utc>>,
    /// A word from the player about the last request ("no later handoff").
    pub note: Option<String>,
}

impl ReplayStatus {
    /// Every event has been played.
    pub fn at_end(&self) -> bool {
        self.played >= self.total
    }

    /// `2x`, `0.5x`, `instant`.
    pub fn speed_label(&self) -> String {
        match self.speed {
            None => "instant".into(),
            Some(s) => format!("{s}x"),
        }
    }

    /// `paused`, `playing` or `ended`.
    pub fn state_label(&self) -> &'static str {
        if self.at_end() {
            "ended"
        } else if self.paused {
            "paused"
        } else {
            "playing"
        }
    }
}
