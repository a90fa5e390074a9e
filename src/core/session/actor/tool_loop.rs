//! The tool loop of a turn (DESIGN section 2, Tools): the actor's IO around MCP calls.
//!
//! When a reply of an agent with MCP tools calls them, [`Actor::tool_step`] records the reply as a
//! `message` that `continues`, answers what cannot run (unknown name, arguments that do not
//! parse, `max_tool_rounds` reached, an orchestration tool called beside MCP tools) with error
//! results, and puts every other call through its gate ([`calls::gate`]: run, ask the person,
//! or reject). Approved calls run concurrently on the hub; each ends as a `tool_result` (content
//! truncated with a note). Once every call of the reply has its result the same turn asks the
//! model again with the reply and the results appended, until it answers without MCP calls:
//! only then does the pattern hear that the turn ended. A cancelled turn answers its open calls
//! as cancelled; on resume, calls without a result become `tool_interrupted`. On a guarded team
//! an approved call asks the guard before it runs (`guard`).

use std::time::Instant;

use super::{Actor, Internal};
use crate::config::AgentConfig;
use crate::core::command::Command;
use crate::core::event::{Approval, EventKind, FinishReason, Purpose};
use crate::core::patterns::{TurnSpec, UnattendedApproval};
use crate::core::session::turn::{Live, TurnTools};
use crate::core::state::Entry;
use crate::core::state::calls::{self, BY_PERSON, BY_POLICY, CallStatus, Gate};
use crate::llm::{ChatMessage, ToolCall, ToolChoice};
use crate::tools::content::{MAX_RESULT_BYTES, truncate};

/// Timers of `window` approvals are named this plus the call id.
pub(super) const WINDOW_TIMER: &str = "tool-window:";
/// `max_tool_rounds` when the agent does not set it.
pub const DEFAULT_MAX_TOOL_ROUNDS: u32 = 8;

impl Actor {
    /// The MCP side of a new turn, when the agent has tools and this turn may use them.
    pub(super) fn turn_tools(
        &self,
        agent: &AgentConfig,
        spec: &TurnSpec,
        supports_tools: bool,
    ) -> Option<TurnTools> {
        let hub = self.hub.clone()?;
        let free_turn = matches!(spec.purpose, Purpose::Speak | Purpose::Aggregate)
            && spec.tool_choice == ToolChoice::Auto;
        (supports_tools && free_turn && !agent.tools.is_empty())
            .then(|| TurnTools::new(hub, agent.tools.clone()))
    }

    /// Handle `approve_tool` / `reject_tool`; any other command is given back for the pattern.
    pub(super) fn tool_command(&mut self, cmd: Command) -> Option<Command> {
        let (call_id, reject) = match &cmd {
            Command::ApproveTool { call_id } => (call_id.clone(), None),
            Command::RejectTool { call_id, reason } => (
                call_id.clone(),
                Some(
                    reason
                        .clone()
                        .unwrap_or_else(|| "rejected by the person".into()),
                ),
            ),
            _ => return Some(cmd),
        };
        let waiting = match &call_id {
            Some(id) => self
                .state
                .calls
                .get(id)
                .filter(|c| c.status == CallStatus::Waiting)
                .map(|_| id.clone()),
            None => self.state.calls.waiting().next().map(|(id, _)| id.clone()),
        };
        let Some(id) = waiting else {
            let what = call_id.map_or("no tool call".to_string(), |id| format!("tool call {id}"));
            self.publish(EventKind::Error {
                message: format!("{what} is waiting for approval"),
                command: serde_json::to_value(&cmd).ok(),
            });
            return None;
        };
        self.cancel_window(&id);
        match reject {
            None => self.approve(&id, BY_PERSON),
            Some(reason) => self.reject(&id, BY_PERSON, reason),
        }
        None
    }

