//! Rules for `[telemetry]`: a usable collector URL, and a transport this build speaks.

use super::Finding;
use super::backends::url_problem;
use crate::config::schema::{OtlpProtocol, TelemetryConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_telemetry(t: &TelemetryConfig, out: &mut Vec<Finding>) {
    let path = KeyPath::of(&["telemetry"]);
    if let Some(url) = &t.otlp_endpoint
        && let Some(problem) = url_problem(url)
    {
        out.push(
            Finding::error(path.key("otlp_endpoint"), Part::Value, problem)
                .hint("write the collector's base URL, such as \"http://127.0.0.1:4318\""),
        );
    }
    if t.protocol == Some(OtlpProtocol::Grpc) {
        out.push(
            Finding::error(
                path.key("protocol"),
                Part::Value,
                "OTLP over gRPC is not built into this version of conclave",
            )
            .hint("use protocol = \"http/protobuf\" and the collector's HTTP port (4318)"),
        );
    }
}
