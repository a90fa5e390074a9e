//! The scripted backend: an offline, deterministic [`Provider`] that replays replies written in a
//! TOML script (the console's demo default, and the test double of every layer above `llm`).
//!
//! Mental model: the script is a list of `[[reply]]` tables. A request is classified by its
//! *character* (the request's `model`, which for the demo is the agent's name) and its *occasion*
//! `on`: the forced tool's name when `tool_choice = Tool(name)` (`cast_vote`, `select_speaker`,
//! `submit_scores`, `complete_handoff`, …), `summarize` when the system prompt or the last message
//! starts with [`SUMMARIZE_MARKER`], else `speak`. Among the replies that match (same `on`,
//! `character` equal or `"*"`, optional `contains` found in the last user message, optional
//! `turn` equal to 1 + the number of the character's own earlier replies (`assistant` messages)
//! in the request's conversation), the most specific tier wins
//! (`turn` > `contains` > exact character > `"*"`); within a tier the first reply not used yet is
//! taken, and once all are used the last one repeats. With no match at all a generic default
//! answers (a short line naming the character, an `agree` vote, the first candidate, a 7 for
//! everyone). The reply streams word by word at `tokens_per_sec` (0 = instant; each word through
//! [`super::sanitize_text`] like every provider's text), then its tool
//! calls, then `Usage` (input ≈ request characters / 4, output = words) and `Finished`.
//! Consumption state lives in the provider, shared by every session that uses it; `turn` is read
//! from the request alone, so it restarts with every conversation.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::{
    ChatMessage, ChatRequest, ErrorKind, FinishReason, LlmError, LlmEvent, LlmStream, Provider,
    ToolCall, ToolChoice, Usage,
};
use crate::config::schema::BackendConfig;

/// A summarize request is one whose system prompt or last message starts with this word
/// (case-insensitive, after leading whitespace); the session builds its summary requests so.
pub const SUMMARIZE_MARKER: &str = "Summarize";

/// The occasions a reply can be written for.
pub const OCCASIONS: [&str; 6] = [
    "speak",
    "cast_vote",
    "select_speaker",
    "submit_scores",
    "complete_handoff",
    "summarize",
];

/// Streaming speed when the backend config does not say.
pub const DEFAULT_TOKENS_PER_SEC: f64 = 40.0;

const DEMO_SCRIPT: &str = include_str!("../../assets/demo-script.toml");

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

// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Consumption {
    used: Vec<bool>,
    seen: HashMap<(String, String), u32>,
}

#[derive(Clone, Debug)]
struct Reply {
    character: String,
    on: String,
    /// Lowercased.
    contains: Option<String>,
    turn: Option<u32>,
    text: String,
    /// (name, arguments as JSON text)
    tools: Vec<(String, String)>,
    error: Option<(ErrorKind, String)>,
    finish: Option<FinishReason>,
    delay_ms: u64,
}