    /// Resume: every call without a result died with the old process.
    pub(super) fn interrupt_calls(&mut self) {
        for call_id in self.state.calls.unanswered() {
            self.publish(EventKind::ToolInterrupted { call_id });
        }
    }

    /// Nobody is present any more: what waits follows `--approve`.
    pub(super) fn settle_waiting_calls(&mut self) {
        let waiting: Vec<String> = self
            .state
            .calls
            .waiting()
            .map(|(id, _)| id.clone())
            .collect();
        for id in waiting {
            self.cancel_window(&id);
            match self.ctx.unattended {
                Some(UnattendedApproval::Reject) => self.reject(
                    &id,
                    BY_POLICY,
                    "nobody is present to approve it (--approve reject)".into(),
                ),
                _ => self.approve(&id, BY_POLICY),
            }
        }
    }

    /// A `window` approval ran out without a rejection: the call runs.
    pub(super) fn window_ended(&mut self, call_id: String) {
        if self
            .state
            .calls
            .get(&call_id)
            .is_some_and(|c| c.status == CallStatus::Waiting)
        {
            self.approve(&call_id, BY_POLICY);
        }
    }

    /// Answer the open calls of a turn that ends early.
    pub(super) fn answer_outstanding(&mut self, live: &Live, why: &str) {
        let Some(tools) = live.tools.as_ref() else {
            return;
        };
        for id in tools.outstanding.clone() {
            self.cancel_window(&id);
            self.answer(&id, why.to_string(), true, None);
        }
    }

    /// The reply of `turn` finished: answer its MCP calls and go on (true), or let the turn end
    /// as usual (false: no MCP calls, or no tools).
    pub(super) fn tool_step(&mut self, turn: u64, agent: &str, reason: &FinishReason) -> bool {
        let Some(live) = self.live.get(&turn) else {
            return false;
        };
        let Some(tools) = live.tools.as_ref() else {
            return false;
        };
        let own: Vec<String> = live.request.tools.iter().map(|t| t.name.clone()).collect();
        let calls: Vec<ToolCall> = live.tool_calls().to_vec();
        if calls.iter().all(|c| own.contains(&c.name)) {
            return false;
        }
        let config = self.ctx.agents.get(agent).cloned();
        let max_rounds = config
            .as_ref()
            .and_then(|a| a.max_tool_rounds)
            .unwrap_or(DEFAULT_MAX_TOOL_ROUNDS);
        let over = tools.rounds >= max_rounds;
        let offered = tools.offered.clone();
        let (text, purpose) = self.reply_of(turn);
        let message = live.message(agent.to_string(), turn, text.clone(), purpose, reason, true);
        self.publish(message);
        let mut outstanding = Vec::new();
        let mut run = Vec::new();
        for call in &calls {
            let answer = |content: String| EventKind::ToolResult {
                agent: agent.to_string(),
                turn,
                call_id: call.id.clone(),
                name: call.name.clone(),
                content,
                is_error: true,
                server: None,
                ms: None,
            };
            if own.contains(&call.name) {
                self.publish(answer(format!(
                    "{} was not run: call it on its own, once the results of your tool calls are in",
                    call.name
                )));
                continue;
            }
            let Some(tool) = offered.iter().find(|o| o.name == call.name) else {
                let known: Vec<&str> = offered.iter().map(|o| o.name.as_str()).collect();
                self.publish(answer(format!(
                    "there is no tool named {}; the tools are: {}",
                    call.name,
                    known.join(", ")
                )));
                continue;
            };
            self.publish(EventKind::ToolCall {
                agent: agent.to_string(),
                turn,
                call_id: call.id.clone(),
                server: tool.server.clone(),
                tool: tool.tool.clone(),
                arguments: call.arguments.clone(),
            });
            if over {
                self.publish(answer(format!(
                    "not run: max_tool_rounds ({max_rounds}) is reached; answer in text now"
                )));
                continue;
            }
            if let Err(e) = call.parse_arguments() {
                self.publish(answer(format!("not run: {e}")));
                continue;
            }
            let repeat =
                self.state
                    .calls
                    .repeats_interrupted(&tool.server, &tool.tool, &call.arguments);
            let policy = config.as_ref().and_then(|a| a.tool_approval);
            match calls::gate(policy, tool.read_only, repeat, self.ctx.unattended) {
                Gate::Run => {
                    self.publish(EventKind::ToolApproved {
                        call_id: call.id.clone(),
                        by: BY_POLICY.into(),
                        reason: None,
                    });
                    outstanding.push(call.id.clone());
                    run.push(call.id.clone());
                }
                Gate::Ask {
                    approval,
                    window_ms,
                } => {
                    self.publish(EventKind::ToolApprovalRequested {
                        call_id: call.id.clone(),
                        approval: approval.clone(),
                        window_ms,
                    });
                    if let (Approval::Window, Some(ms)) = (approval, window_ms) {
                        self.set_timer(format!("{WINDOW_TIMER}{}", call.id), ms);
                    }
                    outstanding.push(call.id.clone());
                }
                Gate::Reject(reason) => {
                    self.publish(EventKind::ToolRejected {
                        call_id: call.id.clone(),
                        by: BY_POLICY.into(),
                        reason: reason.clone(),
                    });
                    self.publish(answer(format!("rejected: {reason}")));
                }
            }
        }
        if let Some(live) = self.live.get_mut(&turn) {
            // This model call is counted (its `message` carries its usage).
            live.paid();
        }
        if let Some(tools) = self.live.get_mut(&turn).and_then(|l| l.tools.as_mut()) {
            tools.outstanding = outstanding;
            tools.reply = (text, calls);
            tools.rounds += 1;
            tools.last_round = over;
        }
        for id in run {
            self.run_call(turn, &id);
        }
        self.maybe_continue(turn);
        true
    }

