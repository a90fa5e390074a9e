//! Secrets and hostile text through the real binary: what `run`, `check` and `sessions` print,
//! journal and log must hold no key (not even one written into `api_key_cmd`), no URL password
//! or query value, and no terminal control sequence a server sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use support::{FakeServer, Reply, files_under};

const KEY: &str = "sk-live-abcdefghijklmnop1234";

/// `conclave ARGS` with its data dir under `home`; (exit code, stdout + stderr).
fn conclave(home: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("CONCLAVE_DATA_DIR", home.join("data"))
        .env("CONCLAVE_LOG", "trace")
        .env_remove("CONCLAVE_CONFIG")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Write `body` as `config.toml` under `home`; its path.
fn write_config(home: &Path, body: &str) -> String {
    let config = home.join("config.toml");
    std::fs::write(&config, body).unwrap();
    config.to_str().unwrap().to_string()
}

/// `what` holds none of `secrets`, and no escape or bell byte: raw, or inside a JSON string of
/// a JSON document or line (a journal, an export, `--events jsonl`).
fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{secret} leaked into {what}:\n{text}"
        );
    }
    let controls = |s: &str| s.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{9d}']);
    assert!(
        !controls(text),
        "a control character reached {what}:\n{text}"
    );
    let docs = std::iter::once(text).chain(text.lines());
    for value in docs.filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok()) {
        let mut stack = vec![&value];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) => {
                    assert!(!controls(s), "a control character in JSON of {what}: {s:?}")
                }
                serde_json::Value::Array(items) => stack.extend(items),
                serde_json::Value::Object(map) => stack.extend(map.values()),
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_api_key_cmd_and_escapes_in_an_error_body_reach_no_output_journal_or_log() {
    let server = FakeServer::start().await;
    let refused = json!({"error": {
        "message": format!("Incorrect API key provided: {KEY}. \u{1b}]52;c;cHduZWQ=\u{7}\u{1b}]0;pwned\u{7}\u{1b}[2J"),
        "type": "invalid_request_error", "code": "invalid_api_key"}});
    server.always("/v1/chat/completions", Reply::json(401, refused));
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            r#"
[backends.oa]
kind = "openai"
base_url = "{}/v1"
api_key_cmd = "echo {KEY}"
max_retries = 0

[agents.solo]
backend = "oa"
model = "m"

[agents.duo]
backend = "oa"
model = "m"

[teams.t]
pattern = "group_chat"
members = ["solo", "duo"]
speaker_selection = "round_robin"
max_rounds = 1
"#,
            server.url()
        ),
    );
    let dir = home.path().to_path_buf();
    let outputs = tokio::task::spawn_blocking(move || {
        let mut outputs = Vec::new();
        for events in ["text", "jsonl"] {
            let args = [
                "run", "--config", &cfg, "--team", "t", "--prompt", "go", "--events", events,
            ];
            outputs.push((format!("run --events {events}"), conclave(&dir, &args).1));
        }
        let (_, list) = conclave(&dir, &["sessions", "--config", &cfg, "list"]);
        outputs.push(("sessions list".into(), list));
        for (_, text) in files_under(&dir.join("data").join("sessions")) {
            let Some(id) = text
                .lines()
                .next()
                .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .and_then(|h| h["session"].as_str().map(str::to_string))
            else {
                continue;
            };
            for args in [
                vec!["sessions", "--config", &cfg, "show", &id],
                vec![
                    "sessions", "--config", &cfg, "export", &id, "--format", "md",
                ],
                vec![
                    "sessions", "--config", &cfg, "export", &id, "--format", "json",
                ],
            ] {
                outputs.push((args[3..].join(" "), conclave(&dir, &args).1));
            }
        }
        outputs
    })
    .await
    .unwrap();

    assert!(
        !server.requests().is_empty(),
        "the backend was called at all"
    );
    assert!(outputs.len() >= 6, "two sessions recorded: {outputs:#?}");
    for (what, text) in &outputs {
        assert_clean(what, text, &[KEY]);
    }
    let written = files_under(&home.path().join("data"));
    assert!(written.iter().any(|(p, _)| p.ends_with("conclave.log")));
    let journals: Vec<&String> = written
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|(_, t)| t)
        .collect();
    assert!(
        journals.iter().any(|t| t.contains("program `echo`")),
        "the hint names the program: {journals:#?}"
    );
    for (path, text) in &written {
        assert_clean(&path.display().to_string(), text, &[KEY]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_hides_url_passwords_and_query_values_and_strips_escapes_from_model_ids() {
    let server = FakeServer::start().await;
    server.always(
        "/v1/models",
        Reply::json(
            200,
            json!({"object": "list", "data": [
                {"id": "gpt-4o\u{1b}]52;c;cm0gLXJmIH4=\u{7}"},
                {"id": "\u{1b}]0;owned\u{1b}\\title-changer"},
                {"id": "clear\u{1b}[2J\u{1b}[3J\u{1b}c"}
            ]}),
        ),
    );
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            r#"
[backends.creds]
kind = "openai"
base_url = "http://alice:pw-hunter2@127.0.0.1:{port}/v1"

[backends.query]
kind = "openai"
base_url = "http://127.0.0.1:{dead}/v1?api-key=qsecret123"
max_retries = 0

[backends.deadcreds]
kind = "ollama"
base_url = "http://bob:pw-dead-9@127.0.0.1:{dead}"
max_retries = 0
"#
        ),
    );
    let dir = home.path().to_path_buf();
    let (code, text) =
        tokio::task::spawn_blocking(move || conclave(&dir, &["check", "--config", &cfg]))
            .await
            .unwrap();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ok   creds"), "{text}");
    assert!(
        text.contains("3 models: clear, gpt-4o, title-changer"),
        "{text}"
    );
    assert!(
        text.contains("http://[redacted credentials]@127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("api-key=[redacted]"), "{text}");
    let secrets = ["pw-hunter2", "qsecret123", "pw-dead-9", "alice", "bob:"];
    assert_clean("check", &text, &secrets);
    for (path, written) in files_under(&home.path().join("data")) {
        assert_clean(&path.display().to_string(), &written, &secrets);
    }
}

#[test]
fn a_hostile_journal_header_is_listed_and_exported_by_its_file_name_and_without_escapes() {
    let home = tempfile::tempdir().unwrap();
    let sessions = home.path().join("data").join("sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let header = json!({"v": 1, "kind": "conclave-journal",
        "session": "../../pwned\u{1b}]0;title\u{7}", "team": "t\u{1b}]52;c;cHduZWQ=\u{7}\n# forged",
        "pattern": "single", "config_fingerprint": "0", "started": "2026-11-21T13:00:00Z",
        "forked_from": null, "prices": {}});
    let event = json!({"v": 1, "seq": 0, "ts": "2026-11-21T13:00:00Z", "session": "../../pwned",
        "type": "user_message", "text": "hello", "to": null});
    std::fs::write(
        sessions.join("20261121-130000-abcd.jsonl"),
        format!("{header}\n{event}\n"),
    )
    .unwrap();
    let cfg = &write_config(home.path(), "");
    let (code, list) = conclave(home.path(), &["sessions", "--config", cfg, "list"]);
    assert_eq!(code, 0, "{list}");
    assert!(list.contains("20261121-130000-abcd"), "{list}");
    assert_clean("sessions list", &list, &["pwned", "\n# forged"]);
    for format in ["md", "json"] {
        let args = [
            "sessions",
            "--config",
            cfg,
            "export",
            "20261121-130000-abcd",
            "--format",
            format,
        ];
        let (code, text) = conclave(home.path(), &args);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("hello"), "{text}");
        assert_clean(&format!("export {format}"), &text, &["\n# forged"]);
        if format == "md" {
            assert!(text.contains("Session `20261121-130000-abcd`"), "{text}");
        }
    }
}
