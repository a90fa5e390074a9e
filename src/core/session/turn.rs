//! One running turn. [`Live::start`] spawns a small task that pumps the provider's stream into the
//! actor's inbox as [`TurnMsg`]s until it finishes, fails, times out or is cancelled; returning
//! drops the stream, which closes its HTTP connection. The actor keeps the [`Live`] record of the
//! turn meanwhile: its `CancellationToken`, when it started and when its first token came, its
//! tool calls and usage so far, and, for a `summarize` turn, the turn waiting for its summary.
//! [`Live::absorb`] folds a message from the pump into that record and says what the session
//! should see; [`Live::message`] turns the record into the turn's `message` event (usage, time to
//! first token, latency). A deadline (`timeout_ms` of the turn, else of the agent) ends the turn
//! as `turn_failed` kind `timeout`. Before the request goes out it is fitted to the model's
//! context window ([`FitTo`]: the agent's `context_window`, else what the backend says), a trim
//! announced as a `turn_notice`; a request waiting in its backend's queue is a `turn_waiting`,
//! and its latency counts from when it leaves the queue (`LlmEvent::Admitted`).
//!
//! Usage: every call is paid for, so [`Live::spent`] says what this one cost for its `message`,
//! `turn_failed` or `turn_cancelled`: the counts the server reported, and where it reported
//! none, the estimate of [`crate::llm::estimate`] (marked `estimated`): input from the request
//! (unless nothing came back, which servers do not bill), output from the text received.
//!
//! Tools: a turn of an agent with MCP tools first asks the [`Hub`] for the agent's tools (the
//! pump does, before the request goes out: [`TurnMsg::Offered`]) and offers them beside the
//! turn's own; when the model answers with calls of them, the actor answers the calls and
//! [`Live::next_step`]s the same turn with the reply and the results appended (see `tool_loop`).
//! Each model call of the loop is metered on its own (its `message` with `continues`), and a
//! fallback model restarted mid-loop keeps the turn's tools.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::core::event::{ErrorInfo, EventKind, ModelRef, Purpose, ToolCallInfo, UsageInfo};
use crate::core::patterns::TurnSpec;
use crate::llm::{
    ChatRequest, ErrorKind, FinishReason, LlmError, LlmEvent, Provider, ToolCall, ToolSpec, Usage,
    estimate,
};
use crate::tools::{Hub, Offered};

