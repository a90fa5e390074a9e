//! Tool calls in the real `conclave` console in a pseudo-terminal (issue 10 item 6): an agent
//! calls a tool that waits for the person (`tool_approval = "confirm"` on the built-in files
//! server), the call shows in its pane and in the approval panel, and the person decides it by
//! key: approved, the call runs and the answer completes; rejected with a reason typed in the
//! prompt, the reason reaches the model (the fake server records the next request).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "support/wire.rs"]
mod wire;

use home::{Home, LONG};
use pty::{Key, Pty};

/// The built-in files server, and `agent` with its tools waiting for the person.
fn tools_config(agent: &str, backend: &str, model: &str) -> String {
    format!(
        r#"
[mcp.files]
builtin = "files"

[agents.{agent}]
backend = "{backend}"
model = "{model}"
tools = ["files"]
tool_approval = "confirm"

[teams.tooled]
pattern = "single"
members = ["{agent}"]
"#
    )
}

fn quit(term: &mut Pty) {
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
    assert!(term.is_restored(), "{}", term.screen());
}

/// Wait until `pred` holds for the screen.
fn wait_until(term: &Pty, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let start = std::time::Instant::now();
    loop {
        let s = term.screen();
        if pred(&s) {
            return s;
        }
        assert!(start.elapsed() < LONG, "never saw {what}:\n{s}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_waiting_tool_call_is_approved_by_key_and_the_answer_completes() {
    let home = Home::new();
    let mut config = std::fs::read_to_string(home.config()).unwrap();
    config.push_str(&tools_config("researcher", "demo", "researcher"));
    // A server that cannot start, for /tools to report with its stderr.
    config.push_str(
        "\n[mcp.broken]\ncommand = \"sh\"\nargs = [\"-c\", \"echo no-such-module >&2; exit 3\"]\n",
    );
    std::fs::write(home.config(), config).unwrap();
    std::fs::write(home.path().join("notes.txt"), "a file to list\n").unwrap();
    let mut term = home.spawn(&["--team", "tooled"], true);
    term.wait_for("team tooled", LONG).unwrap();
    term.send_text("What is in this directory?").unwrap();
    term.send_key(Key::Enter).unwrap();
    // The scripted researcher lists the directory: the call waits in its pane and the panel.
    // (Each check waits for the whole screen: a frame may be read half drawn.)
    let screen = wait_until(&term, "the waiting call", |s| {
        s.contains("Tool call waits")
            && s.contains("waiting for you")
            && s.contains("files.list_directory")
            && s.contains("^Y approve")
    });
    assert!(
        !screen.contains("I listed the current directory"),
        "{screen}"
    );
    term.send_key(Key::Ctrl('y')).unwrap();
    wait_until(&term, "the call done and the answer", |s| {
        s.contains("I listed the current directory")
            && s.contains("✓ files.list_directory")
            && !s.contains("Tool call waits")
    });
    // Enter on the empty input unfolds the call: its arguments and the listing show in the pane.
    term.send_key(Key::Enter).unwrap();
    wait_until(&term, "the unfolded call", |s| {
        s.contains("    arguments") && s.contains("    result") && s.contains("\"path\": \".\"")
    });
    // /tools asks the running hub: the files server with its tools and who may use them, and
    // the broken one with why and its stderr.
    term.send_text("/tools").unwrap();
    term.wait_for("/tools", LONG).unwrap();
    term.send_key(Key::Enter).unwrap();
    wait_until(&term, "/tools", |s| {
        s.contains("no-such-module")
            && s.contains("files  running · 2 tools")
            && s.contains("list_directory  read-only  researcher")
            && s.contains("broken  failed · sh -c")
            && s.contains("approval confirm: every call waits for you")
    });
    term.send_key(Key::Esc).unwrap();
    wait_until(&term, "/tools to close", |s| !s.contains("no-such-module"));
    quit(&mut term);
    let journal = home.journal();
    assert!(
        journal.contains(r#""type":"tool_approval_requested""#),
        "{journal}"
    );
    assert!(
        journal.contains(r#""type":"tool_approved","call_id":"#)
            && journal.contains(r#""by":"person""#),
        "{journal}"
    );
    assert!(journal.contains("notes.txt"), "the result is journaled");
}

#[test]
fn a_tool_call_rejected_by_key_sends_the_typed_reason_to_the_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime.block_on(server::FakeServer::start());
    let path = "/v1/chat/completions";
    let call = wire::Turn::default()
        .tool("call_1", "files__read_file", r#"{"path":"secret.txt"}"#)
        .usage(20, 5);
    fake.push(path, server::Reply::sse(wire::openai_events(&call)));
    let answer = wire::Turn::text(["Understood, ", "I will not read it."]).usage(30, 6);
    fake.push(path, server::Reply::sse(wire::openai_events(&answer)));
    let home = Home::new();
    let mut config = std::fs::read_to_string(home.config()).unwrap();
    config.push_str(&format!(
        "\n[backends.fake]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"CONCLAVE_TOOLS_TEST_KEY\"\nmax_retries = 0\n",
        fake.url()
    ));
    config.push_str(&tools_config("writer", "fake", "fake-model"));
    std::fs::write(home.config(), config).unwrap();
    let mut term = home.spawn_env(
        &["--team", "tooled"],
        true,
        &[("CONCLAVE_TOOLS_TEST_KEY", "sk-test-not-a-real-key")],
    );
    term.wait_for("team tooled", LONG).unwrap();
    term.send_text("Read secret.txt").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Tool call waits", LONG).unwrap();
    term.send_key(Key::Ctrl('n')).unwrap();
    term.wait_for("Reject the tool call", LONG).unwrap();
    term.send_text("that file is private").unwrap();
    term.wait_for("> that file is private", LONG).unwrap();
    term.send_key(Key::Enter).unwrap();
    wait_until(&term, "the rejected call and the answer", |s| {
        s.contains("I will not read it.")
            && s.contains("✗ files.read_file")
            && !s.contains("Tool call waits")
    });
    quit(&mut term);
    let requests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(
        requests.len(),
        2,
        "one call, then the answer after the rejection"
    );
    let second = String::from_utf8_lossy(&requests[1].body).to_string();
    assert!(
        second.contains("rejected by the person: that file is private"),
        "the model is told why: {second}"
    );
    let journal = home.journal();
    assert!(
        journal.contains(r#""type":"tool_rejected""#) && journal.contains("that file is private"),
        "{journal}"
    );
    assert!(!journal.contains(r#""type":"tool_approved""#), "{journal}");
    drop(runtime);
}
