//! `conclave replay` on a terminal: the console, with no backend, no key, no tool server and
//! no session, fed by a [`Player`] of the journal through the console's usual inbound channel.
//!
//! Mental model: like the live console's bridge, a task sits between the TUI and what it shows;
//! here it owns the player instead of a session. It sleeps until the next event is due, sends
//! what the player played ([`Player::inbounds`]: events, and before a seek back a restart), and
//! answers each [`Outbound::Replay`] the same way. It ends when the console quits.

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::player::{Played, Player};
use crate::host::Exit;
use crate::host::bootstrap;
use crate::store::Journal;
use crate::tui::{self, ConsoleSetup, Inbound, Outbound};

/// Play `journal` in the console at `speed` (`None`: instant) with `config`'s look and keys.
pub fn run(config: crate::config::Config, journal: Journal, speed: Option<f64>) -> Exit {
    let runtime = match bootstrap::runtime("conclave-replay") {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let id = journal.header.session.clone();
    let setup = ConsoleSetup {
        config,
        team: journal.header.team.clone(),
        backend_label: format!("recorded session {id}"),
        is_demo: false,
        history: Vec::new(),
    };
    let player = Player::new(&id, journal.events, speed);
    match runtime.block_on(play(setup, player)) {
        Ok(tui::Ended::Quit) => Exit::Ok,
        Ok(tui::Ended::Signal(signal)) => Exit::Signalled(signal),
        Ok(tui::Ended::TerminalLost) => Exit::Signalled(tui::signals::HANGUP),
        Err(e) => {
            eprintln!("conclave: {e:#}");
            Exit::Failed
        }
    }
}

async fn play(setup: ConsoleSetup, player: Player) -> anyhow::Result<tui::Ended> {
    let (in_tx, in_rx) = unbounded_channel();
    let (out_tx, out_rx) = unbounded_channel();
    let status = player.status();
    let driver = tokio::spawn(drive(player, in_tx, out_rx));
    let ended = tui::run_replay_console(setup, status, in_rx, out_tx).await;
    // The console has returned, so `out_tx` is gone and the driver ends by itself.
    if let Err(e) = driver.await {
        tracing::warn!("the replay driver failed: {e}");
    }
    ended
}

/// Play `player` into the console until it quits.
pub async fn drive(
    mut player: Player,
    to_console: UnboundedSender<Inbound>,
    mut from_console: UnboundedReceiver<Outbound>,
) {
    let send = |player: &Player, played: Played| {
        for inbound in player.inbounds(played) {
            if to_console.send(inbound).is_err() {
                tracing::debug!("the console is gone");
            }
        }
    };
    let mut deadline = player.wait().map(|w| Instant::now() + w);
    loop {
        let due = deadline;
        tokio::select! {
            asked = from_console.recv() => match asked {
                None | Some(Outbound::Quit) => return,
                Some(Outbound::Replay(control)) => {
                    let played = player.control(control);
                    send(&player, played);
                    deadline = player.wait().map(|w| Instant::now() + w);
                }
                // The console refuses everything else in a replay; nothing here could do it.
                Some(other) => tracing::debug!("a replay ignores {other:?}"),
            },
            _ = sleep_until(due), if due.is_some() => {
                let played = player.tick();
                send(&player, played);
                // From the moment it was due, so waits do not add up to drift.
                deadline = player
                    .wait()
                    .map(|w| due.unwrap_or_else(Instant::now) + w);
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{Event, EventKind, SCHEMA_VERSION};
    use crate::tui::replay::ReplayControl;

    fn events(n: u64, gap_ms: i64) -> Vec<Event> {
        let t0 = chrono::DateTime::<chrono::Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        (0..n)
            .map(|seq| Event {
                v: SCHEMA_VERSION,
                seq,
                ts: t0 + chrono::Duration::milliseconds(seq as i64 * gap_ms),
                session: "s".into(),
                kind: EventKind::Paused { by: "user".into() },
            })
            .collect()
    }

    fn seqs(inbounds: &[Inbound]) -> Vec<u64> {
        inbounds
            .iter()
            .filter_map(|i| match i {
                Inbound::Event(e) => Some(e.seq),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_plays_at_the_pace_and_answers_the_console() {
        let (in_tx, mut in_rx) = unbounded_channel();
        let (out_tx, out_rx) = unbounded_channel();
        let driver = tokio::spawn(drive(
            Player::new("s", events(4, 1_000), Some(1.0)),
            in_tx,
            out_rx,
        ));
        let mut got = Vec::new();
        // The first event at once, the next one a (virtual) second later.
        while seqs(&got).len() < 2 || !matches!(got.last(), Some(Inbound::ReplayStatus(_))) {
            got.push(in_rx.recv().await.unwrap());
        }
        assert_eq!(seqs(&got), vec![0, 1]);
        out_tx
            .send(Outbound::Replay(ReplayControl::Seek(0)))
            .unwrap();
        let mut after = Vec::new();
        loop {
            let i = in_rx.recv().await.unwrap();
            let done = matches!(i, Inbound::ReplayStatus(_));
            after.push(i);
            if done {
                break;
            }
        }
        assert_eq!(after[0], Inbound::ReplayRestart);
        assert_eq!(seqs(&after), vec![0]);
        out_tx.send(Outbound::Quit).unwrap();
        driver.await.unwrap();
    }
}
