//! From span records to the collector: conversion to the SDK's `SpanData`, the OTLP exporter
//! (HTTP/protobuf over our reqwest client and rustls, or gRPC over tonic's plain HTTP/2), the
//! live batching task, and the one-shot export of a recorded session.
//!
//! Mental model: the live task is one more subscriber. It folds each event as it arrives, keeps
//! the finished spans in a batch and sends the batch when a task ends, when it holds
//! [`MAX_BATCH`] spans, [`FLUSH_EVERY`] after the oldest unsent span finished, and when the
//! session's stream ends; an idle session wakes it for nothing. The session
//! never waits for it: its channel is unbounded, and a slow or dead collector only delays this
//! task. A failed send drops that batch and is logged once as a warning (again only after a send
//! has succeeded), never shown on screen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanKind, Status as OtelStatus, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value as OtelValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};

use crate::config::schema::OtlpProtocol;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use tokio::task::JoinHandle;

use super::fold::TraceFold;
use super::span::{Kind, SpanRecord, Status, Value};
use super::{Settings, TelemetryError};
use crate::core::event::{Event, EventKind};
use crate::core::session::EventStream;

/// The most spans one request carries.
pub const MAX_BATCH: usize = 256;
/// How often the live task sends what it holds.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// How long one send may take, retries included.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Set after a failed send was logged as a warning; cleared by a send that succeeds.
static WARNED: AtomicBool = AtomicBool::new(false);

type Exporter = opentelemetry_otlp::SpanExporter;

/// Whether the last live send failed (the collector is down or unreachable), so a front end
/// leaving a session need not wait for the exporter's last send.
pub fn collector_failing() -> bool {
    WARNED.load(Ordering::Relaxed)
}

/// Start the live exporter of one session: `history` (a resumed session's journal) is folded
/// first without sending anything, so resumed turns and tasks keep their ids; then every event of
/// `events`. Ends when the stream ends, after a last send.
pub fn spawn(
    settings: &Settings,
    history: &[Event],
    events: EventStream,
) -> Option<JoinHandle<()>> {
    let exporter = match build_exporter(settings) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "telemetry is off for this session");
            return None;
        }
    };
    let mut fold = TraceFold::new(settings.fold.clone());
    for e in history {
        fold.on(e);
    }
    let shown = settings.shown.clone();
    Some(tokio::spawn(run(exporter, fold, events, shown)))
}

async fn run<E: SpanExporter>(
    exporter: E,
    mut fold: TraceFold,
    mut events: EventStream,
    shown: String,
) {
    let mut batch: Vec<SpanRecord> = Vec::new();
    // When the oldest unsent span is due; no timer runs while there is nothing to send.
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let flush_at = due.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                batch.extend(fold.on(&event));
                let task_ended = matches!(event.kind, EventKind::SessionFinished { .. });
                if task_ended || batch.len() >= MAX_BATCH {
                    send_live(&exporter, &mut batch, &shown).await;
                }
                due = match (batch.is_empty(), due) {
                    (true, _) => None,
                    (false, None) => Some(tokio::time::Instant::now() + FLUSH_EVERY),
                    (false, at) => at,
                };
            }
            () = tokio::time::sleep_until(flush_at), if due.is_some() => {
                send_live(&exporter, &mut batch, &shown).await;
                due = None;
            }
        }
    }
    // Spans still open belong to a task a resume will carry on: they are sent then.
    send_live(&exporter, &mut batch, &shown).await;
}

async fn send_live<E: SpanExporter>(exporter: &E, batch: &mut Vec<SpanRecord>, shown: &str) {
    if batch.is_empty() {
        return;
    }
    let spans: Vec<SpanData> = batch.drain(..).map(|s| to_span_data(&s)).collect();
    let count = spans.len();
    match exporter.export(spans).await {
        Ok(()) => {
            WARNED.store(false, Ordering::Relaxed);
            tracing::debug!(count, endpoint = shown, "telemetry: spans sent");
        }
        Err(e) if !WARNED.swap(true, Ordering::Relaxed) => tracing::warn!(
            endpoint = shown,
            error = %e,
            "telemetry: cannot send traces to the OTLP collector; spans are dropped until it answers"
        ),
        Err(e) => tracing::debug!(endpoint = shown, error = %e, count, "telemetry: spans dropped"),
    }
}

