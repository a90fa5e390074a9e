//! CPU per MCP tool call in conclave's own process (DESIGN section 7: under 1 ms beyond the tool
//! server's own time). Prints a table.
//!
//! The in-repo fault server (`examples/mcp_fault_server.rs`, build it first with
//! `cargo build --release --example mcp_fault_server`) runs as a child over stdio, so its CPU is
//! not ours; `BENCH_CALLS` sequential `echo` calls go through [`Hub::call`] (the path every
//! session's tool loop takes: JSON-RPC encode, stdio, decode, result flattened), after a warm-up
//! that starts the server. CPU is this process's user + system time from `/proc/self/stat`.
//!
//! `cargo bench --bench tools`.

#[path = "common/proc.rs"]
mod proc;

use std::collections::BTreeMap;
use std::time::Instant;

use conclave::config::McpConfig;
use conclave::tools::Hub;
use tokio_util::sync::CancellationToken;

fn main() {
    if let Err(e) = bench() {
        eprintln!("tools bench: {e}");
        std::process::exit(1);
    }
}

fn bench() -> Result<(), String> {
    let calls: u32 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let server = ["release", "debug"]
        .iter()
        .map(|p| root.join(p).join("examples/mcp_fault_server"))
        .find(|p| p.exists());
    let server = server
        .ok_or("build the fault server first: cargo build --release --example mcp_fault_server")?;
    let hub = Hub::new(&BTreeMap::from([(
        "fault".to_string(),
        McpConfig {
            command: Some(server.display().to_string()),
            ..McpConfig::default()
        },
    )]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let args = || {
        let mut m = serde_json::Map::new();
        m.insert("text".into(), serde_json::json!("a short argument"));
        m
    };
    let run = |n: u32| {
        runtime.block_on(async {
            for _ in 0..n {
                hub.call("fault", "echo", args(), CancellationToken::new())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })
    };
    run(50)?;
    let cpu0 = proc::cpu_time("self").ok_or("no /proc/self/stat")?;
    let t0 = Instant::now();
    run(calls)?;
    let wall = t0.elapsed();
    let cpu = proc::cpu_time("self").ok_or("no /proc/self/stat")? - cpu0;
    println!("| calls | our CPU per call | wall per call (both processes) |");
    println!("| --- | --- | --- |");
    println!(
        "| {calls} | {:.3} ms | {:.3} ms |",
        cpu.as_secs_f64() * 1000.0 / f64::from(calls),
        wall.as_secs_f64() * 1000.0 / f64::from(calls)
    );
    runtime.block_on(hub.shutdown());
    Ok(())
}