impl Reply {
    /// `None` when the reply does not match; else how specific the match is (higher wins).
    fn specificity(&self, character: &str, on: &str, last_user: &str, nth: u32) -> Option<u8> {
        if self.on != on {
            return None;
        }
        let exact = self.character == character;
        if !exact && self.character != "*" {
            return None;
        }
        if let Some(needle) = &self.contains
            && !last_user.contains(needle.as_str())
        {
            return None;
        }
        if let Some(t) = self.turn
            && t != nth
        {
            return None;
        }
        Some(
            u8::from(self.turn.is_some()) * 4
                + u8::from(self.contains.is_some()) * 2
                + u8::from(exact),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    #[serde(default)]
    reply: Vec<toml::Spanned<RawReply>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReply {
    character: String,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    turn: Option<u32>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    tools: Vec<RawTool>,
    #[serde(default)]
    error: Option<RawError>,
    #[serde(default)]
    finish: Option<String>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    name: String,
    #[serde(default)]
    arguments: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    kind: ErrorKind,
    #[serde(default)]
    message: Option<String>,
}

fn read_script(backend: &str, path: &Path) -> Result<String, LlmError> {
    std::fs::read_to_string(path).map_err(|e| {
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!("cannot read script {}: {e}", path.display()),
        )
        .with_hint("check `script` in the backend's config table (paths are relative to the working directory)")
    })
}

fn parse_script(backend: &str, text: &str, origin: &str) -> Result<Vec<Reply>, LlmError> {
    let file: ScriptFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| crate::config::load::line_col(text, s.start))
            .unwrap_or((1, 1));
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!(
                "{origin} line {line}, column {col}: {}",
                e.message().trim_end()
            ),
        )
    })?;
    file.reply
        .into_iter()
        .enumerate()
        .map(|(index, spanned)| {
            let (line, _) = crate::config::load::line_col(text, spanned.span().start);
            let fail = |field: &str, msg: String, hint: &str| {
                LlmError::new(
                    ErrorKind::Config,
                    backend,
                    format!(
                        "{origin} line {line} (reply #{}): `{field}`: {msg}",
                        index + 1
                    ),
                )
                .with_hint(hint.to_string())
            };
            into_reply(spanned.into_inner(), &fail)
        })
        .collect()
}

fn into_reply(
    raw: RawReply,
    fail: &dyn Fn(&str, String, &str) -> LlmError,
) -> Result<Reply, LlmError> {
    if raw.character.trim().is_empty() {
        return Err(fail(
            "character",
            "must not be empty".into(),
            "use the agent's model name, or \"*\" for any",
        ));
    }
    let on = raw.on.unwrap_or_else(|| "speak".to_string());
    if !OCCASIONS.contains(&on.as_str()) {
        return Err(fail(
            "on",
            format!("unknown occasion {on:?}"),
            &format!("use one of {}", OCCASIONS.join(", ")),
        ));
    }
    if raw.turn == Some(0) {
        return Err(fail(
            "turn",
            "must be 1 or more".into(),
            "turn = 1 is the first such request",
        ));
    }
    let finish = match raw.finish.as_deref() {
        None => None,
        Some("stop") => Some(FinishReason::Stop),
        Some("length") => Some(FinishReason::Length),
        Some("content_filter") => Some(FinishReason::ContentFilter),
        Some(other) => {
            return Err(fail(
                "finish",
                format!("unknown finish reason {other:?}"),
                "use stop, length or content_filter",
            ));
        }
    };
    let mut tools = Vec::with_capacity(raw.tools.len());
    for t in raw.tools {
        if t.name.trim().is_empty() {
            return Err(fail(
                "tools.name",
                "must not be empty".into(),
                "name the tool, e.g. cast_vote",
            ));
        }
        let args = serde_json::to_string(&t.arguments).map_err(|e| {
            fail(
                "tools.arguments",
                e.to_string(),
                "use plain strings, numbers, booleans, arrays and tables",
            )
        })?;
        tools.push((t.name, args));
    }
    Ok(Reply {
        character: raw.character,
        on,
        contains: raw.contains.map(|c| c.to_lowercase()),
        turn: raw.turn,
        text: raw.text,
        tools,
        error: raw.error.map(|e| {
            let msg = e
                .message
                .unwrap_or_else(|| format!("scripted {} error", e.kind));
            (e.kind, msg)
        }),
        finish,
        delay_ms: raw.delay_ms.unwrap_or(0),
    })
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
        return "summarize".to_string();
    }
    "speak".to_string()
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
        "speak" => (
            format!("{character} here: nothing scripted for this, but I'm listening."),
            Vec::new(),
        ),
        "summarize" => {
            let n = request.messages.len();
            (
                format!("Summary: {n} message(s) so far; the discussion continues."),
                Vec::new(),
            )
        }
        "cast_vote" => (
            String::new(),
            call(
                serde_json::json!({"choice": "agree", "reason": format!("{character} sees no reason to object")}),
            ),
        ),
        "select_speaker" => {
            let first = agent_enum(request, on)
                .into_iter()
                .next()
                .unwrap_or_default();
            (
                String::new(),
                call(serde_json::json!({"agent": first, "reason": "next in line"})),
            )
        }
        "submit_scores" => {
            let scores: Vec<serde_json::Value> = agent_enum(request, on)
                .into_iter()
                .map(|a| serde_json::json!({"agent": a, "score": 7, "reason": "solid and clear"}))
                .collect();
            (String::new(), call(serde_json::json!({ "scores": scores })))
        }
        "complete_handoff" => (
            String::new(),
            call(serde_json::json!({"summary": format!("{character} handled the request")})),
        ),
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

