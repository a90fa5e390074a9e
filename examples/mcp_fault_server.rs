//! An MCP server over stdio for the tool tests (rmcp's server feature): well-behaved tools and
//! faults on request. Tools: `echo {text}` and `slow {ms}` (read-only), `write_note {text}`
//! (writes: appends to `$FAULT_NOTES_FILE`), `slow_write {ms, text}` (the same after a wait), `crash` (writes to stderr, then exits mid-call),
//! `fail` (a JSON-RPC error instead of a result), `big {bytes}` (a long result), `grow` (adds the
//! tool `late` and sends `notifications/tools/list_changed`). `FAULT_START=exit` makes it exit
//! before answering `initialize`. Not part of conclave: a test helper.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Fault {
    grown: Arc<AtomicBool>,
}

fn tool(name: &str, description: &str, props: Value, read_only: bool) -> Value {
    json!({
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": props},
        "annotations": {"readOnlyHint": read_only}
    })
}

fn text(t: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    let r: CallToolResult =
        serde_json::from_value(json!({"content": [{"type": "text", "text": t.into()}]}))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(r.into())
}

impl ServerHandler for Fault {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = vec![
            tool(
                "echo",
                "Say the text back.",
                json!({"text": {"type": "string"}}),
                true,
            ),
            tool(
                "slow",
                "Answer after ms milliseconds.",
                json!({"ms": {"type": "integer"}}),
                true,
            ),
            tool(
                "write_note",
                "Append a note to the notes file.",
                json!({"text": {"type": "string"}}),
                false,
            ),
            tool(
                "slow_write",
                "Wait ms, then append text to the notes file.",
                json!({"ms": {"type": "integer"}, "text": {"type": "string"}}),
                false,
            ),
            tool("crash", "Exit in the middle of the call.", json!({}), false),
            tool("fail", "Answer with a protocol error.", json!({}), true),
            tool(
                "big",
                "Answer with a long text.",
                json!({"bytes": {"type": "integer"}}),
                true,
            ),
            tool("grow", "Add the tool late.", json!({}), false),
        ];
        if self.grown.load(Ordering::SeqCst) {
            tools.push(tool("late", "Added by grow.", json!({}), true));
        }
        serde_json::from_value(json!({ "tools": tools }))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        match request.name.as_ref() {
            "echo" => text(format!("echo: {}", args["text"].as_str().unwrap_or(""))),
            "slow" => {
                let ms = args["ms"].as_u64().unwrap_or(1000);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                text(format!("slept {ms} ms"))
            }
            "slow_write" | "write_note" => {
                if request.name.as_ref() == "slow_write" {
                    let ms = args["ms"].as_u64().unwrap_or(1000);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                let line = args["text"].as_str().unwrap_or("").to_string();
                if let Ok(path) = std::env::var("FAULT_NOTES_FILE") {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                    let _ = writeln!(f, "{line}");
                }
                text(format!("noted: {line}"))
            }
            "crash" => {
                eprintln!("fault server: crashing on purpose");
                std::process::exit(3);
            }
            "fail" => Err(ErrorData::internal_error(
                "the fail tool always fails",
                None,
            )),
            "big" => text("x".repeat(args["bytes"].as_u64().unwrap_or(100_000) as usize)),
            "grow" => {
                self.grown.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                text("grown")
            }
            "late" => text("late tool here"),
            other => Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    eprintln!("fault server: starting");
    if std::env::var("FAULT_START").as_deref() == Ok("exit") {
        eprintln!("fault server: refusing to start (FAULT_START=exit)");
        std::process::exit(2);
    }
    let server = Fault::default().serve(rmcp::transport::stdio()).await?;
    server.waiting().await?;
    Ok(())
}
