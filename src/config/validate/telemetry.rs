//! Rules for `[telemetry]`: a usable collector URL, and a transport this build speaks to it
//! (gRPC only over plain HTTP/2).

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
    let https = t
        .otlp_endpoint
        .as_deref()
        .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https:"));
    if t.protocol == Some(OtlpProtocol::Grpc) && https {
        out.push(
            Finding::error(
                path.key("protocol"),
                Part::Value,
                "OTLP over gRPC to an https:// collector is not built into this version of conclave",
            )
            .hint("use protocol = \"http/protobuf\" (TLS works there), or a plain http:// gRPC endpoint"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::schema::Config;

    fn messages(toml_text: &str) -> Vec<String> {
        let config: Config = toml::from_str(toml_text).unwrap_or_default();
        super::super::validate(&config)
            .into_iter()
            .filter(|f| f.path.to_string().starts_with("telemetry"))
            .map(|f| format!("{}: {} ({})", f.path, f.message, f.hint.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_bad_endpoint_and_grpc_over_tls_are_refused_with_what_to_write() {
        let found = messages("[telemetry]\notlp_endpoint = \"localhost:4318\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("telemetry.otlp_endpoint"), "{found:?}");
        assert!(found[0].contains("http://127.0.0.1:4318"), "{found:?}");
        let found = messages(
            "[telemetry]\notlp_endpoint = \"https://otel.example:4317\"\nprotocol = \"grpc\"\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("telemetry.protocol"), "{found:?}");
        assert!(found[0].contains("not built into"), "{found:?}");
        assert!(found[0].contains("http/protobuf"), "{found:?}");
        for fine in [
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4317\"\nprotocol = \"grpc\"\n",
            "[telemetry]\notlp_endpoint = \"https://otel.example\"\nprotocol = \"http/protobuf\"\ncapture_content = true\n",
        ] {
            let found = messages(fine);
            assert!(found.is_empty(), "{fine}: {found:?}");
        }
    }
}
