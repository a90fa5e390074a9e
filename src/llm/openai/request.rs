//! `ChatRequest` → the Chat Completions JSON body.
//!
//! The system prompt is the first message (role `system`); an assistant turn with tool calls
//! carries `tool_calls` (content `null` when it said nothing); each tool result is a `role: "tool"`
//! message with its `tool_call_id`. Tools and `tool_choice` are only sent when there are tools.

use serde_json::{Value, json};

use crate::llm::body::MessageCache;
use crate::llm::{ChatMessage, ChatRequest, ToolChoice, ToolSpec};

/// The streaming request body.
pub fn to_body(req: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(req.messages.iter().map(message));
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = json!(n);
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if !req.tools.is_empty() {
        body["tools"] = Value::Array(req.tools.iter().map(tool).collect());
        body["tool_choice"] = tool_choice(&req.tool_choice);
    }
    body
}

/// [`to_body`] as the bytes sent, the messages through `cache` so that those of a recent request
/// are copied, not serialized again ([`crate::llm::body`]).
pub fn to_body_bytes(req: &ChatRequest, cache: &mut MessageCache) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"model\":");
    write(&mut out, &req.model);
    out.extend_from_slice(b",\"messages\":[");
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        write(&mut out, &json!({"role": "system", "content": system}));
        if !req.messages.is_empty() {
            out.push(b',');
        }
    }
    cache.write_messages(&req.messages, &mut out, |m, out| write(out, &message(m)));
    out.extend_from_slice(b"],\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    if let Some(n) = req.max_tokens {
        out.extend_from_slice(b",\"max_tokens\":");
        write(&mut out, &json!(n));
    }
    if let Some(t) = req.temperature {
        out.extend_from_slice(b",\"temperature\":");
        write(&mut out, &json!(t));
    }
    if !req.tools.is_empty() {
        out.extend_from_slice(b",\"tools\":");
        write(
            &mut out,
            &Value::Array(req.tools.iter().map(tool).collect()),
        );
        out.extend_from_slice(b",\"tool_choice\":");
        write(&mut out, &tool_choice(&req.tool_choice));
    }
    out.push(b'}');
    out
}

/// Serializing into a `Vec` fails only for maps with non-string keys, which these never have.
fn write(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    let _ = serde_json::to_writer(out, value);
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// A tool definition in the shape OpenAI (and Ollama) expect; empty parameters become an empty
/// object schema.
pub fn tool(spec: &ToolSpec) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": parameters(&spec.parameters),
        }
    })
}

/// `parameters`, or `{"type":"object","properties":{}}` when it is null or empty.
pub fn parameters(p: &Value) -> Value {
    match p {
        Value::Object(m) if !m.is_empty() => p.clone(),
        _ => json!({"type": "object", "properties": {}}),
    }
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
                    json!({
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    })
                })
                .collect();
            let content = if text.is_empty() {
                Value::Null
            } else {
                json!(text)
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        ChatMessage::ToolResult {
            call_id, content, ..
        } => {
            json!({"role": "tool", "tool_call_id": call_id, "content": content})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    #[test]
    fn full_mapping() {
        let req = ChatRequest {
            model: "gpt-4o".into(),
            system: Some("be brief".into()),
            messages: vec![
                ChatMessage::User { text: "hi".into() },
                ChatMessage::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "c1".into(),
                        name: "f".into(),
                        arguments: "{\"a\":1}".into(),
                    }],
                },
                ChatMessage::ToolResult {
                    call_id: "c1".into(),
                    name: "f".into(),
                    content: "ok".into(),
                    is_error: false,
                },
                ChatMessage::Assistant {
                    text: "done".into(),
                    tool_calls: vec![],
                },
            ],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                parameters: Value::Null,
            }],
            tool_choice: ToolChoice::Tool("f".into()),
            max_tokens: Some(100),
            temperature: Some(0.5),
            marker_system: None,
        };
        assert_eq!(
            to_body(&req),
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "c1", "content": "ok"},
                    {"role": "assistant", "content": "done"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 100,
                "temperature": 0.5,
                "tools": [{"type": "function", "function": {"name": "f", "description": "d",
                    "parameters": {"type": "object", "properties": {}}}}],
                "tool_choice": {"type": "function", "function": {"name": "f"}},
            })
        );
    }

    #[test]
    fn the_bytes_sent_are_the_body_and_reuse_earlier_messages() {
        let mut cache = MessageCache::default();
        let mut req = ChatRequest {
            model: "m\"x".into(),
            system: Some("be brief".into()),
            max_tokens: Some(7),
            temperature: Some(0.7),
            ..Default::default()
        };
        let check = |req: &ChatRequest, cache: &mut MessageCache| {
            let bytes = to_body_bytes(req, cache);
            let parsed: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(parsed, to_body(req), "{}", String::from_utf8_lossy(&bytes));
        };
        check(&req, &mut cache);
        for i in 0..6 {
            req.messages.push(ChatMessage::User {
                text: format!("[b]: point {i} \"quoted\" \u{e9}"),
            });
            req.messages.push(ChatMessage::Assistant {
                text: if i % 2 == 0 {
                    String::new()
                } else {
                    format!("mine {i}")
                },
                tool_calls: vec![ToolCall {
                    id: format!("c{i}"),
                    name: "f".into(),
                    arguments: "{}".into(),
                }],
            });
            req.messages.push(ChatMessage::ToolResult {
                call_id: format!("c{i}"),
                name: "f".into(),
                content: "ok".into(),
                is_error: false,
            });
            check(&req, &mut cache);
            req.system = (i % 3 != 0).then(|| "sys".to_string());
        }
        req.tools.push(ToolSpec {
            name: "t".into(),
            description: String::new(),
            parameters: Value::Null,
        });
        req.tool_choice = ToolChoice::Tool("t".into());
        check(&req, &mut cache);
        req.messages.clear();
        check(&req, &mut cache);
    }

    #[test]
    fn tool_choice_only_with_tools() {
        let mut req = ChatRequest {
            model: "m".into(),
            tool_choice: ToolChoice::None,
            ..Default::default()
        };
        let body = to_body(&req);
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
        req.tools.push(ToolSpec {
            name: "t".into(),
            description: String::new(),
            parameters: json!({"type": "object"}),
        });
        assert_eq!(to_body(&req)["tool_choice"], json!("none"));
        req.tool_choice = ToolChoice::Auto;
        assert_eq!(to_body(&req)["tool_choice"], json!("auto"));
    }
}
