//! The scripted backend: an offline, deterministic [`Provider`] that replays replies written in a
//! TOML script (the console's demo default, and the test double of every layer above `llm`).
//!
//! Mental model: the script is a list of `[[reply]]` tables. A request is classified by its
//! *character* (the request's `model`, which for the demo is the agent's name) and its *occasion*
//! `on`: the forced tool's name when `tool_choice = Tool(name)` (`cast_vote`, `select_speaker`,
//! `submit_scores`, `complete_handoff`, `submit_plan`, …), `summarize` when the system prompt or the last message
//! starts with [`SUMMARIZE_MARKER`], else `speak`. Among the replies that match (same `on`,
//! `character` equal or `"*"`, optional `contains` found in the last user message, optional
//! `turn` equal to 1 + the number of the character's own earlier replies (`assistant` messages)
//! in the request's conversation), the most specific tier wins
//! (`turn` > `contains` > exact character > `"*"`); within a tier the first reply not used yet is
//! taken, and once all are used the last one repeats. With no match at all a generic default
//! answers (a short line naming the character, an `agree` vote, the first candidate, a 7 for
//! everyone, one independent task per member for a plan). The reply streams word by word at `tokens_per_sec` (0 = instant; each word through
//! [`crate::text::Sanitizer`] like every provider's text), then its tool
//! calls, then `Usage` (input ≈ request characters / 4, output = words) and `Finished`.
//! Consumption state lives in the provider, shared by every session that uses it; `turn` is read
//! from the request alone, so it restarts with every conversation.
//!
//! The script format (the `[[reply]]` tables, their checks and matching) lives in `script`;
//! how a planned reply becomes a paced stream, in `replay`; the tool names and the summarize
//! marker come from [`crate::llm::vocab`], the same spelling the orchestrator uses.

mod replay;
mod script;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::schema::BackendConfig;
use crate::llm::vocab::{
    CAST_VOTE, COMPLETE_HANDOFF, SELECT_SPEAKER, SUBMIT_PLAN, SUBMIT_SCORES, SUMMARIZE_MARKER,
};
use crate::llm::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmError, LlmStream, Provider, ToolCall,
    ToolChoice,
};
use replay::{Step, steps_for};
use script::{Reply, parse_script, read_script};

pub use script::{OCCASIONS, SPEAK, SUMMARIZE};

/// Streaming speed when the backend config does not say.
pub const DEFAULT_TOKENS_PER_SEC: f64 = 40.0;

const DEMO_SCRIPT: &str = include_str!("../../../assets/demo-script.toml");

/// The offline provider. Cheap to share behind an `Arc`; safe to call from many tasks.
#[derive(Debug)]
pub struct ScriptedProvider {
    backend: String,
    tokens_per_sec: f64,
    tools: bool,
    replies: Vec<Reply>,
    state: Mutex<Consumption>,
}

impl ScriptedProvider {
    /// Parse a script. Errors name the script line and field.
    pub fn from_toml(
        backend_name: &str,
        script_toml: &str,
        tokens_per_sec: f64,
    ) -> Result<ScriptedProvider, LlmError> {
        let replies = parse_script(backend_name, script_toml, "script")?;
        Ok(Self::with_replies(backend_name, replies, tokens_per_sec))
    }

    /// The built-in demo script (`assets/demo-script.toml`).
    pub fn demo(backend_name: &str, tokens_per_sec: f64) -> ScriptedProvider {
        // The embedded script is checked by a unit test; an empty script still answers everything
        // with the generic defaults.
        let replies = parse_script(backend_name, DEMO_SCRIPT, "demo script").unwrap_or_default();
        Self::with_replies(backend_name, replies, tokens_per_sec)
    }

    fn with_replies(backend_name: &str, replies: Vec<Reply>, tokens_per_sec: f64) -> Self {
        ScriptedProvider {
            backend: backend_name.to_string(),
            tokens_per_sec: if tokens_per_sec.is_finite() && tokens_per_sec > 0.0 {
                tokens_per_sec
            } else {
                0.0
            },
            tools: true,
            state: Mutex::new(Consumption {
                used: vec![false; replies.len()],
                seen: HashMap::new(),
            }),
            replies,
        }
    }

