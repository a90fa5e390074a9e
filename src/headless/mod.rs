//! What `conclave run` prints: a session's events on stdout, as JSONL exactly as serialized or as
//! readable text, each one only once the journal has it on disk.
//!
//! Mental model: an [`Output`] is fed the events of one run (by the headless driver in
//! `host::run`) and holds each in its [`gate::DurableGate`] until the journal writer acknowledges
//! it; [`Output::print_ready`] then prints what the gate lets through, keeps the metrics, and says
//! when the `session_finished` that ends the run went out. [`text`] renders the readable lines.
//! Nothing here starts sessions, reads input or decides exit statuses.

pub mod gate;
mod text;

pub use text::TextPrinter;
pub use text::usage_line;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::config::schema::Price;
use crate::core::event::{Event, EventKind, Outcome};
use crate::core::metrics::Metrics;
use gate::DurableGate;

/// How to print events (`--events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Readable lines, one idea per line, and a usage line at the end.
    Text,
    /// Every event as one JSON line, exactly as serialized.
    Jsonl,
}

/// Where a run's events go: `out` (stdout), through the durability gate.
pub struct Output<W: Write> {
    format: Format,
    printer: TextPrinter,
    metrics: Metrics,
    out: W,
    /// Events received from the session, waiting for the journal.
    pub gate: DurableGate,
    /// The outcome of the last `session_finished` printed by this run.
    last_outcome: Option<Outcome>,
    /// The timestamps of the first and the last event of this run (a resumed session's history
    /// not included): the usage line shows the time of this run, not of the whole session.
    run_span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// What printing the ready events came to.
#[derive(Debug, Default)]
pub struct Printed {
    /// The `session_finished` that ends the run was printed.
    pub finished: Option<Outcome>,
    /// Writing to the output failed (the first error; nothing more is written after it).
    pub failed: Option<std::io::Error>,
}

impl<W: Write> Output<W> {
    /// An output in `format` with the agents' `prices`; `gated`: hold each event until the
    /// journal acknowledges it (there is a journal).
    pub fn new(format: Format, prices: BTreeMap<String, Price>, out: W, gated: bool) -> Self {
        Output {
            format,
            printer: TextPrinter::new(),
            metrics: Metrics::new(prices),
            out,
            gate: DurableGate::new(gated),
            last_outcome: None,
            run_span: None,
        }
    }

    /// The events before this run (a resumed session): counted in the metrics, and printed in
    /// text mode so the reader sees where the session stands.
    pub fn history(&mut self, events: &[Event]) {
        for event in events {
            self.metrics.apply(event);
            if self.format == Format::Text {
                let _ = self.print(event);
            }
        }
        let _ = self.out.flush();
    }

    /// Print every event the gate lets through, stopping at the `session_finished` that ends the
    /// run, and flush them together (one `write(2)` for the lot when `out` buffers).
    pub fn print_ready(&mut self) -> Printed {
        let mut printed = self.print_each_ready();
        if let Err(e) = self.out.flush() {
            printed.failed.get_or_insert(e);
        }
        printed
    }

    fn print_each_ready(&mut self) -> Printed {
        let mut printed = Printed::default();
        while let Some(event) = self.gate.next_ready() {
            self.metrics.apply(&event);
            let first = self.run_span.map_or(event.ts, |(first, _)| first);
            self.run_span = Some((first, event.ts));
            if let Err(e) = self.print(&event) {
                printed.failed.get_or_insert(e);
            }
            if let EventKind::SessionFinished { outcome, .. } = event.kind {
                self.last_outcome = Some(outcome);
                if self.gate.skip_finish > 0 {
                    self.gate.skip_finish -= 1;
                } else {
                    printed.finished = Some(outcome);
                    return printed;
                }
            }
        }
        printed
    }

    /// The run is over: in text mode, the usage line of this run. Fails when it cannot be
    /// written.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if self.format == Format::Text {
            let line = text::usage_line(&self.metrics, self.run_ms());
            writeln!(self.out, "{line}")?;
            self.out.flush()?;
        }
        Ok(())
    }

    /// The outcome of the last `session_finished` printed by this run.
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.last_outcome
    }

    fn run_ms(&self) -> Option<u64> {
        self.run_span
            .map(|(first, last)| (last - first).num_milliseconds().max(0) as u64)
    }

    fn print(&mut self, event: &Event) -> std::io::Result<()> {
        match self.format {
            Format::Jsonl => {
                let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
                writeln!(self.out, "{line}")?;
            }
            Format::Text => {
                for line in self.printer.lines(event) {
                    writeln!(self.out, "{line}")?;
                }
            }
        }
        Ok(())
    }
}
