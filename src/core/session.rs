//! The session actor: one tokio task per session that owns the [`SessionState`], `select!`s over
//! the person's commands and the provider streams of its running turns, asks the pattern what to
//! do next, performs the effects and publishes the events.
//!
//! Every event goes through one door ([`Actor::publish`]): it gets the next gap-free `seq`, is
//! folded into the state, then is sent to every subscriber. Fan-out is an unbounded mpsc channel
//! per subscriber rather than a `broadcast` channel on purpose: a broadcast receiver that falls
//! behind loses events, and the journal must never miss one. Each running turn is a small task
//! pumping its provider stream into the actor's inbox; it has its own `CancellationToken`, and
//! cancelling it drops the stream, which closes the HTTP connection. A per-turn deadline
//! (`timeout_ms` of the turn, else of the agent) ends it as `turn_failed` kind `timeout`. Context
//! mode `summary` first runs a `summarize` turn of the same agent, whose text becomes the context.
//! Sessions share nothing but their providers, so many run in one process without interfering.
//! A session started with a history (resume) folds it first, closes the turns that were streaming
//! when the previous process died as `turn_cancelled` (partial text kept), then asks the pattern
//! to carry an unfinished task on ([`Pattern::resume`]); `seq` continues after the history's last.
//! A session with a person present can lose them ([`SessionHandle::set_unattended`]: a headless
//! control script ended): the pattern is rebuilt with the `--approve` policy and asked to go on
//! (a paused session is resumed first), so nothing waits for a person who will never come.
//! The actor acknowledges it once done ([`Settled`]): commands are handled in order, so by then
//! every event the earlier commands caused has been published, and the front end can tell a
//! session that will still do something from one that is idle for good.
//! The actor ends after `stop` (a running task finishes `cancelled`), or when every
//! [`SessionHandle`] is dropped (the front end quit: streams are dropped and nothing more is
//! recorded, so the task stays open for a resume); then every event stream ends too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::{AgentConfig, ContextMode, TeamConfig};
use crate::core::command::Command;
use crate::core::context;
use crate::core::event::{
    AgentInfo, ErrorInfo, Event, EventKind, Outcome, PatternKind, Purpose, SCHEMA_VERSION,
    ToolCallInfo, UsageInfo,
};
use crate::core::patterns::{self, Ctx, Effect, Input, Pattern, TurnSpec};
use crate::core::state::{SessionState, TurnStatus};
use crate::core::tools;
use crate::llm::{
    ChatMessage, ChatRequest, ErrorKind, LlmError, LlmEvent, Provider, ToolCall, ToolChoice, Usage,
};

pub use crate::core::patterns::UnattendedApproval;

/// Everything a session needs to run.
pub struct SessionSpec {
    pub id: String,
    pub team_name: String,
    pub team: TeamConfig,
    /// At least every agent the team references.
    pub agents: BTreeMap<String, AgentConfig>,
    /// Keyed by backend name (`AgentConfig.backend`).
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// Replayed first (resume/fork); empty when new.
    pub history: Vec<Event>,
    /// `None`: a person is present; `Some(Auto|Reject)`: headless `--approve`.
    pub unattended: Option<UnattendedApproval>,
}

/// Events of one session, in `seq` order, none missing.
pub type EventStream = UnboundedReceiver<Event>;

/// Why a session could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "team '{team}' uses agent '{agent}', which is not defined: add [agents.{agent}] or fix the team"
    )]
    UnknownAgent { team: String, agent: String },
    #[error(
        "agent '{agent}' uses backend '{backend}', which is not available: add [backends.{backend}] or fix the agent"
    )]
    UnknownBackend { agent: String, backend: String },
    #[error("team '{team}': {message}")]
    InvalidTeam { team: String, message: String },
}

/// What the actor reports once it has handled [`SessionHandle::set_unattended`]: every event
/// caused by the commands sent before it has been published by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// A task is under way (it will end with `session_finished`).
    pub task_active: bool,
    /// Turns whose streams are still being read.
    pub turns_running: usize,
}

impl Settled {
    /// No task and no turn: without a new command nothing more will happen.
    pub fn is_idle(&self) -> bool {
        !self.task_active && self.turns_running == 0
    }
}

/// The session has ended; commands can no longer be sent.
#[derive(Debug, thiserror::Error)]
#[error("session {0} has ended")]
pub struct SessionClosed(pub String);

