//! The A2A wire, pure: agent cards, JSON-RPC requests and the replies they get, for A2A 1.0 and
//! the 0.3 names it replaced. Bytes-level framing (SSE) is the shared parser's job; this module
//! turns one JSON-RPC answer into the few [`Update`]s a turn needs.
//!
//! The two versions differ in spelling, not in shape: 1.0 wraps a reply in its kind
//! (`{"task": …}`, `{"statusUpdate": …}`), spells states `TASK_STATE_WORKING` and roles
//! `ROLE_USER`, and its parts carry `text` alone; 0.3 tags a reply with `kind` (`task`,
//! `status-update`, …), spells states `working` and roles `user`, and tags parts with
//! `kind: "text"`. Reading is tolerant (either spelling is understood whatever version was asked);
//! writing uses the version the card offers. Types are written by hand rather than taken from the
//! `a2a-lf` crate: its 1.0 types reject 0.3 cards (no `supportedInterfaces`) and 0.3 state names,
//! so the 0.3 fallback needs its own types anyway, and one tolerant set is smaller than two.

use serde_json::{Value, json};

/// The well-known path of an agent card below the server's base URL.
pub const CARD_PATH: &str = "/.well-known/agent-card.json";

/// Which JSON-RPC method names and spellings a remote speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// A2A 1.0: `SendMessage`, `SendStreamingMessage`, `CancelTask`, header `A2A-Version: 1.0`.
    V1,
    /// A2A 0.3: `message/send`, `message/stream`, `tasks/cancel`.
    V03,
}

/// What conclave needs from an agent card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub name: String,
    pub description: String,
    /// Skill names (ids when a skill has no name).
    pub skills: Vec<String>,
    /// The JSON-RPC endpoint.
    pub url: String,
    pub version: Version,
    /// `capabilities.streaming`.
    pub streaming: bool,
}

/// Read an agent card fetched from `base_url`: the JSON-RPC interface of the newest version it
/// offers (1.0 in `supportedInterfaces`, else 0.3's `url`/`protocolVersion` or a 0.3 interface).
pub fn parse_card(base_url: &str, card: &Value) -> Result<Card, String> {
    let Some(obj) = card.as_object() else {
        return Err("the agent card is not a JSON object".into());
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let jsonrpc = |binding: Option<&Value>| {
        binding
            .and_then(Value::as_str)
            .is_none_or(|b| b.eq_ignore_ascii_case("jsonrpc"))
    };
    let mut v1 = None;
    let mut v03 = None;
    for iface in obj
        .get("supportedInterfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !jsonrpc(iface.get("protocolBinding")) {
            continue;
        }
        let url = text(iface.get("url"));
        let version = text(iface.get("protocolVersion"));
        if version.starts_with("0.") {
            v03.get_or_insert(url);
        } else {
            v1.get_or_insert(url);
        }
    }
    if v03.is_none()
        && let Some(url) = obj.get("url").and_then(Value::as_str)
        && jsonrpc(obj.get("preferredTransport"))
    {
        v03 = Some(url.to_string());
    }
    let (version, url) = match (v1, v03) {
        (Some(url), _) => (Version::V1, url),
        (None, Some(url)) => (Version::V03, url),
        (None, None) => {
            return Err(
                "the agent card offers no JSON-RPC interface (conclave speaks A2A over JSON-RPC)"
                    .into(),
            );
        }
    };
    let url = if url.is_empty() {
        base_url.to_string()
    } else {
        url
    };
    let skills = obj
        .get("skills")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| match text(s.get("name")) {
            n if n.is_empty() => text(s.get("id")),
            n => n,
        })
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Card {
        name: text(obj.get("name")),
        description: text(obj.get("description")),
        skills,
        url,
        version,
        streaming: obj
            .get("capabilities")
            .and_then(|c| c.get("streaming"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The remote task a reply belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskRef {
    pub id: String,
    pub context_id: Option<String>,
}

/// A task's state, either spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Submitted,
    Working,
    Completed,
    InputRequired,
    AuthRequired,
    Canceled,
    Failed,
    Rejected,
    Unknown,
}

impl State {
    pub fn parse(s: &str) -> State {
        let s = s.strip_prefix("TASK_STATE_").unwrap_or(s);
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "submitted" => State::Submitted,
            "working" => State::Working,
            "completed" => State::Completed,
            "input-required" => State::InputRequired,
            "auth-required" => State::AuthRequired,
            "canceled" | "cancelled" => State::Canceled,
            "failed" => State::Failed,
            "rejected" => State::Rejected,
            _ => State::Unknown,
        }
    }
}

/// One thing a reply says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// The reply belongs to this task.
    Task(TaskRef),
    /// Reply text (artifact or message parts, joined without separators).
    Text(String),
    /// The task's state, with the text of its status message (the remote's reason or question).
    State(State, String),
    /// A direct `Message` reply: the whole answer, no task.
    Done,
}

