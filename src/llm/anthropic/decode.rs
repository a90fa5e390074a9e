//! Messages API SSE → [`LlmEvent`]s.
//!
//! `message_start` carries the input usage; `content_block_start` opens a text or `tool_use`
//! block (its `input: {}` is ignored); `content_block_delta` brings `text_delta` text or
//! `input_json_delta` pieces to concatenate; `content_block_stop` completes a tool call, emitted
//! then; `message_delta` gives `stop_reason` and cumulative usage (assigned, not added);
//! `message_stop` ends the response. `ping`, thinking blocks and unknown events are ignored;
//! `error` (e.g. `overloaded_error`, possibly after HTTP 200) fails the stream.
//!
//! At EOF, a last frame that only lacks its blank line is used when its data is a whole JSON
//! object (a half-received one is dropped). A stream that ends without `message_stop` is still
//! complete once `message_delta` gave a `stop_reason` (as the OpenAI decoder accepts a missing
//! `[DONE]` after `finish_reason`); before any `stop_reason` it is a protocol error.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::llm::classify::{classify_stream_error, shorten};
use crate::llm::sse::SseParser;
use crate::llm::stream::{DecodeError, Decoder};
use crate::llm::{FinishReason, LlmEvent, ToolCall, Usage};

/// Decoder state for one response.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    sse: SseParser,
    tools: BTreeMap<u64, ToolCall>,
    usage: Usage,
    stop: Option<FinishReason>,
    done: bool,
}

impl AnthropicDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_event(
        &mut self,
        name: Option<&str>,
        data: &str,
        out: &mut Vec<LlmEvent>,
    ) -> Result<(), DecodeError> {
        if data.trim().is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            DecodeError::protocol(format!("malformed event ({e}): {}", shorten(data)))
        })?;
        let kind = v.get("type").and_then(Value::as_str).or(name).unwrap_or("");
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")) {
                    self.assign_usage(u);
                    out.push(LlmEvent::Usage(self.usage));
                }
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let text = |k: &str| {
                            block
                                .get(k)
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        let call = ToolCall {
                            id: text("id"),
                            name: text("name"),
                            arguments: String::new(),
                        };
                        self.tools.insert(index, call);
                    }
                    Some("text") => push_text(block.get("text"), out),
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => push_text(delta.get("text"), out),
                    Some("input_json_delta") => {
                        if let (Some(call), Some(piece)) = (
                            self.tools.get_mut(&index),
                            delta.get("partial_json").and_then(Value::as_str),
                        ) {
                            call.arguments.push_str(piece);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(mut call) = self.tools.remove(&index) {
                    if call.arguments.trim().is_empty() {
                        call.arguments = "{}".to_string();
                    }
                    out.push(LlmEvent::ToolCall(call));
                }
            }
            "message_delta" => {
                if let Some(reason) = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop = Some(stop_reason(reason));
                }
                if let Some(u) = v.get("usage") {
                    self.assign_usage(u);
                    out.push(LlmEvent::Usage(self.usage));
                }
            }
            "message_stop" => {
                self.done = true;
                out.push(LlmEvent::Finished(
                    self.stop.take().unwrap_or(FinishReason::Stop),
                ));
            }
            "error" => return Err(stream_error(v.get("error").unwrap_or(&v))),
            _ => {}
        }
        Ok(())
    }

    fn assign_usage(&mut self, u: &Value) {
        if let Some(n) = u.get("input_tokens").and_then(Value::as_u64) {
            self.usage.input = Some(n);
        }
        if let Some(n) = u.get("output_tokens").and_then(Value::as_u64) {
            self.usage.output = Some(n);
        }
    }
}

