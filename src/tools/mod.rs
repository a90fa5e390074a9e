//! Tools from MCP servers (DESIGN section 2, Tools), on the official Rust SDK (`rmcp`).
//!
//! Mental model: a front end builds one [`Hub`] from the config's `[mcp.NAME]` tables and hands
//! it to every session it starts, so servers are started once (lazily, on first use) and shared.
//! A session asks the hub for an agent's [`Offered`] tools (the agent's `tools = [...]`
//! selections, named for the model by [`names`]) and calls one by its offered name; the result
//! comes back flattened and truncated by [`content`]. Everything about one server's process or
//! HTTP session (start, list, `list_changed`, call deadline, crash, restart with backoff) is in
//! [`server`]. This layer knows nothing about sessions, approval or events: `core` decides when a
//! call may run and records it.

pub mod builtin;
pub mod content;
pub mod names;
pub mod server;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::McpConfig;
pub use server::{CallOutput, Server, ToolInfo};

/// Why a tool server could not serve.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ToolError {
    #[error("MCP server '{server}' ({target}): {message}{}", tail(stderr))]
    Server {
        server: String,
        target: String,
        message: String,
        /// The last lines of a stdio server's stderr.
        stderr: Vec<String>,
    },
    #[error(
        "MCP server '{server}': {tool} did not answer within {ms} ms (timeout_ms of [mcp.{server}])"
    )]
    Timeout {
        server: String,
        tool: String,
        ms: u64,
    },
    #[error("{error} (it is tried again in {retry_ms} ms)")]
    Backoff {
        error: Box<ToolError>,
        retry_ms: u64,
    },
    #[error("no MCP server named '{0}': add [mcp.{0}] or fix the agent's tools")]
    Unknown(String),
}

fn tail(stderr: &[String]) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        let start = stderr.len().saturating_sub(5);
        format!(
            "; its stderr ended with:\n  {}",
            stderr[start..].join("\n  ")
        )
    }
}

impl ToolError {
    /// What went wrong without the stderr tail, and the last lines of a stdio server's stderr
    /// (for a screen that shows them apart).
    pub fn parts(&self) -> (String, Vec<String>) {
        match self {
            ToolError::Server {
                server,
                target,
                message,
                stderr,
            } => (
                format!("MCP server '{server}' ({target}): {message}"),
                stderr[stderr.len().saturating_sub(5)..].to_vec(),
            ),
            ToolError::Backoff { error, retry_ms } => {
                let (message, stderr) = error.parts();
                (
                    format!("{message} (it is tried again in {retry_ms} ms)"),
                    stderr,
                )
            }
            other => (other.to_string(), Vec::new()),
        }
    }
}

/// One server as `conclave check` and the console's `/tools` list it: its tools, or why it
/// could not list them.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerListing {
    pub name: String,
    /// The command line or URL (never a token).
    pub target: String,
    pub tools: Result<Vec<ToolInfo>, ToolError>,
}

/// One tool as one agent is offered it.
#[derive(Clone, Debug, PartialEq)]
pub struct Offered {
    /// The name the model calls it by (`server__tool`).
    pub name: String,
    pub server: String,
    pub tool: String,
    pub description: String,
    pub schema: Value,
    pub read_only: bool,
}

/// The MCP servers of one front end (see the module docs).
#[derive(Default)]
pub struct Hub {
    servers: BTreeMap<String, Arc<Server>>,
}

impl Hub {
    pub fn new(mcp: &BTreeMap<String, McpConfig>) -> Hub {
        Hub {
            servers: server::from_config(mcp),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    pub fn servers(&self) -> impl Iterator<Item = &Arc<Server>> {
        self.servers.values()
    }

    /// The tools `selections` (an agent's `tools`) admit, named uniquely; servers that cannot
    /// serve are reported beside them (their tools are left out).
    pub async fn offered(&self, selections: &[String]) -> (Vec<Offered>, Vec<ToolError>) {
        let mut wanted: Vec<&str> = selections
            .iter()
            .map(|s| s.split_once('.').map_or(s.as_str(), |(server, _)| server))
            .collect();
        wanted.dedup();
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for name in wanted {
            if found.iter().any(|(s, _): &(String, ToolInfo)| s == name) {
                continue;
            }
            let Some(server) = self.servers.get(name) else {
                errors.push(ToolError::Unknown(name.to_string()));
                continue;
            };
            match server.tools().await {
                Ok(tools) => found.extend(
                    tools
                        .into_iter()
                        .filter(|t| names::selected(selections, name, &t.name))
                        .map(|t| (name.to_string(), t)),
                ),
                Err(e) => errors.push(e),
            }
        }
        let pairs: Vec<(String, String)> = found
            .iter()
            .map(|(s, t)| (s.clone(), t.name.clone()))
            .collect();
        let offered = names::unique(&pairs)
            .into_iter()
            .zip(found)
            .map(|(name, (server, t))| Offered {
                name,
                server,
                tool: t.name,
                description: t.description,
                schema: t.schema,
                read_only: t.read_only,
            })
            .collect();
        (offered, errors)
    }

    /// Every server with its tools, each started (at once) if it is not running yet.
    pub async fn list_all(&self) -> Vec<ServerListing> {
        futures_util::future::join_all(self.servers.values().map(|s| async move {
            ServerListing {
                name: s.name().to_string(),
                target: s.target(),
                tools: s.tools().await,
            }
        }))
        .await
    }

    /// Call `tool` of `server` with `arguments` (a JSON object).
    pub async fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
        cancel: CancellationToken,
    ) -> Result<CallOutput, ToolError> {
        let s = self
            .servers
            .get(server)
            .ok_or_else(|| ToolError::Unknown(server.to_string()))?;
        s.call(tool, arguments, cancel).await
    }

    /// Stop every server (children are killed).
    pub async fn shutdown(&self) {
        for s in self.servers.values() {
            s.stop().await;
        }
    }
}