/// A JSON-RPC error the remote answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// A JSON-RPC request for one message. `task` continues a task that asked for input.
pub fn send_request(
    version: Version,
    streaming: bool,
    id: u64,
    message_id: &str,
    text: &str,
    task: Option<&TaskRef>,
) -> Value {
    let (method, mut message) = match version {
        Version::V1 => (
            if streaming {
                "SendStreamingMessage"
            } else {
                "SendMessage"
            },
            json!({"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": text}]}),
        ),
        Version::V03 => (
            if streaming {
                "message/stream"
            } else {
                "message/send"
            },
            json!({"kind": "message", "messageId": message_id, "role": "user",
                   "parts": [{"kind": "text", "text": text}]}),
        ),
    };
    if let Some(task) = task {
        message["taskId"] = json!(task.id);
        if let Some(ctx) = &task.context_id {
            message["contextId"] = json!(ctx);
        }
    }
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"message": message}})
}

/// A JSON-RPC request cancelling `task_id`.
pub fn cancel_request(version: Version, id: u64, task_id: &str) -> Value {
    let method = match version {
        Version::V1 => "CancelTask",
        Version::V03 => "tasks/cancel",
    };
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"id": task_id}})
}

/// The text parts of `parts`, joined without separators.
pub fn parts_text(parts: Option<&Value>) -> String {
    parts
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

fn task_ref(id: Option<&Value>, context: Option<&Value>) -> Option<Update> {
    let id = id.and_then(Value::as_str)?;
    Some(Update::Task(TaskRef {
        id: id.to_string(),
        context_id: context.and_then(Value::as_str).map(str::to_string),
    }))
}

fn status(obj: &Value) -> Option<Update> {
    let status = obj.get("status")?;
    let state = State::parse(status.get("state").and_then(Value::as_str).unwrap_or(""));
    let message = parts_text(status.get("message").and_then(|m| m.get("parts")));
    Some(Update::State(state, message))
}

/// Decode one JSON-RPC answer (a whole response, or one SSE frame of a stream).
pub fn decode(answer: &Value) -> Result<Vec<Update>, RpcError> {
    if let Some(err) = answer.get("error") {
        return Err(RpcError {
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string(),
        });
    }
    let Some(result) = answer.get("result") else {
        return Err(RpcError {
            code: 0,
            message: "an answer with neither `result` nor `error`".into(),
        });
    };
    let wrapped = ["task", "message", "statusUpdate", "artifactUpdate"]
        .into_iter()
        .find_map(|k| result.get(k).map(|v| (k, v)));
    let (kind, obj) = match wrapped {
        Some(found) => found,
        None => match result.get("kind").and_then(Value::as_str) {
            Some("task") => ("task", result),
            Some("message") => ("message", result),
            Some("status-update") => ("statusUpdate", result),
            Some("artifact-update") => ("artifactUpdate", result),
            _ => {
                return Err(RpcError {
                    code: 0,
                    message: "a result that is no task, message, status or artifact update".into(),
                });
            }
        },
    };
    let mut out = Vec::new();
    match kind {
        "task" => {
            out.extend(task_ref(obj.get("id"), obj.get("contextId")));
            let text: String = obj
                .get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| parts_text(a.get("parts")))
                .collect();
            if !text.is_empty() {
                out.push(Update::Text(text));
            }
            out.extend(status(obj));
        }
        "message" => {
            out.extend(task_ref(obj.get("taskId"), obj.get("contextId")));
            out.push(Update::Text(parts_text(obj.get("parts"))));
            out.push(Update::Done);
        }
        "statusUpdate" => {
            out.extend(task_ref(obj.get("taskId"), obj.get("contextId")));
            out.extend(status(obj));
        }
        _ => {
            out.extend(task_ref(obj.get("taskId"), obj.get("contextId")));
            let text = parts_text(obj.get("artifact").and_then(|a| a.get("parts")));
            out.push(Update::Text(text));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
