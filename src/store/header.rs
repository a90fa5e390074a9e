//! The first line of every journal: what the session was (team, pattern, prices), when it started,
//! what it was forked from, and a fingerprint of the configuration it ran with.
//!
//! The fingerprint is FNV-1a 64 over a canonical JSON rendering of the config (keys sorted, HTTP
//! header values and inline API keys removed), so it is stable across Rust versions and platforms
//! and never carries a secret. It only tells whether two sessions ran with the same config.
//!
//! A header read back is not trusted ([`check_against_file`]): its session id must be the
//! journal's file name (the name `sessions` resolves and files are named after), any id in it
//! must follow the id grammar ([`super::is_valid_id`]), and its team name must be one line.

use std::collections::BTreeMap;
use std::path::Path;

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

/// Make a header read from the journal at `path` fit to print and to name files with, noting in
/// `warnings` what had to change. The session id becomes the file's stem when that is a valid id
/// (else the header's id with every character outside the grammar replaced), with a warning only
/// when the header's id was not a valid one; the id a fork names
/// is made valid the same way; the team name loses line breaks and tabs. Strings were already
/// cleaned of control sequences by the reader.
pub fn check_against_file(header: &mut JournalHeader, path: &Path, warnings: &mut Vec<String>) {
    let team = one_line(&header.team);
    if team != header.team {
        warnings.push(format!(
            "the team name {team:?} had line breaks; shown on one line"
        ));
        header.team = team;
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| super::is_valid_id(s));
    let id = match stem {
        Some(stem) => stem.to_string(),
        None => safe_id(&header.session),
    };
    // A renamed or copied journal is a session of its new name (the name `sessions` resolves):
    // no warning for that, only for an id that breaks the grammar.
    if id != header.session {
        if !super::is_valid_id(&header.session) {
            warnings.push(format!(
                "the header names session {:?}, not a valid id; {id} (its file name) is used",
                one_line(&header.session)
            ));
        }
        header.session = id;
    }
    if let Some((from, _)) = &mut header.forked_from
        && !super::is_valid_id(from)
    {
        let valid = safe_id(from);
        warnings.push(format!(
            "the session it was forked from, {:?}, is not a valid id; shown as {valid}",
            one_line(from)
        ));
        *from = valid;
    }
}

/// `text` with line breaks and tabs turned into spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `id` made to follow the id grammar: every other character becomes `_`, as does a leading dot;
/// an empty id becomes `_`.
fn safe_id(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| if super::is_id_char(c) { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
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
                first_token_timeout_ms: None,
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
                tools: Vec::new(),
                tool_approval: None,
                max_tool_rounds: None,
            },
        );
        c
    }

    #[test]
    fn a_header_read_back_is_checked_against_its_file_name_and_the_id_grammar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20260101-000000-abcd.jsonl");
        let header = r#"{"v":1,"kind":"conclave-journal","session":"../../x\u001b]0;t\u0007","team":"t\u001b[2J\n# forged","pattern":"single","config_fingerprint":"0","started":"2026-11-21T13:00:00Z","forked_from":["../etc/passwd",3],"prices":{}}"#;
        std::fs::write(&path, format!("{header}\n")).unwrap();
        let journal = super::super::read_journal(&path).unwrap();
        let h = &journal.header;
        assert_eq!(h.session, "20260101-000000-abcd");
        assert_eq!(h.team, "t # forged");
        assert_eq!(h.forked_from, Some(("_.._etc_passwd".to_string(), 3)));
        assert_eq!(journal.warnings.len(), 3, "{:?}", journal.warnings);
        assert!(
            journal
                .warnings
                .iter()
                .all(|w| !w.contains(['\n', '\u{1b}']))
        );

        // A file whose name is no id keeps the header's id, made valid.
        let odd = dir.path().join("not an id.jsonl");
        std::fs::write(&odd, format!("{header}\n")).unwrap();
        let journal = super::super::read_journal(&odd).unwrap();
        assert_eq!(journal.header.session, "_.._.._x");
        assert!(super::super::is_valid_id(&journal.header.session));

        // A good header is left alone, without warnings.
        let good = dir.path().join("s-1.jsonl");
        std::fs::write(
            &good,
            format!(
                "{}\n",
                header
                    .replace("../../x\\u001b]0;t\\u0007", "s-1")
                    .replace("\\u001b[2J\\n# forged", "")
                    .replace("../etc/passwd", "s-0")
            ),
        )
        .unwrap();
        let journal = super::super::read_journal(&good).unwrap();
        assert_eq!(journal.header.session, "s-1");
        assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
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
