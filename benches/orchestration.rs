//! Orchestration overhead per agent turn (DESIGN section 7: under 0.2 ms of CPU per turn, and at
//! least 50x less than AutoGen on the same group chat). Prints a table.
//!
//! The same 4-agent round-robin group chat runs many times, launched the way the console and
//! `conclave run` launch it (`host::launch`), against (a) the scripted provider at
//! `tokens_per_sec = 0` and (b) an OpenAI-compatible server on loopback that answers at once.
//! The fake server is this very bench binary re-run as a child process (`CONCLAVE_BENCH_ROLE=
//! server`), so its CPU is not ours; it keeps connections alive like a real server. CPU is the
//! process's user + system time from `/proc/self/stat`; (a) is our own cost (orchestrator,
//! events, scripted replay), (b) − (a) is what the HTTP client and SSE decoding add.
//!
//! Then the cost of a turn by the length of the history: the turns around 40, 400 and 4,000
//! messages (the request is built incrementally, so it should barely grow).
//!
//! Side by side (by hand, never in CI): `benches/peers/compare.sh` makes a virtual environment with
//! AutoGen and the OpenAI Agents SDK at pinned versions and runs this bench with
//! `CONCLAVE_BENCH_AUTOGEN` / `CONCLAVE_BENCH_AGENTS_SDK` naming its Python: the same group chat
//! runs in each (`benches/peers/*.py`) against the same server, and the ratios are printed.
//!
//! `cargo bench --bench orchestration` (`BENCH_SESSIONS`, `BENCH_ROUNDS` override the size;
//! `BENCH_QUICK=1` runs a few turns of each part to prove it works).

#[path = "common/proc.rs"]
mod proc;
#[path = "common/server.rs"]
mod server;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conclave::config::Config;
use conclave::core::Command as SessionCommand;
use conclave::core::event::{EventKind, Purpose};
use conclave::host::{LaunchOptions, launch};
use server::{ServerProcess, Shape};

const AGENTS: [&str; 4] = ["optimist", "skeptic", "pragmatist", "moderator"];
const TASK: &str = "Should we rewrite the billing service in Rust?";
/// Only so that a broken build cannot hang the bench forever.
const PATIENCE: Duration = Duration::from_secs(600);

/// Say what failed and exit 1 (CI runs the bench in its quick mode to prove it still works).
macro_rules! fail {
    ($($arg:tt)*) => {{
        eprintln!($($arg)*);
        std::process::exit(1)
    }};
}

