//! OpenTelemetry traces of sessions: one more subscriber to the event stream (DESIGN section 1).
//!
//! Mental model: events → [`fold`] (pure: each event in, the spans it finished out, timed by the
//! events' own timestamps, ids derived from the session, see [`span`]) → [`otlp`] (the SDK's
//! `SpanData`, sent by `opentelemetry-otlp` over HTTP/protobuf). Live, `host` subscribes
//! [`otlp::spawn`] next to the journal when [`Settings::from_config`] finds a collector;
//! `conclave sessions export ID --format otlp` runs the same fold over a journal
//! ([`otlp::send_spans`]). Nothing here ever blocks a session or reaches the screen: the
//! live exporter logs one warning when the collector cannot be reached.
//!
//! Knobs: `[telemetry] otlp_endpoint` (a base URL; `/v1/traces` is added for HTTP), else the
//! standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; `protocol`
//! (`http/protobuf`, or `grpc` over plain HTTP/2), else `OTEL_EXPORTER_OTLP_PROTOCOL`; headers
//! from `OTEL_EXPORTER_OTLP_HEADERS`; `capture_content` for prompt and reply text.

pub mod fold;
mod notes;
pub mod otlp;
pub mod span;

use crate::config::schema::{Config, OtlpProtocol};

pub use fold::{FoldOptions, TraceFold, spans_of};
pub use span::SpanRecord;

/// Where spans go and what they hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// HTTP/protobuf (default) or gRPC.
    pub protocol: OtlpProtocol,
    /// The traces URL (HTTP: the base URL + `/v1/traces`; gRPC: the base URL); `None`: the
    /// exporter reads the standard environment variables.
    pub endpoint: Option<String>,
    /// The collector as shown in logs and errors (no credentials).
    pub shown: String,
    /// The collector is `http://`: no TLS set up (no system roots loaded) for it.
    pub plain_http: bool,
    pub fold: FoldOptions,
}

/// Why spans could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "no OTLP collector to send to: pass --endpoint URL, set [telemetry] otlp_endpoint, or \
         set OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    NoEndpoint,
    #[error(
        "OTLP over gRPC to an https:// collector is not built in: use protocol = \"http/protobuf\" \
         (TLS works there) or a plain http:// gRPC endpoint"
    )]
    GrpcTls,
    #[error("cannot set up the OTLP exporter: {message}")]
    Client { message: String },
    #[error("cannot send the trace to {endpoint}: {message}; is the collector running there?")]
    Send { endpoint: String, message: String },
}

const ENV_TRACES: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const ENV_BASE: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const ENV_PROTOCOLS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

impl Settings {
    /// The live settings of `config`: `None` when neither `[telemetry] otlp_endpoint` nor the
    /// standard environment names a collector.
    pub fn from_config(config: &Config) -> Option<Settings> {
        match Settings::resolve(config, None) {
            Ok(settings) => Some(settings),
            Err(TelemetryError::NoEndpoint) => None,
            Err(e) => {
                tracing::warn!(error = %e, "telemetry is off");
                None
            }
        }
    }

    /// The settings `sessions export --format otlp` uses: `endpoint` (a base URL) first, then
    /// the config, then the environment.
    pub fn resolve(config: &Config, endpoint: Option<&str>) -> Result<Settings, TelemetryError> {
        let protocol = config.telemetry.protocol.unwrap_or_else(protocol_from_env);
        let base = endpoint
            .or(config.telemetry.otlp_endpoint.as_deref())
            .filter(|s| !s.trim().is_empty());
        let (endpoint, url) = match base {
            Some(base) => {
                let url = match protocol {
                    OtlpProtocol::HttpProtobuf => traces_url(base),
                    OtlpProtocol::Grpc => base.trim().to_string(),
                };
                (Some(url.clone()), url)
            }
            None => {
                let from_env = [ENV_TRACES, ENV_BASE]
                    .into_iter()
                    .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()));
                let Some(url) = from_env else {
                    return Err(TelemetryError::NoEndpoint);
                };
                (None, url)
            }
        };
        if protocol == OtlpProtocol::Grpc && url.trim().to_ascii_lowercase().starts_with("https:") {
            return Err(TelemetryError::GrpcTls);
        }
        Ok(Settings {
            protocol,
            plain_http: url.trim().to_ascii_lowercase().starts_with("http:"),
            shown: crate::text::redact::redact_url(&url),
            endpoint,
            fold: FoldOptions {
                capture_content: config.telemetry.capture_content.unwrap_or(false),
                providers: config
                    .backends
                    .iter()
                    .map(|(name, b)| (name.clone(), b.kind.as_str().to_string()))
                    .collect(),
            },
        })
    }
}

/// The standard `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`: `grpc`, else HTTP/protobuf.
fn protocol_from_env() -> OtlpProtocol {
    let named = ENV_PROTOCOLS
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()));
    match named.as_deref().map(str::trim) {
        Some("grpc") => OtlpProtocol::Grpc,
        _ => OtlpProtocol::HttpProtobuf,
    }
}

/// The OTLP/HTTP traces URL of a collector's base URL (`/v1/traces` added unless already there).
pub fn traces_url(base: &str) -> String {
    let base = base.trim();
    if base.trim_end_matches('/').ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{}/v1/traces", base.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests;
