//! The actor: one tokio task per session that owns the [`SessionState`], `select!`s over the
//! commands from its handles and its inbox (turn pumps and timers), feeds the pattern one
//! [`Input`] at a time and performs the [`Effect`]s it answers with.
//!
//! Every event goes through one door ([`Actor::publish`]): it gets the next gap-free `seq`, is
//! folded into the state, then is sent to every subscriber (see `fanout`). Turns run as in
//! `turn`; what they send is built by [`request`]. Context mode `summary` first runs a
//! `summarize` turn of the same agent, whose text becomes the context of the turn waiting for it.
//! A session started with a history (resume) folds it first, closes the turns that were streaming
//! when the previous process died as `turn_cancelled` (partial text kept), then asks the pattern
//! to carry an unfinished task on ([`Pattern::resume`]); `seq` continues after the history's last.
//! Going unattended rebuilds the pattern with the `--approve` policy and asks it to go on (a
//! paused session is resumed first); the actor acknowledges with [`Settled`] once done.
//! MCP tool calls (approval, running them, answering the model, resume) are `tool_loop`'s.
//! The actor ends after `stop` (a running task finishes `cancelled`), or when every handle is
//! dropped (streams are dropped and nothing more is recorded); then every event stream ends too.
//!
//! The ledger (issue 12.5): the actor folds its events into [`Metrics`] too, and asks
//! [`budget::check`] before it starts any call, in every pattern: a call the team's budget refuses
//! ends the task with outcome `budget`; one the agent's own budget refuses fails (`budget`). Every
//! `turn_failed` and `turn_cancelled` carries what the call cost ([`Live::spent`]). When an
//! agent's backend fails after its retries (unreachable, quota, rate limit, overloaded) and the
//! agent has `fallback` models, the same request goes to the next one (`backend_fallback`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

mod ledger;

use super::fanout::Subscribers;
use super::handle::{SessionSpec, Settled};
use super::turn::{FitTo, Live, Step, TurnMsg};
use crate::core::command::Command;
use crate::core::event::{ErrorInfo, Event, EventKind, Outcome, SCHEMA_VERSION};
use crate::core::metrics::Metrics;
use crate::core::patterns::{self, Ctx, Effect, Input, Pattern, TurnSpec, UnattendedApproval};
use crate::core::request;
use crate::core::state::SessionState;
use crate::llm::{ErrorKind, Provider};
use crate::tools::Hub;

mod tool_loop;
// Guards at the tool boundary (issue 10.4).
mod guard;

/// What a [`SessionHandle`](super::SessionHandle) sends the actor.
pub(super) enum ToActor {
    Command(Command),
    /// An `error` event to publish (an invalid control line the session never saw as a command).
    Error {
        message: String,
        command: Option<serde_json::Value>,
    },
    /// See [`SessionHandle::set_unattended`](super::SessionHandle::set_unattended).
    Unattended {
        policy: UnattendedApproval,
        ack: oneshot::Sender<Settled>,
    },
}

/// Spawn the actor of `spec` on the current tokio runtime; its commands come through the sender.
pub(super) fn spawn(spec: SessionSpec, subscribers: Subscribers) -> UnboundedSender<ToActor> {
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        team: spec.team,
        agents: spec.agents,
        unattended: spec.unattended,
    };
    let prices = ctx
        .agents
        .iter()
        .filter_map(|(name, a)| a.price.map(|p| (name.clone(), p)))
        .collect();
    let actor = Actor {
        metrics: Metrics::new(prices),
        id: spec.id,
        team_name: spec.team_name,
        pattern: patterns::build(ctx.clone()),
        ctx,
        providers: spec.providers,
        state: SessionState::default(),
        subscribers,
        live: HashMap::new(),
        timers: HashMap::new(),
        timer_generation: 0,
        internal: internal_tx,
        queue: VecDeque::new(),
        hub: spec.tools,
    };
    tokio::spawn(actor.run(spec.history, commands_rx, internal_rx));
    commands_tx
}

/// The actor's own inbox: its turns' pumps and its timers.
enum Internal {
    Turn {
        turn: u64,
        msg: TurnMsg,
    },
    Timer {
        name: String,
        generation: u64,
    },
    /// An MCP call of `turn` ended.
    ToolDone {
        turn: u64,
        call_id: String,
        output: Result<crate::tools::CallOutput, String>,
        ms: u64,
    },
}

