//! 1,000 concurrent headless sessions in one process (DESIGN section 7: memory under 200 MB,
//! none starved). Prints a table.
//!
//! Every session is a 2-agent round-robin group chat of 2 rounds over the scripted provider
//! streaming at a small token rate, launched the way `conclave run` launches one
//! (`host::launch`, no journal), each with its own task draining its event stream. All are
//! started at once on a 2-worker runtime. Memory is the process's peak resident set
//! (`VmHWM` in `/proc/self/status`) minus the resident set before the first launch; "starved"
//! is read from the completion times: max / median, and how far the median is from the time the
//! token rate alone takes.
//!
//! `cargo bench --bench sessions` (`BENCH_SESSIONS`, `BENCH_TOKENS_PER_SEC` override; `BENCH_QUICK=1`:
//! 50 sessions, to prove it runs).

#[path = "common/proc.rs"]
mod proc;

use std::time::{Duration, Instant};

use conclave::config::Config;
use conclave::core::Command;
use conclave::core::event::EventKind;
use conclave::host::{LaunchOptions, launch};

const AGENTS: [&str; 2] = ["writer", "critic"];
const ROUNDS: u32 = 2;
/// 20 words per reply, after a word that makes it unique.
const REPLY: &str =
    "The plan is sound but the rollout needs a pilot group a stop date and a clear owner for each.";
/// Only so that a broken build cannot hang the bench forever.
const PATIENCE: Duration = Duration::from_secs(600);

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let sessions = env_number("BENCH_SESSIONS", if quick { 50 } else { 1000 }) as usize;
    let rate = env_number("BENCH_TOKENS_PER_SEC", 20) as f64;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("sessions bench: no temp dir: {e}"),
    };
    let script = dir.path().join("script.toml");
    // One reply per agent and turn: the group chat ends a discussion that repeats itself.
    let mut script_text = String::new();
    for agent in AGENTS {
        for turn in 1..=ROUNDS {
            script_text.push_str(&format!(
                "[[reply]]\ncharacter = \"{agent}\"\nturn = {turn}\ntext = \"{agent}{turn}: {REPLY}\"\n\n"
            ));
        }
    }
    if let Err(e) = std::fs::write(&script, script_text) {
        return eprintln!("sessions bench: cannot write {}: {e}", script.display());
    }
    let config = match team_config(&script, rate) {
        Ok(c) => c,
        Err(e) => return eprintln!("sessions bench: bad config: {e}"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("sessions bench: no runtime: {e}"),
    };
    // One session first, so that lazily built statics are not counted as per-session memory.
    if let Err(e) = runtime.block_on(run_all(&config, 1)) {
        return eprintln!("sessions bench: warm-up: {e}");
    }
    let baseline = proc::vm_kib("self", "VmRSS").unwrap_or(0);
    let cpu_before = proc::cpu_time("self").unwrap_or_default();
    let started = Instant::now();
    let outcome = runtime.block_on(run_all(&config, sessions));
    let wall = started.elapsed();
    let cpu = proc::cpu_time("self")
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let (mut times, in_flight_kib) = match outcome {
        Ok(r) => r,
        Err(e) => return eprintln!("sessions bench: {e}"),
    };
    let peak = proc::vm_kib("self", "VmHWM").unwrap_or(0);
    let words = REPLY.split_whitespace().count() as f64 + 1.0;
    let nominal = AGENTS.len() as f64 * ROUNDS as f64 * words / rate;
    let median = proc::median(&mut times);
    let (p99, max) = (
        proc::percentile(&times, 99.0),
        times.last().copied().unwrap_or(0.0),
    );
    println!(
        "{sessions} concurrent sessions: 2-agent group chat × {ROUNDS} rounds, {words:.0}-word replies at {rate} tokens/s (scripted), 2 worker threads"
    );
    println!("{:<44} {:>12}", "figure", "value");
    println!("{:<44} {:>9.1} MB", "baseline RSS", mib(baseline));
    println!(
        "{:<44} {:>9.1} MB",
        "RSS with every session in flight − baseline",
        mib(in_flight_kib.saturating_sub(baseline))
    );
    println!(
        "{:<44} {:>9.1} MB",
        "peak RSS (VmHWM) − baseline",
        mib(peak.saturating_sub(baseline))
    );
    println!(
        "{:<44} {:>9.1} KB",
        "per session",
        peak.saturating_sub(baseline) as f64 / sessions.max(1) as f64
    );
    println!(
        "{:<44} {:>10.2} s",
        "completion time (token rate alone)", nominal
    );
    println!("{:<44} {:>10.2} s", "completion time, median", median);
    println!("{:<44} {:>10.2} s", "completion time, p99", p99);
    println!("{:<44} {:>10.2} s", "completion time, max", max);
    println!(
        "{:<44} {:>12.3}",
        "max / median (1.0 = nobody starved)",
        max / median.max(f64::MIN_POSITIVE)
    );
    println!(
        "{:<44} {:>10.2} s",
        "wall time, all sessions",
        wall.as_secs_f64()
    );
    println!(
        "{:<44} {:>10.1} %",
        "CPU (of one core) over the run",
        cpu.as_secs_f64() / wall.as_secs_f64().max(f64::MIN_POSITIVE) * 100.0
    );
    println!(
        "budget: peak − baseline under 200 MB → {}",
        if mib(peak.saturating_sub(baseline)) < 200.0 {
            "within"
        } else {
            "OVER"
        }
    );
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn team_config(script: &std::path::Path, rate: f64) -> Result<Config, toml::de::Error> {
    let mut text = format!(
        "[backends.scripted]\nkind = \"scripted\"\nscript = {:?}\ntokens_per_sec = {rate:.1}\n\n\
         [teams.chat]\npattern = \"group_chat\"\nmembers = {AGENTS:?}\nmax_rounds = {ROUNDS}\n\n",
        script.display().to_string()
    );
    for agent in AGENTS {
        text.push_str(&format!(
            "[agents.{agent}]\nbackend = \"scripted\"\nmodel = \"{agent}\"\n\n"
        ));
    }
    toml::from_str(&text)
}

/// Launch `count` sessions at once and wait for all; their completion times in seconds and the
/// resident set (KiB) once all were launched.
async fn run_all(config: &Config, count: usize) -> Result<(Vec<f64>, u64), String> {
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let mut launched =
            launch(config, "chat", &LaunchOptions::default()).map_err(|e| e.to_string())?;
        launched
            .handle
            .send(Command::Send {
                text: format!("Review plan number {i}."),
                to: None,
            })
            .map_err(|e| e.to_string())?;
        tasks.push(tokio::spawn(async move {
            // The handle lives as long as its session is watched.
            let _handle = launched.handle;
            while let Some(event) = launched.events.recv().await {
                match event.kind {
                    EventKind::TurnFailed { error, .. } => {
                        return Err(format!("a turn failed: {}", error.message));
                    }
                    EventKind::SessionFinished { .. } => {
                        return Ok(started.elapsed().as_secs_f64());
                    }
                    _ => {}
                }
            }
            Err("an event stream closed before session_finished".to_string())
        }));
    }
    let in_flight = proc::vm_kib("self", "VmRSS").unwrap_or(0);
    let mut times = Vec::with_capacity(count);
    for task in tasks {
        let time = tokio::time::timeout(PATIENCE, task)
            .await
            .map_err(|_| "a session did not finish".to_string())?
            .map_err(|e| e.to_string())??;
        times.push(time);
    }
    Ok((times, in_flight))
}
