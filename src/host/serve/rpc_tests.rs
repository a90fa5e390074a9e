//! Unit tests of serve's JSON-RPC: both versions' names, refusals, and answers that our own client reads back.

use serde_json::json;

use super::*;

fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn send(method: &str) -> Vec<u8> {
    body(json!({"jsonrpc": "2.0", "id": "x", "method": method,
                "params": {"message": {"parts": [{"text": "Hel"}, {"kind": "text", "text": "lo"}]}}}))
}

#[test]
fn both_versions_names_are_understood() {
    for (method, version, stream) in [
        ("SendMessage", Version::V1, false),
        ("SendStreamingMessage", Version::V1, true),
        ("message/send", Version::V03, false),
        ("message/stream", Version::V03, true),
    ] {
        let r = parse(&send(method)).unwrap();
        assert_eq!(r.version, version, "{method}");
        assert_eq!(
            r.call,
            Call::Send {
                text: "Hello".into(),
                stream
            },
            "{method}"
        );
        assert_eq!(r.id, json!("x"));
    }
    let get =
        body(json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "t"}}));
    assert_eq!(parse(&get).unwrap().call, Call::Get { id: "t".into() });
    let cancel =
        body(json!({"jsonrpc": "2.0", "id": 1, "method": "CancelTask", "params": {"id": "t"}}));
    assert_eq!(
        parse(&cancel).unwrap().call,
        Call::Cancel { id: "t".into() }
    );
}

#[test]
fn bad_requests_are_refused_with_their_code() {
    assert_eq!(parse(b"{nope").unwrap_err().code, PARSE_ERROR);
    assert_eq!(
        parse(&body(json!({"id": 1}))).unwrap_err().code,
        INVALID_REQUEST
    );
    let unknown = parse(&body(json!({"id": 4, "method": "tasks/list"}))).unwrap_err();
    assert_eq!((unknown.code, unknown.id), (METHOD_NOT_FOUND, json!(4)));
    let empty =
        body(json!({"id": 1, "method": "SendMessage", "params": {"message": {"parts": []}}}));
    assert_eq!(parse(&empty).unwrap_err().code, INVALID_PARAMS);
    let no_id = body(json!({"id": 1, "method": "GetTask", "params": {}}));
    assert_eq!(parse(&no_id).unwrap_err().code, INVALID_PARAMS);
}

fn view(state: TaskState) -> TaskView {
    TaskView {
        id: "t".into(),
        context_id: "c".into(),
        state,
        answer: "42".into(),
        reason: (state == TaskState::Failed).then(|| "budget".to_string()),
    }
}

#[test]
fn tasks_and_updates_are_spelled_per_version_and_read_back() {
    use crate::llm::a2a::wire::{State, Update, decode};
    let done = view(TaskState::Completed);
    let v1 = success(&json!(1), task_result(Version::V1, &done));
    assert_eq!(
        v1["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let read = decode(&v1).unwrap();
    assert!(read.contains(&Update::Text("42".into())));
    assert!(read.contains(&Update::State(State::Completed, String::new())));
    let v03 = task_result(Version::V03, &done);
    assert_eq!(
        (v03["kind"].as_str(), v03["status"]["state"].as_str()),
        (Some("task"), Some("completed"))
    );
    let failed = status_update(Version::V03, &view(TaskState::Failed));
    assert_eq!(failed["final"], true);
    assert_eq!(failed["kind"], "status-update");
    let read = decode(&success(&json!(1), failed)).unwrap();
    assert!(read.contains(&Update::State(State::Failed, "budget".into())));
    let working = status_update(Version::V03, &view(TaskState::Working));
    assert_eq!(working["final"], false);
    let chunk = artifact_update(Version::V1, &done, "turn-1", "writer", "He", true);
    assert_eq!(chunk["artifactUpdate"]["append"], true);
    assert_eq!(
        decode(&success(&json!(1), chunk)).unwrap()[1],
        Update::Text("He".into())
    );
    assert_eq!(
        failure(&json!(2), TASK_NOT_FOUND, "no")["error"]["code"],
        TASK_NOT_FOUND
    );
}
