//! A pure test driver: performs effects exactly as the session actor does, minus the IO, so each
//! pattern transition can be tested without tokio or a provider.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::config::{AgentConfig, TeamConfig};
use crate::core::command::Command;
use crate::core::event::{
    ErrorInfo, Event, EventKind, Outcome, PatternKind, ToolCallInfo, UsageInfo,
};
use crate::core::patterns::{Ctx, Effect, Input, Pattern, TurnSpec, UnattendedApproval, build};
use crate::core::state::SessionState;

pub struct Reply {
    pub text: String,
    pub calls: Vec<ToolCallInfo>,
    pub finish: String,
    pub usage: (u64, u64),
}

pub fn reply(text: &str) -> Reply {
    Reply {
        text: text.into(),
        calls: Vec::new(),
        finish: "stop".into(),
        usage: (0, 0),
    }
}

pub fn tool(text: &str, name: &str, args: serde_json::Value) -> Reply {
    let mut r = reply(text);
    r.calls.push(ToolCallInfo {
        id: format!("call_{name}"),
        name: name.into(),
        arguments: args.to_string(),
    });
    r
}

/// A reply with several tool calls (ids `call_0`, `call_1`, …).
pub fn tools(text: &str, calls: &[(&str, serde_json::Value)]) -> Reply {
    let mut r = reply(text);
    for (i, (name, args)) in calls.iter().enumerate() {
        r.calls.push(ToolCallInfo {
            id: format!("call_{i}"),
            name: name.to_string(),
            arguments: args.to_string(),
        });
    }
    r
}

pub struct Sim {
    pub ctx: Ctx,
    pub pattern: Box<dyn Pattern>,
    pub state: SessionState,
    pub log: Vec<Event>,
    pub specs: BTreeMap<u64, TurnSpec>,
    pub timers: BTreeSet<String>,
    /// The length each timer was last set to.
    pub timer_ms: BTreeMap<String, u64>,
    mark: usize,
}