type Subscribers = Arc<Mutex<Fanout>>;

/// The subscribers' senders; `closed` once the actor has ended, so every stream ends too.
#[derive(Default)]
struct Fanout {
    senders: Vec<UnboundedSender<Event>>,
    closed: bool,
}

/// A session built and checked, not running yet.
pub struct Session {
    spec: SessionSpec,
    subscribers: Subscribers,
}

impl Session {
    /// Checks that every agent the team references exists and has its backend.
    pub fn new(spec: SessionSpec) -> Result<Session, SessionError> {
        let team = &spec.team_name;
        for agent in patterns::referenced_agents(&spec.team) {
            let Some(cfg) = spec.agents.get(&agent) else {
                return Err(SessionError::UnknownAgent {
                    team: team.clone(),
                    agent,
                });
            };
            if !spec.providers.contains_key(&cfg.backend) {
                return Err(SessionError::UnknownBackend {
                    agent,
                    backend: cfg.backend.clone(),
                });
            }
        }
        let needs_members = match spec.team.pattern {
            PatternKind::Handoff => false,
            PatternKind::Sequential => spec.team.steps.is_empty(),
            _ => true,
        };
        if needs_members && spec.team.members.is_empty() {
            return Err(SessionError::InvalidTeam {
                team: team.clone(),
                message: "the team has no members: add members = [\"agent\", …]".into(),
            });
        }
        if spec.team.pattern == PatternKind::Handoff
            && spec.team.entry.is_none()
            && spec.team.members.is_empty()
        {
            return Err(SessionError::InvalidTeam {
                team: team.clone(),
                message: "a handoff team needs `entry` or `members`".into(),
            });
        }
        Ok(Session {
            spec,
            subscribers: Arc::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Every event published after `start`, in `seq` order.
    pub fn subscribe(&mut self) -> EventStream {
        add_subscriber(&self.subscribers)
    }

    /// Spawn the actor on the current tokio runtime.
    pub fn start(self) -> SessionHandle {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let spec = self.spec;
        let ctx = Ctx {
            team: spec.team,
            agents: spec.agents,
            unattended: spec.unattended,
        };
        let handle = SessionHandle {
            id: Arc::from(spec.id.as_str()),
            commands: commands_tx,
            subscribers: self.subscribers.clone(),
        };
        let actor = Actor {
            id: spec.id,
            team_name: spec.team_name,
            pattern: patterns::build(ctx.clone()),
            ctx,
            providers: spec.providers,
            state: SessionState::default(),
            subscribers: self.subscribers,
            live: HashMap::new(),
            timers: HashMap::new(),
            timer_generation: 0,
            internal: internal_tx,
            queue: VecDeque::new(),
        };
        tokio::spawn(actor.run(spec.history, commands_rx, internal_rx));
        handle
    }
}

/// A cheap, clonable handle on a running session.
#[derive(Clone)]
pub struct SessionHandle {
    id: Arc<str>,
    commands: UnboundedSender<ToActor>,
    subscribers: Subscribers,
}

impl SessionHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn send(&self, command: Command) -> Result<(), SessionClosed> {
        self.commands
            .send(ToActor::Command(command))
            .map_err(|_| SessionClosed(self.id.to_string()))
    }

    /// Publish an `error` event through the session (it gets the next `seq` and is journaled like
    /// every other event): for input the front end could not turn into a command, `command`
    /// carrying the offending input.
    pub fn report_error(
        &self,
        message: String,
        command: Option<serde_json::Value>,
    ) -> Result<(), SessionClosed> {
        self.commands
            .send(ToActor::Error { message, command })
            .map_err(|_| SessionClosed(self.id.to_string()))
    }

    /// Nobody is present any more (a `--control` script ended): from now on approvals follow
    /// `policy`, a person's speaker choice falls back to round robin, and a paused session
    /// resumes. What was waiting for the person is settled at once. The receiver resolves once
    /// the actor has done so (see [`Settled`]); it is dropped unanswered if the session ends
    /// first. Calling it again with the same policy changes nothing and acknowledges again.
    pub fn set_unattended(
        &self,
        policy: UnattendedApproval,
    ) -> Result<oneshot::Receiver<Settled>, SessionClosed> {
        let (ack, settled) = oneshot::channel();
        self.commands
            .send(ToActor::Unattended { policy, ack })
            .map_err(|_| SessionClosed(self.id.to_string()))?;
        Ok(settled)
    }

    /// Events from now on; the stream ends when the session does.
    pub fn subscribe(&self) -> EventStream {
        add_subscriber(&self.subscribers)
    }

    /// Whether the actor has ended (after `stop`); commands would fail.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

/// A sortable, readable id for a session starting now: `20261121-131500-k3x9`. Every new
/// session gets its id here, forks included.
pub fn new_session_id() -> String {
    session_id_at(Utc::now())
}

/// The id of a session started at `now`: the UTC start time (so ids sort by age) and four random
/// characters of `[a-z0-9]`.
pub fn session_id_at(now: chrono::DateTime<Utc>) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..4)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    format!("{}-{suffix}", now.format("%Y%m%d-%H%M%S"))
}

fn add_subscriber(subscribers: &Subscribers) -> EventStream {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut fanout = lock(subscribers);
    if !fanout.closed {
        fanout.senders.push(tx);
    }
    rx
}

fn lock(subscribers: &Subscribers) -> std::sync::MutexGuard<'_, Fanout> {
    match subscribers.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What a running turn's pump tells the actor.
enum TurnMsg {
    Llm(LlmEvent),
    Error(LlmError),
    /// The stream ended without `Finished`.
    Ended,
    Timeout(u64),
}

/// What a [`SessionHandle`] sends the actor.
enum ToActor {
    Command(Command),
    /// An `error` event to publish (an invalid control line the session never saw as a command).
    Error {
        message: String,
        command: Option<serde_json::Value>,
    },
    /// See [`SessionHandle::set_unattended`].
    Unattended {
        policy: UnattendedApproval,
        ack: oneshot::Sender<Settled>,
    },
}

enum Internal {
    Turn { turn: u64, msg: TurnMsg },
    Timer { name: String, generation: u64 },
}

/// A turn whose stream is being read.
struct Live {
    cancel: CancellationToken,
    started: Instant,
    first_token: Option<Instant>,
    tool_calls: Vec<ToolCall>,
    usage: Usage,
    /// For a `summarize` turn: the turn that waits for the summary.
    then: Option<TurnSpec>,
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
        }
        if history.is_empty() {
            let agents = patterns::referenced_agents(&self.ctx.team)
                .into_iter()
                .filter_map(|name| {
                    let a = self.ctx.agents.get(&name)?;
                    Some(AgentInfo {
                        backend: a.backend.clone(),
                        model: a.model.clone(),
                        color: a.color.clone(),
                        price: a.price,
                        name,
                    })
                })
                .collect();
            self.publish(EventKind::SessionStarted {
                team: self.team_name.clone(),
                pattern: self.ctx.team.pattern,
                agents,
            });
            return;
        }
        // A journal cut off mid-task: its turns died with the old process. Close them as
        // interrupted (their partial text kept), then let the pattern carry the task on.
        let interrupted = self.state.running_turns();
        for &turn in &interrupted {
            let t = &self.state.turns[&turn];
            let kind = EventKind::TurnCancelled {
                agent: t.agent.clone(),
                turn,
                partial_text: t.text.clone(),
            };
            self.publish(kind);
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
            live.cancel.cancel();
        }
        for (_, (_, token)) in self.timers.drain() {
            token.cancel();
        }
        self.queue.clear();
        let mut fanout = lock(&self.subscribers);
        fanout.closed = true;
        fanout.senders.clear();
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
        let mut fanout = lock(&self.subscribers);
        fanout.closed = true;
        fanout.senders.clear();
    }

    /// Patterns read `unattended` from their context: rebuild the pattern with the new one (it
    /// keeps no state of its own), then let it settle what waits for a person.
    fn set_unattended(&mut self, policy: UnattendedApproval) {
        if self.ctx.unattended == Some(policy) {
            return;
        }
        self.ctx.unattended = Some(policy);
        self.pattern = patterns::build(self.ctx.clone());
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

    fn publish(&mut self, kind: EventKind) {
        let event = Event {
            v: SCHEMA_VERSION,
            seq: self.state.next_seq,
            ts: Utc::now(),
            session: self.id.clone(),
            kind,
        };
        self.state.apply(&event);
        lock(&self.subscribers)
            .senders
            .retain(|tx| tx.send(event.clone()).is_ok());
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

    fn start_turn(&mut self, spec: TurnSpec, summary: Option<String>) {
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
                    kind: ErrorKind::Config.as_str().into(),
                    message: format!("agent '{}' or its backend is not configured", spec.agent),
                },
                will_retry: false,
            });
            self.queue.push_back(Input::TurnEnded { turn });
            return;
        };
        let wants_summary = spec.context == ContextMode::Summary
            && summary.is_none()
            && spec.purpose != Purpose::Summarize
            && !self.state.entries.is_empty();
        if wants_summary {
            let summarize = TurnSpec {
                agent: spec.agent.clone(),
                purpose: Purpose::Summarize,
                round: None,
                instructions: Some(format!(
                    "Summarize the conversation so far in a few sentences for {}: keep facts, decisions and open questions.",
                    spec.agent
                )),
                tools: Vec::new(),
                tool_choice: ToolChoice::Auto,
                context: ContextMode::Full,
                timeout_ms: spec.timeout_ms,
            };
            self.launch(turn, summarize, &agent, provider, None, Some(spec));
            return;
        }
        self.launch(turn, spec, &agent, provider, summary, None);
    }

    fn launch(
        &mut self,
        turn: u64,
        spec: TurnSpec,
        agent: &AgentConfig,
        provider: Arc<dyn Provider>,
        summary: Option<String>,
        then: Option<TurnSpec>,
    ) {
        self.publish(EventKind::TurnStarted {
            agent: spec.agent.clone(),
            turn,
            round: spec.round,
            purpose: spec.purpose,
        });
        let mut messages = match &summary {
            Some(s) => context::from_summary(&self.state, s),
            None => context::messages(&self.state, &self.ctx.team, &spec.agent, spec.context),
        };
        if let Some(instructions) = &spec.instructions {
            messages.push(ChatMessage::User {
                text: instructions.clone(),
            });
        }
        let supports_tools = provider.supports_tools();
        let mut system = agent.system.clone();
        if !supports_tools && !spec.tools.is_empty() {
            let markers: Vec<String> = spec.tools.iter().map(tools::marker_instructions).collect();
            let markers = markers.join("\n");
            system = Some(match system {
                Some(s) => format!("{s}\n\n{markers}"),
                None => markers,
            });
        }
        let (tools, tool_choice) = if supports_tools && !spec.tools.is_empty() {
            (spec.tools.clone(), spec.tool_choice.clone())
        } else {
            (Vec::new(), ToolChoice::Auto)
        };
        let request = ChatRequest {
            model: agent.model.clone(),
            system,
            messages,
            tools,
            tool_choice,
            max_tokens: agent.max_tokens,
            temperature: agent.temperature,
        };
        let cancel = CancellationToken::new();
        self.live.insert(
            turn,
            Live {
                cancel: cancel.clone(),
                started: Instant::now(),
                first_token: None,
                tool_calls: Vec::new(),
                usage: Usage::default(),
                then,
            },
        );
        let deadline = spec.timeout_ms.or(agent.timeout_ms);
        tokio::spawn(pump(
            provider,
            request,
            cancel,
            deadline,
            turn,
            self.internal.clone(),
        ));
    }

    fn cancel_turn(&mut self, turn: u64) {
        let Some(live) = self.live.remove(&turn) else {
            return;
        };
        live.cancel.cancel();
        let Some(t) = self.state.turns.get(&turn) else {
            return;
        };
        let kind = EventKind::TurnCancelled {
            agent: t.agent.clone(),
            turn,
            partial_text: t.text.clone(),
        };
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
                    self.feed(Input::Timer(name));
                }
            }
            Internal::Turn { turn, msg } => self.on_turn(turn, msg),
        }
    }

    fn on_turn(&mut self, turn: u64, msg: TurnMsg) {
        let Some(agent) = self.state.turns.get(&turn).map(|t| t.agent.clone()) else {
            return;
        };
        let Some(live) = self.live.get_mut(&turn) else {
            return;
        };
        match msg {
            TurnMsg::Llm(LlmEvent::TextDelta(text)) => {
                live.first_token.get_or_insert_with(Instant::now);
                self.publish(EventKind::Token { agent, turn, text });
            }
            TurnMsg::Llm(LlmEvent::ToolCall(call)) => {
                live.first_token.get_or_insert_with(Instant::now);
                live.tool_calls.push(call);
            }
            TurnMsg::Llm(LlmEvent::Usage(usage)) => live.usage = usage,
            TurnMsg::Llm(LlmEvent::Retrying { error, .. }) => {
                self.publish(EventKind::TurnFailed {
                    agent,
                    turn,
                    error: info(&error),
                    will_retry: true,
                });
            }
            TurnMsg::Llm(LlmEvent::Finished(reason)) => {
                let Some(live) = self.live.remove(&turn) else {
                    return;
                };
                let now = Instant::now();
                let text = self
                    .state
                    .turns
                    .get(&turn)
                    .map(|t| t.text.clone())
                    .unwrap_or_default();
                let purpose = self
                    .state
                    .turns
                    .get(&turn)
                    .map(|t| t.purpose)
                    .unwrap_or_default();
                self.publish(EventKind::Message {
                    agent,
                    turn,
                    text,
                    usage: UsageInfo {
                        input: live.usage.input,
                        output: live.usage.output,
                    },
                    ttft_ms: live
                        .first_token
                        .map(|f| f.duration_since(live.started).as_millis() as u64),
                    latency_ms: now.duration_since(live.started).as_millis() as u64,
                    finish: reason.as_str().to_string(),
                    purpose,
                    tool_calls: live
                        .tool_calls
                        .iter()
                        .map(|c| ToolCallInfo {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        })
                        .collect(),
                });
                self.after_turn(turn, live.then);
            }
            TurnMsg::Error(error) => {
                let then = self.live.remove(&turn).and_then(|l| l.then);
                self.publish(EventKind::TurnFailed {
                    agent,
                    turn,
                    error: info(&error),
                    will_retry: false,
                });
                self.after_turn(turn, then);
            }
            TurnMsg::Ended => {
                let then = self.live.remove(&turn).and_then(|l| l.then);
                self.publish(EventKind::TurnFailed {
                    agent: agent.clone(),
                    turn,
                    error: ErrorInfo {
                        kind: ErrorKind::Protocol.as_str().into(),
                        message: format!(
                            "the stream of {agent} ended before the reply was finished"
                        ),
                    },
                    will_retry: false,
                });
                self.after_turn(turn, then);
            }
            TurnMsg::Timeout(ms) => {
                let then = self.live.remove(&turn).and_then(|l| {
                    l.cancel.cancel();
                    l.then
                });
                self.publish(EventKind::TurnFailed {
                    agent: agent.clone(),
                    turn,
                    error: ErrorInfo {
                        kind: ErrorKind::Timeout.as_str().into(),
                        message: format!(
                            "{agent} did not finish within {ms} ms (timeout_ms); raise it in the config if the model is slow"
                        ),
                    },
                    will_retry: false,
                });
                self.after_turn(turn, then);
            }
        }
    }

    /// Hand the ended turn to the pattern, or, for a summary, start the turn waiting for it.
    fn after_turn(&mut self, turn: u64, then: Option<TurnSpec>) {
        match then {
            Some(mut spec) => {
                let summary = self
                    .state
                    .turns
                    .get(&turn)
                    .filter(|t| t.status == TurnStatus::Completed && !t.text.trim().is_empty())
                    .map(|t| t.text.clone());
                if summary.is_none() {
                    tracing::warn!(
                        turn,
                        "summary failed; passing the full conversation instead"
                    );
                    spec.context = ContextMode::Full;
                }
                self.start_turn(spec, summary);
                self.drain();
            }
            None => self.feed(Input::TurnEnded { turn }),
        }
    }
}

fn info(error: &LlmError) -> ErrorInfo {
    ErrorInfo {
        kind: error.kind.as_str().into(),
        message: error.to_string(),
    }
}

/// Read one turn's stream into the actor's inbox until it ends, fails, times out or is cancelled.
/// Returning drops the stream, which closes its connection.
async fn pump(
    provider: Arc<dyn Provider>,
    request: ChatRequest,
    cancel: CancellationToken,
    deadline_ms: Option<u64>,
    turn: u64,
    tx: UnboundedSender<Internal>,
) {
    let mut stream = provider.stream(request, cancel.clone());
    let send = |msg: TurnMsg| {
        let _ = tx.send(Internal::Turn { turn, msg });
    };
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

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_are_sortable_and_readable() {
        let id = super::new_session_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0].len(), 8);
        assert_eq!(parts[1].len(), 6);
        assert!(
            parts[0]
                .chars()
                .chain(parts[1].chars())
                .all(|c| c.is_ascii_digit())
        );
        assert!(
            parts[2].len() == 4
                && parts[2]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
