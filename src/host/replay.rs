//! `conclave replay ID|last`: play a recorded session back from its journal alone, with no
//! backend, no API key and no tool server.
//!
//! Mental model: the journal is read (and sanitized) once by `store`; [`pace`] turns the gap
//! between two events' timestamps into how long to wait before printing the second, divided by
//! `--speed` and never longer than [`MAX_GAP`] (a person who left the session for lunch is not
//! replayed); `--instant` waits for nothing. Each event is printed as `conclave run` prints it:
//! `--events jsonl` writes the journal's events exactly as serialized, `--events text` the same
//! readable lines from the view, with the `seq` of each event in a left margin so that
//! `conclave sessions fork ID --at SEQ` can be typed from what is on screen, and the usage line
//! at the end.
//!
//! With no `--events` on a terminal, the session plays in the console instead ([`console`]): the
//! same panes, fed by a [`player::Player`] of the journal that can pause, step, jump and seek.

pub mod console;
pub mod player;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Exit;
use crate::core::event::Event;
use crate::core::metrics::Metrics;
use crate::headless::{Format, TextPrinter, usage_line};

/// The longest wait between two replayed events, whatever the recording says.
pub const MAX_GAP: Duration = Duration::from_secs(5);

/// What `conclave replay` was asked for.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// A session id, a unique prefix, or `last`.
    pub id: String,
    /// How the events are printed; `None`: in the console on a terminal, else as text.
    pub events: Option<Format>,
    /// `None`: `--instant`; else the playback speed (1.0 = as recorded).
    pub speed: Option<f64>,
    /// `--config`: the console's look and keys (no backend of it is used).
    pub config: Option<PathBuf>,
}

/// Play a session back on stdout.
pub fn run(options: &ReplayOptions) -> Exit {
    if let Some(speed) = options.speed
        && !(speed.is_finite() && speed > 0.0)
    {
        eprintln!("conclave: --speed must be a number above 0 (1 plays at the recorded pace)");
        return Exit::Usage;
    }
    let dir = super::bootstrap::journal_dir();
    let journal = match super::sessions::open(&dir, &options.id) {
        Ok(j) => j,
        Err(e) => return super::sessions::failed(&e),
    };
    if options.events.is_none() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
    {
        return match crate::config::load::load(options.config.as_deref()) {
            Ok(loaded) => console::run(loaded.config, journal, options.speed),
            Err(e) => {
                eprintln!("conclave: {e}");
                eprintln!(
                    "The console takes its keys and theme from the config: fix it, or use --events text."
                );
                Exit::Usage
            }
        };
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match play(
        &journal.events,
        &journal.header.prices,
        options,
        &mut out,
        std::thread::sleep,
    ) {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("conclave: cannot write to standard output: {e}");
            Exit::Failed
        }
    }
}

/// Print `events` to `out`, calling `sleep` with each wait (so tests can watch the pace).
pub fn play<W: Write>(
    events: &[Event],
    prices: &std::collections::BTreeMap<String, crate::config::schema::Price>,
    options: &ReplayOptions,
    out: &mut W,
    mut sleep: impl FnMut(Duration),
) -> std::io::Result<()> {
    let mut printer = TextPrinter::new();
    let mut metrics = Metrics::new(prices.clone());
    let width = events.last().map_or(1, |e| e.seq.to_string().len());
    let mut previous: Option<DateTime<Utc>> = None;
    for event in events {
        if let (Some(prev), Some(speed)) = (previous, options.speed) {
            let wait = pace(prev, event.ts, speed);
            if !wait.is_zero() {
                out.flush()?;
                sleep(wait);
            }
        }
        previous = Some(event.ts);
        metrics.apply(event);
        match options.events.unwrap_or(Format::Text) {
            Format::Jsonl => {
                let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            }
            Format::Text => {
                for (i, line) in printer.lines(event).into_iter().enumerate() {
                    if i == 0 {
                        writeln!(out, "{:>width$}  {line}", event.seq)?;
                    } else {
                        writeln!(out, "{:width$}  {line}", "")?;
                    }
                }
            }
        }
    }
    if options.events.unwrap_or(Format::Text) == Format::Text {
        let span = match (events.first(), events.last()) {
            (Some(a), Some(b)) => Some((b.ts - a.ts).num_milliseconds().max(0) as u64),
            _ => None,
        };
        writeln!(out, "{}", usage_line(&metrics, span))?;
    }
    out.flush()
}

/// How long to wait between events stamped `from` and `to` at `speed`: never negative, never
/// more than [`MAX_GAP`].
pub fn pace(from: DateTime<Utc>, to: DateTime<Utc>, speed: f64) -> Duration {
    let ms = (to - from).num_milliseconds().max(0) as f64 / speed;
    Duration::from_secs_f64(ms / 1000.0).min(MAX_GAP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventKind, SCHEMA_VERSION, UsageInfo};

    fn event(seq: u64, ms: i64, kind: EventKind) -> Event {
        Event {
            v: SCHEMA_VERSION,
            seq,
            ts: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default()
                + chrono::Duration::milliseconds(ms),
            session: "s".into(),
            kind,
        }
    }

    fn events() -> Vec<Event> {
        vec![
            event(
                0,
                0,
                EventKind::UserMessage {
                    text: "hi".into(),
                    to: None,
                    interject: false,
                    queued_id: None,
                },
            ),
            event(
                7,
                2_000,
                EventKind::Message {
                    agent: "a".into(),
                    turn: 1,
                    text: "hello there".into(),
                    usage: UsageInfo {
                        input: Some(3),
                        output: Some(2),
                        estimated: false,
                    },
                    ttft_ms: None,
                    latency_ms: 2_000,
                    finish: crate::llm::FinishReason::Stop,
                    purpose: Default::default(),
                    tool_calls: Vec::new(),
                    served_by: None,
                    continues: false,
                },
            ),
            event(
                12,
                600_000,
                EventKind::SessionFinished {
                    outcome: crate::core::event::Outcome::Completed,
                    final_text: None,
                },
            ),
        ]
    }

    fn options(events: Format, speed: Option<f64>) -> ReplayOptions {
        ReplayOptions {
            id: "s".into(),
            events: Some(events),
            speed,
            config: None,
        }
    }

    #[test]
    fn the_recorded_pace_is_divided_by_speed_and_capped() {
        let mut waits = Vec::new();
        let mut out = Vec::new();
        let o = options(Format::Jsonl, Some(2.0));
        play(&events(), &Default::default(), &o, &mut out, |d| {
            waits.push(d)
        })
        .unwrap();
        assert_eq!(waits, vec![Duration::from_secs(1), MAX_GAP]);
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert_eq!(lines.len(), 3);
        let back: Event = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(back, events()[1]);
    }

    #[test]
    fn instant_never_waits_and_text_has_a_seq_margin() {
        let mut waits = Vec::new();
        let mut out = Vec::new();
        let o = options(Format::Text, None);
        play(&events(), &Default::default(), &o, &mut out, |d| {
            waits.push(d)
        })
        .unwrap();
        assert!(waits.is_empty());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(" 0  you: hi"), "{text}");
        assert!(text.contains(" 7  a: hello there"), "{text}");
        assert!(text.contains("12  == finished: completed"), "{text}");
        assert!(text.contains("== usage: 3 tokens in, 2 out"), "{text}");
    }

    #[test]
    fn time_going_backwards_is_no_wait() {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(
            pace(t, t - chrono::Duration::seconds(3), 1.0),
            Duration::ZERO
        );
    }
}