struct Actor {
    id: String,
    team_name: String,
    ctx: Ctx,
    pattern: Box<dyn Pattern>,
    providers: BTreeMap<String, Arc<dyn Provider>>,
    state: SessionState,
    subscribers: Subscribers,
    live: HashMap<u64, Live>,
    timers: HashMap<String, (u64, CancellationToken)>,
    timer_generation: u64,
    internal: UnboundedSender<Internal>,
    queue: VecDeque<Input>,
    /// The ledger, folded from the same events: what budgets are checked against.
    metrics: Metrics,
    /// The front end's MCP servers (`None`: no `[mcp]` configured).
    hub: Option<Arc<Hub>>,
}

impl Actor {
    async fn run(
        mut self,
        history: Vec<Event>,
        mut commands: UnboundedReceiver<ToActor>,
        mut internal: UnboundedReceiver<Internal>,
    ) {
        self.begin(&history);
        let stopped = loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(ToActor::Command(cmd)) => {
                        let stop = matches!(cmd, Command::Stop {});
                        let Some(cmd) = self.tool_command(cmd) else {
                            continue;
                        };
                        self.feed(Input::Command(cmd));
                        if stop {
                            break true;
                        }
                    }
                    Some(ToActor::Error { message, command }) => {
                        self.publish(EventKind::Error { message, command });
                    }
                    Some(ToActor::Unattended { policy, ack }) => {
                        self.set_unattended(policy);
                        let _ = ack.send(Settled {
                            task_active: self.state.task.active,
                            turns_running: self.live.len(),
                        });
                    }
                    None => break false,
                },
                Some(msg) = internal.recv() => self.on_internal(msg),
            }
        };
        if stopped {
            self.shutdown();
        } else {
            self.suspend();
        }
    }

    /// Replay the history, or announce a new session.
    fn begin(&mut self, history: &[Event]) {
        for e in history {
            self.state.apply(e);
            self.metrics.apply(e);
        }
        if history.is_empty() {
            let names = patterns::announced_agents(&self.ctx.team);
            let agents = patterns::agent_infos(&self.ctx.agents, &names);
            self.publish(EventKind::SessionStarted {
                team: self.team_name.clone(),
                pattern: self.ctx.team.pattern,
                agents,
            });
            return;
        }
        // A journal cut off mid-task: its turns died with the old process. Close them as
        // interrupted (their partial text kept), then let the pattern carry the task on.
        self.interrupt_calls();
        let interrupted = self.state.running_turns();
        for &turn in &interrupted {
            if let Some(kind) = self.state.cancellation(turn) {
                self.publish(kind);
            }
        }
        if self.state.task.active {
            let stopped_at = history.last().map(|e| e.ts);
            let elapsed_ms = match (self.state.task.started_at, stopped_at) {
                (Some(start), Some(stop)) => (stop - start).num_milliseconds().max(0) as u64,
                _ => 0,
            };
            let effects = self.pattern.resume(&self.state, &interrupted, elapsed_ms);
            for effect in effects {
                self.perform(effect);
            }
            self.drain();
        }
    }

    /// Every handle is gone (the front end quit): drop the streams and timers but record
    /// nothing, so the journal ends as a crash would leave it and a resume carries the task on.
    fn suspend(&mut self) {
        for (_, live) in self.live.drain() {
            live.cancel();
        }
        for (_, (_, token)) in self.timers.drain() {
            token.cancel();
        }
        self.queue.clear();
        self.subscribers.close();
    }

    fn shutdown(&mut self) {
        let running: Vec<u64> = self.live.keys().copied().collect();
        for turn in running {
            self.cancel_turn(turn);
        }
        self.queue.clear();
        for (_, (_, token)) in self.timers.drain() {
            token.cancel();
        }
        if self.state.task.active {
            self.publish(EventKind::SessionFinished {
                outcome: Outcome::Cancelled,
                final_text: None,
            });
        }
        self.subscribers.close();
    }

    /// Patterns read `unattended` from their context: rebuild the pattern with the new one (it
    /// keeps no state of its own), then let it settle what waits for a person.
    fn set_unattended(&mut self, policy: UnattendedApproval) {
        if self.ctx.unattended == Some(policy) {
            return;
        }
        self.ctx.unattended = Some(policy);
        self.pattern = patterns::build(self.ctx.clone());
        self.settle_waiting_calls();
        let input = if self.state.paused {
            Input::Command(Command::Resume {})
        } else {
            Input::Continue
        };
        self.feed(input);
    }

    fn feed(&mut self, input: Input) {
        self.queue.push_back(input);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(input) = self.queue.pop_front() {
            if let Input::TurnEnded { turn } = input
                && self.tool_guard_ended(turn)
            {
                continue;
            }
            let effects = self.pattern.on(&self.state, input);
            for effect in effects {
                self.perform(effect);
            }
        }
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Emit(kind) => self.publish(kind),
            Effect::StartTurn(spec) => self.start_turn(spec, None),
            Effect::CancelTurn(turn) => self.cancel_turn(turn),
            Effect::SetTimer { name, ms } => self.set_timer(name, ms),
            Effect::CancelTimer(name) => {
                if let Some((_, token)) = self.timers.remove(&name) {
                    token.cancel();
                }
            }
            Effect::Finish {
                outcome,
                final_text,
            } => {
                let running: Vec<u64> = self.live.keys().copied().collect();
                for turn in running {
                    self.cancel_turn(turn);
                }
                for (_, (_, token)) in self.timers.drain() {
                    token.cancel();
                }
                self.publish(EventKind::SessionFinished {
                    outcome,
                    final_text,
                });
            }
            Effect::Continue => self.queue.push_back(Input::Continue),
        }
    }

    /// The one door of every event: next `seq`, folded into the state, sent to subscribers.
    fn publish(&mut self, kind: EventKind) {
        let event = Event {
            v: SCHEMA_VERSION,
            seq: self.state.next_seq,
            ts: Utc::now(),
            session: self.id.clone(),
            kind,
        };
        self.state.apply(&event);
        self.metrics.apply(&event);
        self.subscribers.send(&event);
    }

    fn set_timer(&mut self, name: String, ms: u64) {
        self.timer_generation += 1;
        let generation = self.timer_generation;
        let token = CancellationToken::new();
        if let Some((_, old)) = self
            .timers
            .insert(name.clone(), (generation, token.clone()))
        {
            old.cancel();
        }
        let tx = self.internal.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {
                    let _ = tx.send(Internal::Timer { name, generation });
                }
            }
        });
    }

    /// Start `spec` (after a `summarize` turn when its context is a summary still to make).
    fn start_turn(&mut self, spec: TurnSpec, summary: Option<String>) {
        if self.ended_by_budget() {
            // The rest of the effects that came with a call the budget refused.
            return;
        }
        let turn = self.state.next_turn;
        let agent = self.ctx.agents.get(&spec.agent).cloned();
        let provider = agent
            .as_ref()
            .and_then(|a| self.providers.get(&a.backend).cloned());
        let (Some(agent), Some(provider)) = (agent, provider) else {
            self.publish(EventKind::TurnStarted {
                agent: spec.agent.clone(),
                turn,
                round: spec.round,
                purpose: spec.purpose,
            });
            self.publish(EventKind::TurnFailed {
                agent: spec.agent.clone(),
                turn,
                error: ErrorInfo {
                    kind: ErrorKind::Config.into(),
                    message: format!("agent '{}' or its backend is not configured", spec.agent),
                },
                will_retry: false,
                // Nothing was sent.
                usage: crate::core::event::UsageInfo {
                    input: Some(0),
                    output: Some(0),
                    estimated: false,
                },
            });
            self.queue.push_back(Input::TurnEnded { turn });
            return;
        };
        let summarize = match summary {
            None => request::summarize_first(&self.state, &spec),
            Some(_) => None,
        };
        let (spec, then) = match summarize {
            Some(summarize) => (summarize, Some(spec)),
            None => (spec, None),
        };
        let request = request::build(
            &self.state,
            patterns::active_team(&self.ctx.team, &self.state),
            &agent,
            &spec,
            summary.as_deref(),
            provider.supports_tools(),
        );
        if let Some(refusal) = self.over_budget(&spec.agent, &agent, &request) {
            self.refuse(turn, then.unwrap_or(spec), refusal);
            return;
        }
        self.announce(turn, &spec);
        let tx = self.internal.clone();
        let send = move |msg| {
            let _ = tx.send(Internal::Turn { turn, msg });
        };
        let deadline = spec.timeout_ms.or(agent.timeout_ms);
        let fit = FitTo {
            window: agent.context_window,
            task: self.state.task.prompt.clone(),
        };
        let tools = self.turn_tools(&agent, &spec, provider.supports_tools());
        let live = Live::start(provider, (request, fit), deadline, then, tools, send);
        self.live.insert(turn, live);
    }

    /// `turn_started` for `spec`.
    fn announce(&mut self, turn: u64, spec: &TurnSpec) {
        self.publish(EventKind::TurnStarted {
            agent: spec.agent.clone(),
            turn,
            round: spec.round,
            purpose: spec.purpose,
        });
    }

    fn cancel_turn(&mut self, turn: u64) {
        let Some(live) = self.live.remove(&turn) else {
            return;
        };
        live.cancel();
        self.answer_outstanding(
            &live,
            "cancelled: the turn was cancelled before the call ended",
        );
        let Some(mut kind) = self.state.cancellation(turn) else {
            return;
        };
        if let EventKind::TurnCancelled {
            usage,
            partial_text,
            ..
        } = &mut kind
        {
            *usage = live.spent(partial_text, false);
        }
        self.publish(kind);
        self.queue.push_back(Input::TurnEnded { turn });
    }

    fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Timer { name, generation } => {
                if self
                    .timers
                    .get(&name)
                    .is_some_and(|(g, _)| *g == generation)
                {
                    self.timers.remove(&name);
                    if let Some(call_id) = name.strip_prefix(tool_loop::WINDOW_TIMER) {
                        self.window_ended(call_id.to_string());
                        return;
                    }
                    self.feed(Input::Timer(name));
                }
            }
            Internal::Turn { turn, msg } => self.on_turn(turn, msg),
            Internal::ToolDone {
                turn,
                call_id,
                output,
                ms,
            } => self.tool_done(turn, call_id, output, ms),
        }
    }

    fn on_turn(&mut self, turn: u64, msg: TurnMsg) {
        let Some(agent) = self.state.turns.get(&turn).map(|t| t.agent.clone()) else {
            return;
        };
        let Some(live) = self.live.get_mut(&turn) else {
            return;
        };
        match live.absorb(msg, &agent) {
            Step::Quiet => {}
            Step::Waiting(backend) => self.publish(EventKind::TurnWaiting {
                agent,
                turn,
                backend,
            }),
            Step::Notice(kind, text) => self.publish(EventKind::TurnNotice {
                agent,
                turn,
                kind: kind.to_string(),
                text,
            }),
            Step::Token(text) => self.publish(EventKind::Token { agent, turn, text }),
            Step::Retrying(error, usage) => self.publish(EventKind::TurnFailed {
                agent,
                turn,
                error,
                will_retry: true,
                usage,
            }),
            Step::ToolsUnavailable(errors) => {
                for message in errors {
                    self.publish(EventKind::Error {
                        message,
                        command: None,
                    });
                }
            }
            Step::Finished(reason) => {
                if self.tool_step(turn, &agent, &reason) {
                    return;
                }
                let Some(live) = self.live.remove(&turn) else {
                    return;
                };
                let (text, purpose) = self.reply_of(turn);
                let message = live.message(agent, turn, text, purpose, &reason, false);
                self.publish(message);
                self.after_turn(turn, live.then);
            }
            Step::Failed(error, usage) => {
                if error.kind
                    == crate::core::event::ErrorKind::Llm(crate::llm::ErrorKind::CancelledByPeer)
                {
                    self.cancelled_by_peer(turn, usage, &error);
                    return;
                }
                let Err(usage) = self.fall_back(turn, &agent, &error, usage) else {
                    return;
                };
                let then = self.live.remove(&turn).and_then(|l| l.then);
                self.publish(EventKind::TurnFailed {
                    agent,
                    turn,
                    error,
                    will_retry: false,
                    usage,
                });
                self.after_turn(turn, then);
            }
        }
    }

    /// The other side (a remote A2A agent) cancelled the call: the turn ends as `turn_cancelled`
    /// with what it said so far, as if the person had cancelled it, and the reason goes to the log.
    fn cancelled_by_peer(
        &mut self,
        turn: u64,
        usage: crate::core::event::UsageInfo,
        error: &ErrorInfo,
    ) {
        self.live.remove(&turn);
        let Some(mut kind) = self.state.cancellation(turn) else {
            return;
        };
        if let EventKind::TurnCancelled { usage: spent, .. } = &mut kind {
            *spent = usage;
        }
        tracing::info!(turn, reason = %error.message, "the remote side cancelled the turn");
        self.publish(kind);
        self.queue.push_back(Input::TurnEnded { turn });
        self.drain();
    }

    /// The text streamed so far by `turn`'s current model call, and the turn's purpose.
    fn reply_of(&self, turn: u64) -> (String, crate::core::event::Purpose) {
        self.state
            .turns
            .get(&turn)
            .map(|t| (t.text.clone(), t.purpose))
            .unwrap_or_default()
    }

    /// Hand the ended turn to the pattern, or, for a summary, start the turn waiting for it.
    fn after_turn(&mut self, turn: u64, then: Option<TurnSpec>) {
        match then {
            Some(mut spec) => {
                let summary = request::chain_summary(&self.state, turn, &mut spec);
                if summary.is_none() {
                    tracing::warn!(
                        turn,
                        "summary failed; passing the full conversation instead"
                    );
                }
                self.start_turn(spec, summary);
                self.drain();
            }
            None => self.feed(Input::TurnEnded { turn }),
        }
    }
}
