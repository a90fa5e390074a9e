//! The first line of every journal: what the session was (team, pattern, prices), when it started,
//! what it was forked from, and a fingerprint of the configuration it ran with.
//!
//! The fingerprint is FNV-1a 64 over a canonical JSON rendering of the config (keys sorted, HTTP
//! header values and inline API keys removed), so it is stable across Rust versions and platforms
//! and never carries a secret. It only tells whether two sessions ran with the same config.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Price};
use crate::core::event::{PatternKind, SCHEMA_VERSION};

/// The `kind` of a journal header line.
pub const JOURNAL_KIND: &str = "conclave-journal";

/// The header line of a journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub v: u32,
    /// Always [`JOURNAL_KIND`].
    pub kind: String,
    pub session: String,
    pub team: String,
    pub pattern: PatternKind,
    pub config_fingerprint: String,
    pub started: DateTime<Utc>,
    /// The session and seq this one was forked from.
    #[serde(default)]
    pub forked_from: Option<(String, u64)>,
    /// Price per million tokens of each agent that has one, for the cost in summaries.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

impl JournalHeader {
    /// A header for a new session of `team` started at `started`, with the prices and the
    /// fingerprint taken from `config`.
    pub fn new(
        session: impl Into<String>,
        team: impl Into<String>,
        pattern: PatternKind,
        config: &Config,
        started: DateTime<Utc>,
    ) -> Self {
        let prices = config
            .agents
            .iter()
            .filter_map(|(name, agent)| agent.price.map(|p| (name.clone(), p)))
            .collect();
        JournalHeader {
            v: SCHEMA_VERSION,
            kind: JOURNAL_KIND.to_string(),
            session: session.into(),
            team: team.into(),
            pattern,
            config_fingerprint: config_fingerprint(config),
            started,
            forked_from: None,
            prices,
        }
    }
}

/// A stable, secret-free hash of `config`, as 16 hex digits.
pub fn config_fingerprint(config: &Config) -> String {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(backends) = value.get_mut("backends").and_then(|b| b.as_object_mut()) {
        for backend in backends.values_mut() {
            if let Some(b) = backend.as_object_mut() {
                b.remove("api_key");
                if let Some(headers) = b.get_mut("headers").and_then(|h| h.as_object_mut()) {
                    for v in headers.values_mut() {
                        *v = serde_json::Value::Null;
                    }
                }
            }
        }
    }
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    format!("{:016x}", fnv1a64(canonical.as_bytes()))
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// JSON with object keys sorted, whatever map type serde_json was built with.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentConfig, BackendConfig, BackendKind};

    fn config(key: Option<&str>, header: &str) -> Config {
        let mut c = Config::default();
        c.backends.insert(
            "openai".into(),
            BackendConfig {
                kind: BackendKind::Openai,
                base_url: None,
                api_key_env: Some("OPENAI_API_KEY".into()),
                api_key_cmd: None,
                api_key: key.map(String::from),
                headers: BTreeMap::from([("Authorization".to_string(), header.to_string())]),
                connect_timeout_ms: None,
                idle_timeout_ms: None,
                max_retries: None,
                tools: None,
                num_ctx: None,
                script: None,
                tokens_per_sec: None,
            },
        );
        c.agents.insert(
            "a".into(),
            AgentConfig {
                backend: "openai".into(),
                model: "gpt".into(),
                system: None,
                description: None,
                color: None,
                max_tokens: None,
                temperature: None,
                timeout_ms: None,
                price: Some(Price {
                    input: 1.0,
                    output: 2.0,
                }),
            },
        );
        c
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_ignores_secrets_but_not_settings() {
        let a = config_fingerprint(&config(Some("sk-one"), "Bearer one"));
        let b = config_fingerprint(&config(Some("sk-two"), "Bearer two"));
        assert_eq!(a, b);
        let mut changed = config(None, "x");
        if let Some(agent) = changed.agents.get_mut("a") {
            agent.model = "other".into();
        }
        assert_ne!(a, config_fingerprint(&changed));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn header_takes_prices_and_never_the_key() {
        let h = JournalHeader::new(
            "s",
            "t",
            PatternKind::Single,
            &config(Some("sk-secret-123"), "Bearer secret-456"),
            DateTime::from_timestamp(0, 0).unwrap(),
        );
        assert_eq!(h.prices["a"].output, 2.0);
        let line = serde_json::to_string(&h).unwrap();
        assert!(!line.contains("sk-secret-123") && !line.contains("secret-456"));
        assert!(!line.contains("\"type\""));
    }
}
