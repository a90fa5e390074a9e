//! One MCP server as a client sees it: started on first use, its tools listed (and listed again
//! after `notifications/tools/list_changed`), its tools called with a deadline and cancellation.
//!
//! Mental model: a [`Server`] holds a connection slot behind an async mutex. Empty means "start
//! it when asked"; a failed start or a crash leaves the error and when it may be tried again
//! (backoff 0.5 s, 1 s, 2 s … up to 30 s), so a crashing server is restarted on next use without
//! being hammered, and a use inside the backoff answers at once with the last error. A stdio
//! server is a child process in its own process group with its stderr read line by line into a
//! small ring (the last lines go into every error about it, and to the log); dropping the
//! connection kills the child. Every failure is a [`ToolError`] naming the server, the command or
//! URL and what to do: never a hang (calls have a deadline, starts too) and never a panic.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use crate::config::McpConfig;
use crate::tools::ToolError;

/// Per-call deadline when `timeout_ms` is not set.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long starting a server (spawn + initialize + first list) may take.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of a stdio server's stderr kept for error messages.
const STDERR_LINES: usize = 20;
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// One tool as the server lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// The input JSON Schema.
    pub schema: Value,
    /// The server's `readOnlyHint` annotation.
    pub read_only: bool,
}

/// What a call answered.
#[derive(Clone, Debug, PartialEq)]
pub struct CallOutput {
    /// The result flattened to text (not yet truncated).
    pub text: String,
    pub is_error: bool,
}

/// Our side of the MCP session: notices `tools/list_changed`.
#[derive(Clone)]
struct Handler {
    stale: Arc<AtomicBool>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        let mut info =
            ClientConfig::default().with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
        info.client_info = Implementation::new("conclave", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.stale.store(true, Ordering::SeqCst);
    }
}

struct Up {
    service: RunningService<RoleClient, Handler>,
    tools: Vec<ToolInfo>,
    stale: Arc<AtomicBool>,
    /// The child's process group (stdio), killed with the connection.
    group: Option<i32>,
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(pgid) = self.group {
            kill_group(pgid);
        }
    }
}

