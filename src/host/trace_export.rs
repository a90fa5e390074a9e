//! `conclave sessions export ID --format otlp [--endpoint URL]`: send a recorded session's trace
//! to an OpenTelemetry collector, with the times it was recorded at.
//!
//! Mental model: read the journal, load the config (for `[telemetry]` and each backend's kind),
//! resolve the collector (`--endpoint`, else the config, else `OTEL_EXPORTER_OTLP_*`), then run
//! the same fold the live exporter runs ([`crate::telemetry`]) and send every span at once. A
//! task the journal cut off is sent with its open spans closed as interrupted. Re-sending a
//! session gives the same trace and span ids. Says on stdout what was sent and the trace id of
//! each task; a missing session, a bad config or no collector is `Exit::Usage`, a collector that
//! does not take the spans `Exit::Failed`.

use std::fmt::Write as _;
use std::path::Path;

use super::Exit;
use super::bootstrap;
use crate::telemetry::{Settings, SpanRecord, TelemetryError};

/// `sessions export ID --format otlp`.
pub fn export_otlp(dir: &Path, id: &str, config: Option<&Path>, endpoint: Option<&str>) -> Exit {
    let journal = match super::sessions::open(dir, id) {
        Ok(j) => j,
        Err(e) => return super::sessions::failed(&e),
    };
    let loaded = match crate::config::load::load(config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Exit::Usage;
        }
    };
    let settings = match Settings::resolve(&loaded.config, endpoint) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conclave: {e}");
            return Exit::Usage;
        }
    };
    let runtime = match bootstrap::runtime("conclave sessions export") {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let sent = runtime.block_on(send(&journal.events, &settings));
    match sent {
        Ok(spans) => {
            print!("{}", report(journal.id(), &settings.shown, &spans));
            Exit::Ok
        }
        Err(e) => {
            eprintln!("conclave: {e}");
            Exit::Failed
        }
    }
}

async fn send(
    events: &[crate::core::Event],
    settings: &Settings,
) -> Result<Vec<SpanRecord>, TelemetryError> {
    let spans = crate::telemetry::spans_of(events, settings.fold.clone());
    crate::telemetry::otlp::send_spans(&spans, settings).await?;
    Ok(spans)
}

/// What was sent: the count, the collector, and each task's trace id and name.
fn report(session: &str, shown: &str, spans: &[SpanRecord]) -> String {
    let mut out = format!(
        "Sent {} span(s) of session {session} to {shown}.\n",
        spans.len()
    );
    for root in spans.iter().filter(|s| s.parent.is_none()) {
        let trace: String = root.trace_id.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "  trace {trace}  {}", root.name);
    }
    out
}
