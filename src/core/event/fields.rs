//! Typed values for event fields the JSON keeps as plain strings.
//!
//! Mental model: on the wire these fields are strings (`"approval":"confirm"`,
//! `"finish":"length"`, `"kind":"rate_limit"`, `"by":"user"`), and journals written by any build
//! must still read back. In memory they are enums, so code matches on variants instead of
//! comparing strings; each has an `Other(String)` variant that keeps a value this build does not
//! know, so an unknown string reads and writes back unchanged. `as_str` gives the wire name.

use serde::{Deserialize, Serialize};

use crate::llm;

/// The actor of everything the person does (console keys, `--control` commands).
pub const USER: &str = "user";

/// How a handoff request is decided (`handoff_requested.approval`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Approval {
    /// Accepted at once.
    Auto,
    /// Waits for the person to approve or reject it.
    Confirm,
    /// Accepted when its window runs out, unless the person cancels or redirects it first.
    Window,
    /// A name this build does not know, kept as read.
    Other(String),
}

impl Approval {
    pub fn as_str(&self) -> &str {
        match self {
            Approval::Auto => "auto",
            Approval::Confirm => "confirm",
            Approval::Window => "window",
            Approval::Other(s) => s,
        }
    }
}

impl From<&str> for Approval {
    fn from(s: &str) -> Self {
        match s {
            "auto" => Approval::Auto,
            "confirm" => Approval::Confirm,
            "window" => Approval::Window,
            other => Approval::Other(other.to_string()),
        }
    }
}

impl From<crate::config::Approval> for Approval {
    fn from(a: crate::config::Approval) -> Self {
        match a {
            crate::config::Approval::Auto => Approval::Auto,
            crate::config::Approval::Confirm => Approval::Confirm,
            crate::config::Approval::Window => Approval::Window,
        }
    }
}

/// Why a turn failed (`turn_failed.error.kind`): a provider's classified error, or a failure the
/// orchestrator itself decides.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorKind {
    /// A provider error (`auth`, `rate_limit`, `timeout`, …).
    Llm(llm::ErrorKind),
    /// The turn was cancelled.
    Cancelled,
    /// The model's answer could not be used (a malformed vote, pick or score).
    Malformed,
    /// The turn ran past its deadline (`timeout_ms`).
    Deadline,
    /// A name this build does not know, kept as read.
    Other(String),
}

impl ErrorKind {
    pub fn as_str(&self) -> &str {
        match self {
            ErrorKind::Llm(kind) => kind.as_str(),
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Other(s) => s,
        }
    }
}

impl From<&str> for ErrorKind {
    fn from(s: &str) -> Self {
        match s {
            "cancelled" => ErrorKind::Cancelled,
            "malformed" => ErrorKind::Malformed,
            "deadline" => ErrorKind::Deadline,
            other => match llm::ErrorKind::from_name(other) {
                Some(kind) => ErrorKind::Llm(kind),
                None => ErrorKind::Other(other.to_string()),
            },
        }
    }
}

impl From<llm::ErrorKind> for ErrorKind {
    fn from(kind: llm::ErrorKind) -> Self {
        ErrorKind::Llm(kind)
    }
}

/// The string plumbing shared by the enums above: parse from and write to the wire name, print
/// it, and compare with it (`kind == "timeout"`).
macro_rules! wire_name {
    ($t:ty) => {
        impl From<String> for $t {
            fn from(s: String) -> Self {
                <$t>::from(s.as_str())
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

wire_name!(Approval);
wire_name!(ErrorKind);

/// Where a guard stands (`guard_asked.boundary`, `guard_tripped.boundary`): before a handoff is
/// accepted, before an MCP tool call runs, before the final answer is given (issue 10.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Boundary {
    Handoff,
    Tool,
    Final,
    /// A name this build does not know, kept as read.
    Other(String),
}

impl Boundary {
    pub fn as_str(&self) -> &str {
        match self {
            Boundary::Handoff => "handoff",
            Boundary::Tool => "tool",
            Boundary::Final => "final",
            Boundary::Other(s) => s,
        }
    }
}

impl From<&str> for Boundary {
    fn from(s: &str) -> Self {
        match s {
            "handoff" => Boundary::Handoff,
            "tool" => Boundary::Tool,
            "final" => Boundary::Final,
            other => Boundary::Other(other.to_string()),
        }
    }
}

wire_name!(Boundary);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names_round_trip() {
        for name in ["auto", "confirm", "window", "someday"] {
            let a: Approval = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(Approval::from("window"), Approval::Window);
        assert_eq!(Approval::from("later"), Approval::Other("later".into()));
        for name in [
            "rate_limit",
            "cancelled",
            "malformed",
            "deadline",
            "gremlins",
        ] {
            let k: ErrorKind = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(k, name);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(
            ErrorKind::from("timeout"),
            ErrorKind::Llm(llm::ErrorKind::Timeout)
        );
        assert_eq!(
            ErrorKind::from("gremlins"),
            ErrorKind::Other("gremlins".into())
        );
        // Guards (issue 10.4).
        for name in ["handoff", "tool", "final", "plan"] {
            let b: Boundary = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(b, name);
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(Boundary::from("final"), Boundary::Final);
        assert_eq!(Boundary::from("plan"), Boundary::Other("plan".into()));
    }

    #[test]
    fn finish_reasons_keep_their_names() {
        for name in ["stop", "length", "tool_calls", "content_filter", "eos"] {
            let f: llm::FinishReason = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(llm::FinishReason::from("length"), llm::FinishReason::Length);
        assert_eq!(
            llm::FinishReason::from("eos"),
            llm::FinishReason::Other("eos".into())
        );
    }

    #[test]
    fn every_llm_kind_reads_back_as_itself() {
        for kind in llm::ErrorKind::ALL {
            assert_eq!(ErrorKind::from(kind.as_str()), ErrorKind::Llm(kind));
        }
    }
}