fn main() {
    if server::is_server() {
        server::serve();
        return;
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let sessions = env_number("BENCH_SESSIONS", if quick { 2 } else { 200 });
    let rounds = env_number("BENCH_ROUNDS", if quick { 2 } else { 10 });
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => fail!("orchestration bench: no temp dir: {e}"),
    };
    let script = dir.path().join("script.toml");
    let mut script_text = String::new();
    for agent in AGENTS {
        for turn in 1..=rounds {
            script_text.push_str(&format!(
                "[[reply]]\ncharacter = \"{agent}\"\nturn = {turn}\ntext = \"{}\"\n\n",
                reply(&format!("{agent}{turn}"))
            ));
        }
    }
    if let Err(e) = std::fs::write(&script, script_text) {
        fail!(
            "orchestration bench: cannot write {}: {e}",
            script.display()
        );
    }
    let server = match ServerProcess::start(Shape::default()) {
        Ok(s) => s,
        Err(e) => fail!("orchestration bench: fake server did not start: {e}"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail!("orchestration bench: no runtime: {e}"),
    };

    println!(
        "orchestration overhead: 4-agent round-robin group chat, {rounds} rounds, {sessions} sessions, \
         {}-word replies streamed word by word",
        reply("x").split_whitespace().count()
    );
    println!(
        "{:<34} {:>7} {:>10} {:>14} {:>12}",
        "backend", "turns", "cpu (s)", "cpu/turn (ms)", "wall/turn"
    );
    let mut results = Vec::new();
    for (label, backend) in [
        ("(a) scripted, tokens_per_sec 0", "scripted"),
        ("(b) openai-compatible, loopback", "local"),
    ] {
        let config = match team_config(&script, &server.base_url(), backend, rounds) {
            Ok(c) => c,
            Err(e) => fail!("orchestration bench: bad config: {e}"),
        };
        // One unmeasured session warms the allocator, the connection pool and the page cache.
        if let Err(e) = runtime.block_on(run_sessions(&config, 1)) {
            fail!("orchestration bench: {label}: {e}");
        }
        let server_before = server.cpu();
        let cpu_before = proc::cpu_time("self").unwrap_or_default();
        let started = Instant::now();
        let turns = match runtime.block_on(run_sessions(&config, sessions)) {
            Ok(t) => t,
            Err(e) => fail!("orchestration bench: {label}: {e}"),
        };
        let wall = started.elapsed();
        let cpu = proc::cpu_time("self")
            .unwrap_or_default()
            .saturating_sub(cpu_before);
        let server_cpu = server.cpu().saturating_sub(server_before);
        let per_turn_ms = cpu.as_secs_f64() * 1000.0 / turns.max(1) as f64;
        println!(
            "{label:<34} {turns:>7} {:>10.2} {per_turn_ms:>14.4} {:>9.3} ms",
            cpu.as_secs_f64(),
            wall.as_secs_f64() * 1000.0 / turns.max(1) as f64
        );
        if backend == "local" {
            println!(
                "{:<34} {:>7} {:>10.2} {:>14.4}   (not ours; shown for scale)",
                "    fake server process",
                "",
                server_cpu.as_secs_f64(),
                server_cpu.as_secs_f64() * 1000.0 / turns.max(1) as f64
            );
        }
        results.push(per_turn_ms);
    }
    if let [ours, http] = results[..] {
        let share = if http > 0.0 { ours / http * 100.0 } else { 0.0 };
        println!(
            "ours (a) = {ours:.4} ms/turn = {share:.0}% of (b); HTTP client + SSE decoding (b) − (a) = {:.4} ms/turn",
            http - ours
        );
        println!(
            "budget: under 0.2 ms CPU/turn → (b) {}",
            if http < 0.2 { "within" } else { "OVER" }
        );
        let peers = [
            (
                "CONCLAVE_BENCH_AUTOGEN",
                "autogen_groupchat.py",
                "AutoGen 0.7.5",
            ),
            (
                "CONCLAVE_BENCH_AGENTS_SDK",
                "agents_sdk_groupchat.py",
                "OpenAI Agents SDK 0.24",
            ),
        ];
        for (var, script, name) in peers {
            let Some(python) = std::env::var_os(var) else {
                println!(
                    "{name} comparison: set {var}=/path/to/python, or run benches/peers/compare.sh"
                );
                continue;
            };
            match peer(&python, script, &server.base_url(), sessions, rounds) {
                Ok((turns, cpu_s)) => {
                    let theirs = cpu_s * 1000.0 / turns.max(1) as f64;
                    println!(
                        "{:<34} {turns:>7} {cpu_s:>10.2} {theirs:>14.4}",
                        format!("{name} (same chat, same server)")
                    );
                    println!(
                        "{name} / conclave (b): {:.1}x (DESIGN asks for at least 50x of AutoGen)",
                        theirs / http.max(f64::MIN_POSITIVE)
                    );
                }
                Err(e) => {
                    eprintln!("orchestration bench: {name} comparison failed: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let lengths: &[u32] = if quick { &[40] } else { &[40, 400, 4000] };
    println!(
        "per turn by length of history (b, HTTP): the extra CPU of the turns around N messages"
    );
    println!(
        "{:<34} {:>7} {:>10} {:>14}",
        "history (messages)", "turns", "cpu (ms)", "cpu/turn (ms)"
    );
    for &n in lengths {
        match history_cost(&runtime, &server.base_url(), n, quick) {
            Ok((turns, cpu)) => println!(
                "{:<34} {turns:>7} {:>10.1} {:>14.4}",
                format!("around {n}"),
                cpu.as_secs_f64() * 1000.0,
                cpu.as_secs_f64() * 1000.0 / turns.max(1) as f64
            ),
            Err(e) => fail!("orchestration bench: history {n}: {e}"),
        }
    }
    println!("budget: under 0.2 ms CPU/turn at 40 messages, under 0.3 ms at 400");
    server.stop();
}

/// The CPU of the turns between messages n − n/10 and n + n/10 of a group chat over HTTP: the
/// same sessions run to both lengths (enough of them for about 400 measured turns), the
/// difference of their CPU (getrusage, microseconds) over the difference of their turns.
fn history_cost(
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
    n: u32,
    quick: bool,
) -> Result<(u64, Duration), String> {
    let (short, long) = ((n - n / 10) / 4, (n + n / 10) / 4);
    let sessions = if quick {
        1
    } else {
        (400 / (4 * (long - short))).max(1)
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let script = dir.path().join("none.toml");
    std::fs::write(&script, "").map_err(|e| e.to_string())?;
    let mut measured = Vec::new();
    for rounds in [short, long] {
        let config = team_config(&script, base_url, "local", rounds).map_err(|e| e.to_string())?;
        let before = proc::rusage_cpu(false);
        let turns = runtime.block_on(run_sessions(&config, sessions))?;
        measured.push((turns, proc::rusage_cpu(false).saturating_sub(before)));
    }
    let (t0, c0) = measured[0];
    let (t1, c1) = measured[1];
    Ok((t1.saturating_sub(t0), c1.saturating_sub(c0)))
}

/// Every reply, from the script and from the fake server alike: the server's sentence after a
/// word that makes it unique (the group chat ends a discussion that repeats itself), streamed word
/// by word.
fn reply(tag: &str) -> String {
    server::sentence(tag)
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The group chat `chat` of four agents on `backend` (`scripted` or `local`).
fn team_config(
    script: &std::path::Path,
    base_url: &str,
    backend: &str,
    rounds: u32,
) -> Result<Config, toml::de::Error> {
    let mut text = format!(
        "[backends.scripted]\nkind = \"scripted\"\nscript = {script:?}\ntokens_per_sec = 0\n\n\
         [backends.local]\nkind = \"openai\"\nbase_url = \"{base_url}\"\nmax_retries = 0\n\n\
         [teams.chat]\npattern = \"group_chat\"\nmembers = {AGENTS:?}\nmax_rounds = {rounds}\n\n",
        script = script.display().to_string()
    );
    for agent in AGENTS {
        text.push_str(&format!(
            "[agents.{agent}]\nbackend = \"{backend}\"\nmodel = \"{model}\"\n\
             system = \"You are the {agent} in a design review. Answer in one sentence.\"\n\n",
            // The scripted backend picks replies by character (the model); the server ignores it.
            model = if backend == "scripted" {
                agent
            } else {
                "gpt-4o"
            }
        ));
    }
    toml::from_str(&text)
}

/// Run `count` sessions one after another, sharing HTTP providers the way the console does; the
/// number of agent turns (spoken messages).
async fn run_sessions(config: &Config, count: u32) -> Result<u64, String> {
    let mut turns = 0;
    let options = LaunchOptions {
        providers: Some(Default::default()),
        ..LaunchOptions::default()
    };
    for _ in 0..count {
        let mut launched = launch(config, "chat", &options).map_err(|e| e.to_string())?;
        launched
            .handle
            .send(SessionCommand::Send {
                text: TASK.into(),
                to: None,
            })
            .map_err(|e| e.to_string())?;
        let drain = async {
            let mut spoken = 0u64;
            while let Some(event) = launched.events.recv().await {
                match event.kind {
                    EventKind::Message {
                        purpose: Purpose::Speak,
                        ..
                    } => spoken += 1,
                    EventKind::TurnFailed { error, .. } => {
                        return Err(format!("a turn failed: {}", error.message));
                    }
                    EventKind::SessionFinished { .. } => return Ok(spoken),
                    _ => {}
                }
            }
            Err("the event stream closed before session_finished".to_string())
        };
        turns += tokio::time::timeout(PATIENCE, drain)
            .await
            .map_err(|_| "a session did not finish".to_string())??;
    }
    Ok(turns)
}

/// Run `benches/peers/SCRIPT`; (turns, CPU seconds) as it reports them.
fn peer(
    python: &std::ffi::OsStr,
    script: &str,
    base_url: &str,
    sessions: u32,
    rounds: u32,
) -> Result<(u64, f64), String> {
    let script = format!("{}/benches/peers/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python)
        .arg(&script)
        .args(["--base-url", base_url])
        .args(["--sessions", &sessions.to_string()])
        .args(["--rounds", &rounds.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!("{script} exited with {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("{script} printed no result line"))?;
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("{script} result: {e}"))?;
    let turns = value["turns"].as_u64().ok_or("no `turns` in the result")?;
    let cpu = value["cpu_s"].as_f64().ok_or("no `cpu_s` in the result")?;
    Ok((turns, cpu))
}
