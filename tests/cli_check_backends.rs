//! `conclave check` reaches every backend over real HTTP: an OpenAI-compatible server, an
//! Anthropic-format server and an Ollama-API server (the in-repo fake server on loopback), plus a
//! dead port and a server that refuses the key. Each gets one block: ok with its models, or FAIL
//! with the classified error; the exit code is 1 when any backend fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use serde_json::json;
use support::{FakeServer, Reply};

fn conclave_check(config: &std::path::Path) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["check", "--config", config.to_str().unwrap()])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("CONCLAVE_DATA_DIR", home.path().join("data"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env("TEST_KEY", "sk-test-not-a-real-key-0123456789")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn write_config(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_lists_the_models_of_each_wire_protocol() {
    let server = FakeServer::start().await;
    server.always(
        "/v1/models",
        Reply::json(
            200,
            json!({"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "owned_by": "system"},
                {"id": "claude-haiku-4-5", "type": "model", "display_name": "Claude Haiku 4.5"}
            ], "has_more": false}),
        ),
    );
    server.always(
        "/api/tags",
        Reply::json(
            200,
            json!({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189}]}),
        ),
    );
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[backends.compat]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "TEST_KEY"

[backends.claude]
kind = "anthropic"
base_url = "{url}"
api_key_env = "TEST_KEY"

[backends.local]
kind = "ollama"
base_url = "{url}"
"#
        ),
    );
    let (code, text) = tokio::task::spawn_blocking(move || conclave_check(&config))
        .await
        .unwrap();
    assert_eq!(code, 0, "{text}");
    for line in ["ok   compat", "ok   claude", "ok   local"] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(text.contains("gpt-4o-mini"), "{text}");
    assert!(text.contains("claude-haiku-4-5"), "{text}");
    assert!(text.contains("llama3.2:latest"), "{text}");
    assert!(text.contains("3 of 3 backends reachable"), "{text}");
    assert!(
        !text.contains("sk-test-not-a-real-key"),
        "the key leaked:\n{text}"
    );

    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().any(|p| p.starts_with("/v1/models")),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p == "/api/tags"), "{paths:?}");
    let anthropic = server
        .requests()
        .into_iter()
        .find(|r| r.header("anthropic-version").is_some())
        .expect("an Anthropic-format request");
    assert_eq!(
        anthropic.header("x-api-key"),
        Some("sk-test-not-a-real-key-0123456789")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_dead_backend_and_a_refused_key_and_exits_1() {
    let server = FakeServer::start().await;
    server.always(
        "/v1/models",
        Reply::json(
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ),
    );
    // A port that was free a moment ago: nothing listens there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[backends.refused]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "TEST_KEY"
max_retries = 0

[backends.dead]
kind = "ollama"
base_url = "http://127.0.0.1:{dead}"
max_retries = 0
"#
        ),
    );
    let (code, text) = tokio::task::spawn_blocking(move || conclave_check(&config))
        .await
        .unwrap();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL refused"), "{text}");
    assert!(
        text.contains("TEST_KEY"),
        "the hint names the variable to fix:\n{text}"
    );
    assert!(text.contains("FAIL dead"), "{text}");
    assert!(text.contains("0 of 2 backends reachable"), "{text}");
    assert!(
        !text.contains("sk-test-not-a-real-key"),
        "the key leaked:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_probes_forced_tool_calls_once_and_names_the_form_each_backend_gets() {
    use support::Turn;
    use support::llm_fake::{ByRequest, Wire, forced_tool};
    let models = Reply::json(200, json!({"object": "list", "data": [{"id": "small"}]}));
    // One server that calls the tool, one llama-server that refuses, one that answers in text.
    let able = FakeServer::start().await;
    let refusing = FakeServer::start().await;
    let ignoring = FakeServer::start().await;
    for server in [&able, &refusing, &ignoring] {
        server.always("/v1/models", models.clone());
    }
    able.always(
        Wire::OpenAi.path(),
        Wire::OpenAi.reply(&Turn::default().tool("c1", "report_status", r#"{"ok":true}"#)),
    );
    let none = ByRequest::default();
    support::local::refuse_forced(&refusing, Wire::OpenAi, &none);
    support::local::ignore_forced(&ignoring, Wire::OpenAi, &none, "I am fine, thanks.");
    let dir = tempfile::tempdir().unwrap();
    let block = |name: &str, server: &FakeServer| {
        format!(
            "[backends.{name}]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"TEST_KEY\"\n\n",
            server.url()
        )
    };
    let config = write_config(
        dir.path(),
        &format!(
            "{}{}{}[agents.a]\nbackend = \"refusing\"\nmodel = \"agent-model\"\n",
            block("able", &able),
            block("refusing", &refusing),
            block("ignoring", &ignoring)
        ),
    );
    let (code, text) = tokio::task::spawn_blocking(move || conclave_check(&config))
        .await
        .unwrap();
    assert_eq!(code, 0, "{text}");
    let after = |name: &str| {
        let start = text.find(&format!("ok   {name} ")).expect(name);
        text[start..].lines().nth(1).unwrap_or_default().to_string()
    };
    assert!(after("able").contains("forced tool calls: yes"), "{text}");
    let refused = after("refusing");
    assert!(refused.contains("forced tool calls: no"), "{text}");
    assert!(refused.contains("Failed to initialize samplers"), "{text}");
    assert!(refused.contains("text markers"), "{text}");
    assert!(
        after("ignoring").contains("answered a forced call in text"),
        "{text}"
    );
    for server in [&able, &refusing, &ignoring] {
        let chats = Wire::OpenAi.requests(server);
        assert_eq!(chats.len(), 1, "probed once");
        assert_eq!(
            forced_tool(&chats[0].json()).as_deref(),
            Some("report_status")
        );
    }
    // The probe asks with the model of the agent on the backend, else the first one listed.
    assert_eq!(
        Wire::OpenAi.requests(&refusing)[0].json()["model"],
        "agent-model"
    );
    assert_eq!(Wire::OpenAi.requests(&able)[0].json()["model"], "small");
}
