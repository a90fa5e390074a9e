//! The replay backend (`kind = "replay"`, `journal = ID`): a [`Provider`] that answers from a
//! recorded session, so a whole team re-runs offline and deterministically, for tests and for
//! bug reports.
//!
//! Mental model: the journal is read once, when the backend is built, as plain JSON lines (the
//! public event format of DESIGN section 3; this layer never needs `core` or `store`). Every model
//! call it recorded becomes a [`Recorded`] reply, queued per agent in the order the calls started
//! (`turn_started`): the errors the server answered before it succeeded (`turn_failed` with
//! `will_retry`), then the `message` (text, tool calls, usage, finish) or the final `turn_failed`.
//! A call cancelled by a person (`turn_cancelled`) is not queued. A request is matched by agent
//! and turn: its `model` names the agent (the recorded agent of that name, else the one recorded
//! agent whose model it is), and the agent's Nth call gets the agent's Nth recorded reply,
//! streamed at once with its recorded usage. A request the journal has no reply for is a
//! `config` error naming the backend, the journal and the agent. Every string read is sanitized
//! like any provider's output. A provider remembers what it has answered, so it is never shared
//! between sessions (see `host::providers`).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::schema::BackendConfig;
use crate::llm::{
    ChatRequest, ErrorKind, FinishReason, LlmError, LlmEvent, LlmStream, Provider, ToolCall, Usage,
};

/// One recorded model call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    /// Errors that were retried before the call's end.
    pub retries: Vec<LlmError>,
    /// The reply, or the error the call ended with (`None` while the call never ended).
    pub end: Option<Result<Reply, LlmError>>,
}

/// What a recorded call answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub finish: FinishReason,
}

/// The offline provider answering from one journal.
#[derive(Debug)]
pub struct ReplayProvider {
    backend: String,
    journal: String,
    tools: bool,
    /// Each recorded agent's model, for requests that name a model rather than an agent.
    models: BTreeMap<String, String>,
    queues: Mutex<BTreeMap<String, VecDeque<Recorded>>>,
}

impl ReplayProvider {
    /// A provider from journal text (`origin` names it in errors).
    pub fn from_jsonl(backend: &str, origin: &str, text: &str) -> Result<Self, LlmError> {
        let mut models = BTreeMap::new();
        let mut calls: Vec<(String, Recorded)> = Vec::new();
        // The open call of each turn number: its index in `calls`.
        let mut open: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Ok(mut v) = serde_json::from_str::<Value>(line) else {
                // A torn last line is what a crash leaves; anything else is not a journal.
                if i + 1 == text.lines().count() {
                    continue;
                }
                return Err(bad(backend, origin, i + 1, "is not a JSON object"));
            };
            crate::text::sanitize_json(&mut v);
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let turn = v.get("turn").and_then(Value::as_u64);
            match v.get("type").and_then(Value::as_str) {
                Some("session_started") => {
                    for a in v
                        .get("agents")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let name = a.get("name").and_then(Value::as_str).unwrap_or("");
                        let model = a.get("model").and_then(Value::as_str).unwrap_or("");
                        models.insert(name.to_string(), model.to_string());
                    }
                }
                Some("turn_started") => {
                    if let Some(t) = turn {
                        open.insert(t, calls.len());
                        calls.push((s("agent"), Recorded::default()));
                    }
                }
                Some("turn_failed") => {
                    let Some(&at) = turn.and_then(|t| open.get(&t)) else {
                        continue;
                    };
                    let error = v.get("error");
                    let kind = error
                        .and_then(|e| e.get("kind"))
                        .cloned()
                        .and_then(|k| serde_json::from_value::<ErrorKind>(k).ok())
                        .unwrap_or(ErrorKind::Protocol);
                    let message = error
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let err = LlmError::new(kind, backend, message);
                    let call = &mut calls[at].1;
                    if v.get("will_retry").and_then(Value::as_bool) == Some(true) {
                        call.retries.push(err);
                    } else {
                        call.end = Some(Err(err));
                    }
                }
                Some("message") => {
                    let Some(&at) = turn.and_then(|t| open.get(&t)) else {
                        continue;
                    };
                    calls[at].1.end = Some(Ok(reply_of(&v)));
                }
                Some("turn_cancelled") => {
                    if let Some(at) = turn.and_then(|t| open.remove(&t)) {
                        calls[at].1.end = None;
                    }
                }
                _ => {}
            }
        }
        let mut queues: BTreeMap<String, VecDeque<Recorded>> = BTreeMap::new();
        let mut tools = false;
        for (agent, call) in calls {
            if call.end.is_none() {
                continue;
            }
            if let Some(Ok(reply)) = &call.end {
                tools |= !reply.tool_calls.is_empty();
            }
            queues.entry(agent).or_default().push_back(call);
        }
        Ok(ReplayProvider {
            backend: backend.to_string(),
            journal: origin.to_string(),
            tools,
            models,
            queues: Mutex::new(queues),
        })
    }

    /// Announce tool support or not (default: whether the recording made any tool call).
    pub fn with_tools(mut self, tools: bool) -> Self {
        self.tools = tools;
        self
    }

    /// The agent a request is for: the recorded agent named by its model, else the one
    /// recorded agent with that model.
    fn agent_of(&self, model: &str) -> Result<String, LlmError> {
        if self.models.contains_key(model) {
            return Ok(model.to_string());
        }
        let by_model: Vec<&String> = self
            .models
            .iter()
            .filter(|(_, m)| *m == model)
            .map(|(a, _)| a)
            .collect();
        match by_model.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(LlmError::new(
                ErrorKind::UnknownModel,
                &self.backend,
                format!(
                    "{} recorded no agent named `{model}`{}",
                    self.journal,
                    if by_model.is_empty() {
                        String::new()
                    } else {
                        " and several with that model".into()
                    }
                ),
            )
            .with_model(model)
            .with_hint(format!(
                "set the agent's model to the recorded agent it replays: one of {}",
                self.models.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The next recorded call of the request's agent, consumed.
    pub fn next_call(&self, request: &ChatRequest) -> Result<Recorded, LlmError> {
        let agent = self.agent_of(&request.model)?;
        let mut queues = self
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queues
            .get_mut(&agent)
            .and_then(VecDeque::pop_front)
            .ok_or_else(|| {
                LlmError::new(
                    ErrorKind::Config,
                    &self.backend,
                    format!(
                        "{} has no more recorded replies for agent `{agent}`",
                        self.journal
                    ),
                )
                .with_model(&request.model)
                .with_hint("the re-run asked this agent more often than the recording did: run `conclave sessions diff` on the two sessions to see where they part")
            })
    }
}

fn reply_of(v: &Value) -> Reply {
    let usage = v.get("usage");
    let count = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64);
    Reply {
        text: v
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        tool_calls: v
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                ToolCall {
                    id: s("id"),
                    name: s("name"),
                    arguments: s("arguments"),
                }
            })
            .collect(),
        usage: Usage {
            input: count("input"),
            output: count("output"),
        },
        finish: FinishReason::from(v.get("finish").and_then(Value::as_str).unwrap_or("stop")),
    }
}

