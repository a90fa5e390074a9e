//! `/api/chat` NDJSON → [`LlmEvent`]s.
//!
//! Each line is one object: `message.content` is text, `message.tool_calls` are whole calls
//! (arguments an object, turned into JSON text; ids synthesized `call_0`, `call_1`, … when absent).
//! The last object has `done: true`, `done_reason` and the usage (`prompt_eval_count` may be
//! missing on a cache hit). `done_reason` is `stop` even on tool turns, so a turn with calls
//! finishes as `ToolCalls`. An `{"error": "…"}` line fails the stream.

use serde_json::Value;

use crate::llm::classify::{classify_stream_error, shorten};
use crate::llm::ndjson::NdjsonParser;
use crate::llm::stream::{DecodeError, Decoder};
use crate::llm::{FinishReason, LlmEvent, ToolCall, Usage};

/// Decoder state for one response.
#[derive(Debug, Default)]
pub struct OllamaDecoder {
    lines: NdjsonParser,
    calls: usize,
    done: bool,
}

impl OllamaDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        let v: Value = serde_json::from_str(line).map_err(|e| {
            DecodeError::protocol(format!("malformed line ({e}): {}", shorten(line)))
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let message = err
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string());
            return Err(DecodeError {
                kind: classify_stream_error("", &message),
                message: format!("error in the stream: {}", shorten(&message)),
            });
        }
        if let Some(message) = v.get("message") {
            if let Some(text) = message.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(LlmEvent::TextDelta(text.to_string()));
            }
            for call in message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(LlmEvent::ToolCall(self.tool_call(call)));
            }
        }
        if v.get("done").and_then(Value::as_bool) == Some(true) {
            let usage = Usage {
                input: v.get("prompt_eval_count").and_then(Value::as_u64),
                output: v.get("eval_count").and_then(Value::as_u64),
            };
            if usage != Usage::default() {
                out.push(LlmEvent::Usage(usage));
            }
            let reason = match v.get("done_reason").and_then(Value::as_str) {
                _ if self.calls > 0 => FinishReason::ToolCalls,
                Some("stop") | None => FinishReason::Stop,
                Some("length") => FinishReason::Length,
                Some(other) => FinishReason::Other(other.to_string()),
            };
            out.push(LlmEvent::Finished(reason));
            self.done = true;
        }
        Ok(())
    }

    fn tool_call(&mut self, call: &Value) -> ToolCall {
        let function = call.get("function").unwrap_or(&Value::Null);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("call_{}", self.calls));
        self.calls += 1;
        let arguments = match function.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "{}".to_string(),
            Some(other) => other.to_string(),
        };
        ToolCall {
            id,
            name: function
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            arguments,
        }
    }
}

impl Decoder for OllamaDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        for line in self.lines.feed(chunk) {
            if self.done {
                break;
            }
            self.on_line(&line, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        if !self.done
            && let Some(line) = self.lines.finish()
        {
            self.on_line(&line, out)?;
        }
        if self.done {
            return Ok(());
        }
        Err(DecodeError::protocol(
            "the stream ended before the final `done: true` object; the reply is incomplete",
        ))
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ErrorKind;
    use crate::llm::stream::testing::{assert_split_invariant, decode_split, merge_text};
    use proptest::prelude::*;

    fn new() -> Box<dyn Decoder> {
        Box::new(OllamaDecoder::new())
    }

    const BODY: &str = concat!(
        "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hé\"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"llo 🎉\"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"a\",\"arguments\":{\"x\":1}}},{\"function\":{\"name\":\"b\",\"arguments\":{}}}]},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":1,\"eval_count\":9}\n",
    );

    #[test]
    fn text_tool_calls_and_usage_without_prompt_count() {
        let (events, err) = assert_split_invariant(new, BODY.as_bytes());
        assert_eq!(err, None);
        let call = |id: &str, name: &str, args: &str| {
            LlmEvent::ToolCall(ToolCall {
                id: id.into(),
                name: name.into(),
                arguments: args.into(),
            })
        };
        assert_eq!(
            merge_text(events),
            vec![
                LlmEvent::TextDelta("Héllo 🎉".into()),
                call("call_0", "a", "{\"x\":1}"),
                call("call_1", "b", "{}"),
                LlmEvent::Usage(Usage {
                    input: None,
                    output: Some(9)
                }),
                LlmEvent::Finished(FinishReason::ToolCalls),
            ]
        );
    }

    #[test]
    fn error_line_eof_and_length() {
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"error\":\"model runner crashed\"}\n";
        let (events, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(events, vec![LlmEvent::TextDelta("a".into())]);
        assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\n";
        assert_eq!(
            decode_split(new(), body.as_bytes(), &[]).1.unwrap().kind,
            ErrorKind::Protocol
        );
        let body = "{\"message\":{\"content\":\"a\"},\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":3,\"eval_count\":1}";
        let (events, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(err, None);
        assert_eq!(
            events.last(),
            Some(&LlmEvent::Finished(FinishReason::Length))
        );
        let body = "{\"message\":{\"content\":\"a\"},\"do\n";
        assert_eq!(
            decode_split(new(), body.as_bytes(), &[]).1.unwrap().kind,
            ErrorKind::Protocol
        );
    }

    proptest! {
        #[test]
        fn random_splits_are_invariant(mut cuts in proptest::collection::vec(0usize..BODY.len(), 0..24)) {
            cuts.sort_unstable();
            let whole = decode_split(new(), BODY.as_bytes(), &[]);
            let split = decode_split(new(), BODY.as_bytes(), &cuts);
            prop_assert_eq!(merge_text(split.0), merge_text(whole.0));
            prop_assert_eq!(split.1, whole.1);
        }
    }
}
