//! Finished spans as plain data: what the fold produces and the exporter sends. No OpenTelemetry
//! types here, so the fold and its tests need neither the SDK nor a runtime.
//!
//! Ids are derived, not random: a task's trace id and every span id are hashes of the session id
//! and the `seq`/turn that opened them, so the live export and a later `sessions export` of the
//! same journal produce the same trace, and a resumed task continues the trace it began.

use chrono::{DateTime, Utc};

/// A 16-byte trace id (never all zero).
pub type TraceId = [u8; 16];
/// An 8-byte span id (never all zero).
pub type SpanId = [u8; 8];

/// One attribute value, in the OTLP types the conventions use.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    StrList(Vec<String>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Float(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Attributes in the order they were set.
pub type Attributes = Vec<(&'static str, Value)>;

/// OTLP span kinds this mapping uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Internal,
    /// A call to a model server (`chat` spans).
    Client,
}

/// How a span ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Unset,
    Ok,
    Error(String),
}

/// Something that happened at a point in a span (a handoff, a vote, a tally).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    pub at: DateTime<Utc>,
    pub attributes: Attributes,
}

/// One finished span.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub name: String,
    pub kind: Kind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub attributes: Attributes,
    pub events: Vec<SpanEvent>,
    pub status: Status,
}

impl SpanRecord {
    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// FNV-1a over `parts` (separated, so `("ab","c")` and `("a","bc")` differ), from `seed`.
fn fnv(seed: u64, parts: &[&[u8]]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = seed;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    h
}

const SEED_A: u64 = 0xcbf2_9ce4_8422_2325;
const SEED_B: u64 = 0x8422_2325_cbf2_9ce4;

/// The trace id of the task of `session` opened at `seq`.
pub fn trace_id(session: &str, seq: u64) -> TraceId {
    let seq = seq.to_le_bytes();
    let parts: [&[u8]; 3] = [b"trace", session.as_bytes(), &seq];
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&fnv(SEED_A, &parts).to_be_bytes());
    id[8..].copy_from_slice(&fnv(SEED_B, &parts).to_be_bytes());
    if id == [0; 16] {
        id[15] = 1;
    }
    id
}

/// The id of span `what` (`task`, `agent`, `chat`, …) numbered `n` in `session`.
pub fn span_id(session: &str, what: &str, n: u64) -> SpanId {
    let n = n.to_le_bytes();
    let id = fnv(SEED_A, &[b"span", session.as_bytes(), what.as_bytes(), &n]);
    if id == 0 { 1u64 } else { id }.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_never_zero() {
        assert_eq!(trace_id("s1", 3), trace_id("s1", 3));
        assert_ne!(trace_id("s1", 3), trace_id("s1", 4));
        assert_ne!(trace_id("s1", 3), trace_id("s2", 3));
        assert_ne!(span_id("s", "agent", 1), span_id("s", "chat", 1));
        assert_ne!(span_id("s", "agent", 1), span_id("s", "agent", 2));
        assert_ne!(span_id("ab", "c", 0), span_id("a", "bc", 0));
        assert_ne!(trace_id("", 0), [0; 16]);
        assert_ne!(span_id("", "", 0), [0; 8]);
    }
}
