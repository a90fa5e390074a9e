//! The script format: `[[reply]]` tables read from TOML, checked field by field (errors name the
//! script line, the reply and the field), and matched against a request's character, occasion,
//! last user message and turn.

use std::path::Path;

use serde::Deserialize;

use crate::llm::vocab::{CAST_VOTE, COMPLETE_HANDOFF, SELECT_SPEAKER, SUBMIT_PLAN, SUBMIT_SCORES};
use crate::llm::{ErrorKind, FinishReason, LlmError};

/// The occasion of an ordinary conversational turn.
pub const SPEAK: &str = "speak";
/// The occasion of a summary request (see [`crate::llm::vocab::SUMMARIZE_MARKER`]).
pub const SUMMARIZE: &str = "summarize";

/// The occasions a reply can be written for: speaking, summarizing, or one forced tool.
pub const OCCASIONS: [&str; 7] = [
    SPEAK,
    CAST_VOTE,
    SELECT_SPEAKER,
    SUBMIT_SCORES,
    COMPLETE_HANDOFF,
    SUMMARIZE,
    SUBMIT_PLAN,
];

#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub(super) character: String,
    pub(super) on: String,
    /// Lowercased.
    pub(super) contains: Option<String>,
    pub(super) turn: Option<u32>,
    pub(super) text: String,
    /// (name, arguments as JSON text)
    pub(super) tools: Vec<(String, String)>,
    pub(super) error: Option<(ErrorKind, String)>,
    pub(super) finish: Option<FinishReason>,
    pub(super) delay_ms: u64,
}

impl Reply {
    /// `None` when the reply does not match; else how specific the match is (higher wins).
    pub(super) fn specificity(
        &self,
        character: &str,
        on: &str,
        last_user: &str,
        nth: u32,
    ) -> Option<u8> {
        if self.on != on {
            return None;
        }
        let exact = self.character == character;
        if !exact && self.character != "*" {
            return None;
        }
        if let Some(needle) = &self.contains
            && !last_user.contains(needle.as_str())
        {
            return None;
        }
        if let Some(t) = self.turn
            && t != nth
        {
            return None;
        }
        Some(
            u8::from(self.turn.is_some()) * 4
                + u8::from(self.contains.is_some()) * 2
                + u8::from(exact),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    #[serde(default)]
    reply: Vec<toml::Spanned<RawReply>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReply {
    character: String,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    turn: Option<u32>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    tools: Vec<RawTool>,
    #[serde(default)]
    error: Option<RawError>,
    #[serde(default)]
    finish: Option<String>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    name: String,
    #[serde(default)]
    arguments: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    kind: ErrorKind,
    #[serde(default)]
    message: Option<String>,
}

pub(super) fn read_script(backend: &str, path: &Path) -> Result<String, LlmError> {
    std::fs::read_to_string(path).map_err(|e| {
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!("cannot read script {}: {e}", path.display()),
        )
        .with_hint("check `script` in the backend's config table (paths are relative to the working directory)")
    })
}

pub(super) fn parse_script(
    backend: &str,
    text: &str,
    origin: &str,
) -> Result<Vec<Reply>, LlmError> {
    let file: ScriptFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| crate::config::load::line_col(text, s.start))
            .unwrap_or((1, 1));
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!(
                "{origin} line {line}, column {col}: {}",
                e.message().trim_end()
            ),
        )
    })?;
    file.reply
        .into_iter()
        .enumerate()
        .map(|(index, spanned)| {
            let (line, _) = crate::config::load::line_col(text, spanned.span().start);
            let fail = |field: &str, msg: String, hint: &str| {
                LlmError::new(
                    ErrorKind::Config,
                    backend,
                    format!(
                        "{origin} line {line} (reply #{}): `{field}`: {msg}",
                        index + 1
                    ),
                )
                .with_hint(hint.to_string())
            };
            into_reply(spanned.into_inner(), &fail)
        })
        .collect()
}

fn into_reply(
    raw: RawReply,
    fail: &dyn Fn(&str, String, &str) -> LlmError,
) -> Result<Reply, LlmError> {
    if raw.character.trim().is_empty() {
        return Err(fail(
            "character",
            "must not be empty".into(),
            "use the agent's model name, or \"*\" for any",
        ));
    }
    let on = raw.on.unwrap_or_else(|| SPEAK.to_string());
    if !OCCASIONS.contains(&on.as_str()) {
        return Err(fail(
            "on",
            format!("unknown occasion {on:?}"),
            &format!("use one of {}", OCCASIONS.join(", ")),
        ));
    }
    if raw.turn == Some(0) {
        return Err(fail(
            "turn",
            "must be 1 or more".into(),
            "turn = 1 is the first such request",
        ));
    }
    let finish = match raw.finish.as_deref() {
        None => None,
        Some("stop") => Some(FinishReason::Stop),
        Some("length") => Some(FinishReason::Length),
        Some("content_filter") => Some(FinishReason::ContentFilter),
        Some(other) => {
            return Err(fail(
                "finish",
                format!("unknown finish reason {other:?}"),
                "use stop, length or content_filter",
            ));
        }
    };
    let mut tools = Vec::with_capacity(raw.tools.len());
    for t in raw.tools {
        if t.name.trim().is_empty() {
            return Err(fail(
                "tools.name",
                "must not be empty".into(),
                "name the tool, e.g. cast_vote",
            ));
        }
        let args = serde_json::to_string(&t.arguments).map_err(|e| {
            fail(
                "tools.arguments",
                e.to_string(),
                "use plain strings, numbers, booleans, arrays and tables",
            )
        })?;
        tools.push((t.name, args));
    }
    Ok(Reply {
        character: raw.character,
        on,
        contains: raw.contains.map(|c| c.to_lowercase()),
        turn: raw.turn,
        text: raw.text,
        tools,
        error: raw.error.map(|e| {
            let msg = e
                .message
                .unwrap_or_else(|| format!("scripted {} error", e.kind));
            (e.kind, msg)
        }),
        finish,
        delay_ms: raw.delay_ms.unwrap_or(0),
    })
}
