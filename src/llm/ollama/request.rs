//! `ChatRequest` → the `/api/chat` JSON body.
//!
//! Messages as OpenAI's but tool-call arguments are JSON objects and tool results are
//! `{role:"tool", content, tool_name}`. Options: `num_ctx` (from the backend config),
//! `temperature`, `num_predict` (max tokens). Ollama cannot force a tool: `ToolChoice::Tool(n)`
//! sends only that tool; `ToolChoice::None` sends none.

use serde_json::{Map, Value, json};

use crate::llm::openai::request::tool;
use crate::llm::{ChatMessage, ChatRequest, ToolChoice};

/// The streaming request body.
pub fn to_body(req: &ChatRequest, num_ctx: Option<u32>) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(req.messages.iter().map(message));
    let mut body = json!({"model": req.model, "messages": messages, "stream": true});
    let tools: Vec<Value> = match &req.tool_choice {
        ToolChoice::Auto => req.tools.iter().map(tool).collect(),
        ToolChoice::None => Vec::new(),
        ToolChoice::Tool(name) => req
            .tools
            .iter()
            .filter(|t| &t.name == name)
            .map(tool)
            .collect(),
    };
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
    }
    let mut options = Map::new();
    if let Some(n) = num_ctx {
        options.insert("num_ctx".into(), json!(n));
    }
    if let Some(t) = req.temperature {
        options.insert("temperature".into(), json!(t));
    }
    if let Some(n) = req.max_tokens {
        options.insert("num_predict".into(), json!(n));
    }
    if !options.is_empty() {
        body["options"] = Value::Object(options);
    }
    body
}

fn message(m: &ChatMessage) -> Value {
    match m {
        ChatMessage::User { text } => json!({"role": "user", "content": text}),
        ChatMessage::Assistant { text, tool_calls } if tool_calls.is_empty() => {
            json!({"role": "assistant", "content": text})
        }
        ChatMessage::Assistant { text, tool_calls } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| {
                    let args = c.parse_arguments().unwrap_or_else(|_| json!({}));
                    json!({"function": {"name": c.name, "arguments": args}})
                })
                .collect();
            json!({"role": "assistant", "content": text, "tool_calls": calls})
        }
        ChatMessage::ToolResult { name, content, .. } => {
            json!({"role": "tool", "content": content, "tool_name": name})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ToolCall, ToolSpec};

    #[test]
    fn mapping_options_and_forced_tool() {
        let spec = |n: &str| ToolSpec {
            name: n.into(),
            description: String::new(),
            parameters: json!({}),
        };
        let req = ChatRequest {
            model: "llama3.2".into(),
            system: Some("sys".into()),
            messages: vec![
                ChatMessage::User { text: "hi".into() },
                ChatMessage::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_0".into(),
                        name: "a".into(),
                        arguments: "{\"k\":\"v\"}".into(),
                    }],
                },
                ChatMessage::ToolResult {
                    call_id: "call_0".into(),
                    name: "a".into(),
                    content: "done".into(),
                    is_error: false,
                },
            ],
            tools: vec![spec("a"), spec("b")],
            tool_choice: ToolChoice::Tool("b".into()),
            max_tokens: Some(64),
            temperature: Some(0.25),
            marker_system: None,
        };
        assert_eq!(
            to_body(&req, Some(8192)),
            json!({
                "model": "llama3.2",
                "stream": true,
                "messages": [
                    {"role": "system", "content": "sys"},
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "a", "arguments": {"k": "v"}}}]},
                    {"role": "tool", "content": "done", "tool_name": "a"},
                ],
                "tools": [{"type": "function", "function": {"name": "b", "description": "", "parameters": {"type": "object", "properties": {}}}}],
                "options": {"num_ctx": 8192, "temperature": 0.25, "num_predict": 64},
            })
        );
        let plain = ChatRequest {
            model: "m".into(),
            ..Default::default()
        };
        assert_eq!(
            to_body(&plain, None),
            json!({"model": "m", "messages": [], "stream": true})
        );
    }
}
