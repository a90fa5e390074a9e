//! Events → spans, as a pure fold: [`TraceFold::on`] takes one event and returns the spans it
//! finished, timed by the events' own `ts`. The live subscriber and `sessions export --format
//! otlp` both run this, so a session looks the same in a tracing tool whichever sent it.
//!
//! Shape (OpenTelemetry GenAI semantic conventions):
//! - one root span per task, `invoke_workflow {team}`, from the `user_message` that opens the
//!   task to its `session_finished` (team, pattern, outcome, token totals);
//! - under it an `invoke_agent {agent}` span per conversational turn (`speak`, `aggregate`), with
//!   a `chat {model}` child for the model call (provider, model, usage, finish reasons, purpose);
//! - hidden model calls (vote, speaker pick, judge, summary) are `chat {model}` spans directly
//!   under the root, their purpose in `conclave.purpose`;
//! - handoffs, speaker picks, votes, tallies, scores, interjections, pauses and errors are span
//!   events on the root, each with its fields as attributes (`notes`).
//!
//! Prompt and reply text enter spans only with `capture_content`. Spans still open when the
//! events end are not emitted by `on`; [`TraceFold::finish`] closes them as interrupted (an
//! export of a journal cut off mid-task), while the live subscriber leaves them to the resumed
//! session, which reopens them under the same ids (see `span`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::notes::note_of;
use super::span::{
    Attributes, Kind, SpanEvent, SpanId, SpanRecord, Status, TraceId, Value, span_id, trace_id,
};
use crate::core::event::{Event, EventKind, Outcome, Purpose, UsageInfo};

/// What the fold needs besides the events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FoldOptions {
    /// Record prompts, replies and final answers (`gen_ai.input.messages`, …).
    pub capture_content: bool,
    /// `gen_ai.provider.name` by backend name (the backend's kind: `openai`, `anthropic`, …);
    /// a backend not listed is named as it is.
    pub providers: BTreeMap<String, String>,
}

/// The fold's state: the task and the turns still open.
#[derive(Debug, Default)]
pub struct TraceFold {
    options: FoldOptions,
    team: String,
    pattern: String,
    /// Agent name → (backend, model), from `session_started`.
    agents: BTreeMap<String, (String, String)>,
    task: Option<OpenTask>,
    turns: BTreeMap<u64, OpenTurn>,
    /// MCP tool calls asked for and not yet answered, by call id.
    tools: BTreeMap<String, OpenTool>,
    last: Option<(String, DateTime<Utc>)>,
}

/// An MCP tool call between its `tool_call` and its result (or rejection).
#[derive(Debug)]
struct OpenTool {
    /// The `seq` of its `tool_call` (its span's id).
    seq: u64,
    agent: String,
    turn: u64,
    server: String,
    tool: String,
    arguments: String,
    start: DateTime<Utc>,
}

/// How a tool call ended, as far as its span cares.
struct ToolEnd<'a> {
    at: DateTime<Utc>,
    result: Option<&'a str>,
    status: Status,
    extra: Attributes,
}

#[derive(Debug)]
struct OpenTask {
    trace: TraceId,
    span: SpanId,
    start: DateTime<Utc>,
    prompt: Option<String>,
    events: Vec<SpanEvent>,
    input_tokens: u64,
    output_tokens: u64,
    turns: u64,
}

#[derive(Debug)]
struct OpenTurn {
    agent: String,
    purpose: Purpose,
    round: Option<u32>,
    start: DateTime<Utc>,
}

/// How a turn ended, as far as its spans care.
struct TurnEnd<'a> {
    at: DateTime<Utc>,
    usage: UsageInfo,
    finish: Option<&'a str>,
    reply: Option<&'a str>,
    status: Status,
    extra: Attributes,
}

impl TraceFold {
    pub fn new(options: FoldOptions) -> Self {
        TraceFold {
            options,
            ..TraceFold::default()
        }
    }

