//! Chat Completions SSE → [`LlmEvent`]s.
//!
//! Text comes from `choices[0].delta.content`. Tool calls arrive as fragments keyed by `index`:
//! the first fragment of an index gives `id` and `function.name` (later ones may repeat them;
//! the first name is kept), `function.arguments` pieces are concatenated. `finish_reason` may
//! share a chunk with the last delta or repeat; the usage chunk follows it with `choices: []` (or
//! `null`, vLLM), so the stream is read until `data: [DONE]`. Tool calls are emitted whole, in
//! index order, at the end, then `Finished`. An `{"error":…}` object in the stream fails it.
//! Plain chunks (text, finish reason, usage) are read into borrowed typed structs; any other
//! chunk falls back to a `serde_json::Value`, so the fast path never changes what is decoded.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::llm::classify::{classify_stream_error, shorten};
use crate::llm::sse::{SseFrame, SseParser};
use crate::llm::stream::{DecodeError, Decoder};
use crate::llm::{FinishReason, LlmEvent, ToolCall, Usage};

/// Decoder state for one response.
#[derive(Debug, Default)]
pub struct OpenAiDecoder {
    sse: SseParser,
    calls: BTreeMap<u64, ToolCall>,
    finish: Option<FinishReason>,
    done: bool,
}

impl OpenAiDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_frame(&mut self, frame: &SseFrame, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        let data = frame.data.trim();
        if data == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        if self.on_plain_chunk(data, out) {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            DecodeError::protocol(format!("malformed chunk ({e}): {}", shorten(data)))
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(stream_error(err));
        }
        if let Some(choice) = first_choice(&v) {
            self.on_choice(choice, out);
        }
        if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
            out.push(LlmEvent::Usage(Usage {
                input: usage.get("prompt_tokens").and_then(Value::as_u64),
                output: usage.get("completion_tokens").and_then(Value::as_u64),
            }));
        }
        Ok(())
    }

    /// The fast path for the chunks that make up nearly every stream (text, finish reason,
    /// usage): parsed into borrowed typed structs, no `Value` tree. Returns false, having emitted
    /// nothing, for anything else (tool calls, an error object, a `message` instead of a `delta`,
    /// a field of an unexpected type, malformed JSON), which [`Self::on_frame`] then reads as a
    /// `Value` exactly as before.
    fn on_plain_chunk(&mut self, data: &str, out: &mut Vec<LlmEvent>) -> bool {
        if !data.starts_with('{') {
            return false;
        }
        let Ok(chunk) = serde_json::from_str::<PlainChunk<'_>>(data) else {
            return false;
        };
        let choices = chunk.choices.unwrap_or_default();
        let choice = choices.iter().find(|c| c.index.unwrap_or(0) == 0);
        let plain = chunk.error.is_none()
            && choice.is_none_or(|c| {
                c.message.is_none() && c.delta.as_ref().is_none_or(|d| d.tool_calls.is_none())
            });
        if !plain {
            return false;
        }
        if let Some(choice) = choice {
            if let Some(text) = choice.delta.as_ref().and_then(|d| d.content.as_deref())
                && !text.is_empty()
            {
                out.push(LlmEvent::TextDelta(text.to_string()));
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish = Some(finish_reason(reason));
            }
        }
        if let Some(usage) = chunk.usage {
            out.push(LlmEvent::Usage(Usage {
                input: usage.prompt_tokens,
                output: usage.completion_tokens,
            }));
        }
        true
    }

    fn on_choice(&mut self, choice: &Value, out: &mut Vec<LlmEvent>) {
        let delta = choice.get("delta").or_else(|| choice.get("message"));
        if let Some(delta) = delta {
            if let Some(text) = delta.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(LlmEvent::TextDelta(text.to_string()));
            }
            let fragments = delta.get("tool_calls").and_then(Value::as_array);
            for (i, fragment) in fragments.into_iter().flatten().enumerate() {
                self.on_fragment(i as u64, fragment);
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(finish_reason(reason));
        }
    }

    fn on_fragment(&mut self, position: u64, fragment: &Value) {
        let index = fragment
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position);
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if call.id.is_empty()
            && let Some(id) = fragment.get("id").and_then(Value::as_str)
        {
            call.id = id.to_string();
        }
        let function = fragment.get("function");
        if call.name.is_empty()
            && let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str)
        {
            call.name = name.to_string();
        }
        match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(piece)) => call.arguments.push_str(piece),
            Some(obj @ Value::Object(_)) => call.arguments.push_str(&obj.to_string()),
            _ => {}
        }
    }

    /// Emit the tool calls and `Finished`; the response is over.
    fn complete(&mut self, out: &mut Vec<LlmEvent>) {
        if self.done {
            return;
        }
        self.done = true;
        let has_calls = !self.calls.is_empty();
        for (index, mut call) in std::mem::take(&mut self.calls) {
            if call.id.is_empty() {
                call.id = format!("call_{index}");
            }
            out.push(LlmEvent::ToolCall(call));
        }
        let reason = match self.finish.take() {
            Some(FinishReason::Stop) | None if has_calls => FinishReason::ToolCalls,
            Some(r) => r,
            None => FinishReason::Stop,
        };
        out.push(LlmEvent::Finished(reason));
    }
}