impl Sim {
    pub fn new(pattern: PatternKind, members: &[&str], tweak: impl FnOnce(&mut TeamConfig)) -> Sim {
        let mut team = TeamConfig::new(pattern);
        team.members = members.iter().map(|m| m.to_string()).collect();
        tweak(&mut team);
        let agents = crate::core::patterns::referenced_agents(&team)
            .into_iter()
            .map(|a| {
                (
                    a.clone(),
                    AgentConfig {
                        backend: "b".into(),
                        model: a,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let ctx = Ctx {
            team,
            agents,
            unattended: None,
        };
        let mut sim = Sim {
            pattern: build(ctx.clone()),
            ctx,
            state: SessionState::default(),
            log: Vec::new(),
            specs: BTreeMap::new(),
            timers: BTreeSet::new(),
            timer_ms: BTreeMap::new(),
            mark: 0,
        };
        sim.emit(EventKind::SessionStarted {
            team: "t".into(),
            pattern,
            agents: Vec::new(),
        });
        sim
    }

    pub fn unattended(mut self, u: UnattendedApproval) -> Sim {
        self.ctx.unattended = Some(u);
        self.pattern = build(self.ctx.clone());
        self
    }

    /// Rebuild the pattern from a replay of the journal so far (what resume does).
    pub fn resume(&mut self) {
        self.state = SessionState::replay(&self.log);
        self.pattern = build(self.ctx.clone());
    }

    /// What a resumed session does: rebuild from the journal so far, close the turns that were
    /// streaming as interrupted, then let the pattern carry the task on.
    pub fn restart(&mut self, elapsed_ms: u64) {
        self.resume();
        self.timers.clear();
        self.mark = self.log.len();
        let interrupted = self.state.running_turns();
        for &turn in &interrupted {
            if let Some(kind) = self.state.cancellation(turn) {
                self.emit(kind);
            }
        }
        if !self.state.task.active {
            return;
        }
        let mut queue = VecDeque::new();
        let effects = self.pattern.resume(&self.state, &interrupted, elapsed_ms);
        for effect in effects {
            self.perform(effect, &mut queue);
        }
        while let Some(input) = queue.pop_front() {
            let effects = self.pattern.on(&self.state, input);
            for effect in effects {
                self.perform(effect, &mut queue);
            }
        }
    }

    pub fn send(&mut self, text: &str) {
        self.command(Command::Send {
            text: text.into(),
            to: None,
        });
    }

    pub fn command(&mut self, cmd: Command) {
        self.input(Input::Command(cmd));
    }

    pub fn timer(&mut self, name: &str) {
        assert!(self.timers.remove(name), "timer {name} is not set");
        self.input(Input::Timer(name.into()));
    }

    pub fn input(&mut self, input: Input) {
        self.mark = self.log.len();
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            let effects = self.pattern.on(&self.state, input);
            for effect in effects {
                self.perform(effect, &mut queue);
            }
        }
    }

    /// What the pattern would do for `input` now, without doing it.
    pub fn decide(&mut self, input: Input) -> Vec<Effect> {
        self.pattern.on(&self.state, input)
    }

    fn perform(&mut self, effect: Effect, queue: &mut VecDeque<Input>) {
        match effect {
            Effect::Emit(kind) => self.emit(kind),
            Effect::StartTurn(spec) => {
                let turn = self.state.next_turn;
                self.emit(EventKind::TurnStarted {
                    agent: spec.agent.clone(),
                    turn,
                    round: spec.round,
                    purpose: spec.purpose,
                });
                self.specs.insert(turn, spec);
            }
            Effect::CancelTurn(turn) => self.cancel(turn, queue),
            Effect::SetTimer { name, ms } => {
                self.timer_ms.insert(name.clone(), ms);
                self.timers.insert(name);
            }
            Effect::CancelTimer(name) => {
                self.timers.remove(&name);
            }
            Effect::Finish {
                outcome,
                final_text,
            } => {
                for turn in self.state.running_turns() {
                    self.cancel(turn, queue);
                }
                self.timers.clear();
                self.emit(EventKind::SessionFinished {
                    outcome,
                    final_text,
                });
            }
            Effect::Continue => queue.push_back(Input::Continue),
        }
    }

    fn cancel(&mut self, turn: u64, queue: &mut VecDeque<Input>) {
        let running = self
            .state
            .turns
            .get(&turn)
            .is_some_and(|t| t.status == crate::core::state::TurnStatus::Running);
        let Some(kind) = self.state.cancellation(turn).filter(|_| running) else {
            return;
        };
        self.emit(kind);
        queue.push_back(Input::TurnEnded { turn });
    }

    pub fn emit(&mut self, kind: EventKind) {
        let e = Event {
            v: 1,
            seq: self.state.next_seq,
            ts: chrono::DateTime::UNIX_EPOCH,
            session: "s".into(),
            kind,
        };
        self.state.apply(&e);
        self.log.push(e);
    }

    /// The oldest running turn of `agent`.
    pub fn turn_of(&self, agent: &str) -> u64 {
        self.state
            .running_turns()
            .into_iter()
            .find(|t| self.state.turns[t].agent == agent)
            .unwrap_or_else(|| {
                panic!(
                    "{agent} has no running turn; running: {:?}",
                    self.running_agents()
                )
            })
    }

    pub fn spec_of(&self, agent: &str) -> &TurnSpec {
        &self.specs[&self.turn_of(agent)]
    }

    pub fn stream(&mut self, agent: &str, text: &str) {
        let turn = self.turn_of(agent);
        self.emit(EventKind::Token {
            agent: agent.into(),
            turn,
            text: text.into(),
        });
    }

    pub fn complete(&mut self, agent: &str, r: Reply) {
        let turn = self.turn_of(agent);
        self.complete_turn(turn, r);
    }

    /// Complete running turn `turn` (when an agent runs several turns at once).
    pub fn complete_turn(&mut self, turn: u64, r: Reply) {
        let agent = self.state.turns[&turn].agent.clone();
        let agent = agent.as_str();
        let purpose = self.state.turns[&turn].purpose;
        self.mark = self.log.len();
        self.emit(EventKind::Message {
            agent: agent.into(),
            turn,
            text: r.text,
            usage: UsageInfo {
                input: Some(r.usage.0),
                output: Some(r.usage.1),
                estimated: false,
            },
            ttft_ms: None,
            latency_ms: 0,
            finish: r.finish.into(),
            purpose,
            tool_calls: r.calls,
            served_by: None,
            continues: false,
        });
        let mark = self.mark;
        self.input(Input::TurnEnded { turn });
        self.mark = mark;
    }

    pub fn fail(&mut self, agent: &str, kind: &str) {
        let turn = self.turn_of(agent);
        self.fail_turn(turn, kind);
    }

    /// Fail running turn `turn` (when an agent runs several turns at once).
    pub fn fail_turn(&mut self, turn: u64, kind: &str) {
        let agent = self.state.turns[&turn].agent.clone();
        let agent = agent.as_str();
        self.mark = self.log.len();
        self.emit(EventKind::TurnFailed {
            agent: agent.into(),
            turn,
            error: ErrorInfo {
                kind: kind.into(),
                message: format!("{kind} failure"),
            },
            will_retry: false,
            usage: Default::default(),
        });
        let mark = self.mark;
        self.input(Input::TurnEnded { turn });
        self.mark = mark;
    }

    pub fn running_agents(&self) -> Vec<String> {
        self.state
            .running_turns()
            .into_iter()
            .map(|t| self.state.turns[&t].agent.clone())
            .collect()
    }

    pub fn finished(&self) -> Option<(Outcome, Option<String>)> {
        self.state
            .finished
            .as_ref()
            .map(|f| (f.outcome, f.final_text.clone()))
    }

    pub fn events(&self) -> Vec<EventKind> {
        self.log.iter().map(|e| e.kind.clone()).collect()
    }

    /// Events since the last input.
    pub fn recent(&self) -> Vec<EventKind> {
        self.log[self.mark..]
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }

    /// The `error` event emitted by the last input, if any.
    pub fn last_error(&self) -> Option<String> {
        self.recent().into_iter().find_map(|k| match k {
            EventKind::Error { message, .. } => Some(message),
            _ => None,
        })
    }
}