/// Send `spans` (a recorded session's, see [`super::spans_of`]) in batches, waiting for each.
pub async fn send_spans(spans: &[SpanRecord], settings: &Settings) -> Result<(), TelemetryError> {
    let exporter = build_exporter(settings)?;
    for chunk in spans.chunks(MAX_BATCH) {
        exporter
            .export(chunk.iter().map(to_span_data).collect())
            .await
            .map_err(|e| TelemetryError::Send {
                endpoint: settings.shown.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

fn build_exporter(settings: &Settings) -> Result<Exporter, TelemetryError> {
    let built = match settings.protocol {
        OtlpProtocol::HttpProtobuf => {
            let client = http_client(settings.plain_http)
                .map_err(|message| TelemetryError::Client { message })?;
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_http_client(client)
                .with_timeout(EXPORT_TIMEOUT);
            if let Some(url) = &settings.endpoint {
                builder = builder.with_endpoint(url.clone());
            }
            builder.build()
        }
        OtlpProtocol::Grpc => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(Protocol::Grpc)
                .with_timeout(EXPORT_TIMEOUT);
            if let Some(url) = &settings.endpoint {
                builder = builder.with_endpoint(url.clone());
            }
            builder.build()
        }
    };
    let mut exporter = built.map_err(|e| TelemetryError::Client {
        message: e.to_string(),
    })?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("conclave");
    }
    let resource = resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    exporter.set_resource(&resource);
    Ok(exporter)
}

/// The HTTP client of the exporter: the shared one (system roots, platform verifier) for an
/// `https://` collector; for a plain `http://` one, a client whose TLS has no roots at all, so a
/// local collector costs no certificate loading.
fn http_client(plain: bool) -> Result<reqwest::Client, String> {
    const CONNECT: Duration = Duration::from_secs(5);
    if !plain {
        return crate::llm::http::build_client(CONNECT);
    }
    crate::llm::http::install_crypto_provider();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .connect_timeout(CONNECT)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| e.to_string())
}

/// One span record as the SDK's exportable span.
pub fn to_span_data(s: &SpanRecord) -> SpanData {
    let context = |span: [u8; 8]| {
        SpanContext::new(
            TraceId::from_bytes(s.trace_id),
            opentelemetry::trace::SpanId::from_bytes(span),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    };
    let events = s
        .events
        .iter()
        .map(|e| {
            opentelemetry::trace::Event::new(
                e.name.clone(),
                SystemTime::from(e.at),
                key_values(&e.attributes),
                0,
            )
        })
        .collect();
    let mut span_events = SpanEvents::default();
    span_events.events = events;
    SpanData {
        span_context: context(s.span_id),
        parent_span_id: s.parent.map_or(opentelemetry::trace::SpanId::INVALID, |p| {
            opentelemetry::trace::SpanId::from_bytes(p)
        }),
        parent_span_is_remote: false,
        span_kind: match s.kind {
            Kind::Internal => SpanKind::Internal,
            Kind::Client => SpanKind::Client,
        },
        name: s.name.clone().into(),
        start_time: SystemTime::from(s.start),
        end_time: SystemTime::from(s.end),
        attributes: key_values(&s.attributes),
        dropped_attributes_count: 0,
        events: span_events,
        links: SpanLinks::default(),
        status: match &s.status {
            Status::Unset => OtelStatus::Unset,
            Status::Ok => OtelStatus::Ok,
            Status::Error(d) => OtelStatus::error(d.clone()),
        },
        instrumentation_scope: InstrumentationScope::builder("conclave")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    }
}

fn key_values(attrs: &[(&'static str, Value)]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Str(s) => OtelValue::from(s.clone()),
                Value::Int(n) => OtelValue::I64(*n),
                Value::Float(f) => OtelValue::F64(*f),
                Value::Bool(b) => OtelValue::Bool(*b),
                Value::StrList(list) => OtelValue::Array(Array::String(
                    list.iter().cloned().map(StringValue::from).collect(),
                )),
            };
            KeyValue::new(*k, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Utc;
    use opentelemetry_sdk::error::OTelSdkResult;

    use super::*;
    use crate::core::event::{Outcome, Purpose, SCHEMA_VERSION};

    /// Records each batch it is given (span names).
    #[derive(Clone, Debug, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<String>>>>);

    impl SpanExporter for Recorder {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let names = batch.iter().map(|s| s.name.to_string()).collect();
            if let Ok(mut batches) = self.0.lock() {
                batches.push(names);
            }
            Ok(())
        }
    }

    impl Recorder {
        fn batches(&self) -> Vec<Vec<String>> {
            self.0.lock().map(|b| b.clone()).unwrap_or_default()
        }
    }

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            v: SCHEMA_VERSION,
            seq,
            ts: Utc::now(),
            session: "s".into(),
            kind,
        }
    }

    /// Let the exporter task run until it waits again.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_goes_out_after_the_flush_delay_and_a_task_at_once() {
        let recorder = Recorder::default();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            recorder.clone(),
            TraceFold::new(Default::default()),
            rx,
            "test".into(),
        ));
        let kinds = [
            EventKind::SessionStarted {
                team: "t".into(),
                pattern: crate::config::PatternKind::Single,
                agents: vec![crate::core::event::AgentInfo {
                    name: "a".into(),
                    backend: "b".into(),
                    model: "m".into(),
                    ..Default::default()
                }],
            },
            EventKind::UserMessage {
                text: "go".into(),
                to: None,
                interject: false,
                queued_id: None,
            },
            EventKind::TurnStarted {
                agent: "a".into(),
                turn: 0,
                round: None,
                purpose: Purpose::Speak,
            },
            EventKind::TurnCancelled {
                agent: "a".into(),
                turn: 0,
                partial_text: String::new(),
                usage: Default::default(),
            },
        ];
        for (seq, kind) in kinds.into_iter().enumerate() {
            tx.send(event(seq as u64, kind)).unwrap();
        }
        settle().await;
        assert!(recorder.batches().is_empty(), "held for the flush delay");
        tokio::time::sleep(FLUSH_EVERY + Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(recorder.batches(), [["chat m", "invoke_agent a"]]);
        // Idle: nothing more is sent however long nothing happens.
        tokio::time::sleep(FLUSH_EVERY * 10).await;
        settle().await;
        assert_eq!(recorder.batches().len(), 1);
        // The end of a task goes out at once.
        let finished = EventKind::SessionFinished {
            outcome: Outcome::Completed,
            final_text: None,
        };
        tx.send(event(4, finished)).unwrap();
        settle().await;
        assert_eq!(recorder.batches().len(), 2);
        assert_eq!(recorder.batches()[1], ["invoke_workflow t"]);
        drop(tx);
        task.await.unwrap();
    }
}
