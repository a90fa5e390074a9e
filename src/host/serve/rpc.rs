//! The JSON-RPC side of `conclave serve`, pure: which call a request is (the 1.0 names and the
//! 0.3 ones it replaced), and the task, status and artifact objects each version expects back.
//!
//! The version an answer is written in is the version of the method name the client used: 1.0
//! wraps stream results (`{"statusUpdate": …}`) and spells states `TASK_STATE_COMPLETED`; 0.3
//! tags objects with `kind`, spells states `completed` and marks the last stream event `final`.

use serde_json::{Value, json};

use crate::llm::a2a::wire::{Version, parts_text};

/// JSON-RPC error codes (JSON-RPC 2.0 and A2A).
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const TASK_NOT_FOUND: i64 = -32001;
pub const TASK_NOT_CANCELABLE: i64 = -32002;

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Send { text: String, stream: bool },
    Get { id: String },
    Cancel { id: String },
}

/// A parsed request: its id (echoed back), its version and the call.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: Value,
    pub version: Version,
    pub call: Call,
}

/// A refused request: its id (when readable) and the error.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub id: Value,
    pub code: i64,
    pub message: String,
}

/// Read one JSON-RPC request body.
pub fn parse(body: &[u8]) -> Result<Request, Refusal> {
    let refuse = |id: &Value, code, message: &str| Refusal {
        id: id.clone(),
        code,
        message: message.to_string(),
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| refuse(&Value::Null, PARSE_ERROR, &format!("invalid JSON: {e}")))?;
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = v.get("method").and_then(Value::as_str) else {
        return Err(refuse(
            &id,
            INVALID_REQUEST,
            "a JSON-RPC request needs a method",
        ));
    };
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    let (version, kind) = match method {
        "SendMessage" => (Version::V1, "send"),
        "SendStreamingMessage" => (Version::V1, "stream"),
        "GetTask" => (Version::V1, "get"),
        "CancelTask" => (Version::V1, "cancel"),
        "message/send" => (Version::V03, "send"),
        "message/stream" => (Version::V03, "stream"),
        "tasks/get" => (Version::V03, "get"),
        "tasks/cancel" => (Version::V03, "cancel"),
        other => {
            return Err(refuse(
                &id,
                METHOD_NOT_FOUND,
                &format!(
                    "method '{other}' is not served (SendMessage, SendStreamingMessage, GetTask, CancelTask and their 0.3 names are)"
                ),
            ));
        }
    };
    let call = match kind {
        "send" | "stream" => {
            let text = parts_text(params.get("message").and_then(|m| m.get("parts")));
            if text.trim().is_empty() {
                return Err(refuse(&id, INVALID_PARAMS, "the message has no text part"));
            }
            Call::Send {
                text,
                stream: kind == "stream",
            }
        }
        _ => {
            let Some(task) = params.get("id").and_then(Value::as_str) else {
                return Err(refuse(
                    &id,
                    INVALID_PARAMS,
                    "params.id (the task id) is missing",
                ));
            };
            let task = task.to_string();
            if kind == "get" {
                Call::Get { id: task }
            } else {
                Call::Cancel { id: task }
            }
        }
    };
    Ok(Request { id, version, call })
}

/// A served task's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Submitted,
    Working,
    Completed,
    Canceled,
    Failed,
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Canceled | TaskState::Failed
        )
    }

    fn spelled(self, version: Version) -> &'static str {
        match (self, version) {
            (TaskState::Submitted, Version::V1) => "TASK_STATE_SUBMITTED",
            (TaskState::Working, Version::V1) => "TASK_STATE_WORKING",
            (TaskState::Completed, Version::V1) => "TASK_STATE_COMPLETED",
            (TaskState::Canceled, Version::V1) => "TASK_STATE_CANCELED",
            (TaskState::Failed, Version::V1) => "TASK_STATE_FAILED",
            (TaskState::Submitted, Version::V03) => "submitted",
            (TaskState::Working, Version::V03) => "working",
            (TaskState::Completed, Version::V03) => "completed",
            (TaskState::Canceled, Version::V03) => "canceled",
            (TaskState::Failed, Version::V03) => "failed",
        }
    }
}

/// A snapshot of one served task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskView {
    pub id: String,
    pub context_id: String,
    pub state: TaskState,
    /// The team's answer so far (the final answer once completed).
    pub answer: String,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
}

fn parts(version: Version, text: &str) -> Value {
    match version {
        Version::V1 => json!([{"text": text}]),
        Version::V03 => json!([{"kind": "text", "text": text}]),
    }
}

fn status(version: Version, task: &TaskView) -> Value {
    let mut status = json!({"state": task.state.spelled(version),
                            "timestamp": chrono::Utc::now().to_rfc3339()});
    if let Some(reason) = &task.reason {
        let role = match version {
            Version::V1 => "ROLE_AGENT",
            Version::V03 => "agent",
        };
        let mut message = json!({"messageId": format!("{}-status", task.id), "role": role,
                                 "parts": parts(version, reason), "taskId": task.id,
                                 "contextId": task.context_id});
        if version == Version::V03 {
            message["kind"] = json!("message");
        }
        status["message"] = message;
    }
    status
}

/// The answer artifact's id.
pub const ANSWER: &str = "answer";

/// The whole task (GetTask, CancelTask, SendMessage's answer).
pub fn task(version: Version, task: &TaskView) -> Value {
    let mut v =
        json!({"id": task.id, "contextId": task.context_id, "status": status(version, task)});
    if !task.answer.is_empty() {
        v["artifacts"] = json!([{"artifactId": ANSWER, "name": "answer",
                                  "parts": parts(version, &task.answer)}]);
    }
    if version == Version::V03 {
        v["kind"] = json!("task");
    }
    v
}

/// A stream or send result carrying the whole task.
pub fn task_result(version: Version, view: &TaskView) -> Value {
    match version {
        Version::V1 => json!({"task": task(version, view)}),
        Version::V03 => task(version, view),
    }
}

/// A status update of a stream.
pub fn status_update(version: Version, view: &TaskView) -> Value {
    let body =
        json!({"taskId": view.id, "contextId": view.context_id, "status": status(version, view)});
    match version {
        Version::V1 => json!({"statusUpdate": body}),
        Version::V03 => {
            let mut body = body;
            body["kind"] = json!("status-update");
            body["final"] = json!(view.state.is_terminal());
            body
        }
    }
}

/// An artifact chunk of a stream: `text` appended to artifact `artifact` (named `name`).
pub fn artifact_update(
    version: Version,
    view: &TaskView,
    artifact: &str,
    name: &str,
    text: &str,
    append: bool,
) -> Value {
    let body = json!({"taskId": view.id, "contextId": view.context_id,
        "artifact": {"artifactId": artifact, "name": name, "parts": parts(version, text)},
        "append": append, "lastChunk": false});
    match version {
        Version::V1 => json!({"artifactUpdate": body}),
        Version::V03 => {
            let mut body = body;
            body["kind"] = json!("artifact-update");
            body
        }
    }
}

/// A JSON-RPC success.
pub fn success(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A JSON-RPC error.
pub fn failure(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
