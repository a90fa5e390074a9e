//! One running turn. [`Live::start`] spawns a small task that pumps the provider's stream into the
//! actor's inbox as [`TurnMsg`]s until it finishes, fails, times out or is cancelled; returning
//! drops the stream, which closes its HTTP connection. The actor keeps the [`Live`] record of the
//! turn meanwhile: its `CancellationToken`, when it started and when its first token came, its
//! tool calls and usage so far, and, for a `summarize` turn, the turn waiting for its summary.
//! [`Live::absorb`] folds a message from the pump into that record and says what the session
//! should see; [`Live::message`] turns the record into the turn's `message` event (usage, time to
//! first token, latency). A deadline (`timeout_ms` of the turn, else of the agent) ends the turn
//! as `turn_failed` kind `timeout`.
//!
//! Tools: a turn of an agent with MCP tools first asks the [`Hub`] for the agent's tools (the
//! pump does, before the request goes out: [`TurnMsg::Offered`]) and offers them beside the
//! turn's own; when the model answers with calls of them, the actor answers the calls and
//! [`Live::restart`]s the same turn with the reply and the results appended (see `tool_loop`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::core::event::{ErrorInfo, EventKind, Purpose, ToolCallInfo, UsageInfo};
use crate::core::patterns::TurnSpec;
use crate::llm::{
    ChatRequest, ErrorKind, FinishReason, LlmError, LlmEvent, Provider, ToolCall, ToolSpec, Usage,
};
use crate::tools::{Hub, Offered};

/// What a running turn's pump tells the actor.
pub(super) enum TurnMsg {
    Llm(LlmEvent),
    Error(LlmError),
    /// The stream ended without `Finished`.
    Ended,
    Timeout(u64),
    /// The agent's MCP tools for this model call, and the servers that could not serve.
    Offered(Vec<Offered>, Vec<String>),
}

/// The MCP side of a turn: where its tools come from and how far its tool loop got.
pub(super) struct TurnTools {
    pub hub: Arc<Hub>,
    /// The agent's `tools` selections.
    pub selections: Vec<String>,
    pub offered: Vec<Offered>,
    /// Model calls answered with tool results so far.
    pub rounds: u32,
    /// Calls of the current step still without a result.
    pub outstanding: Vec<String>,
    /// Server errors already shown (each once per turn).
    pub warned: bool,
    /// The reply being answered: its text and every call it made.
    pub reply: (String, Vec<ToolCall>),
    /// `max_tool_rounds` was reached: the next model call must answer in text.
    pub last_round: bool,
}

impl TurnTools {
    pub fn new(hub: Arc<Hub>, selections: Vec<String>) -> TurnTools {
        TurnTools {
            hub,
            selections,
            offered: Vec::new(),
            rounds: 0,
            outstanding: Vec::new(),
            warned: false,
            reply: (String::new(), Vec::new()),
            last_round: false,
        }
    }
}

/// What a message from the pump means for the session.
pub(super) enum Step {
    /// Recorded; nothing to publish yet.
    Quiet,
    /// A token of the reply.
    Token(String),
    /// The request failed and will be tried again.
    Retrying(ErrorInfo),
    /// The stream finished with this reason: publish the `message`.
    Finished(FinishReason),
    /// The turn failed for good.
    Failed(ErrorInfo),
    /// These MCP servers could not list their tools (the turn goes on without them).
    ToolsUnavailable(Vec<String>),
}

/// A turn whose stream is being read.
pub(super) struct Live {
    cancel: CancellationToken,
    started: Instant,
    first_token: Option<Instant>,
    tool_calls: Vec<ToolCall>,
    usage: Usage,
    /// For a `summarize` turn: the turn that waits for the summary.
    pub(super) then: Option<TurnSpec>,
    /// The request of the current model call (without the MCP tools the pump adds).
    pub(super) request: ChatRequest,
    pub(super) deadline_ms: Option<u64>,
    pub(super) tools: Option<TurnTools>,
    /// Ends the tool calls of the turn (a child of each step's token is cancelled with it).
    pub(super) calls_cancel: CancellationToken,
}

impl Live {
    /// Start reading `provider`'s stream for `request`; every message goes to `send`.
    pub(super) fn start(
        provider: Arc<dyn Provider>,
        request: ChatRequest,
        deadline_ms: Option<u64>,
        then: Option<TurnSpec>,
        tools: Option<TurnTools>,
        send: impl Fn(TurnMsg) + Send + Sync + 'static,
    ) -> Live {
        let cancel = CancellationToken::new();
        let source = tools
            .as_ref()
            .map(|t| (t.hub.clone(), t.selections.clone()));
        tokio::spawn(pump(
            provider,
            request.clone(),
            source,
            cancel.clone(),
            deadline_ms,
            send,
        ));
        Live {
            cancel,
            started: Instant::now(),
            first_token: None,
            tool_calls: Vec::new(),
            usage: Usage::default(),
            then,
            request,
            deadline_ms,
            tools,
            calls_cancel: CancellationToken::new(),
        }
    }

