//! Unit tests of the A2A wire: cards, requests and replies of both versions, bad input.

use serde_json::json;

use super::*;

#[test]
fn a_1_0_card_picks_its_jsonrpc_interface_and_lists_skills() {
    let card = json!({
        "name": "Researcher", "description": "looks things up", "version": "1",
        "supportedInterfaces": [
            {"url": "http://h/grpc", "protocolBinding": "GRPC", "protocolVersion": "1.0"},
            {"url": "http://h/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": true},
        "skills": [{"id": "r", "name": "research"}, {"id": "sum"}]
    });
    let c = parse_card("http://h", &card).unwrap();
    assert_eq!(c.version, Version::V1);
    assert_eq!(c.url, "http://h/rpc");
    assert!(c.streaming);
    assert_eq!(c.skills, ["research", "sum"]);
    assert_eq!(c.name, "Researcher");
}

#[test]
fn a_0_3_card_falls_back_to_the_0_3_names() {
    let card = json!({"name": "Old", "url": "http://h/a2a", "protocolVersion": "0.3.0",
                      "capabilities": {}, "skills": []});
    let c = parse_card("http://h", &card).unwrap();
    assert_eq!(
        (c.version, c.url.as_str(), c.streaming),
        (Version::V03, "http://h/a2a", false)
    );
    let only_03 = json!({"name": "x", "supportedInterfaces": [
        {"url": "", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}]});
    let c = parse_card("http://base", &only_03).unwrap();
    assert_eq!((c.version, c.url.as_str()), (Version::V03, "http://base"));
}

#[test]
fn a_card_without_jsonrpc_or_not_an_object_is_an_error() {
    let grpc =
        json!({"name": "g", "supportedInterfaces": [{"url": "u", "protocolBinding": "GRPC"}]});
    assert!(parse_card("b", &grpc).unwrap_err().contains("JSON-RPC"));
    assert!(parse_card("b", &json!([1])).is_err());
    assert!(
        parse_card(
            "b",
            &json!({"name": "x", "url": "u", "preferredTransport": "GRPC"})
        )
        .is_err()
    );
}

#[test]
fn requests_use_each_versions_names_and_spellings() {
    let task = TaskRef {
        id: "t1".into(),
        context_id: Some("c1".into()),
    };
    let v1 = send_request(Version::V1, true, 7, "m", "hi", Some(&task));
    assert_eq!(v1["method"], "SendStreamingMessage");
    assert_eq!(v1["id"], 7);
    assert_eq!(v1["params"]["message"]["role"], "ROLE_USER");
    assert_eq!(v1["params"]["message"]["parts"], json!([{"text": "hi"}]));
    assert_eq!(v1["params"]["message"]["taskId"], "t1");
    assert_eq!(v1["params"]["message"]["contextId"], "c1");
    assert_eq!(
        send_request(Version::V1, false, 1, "m", "x", None)["method"],
        "SendMessage"
    );
    let v03 = send_request(Version::V03, true, 1, "m", "hi", None);
    assert_eq!(v03["method"], "message/stream");
    assert_eq!(v03["params"]["message"]["role"], "user");
    assert_eq!(
        v03["params"]["message"]["parts"],
        json!([{"kind": "text", "text": "hi"}])
    );
    assert!(v03["params"]["message"].get("taskId").is_none());
    assert_eq!(
        send_request(Version::V03, false, 1, "m", "x", None)["method"],
        "message/send"
    );
    assert_eq!(cancel_request(Version::V1, 2, "t")["method"], "CancelTask");
    assert_eq!(cancel_request(Version::V03, 2, "t")["params"]["id"], "t");
    assert_eq!(
        cancel_request(Version::V03, 2, "t")["method"],
        "tasks/cancel"
    );
}

#[test]
fn states_read_in_either_spelling() {
    assert_eq!(
        State::parse("TASK_STATE_INPUT_REQUIRED"),
        State::InputRequired
    );
    assert_eq!(State::parse("input-required"), State::InputRequired);
    assert_eq!(State::parse("working"), State::Working);
    assert_eq!(State::parse("TASK_STATE_CANCELED"), State::Canceled);
    assert_eq!(State::parse("rejected"), State::Rejected);
    assert_eq!(State::parse("weird"), State::Unknown);
}

#[test]
fn stream_frames_of_both_versions_decode_alike() {
    let t = |id: &str| {
        Update::Task(TaskRef {
            id: id.into(),
            context_id: Some("c".into()),
        })
    };
    let v1_artifact = json!({"result": {"artifactUpdate": {"taskId": "t", "contextId": "c",
        "artifact": {"artifactId": "a", "parts": [{"text": "Hel"}, {"data": {}}, {"text": "lo"}]}}}});
    assert_eq!(
        decode(&v1_artifact).unwrap(),
        vec![t("t"), Update::Text("Hello".into())]
    );
    let v03_artifact = json!({"result": {"kind": "artifact-update", "taskId": "t", "contextId": "c",
        "artifact": {"parts": [{"kind": "text", "text": "Hel"}, {"kind": "text", "text": "lo"}]}}});
    assert_eq!(
        decode(&v03_artifact).unwrap(),
        vec![t("t"), Update::Text("Hello".into())]
    );
    let v1_status = json!({"result": {"statusUpdate": {"taskId": "t", "contextId": "c",
        "status": {"state": "TASK_STATE_FAILED", "message": {"parts": [{"text": "broke"}]}}}}});
    assert_eq!(
        decode(&v1_status).unwrap(),
        vec![t("t"), Update::State(State::Failed, "broke".into())]
    );
    let v03_status = json!({"result": {"kind": "status-update", "taskId": "t", "contextId": "c",
        "status": {"state": "input-required", "message": {"parts": [{"kind": "text", "text": "Which?"}]}}}});
    assert_eq!(
        decode(&v03_status).unwrap(),
        vec![t("t"), Update::State(State::InputRequired, "Which?".into())]
    );
}

#[test]
fn whole_tasks_and_messages_decode() {
    let task = json!({"result": {"task": {"id": "t", "contextId": "c",
        "status": {"state": "TASK_STATE_COMPLETED"},
        "artifacts": [{"parts": [{"text": "a"}]}, {"parts": [{"text": "b"}]}],
        "history": [{"parts": [{"text": "the question"}]}]}}});
    let u = decode(&task).unwrap();
    assert_eq!(u[1], Update::Text("ab".into()));
    assert_eq!(u[2], Update::State(State::Completed, String::new()));
    let message = json!({"result": {"kind": "message", "parts": [{"kind": "text", "text": "hi"}]}});
    assert_eq!(
        decode(&message).unwrap(),
        vec![Update::Text("hi".into()), Update::Done]
    );
}

#[test]
fn errors_and_nonsense_are_errors_not_panics() {
    let err = json!({"error": {"code": -32009, "message": "version not supported"}});
    assert_eq!(
        decode(&err).unwrap_err(),
        RpcError {
            code: -32009,
            message: "version not supported".into()
        }
    );
    for bad in [
        json!({}),
        json!({"result": 3}),
        json!({"result": {"kind": "nope"}}),
        json!(null),
    ] {
        assert!(decode(&bad).is_err(), "{bad}");
    }
    // Odd but harmless shapes decode to what they say.
    let odd = json!({"result": {"statusUpdate": {"status": {"state": 5}}}});
    assert_eq!(
        decode(&odd).unwrap(),
        vec![Update::State(State::Unknown, String::new())]
    );
}