    /// Whether to announce tool support (default true). With `false` the orchestrator asks for the
    /// text markers (`VOTE: agree: …`, `HANDOFF: billing: …`), which the script then writes as text.
    pub fn with_tools(mut self, tools: bool) -> Self {
        self.tools = tools;
        self
    }

    /// Decide the reply to `request`, consuming it. Public so tests and tools can inspect the
    /// script's choices without streaming.
    pub fn plan(&self, request: &ChatRequest) -> Planned {
        let on = occasion(request);
        let character = request.model.clone();
        let last_user = last_user_text(request).to_lowercase();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = state
            .seen
            .entry((character.clone(), on.clone()))
            .or_insert(0);
        *count += 1;
        let k = *count;
        let nth = 1 + request
            .messages
            .iter()
            .filter(|m| matches!(m, ChatMessage::Assistant { .. }))
            .count() as u32;

        let mut best: Option<(u8, Vec<usize>)> = None;
        for (i, r) in self.replies.iter().enumerate() {
            let Some(score) = r.specificity(&character, &on, &last_user, nth) else {
                continue;
            };
            match &mut best {
                Some((s, list)) if *s == score => list.push(i),
                Some((s, _)) if *s > score => {}
                _ => best = Some((score, vec![i])),
            }
        }
        let chosen = best.and_then(|(_, tier)| {
            tier.iter()
                .copied()
                .find(|&i| !state.used.get(i).copied().unwrap_or(true))
                .or_else(|| tier.last().copied())
        });
        let (text, tools, error, finish, delay_ms) = match chosen {
            Some(i) => {
                if let Some(u) = state.used.get_mut(i) {
                    *u = true;
                }
                let r = &self.replies[i];
                (
                    r.text.clone(),
                    r.tools.clone(),
                    r.error.clone(),
                    r.finish.clone(),
                    r.delay_ms,
                )
            }
            None => {
                let (text, tools) = default_reply(&character, &on, request);
                (text, tools, None, None, 0)
            }
        };
        let tool_calls = tools
            .into_iter()
            .enumerate()
            .map(|(i, (name, arguments))| ToolCall {
                id: format!("call_{character}_{on}_{k}_{i}"),
                name,
                arguments,
            })
            .collect();
        Planned {
            text,
            tool_calls,
            error: error.map(|(kind, message)| {
                LlmError::new(kind, self.backend.clone(), message).with_model(character.clone())
            }),
            finish,
            delay_ms,
        }
    }
}

/// What the script answers to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// Yielded after the text instead of tool calls, usage and finish.
    pub error: Option<LlmError>,
    pub finish: Option<FinishReason>,
    pub delay_ms: u64,
}

impl Provider for ScriptedProvider {
    fn backend(&self) -> &str {
        &self.backend
    }

    fn supports_tools(&self) -> bool {
        self.tools
    }

    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream {
        let planned = self.plan(&request);
        let steps = steps_for(&request, planned, self.tokens_per_sec);
        Box::pin(futures_util::stream::unfold(
            (steps, cancel),
            |(mut steps, cancel)| async move {
                loop {
                    if cancel.is_cancelled() {
                        return None;
                    }
                    match steps.pop_front()? {
                        Step::Sleep(d) => {
                            tokio::select! {
                                _ = cancel.cancelled() => return None,
                                _ = tokio::time::sleep(d) => {}
                            }
                        }
                        Step::Yield(item) => return Some((item, (steps, cancel))),
                    }
                }
            },
        ))
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let models: BTreeSet<String> = self
            .replies
            .iter()
            .filter(|r| r.character != "*")
            .map(|r| r.character.clone())
            .collect();
        Box::pin(async move { Ok(models.into_iter().collect()) })
    }
}

/// Build a scripted provider from its `[backends.NAME]` table: the `script` file, or the demo.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Provider>, LlmError> {
    let tps = cfg.tokens_per_sec.unwrap_or(DEFAULT_TOKENS_PER_SEC);
    if !tps.is_finite() || tps < 0.0 {
        return Err(LlmError::new(
            ErrorKind::Config,
            name,
            format!("tokens_per_sec must be a number >= 0, got {tps}"),
        )
        .with_hint("use 0 for instant replies, 40 for a readable pace"));
    }
    let provider = match &cfg.script {
        None => ScriptedProvider::demo(name, tps),
        Some(path) => {
            let text = read_script(name, path)?;
            let origin = format!("script {}", path.display());
            let replies = parse_script(name, &text, &origin)?;
            ScriptedProvider::with_replies(name, replies, tps)
        }
    };
    Ok(Arc::new(provider.with_tools(cfg.tools.unwrap_or(true))))
}