enum Step {
    Sleep(Duration),
    Yield(Result<LlmEvent, LlmError>),
}

fn steps_for(request: &ChatRequest, planned: Planned, tokens_per_sec: f64) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    if planned.delay_ms > 0 {
        steps.push_back(Step::Sleep(Duration::from_millis(planned.delay_ms)));
    }
    let gap = (tokens_per_sec > 0.0).then(|| Duration::from_secs_f64(1.0 / tokens_per_sec));
    for (i, word) in words(&planned.text).into_iter().enumerate() {
        if let (Some(g), true) = (gap, i > 0) {
            steps.push_back(Step::Sleep(g));
        }
        // The script is model text like any other: no control sequence leaves a provider.
        steps.push_back(Step::Yield(Ok(LlmEvent::TextDelta(super::sanitize_text(
            word,
        )))));
    }
    if let Some(err) = planned.error {
        steps.push_back(Step::Yield(Err(err)));
        return steps;
    }
    let tool_chars: usize = planned.tool_calls.iter().map(|t| t.arguments.len()).sum();
    let called = !planned.tool_calls.is_empty();
    for call in planned.tool_calls {
        steps.push_back(Step::Yield(Ok(LlmEvent::ToolCall(call))));
    }
    let output = planned.text.split_whitespace().count() + tool_chars.div_ceil(4);
    steps.push_back(Step::Yield(Ok(LlmEvent::Usage(Usage {
        input: Some(request_chars(request).div_ceil(4) as u64),
        output: Some(output as u64),
    }))));
    let finish = if called {
        FinishReason::ToolCalls
    } else {
        planned.finish.unwrap_or(FinishReason::Stop)
    };
    steps.push_back(Step::Yield(Ok(LlmEvent::Finished(finish))));
    steps
}

fn request_chars(request: &ChatRequest) -> usize {
    let system = request.system.as_deref().map_or(0, |s| s.chars().count());
    let messages: usize = request
        .messages
        .iter()
        .map(|m| message_text(m).chars().count())
        .sum();
    system + messages
}