impl Decoder for AnthropicDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        for frame in self.sse.feed(chunk) {
            if self.done {
                break;
            }
            self.on_event(frame.event.as_deref(), &frame.data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<LlmEvent>) -> Result<(), DecodeError> {
        if !self.done
            && let Some(frame) = self.sse.finish()
        {
            if serde_json::from_str::<Value>(&frame.data).is_ok() {
                self.on_event(frame.event.as_deref(), &frame.data, out)?;
            } else {
                tracing::debug!("dropping a half-received last SSE frame at EOF");
            }
        }
        if self.done {
            return Ok(());
        }
        if let Some(reason) = self.stop.take() {
            tracing::debug!(
                "stream ended without `message_stop` after a stop_reason; accepting it"
            );
            self.done = true;
            out.push(LlmEvent::Finished(reason));
            return Ok(());
        }
        Err(DecodeError::protocol(
            "the stream ended before `message_stop` (no stop_reason came); the reply is incomplete",
        ))
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

fn push_text(text: Option<&Value>, out: &mut Vec<LlmEvent>) {
    if let Some(t) = text.and_then(Value::as_str)
        && !t.is_empty()
    {
        out.push(LlmEvent::TextDelta(t.to_string()));
    }
}

fn stop_reason(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

fn stream_error(err: &Value) -> DecodeError {
    let text = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("");
    DecodeError {
        kind: classify_stream_error(text("type"), text("message")),
        message: format!(
            "error in the stream: {}: {}",
            text("type"),
            shorten(text("message"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ErrorKind;
    use crate::llm::stream::testing::{assert_split_invariant, decode_split, merge_text};
    use proptest::prelude::*;

    fn new() -> Box<dyn Decoder> {
        Box::new(AnthropicDecoder::new())
    }

    const BODY: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, 日本\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"cast_vote\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"choice\\\": \\\"agree\\\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":16}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    #[test]
    fn full_stream_with_tool_use() {
        let (events, err) = assert_split_invariant(new, BODY.as_bytes());
        assert_eq!(err, None);
        assert_eq!(
            merge_text(events),
            vec![
                LlmEvent::Usage(Usage {
                    input: Some(25),
                    output: Some(1)
                }),
                LlmEvent::TextDelta("Okay, 日本".into()),
                LlmEvent::ToolCall(ToolCall {
                    id: "toolu_1".into(),
                    name: "cast_vote".into(),
                    arguments: "{\"choice\": \"agree\"}".into()
                }),
                LlmEvent::Usage(Usage {
                    input: Some(25),
                    output: Some(15)
                }),
                LlmEvent::Usage(Usage {
                    input: Some(25),
                    output: Some(16)
                }),
                LlmEvent::Finished(FinishReason::ToolCalls),
            ]
        );
    }

    #[test]
    fn error_after_200_and_eof_without_stop() {
        let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let (_, err) = decode_split(new(), body.as_bytes(), &[]);
        assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
        let truncated = &BODY[..BODY.find("event: message_delta").unwrap()];
        let (events, err) = decode_split(new(), truncated.as_bytes(), &[]);
        assert_eq!(err.unwrap().kind, ErrorKind::Protocol);
        assert!(events.contains(&LlmEvent::TextDelta("Okay, 日本".into())));
        let max = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert_eq!(
            decode_split(new(), max.as_bytes(), &[]).0.last(),
            Some(&LlmEvent::Finished(FinishReason::Length))
        );
    }

    #[test]
    fn eof_after_a_stop_reason_completes_the_reply_at_every_split() {
        let full = decode_split(new(), BODY.as_bytes(), &[]).0;
        let unterminated = BODY.strip_suffix("\n\n").unwrap();
        let no_newline_at_all = BODY.strip_suffix("\n").unwrap();
        let without_stop = &BODY[..BODY.find("event: message_stop").unwrap()];
        let half_stop = &BODY[..BODY.len() - 8];
        for body in [unterminated, no_newline_at_all, without_stop, half_stop] {
            let (events, err) = assert_split_invariant(new, body.as_bytes());
            assert_eq!(err, None, "{body:?}");
            assert_eq!(merge_text(events), merge_text(full.clone()), "{body:?}");
        }
    }

    #[test]
    fn eof_before_any_stop_reason_stays_a_protocol_error_at_every_split() {
        let cut = BODY.find("event: message_delta").unwrap();
        let unterminated_delta = format!(
            "{}event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{}},\"usage\":{{\"output_tokens\":9}}}}\n",
            &BODY[..cut]
        );
        let half_delta = &BODY[..cut + 60];
        for body in [&BODY[..cut], unterminated_delta.as_str(), half_delta] {
            let (events, err) = assert_split_invariant(new, body.as_bytes());
            let err = err.unwrap_or_else(|| panic!("accepted {body:?}"));
            assert_eq!(err.kind, ErrorKind::Protocol);
            assert!(err.message.contains("message_stop"), "{}", err.message);
            assert!(events.contains(&LlmEvent::TextDelta("Okay, 日本".into())));
            assert!(!events.iter().any(|e| matches!(e, LlmEvent::Finished(_))));
        }
        let held_error = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n";
        let (_, err) = assert_split_invariant(new, held_error.as_bytes());
        assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
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