fn bad(backend: &str, origin: &str, line: usize, what: &str) -> LlmError {
    LlmError::new(
        ErrorKind::Config,
        backend,
        format!("{origin}: line {line} {what}"),
    )
    .with_hint("`journal` must name a session recorded by conclave (`conclave sessions list`)")
}

impl Provider for ReplayProvider {
    fn backend(&self) -> &str {
        &self.backend
    }

    fn supports_tools(&self) -> bool {
        self.tools
    }

    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> LlmStream {
        let mut items: VecDeque<Result<LlmEvent, LlmError>> = VecDeque::new();
        match self.next_call(&request) {
            Err(e) => items.push_back(Err(e)),
            Ok(call) => {
                for (i, error) in call.retries.into_iter().enumerate() {
                    items.push_back(Ok(LlmEvent::Retrying {
                        attempt: i as u32 + 1,
                        delay_ms: 0,
                        error: error.with_model(&request.model),
                    }));
                }
                match call.end {
                    Some(Ok(reply)) => {
                        if !reply.text.is_empty() {
                            items.push_back(Ok(LlmEvent::TextDelta(reply.text)));
                        }
                        for c in reply.tool_calls {
                            items.push_back(Ok(LlmEvent::ToolCall(c)));
                        }
                        items.push_back(Ok(LlmEvent::Usage(reply.usage)));
                        items.push_back(Ok(LlmEvent::Finished(reply.finish)));
                    }
                    Some(Err(e)) => items.push_back(Err(e.with_model(&request.model))),
                    None => {}
                }
            }
        }
        Box::pin(futures_util::stream::iter(items).take_while(move |_| {
            let live = !cancel.is_cancelled();
            async move { live }
        }))
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let agents: Vec<String> = self.models.keys().cloned().collect();
        Box::pin(async move { Ok(agents) })
    }
}

/// Build a replay backend from its `[backends.NAME]` table: `journal` is a session id (or a
/// unique prefix of one) in `sessions_dir`, or the path of a journal file.
pub fn build(
    name: &str,
    cfg: &BackendConfig,
    sessions_dir: &Path,
) -> Result<Arc<dyn Provider>, LlmError> {
    let Some(journal) = cfg.journal.as_deref().filter(|j| !j.trim().is_empty()) else {
        return Err(LlmError::new(
            ErrorKind::Config,
            name,
            "a replay backend needs `journal`, the session it answers from",
        )
        .with_hint("set journal = \"ID\" (`conclave sessions list` shows the ids)"));
    };
    let path = find(name, journal, sessions_dir)?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        LlmError::new(
            ErrorKind::Config,
            name,
            format!("cannot read the journal {}: {e}", path.display()),
        )
    })?;
    let origin = format!("journal {journal}");
    let mut provider = ReplayProvider::from_jsonl(name, &origin, &text)?;
    if let Some(tools) = cfg.tools {
        provider = provider.with_tools(tools);
    }
    Ok(Arc::new(provider))
}

/// The journal file `journal` names: a path to a `.jsonl` file, or an id or unique id prefix
/// in `dir`.
fn find(name: &str, journal: &str, dir: &Path) -> Result<PathBuf, LlmError> {
    let as_path = PathBuf::from(journal);
    if journal.ends_with(".jsonl") && as_path.is_file() {
        return Ok(as_path);
    }
    let plain = journal
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let mut found: Vec<PathBuf> = Vec::new();
    if plain && !journal.starts_with('.') {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if p.extension().is_some_and(|e| e == "jsonl") && stem.starts_with(journal) {
                if stem == journal {
                    return Ok(p);
                }
                found.push(p);
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(LlmError::new(
            ErrorKind::Config,
            name,
            if n == 0 {
                format!("no recorded session `{journal}` in {}", dir.display())
            } else {
                format!("`{journal}` matches {n} recorded sessions")
            },
        )
        .with_hint(
            "give a full id from `conclave sessions list`, or the path of a .jsonl journal",
        )),
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
