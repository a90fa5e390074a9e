//! The context preview: exactly the request a pending handoff's target will receive (its system
//! prompt, then each message after context mode and sanitizer, built by
//! [`pending_request`](crate::core::patterns::pending_request), the code the session runs), as
//! an editable list. The person moves between messages, deletes one (pressing delete again keeps
//! it), rewrites one's text, and approves: [`ContextPreview::approve`] sends `edit_context` with
//! what is left only when something changed, then `approve_handoff`.
//!
//! This is plain data (it derives `Eq` like every overlay); the text editor of the message being
//! edited lives beside it in the `App`, and its text comes back through
//! [`ContextPreview::set_text`]. A message relayed from someone else reads `[sender]: text` in
//! the request: the sender is shown apart and only the text is edited, the prefix stays. The
//! rows each message takes on screen are written back by [`render`] (`layout`, `viewport`), so
//! paging and keeping the selected message in view need no terminal here.

pub mod render;

use crate::core::Command;
use crate::core::event::ContextMessage;
use crate::llm::{ChatMessage, ChatRequest};

/// Who wrote a message conclave itself adds (the handoff note, a summary, an omission mark).
pub const CONCLAVE: &str = "conclave";

/// One message of the previewed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewMessage {
    /// `user` or `assistant`, as the request sends it.
    pub role: String,
    /// Whose words: the person (`user`), an agent, a tool, or [`CONCLAVE`].
    pub sender: String,
    /// What stays in front of the text when it is sent (`[triage]: `).
    prefix: String,
    /// The text as the request was built.
    original: String,
    /// The text as it will be sent.
    pub text: String,
    /// Tool calls the model made in this message (an edited context drops them).
    pub calls: Vec<String>,
    pub deleted: bool,
}

impl PreviewMessage {
    /// `message` of a request for `agent`.
    pub fn from_chat(message: &ChatMessage, agent: &str) -> PreviewMessage {
        let role = ContextMessage::from_chat(message).role;
        let (sender, prefix, text, calls) = match message {
            ChatMessage::User { text } => match relayed(text) {
                Some((sender, prefix)) => (
                    sender,
                    prefix.to_string(),
                    text[prefix.len()..].to_string(),
                    Vec::new(),
                ),
                None => (
                    CONCLAVE.to_string(),
                    String::new(),
                    text.clone(),
                    Vec::new(),
                ),
            },
            ChatMessage::Assistant { text, tool_calls } => (
                agent.to_string(),
                String::new(),
                text.clone(),
                tool_calls.iter().map(|c| c.name.clone()).collect(),
            ),
            ChatMessage::ToolResult { name, content, .. } => (
                format!("tool {name}"),
                format!("[{name}] "),
                content.clone(),
                Vec::new(),
            ),
        };
        PreviewMessage {
            role,
            sender,
            prefix,
            original: text.clone(),
            text,
            calls,
            deleted: false,
        }
    }

    /// Whether the text differs from the request's.
    pub fn is_edited(&self) -> bool {
        self.text != self.original
    }

    fn to_context(&self) -> ContextMessage {
        ContextMessage {
            role: self.role.clone(),
            text: format!("{}{}", self.prefix, self.text),
        }
    }
}

/// The sender and prefix of a relayed message, `[name]: text`.
fn relayed(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('[')?;
    let end = rest.find("]: ")?;
    let name = &rest[..end];
    let plain = !name.is_empty() && name.len() <= 64 && !name.contains(['[', ']', '\n']);
    plain.then(|| (name.to_string(), &text[..end + 4]))
}

/// The preview overlay's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextPreview {
    /// The pending handoff this is the target's request of.
    pub handoff: String,
    pub from: String,
    /// The target: whose request it is.
    pub to: String,
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<PreviewMessage>,
    pub selected: usize,
    /// The selected message's text is in the editor.
    pub editing: bool,
    /// The first row shown.
    pub scroll: usize,
    /// Scroll so that the selected message shows at the next frame.
    pub reveal: bool,
    /// From the last frame: the rows (first, end) each message spans, and how many rows show.
    pub layout: Vec<(usize, usize)>,
    pub viewport: usize,
    /// A word for the person about the last key (why a message cannot be deleted).
    pub flash: Option<String>,
    /// What the person should know about this request before reading it (a summary edge).
    pub note: Option<String>,
}

impl ContextPreview {
    /// The preview of `request`, what `to` receives when the handoff `handoff` from `from` is
    /// approved.
    pub fn new(handoff: &str, from: &str, to: &str, request: &ChatRequest) -> ContextPreview {
        ContextPreview {
            handoff: handoff.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            model: request.model.clone(),
            system: request.system.clone(),
            messages: request
                .messages
                .iter()
                .map(|m| PreviewMessage::from_chat(m, to))
                .collect(),
            selected: 0,
            editing: false,
            scroll: 0,
            reveal: true,
            layout: Vec::new(),
            viewport: 0,
            flash: None,
            note: None,
        }
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
        self.reveal = true;
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.messages.len() {
            self.selected += 1;
        }
        self.reveal = true;
    }

    /// Scroll a page; the selection moves to the first message in view.
    pub fn page(&mut self, up: bool) {
        let step = self.viewport.saturating_sub(1).max(1);
        self.scroll = if up {
            self.scroll.saturating_sub(step)
        } else {
            let last = self.layout.last().map_or(0, |l| l.1);
            (self.scroll + step).min(last.saturating_sub(self.viewport))
        };
        if let Some(i) = self.layout.iter().position(|(_, end)| *end > self.scroll) {
            self.selected = i;
        }
        self.reveal = false;
    }

    pub fn current(&self) -> Option<&PreviewMessage> {
        self.messages.get(self.selected)
    }

    /// Delete the selected message, or keep it again when it was deleted. The last message kept
    /// cannot go: a request needs one.
    pub fn toggle_delete(&mut self) -> Result<(), &'static str> {
        let kept = self.messages.iter().filter(|m| !m.deleted).count();
        let Some(m) = self.messages.get_mut(self.selected) else {
            return Err("there is no message to delete");
        };
        if !m.deleted && kept <= 1 {
            return Err("the target needs at least one message: edit it instead");
        }
        m.deleted = !m.deleted;
        Ok(())
    }

    /// Put `text` in place of the selected message's text.
    pub fn set_text(&mut self, text: String) {
        if let Some(m) = self.messages.get_mut(self.selected) {
            m.text = text;
        }
        self.reveal = true;
    }

    /// Whether anything was deleted or edited.
    pub fn is_changed(&self) -> bool {
        self.messages.iter().any(|m| m.deleted || m.is_edited())
    }

    /// What the target receives instead, when anything changed.
    pub fn edited(&self) -> Option<Vec<ContextMessage>> {
        self.is_changed().then(|| {
            self.messages
                .iter()
                .filter(|m| !m.deleted)
                .map(PreviewMessage::to_context)
                .collect()
        })
    }

    /// The commands that approve the handoff with this context: `edit_context` first when
    /// anything changed.
    pub fn approve(&self) -> Vec<Command> {
        let mut out = Vec::new();
        if let Some(messages) = self.edited() {
            out.push(Command::EditContext { messages });
        }
        out.push(Command::ApproveHandoff {});
        out
    }

    /// How many messages are deleted and how many edited.
    pub fn counts(&self) -> (usize, usize) {
        let deleted = self.messages.iter().filter(|m| m.deleted).count();
        let edited = self
            .messages
            .iter()
            .filter(|m| !m.deleted && m.is_edited())
            .count();
        (deleted, edited)
    }
}

#[cfg(test)]
mod tests;
