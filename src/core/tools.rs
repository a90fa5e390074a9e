//! The structured answers the orchestrator asks of models (DESIGN section 2): tool specs, and
//! parsers that read them back from tool calls or, for models without tool support, from text
//! marker lines (`HANDOFF: billing: card issue`).
//!
//! Parsers never fail loudly: they return what was found, or a [`Malformed`] explaining what was
//! wrong in words the model can act on when it is asked again. Agent names appear in tool names
//! (`transfer_to_<agent>`) sanitized to `[a-zA-Z0-9_-]`; parsing maps them back to real names.
//! The tool names and markers themselves are [`crate::llm::vocab`]'s, shared with the scripted
//! backend that plays models offline.
//!
//! Leniency (issues 12.7, 17.3): a reply that is nothing but one candidate's name is a valid pick
//! (and a bare `agree` a valid vote: [`bare_word`]); arguments cut off by `max_tokens` or holding
//! raw control characters are read by [`salvage`], and count when their decisive field (`choice`,
//! `agent`, the scores) is whole; the reason of such an answer is marked [`TRUNCATED`].
//! [`answer_floor`] is the least `max_tokens` a forced call gets, so the answer fits.

mod plan;
mod salvage;

pub use plan::{parse_plan, plan_tool};
pub use salvage::{Salvaged, salvage};

use serde_json::{Value, json};

use crate::core::event::{ToolCallInfo, VoteChoice};
use crate::llm::ToolSpec;
pub use crate::llm::vocab::{
    CAST_VOTE, COMPLETE_HANDOFF, DONE_MARKER, HANDOFF_MARKER, NEXT_MARKER, SCORE_MARKER,
    SELECT_SPEAKER, SUBMIT_SCORES, TRANSFER_PREFIX, VOTE_MARKER,
};

/// Why an answer could not be used; shown to the model when it is asked again.
#[derive(Clone, Debug, PartialEq)]
pub struct Malformed(pub String);

/// A handoff action found in a reply.
#[derive(Clone, Debug, PartialEq)]
pub enum HandoffAction {
    Transfer { to: String, reason: String },
    Complete { summary: String },
}

/// One handoff-related item of a reply, with the call it came from (`None` for a text marker).
#[derive(Clone, Debug, PartialEq)]
pub struct Found<T> {
    pub call: Option<ToolCallInfo>,
    pub item: Result<T, Malformed>,
}

/// `[a-zA-Z0-9_-]` only; anything else becomes `_`.
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn transfer_tool_name(agent: &str) -> String {
    format!("{TRANSFER_PREFIX}{}", sanitize_name(agent))
}

/// `transfer_to_<agent>` for each allowed target, plus `complete_handoff` when `can_complete`.
pub fn handoff_tools(targets: &[(String, Option<String>)], can_complete: bool) -> Vec<ToolSpec> {
    let mut tools: Vec<ToolSpec> = targets
        .iter()
        .map(|(agent, description)| ToolSpec {
            name: transfer_tool_name(agent),
            description: match description {
                Some(d) => format!("Hand the conversation over to {agent}: {d}"),
                None => format!("Hand the conversation over to {agent}."),
            },
            parameters: json!({
                "type": "object",
                "properties": {"reason": {"type": "string", "description": "Why this agent should take over."}},
                "required": ["reason"]
            }),
        })
        .collect();
    if can_complete {
        tools.push(ToolSpec {
            name: COMPLETE_HANDOFF.into(),
            description: "Your part is done: hand control back to the agent that handed off to you."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {"summary": {"type": "string", "description": "What you did, for the agent taking over again."}},
                "required": ["summary"]
            }),
        });
    }
    tools
}

pub fn vote_tool() -> ToolSpec {
    ToolSpec {
        name: CAST_VOTE.into(),
        description: "Vote on the group's current proposal.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "choice": {"type": "string", "enum": ["agree", "disagree", "abstain"]},
                "reason": {"type": "string"}
            },
            "required": ["choice", "reason"]
        }),
    }
}

pub fn select_speaker_tool(candidates: &[String]) -> ToolSpec {
    ToolSpec {
        name: SELECT_SPEAKER.into(),
        description: "Pick who speaks next.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": candidates},
                "reason": {"type": "string"}
            },
            "required": ["agent", "reason"]
        }),
    }
}

