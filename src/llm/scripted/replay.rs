//! How a planned reply becomes a stream: an optional delay, the text word by word at the
//! configured pace (sanitized like every provider's text and tool calls), then the tool calls, an
//! estimated `Usage` and `Finished`, or the scripted error after the text.

use std::collections::VecDeque;
use std::time::Duration;

use super::Planned;
use crate::llm::estimate;
use crate::llm::stream::sanitize_call;
use crate::llm::{ChatRequest, FinishReason, LlmError, LlmEvent, Usage};
use crate::text::Sanitizer;

/// One step of a replayed stream.
pub(super) enum Step {
    Sleep(Duration),
    Yield(Result<LlmEvent, LlmError>),
}

pub(super) fn steps_for(
    request: &ChatRequest,
    planned: Planned,
    tokens_per_sec: f64,
) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    if planned.delay_ms > 0 {
        steps.push_back(Step::Sleep(Duration::from_millis(planned.delay_ms)));
    }
    let gap = (tokens_per_sec > 0.0).then(|| Duration::from_secs_f64(1.0 / tokens_per_sec));
    let mut sanitizer = Sanitizer::default();
    for (i, word) in words(&planned.text).into_iter().enumerate() {
        if let (Some(g), true) = (gap, i > 0) {
            steps.push_back(Step::Sleep(g));
        }
        // The script is model text like any other: no control sequence leaves a provider.
        steps.push_back(Step::Yield(Ok(LlmEvent::TextDelta(sanitizer.push(word)))));
    }
    if let Some(err) = planned.error {
        steps.push_back(Step::Yield(Err(err)));
        return steps;
    }
    let tool_chars: usize = planned.tool_calls.iter().map(|t| t.arguments.len()).sum();
    let called = !planned.tool_calls.is_empty();
    for call in planned.tool_calls {
        steps.push_back(Step::Yield(Ok(LlmEvent::ToolCall(sanitize_call(call)))));
    }
    steps.push_back(Step::Yield(Ok(LlmEvent::Usage(Usage {
        input: Some(estimate::input_tokens(request)),
        output: Some(estimate::output_tokens(&planned.text, tool_chars)),
    }))));
    let finish = if called {
        FinishReason::ToolCalls
    } else {
        planned.finish.unwrap_or(FinishReason::Stop)
    };
    steps.push_back(Step::Yield(Ok(LlmEvent::Finished(finish))));
    steps
}

/// Split text into word chunks that concatenate back to it: each chunk is a run of
/// non-whitespace plus the whitespace after it (leading whitespace joins the first chunk).
pub(super) fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut seen_word = false;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else {
            if in_space && seen_word {
                out.push(&text[start..i]);
                start = i;
            }
            in_space = false;
            seen_word = true;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}