    /// Fold one event; returns the spans it finished.
    pub fn on(&mut self, e: &Event) -> Vec<SpanRecord> {
        self.last = Some((e.session.clone(), e.ts));
        let mut out = Vec::new();
        match &e.kind {
            EventKind::SessionStarted {
                team,
                pattern,
                agents,
            } => {
                self.team = team.clone();
                self.pattern = pattern.as_str().to_string();
                self.agents = agents
                    .iter()
                    .map(|a| (a.name.clone(), (a.backend.clone(), a.model.clone())))
                    .collect();
            }
            EventKind::UserMessage {
                text,
                to,
                interject,
                ..
            } => {
                if self.task.is_none() {
                    self.open_task(e);
                    if let Some(task) = &mut self.task {
                        task.prompt = Some(text.clone());
                    }
                } else {
                    let mut attrs: Attributes = vec![("conclave.interject", (*interject).into())];
                    if let Some(to) = to {
                        attrs.push(("conclave.to", to.as_str().into()));
                    }
                    if self.options.capture_content {
                        attrs.push(("conclave.text", text.as_str().into()));
                    }
                    self.note(e.ts, "user_message", attrs);
                }
            }
            EventKind::TurnStarted {
                agent,
                turn,
                round,
                purpose,
            } => {
                if self.task.is_none() {
                    self.open_task(e);
                }
                self.turns.insert(
                    *turn,
                    OpenTurn {
                        agent: agent.clone(),
                        purpose: *purpose,
                        round: *round,
                        start: e.ts,
                    },
                );
            }
            EventKind::Message {
                turn,
                text,
                usage,
                ttft_ms,
                latency_ms,
                finish,
                tool_calls,
                continues,
                ..
            } => {
                if *continues {
                    // A step of an MCP tool loop: the turn (and its spans) goes on; the step's
                    // tokens still count in the task's totals.
                    if let Some(task) = &mut self.task {
                        task.input_tokens += usage.input.unwrap_or(0);
                        task.output_tokens += usage.output.unwrap_or(0);
                    }
                    return out;
                }
                let mut extra: Attributes = vec![("conclave.latency_ms", (*latency_ms).into())];
                if let Some(ms) = ttft_ms {
                    extra.push(("conclave.ttft_ms", (*ms).into()));
                }
                if !tool_calls.is_empty() {
                    let names = tool_calls.iter().map(|c| c.name.clone()).collect();
                    extra.push(("conclave.tool_calls", Value::StrList(names)));
                }
                let end = TurnEnd {
                    at: e.ts,
                    usage: *usage,
                    finish: Some(finish.as_str()),
                    reply: Some(text),
                    status: Status::Ok,
                    extra,
                };
                out.extend(self.close_turn(&e.session, *turn, end));
            }
            EventKind::TurnFailed {
                turn,
                error,
                will_retry,
                usage,
                ..
            } => {
                let end = TurnEnd {
                    at: e.ts,
                    usage: *usage,
                    finish: None,
                    reply: None,
                    status: Status::Error(error.message.clone()),
                    extra: vec![
                        ("error.type", error.kind.as_str().into()),
                        ("conclave.will_retry", (*will_retry).into()),
                    ],
                };
                out.extend(self.close_turn(&e.session, *turn, end));
            }
            EventKind::TurnCancelled {
                turn,
                partial_text,
                usage,
                ..
            } => {
                let end = TurnEnd {
                    at: e.ts,
                    usage: *usage,
                    finish: None,
                    reply: Some(partial_text),
                    status: Status::Unset,
                    extra: vec![("conclave.cancelled", true.into())],
                };
                out.extend(self.close_turn(&e.session, *turn, end));
            }
            EventKind::ToolCall {
                agent,
                turn,
                call_id,
                server,
                tool,
                arguments,
            } => {
                let open = OpenTool {
                    seq: e.seq,
                    agent: agent.clone(),
                    turn: *turn,
                    server: server.clone(),
                    tool: tool.clone(),
                    arguments: arguments.clone(),
                    start: e.ts,
                };
                self.tools.insert(call_id.clone(), open);
            }
            EventKind::ToolResult {
                call_id,
                content,
                is_error,
                server: Some(_),
                ms,
                ..
            } => {
                let mut extra: Attributes = Vec::new();
                if let Some(ms) = ms {
                    extra.push(("conclave.tool.ms", (*ms).into()));
                }
                let status = if *is_error {
                    extra.push(("error.type", "tool_error".into()));
                    Status::Error(first_line(content))
                } else {
                    Status::Ok
                };
                let end = ToolEnd {
                    at: e.ts,
                    result: Some(content),
                    status,
                    extra,
                };
                out.extend(self.close_tool(&e.session, call_id, end));
            }
            EventKind::ToolRejected {
                call_id,
                by,
                reason,
            } => {
                let end = ToolEnd {
                    at: e.ts,
                    result: None,
                    status: Status::Error(format!("rejected: {reason}")),
                    extra: vec![
                        ("error.type", "rejected".into()),
                        ("conclave.by", by.as_str().into()),
                    ],
                };
                out.extend(self.close_tool(&e.session, call_id, end));
            }
            EventKind::ToolInterrupted { call_id } => {
                let end = ToolEnd {
                    at: e.ts,
                    result: None,
                    status: Status::Unset,
                    extra: vec![("conclave.interrupted", true.into())],
                };
                out.extend(self.close_tool(&e.session, call_id, end));
            }
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => {
                out.extend(self.close_tools(&e.session, e.ts));
                out.extend(self.close_turns(&e.session, e.ts));
                out.extend(self.close_task(
                    &e.session,
                    e.ts,
                    Some(*outcome),
                    final_text.as_deref(),
                ));
            }
            // Handoffs, picks, votes, tallies, scores, pauses, errors: events on the root.
            other => {
                if let Some((name, attrs)) = note_of(other, self.options.capture_content) {
                    self.note(e.ts, name, attrs);
                }
            }
        }
        out
    }

