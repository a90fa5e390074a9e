//! Whole streamed replies rendered byte for byte as the real servers send them.
//!
//! A [`Turn`] says what the model answers (text pieces, tool calls, usage, an optional
//! wire-native finish reason); [`openai_events`], [`anthropic_events`] and [`ollama_lines`] render
//! it as the list of writes that OpenAI's Chat Completions, Anthropic's Messages and Ollama's
//! `/api/chat` produce (field order and extra fields included), ready for `Reply::sse` /
//! `Reply::ndjson`. Tool-call arguments are streamed in two fragments, as the servers do.

use serde_json::{Value, json};

/// What the model answers in one turn.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    pub text: Vec<String>,
    /// `(id, name, arguments JSON text)`.
    pub tool_calls: Vec<(String, String, String)>,
    /// `(input, output)` tokens.
    pub usage: Option<(u64, u64)>,
    /// The wire's own finish reason (`length`, `max_tokens`, …); derived when absent.
    pub finish: Option<String>,
}

impl Turn {
    /// A reply of these text pieces, each streamed as its own event.
    pub fn text<S: Into<String>>(pieces: impl IntoIterator<Item = S>) -> Self {
        Turn {
            text: pieces.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    pub fn tool(mut self, id: &str, name: &str, arguments: &str) -> Self {
        self.tool_calls
            .push((id.into(), name.into(), arguments.into()));
        self
    }

    pub fn usage(mut self, input: u64, output: u64) -> Self {
        self.usage = Some((input, output));
        self
    }

    pub fn finish(mut self, reason: &str) -> Self {
        self.finish = Some(reason.into());
        self
    }
}

/// Chat Completions SSE events, ending with `data: [DONE]`.
pub fn openai_events(turn: &Turn) -> Vec<String> {
    let chunk = |choices: Value, usage: Value| {
        let v = json!({
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "fake-model",
            "system_fingerprint": "fp_fake",
            "choices": choices,
            "usage": usage,
        });
        format!("data: {v}\n\n")
    };
    let delta = |d: Value, finish: Value| json!([{"index": 0, "delta": d, "logprobs": null, "finish_reason": finish}]);
    let mut out = vec![chunk(
        delta(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        ),
        Value::Null,
    )];
    for piece in &turn.text {
        out.push(chunk(
            delta(json!({"content": piece}), Value::Null),
            Value::Null,
        ));
    }
    for (i, (id, name, args)) in turn.tool_calls.iter().enumerate() {
        let first = json!({"tool_calls": [{"index": i, "id": id, "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        out.push(chunk(delta(first, Value::Null), Value::Null));
        for part in halves(args) {
            let more = json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]});
            out.push(chunk(delta(more, Value::Null), Value::Null));
        }
    }
    let finish = turn.finish.clone().unwrap_or_else(|| {
        if turn.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        }
        .to_string()
    });
    out.push(chunk(delta(json!({}), json!(finish)), Value::Null));
    if let Some((input, output)) = turn.usage {
        let usage = json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output});
        out.push(chunk(json!([]), usage));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// Messages API SSE events, from `message_start` to `message_stop`.
pub fn anthropic_events(turn: &Turn) -> Vec<String> {
    let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let (input, output) = turn.usage.unwrap_or((0, 0));
    let mut out = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_fake1", "type": "message",
            "role": "assistant", "content": [], "model": "fake-model", "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": input, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": 1}}}),
    )];
    out.push(event("ping", json!({"type": "ping"})));
    let mut index = 0;
    if !turn.text.is_empty() {
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in &turn.text {
            out.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        out.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (id, name, args) in &turn.tool_calls {
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        ));
        for part in std::iter::once("").chain(halves(args)) {
            out.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        out.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    let stop = turn.finish.clone().unwrap_or_else(|| {
        if turn.tool_calls.is_empty() {
            "end_turn"
        } else {
            "tool_use"
        }
        .to_string()
    });
    out.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": output}}),
    ));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}

/// Ollama `/api/chat` NDJSON lines, ending with the `done: true` object.
pub fn ollama_lines(turn: &Turn) -> Vec<String> {
    let line = |message: Value, extra: Value| {
        let mut v = json!({"model": "fake-model", "created_at": "2025-01-01T00:00:00.000000Z", "message": message});
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        format!("{v}\n")
    };
    let mut out = Vec::new();
    for piece in &turn.text {
        out.push(line(
            json!({"role": "assistant", "content": piece}),
            json!({"done": false}),
        ));
    }
    if !turn.tool_calls.is_empty() {
        let calls: Vec<Value> = turn
            .tool_calls
            .iter()
            .map(|(_, name, args)| {
                let args: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
                json!({"function": {"name": name, "arguments": args}})
            })
            .collect();
        out.push(line(
            json!({"role": "assistant", "content": "", "tool_calls": calls}),
            json!({"done": false}),
        ));
    }
    let mut done = json!({"done_reason": turn.finish.clone().unwrap_or_else(|| "stop".into()), "done": true,
        "total_duration": 1_000_000, "load_duration": 1000, "eval_duration": 1000});
    if let Some((input, output)) = turn.usage {
        done["prompt_eval_count"] = json!(input);
        done["eval_count"] = json!(output);
    }
    out.push(line(json!({"role": "assistant", "content": ""}), done));
    out
}

/// `text` in two pieces, cut at a character boundary near the middle (one piece when short).
fn halves(text: &str) -> Vec<&str> {
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid += 1;
    }
    [&text[..mid], &text[mid..]]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}