pub fn scores_tool(candidates: &[String]) -> ToolSpec {
    ToolSpec {
        name: SUBMIT_SCORES.into(),
        description: "Score every candidate answer from 0 to 10.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "scores": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "agent": {"type": "string", "enum": candidates},
                            "score": {"type": "number", "minimum": 0, "maximum": 10},
                            "reason": {"type": "string"}
                        },
                        "required": ["agent", "score", "reason"]
                    }
                }
            },
            "required": ["scores"]
        }),
    }
}

/// How to answer with a text line instead of `tool` (for backends without tool support).
pub fn marker_instructions(tool: &ToolSpec) -> String {
    let name = tool.name.as_str();
    if let Some(agent) = name.strip_prefix(TRANSFER_PREFIX) {
        format!(
            "To hand over to {agent}, end your reply with a line `{HANDOFF_MARKER} {agent}: <reason>`."
        )
    } else if name == COMPLETE_HANDOFF {
        format!("When your part is done, end your reply with a line `{DONE_MARKER} <summary>`.")
    } else if name == CAST_VOTE {
        format!("Answer with one line `{VOTE_MARKER} <agree|disagree|abstain>: <reason>`.")
    } else if name == SELECT_SPEAKER {
        format!("Answer with one line `{NEXT_MARKER} <agent>: <reason>`.")
    } else if name == SUBMIT_SCORES {
        format!("Answer with one line per candidate `{SCORE_MARKER} <agent>: <0-10>: <reason>`.")
    } else if name == crate::llm::vocab::SUBMIT_PLAN {
        plan::plan_marker_instructions()
    } else {
        String::new()
    }
}

/// Every handoff action of a reply, tool calls first, then text markers.
/// `targets` are the allowed targets; a transfer elsewhere is malformed.
pub fn parse_handoffs(
    text: &str,
    calls: &[ToolCallInfo],
    targets: &[String],
) -> Vec<Found<HandoffAction>> {
    let mut out = Vec::new();
    for call in calls {
        let item = if call.name == COMPLETE_HANDOFF {
            args(call).map(|a| HandoffAction::Complete {
                summary: reason_field(&a, "summary"),
            })
        } else if let Some(raw) = call.name.strip_prefix(TRANSFER_PREFIX) {
            resolve(raw, targets).and_then(|to| {
                args(call).map(|a| HandoffAction::Transfer {
                    to,
                    reason: reason_field(&a, "reason"),
                })
            })
        } else {
            Err(Malformed(format!("unknown tool '{}'", call.name)))
        };
        out.push(Found {
            call: Some(call.clone()),
            item,
        });
    }
    for line in text.lines() {
        if let Some(rest) = marker(line, HANDOFF_MARKER) {
            let (agent, reason) = split_once_trim(rest);
            out.push(Found {
                call: None,
                item: resolve(agent, targets).map(|to| HandoffAction::Transfer {
                    to,
                    reason: reason.to_string(),
                }),
            });
        } else if let Some(rest) = marker(line, DONE_MARKER) {
            out.push(Found {
                call: None,
                item: Ok(HandoffAction::Complete {
                    summary: rest.trim().to_string(),
                }),
            });
        }
    }
    out
}

/// The vote of a reply: the `cast_vote` call, else a `VOTE:` line.
pub fn parse_vote(
    text: &str,
    calls: &[ToolCallInfo],
) -> (
    Option<ToolCallInfo>,
    Result<(VoteChoice, String), Malformed>,
) {
    if let Some(call) = calls.iter().find(|c| c.name == CAST_VOTE) {
        let parsed = decisive_args(call, "choice").and_then(|a| {
            choice(&str_field(&a.value, "choice")).map(|c| (c, reason_field(&a, "reason")))
        });
        return (Some(call.clone()), parsed);
    }
    for line in text.lines() {
        if let Some(rest) = marker(line, VOTE_MARKER) {
            let (c, reason) = split_once_trim(rest);
            return (None, choice(c).map(|c| (c, reason.to_string())));
        }
    }
    if let Some(c) = bare_word(text).and_then(|w| choice(w).ok()) {
        return (calls.first().cloned(), Ok((c, String::new())));
    }
    (
        calls.first().cloned(),
        Err(Malformed(format!(
            "no vote found: call {CAST_VOTE} with choice agree, disagree or abstain"
        ))),
    )
}

