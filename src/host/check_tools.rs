//! `conclave check`, MCP part: start every `[mcp.NAME]` server, list its tools (name, read-only
//! or not, which agents may use it), and fail naming each server that does not start or list.
//! `--offline` skips it (servers are programs or endpoints, not files).

use std::io::Write;

use super::Exit;
use crate::config::schema::Config;
use crate::tools::Hub;
use crate::tools::names::selected;

/// Start each server at once and print one block per server: `ok mcp NAME (target): N tools`
/// with a line per tool, or `FAIL mcp NAME …` with the reason. `Failed` when any server fails.
pub fn report_tools(config: &Config, out: &mut dyn Write) -> Exit {
    if config.mcp.is_empty() {
        return Exit::Ok;
    }
    let runtime = match super::bootstrap::runtime("conclave check") {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let hub = Hub::new(&config.mcp);
    let reports = runtime.block_on(async {
        let listed = hub.list_all().await;
        hub.shutdown().await;
        listed
    });
    let mut failed = 0;
    for server in &reports {
        match &server.tools {
            Ok(tools) => {
                let _ = writeln!(
                    out,
                    "ok   mcp {} ({}): {} tools",
                    server.name,
                    server.target,
                    tools.len()
                );
                for t in tools {
                    let agents: Vec<&str> = config
                        .agents
                        .iter()
                        .filter(|(_, a)| selected(&a.tools, &server.name, &t.name))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    let _ = writeln!(
                        out,
                        "       {}{}{}",
                        t.name,
                        if t.read_only { " (read-only)" } else { "" },
                        if agents.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", agents.join(", "))
                        }
                    );
                }
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(out, "FAIL mcp {}: {e}", server.name);
            }
        }
    }
    let _ = writeln!(
        out,
        "{} of {} MCP servers started",
        reports.len() - failed,
        reports.len()
    );
    if failed == 0 { Exit::Ok } else { Exit::Failed }
}