/// What a running turn's pump tells the actor.
pub(super) enum TurnMsg {
    Llm(LlmEvent),
    Error(LlmError),
    /// The stream ended without `Finished`.
    Ended,
    Timeout(u64),
    /// A line for the transcript about the request (`context_trimmed`).
    Notice(&'static str, String),
    /// The request as it goes out after fitting (sent only when it was trimmed).
    Fitted(ChatRequest),
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

    /// Where the pump gets the tools it offers.
    fn source(&self) -> (Arc<Hub>, Vec<String>) {
        (self.hub.clone(), self.selections.clone())
    }
}

/// How a turn's request is fitted to its model's context window before it goes out.
pub(super) struct FitTo {
    /// The agent's `context_window`; else the backend is asked (once per model).
    pub(super) window: Option<u32>,
    /// The person's prompt: a message holding it is never left out.
    pub(super) task: String,
}

/// What a message from the pump means for the session.
pub(super) enum Step {
    /// Recorded; nothing to publish yet.
    Quiet,
    /// A token of the reply.
    Token(String),
    /// The request failed and will be tried again; what the failed attempt cost.
    Retrying(ErrorInfo, UsageInfo),
    /// The stream finished with this reason: publish the `message`.
    Finished(FinishReason),
    /// The turn failed for good, with what the attempt cost.
    Failed(ErrorInfo, UsageInfo),
    /// The request waits in this backend's queue.
    Waiting(String),
    /// A line for the transcript (`kind`, text).
    Notice(&'static str, String),
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
    /// The request's estimated input tokens, for a server that reports none.
    input_estimate: u64,
    /// Text received in the current attempt (for the output estimate of a failed attempt).
    received: String,
    /// For a `summarize` turn: the turn that waits for the summary.
    pub(super) then: Option<TurnSpec>,
    /// The request of the current model call as sent (fitted, without the MCP tools the pump
    /// adds): kept for a `fallback` model to be asked the same, and for the tool loop's next step.
    pub(super) request: ChatRequest,
    /// The fallback model serving this turn, when it is not the agent's own.
    pub(super) served_by: Option<ModelRef>,
    /// How many of the agent's `fallback` entries were tried.
    pub(super) fallbacks_tried: usize,
    pub(super) deadline_ms: Option<u64>,
    pub(super) tools: Option<TurnTools>,
    /// Ends the tool calls of the turn (a child of each step's token is cancelled with it).
    pub(super) calls_cancel: CancellationToken,
    /// The last model call was paid for (its `message` published) and the turn waits for its
    /// tool calls: nothing more to count until the next call starts.
    between_calls: bool,
}

impl Live {
    /// Start reading `provider`'s stream for `request`; every message goes to `send`.
    pub(super) fn start(
        provider: Arc<dyn Provider>,
        (request, fit): (ChatRequest, FitTo),
        deadline_ms: Option<u64>,
        then: Option<TurnSpec>,
        tools: Option<TurnTools>,
        send: impl Fn(TurnMsg) + Send + Sync + 'static,
    ) -> Live {
        let cancel = CancellationToken::new();
        let input_estimate = estimate::input_tokens(&request);
        let fitted = fit_to(provider.clone(), request.clone(), fit, cancel.clone(), send);
        let token = cancel.clone();
        let source = tools.as_ref().map(TurnTools::source);
        tokio::spawn(async move {
            if let Some((request, send)) = fitted.await {
                pump(provider, request, source, token, deadline_ms, send).await;
            }
        });
        Live {
            cancel,
            started: Instant::now(),
            first_token: None,
            tool_calls: Vec::new(),
            usage: Usage::default(),
            input_estimate,
            received: String::new(),
            then,
            request,
            served_by: None,
            fallbacks_tried: 0,
            deadline_ms,
            tools,
            calls_cancel: CancellationToken::new(),
            between_calls: false,
        }
    }

    /// What this call cost so far: the server's counts, estimated where it reported none.
    /// `text` is the text received; `completed`: the reply finished (its input was surely read).
    pub(super) fn spent(&self, text: &str, completed: bool) -> UsageInfo {
        if self.between_calls {
            return UsageInfo {
                input: Some(0),
                output: Some(0),
                estimated: false,
            };
        }
        let tool_chars: usize = self.tool_calls.iter().map(|c| c.arguments.len()).sum();
        let answered = completed || !text.is_empty() || tool_chars > 0;
        let input = self
            .usage
            .input
            .unwrap_or(if answered { self.input_estimate } else { 0 });
        let output = self
            .usage
            .output
            .unwrap_or_else(|| estimate::output_tokens(text, tool_chars));
        UsageInfo {
            input: Some(input),
            output: Some(output),
            estimated: self.usage.input.is_none() || self.usage.output.is_none(),
        }
    }

