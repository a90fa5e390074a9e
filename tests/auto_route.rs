//! Auto routing (issue 11) end to end: the real `conclave run` binary, an auto team whose router
//! and members all talk to the fake OpenAI-compatible server over loopback, replies chosen by the
//! request's model and forced tool. The router picks and the routed team answers; a `--control`
//! `route` line within the approval window picks another team; a run killed (SIGKILL) after the
//! route, while the routed team streams, resumes as the routed team without asking the router again.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::child::{Running, of_type, types};
use support::llm_fake::{ByRequest, Wire, forced_tool};
use support::{FakeServer, Reply, Step, Turn, wire};

struct Fixture {
    _runtime: tokio::runtime::Runtime,
    server: FakeServer,
    replies: ByRequest,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// The fake server, and a config whose `ask` team routes to `chat` (one agent) or `duo`
    /// (a two-step pipeline) under `approval`.
    fn new(approval: &str) -> Fixture {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(FakeServer::start());
        let replies = ByRequest::install(&server, &[Wire::OpenAi]);
        let dir = tempfile::tempdir().unwrap();
        let agents: String = ["router", "solo", "pro", "con"]
            .iter()
            .map(|a| format!("[agents.{a}]\nbackend = \"fake\"\nmodel = \"{a}-model\"\n\n"))
            .collect();
        let text = format!(
            r#"
[backends.fake]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "CONCLAVE_AUTO_TEST_KEY"
max_retries = 0

{agents}
[teams.chat]
pattern = "single"
description = "One agent answers"
members = ["solo"]

[teams.duo]
pattern = "sequential"
description = "Two steps"
members = ["pro", "con"]

[teams.ask]
pattern = "auto"
router = "router"
teams = ["chat", "duo"]
{approval}
"#,
            url = server.url()
        );
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Fixture {
            _runtime: runtime,
            server,
            replies,
            dir,
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn route(&self, team: &str) {
        let pick = Turn::text(Vec::<String>::new()).tool(
            "call_route",
            "route_task",
            &format!(r#"{{"team":"{team}","reason":"it fits"}}"#),
        );
        self.replies.add(
            "router-model",
            Some("route_task"),
            Wire::OpenAi.reply(&pick),
        );
    }

    fn says(&self, agent: &str, text: &str) {
        self.replies.add(
            &format!("{agent}-model"),
            None,
            Wire::OpenAi.reply(&Turn::text([text]).usage(10, 3)),
        );
    }

    /// Requests whose model is `agent`'s.
    fn requests_of(&self, agent: &str) -> Vec<Value> {
        Wire::OpenAi
            .requests(&self.server)
            .iter()
            .map(|r| r.json())
            .filter(|b| b["model"] == format!("{agent}-model"))
            .collect()
    }

    fn run(&self, args: &[&str]) -> Command {
        conclave(&self.config(), &self.data(), args)
    }
}

fn conclave(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", data)
        .env("CONCLAVE_AUTO_TEST_KEY", "sk-test-not-a-real-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn speakers(events: &[Value]) -> Vec<String> {
    of_type(events, "message")
        .iter()
        .filter(|m| m["purpose"] == "speak")
        .map(|m| m["agent"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_router_picks_a_team_and_that_team_answers() {
    let fx = Fixture::new("");
    fx.route("duo");
    fx.says("pro", "Do it.");
    fx.says("con", "Not yet.");
    let out = fx
        .run(&[
            "--team",
            "ask",
            "--events",
            "jsonl",
            "--prompt",
            "tabs or spaces?",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let started = &events[0];
    assert_eq!(started["pattern"], "auto");
    assert_eq!(
        started["agents"].as_array().unwrap().len(),
        1,
        "only the router at first"
    );
    let routed = of_type(&events, "routed");
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0]["team"], "duo");
    assert_eq!(routed[0]["by"], "router");
    assert_eq!(routed[0]["reason"], "it fits");
    let announced = of_type(&events, "agents_announced");
    let names: Vec<&str> = announced[0]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pro", "con"]);
    assert_eq!(speakers(&events), ["pro", "con"]);
    let end = events.last().unwrap();
    assert_eq!(end["outcome"], "completed");
    assert_eq!(end["final"], "Not yet.");
    // The router was forced to answer route_task, choosing among the teams, and metered.
    let asked = fx.requests_of("router");
    assert_eq!(asked.len(), 1);
    assert_eq!(forced_tool(&asked[0]).as_deref(), Some("route_task"));
    let tools = asked[0]["tools"].to_string();
    assert!(tools.contains(r#"["chat","duo"]"#), "{tools}");
    assert!(asked[0].to_string().contains("tabs or spaces?"));
    let router_turn = of_type(&events, "message")
        .into_iter()
        .find(|m| m["agent"] == "router")
        .unwrap();
    assert_eq!(router_turn["purpose"], "router");
    assert!(router_turn["usage"]["input"].as_u64().is_some());
}

#[test]
fn a_control_route_line_within_the_window_picks_another_team() {
    let fx = Fixture::new("approval = \"window\"\napproval_window_ms = 60000");
    fx.route("duo");
    fx.says("solo", "Spaces, always.");
    let mut run = Running::spawn(fx.run(&[
        "--team",
        "ask",
        "--events",
        "jsonl",
        "--control",
        "jsonl",
        "--prompt",
        "tabs or spaces?",
    ]));
    let routed = run.until("routed");
    assert_eq!(routed["team"], "duo");
    assert_eq!(routed["approval"], "window");
    assert_eq!(routed["window_ms"], 60000);
    run.write(r#"{"type":"route","team":"chess"}"#);
    let error = run.until("error");
    assert!(error["message"].as_str().unwrap().contains("unknown team"));
    run.write(r#"{"type":"route","team":"chat"}"#);
    let by_person = run.until("routed");
    assert_eq!(by_person["team"], "chat");
    assert_eq!(by_person["by"], "person");
    let (code, events) = run.finish();
    assert_eq!(code, 0, "{:?}", types(&events));
    assert_eq!(speakers(&events), ["solo"]);
    assert_eq!(events.last().unwrap()["final"], "Spaces, always.");
    assert!(
        fx.requests_of("pro").is_empty(),
        "the router's pick never ran"
    );
}

#[test]
fn killed_after_the_route_it_resumes_as_the_routed_team() {
    let fx = Fixture::new("");
    fx.route("duo");
    // pro streams slowly: the kill lands while it speaks.
    let events = wire::openai_events(&Turn::text(["slow ", "words ", "here"]).usage(10, 3));
    let mut slow = Reply::sse(Vec::<String>::new());
    for event in events {
        slow = slow
            .then(Step::Write(event.into_bytes()))
            .then(Step::Sleep(Duration::from_millis(400)));
    }
    fx.replies.add("pro-model", None, slow);
    fx.says("pro", "Do it.");
    fx.says("con", "Not yet.");
    let mut run = Running::spawn(fx.run(&[
        "--team",
        "ask",
        "--events",
        "jsonl",
        "--prompt",
        "tabs or spaces?",
    ]));
    run.until("agents_announced");
    let turn = run.until("turn_started");
    assert_eq!(turn["agent"], "pro");
    run.child.kill().unwrap();
    run.child.wait().unwrap();
    let id = run.seen[0]["session"].as_str().unwrap().to_string();

    let out = fx
        .run(&["--resume", &id, "--events", "jsonl"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        of_type(&resumed, "routed")
            .iter()
            .all(|e| e["seq"].as_u64() < turn["seq"].as_u64())
    );
    let after: Vec<Value> = resumed
        .iter()
        .filter(|e| e["seq"].as_u64() > turn["seq"].as_u64())
        .cloned()
        .collect();
    assert!(of_type(&after, "routed").is_empty(), "{:?}", types(&after));
    assert_eq!(speakers(&after), ["pro", "con"]);
    assert_eq!(after.last().unwrap()["outcome"], "completed");
    assert_eq!(
        fx.requests_of("router").len(),
        1,
        "the router is not asked again"
    );
}