    /// Close whatever is still open at the last event's time, marked `conclave.interrupted`:
    /// for a journal that ends mid-task.
    pub fn finish(&mut self) -> Vec<SpanRecord> {
        let Some((session, at)) = self.last.clone() else {
            return Vec::new();
        };
        let mut out = self.close_tools(&session, at);
        out.extend(self.close_turns(&session, at));
        out.extend(self.close_task(&session, at, None, None));
        out
    }

    /// Tool calls still open at `at` end as interrupted.
    fn close_tools(&mut self, session: &str, at: DateTime<Utc>) -> Vec<SpanRecord> {
        let open: Vec<String> = self.tools.keys().cloned().collect();
        open.iter()
            .flat_map(|call_id| {
                let end = ToolEnd {
                    at,
                    result: None,
                    status: Status::Unset,
                    extra: vec![("conclave.interrupted", true.into())],
                };
                self.close_tool(session, call_id, end)
            })
            .collect()
    }

    /// The `execute_tool {tool}` span of `call_id` ended by `end`, under its turn's
    /// `invoke_agent` span (the root for a hidden call).
    fn close_tool(&mut self, session: &str, call_id: &str, end: ToolEnd<'_>) -> Option<SpanRecord> {
        let open = self.tools.remove(call_id)?;
        let task = self.task.as_ref()?;
        let conversational = self
            .turns
            .get(&open.turn)
            .is_none_or(|t| matches!(t.purpose, Purpose::Speak | Purpose::Aggregate));
        let parent = if conversational {
            span_id(session, "agent", open.turn)
        } else {
            task.span
        };
        let mut attributes: Attributes = vec![
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", open.tool.as_str().into()),
            ("gen_ai.tool.call.id", call_id.into()),
            ("gen_ai.tool.type", "function".into()),
            ("gen_ai.agent.name", open.agent.as_str().into()),
            ("gen_ai.conversation.id", session.into()),
            ("conclave.server", open.server.as_str().into()),
            ("conclave.turn", open.turn.into()),
        ];
        attributes.extend(end.extra);
        if self.options.capture_content {
            attributes.push(("gen_ai.tool.call.arguments", open.arguments.into()));
            if let Some(result) = end.result {
                attributes.push(("gen_ai.tool.call.result", result.into()));
            }
        }
        Some(SpanRecord {
            trace_id: task.trace,
            span_id: span_id(session, "tool", open.seq),
            parent: Some(parent),
            name: format!("execute_tool {}", open.tool),
            kind: Kind::Internal,
            start: open.start,
            end: end.at,
            attributes,
            events: Vec::new(),
            status: end.status,
        })
    }