/// The manager's pick: the `select_speaker` call, else a `NEXT:` line.
pub fn parse_speaker(
    text: &str,
    calls: &[ToolCallInfo],
    candidates: &[String],
) -> (Option<ToolCallInfo>, Result<(String, String), Malformed>) {
    if let Some(call) = calls.iter().find(|c| c.name == SELECT_SPEAKER) {
        let parsed = decisive_args(call, "agent").and_then(|a| {
            resolve(&str_field(&a.value, "agent"), candidates)
                .map(|n| (n, reason_field(&a, "reason")))
        });
        return (Some(call.clone()), parsed);
    }
    for line in text.lines() {
        if let Some(rest) = marker(line, NEXT_MARKER) {
            let (a, reason) = split_once_trim(rest);
            return (
                None,
                resolve(a, candidates).map(|a| (a, reason.to_string())),
            );
        }
    }
    if let Some(agent) = bare_name(text, candidates) {
        return (calls.first().cloned(), Ok((agent, String::new())));
    }
    (
        calls.first().cloned(),
        Err(Malformed(format!(
            "no pick found: call {SELECT_SPEAKER} with one of {}",
            candidates.join(", ")
        ))),
    )
}

/// Scores as `(agent, score, reason)`, one per candidate.
pub type Scores = Vec<(String, f64, String)>;

/// The judge's scores: the `submit_scores` call, else `SCORE:` lines. Every candidate must be
/// scored once, 0 to 10.
pub fn parse_scores(
    text: &str,
    calls: &[ToolCallInfo],
    candidates: &[String],
) -> (Option<ToolCallInfo>, Result<Scores, Malformed>) {
    let (call, raw) = if let Some(call) = calls.iter().find(|c| c.name == SUBMIT_SCORES) {
        let raw = decisive_args(call, "agent").and_then(|a| match a.value.get("scores") {
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(n, i)| {
                    let reason = str_field(i, "reason");
                    // Only the last item can have been cut.
                    let cut = a.truncated && n + 1 == items.len();
                    (
                        str_field(i, "agent"),
                        i.get("score").and_then(Value::as_f64),
                        if cut {
                            format!("{reason}{TRUNCATED}")
                        } else {
                            reason
                        },
                    )
                })
                .collect::<Vec<_>>()),
            _ => Err(Malformed(format!("{SUBMIT_SCORES} needs a `scores` array"))),
        });
        (Some(call.clone()), raw)
    } else {
        let items: Vec<_> = text
            .lines()
            .filter_map(|l| marker(l, SCORE_MARKER))
            .map(|rest| {
                let mut parts = rest.splitn(3, ':').map(str::trim);
                let agent = parts.next().unwrap_or_default().to_string();
                let score = parts.next().and_then(|s| s.parse::<f64>().ok());
                let reason = parts.next().unwrap_or_default().to_string();
                (agent, score, reason)
            })
            .collect();
        (calls.first().cloned(), Ok(items))
    };
    let checked = raw.and_then(|items| {
        let mut out: Vec<(String, f64, String)> = Vec::new();
        for (agent, score, reason) in items {
            let agent = resolve(&agent, candidates)?;
            let score = score
                .filter(|s| (0.0..=10.0).contains(s))
                .ok_or_else(|| Malformed(format!("the score of {agent} must be 0 to 10")))?;
            if out.iter().any(|(a, _, _)| a == &agent) {
                return Err(Malformed(format!("{agent} is scored twice")));
            }
            out.push((agent, score, reason));
        }
        let missing: Vec<&str> = candidates
            .iter()
            .filter(|c| !out.iter().any(|(a, _, _)| a == *c))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(Malformed(format!("no score for {}", missing.join(", "))))
        }
    });
    (call, checked)
}