#[cfg(unix)]
fn kill_group(pgid: i32) {
    // SAFETY: killpg only sends a signal; a group that is gone answers ESRCH, which we ignore.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pgid: i32) {}

enum Slot {
    Idle,
    Up(Up),
    Down {
        error: ToolError,
        retry_at: Instant,
        failures: u32,
    },
}

/// One configured MCP server (see the module docs).
pub struct Server {
    name: String,
    config: McpConfig,
    /// `builtin = "files"`: answered in-process.
    files: Option<super::builtin::Files>,
    slot: tokio::sync::Mutex<Slot>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// The task reading the child's stderr (awaited briefly after a failure for its last lines).
    stderr_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Server {
    pub fn new(name: &str, config: McpConfig) -> Server {
        let files = (config.builtin.as_deref() == Some(super::builtin::FILES)).then(|| {
            super::builtin::Files::new(config.cwd.clone().unwrap_or_else(|| PathBuf::from(".")))
        });
        Server {
            name: name.to_string(),
            files,
            config,
            slot: tokio::sync::Mutex::new(Slot::Idle),
            stderr: Arc::new(Mutex::new(VecDeque::new())),
            stderr_task: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command line or URL, as shown in errors (never a token).
    pub fn target(&self) -> String {
        if let Some(files) = &self.files {
            return format!("built-in files over {}", files.root().display());
        }
        match (&self.config.command, &self.config.url) {
            (Some(cmd), _) => std::iter::once(cmd.as_str())
                .chain(self.config.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            (None, Some(url)) => url.clone(),
            (None, None) => "(neither command nor url)".into(),
        }
    }

    pub fn call_timeout(&self) -> Duration {
        self.config
            .timeout_ms
            .map_or(DEFAULT_CALL_TIMEOUT, Duration::from_millis)
    }

    /// The server's tools, starting it (or listing again after `list_changed`) when needed.
    pub async fn tools(&self) -> Result<Vec<ToolInfo>, ToolError> {
        if self.files.is_some() {
            return Ok(super::builtin::Files::tools());
        }
        let mut slot = self.slot.lock().await;
        self.ensure(&mut slot).await?;
        match &mut *slot {
            Slot::Up(up) => {
                if up.stale.swap(false, Ordering::SeqCst) {
                    match list(&up.service).await {
                        Ok(tools) => up.tools = tools,
                        Err(e) => return Err(self.failed(&mut slot, e)),
                    }
                }
                match &*slot {
                    Slot::Up(up) => Ok(up.tools.clone()),
                    _ => Err(self.error("the server stopped")),
                }
            }
            _ => Err(self.error("the server is not running")),
        }
    }

    /// Whether the server is running, and the last error if it is down.
    pub async fn status(&self) -> Result<(), String> {
        match &*self.slot.lock().await {
            Slot::Down { error, .. } => Err(error.to_string()),
            _ => Ok(()),
        }
    }

    /// Call `tool` with `arguments` (a JSON object) within the call deadline; `cancel` abandons
    /// the call (the server is told with `notifications/cancelled`).
    pub async fn call(
        &self,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
        cancel: CancellationToken,
    ) -> Result<CallOutput, ToolError> {
        if let Some(files) = &self.files {
            return Ok(files.call(tool, &arguments));
        }
        let peer = {
            let mut slot = self.slot.lock().await;
            self.ensure(&mut slot).await?;
            match &*slot {
                Slot::Up(up) => up.service.peer().clone(),
                _ => return Err(self.error("the server is not running")),
            }
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        let limit = self.call_timeout();
        let result = tokio::select! {
            _ = cancel.cancelled() => return Err(self.error(format!("the call of {tool} was cancelled"))),
            r = tokio::time::timeout(limit, peer.call_tool(params)) => r,
        };
        match result {
            Err(_) => Err(ToolError::Timeout {
                server: self.name.clone(),
                tool: tool.to_string(),
                ms: limit.as_millis() as u64,
            }),
            Ok(Ok(result)) => {
                let value = serde_json::to_value(&result).unwrap_or(Value::Null);
                Ok(CallOutput {
                    text: super::content::flatten(&value),
                    is_error: result.is_error.unwrap_or(false),
                })
            }
            Ok(Err(rmcp::ServiceError::McpError(e))) => Ok(CallOutput {
                text: format!("error {}: {}", e.code.0, e.message),
                is_error: true,
            }),
            Ok(Err(e)) => {
                let mut slot = self.slot.lock().await;
                let closed = matches!(&*slot, Slot::Up(up) if up.service.is_transport_closed())
                    || matches!(e, rmcp::ServiceError::TransportClosed);
                if closed {
                    self.settle_stderr().await;
                    Err(self.failed(
                        &mut slot,
                        format!("it stopped during the call of {tool}: {e}"),
                    ))
                } else {
                    Err(self.error(format!("the call of {tool} failed: {e}")))
                }
            }
        }
    }

    /// Stop the server (the child is killed); the next use starts it again.
    pub async fn stop(&self) {
        *self.slot.lock().await = Slot::Idle;
    }

    async fn ensure(&self, slot: &mut Slot) -> Result<(), ToolError> {
        match slot {
            Slot::Up(up) if !up.service.is_transport_closed() => return Ok(()),
            Slot::Up(_) => {
                let e = self.failed(slot, "it exited".to_string());
                if let Slot::Down { retry_at, .. } = slot {
                    *retry_at = Instant::now();
                }
                tracing::warn!(server = %self.name, "{e}; restarting");
            }
            Slot::Down {
                error, retry_at, ..
            } if Instant::now() < *retry_at => {
                let wait = retry_at.saturating_duration_since(Instant::now());
                return Err(ToolError::Backoff {
                    error: Box::new(error.clone()),
                    retry_ms: wait.as_millis() as u64,
                });
            }
            _ => {}
        }
        let failures = match slot {
            Slot::Down { failures, .. } => *failures,
            _ => 0,
        };
        match tokio::time::timeout(START_TIMEOUT, self.start()).await {
            Ok(Ok(up)) => {
                *slot = Slot::Up(up);
                Ok(())
            }
            Ok(Err(message)) => {
                self.settle_stderr().await;
                Err(self.down(slot, failures, message))
            }
            Err(_) => Err(self.down(
                slot,
                failures,
                format!("it did not answer within {} s", START_TIMEOUT.as_secs()),
            )),
        }
    }

    fn failed(&self, slot: &mut Slot, message: String) -> ToolError {
        self.down(slot, 0, message)
    }

    fn down(&self, slot: &mut Slot, failures: u32, message: String) -> ToolError {
        let error = self.error(message);
        let backoff = BACKOFF_FIRST
            .saturating_mul(2u32.saturating_pow(failures.min(10)))
            .min(BACKOFF_MAX);
        *slot = Slot::Down {
            error: error.clone(),
            retry_at: Instant::now() + backoff,
            failures: failures + 1,
        };
        error
    }

    fn error(&self, message: impl Into<String>) -> ToolError {
        let stderr: Vec<String> = self
            .stderr
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default();
        ToolError::Server {
            server: self.name.clone(),
            target: self.target(),
            message: message.into(),
            stderr,
        }
    }

    async fn start(&self) -> Result<Up, String> {
        if let Ok(mut ring) = self.stderr.lock() {
            ring.clear();
        }
        let stale = Arc::new(AtomicBool::new(false));
        let handler = Handler {
            stale: stale.clone(),
        };
        let (service, group) = match (&self.config.command, &self.config.url) {
            (Some(command), _) => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(&self.config.args).envs(&self.config.env);
                if let Some(cwd) = &self.config.cwd {
                    cmd.current_dir(cwd);
                }
                #[cfg(unix)]
                cmd.process_group(0);
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("could not start it: {e}"))?;
                let group = transport.id().and_then(|p| i32::try_from(p).ok());
                if let Some(stderr) = stderr {
                    self.read_stderr(stderr);
                }
                let service = handler
                    .serve(transport)
                    .await
                    .map_err(|e| format!("it did not initialize: {e}"))?;
                (service, group)
            }
            (None, Some(url)) => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.clone());
                if let Some(var) = &self.config.bearer_token_env {
                    let token = std::env::var(var)
                        .map_err(|_| format!("bearer_token_env names {var}, which is not set"))?;
                    config = config.auth_header(token);
                }
                let mut headers = std::collections::HashMap::new();
                for (k, v) in &self.config.headers {
                    let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| format!("header {k:?} is not a valid header name"))?;
                    let value = reqwest::header::HeaderValue::from_str(v)
                        .map_err(|_| format!("the value of header {k} is not valid"))?;
                    headers.insert(name, value);
                }
                config = config.custom_headers(headers);
                let client = crate::llm::http::shared_client()?;
                let transport = StreamableHttpClientTransport::with_client(client, config);
                let service = handler
                    .serve(transport)
                    .await
                    .map_err(|e| format!("it did not initialize: {e}"))?;
                (service, None)
            }
            (None, None) => return Err("set `command` (stdio) or `url` (streamable HTTP)".into()),
        };
        let tools = list(&service).await?;
        Ok(Up {
            service,
            tools,
            stale,
            group,
        })
    }

    /// Give the stderr reader a moment to take in the last lines of a child that died.
    async fn settle_stderr(&self) {
        let task = self.stderr_task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }

    fn read_stderr(&self, stderr: tokio::process::ChildStderr) {
        let ring = self.stderr.clone();
        let name = self.name.clone();
        let task = tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(server = %name, "stderr: {line}");
                if let Ok(mut ring) = ring.lock() {
                    if ring.len() == STDERR_LINES {
                        ring.pop_front();
                    }
                    ring.push_back(line);
                }
            }
        });
        if let Ok(mut slot) = self.stderr_task.lock() {
            *slot = Some(task);
        }
    }
}

async fn list(service: &RunningService<RoleClient, Handler>) -> Result<Vec<ToolInfo>, String> {
    let tools = service
        .peer()
        .list_all_tools()
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    Ok(tools
        .into_iter()
        .map(|t| ToolInfo {
            name: t.name.to_string(),
            description: t.description.map(|d| d.to_string()).unwrap_or_default(),
            schema: Value::Object((*t.input_schema).clone()),
            read_only: t
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false),
        })
        .collect())
}

/// The servers of a config by name.
pub fn from_config(mcp: &BTreeMap<String, McpConfig>) -> BTreeMap<String, Arc<Server>> {
    mcp.iter()
        .map(|(name, cfg)| (name.clone(), Arc::new(Server::new(name, cfg.clone()))))
        .collect()
}