    fn open_task(&mut self, e: &Event) {
        self.task = Some(OpenTask {
            trace: trace_id(&e.session, e.seq),
            span: span_id(&e.session, "task", e.seq),
            start: e.ts,
            prompt: None,
            events: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            turns: 0,
        });
    }

    /// A span event on the task's root span (dropped outside a task).
    fn note(&mut self, at: DateTime<Utc>, name: &str, attributes: Attributes) {
        if let Some(task) = &mut self.task {
            task.events.push(SpanEvent {
                name: name.to_string(),
                at,
                attributes,
            });
        }
    }

    fn close_turns(&mut self, session: &str, at: DateTime<Utc>) -> Vec<SpanRecord> {
        let open: Vec<u64> = self.turns.keys().copied().collect();
        open.into_iter()
            .flat_map(|turn| {
                let end = TurnEnd {
                    at,
                    usage: UsageInfo::default(),
                    finish: None,
                    reply: None,
                    status: Status::Unset,
                    extra: vec![("conclave.interrupted", true.into())],
                };
                self.close_turn(session, turn, end)
            })
            .collect()
    }

    /// The spans of `turn` ended by `end`: `invoke_agent` + `chat` for a conversational turn,
    /// `chat` alone for a hidden call.
    fn close_turn(&mut self, session: &str, turn: u64, end: TurnEnd<'_>) -> Vec<SpanRecord> {
        let Some(open) = self.turns.remove(&turn) else {
            return Vec::new();
        };
        let Some(task) = &mut self.task else {
            return Vec::new();
        };
        task.turns += 1;
        task.input_tokens += end.usage.input.unwrap_or(0);
        task.output_tokens += end.usage.output.unwrap_or(0);
        let (trace, root) = (task.trace, task.span);
        let (backend, model) = self.agents.get(&open.agent).cloned().unwrap_or_default();
        let provider = self
            .options
            .providers
            .get(&backend)
            .cloned()
            .unwrap_or(backend);
        let mut common: Attributes = vec![
            ("gen_ai.provider.name", provider.into()),
            ("gen_ai.request.model", model.as_str().into()),
            ("gen_ai.agent.name", open.agent.as_str().into()),
            ("gen_ai.conversation.id", session.into()),
            ("conclave.purpose", name_of(&open.purpose).into()),
            ("conclave.turn", turn.into()),
        ];
        if let Some(round) = open.round {
            common.push(("conclave.round", round.into()));
        }
        if let Some(n) = end.usage.input {
            common.push(("gen_ai.usage.input_tokens", n.into()));
        }
        if let Some(n) = end.usage.output {
            common.push(("gen_ai.usage.output_tokens", n.into()));
        }
        common.extend(end.extra);
        let conversational = matches!(open.purpose, Purpose::Speak | Purpose::Aggregate);
        let chat_id = span_id(session, "chat", turn);
        let mut chat = vec![("gen_ai.operation.name", "chat".into())];
        chat.extend(common.iter().cloned());
        if let Some(finish) = end.finish {
            chat.push((
                "gen_ai.response.finish_reasons",
                Value::StrList(vec![finish.to_string()]),
            ));
        }
        if self.options.capture_content
            && let Some(reply) = end.reply
        {
            chat.push(("gen_ai.output.messages", output_messages(reply, end.finish)));
        }
        let mut out = Vec::new();
        let chat_parent = if conversational {
            let agent_id = span_id(session, "agent", turn);
            let mut attrs = vec![("gen_ai.operation.name", "invoke_agent".into())];
            attrs.extend(common);
            out.push(SpanRecord {
                trace_id: trace,
                span_id: agent_id,
                parent: Some(root),
                name: format!("invoke_agent {}", open.agent),
                kind: Kind::Internal,
                start: open.start,
                end: end.at,
                attributes: attrs,
                events: Vec::new(),
                status: end.status.clone(),
            });
            agent_id
        } else {
            root
        };
        out.insert(
            0,
            SpanRecord {
                trace_id: trace,
                span_id: chat_id,
                parent: Some(chat_parent),
                name: format!("chat {model}"),
                kind: Kind::Client,
                start: open.start,
                end: end.at,
                attributes: chat,
                events: Vec::new(),
                status: end.status,
            },
        );
        out
    }

