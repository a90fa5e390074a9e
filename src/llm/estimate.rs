//! Token counts without a tokenizer, for calls whose server reported none (llama-cpp-python,
//! a cancelled stream, a failed attempt) and for the offline scripted backend, which reports
//! these figures as its usage. One rule everywhere: input ≈ the request's characters / 4
//! (system prompt and every message), output = the words of the text plus the tool calls'
//! argument characters / 4. Rough on purpose; shown with `~` wherever it is used. Characters
//! are counted as UTF-8 bytes (the same for ASCII; a little more for other scripts, whose
//! tokens are shorter anyway), so an estimate costs one length per message, never a scan of
//! the history.

use crate::llm::{ChatMessage, ChatRequest};

/// Estimated input tokens of `request`.
pub fn input_tokens(request: &ChatRequest) -> u64 {
    let system = request.system.as_deref().map_or(0, str::len);
    let messages: usize = request
        .messages
        .iter()
        .map(|m| match m {
            ChatMessage::User { text } | ChatMessage::Assistant { text, .. } => text.len(),
            ChatMessage::ToolResult { content, .. } => content.len(),
        })
        .sum();
    (system + messages).div_ceil(4) as u64
}

/// Estimated output tokens of a reply: its words plus `tool_chars` (the tool calls' argument
/// characters) / 4.
pub fn output_tokens(text: &str, tool_chars: usize) -> u64 {
    (text.split_whitespace().count() + tool_chars.div_ceil(4)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_over_four_and_words() {
        let request = ChatRequest {
            system: Some("abcd".into()),
            messages: vec![ChatMessage::User {
                text: "hello".into(),
            }],
            ..ChatRequest::default()
        };
        assert_eq!(input_tokens(&request), 3);
        assert_eq!(output_tokens("two words", 0), 2);
        assert_eq!(output_tokens("", 9), 3);
        assert_eq!(output_tokens("", 0), 0);
    }
}