    /// A call of `turn` ended.
    pub(super) fn tool_done(
        &mut self,
        turn: u64,
        call_id: String,
        output: Result<crate::tools::CallOutput, String>,
        ms: u64,
    ) {
        let open = self
            .live
            .get(&turn)
            .and_then(|l| l.tools.as_ref())
            .is_some_and(|t| t.outstanding.contains(&call_id));
        if !open {
            return;
        }
        let (content, is_error) = match output {
            Ok(o) => (o.text, o.is_error),
            Err(e) => (e, true),
        };
        self.answer(&call_id, content, is_error, Some(ms));
        self.maybe_continue(turn);
    }

    fn approve(&mut self, call_id: &str, by: &str) {
        self.publish(EventKind::ToolApproved {
            call_id: call_id.to_string(),
            by: by.to_string(),
            reason: None,
        });
        if let Some(turn) = self.state.calls.get(call_id).map(|c| c.turn) {
            self.run_call(turn, call_id);
        }
    }

    pub(super) fn reject(&mut self, call_id: &str, by: &str, reason: String) {
        self.publish(EventKind::ToolRejected {
            call_id: call_id.to_string(),
            by: by.to_string(),
            reason: reason.clone(),
        });
        self.answer(
            call_id,
            format!("rejected by the {by}: {reason}"),
            true,
            None,
        );
        if let Some(turn) = self.state.calls.get(call_id).map(|c| c.turn) {
            self.maybe_continue(turn);
        }
    }

    fn cancel_window(&mut self, call_id: &str) {
        if let Some((_, token)) = self.timers.remove(&format!("{WINDOW_TIMER}{call_id}")) {
            token.cancel();
        }
    }

