//! Requests that fit the model's context window. Pure: no IO.
//!
//! Mental model: a request is the system prompt, the tool definitions, and the conversation —
//! opened by the task (the person's prompt), closed by the turn's instructions or the current
//! prompt, with the shared context in between. When its estimated size
//! ([`crate::llm::context::estimate_prompt`]) plus room for the answer exceeds the window,
//! [`fit`] leaves out the oldest shared context first, a message at a time (an assistant message
//! goes together with the results of its tool calls, so every call stays answered), never the
//! system prompt, the tools, the first and last message, nor a message holding the task.

use crate::llm::context::{estimate_message, estimate_prompt};
use crate::llm::{ChatMessage, ChatRequest};

/// Room kept for the answer when the agent sets no `max_tokens` (at most half the window).
pub const ANSWER_ROOM: u32 = 256;

/// What [`fit`] left out, for the turn's notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trimmed {
    /// Messages left out.
    pub messages: usize,
    /// Estimated prompt tokens before and after.
    pub before: u64,
    pub after: u64,
    pub window: u32,
    /// Whether the trimmed request fits (with room for the answer).
    pub fits: bool,
}

impl Trimmed {
    /// The line the pane and the transcript show.
    pub fn notice(&self) -> String {
        let noun = if self.messages == 1 {
            "message"
        } else {
            "messages"
        };
        let mut text = format!(
            "left out the {} oldest shared {noun} to fit the context window of {} tokens (prompt about {} → {} tokens)",
            self.messages, self.window, self.before, self.after
        );
        if !self.fits {
            text.push_str("; it may still not fit");
        }
        text
    }
}

fn budget(window: u32, max_tokens: Option<u32>) -> u32 {
    let room = max_tokens.unwrap_or(ANSWER_ROOM).min(window / 2);
    window - room
}

/// Trim `request` to fit `window` tokens with room for its answer; `task` is the person's
/// prompt (a message holding it is kept). `None` when it fits as it is or nothing can go.
pub fn fit(request: &mut ChatRequest, window: u32, task: &str) -> Option<Trimmed> {
    let budget = u64::from(budget(window, request.max_tokens));
    let before = estimate_prompt(request);
    if before <= budget {
        return None;
    }
    let groups = groups(&request.messages);
    let last = request.messages.len().saturating_sub(1);
    let task = task.trim();
    let keeps = |range: &std::ops::Range<usize>| {
        range.contains(&0)
            || range.contains(&last)
            || (!task.is_empty()
                && request.messages[range.clone()]
                    .iter()
                    .any(|m| matches!(m, ChatMessage::User { text } if text.contains(task))))
    };
    let mut size = before;
    let mut drop = vec![false; request.messages.len()];
    let mut left_out = 0;
    for range in groups.iter().filter(|r| !keeps(r)) {
        if size <= budget {
            break;
        }
        for i in range.clone() {
            size -= estimate_message(&request.messages[i]);
            drop[i] = true;
            left_out += 1;
        }
    }
    if left_out == 0 {
        return None;
    }
    let mut index = 0;
    request.messages.retain(|_| {
        let keep = !drop[index];
        index += 1;
        keep
    });
    Some(Trimmed {
        messages: left_out,
        before,
        after: size,
        window,
        fits: size <= budget,
    })
}

/// The messages as units that go together, oldest first: an assistant message with the tool
/// results that follow it; any other message alone.
fn groups(messages: &[ChatMessage]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let joins = matches!(m, ChatMessage::ToolResult { .. })
            && out.last().is_some_and(|r| {
                r.end == i
                    && matches!(
                        messages[r.start],
                        ChatMessage::Assistant { ref tool_calls, .. } if !tool_calls.is_empty()
                    )
            });
        match out.last_mut() {
            Some(r) if joins => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    fn user(text: &str) -> ChatMessage {
        ChatMessage::User { text: text.into() }
    }

    fn words(n: usize) -> String {
        "word ".repeat(n)
    }

    fn request(messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest {
            system: Some("You are terse.".into()),
            messages,
            max_tokens: Some(50),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn a_request_that_fits_is_left_alone() {
        let mut r = request(vec![user("task"), user("go")]);
        let before = r.clone();
        assert_eq!(fit(&mut r, 512, "task"), None);
        assert_eq!(r, before);
    }

    #[test]
    fn the_oldest_shared_context_goes_first_never_the_task_or_the_instructions() {
        let mut r = request(vec![
            user("you: Should we move to a four-day week?"),
            user(&format!("optimist: {}", words(150))),
            user(&format!("skeptic: {}", words(150))),
            user(&format!("pragmatist: {}", words(150))),
            user("Cast your vote."),
        ]);
        let trimmed = fit(&mut r, 400, "Should we move to a four-day week?").unwrap();
        assert_eq!(trimmed.messages, 2);
        assert!(trimmed.fits && trimmed.after <= 400 - 50, "{trimmed:?}");
        let texts: Vec<&str> = r
            .messages
            .iter()
            .map(|m| match m {
                ChatMessage::User { text } => text.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(texts[0], "you: Should we move to a four-day week?");
        assert!(texts[1].starts_with("pragmatist:"));
        assert_eq!(texts[2], "Cast your vote.");
        assert_eq!(r.system.as_deref(), Some("You are terse."));
        assert!(trimmed.notice().contains("2 oldest shared messages"));
        assert!(!trimmed.notice().contains("may still not fit"));
    }

    #[test]
    fn a_call_leaves_with_its_results_and_a_late_task_stays() {
        let call = ToolCall {
            id: "c1".into(),
            name: "search".into(),
            arguments: "{}".into(),
        };
        let mut r = request(vec![
            user("earlier chat"),
            ChatMessage::Assistant {
                text: words(80),
                tool_calls: vec![call],
            },
            ChatMessage::ToolResult {
                call_id: "c1".into(),
                name: "search".into(),
                content: words(80),
                is_error: false,
            },
            user(&format!("you: the real task {}", words(90))),
            user(&words(100)),
            user("go on"),
        ]);
        let mut small = r.clone();
        let trimmed = fit(&mut r, 400, "the real task").unwrap();
        assert_eq!(trimmed.messages, 2, "the call and its result: {trimmed:?}");
        assert!(trimmed.fits);
        assert!(matches!(&r.messages[1], ChatMessage::User { text } if text.contains("real task")));
        assert!(
            !r.messages
                .iter()
                .any(|m| matches!(m, ChatMessage::ToolResult { .. }))
        );
        let trimmed = fit(&mut small, 160, "the real task").unwrap();
        assert_eq!(trimmed.messages, 3, "{trimmed:?}");
        assert_eq!(small.messages.len(), 3);
        assert!(
            trimmed.notice().contains("may still not fit"),
            "{}",
            trimmed.notice()
        );
    }

    #[test]
    fn nothing_to_leave_out_is_none() {
        let mut r = request(vec![user(&words(1000)), user("go")]);
        assert_eq!(fit(&mut r, 256, ""), None);
    }
}
