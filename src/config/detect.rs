//! Which backend the embedded default should use when there is no config file.
//!
//! Order (DESIGN section 5): an Ollama server answering `GET /api/tags` at `$OLLAMA_HOST` or
//! 127.0.0.1:11434, then `OPENAI_API_KEY`, then `ANTHROPIC_API_KEY`, else the offline scripted
//! demo. [`detect_env`] looks at environment variables only and never blocks; [`detect`] also
//! probes Ollama, with a short timeout so a missing server costs at most [`PROBE_TIMEOUT`].

use std::time::Duration;

/// The probe gives up after this long.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// Where Ollama listens when `OLLAMA_HOST` is not set.
pub const DEFAULT_OLLAMA_URL: &str = "http://127.0.0.1:11434";
pub const ENV_OLLAMA_HOST: &str = "OLLAMA_HOST";
pub const ENV_OPENAI_KEY: &str = "OPENAI_API_KEY";
pub const ENV_ANTHROPIC_KEY: &str = "ANTHROPIC_API_KEY";

/// What detection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub kind: DetectedKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectedKind {
    /// A server answered at `host` (a base URL such as `http://127.0.0.1:11434`) with these
    /// models, in the order it listed them.
    Ollama {
        host: String,
        models: Vec<String>,
    },
    OpenAi,
    Anthropic,
    /// No backend: the offline scripted demo.
    Demo,
}

impl Detected {
    /// A short label for the first screen and `check`: "Ollama at http://…", "the offline demo".
    pub fn describe(&self) -> String {
        match &self.kind {
            DetectedKind::Ollama { host, .. } => {
                format!("Ollama at {}", crate::text::redact::redact_url(host))
            }
            DetectedKind::OpenAi => format!("OpenAI (key from {ENV_OPENAI_KEY})"),
            DetectedKind::Anthropic => format!("Anthropic (key from {ENV_ANTHROPIC_KEY})"),
            DetectedKind::Demo => "the offline scripted demo (no backend found)".to_string(),
        }
    }
}

/// Environment variables only: `OPENAI_API_KEY`, then `ANTHROPIC_API_KEY`, else the demo.
pub fn detect_env() -> Detected {
    from_keys(|name| std::env::var(name).ok())
}

/// Probe Ollama, then fall back to [`detect_env`].
pub async fn detect() -> Detected {
    let host = ollama_url();
    match probe_ollama(&host, PROBE_TIMEOUT).await {
        Some(models) => Detected {
            kind: DetectedKind::Ollama { host, models },
        },
        None => detect_env(),
    }
}

/// The Ollama base URL from `$OLLAMA_HOST` (`host:port`, `http://host:port`, `0.0.0.0` meaning
/// this machine), else [`DEFAULT_OLLAMA_URL`].
pub fn ollama_url() -> String {
    match std::env::var(ENV_OLLAMA_HOST) {
        Ok(v) if !v.trim().is_empty() => normalize_host(&v),
        _ => DEFAULT_OLLAMA_URL.to_string(),
    }
}

/// `GET {base}/api/tags`; the model names when a server answers in time with Ollama's shape.
pub async fn probe_ollama(base: &str, timeout: Duration) -> Option<Vec<String>> {
    // reqwest is built without a default crypto provider; install ring unless someone already
    // installed one (the error only says that one exists).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .ok()?;
    let url = format!("{}/api/tags", base.trim_end_matches('/'));
    let response = client.get(&url).send().await.ok()?;
    if !response.status().is_success() {
        let url = crate::text::redact::redact_url(&url);
        tracing::debug!(%url, status = %response.status(), "ollama probe: not a success");
        return None;
    }
    let tags: Tags = response.json().await.ok()?;
    // The names are the server's text, shown in the console: cleaned of control sequences.
    Some(
        tags.models
            .into_iter()
            .map(|m| crate::text::sanitize_text(&m.name))
            .collect(),
    )
}

#[derive(serde::Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Model>,
}

#[derive(serde::Deserialize)]
struct Model {
    name: String,
}

fn from_keys(get: impl Fn(&str) -> Option<String>) -> Detected {
    let set = |name: &str| get(name).is_some_and(|v| !v.trim().is_empty());
    let kind = if set(ENV_OPENAI_KEY) {
        DetectedKind::OpenAi
    } else if set(ENV_ANTHROPIC_KEY) {
        DetectedKind::Anthropic
    } else {
        DetectedKind::Demo
    };
    Detected { kind }
}

fn normalize_host(raw: &str) -> String {
    let raw = raw.trim().trim_end_matches('/');
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s, r),
        None => ("http", raw),
    };
    let rest = match rest.strip_prefix("0.0.0.0") {
        Some(port) => format!("127.0.0.1{port}"),
        None => rest.to_string(),
    };
    let has_port = rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if has_port {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}:11434")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn openai_key_wins_over_anthropic() {
        let d = from_keys(|n| Some(format!("key-for-{n}")));
        assert_eq!(d.kind, DetectedKind::OpenAi);
    }

    #[test]
    fn anthropic_key_when_no_openai_key() {
        let d = from_keys(|n| (n == ENV_ANTHROPIC_KEY).then(|| "k".to_string()));
        assert_eq!(d.kind, DetectedKind::Anthropic);
    }

    #[test]
    fn empty_keys_mean_the_demo() {
        let d = from_keys(|_| Some("  ".to_string()));
        assert_eq!(d.kind, DetectedKind::Demo);
    }

    #[test]
    fn ollama_host_forms() {
        assert_eq!(normalize_host("0.0.0.0:11434"), "http://127.0.0.1:11434");
        assert_eq!(normalize_host("myhost"), "http://myhost:11434");
        assert_eq!(
            normalize_host("https://gpu.lan:8443/"),
            "https://gpu.lan:8443"
        );
        assert_eq!(normalize_host("127.0.0.1:9999"), "http://127.0.0.1:9999");
    }

    /// Serve one HTTP response on loopback and return the base URL.
    async fn serve_once(status: &'static str, body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let reply = if request.starts_with("GET /api/tags ") {
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = sock.write_all(reply.as_bytes()).await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn probe_lists_models_of_a_server_that_answers() {
        let base = serve_once(
            "200 OK",
            r#"{"models":[{"name":"qwen2.5:7b","size":1},{"name":"llama3.2:latest"}]}"#,
        )
        .await;
        let models = probe_ollama(&base, Duration::from_secs(10)).await;
        assert_eq!(
            models,
            Some(vec![
                "qwen2.5:7b".to_string(),
                "llama3.2:latest".to_string()
            ])
        );
    }

    #[tokio::test]
    async fn probe_rejects_errors_and_foreign_bodies() {
        let base = serve_once("500 Internal Server Error", "{}").await;
        assert_eq!(probe_ollama(&base, Duration::from_secs(10)).await, None);
        let base = serve_once("200 OK", "<html>not ollama</html>").await;
        assert_eq!(probe_ollama(&base, Duration::from_secs(10)).await, None);
    }

    #[tokio::test]
    async fn probe_of_a_closed_port_is_none() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let base = format!("http://{addr}");
        assert_eq!(probe_ollama(&base, Duration::from_secs(10)).await, None);
    }
}
