//! Forced tool calls on servers with partial tool support: one failed try, then text markers.
//!
//! Mental model: a forced call (`tool_choice` naming a tool) that carries its text-marker form
//! ([`ChatRequest::marker_system`]) is streamed through [`with_fallback`]. While no tool call has
//! come, the reply's text is held back. When the backend refuses the forced call (an HTTP 4xx
//! whose message mentions tools, grammar or samplers: llama-server's "Failed to initialize
//! samplers") or ignores it (a text answer and no tool call: llama-server's OpenAI endpoint), the
//! held text is dropped, the backend's [`Markers`] switch is set, one [`LlmEvent::Notice`] says
//! so, and the same request goes out at once in the marker form. From then on the provider sends
//! the marker form directly ([`Markers::on`]), for every session sharing the provider. Anything
//! else (a tool call, an empty reply, another error) passes through unchanged.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use crate::llm::{ChatRequest, ErrorKind, LlmError, LlmEvent, LlmStream, ToolChoice};

/// Whether a backend has shown it cannot force tool calls (shared by its provider's streams).
#[derive(Clone, Debug, Default)]
pub struct Markers(Arc<AtomicBool>);

impl Markers {
    /// Whether forced calls use the text-marker form on this backend.
    pub fn on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }
}

/// The text-marker form of a forced request: no tools, the marker instructions in the system
/// prompt. `None` for a request that forces nothing or carries no marker form.
pub fn marker_form(request: &ChatRequest) -> Option<ChatRequest> {
    let ToolChoice::Tool(_) = request.tool_choice else {
        return None;
    };
    if request.tools.is_empty() {
        return None;
    }
    let system = request.marker_system.clone()?;
    Some(ChatRequest {
        system: Some(system),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        marker_system: None,
        ..request.clone()
    })
}

/// Whether `error` is a backend refusing to force a tool call (rather than anything else).
pub fn refuses_forced_tools(error: &LlmError) -> bool {
    let rejected = match error.status {
        Some(status) => (400..500).contains(&status) && ![401, 403, 404, 429].contains(&status),
        None => error.kind == ErrorKind::BadRequest,
    };
    let text = error.message.to_lowercase();
    rejected
        && ["tool", "grammar", "sampler", "function"]
            .iter()
            .any(|w| text.contains(w))
}

/// `first` (the forced form), switching to `fallback()` (the marker form) when the backend
/// refuses or ignores the forced call; `markers` remembers it for `backend`. `used` is set when
/// `first` went out in the marker form after all (learnt while it waited in the queue): its
/// reply is then taken as it is.
pub fn with_fallback(
    first: LlmStream,
    fallback: Box<dyn FnOnce() -> LlmStream + Send>,
    markers: Markers,
    used: Arc<AtomicBool>,
    backend: String,
) -> LlmStream {
    let state = Watch {
        used,
        current: first,
        fallback: Some(fallback),
        held: Vec::new(),
        called: false,
        out: VecDeque::new(),
        done: false,
        markers,
        backend,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.out.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            let next = st.current.next().await;
            st.take(next);
        }
    }))
}

type Item = Result<LlmEvent, LlmError>;

struct Watch {
    used: Arc<AtomicBool>,
    current: LlmStream,
    fallback: Option<Box<dyn FnOnce() -> LlmStream + Send>>,
    /// Text held back until the reply shows whether it called the tool.
    held: Vec<String>,
    called: bool,
    out: VecDeque<Item>,
    done: bool,
    markers: Markers,
    backend: String,
}

impl Watch {
    fn watching(&self) -> bool {
        self.fallback.is_some() && !self.called && !self.used.load(Ordering::SeqCst)
    }

    fn take(&mut self, next: Option<Item>) {
        match next {
            None => {
                self.release();
                self.done = true;
            }
            Some(Ok(LlmEvent::TextDelta(text))) if self.watching() => self.held.push(text),
            Some(Ok(LlmEvent::ToolCall(call))) => {
                self.called = true;
                self.release();
                self.out.push_back(Ok(LlmEvent::ToolCall(call)));
            }
            Some(Ok(LlmEvent::Finished(reason))) => {
                let said = self.held.iter().any(|t| !t.trim().is_empty());
                // A reply of one word is an answer the core reads leniently (a candidate's name
                // for a pick, `agree` for a vote: `core::tools::bare_word`), not prose that
                // ignored the tool: it passes through, and the core judges it.
                if self.watching() && said && !one_word(&self.held.concat()) {
                    self.switch("answered in text instead of calling the tool it was asked for");
                    return;
                }
                self.release();
                self.out.push_back(Ok(LlmEvent::Finished(reason)));
            }
            Some(Err(error)) => {
                let said = self.held.iter().any(|t| !t.trim().is_empty());
                if self.watching() && !said && refuses_forced_tools(&error) {
                    let why = format!("refused a forced tool call ({})", error.message);
                    self.switch(&why);
                    return;
                }
                self.release();
                self.out.push_back(Err(error));
                self.done = true;
            }
            Some(Ok(other)) => self.out.push_back(Ok(other)),
        }
    }

    /// Send the held text on (the reply is what it is).
    fn release(&mut self) {
        for text in self.held.drain(..) {
            self.out.push_back(Ok(LlmEvent::TextDelta(text)));
        }
    }