    /// The tool calls of the reply just finished.
    pub(super) fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// The reply just finished was published (a `message` that `continues`, with its usage):
    /// until the next step starts, the turn costs nothing more.
    pub(super) fn paid(&mut self) {
        self.between_calls = true;
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
                self.received.push_str(&text);
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
            TurnMsg::Llm(LlmEvent::Retrying { error, .. }) => {
                let spent = self.spent(&self.received, false);
                self.usage = Usage::default();
                self.received.clear();
                self.tool_calls.clear();
                Step::Retrying(info(&error), spent)
            }
            TurnMsg::Llm(LlmEvent::Finished(reason)) => Step::Finished(reason),
            TurnMsg::Llm(LlmEvent::Queued { backend }) => Step::Waiting(backend),
            TurnMsg::Llm(LlmEvent::Admitted) => {
                // Time spent in the queue is not the call's latency.
                self.started = Instant::now();
                Step::Quiet
            }
            TurnMsg::Llm(LlmEvent::Notice(text)) => Step::Notice("text_markers", text),
            TurnMsg::Error(error) => Step::Failed(info(&error), self.spent(&self.received, false)),
            TurnMsg::Ended => Step::Failed(
                ErrorInfo {
                    kind: ErrorKind::Protocol.into(),
                    message: format!("the stream of {agent} ended before the reply was finished"),
                },
                self.spent(&self.received, false),
            ),
            TurnMsg::Notice(kind, text) => Step::Notice(kind, text),
            TurnMsg::Fitted(request) => {
                self.input_estimate = estimate::input_tokens(&request);
                self.request = request;
                Step::Quiet
            }
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
                Step::Failed(
                    ErrorInfo {
                        kind: ErrorKind::Timeout.into(),
                        message: format!(
                            "{agent} did not finish within {ms} ms (timeout_ms); raise it in the config if the model is slow"
                        ),
                    },
                    self.spent(&self.received, false),
                )
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
        let usage = self.spent(&text, true);
        EventKind::Message {
            agent,
            turn,
            text,
            usage,
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
            served_by: self.served_by.clone().map(Box::new),
            continues,
        }
    }

    /// Start the same request again on `provider` (a fallback model): a new stream, the
    /// reply so far forgotten (the failed attempt was already counted); the turn's MCP tools
    /// are offered again.
    pub(super) fn restart(
        &mut self,
        provider: Arc<dyn Provider>,
        request: ChatRequest,
        send: impl Fn(TurnMsg) + Send + Sync + 'static,
    ) {
        self.cancel.cancel();
        self.cancel = CancellationToken::new();
        self.input_estimate = estimate::input_tokens(&request);
        self.first_token = None;
        self.tool_calls.clear();
        self.usage = Usage::default();
        self.received.clear();
        self.between_calls = false;
        let source = self.tools.as_ref().map(TurnTools::source);
        tokio::spawn(pump(
            provider,
            request.clone(),
            source,
            self.cancel.clone(),
            self.deadline_ms,
            send,
        ));
        self.request = request;
    }

    /// The next model call of the same turn (tool loop): `request` already carries the reply and
    /// its results; the record starts afresh for the new reply (its latency too).
    pub(super) fn next_step(
        &mut self,
        provider: Arc<dyn Provider>,
        request: ChatRequest,
        send: impl Fn(TurnMsg) + Send + Sync + 'static,
    ) {
        self.restart(provider, request, send);
        self.started = Instant::now();
    }
}

fn info(error: &LlmError) -> ErrorInfo {
    ErrorInfo {
        kind: error.kind.into(),
        message: error.to_string(),
    }
}

/// `request` trimmed to fit the model's context window (saying so through `send`), unless the
/// turn is cancelled while the backend is asked for its window.
async fn fit_to<S: Fn(TurnMsg)>(
    provider: Arc<dyn Provider>,
    mut request: ChatRequest,
    fit: FitTo,
    cancel: CancellationToken,
    send: S,
) -> Option<(ChatRequest, S)> {
    let window = match fit.window {
        Some(window) => Some(window),
        None => tokio::select! {
            _ = cancel.cancelled() => return None,
            window = provider.context_window(&request.model) => window,
        },
    };
    if let Some(window) = window
        && let Some(trimmed) = crate::core::request::fit(&mut request, window, &fit.task)
    {
        send(TurnMsg::Notice("context_trimmed", trimmed.notice()));
        send(TurnMsg::Fitted(request.clone()));
    }
    Some((request, send))
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