impl Decoder for OpenAiDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        for frame in self.sse.feed(chunk) {
            if self.done {
                break;
            }
            self.on_frame(&frame, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        if self.done {
            return Ok(());
        }
        // Some compatible servers close the stream without `[DONE]`; once the model said why it
        // stopped, the answer is complete.
        if self.finish.is_some() {
            tracing::debug!("stream ended without [DONE] after finish_reason; accepting it");
            self.complete(out);
            return Ok(());
        }
        Err(DecodeError::protocol(
            "the stream ended before its end (no finish_reason and no `data: [DONE]`); the reply is incomplete",
        ))
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

/// A chunk as the fast path reads it; unknown fields are skipped without being built.
#[derive(Deserialize)]
struct PlainChunk<'a> {
    #[serde(borrow)]
    choices: Option<Vec<PlainChoice<'a>>>,
    usage: Option<PlainUsage>,
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct PlainChoice<'a> {
    index: Option<u64>,
    #[serde(borrow)]
    delta: Option<PlainDelta<'a>>,
    message: Option<IgnoredAny>,
    #[serde(borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PlainDelta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    tool_calls: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct PlainUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

fn first_choice(v: &Value) -> Option<&Value> {
    let choices = v.get("choices")?.as_array()?;
    choices
        .iter()
        .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" | "eos" | "end_turn" => FinishReason::Stop,
        "length" | "max_tokens" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

fn stream_error(err: &Value) -> DecodeError {
    let field = |k: &str| {
        err.get(k)
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .unwrap_or_default()
    };
    let message = match err {
        Value::String(s) => s.clone(),
        _ => field("message"),
    };
    let kind_text = format!("{} {}", field("type"), field("code"));
    DecodeError {
        kind: classify_stream_error(&kind_text, &message),
        message: format!("error in the stream: {}", shorten(&err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ErrorKind;
    use crate::llm::stream::testing::{assert_split_invariant, decode_split, merge_text};
    use proptest::prelude::*;

    fn new() -> Box<dyn Decoder> {
        Box::new(OpenAiDecoder::new())
    }

    fn call(id: &str, name: &str, args: &str) -> LlmEvent {
        LlmEvent::ToolCall(ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        })
    }

    const TOOLS: &str = concat!(
        ": OPENROUTER PROCESSING\n\n",
        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me é\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"transfer_to_bob\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\\\"Zürich\\\"}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":null,\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn tool_calls_by_index_first_name_kept_usage_after_finish() {
        let (events, err) = assert_split_invariant(new, TOOLS.as_bytes());
        assert_eq!(err, None);
        assert_eq!(
            merge_text(events),
            vec![
                LlmEvent::TextDelta("Let me é".into()),
                LlmEvent::Usage(Usage {
                    input: Some(12),
                    output: Some(7)
                }),
                call("call_a", "get_weather", "{\"city\":\"Zürich\"}"),
                call("call_b", "transfer_to_bob", "{}"),
                LlmEvent::Finished(FinishReason::ToolCalls),
            ]
        );
    }

    #[test]
    fn text_length_finish_and_no_usage() {
        let body = "data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";
        let (events, err) = assert_split_invariant(new, body.as_bytes());
        assert_eq!(err, None);
        assert_eq!(
            merge_text(events),
            vec![
                LlmEvent::TextDelta("ab".into()),
                LlmEvent::Finished(FinishReason::Length)
            ]
        );
    }

    #[test]
    fn eof_before_done() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n";
        let (events, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(events, vec![LlmEvent::TextDelta("partial".into())]);
        assert_eq!(err.unwrap().kind, ErrorKind::Protocol);
        let body =
            "data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n";
        let (events, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(err, None);
        assert_eq!(events.last(), Some(&LlmEvent::Finished(FinishReason::Stop)));
    }

    #[test]
    fn malformed_chunk_and_error_object() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {\"choices\":[{\"delta\n\n";
        let (events, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(events, vec![LlmEvent::TextDelta("ok".into())]);
        assert_eq!(err.unwrap().kind, ErrorKind::Protocol);
        let body = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\",\"code\":429}}\n\n";
        assert_eq!(
            decode_split(new(), body.as_bytes(), &[]).1.unwrap().kind,
            ErrorKind::RateLimit
        );
    }

    #[test]
    fn missing_ids_are_synthesized_and_stop_with_calls_means_tool_calls() {
        let body = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let (events, _) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(
            events,
            vec![
                call("call_0", "f", "{\"a\":1}"),
                LlmEvent::Finished(FinishReason::ToolCalls)
            ]
        );
    }

    #[test]
    fn chunks_the_typed_path_declines_read_as_before() {
        let body = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[\"x\"]}}]}\n\n",
            "data: [1]\n\n",
            "data: {\"choices\":[{\"index\":0.0,\"message\":{\"content\":\"hi\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other\"}},{\"delta\":{\"content\":\"a\\\"b\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3.0,\"completion_tokens\":2}}\n\n",
            "data: {\"choices\":[],\"error\":null,\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}\n\n",
            "data: [DONE]\n\n",
        );
        let (events, err) = assert_split_invariant(new, body.as_bytes());
        assert_eq!(err, None);
        assert_eq!(
            merge_text(events),
            vec![
                LlmEvent::TextDelta("hia\"b".into()),
                LlmEvent::Usage(Usage {
                    input: None,
                    output: Some(2)
                }),
                LlmEvent::Usage(Usage {
                    input: Some(4),
                    output: Some(5)
                }),
                LlmEvent::Finished(FinishReason::Stop),
            ]
        );
    }

    proptest! {
        #[test]
        fn random_splits_are_invariant(mut cuts in proptest::collection::vec(0usize..TOOLS.len(), 0..24)) {
            cuts.sort_unstable();
            let whole = decode_split(new(), TOOLS.as_bytes(), &[]);
            let split = decode_split(new(), TOOLS.as_bytes(), &cuts);
            prop_assert_eq!(merge_text(split.0), merge_text(whole.0));
            prop_assert_eq!(split.1, whole.1);
        }
    }
}
