//! What the kill -9 tests share: a reply that streams slowly enough to be killed in the middle,
//! and the `conclave run` child they kill and resume (its data dir and config its own, a fake key
//! in the environment).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Reply, Step, Turn, wire};

/// The environment variable holding the fake key the configs name.
pub const KEY_ENV: &str = "CONCLAVE_CRASH_TEST_KEY";

/// `pieces` words (`word0 word1 …`), one every `gap`.
pub fn slow_reply(pieces: usize, gap: Duration) -> Reply {
    let words: Vec<String> = (0..pieces).map(|i| format!("word{i} ")).collect();
    let events = wire::openai_events(&Turn::text(words).usage(20, pieces as u64));
    let mut reply = Reply::sse(Vec::<String>::new());
    for event in events {
        reply = reply
            .then(Step::Write(event.into_bytes()))
            .then(Step::Sleep(gap));
    }
    reply
}

/// `conclave run --config CONFIG ARGS` with its own data dir, output piped.
pub fn conclave_run(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONCLAVE_CONFIG")
        .env("CONCLAVE_DATA_DIR", data)
        .env(KEY_ENV, "sk-test-not-a-real-key")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}