    /// The `tool_result` of an MCP call (truncated), which closes it for its turn.
    fn answer(&mut self, call_id: &str, content: String, is_error: bool, ms: Option<u64>) {
        let Some(call) = self.state.calls.get(call_id).cloned() else {
            return;
        };
        let name = self
            .live
            .get(&call.turn)
            .and_then(|l| l.tools.as_ref())
            .and_then(|t| t.reply.1.iter().find(|c| c.id == call_id))
            .map_or(call.name.clone(), |c| c.name.clone());
        if let Some(tools) = self.live.get_mut(&call.turn).and_then(|l| l.tools.as_mut()) {
            tools.outstanding.retain(|c| c != call_id);
        }
        self.publish(EventKind::ToolResult {
            agent: call.agent,
            turn: call.turn,
            call_id: call_id.to_string(),
            name,
            content: truncate(content, MAX_RESULT_BYTES),
            is_error,
            server: Some(call.server),
            ms,
        });
    }

    /// Run an approved call on the hub, once the team's guard allows it (see `guard`); its end
    /// comes back as [`Internal::ToolDone`].
    pub(super) fn run_call(&mut self, turn: u64, call_id: &str) {
        if self.guard_holds(call_id) {
            return;
        }
        let (Some(call), Some(hub)) = (self.state.calls.get(call_id).cloned(), self.hub.clone())
        else {
            return;
        };
        let Some(cancel) = self.live.get(&turn).map(|l| l.calls_cancel.child_token()) else {
            return;
        };
        let arguments = match serde_json::from_str::<serde_json::Value>(&call.arguments) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let tx = self.internal.clone();
        let call_id = call_id.to_string();
        tokio::spawn(async move {
            let started = Instant::now();
            let output = hub
                .call(&call.server, &call.tool, arguments, cancel)
                .await
                .map_err(|e| e.to_string());
            let _ = tx.send(Internal::ToolDone {
                turn,
                call_id,
                output,
                ms: started.elapsed().as_millis() as u64,
            });
        });
    }

    /// Every call of the reply is answered: ask the model again, the reply and results appended.
    fn maybe_continue(&mut self, turn: u64) {
        let Some(live) = self.live.get(&turn) else {
            return;
        };
        let Some(tools) = live.tools.as_ref() else {
            return;
        };
        if !tools.outstanding.is_empty() {
            return;
        }
        let (text, calls) = tools.reply.clone();
        let last_round = tools.last_round;
        let mut request = live.request.clone();
        request.messages.push(ChatMessage::Assistant {
            text,
            tool_calls: calls.clone(),
        });
        for call in &calls {
            let (content, is_error) = self
                .state
                .entries
                .iter()
                .rev()
                .find_map(|e| match e {
                    Entry::ToolResult {
                        turn: t,
                        call_id,
                        content,
                        is_error,
                        ..
                    } if *t == turn && call_id == &call.id => Some((content.clone(), *is_error)),
                    _ => None,
                })
                .unwrap_or_else(|| ("(no result)".into(), true));
            request.messages.push(ChatMessage::ToolResult {
                call_id: call.id.clone(),
                name: call.name.clone(),
                content,
                is_error,
            });
        }
        if last_round {
            request.tool_choice = ToolChoice::None;
        }
        // The model serving the turn: the agent's, or the fallback it went on with (whose
        // model `request` already names).
        let Some(name) = self.state.turns.get(&turn).map(|t| t.agent.clone()) else {
            return;
        };
        let Some(config) = self.ctx.agents.get(&name).cloned() else {
            return;
        };
        let backend = live
            .served_by
            .as_ref()
            .map_or(config.backend.clone(), |m| m.backend.clone());
        let Some(provider) = self.providers.get(&backend).cloned() else {
            return;
        };
        // Each step is a call of its own: the budgets are asked again.
        if let Some(refusal) = self.over_budget(&name, &config, &request) {
            self.refuse_step(turn, &name, refusal);
            return;
        }
        let tx = self.internal.clone();
        let send = move |msg| {
            let _ = tx.send(Internal::Turn { turn, msg });
        };
        if let Some(live) = self.live.get_mut(&turn) {
            live.next_step(provider, request, send);
        }
    }
}
