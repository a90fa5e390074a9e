//! Cold start (DESIGN section 7: a whole `conclave run` of one turn under 3 ms of CPU): the release
//! binary run as a person would run it, `conclave run --team solo --prompt … --events jsonl`, one
//! turn against the fake OpenAI-compatible server on `http://` loopback (benches/common/server.rs,
//! answering at once with a 13-word streamed reply), journaling into a temp data dir. Prints the
//! median and spread of the child's CPU time (user + system, from `getrusage(RUSAGE_CHILDREN)`
//! around each run, microsecond resolution) and of its wall time.
//!
//! `cargo bench --bench startup` (`BENCH_RUNS`, default 100; `BENCH_QUICK=1`: 5 runs).

#[path = "common/proc.rs"]
mod proc;
#[path = "common/server.rs"]
mod server;

use std::process::{Command, Stdio};
use std::time::Instant;

use server::{ServerProcess, Shape};

fn main() {
    if server::is_server() {
        server::serve();
        return;
    }
    if let Err(e) = bench() {
        eprintln!("startup bench: {e}");
        std::process::exit(1);
    }
}

fn bench() -> Result<(), String> {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(if quick { 5 } else { 100 });
    let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
    let server = ServerProcess::start(Shape::default())?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[backends.local]\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 0\n\n\
             [teams.solo]\npattern = \"single\"\nmembers = [\"solo\"]\n\n\
             [agents.solo]\nbackend = \"local\"\nmodel = \"gpt-4o\"\n\
             system = \"Answer in one sentence.\"\n",
            server.base_url()
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let exe = env!("CARGO_BIN_EXE_conclave");
    let mut cpu = Vec::with_capacity(runs);
    let mut wall = Vec::with_capacity(runs);
    // One unmeasured run warms the page cache.
    for i in 0..=runs {
        let before = proc::rusage_cpu(true);
        let started = Instant::now();
        let status = Command::new(exe)
            .args(["run", "--config"])
            .arg(&config)
            .args(["--team", "solo", "--prompt", "Say something."])
            .args(["--events", "jsonl"])
            .env("CONCLAVE_DATA_DIR", dir.path().join("data"))
            .env_remove("CONCLAVE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| format!("cannot run {exe}: {e}"))?;
        let took = started.elapsed();
        let used = proc::rusage_cpu(true).saturating_sub(before);
        if !status.success() {
            return Err(format!("conclave run exited with {status}"));
        }
        if i > 0 {
            cpu.push(used.as_secs_f64() * 1000.0);
            wall.push(took.as_secs_f64() * 1000.0);
        }
    }
    server.stop();
    let cpu_median = proc::median(&mut cpu);
    let wall_median = proc::median(&mut wall);
    println!("a whole `conclave run` of one turn (http:// loopback server), {runs} runs");
    println!(
        "CPU (user + sys)   median {cpu_median:.2} ms   p10 {:.2}   p90 {:.2}   (budget: under 3 ms)",
        proc::percentile(&cpu, 10.0),
        proc::percentile(&cpu, 90.0)
    );
    println!(
        "wall               median {wall_median:.2} ms   p10 {:.2}   p90 {:.2}",
        proc::percentile(&wall, 10.0),
        proc::percentile(&wall, 90.0)
    );
    Ok(())
}
