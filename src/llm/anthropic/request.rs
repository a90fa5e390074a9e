//! `ChatRequest` → the Messages API JSON body.
//!
//! The system prompt is the top-level `system` field. Messages alternate roles: consecutive
//! messages of one role are merged into one message of content blocks, so consecutive tool results
//! become one user message of `tool_result` blocks (in order, `is_error` kept). Assistant tool calls
//! are `tool_use` blocks with the arguments parsed (`{}` when unparsable). Empty text blocks are
//! left out (the API rejects them). `max_tokens` is required: 1024 unless the request says.

use serde_json::{Value, json};

use crate::llm::openai::request::parameters;
use crate::llm::{ChatMessage, ChatRequest, ToolChoice};

/// `max_tokens` when the request sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The streaming request body.
pub fn to_body(req: &ChatRequest) -> Value {
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": true,
        "messages": messages(&req.messages),
    });
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        body["system"] = json!(system);
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": parameters(&t.parameters)}))
            .collect();
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = match &req.tool_choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
    }
    body
}

fn messages(list: &[ChatMessage]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in list {
        let (role, blocks) = blocks(m);
        if blocks.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    out.into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

fn blocks(m: &ChatMessage) -> (&'static str, Vec<Value>) {
    match m {
        ChatMessage::User { text } => ("user", text_block(text)),
        ChatMessage::Assistant { text, tool_calls } => {
            let mut blocks = text_block(text);
            blocks.extend(tool_calls.iter().map(|c| {
                let input = c.parse_arguments().unwrap_or_else(|_| json!({}));
                json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
            }));
            ("assistant", blocks)
        }
        ChatMessage::ToolResult {
            call_id,
            content,
            is_error,
            ..
        } => (
            "user",
            vec![
                json!({"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}),
            ],
        ),
    }
}

fn text_block(text: &str) -> Vec<Value> {
    if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ToolCall, ToolSpec};

    #[test]
    fn full_mapping() {
        let call = |id: &str, args: &str| ToolCall {
            id: id.into(),
            name: "f".into(),
            arguments: args.into(),
        };
        let result = |id: &str, err: bool| ChatMessage::ToolResult {
            call_id: id.into(),
            name: "f".into(),
            content: format!("r{id}"),
            is_error: err,
        };
        let req = ChatRequest {
            model: "claude".into(),
            system: Some("sys".into()),
            messages: vec![
                ChatMessage::User { text: "a".into() },
                ChatMessage::User { text: "b".into() },
                ChatMessage::Assistant {
                    text: "thinking".into(),
                    tool_calls: vec![call("1", "{\"x\":1}"), call("2", "not json")],
                },
                result("1", false),
                result("2", true),
                ChatMessage::Assistant {
                    text: String::new(),
                    tool_calls: vec![],
                },
                ChatMessage::User { text: "c".into() },
            ],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                parameters: json!({}),
            }],
            tool_choice: ToolChoice::Tool("f".into()),
            max_tokens: None,
            temperature: None,
            marker_system: None,
        };
        assert_eq!(
            to_body(&req),
            json!({
                "model": "claude",
                "max_tokens": 1024,
                "stream": true,
                "system": "sys",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "thinking"},
                        {"type": "tool_use", "id": "1", "name": "f", "input": {"x": 1}},
                        {"type": "tool_use", "id": "2", "name": "f", "input": {}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "1", "content": "r1", "is_error": false},
                        {"type": "tool_result", "tool_use_id": "2", "content": "r2", "is_error": true},
                        {"type": "text", "text": "c"},
                    ]},
                ],
                "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}],
                "tool_choice": {"type": "tool", "name": "f"},
            })
        );
    }
}