#[derive(Debug)]
struct Consumption {
    used: Vec<bool>,
    seen: HashMap<(String, String), u32>,
}

fn occasion(request: &ChatRequest) -> String {
    if let ToolChoice::Tool(name) = &request.tool_choice {
        return name.clone();
    }
    let starts = |s: &str| {
        s.trim_start()
            .get(..SUMMARIZE_MARKER.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(SUMMARIZE_MARKER))
    };
    let last = request.messages.last().map(message_text).unwrap_or("");
    if request.system.as_deref().is_some_and(starts) || starts(last) {
        return SUMMARIZE.to_string();
    }
    SPEAK.to_string()
}

fn message_text(m: &ChatMessage) -> &str {
    match m {
        ChatMessage::User { text } | ChatMessage::Assistant { text, .. } => text,
        ChatMessage::ToolResult { content, .. } => content,
    }
}

fn last_user_text(request: &ChatRequest) -> &str {
    request
        .messages
        .iter()
        .rev()
        .find_map(|m| match m {
            ChatMessage::User { text } => Some(text.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

/// The generic answer when the script has nothing for this request.
fn default_reply(
    character: &str,
    on: &str,
    request: &ChatRequest,
) -> (String, Vec<(String, String)>) {
    let call = |v: serde_json::Value| vec![(on.to_string(), v.to_string())];
    match on {
        SPEAK => (
            format!("{character} here: nothing scripted for this, but I'm listening."),
            Vec::new(),
        ),
        SUMMARIZE => {
            let n = request.messages.len();
            (
                format!("Summary: {n} message(s) so far; the discussion continues."),
                Vec::new(),
            )
        }
        CAST_VOTE => (
            String::new(),
            call(
                serde_json::json!({"choice": "agree", "reason": format!("{character} sees no reason to object")}),
            ),
        ),
        SELECT_SPEAKER => {
            let first = agent_enum(request, on)
                .into_iter()
                .next()
                .unwrap_or_default();
            (
                String::new(),
                call(serde_json::json!({"agent": first, "reason": "next in line"})),
            )
        }
        SUBMIT_SCORES => {
            let scores: Vec<serde_json::Value> = agent_enum(request, on)
                .into_iter()
                .map(|a| serde_json::json!({"agent": a, "score": 7, "reason": "solid and clear"}))
                .collect();
            (String::new(), call(serde_json::json!({ "scores": scores })))
        }
        COMPLETE_HANDOFF => (
            String::new(),
            call(serde_json::json!({"summary": format!("{character} handled the request")})),
        ),
        // One independent task per member the plan may use.
        SUBMIT_PLAN => {
            let tasks: Vec<serde_json::Value> = agent_enum(request, on)
                .into_iter()
                .enumerate()
                .map(|(i, a)| {
                    serde_json::json!({"id": format!("t{}", i + 1), "agent": a,
                        "instructions": format!("{a}: handle your part of the request"), "depends_on": []})
                })
                .collect();
            (String::new(), call(serde_json::json!({ "tasks": tasks })))
        }
        _ => (String::new(), call(serde_json::json!({}))),
    }
}

/// The values of the first `agent` property's `enum` in the named tool's JSON Schema.
fn agent_enum(request: &ChatRequest, tool: &str) -> Vec<String> {
    fn find(v: &serde_json::Value) -> Option<Vec<String>> {
        let obj = v.as_object()?;
        if let Some(list) = obj
            .get("properties")
            .and_then(|p| p.get("agent"))
            .and_then(|a| a.get("enum"))
            .and_then(|e| e.as_array())
        {
            return Some(
                list.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
            );
        }
        obj.values().find_map(find)
    }
    request
        .tools
        .iter()
        .find(|t| t.name == tool)
        .and_then(|t| find(&t.parameters))
        .unwrap_or_default()
}