/// Map a (possibly sanitized, differently cased) name to one of `candidates`.
pub fn resolve(name: &str, candidates: &[String]) -> Result<String, Malformed> {
    let name = name.trim();
    candidates
        .iter()
        .find(|c| c.as_str() == name)
        .or_else(|| {
            candidates
                .iter()
                .find(|c| sanitize_name(c).eq_ignore_ascii_case(&sanitize_name(name)))
        })
        .cloned()
        .ok_or_else(|| {
            Malformed(format!(
                "unknown agent '{name}': choose one of {}",
                if candidates.is_empty() {
                    "(none)".to_string()
                } else {
                    candidates.join(", ")
                }
            ))
        })
}

/// The arguments of `call`, read leniently ([`salvage`]).
pub fn args(call: &ToolCallInfo) -> Result<Salvaged, Malformed> {
    let raw = call.arguments.trim();
    if raw.is_empty() || raw == "null" {
        return Ok(Salvaged {
            value: json!({}),
            truncated: false,
            cut_key: None,
        });
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(Salvaged {
            value: v,
            truncated: false,
            cut_key: None,
        }),
        Ok(_) => Err(Malformed(format!(
            "the arguments of {} must be a JSON object",
            call.name
        ))),
        Err(e) => salvage(raw).ok_or_else(|| {
            Malformed(format!(
                "the arguments of {} are not valid JSON: {e}",
                call.name
            ))
        }),
    }
}

/// The arguments of `call` read leniently, unless its `decisive` field (`choice`, `agent`,
/// `team`, `allow`) was the part cut off: then the answer is unusable.
pub fn decisive_args(call: &ToolCallInfo, decisive: &str) -> Result<Salvaged, Malformed> {
    let a = args(call)?;
    if a.cut_key.as_deref() == Some(decisive) {
        return Err(Malformed(format!(
            "the arguments of {} were cut off inside `{decisive}`: answer again with a short reason",
            call.name
        )));
    }
    Ok(a)
}

/// The marker added to a reason that was cut off.
pub const TRUNCATED: &str = "… (truncated)";

/// `key` of `a`, marked [`TRUNCATED`] when the arguments were cut off.
pub fn reason_field(a: &Salvaged, key: &str) -> String {
    let text = str_field(&a.value, key);
    if a.truncated {
        format!("{text}{TRUNCATED}")
    } else {
        text
    }
}

/// The least `max_tokens` of a forced call of `tool`, so a short reason fits: an agent configured
/// with fewer tokens would have every structured answer cut off.
pub fn answer_floor(tool: &crate::llm::ToolSpec) -> u32 {
    let candidates = tool
        .parameters
        .pointer("/properties/scores/items/properties/agent/enum")
        .and_then(Value::as_array)
        .map_or(1, Vec::len) as u32;
    if tool.name == SUBMIT_SCORES {
        128 + 96 * candidates
    } else if tool.name == crate::llm::vocab::SUBMIT_PLAN {
        // A whole plan: tasks with their instructions.
        1024
    } else {
        256
    }
}

/// The one word of a reply that is nothing else (surrounding quotes, markdown and punctuation
/// ignored): `"**skeptic**."` → `skeptic`. `None` when the reply says more than one word.
pub fn bare_word(text: &str) -> Option<&str> {
    let t = text
        .trim()
        .trim_matches(|c: char| c.is_whitespace() || "*`'\".,;:!>_#".contains(c));
    (!t.is_empty() && !t.contains(char::is_whitespace)).then_some(t)
}

/// A reply that is nothing but one of `candidates`' names.
pub fn bare_name(text: &str, candidates: &[String]) -> Option<String> {
    bare_word(text).and_then(|w| resolve(w, candidates).ok())
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn choice(s: &str) -> Result<VoteChoice, Malformed> {
    match s.trim().to_ascii_lowercase().as_str() {
        "agree" => Ok(VoteChoice::Agree),
        "disagree" => Ok(VoteChoice::Disagree),
        "abstain" => Ok(VoteChoice::Abstain),
        other => Err(Malformed(format!(
            "invalid vote '{other}': choose agree, disagree or abstain"
        ))),
    }
}

fn marker<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let line = line.trim().trim_start_matches(['*', '`', '>', ' ']);
    let head = line.get(..tag.len())?;
    head.eq_ignore_ascii_case(tag).then(|| &line[tag.len()..])
}

fn split_once_trim(s: &str) -> (&str, &str) {
    match s.split_once(':') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), ""),
    }
}

#[cfg(test)]
mod tests;