    /// The root span of the open task, ended at `at` with `outcome` (none: interrupted).
    fn close_task(
        &mut self,
        session: &str,
        at: DateTime<Utc>,
        outcome: Option<Outcome>,
        final_text: Option<&str>,
    ) -> Option<SpanRecord> {
        let task = self.task.take()?;
        let mut attrs: Attributes = vec![
            ("gen_ai.operation.name", "invoke_workflow".into()),
            ("gen_ai.workflow.name", self.team.as_str().into()),
            ("gen_ai.conversation.id", session.into()),
            ("conclave.team", self.team.as_str().into()),
            ("conclave.pattern", self.pattern.as_str().into()),
            ("conclave.turns", task.turns.into()),
            ("conclave.usage.input_tokens", task.input_tokens.into()),
            ("conclave.usage.output_tokens", task.output_tokens.into()),
        ];
        let status = match outcome {
            Some(o) => {
                attrs.push(("conclave.outcome", name_of(&o).into()));
                match o {
                    Outcome::Completed
                    | Outcome::Consensus
                    | Outcome::MaxRounds
                    | Outcome::MaxMessages => Status::Ok,
                    Outcome::Cancelled => Status::Unset,
                    Outcome::Failed | Outcome::Budget | Outcome::Timeout => {
                        Status::Error(format!("the task ended {}", name_of(&o)))
                    }
                }
            }
            None => {
                attrs.push(("conclave.interrupted", true.into()));
                Status::Unset
            }
        };
        if self.options.capture_content {
            if let Some(prompt) = &task.prompt {
                attrs.push(("gen_ai.input.messages", input_messages(prompt)));
            }
            if let Some(text) = final_text {
                attrs.push(("gen_ai.output.messages", output_messages(text, None)));
            }
        }
        Some(SpanRecord {
            trace_id: task.trace,
            span_id: task.span,
            parent: None,
            name: format!("invoke_workflow {}", self.team),
            kind: Kind::Internal,
            start: task.start,
            end: at,
            attributes: attrs,
            events: task.events,
            status,
        })
    }
}

/// Every span of `events`, the ones left open closed as interrupted.
pub fn spans_of(events: &[Event], options: FoldOptions) -> Vec<SpanRecord> {
    let mut fold = TraceFold::new(options);
    let mut out: Vec<SpanRecord> = events.iter().flat_map(|e| fold.on(e)).collect();
    out.extend(fold.finish());
    out
}

/// The serialized name of a unit enum (`agree`, `round_robin`, `select_speaker`).
pub(super) fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// `gen_ai.input.messages`: the person's prompt as one user message (JSON, per the conventions).
fn input_messages(text: &str) -> Value {
    let msg = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": text}]}]);
    Value::Str(msg.to_string())
}

/// `gen_ai.output.messages`: one assistant message with its finish reason.
fn output_messages(text: &str, finish: Option<&str>) -> Value {
    let msg = serde_json::json!([{
        "role": "assistant",
        "parts": [{"type": "text", "content": text}],
        "finish_reason": finish.unwrap_or("stop"),
    }]);
    Value::Str(msg.to_string())
}

/// The first line of `text`, at most 200 characters: an error status's description.
fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}