    /// The next model call of the same turn (tool loop): `request` already carries the reply and
    /// its results; the record starts afresh for the new reply.
    pub(super) fn restart(
        &mut self,
        provider: Arc<dyn Provider>,
        request: ChatRequest,
        send: impl Fn(TurnMsg) + Send + Sync + 'static,
    ) {
        self.cancel = CancellationToken::new();
        let source = self
            .tools
            .as_ref()
            .map(|t| (t.hub.clone(), t.selections.clone()));
        tokio::spawn(pump(
            provider,
            request.clone(),
            source,
            self.cancel.clone(),
            self.deadline_ms,
            send,
        ));
        self.request = request;
        self.started = Instant::now();
        self.first_token = None;
        self.tool_calls.clear();
        self.usage = Usage::default();
    }

    /// The tool calls of the reply just finished.
    pub(super) fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// Stop reading: the pump returns and drops the stream, closing its connection; running
    /// tool calls are abandoned.
    pub(super) fn cancel(&self) {
        self.cancel.cancel();
        self.calls_cancel.cancel();
    }

    /// Fold `msg` into the record. `agent` names the turn's agent in error messages.
    pub(super) fn absorb(&mut self, msg: TurnMsg, agent: &str) -> Step {
        match msg {
            TurnMsg::Llm(LlmEvent::TextDelta(text)) => {
                self.first_token.get_or_insert_with(Instant::now);
                Step::Token(text)
            }
            TurnMsg::Llm(LlmEvent::ToolCall(call)) => {
                self.first_token.get_or_insert_with(Instant::now);
                self.tool_calls.push(call);
                Step::Quiet
            }
            TurnMsg::Llm(LlmEvent::Usage(usage)) => {
                self.usage = usage;
                Step::Quiet
            }
            TurnMsg::Llm(LlmEvent::Retrying { error, .. }) => Step::Retrying(info(&error)),
            TurnMsg::Llm(LlmEvent::Finished(reason)) => Step::Finished(reason),
            TurnMsg::Error(error) => Step::Failed(info(&error)),
            TurnMsg::Ended => Step::Failed(ErrorInfo {
                kind: ErrorKind::Protocol.into(),
                message: format!("the stream of {agent} ended before the reply was finished"),
            }),
            TurnMsg::Offered(offered, errors) => {
                let Some(tools) = self.tools.as_mut() else {
                    return Step::Quiet;
                };
                tools.offered = offered;
                if errors.is_empty() || tools.warned {
                    return Step::Quiet;
                }
                tools.warned = true;
                Step::ToolsUnavailable(errors)
            }
            TurnMsg::Timeout(ms) => {
                self.cancel.cancel();
                Step::Failed(ErrorInfo {
                    kind: ErrorKind::Timeout.into(),
                    message: format!(
                        "{agent} did not finish within {ms} ms (timeout_ms); raise it in the config if the model is slow"
                    ),
                })
            }
        }
    }

    /// The `message` event of the finished turn: `text` is what it streamed.
    pub(super) fn message(
        &self,
        agent: String,
        turn: u64,
        text: String,
        purpose: Purpose,
        reason: &FinishReason,
        continues: bool,
    ) -> EventKind {
        let now = Instant::now();
        EventKind::Message {
            agent,
            turn,
            text,
            usage: UsageInfo {
                input: self.usage.input,
                output: self.usage.output,
            },
            ttft_ms: self
                .first_token
                .map(|f| f.duration_since(self.started).as_millis() as u64),
            latency_ms: now.duration_since(self.started).as_millis() as u64,
            finish: reason.clone(),
            purpose,
            tool_calls: self
                .tool_calls
                .iter()
                .map(|c| ToolCallInfo {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                })
                .collect(),
            continues,
        }
    }
}

fn info(error: &LlmError) -> ErrorInfo {
    ErrorInfo {
        kind: error.kind.into(),
        message: error.to_string(),
    }
}

/// Read one turn's stream into `send` until it ends, fails, times out or is cancelled.
/// Returning drops the stream, which closes its connection.
async fn pump(
    provider: Arc<dyn Provider>,
    mut request: ChatRequest,
    tools: Option<(Arc<Hub>, Vec<String>)>,
    cancel: CancellationToken,
    deadline_ms: Option<u64>,
    send: impl Fn(TurnMsg),
) {
    if let Some((hub, selections)) = tools {
        let listed = tokio::select! {
            _ = cancel.cancelled() => return,
            listed = hub.offered(&selections) => listed,
        };
        let (offered, errors) = listed;
        request.tools.extend(offered.iter().map(|o| ToolSpec {
            name: o.name.clone(),
            description: o.description.clone(),
            parameters: o.schema.clone(),
        }));
        send(TurnMsg::Offered(
            offered,
            errors.iter().map(ToString::to_string).collect(),
        ));
    }
    let mut stream = provider.stream(request, cancel.clone());
    let read = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(LlmEvent::Finished(reason)) => {
                    send(TurnMsg::Llm(LlmEvent::Finished(reason)));
                    return;
                }
                Ok(event) => send(TurnMsg::Llm(event)),
                Err(error) => {
                    send(TurnMsg::Error(error));
                    return;
                }
            }
        }
        send(TurnMsg::Ended);
    };
    let bounded = async {
        match deadline_ms {
            Some(ms) => {
                if tokio::time::timeout(Duration::from_millis(ms), read)
                    .await
                    .is_err()
                {
                    send(TurnMsg::Timeout(ms));
                }
            }
            None => read.await,
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = bounded => {}
    }
}