/// Split text into word chunks that concatenate back to it: each chunk is a run of
/// non-whitespace plus the whitespace after it (leading whitespace joins the first chunk).
fn words(text: &str) -> Vec<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolSpec;
    use futures_util::StreamExt;

    fn req(model: &str, user: &str) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages: vec![ChatMessage::User { text: user.into() }],
            ..Default::default()
        }
    }

    fn forced(model: &str, tool: &str, tools: Vec<ToolSpec>) -> ChatRequest {
        ChatRequest {
            tool_choice: ToolChoice::Tool(tool.into()),
            tools,
            ..req(model, "go")
        }
    }

    fn provider(script: &str) -> ScriptedProvider {
        ScriptedProvider::from_toml("test", script, 0.0).unwrap()
    }

    #[test]
    fn words_rejoin_to_the_text() {
        for text in [
            "",
            "one",
            "  lead",
            "a b  c\n\nd ",
            "héllo wörld ✓",
            "x\n```rust\nfn f()\n```",
        ] {
            assert_eq!(words(text).concat(), text);
        }
        assert_eq!(words("a b  c"), vec!["a ", "b  ", "c"]);
    }

    #[test]
    fn replies_are_consumed_in_order_then_the_last_repeats() {
        let p = provider(
            r#"
[[reply]]
character = "a"
text = "first"
[[reply]]
character = "b"
text = "other"
[[reply]]
character = "a"
text = "second"
"#,
        );
        let texts: Vec<String> = (0..4).map(|_| p.plan(&req("a", "hi")).text).collect();
        assert_eq!(texts, ["first", "second", "second", "second"]);
        assert_eq!(p.plan(&req("b", "hi")).text, "other");
    }

    #[test]
    fn specific_tiers_beat_general_ones() {
        let p = provider(
            r#"
[[reply]]
character = "*"
text = "anyone"
[[reply]]
character = "t"
text = "plain"
[[reply]]
character = "t"
contains = "CRASH"
text = "tech"
[[reply]]
character = "t"
turn = 2
text = "wrap up"
"#,
        );
        let mut second = req("t", "The app crashes");
        second.messages.push(ChatMessage::Assistant {
            text: "sending you to tech".into(),
            tool_calls: vec![],
        });
        second.messages.push(ChatMessage::User {
            text: "tech fixed the crash".into(),
        });
        assert_eq!(p.plan(&req("t", "The app crashes")).text, "tech");
        assert_eq!(p.plan(&second).text, "wrap up");
        assert_eq!(p.plan(&req("t", "crash again")).text, "tech");
        assert_eq!(p.plan(&req("t", "hello")).text, "plain");
        assert_eq!(p.plan(&req("zed", "hello")).text, "anyone");
    }

    #[test]
    fn occasion_comes_from_the_forced_tool_or_the_summarize_marker() {
        let p = provider(
            r#"
[[reply]]
character = "a"
on = "cast_vote"
tools = [{ name = "cast_vote", arguments = { choice = "disagree", reason = "too risky" } }]
[[reply]]
character = "*"
on = "summarize"
text = "short summary"
[[reply]]
character = "a"
text = "spoken"
"#,
        );
        let vote = p.plan(&forced("a", "cast_vote", vec![]));
        assert_eq!(vote.tool_calls.len(), 1);
        assert_eq!(vote.tool_calls[0].name, "cast_vote");
        let args = vote.tool_calls[0].parse_arguments().unwrap();
        assert_eq!(args["choice"], "disagree");
        let mut s = req("a", "  summarize the debate so far");
        assert_eq!(p.plan(&s).text, "short summary");
        s.messages = vec![ChatMessage::User { text: "x".into() }];
        s.system = Some("Summarize what was said.".into());
        assert_eq!(p.plan(&s).text, "short summary");
        assert_eq!(p.plan(&req("a", "hello")).text, "spoken");
    }

    #[test]
    fn defaults_answer_every_occasion() {
        let p = provider("");
        assert!(p.plan(&req("ada", "hi")).text.contains("ada"));
        let vote = p.plan(&forced("ada", "cast_vote", vec![]));
        assert_eq!(
            vote.tool_calls[0].parse_arguments().unwrap()["choice"],
            "agree"
        );

        let pick_tool = ToolSpec {
            name: "select_speaker".into(),
            description: String::new(),
            parameters: serde_json::json!({"type":"object","properties":{
                "agent":{"type":"string","enum":["skeptic","optimist"]},"reason":{"type":"string"}}}),
        };
        let pick = p.plan(&forced("m", "select_speaker", vec![pick_tool]));
        assert_eq!(
            pick.tool_calls[0].parse_arguments().unwrap()["agent"],
            "skeptic"
        );

        let score_tool = ToolSpec {
            name: "submit_scores".into(),
            description: String::new(),
            parameters: serde_json::json!({"type":"object","properties":{"scores":{"type":"array",
                "items":{"type":"object","properties":{"agent":{"type":"string","enum":["a","b"]},
                "score":{"type":"number"},"reason":{"type":"string"}}}}}}),
        };
        let scores = p.plan(&forced("judge", "submit_scores", vec![score_tool]));
        let v = scores.tool_calls[0].parse_arguments().unwrap();
        let agents: Vec<&str> = v["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["agent"].as_str().unwrap())
            .collect();
        assert_eq!(agents, ["a", "b"]);
        assert_eq!(v["scores"][1]["score"], 7);
    }

    #[test]
    fn script_errors_name_line_and_field() {
        let bad_on = "\n\n[[reply]]\ncharacter = \"a\"\non = \"dance\"\n";
        let e = ScriptedProvider::from_toml("demo", bad_on, 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        let msg = e.to_string();
        assert!(msg.contains("line 3") && msg.contains("`on`"), "{msg}");
        assert!(msg.contains("backend 'demo'"), "{msg}");

        let unknown = "[[reply]]\ncharacter = \"a\"\ncolour = \"red\"\n";
        let msg = ScriptedProvider::from_toml("demo", unknown, 0.0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 3") && msg.contains("colour"), "{msg}");

        let bad_finish = "[[reply]]\ncharacter = \"a\"\nfinish = \"done\"\n";
        let msg = ScriptedProvider::from_toml("demo", bad_finish, 0.0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`finish`"), "{msg}");

        let bad_kind = "[[reply]]\ncharacter = \"a\"\nerror = { kind = \"boom\" }\n";
        assert!(ScriptedProvider::from_toml("demo", bad_kind, 0.0).is_err());
    }

    #[test]
    fn the_demo_script_parses_and_lists_its_characters() {
        let replies = parse_script("demo", DEMO_SCRIPT, "demo script").unwrap();
        assert!(replies.len() > 20);
        let p = ScriptedProvider::demo("demo", 0.0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let models = rt.block_on(p.list_models()).unwrap();
        for name in [
            "optimist",
            "skeptic",
            "pragmatist",
            "triage",
            "billing",
            "tech",
            "pm",
            "architect",
            "developer",
            "qa",
            "judge",
        ] {
            assert!(models.iter().any(|m| m == name), "{name} missing");
        }
    }

    #[test]
    fn demo_support_routes_by_keyword() {
        let p = ScriptedProvider::demo("demo", 0.0);
        let tech = p.plan(&req("triage", "The app crashes when I log in"));
        assert_eq!(tech.tool_calls[0].name, "transfer_to_tech");
        let mut back = req("triage", "The app crashes when I log in");
        back.messages.push(ChatMessage::Assistant {
            text: String::new(),
            tool_calls: tech.tool_calls.clone(),
        });
        back.messages.push(ChatMessage::User {
            text: "tech completed the handoff: known bug, update the app".into(),
        });
        let wrap = p.plan(&back);
        assert!(wrap.tool_calls.is_empty() && !wrap.text.is_empty());
        let p = ScriptedProvider::demo("demo", 0.0);
        let billing = p.plan(&req("triage", "What's the weather?"));
        assert_eq!(billing.tool_calls[0].name, "transfer_to_billing");
    }

    async fn collect(s: LlmStream) -> Vec<Result<LlmEvent, LlmError>> {
        s.collect().await
    }

    #[tokio::test]
    async fn scripted_text_is_sanitized_like_every_provider_s() {
        let p = ScriptedProvider::from_toml(
            "t",
            "[[reply]]\ncharacter = \"a\"\ntext = \"hi \\u001b]0;pwned\\u0007 \\u001b[2Jthere\"\n",
            0.0,
        )
        .unwrap();
        let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
        let text: String = events
            .into_iter()
            .filter_map(|e| match e {
                Ok(LlmEvent::TextDelta(t)) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(text, "hi ]0;pwned [2Jthere");
    }

    #[tokio::test]
    async fn streams_words_tools_usage_then_finish() {
        let p = ScriptedProvider::from_toml(
            "t",
            r#"
[[reply]]
character = "a"
text = "hello there world"
tools = [{ name = "complete_handoff", arguments = { summary = "done" } }]
"#,
            1000.0,
        )
        .unwrap();
        let events = collect(p.stream(req("a", "abcdefgh"), CancellationToken::new())).await;
        let events: Vec<LlmEvent> = events.into_iter().map(Result::unwrap).collect();
        assert_eq!(events[0], LlmEvent::TextDelta("hello ".into()));
        assert_eq!(events[2], LlmEvent::TextDelta("world".into()));
        assert!(matches!(&events[3], LlmEvent::ToolCall(c) if c.name == "complete_handoff"));
        let LlmEvent::Usage(u) = events[4] else {
            panic!("expected usage, got {:?}", events[4])
        };
        assert_eq!(u.input, Some(2));
        assert!(u.output.unwrap() >= 3);
        assert_eq!(events[5], LlmEvent::Finished(FinishReason::ToolCalls));
        assert_eq!(events.len(), 6);
    }

    #[tokio::test]
    async fn scripted_error_comes_after_the_text() {
        let p = provider(
            r#"
[[reply]]
character = "a"
text = "partial answer"
error = { kind = "overloaded", message = "busy right now" }
"#,
        );
        let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
        assert_eq!(events.len(), 3);
        let err = events[2].clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert_eq!(err.model, "a");
        assert!(err.to_string().contains("busy right now"));
    }

    #[tokio::test]
    async fn finish_length_is_reported() {
        let p = provider("[[reply]]\ncharacter = \"a\"\ntext = \"cut\"\nfinish = \"length\"\n");
        let events = collect(p.stream(req("a", "x"), CancellationToken::new())).await;
        assert_eq!(
            events.last().unwrap().clone().unwrap(),
            LlmEvent::Finished(FinishReason::Length)
        );
    }

    #[tokio::test]
    async fn cancellation_ends_the_stream_promptly() {
        let p = ScriptedProvider::from_toml(
            "t",
            "[[reply]]\ncharacter = \"a\"\ntext = \"one two three four five six\"\n",
            0.5,
        )
        .unwrap();
        let cancel = CancellationToken::new();
        let mut s = p.stream(req("a", "x"), cancel.clone());
        let first = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .unwrap();
        assert_eq!(first.unwrap().unwrap(), LlmEvent::TextDelta("one ".into()));
        let waiter = tokio::spawn(async move { s.next().await.is_none() });
        tokio::task::yield_now().await;
        cancel.cancel();
        // At 0.5 words per second the next word would take 2 s; cancelling ends it now. The
        // timeout only guards against hanging forever.
        let ended = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(ended);
    }

    #[tokio::test]
    async fn delay_before_first_token_is_cancellable() {
        let p = provider("[[reply]]\ncharacter = \"a\"\ntext = \"late\"\ndelay_ms = 600000\n");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let events = collect(p.stream(req("a", "x"), cancel)).await;
        assert!(events.is_empty());
    }

    #[test]
    fn build_reads_the_script_file_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[[reply]]\ncharacter = \"zed\"\ntext = \"hi\"\n").unwrap();
        let mut cfg = BackendConfig {
            kind: crate::config::schema::BackendKind::Scripted,
            base_url: None,
            api_key_env: None,
            api_key_cmd: None,
            api_key: None,
            headers: Default::default(),
            connect_timeout_ms: None,
            idle_timeout_ms: None,
            max_retries: None,
            tools: None,
            num_ctx: None,
            script: Some(path.clone()),
            tokens_per_sec: Some(0.0),
        };
        let p = build("local", &cfg).unwrap();
        assert_eq!(p.backend(), "local");
        assert!(p.supports_tools());
        cfg.tools = Some(false);
        assert!(!build("local", &cfg).unwrap().supports_tools());
        cfg.script = Some(dir.path().join("missing.toml"));
        let msg = build("local", &cfg).err().unwrap().to_string();
        assert!(
            msg.contains("missing.toml") && msg.contains("local"),
            "{msg}"
        );
        std::fs::write(&path, "[[reply]]\ncharacter = 3\n").unwrap();
        cfg.script = Some(path);
        let msg = build("local", &cfg).err().unwrap().to_string();
        assert!(msg.contains("s.toml line 2"), "{msg}");
    }
}