    fn switch(&mut self, why: &str) {
        self.held.clear();
        let Some(fallback) = self.fallback.take() else {
            return;
        };
        // One notice per backend: only the stream that made the switch says so.
        if self.markers.set() {
            tracing::warn!(backend = %self.backend, why, "forced tool calls fall back to text markers");
            self.out.push_back(Ok(LlmEvent::Notice(format!(
                "backend '{}' {why}: structured answers on it use text markers (VOTE: …, NEXT: …) from now on",
                self.backend
            ))));
        }
        self.current = fallback();
    }
}

/// Whether `text` is a single word, surrounding markdown and punctuation aside (`**skeptic**.`).
fn one_word(text: &str) -> bool {
    let t = text.trim_matches(|c: char| c.is_whitespace() || "*`'\".,;:!>_#".contains(c));
    !t.is_empty() && !t.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{FinishReason, ToolCall, ToolSpec};

    fn forced() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            system: Some("You vote.".into()),
            tools: vec![ToolSpec {
                name: "cast_vote".into(),
                description: String::new(),
                parameters: serde_json::json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::Tool("cast_vote".into()),
            marker_system: Some("You vote.\n\nAnswer with one line `VOTE: …`.".into()),
            ..Default::default()
        }
    }

    fn of(items: Vec<Item>) -> LlmStream {
        Box::pin(futures_util::stream::iter(items))
    }

    fn text(t: &str) -> Item {
        Ok(LlmEvent::TextDelta(t.into()))
    }

    fn fin() -> Item {
        Ok(LlmEvent::Finished(FinishReason::Stop))
    }

    async fn run(first: Vec<Item>, markers: &Markers) -> Vec<Item> {
        let second = of(vec![text("VOTE: agree: fine"), fin()]);
        let s = with_fallback(
            of(first),
            Box::new(move || second),
            markers.clone(),
            Arc::default(),
            "b".into(),
        );
        s.collect().await
    }

    #[test]
    fn the_marker_form_drops_the_tools_and_takes_the_marker_prompt() {
        let m = marker_form(&forced()).unwrap();
        assert!(m.tools.is_empty());
        assert_eq!(m.tool_choice, ToolChoice::Auto);
        assert!(m.system.unwrap().contains("VOTE:"));
        let free = ChatRequest {
            tool_choice: ToolChoice::Auto,
            ..forced()
        };
        assert_eq!(marker_form(&free), None);
    }

    #[test]
    fn refusals_are_told_from_other_errors() {
        let e = |status: u16, msg: &str| {
            LlmError::new(ErrorKind::BadRequest, "b", msg.to_string()).with_status(status)
        };
        assert!(refuses_forced_tools(&e(
            400,
            "Failed to initialize samplers"
        )));
        assert!(refuses_forced_tools(&e(400, "tool_choice not supported")));
        assert!(!refuses_forced_tools(&e(400, "temperature out of range")));
        assert!(!refuses_forced_tools(&e(401, "tool key wrong")));
        assert!(!refuses_forced_tools(&e(500, "grammar crashed")));
    }

    #[tokio::test]
    async fn an_ignored_forced_call_is_asked_again_in_markers_once() {
        let markers = Markers::default();
        let got = run(vec![text("I think "), text("yes."), fin()], &markers).await;
        assert!(markers.on());
        assert!(matches!(&got[0], Ok(LlmEvent::Notice(n)) if n.contains("answered in text")));
        assert_eq!(got[1], text("VOTE: agree: fine"));
        assert_eq!(got[2], fin());
        assert_eq!(got.len(), 3, "the ignored text is dropped");
    }

    #[tokio::test]
    async fn a_one_word_answer_passes_for_the_core_to_read() {
        let markers = Markers::default();
        let got = run(vec![text("**sk"), text("eptic**."), fin()], &markers).await;
        assert_eq!(got, vec![text("**sk"), text("eptic**."), fin()]);
        assert!(!markers.on());
    }

    #[tokio::test]
    async fn a_refusal_switches_and_other_failures_pass() {
        let markers = Markers::default();
        let refusal = LlmError::new(ErrorKind::BadRequest, "b", "Failed to initialize samplers")
            .with_status(400);
        let got = run(vec![Err(refusal)], &markers).await;
        assert!(markers.on());
        assert!(matches!(&got[0], Ok(LlmEvent::Notice(n)) if n.contains("samplers")));
        let markers = Markers::default();
        let busy = LlmError::new(ErrorKind::Overloaded, "b", "busy").with_status(503);
        let got = run(vec![text("x"), Err(busy.clone())], &markers).await;
        assert_eq!(got, vec![text("x"), Err(busy)]);
        assert!(!markers.on());
    }

    #[tokio::test]
    async fn a_tool_call_or_an_empty_reply_passes_unchanged() {
        let markers = Markers::default();
        let call = Ok(LlmEvent::ToolCall(ToolCall {
            id: "1".into(),
            name: "cast_vote".into(),
            arguments: "{}".into(),
        }));
        let first = vec![text("ok "), call.clone(), fin()];
        assert_eq!(run(first.clone(), &markers).await, first);
        assert_eq!(run(vec![fin()], &markers).await, vec![fin()]);
        assert!(!markers.on());
    }
}
