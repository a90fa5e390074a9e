//! Metrics: a pure fold over a session's events (the console's metrics panel, `conclave run`'s
//! summary, budget checks).
//!
//! Mental model: [`Metrics::apply`] looks at one event at a time and updates per-agent counters;
//! nothing is measured here, every number comes from the events themselves (`message.usage`,
//! `ttft_ms`, `latency_ms`), so a journal replayed on resume gives the same figures. Model calls
//! that are not conversation turns (a manager's `select_speaker`, a judge's scores, a vote, a
//! summary) count for the agent that made them and are also broken down by [`Purpose`].
//! Every call counts (the ledger): a `message`, and the `usage` of a `turn_failed` (each failed
//! attempt) and a `turn_cancelled` (a cancelled turn, the loser of a first-success race), by
//! agent and by [`Purpose`]. Counts the server did not report were estimated by the session
//! (`usage.estimated`); such figures are flagged `estimated` here and shown with `~`. Counts of
//! old journals that are simply unknown (`None`) stay unknown rather than becoming zero.
//! Cost is priced per million tokens, each call at the model that served it: the agent's
//! `price`, or its `fallback` model's after a `backend_fallback`. Prices come from
//! [`Metrics::new`] (the config, a journal header) and from `session_started`, which carries them,
//! so a journal alone gives the cost the live session showed. [`cost_of`] is the one cost
//! formula; budgets ([`budget`]: what is shown as left is what the session enforces), summaries
//! and exports all price through it; [`forecast`] estimates a group chat before it starts.

pub mod budget;
pub mod forecast;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::config::schema::{Budget, Price};
use crate::core::event::{Event, EventKind, ModelRef, Outcome, Purpose, UsageInfo};

/// Everything measured so far, per agent and for the whole session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    prices: BTreeMap<String, Price>,
    /// Prices of fallback models: (agent, backend, model) → price.
    fallback_prices: BTreeMap<(String, String, String), Price>,
    /// Each turn's purpose, from `turn_started` (failed and cancelled calls do not repeat it).
    turn_purpose: HashMap<u64, Purpose>,
    /// The fallback model serving a turn, from `backend_fallback`.
    turn_model: HashMap<u64, ModelRef>,
    /// Per agent, in name order.
    pub agents: BTreeMap<String, AgentMetrics>,
    pub totals: Totals,
    pub started: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
}

/// One agent's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentMetrics {
    /// Model calls started (`turn_started`), whatever their purpose.
    pub turns: u64,
    /// Model calls that completed (`message`).
    pub messages: u64,
    pub cancelled: u64,
    /// Failures that ended a turn (`turn_failed` without a retry).
    pub errors: u64,
    /// Failures that were tried again (`turn_failed` with `will_retry`).
    pub retries: u64,
    /// Sums of the counts the backend reported; `None` while none was reported.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Messages whose usage (input or output) is unknown (journals from before estimates).
    pub unknown_usage: u64,
    /// Calls whose usage was estimated, not reported.
    pub estimated: u64,
    /// Calls a fallback model served after the agent's backend failed.
    pub fallbacks: u64,
    pub ttft_last_ms: Option<u64>,
    pub latency_last_ms: Option<u64>,
    /// Output tokens per second of the last message: output / (latency − ttft).
    pub tokens_per_sec_last: Option<f64>,
    /// `None` when the agent has no price.
    pub cost: Option<f64>,
    pub by_purpose: HashMap<Purpose, PurposeMetrics>,
    ttft_sum_ms: u64,
    ttft_count: u64,
    latency_sum_ms: u64,
    gen_tokens: u64,
    gen_ms: u64,
}

/// The calls one agent made for one purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PurposeMetrics {
    pub calls: u64,
    /// Calls that completed (`message`).
    pub messages: u64,
    /// Calls cancelled, and attempts that failed.
    pub cancelled: u64,
    pub failed: u64,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost: Option<f64>,
    /// Some of the counts were estimated.
    pub estimated: bool,
}

/// The whole session.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub turns: u64,
    pub messages: u64,
    pub errors: u64,
    pub retries: u64,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost: Option<f64>,
    /// Some of the counts were estimated.
    pub estimated: bool,
    pub cancelled: u64,
    pub votes: u64,
    pub handoffs: u64,
    pub user_messages: u64,
}

impl Metrics {
    /// Start empty; `prices` maps agent name → price per million tokens.
    pub fn new(prices: BTreeMap<String, Price>) -> Metrics {
        Metrics {
            prices,
            ..Metrics::default()
        }
    }

    /// Fold one event in.
    pub fn apply(&mut self, e: &Event) {
        self.started.get_or_insert(e.ts);
        self.last_event = Some(e.ts);
        match &e.kind {
            EventKind::SessionStarted { agents, .. }
            | EventKind::AgentsAnnounced { agents, .. } => {
                for a in agents {
                    self.agents.entry(a.name.clone()).or_default();
                    if let Some(price) = a.price {
                        self.prices.insert(a.name.clone(), price);
                    }
                    for f in &a.fallback {
                        if let Some(price) = f.price {
                            let key = (a.name.clone(), f.backend.clone(), f.model.clone());
                            self.fallback_prices.insert(key, price);
                        }
                    }
                }
            }
            EventKind::UserMessage { .. } => self.totals.user_messages += 1,
            EventKind::TurnStarted {
                agent,
                purpose,
                turn,
                ..
            } => {
                self.turn_purpose.insert(*turn, *purpose);
                let m = self.agents.entry(agent.clone()).or_default();
                m.turns += 1;
                m.by_purpose.entry(*purpose).or_default().calls += 1;
                self.totals.turns += 1;
            }
            EventKind::Message {
                agent,
                turn,
                usage,
                ttft_ms,
                latency_ms,
                purpose,
                served_by,
                ..
            } => {
                if let Some(model) = served_by {
                    self.turn_model.insert(*turn, ModelRef::clone(model));
                }
                let m = self.agents.entry(agent.clone()).or_default();
                m.record_message(usage.input, usage.output, *ttft_ms, *latency_ms);
                m.by_purpose.entry(*purpose).or_default().messages += 1;
                self.totals.messages += 1;
                self.spend(agent, *turn, *purpose, usage);
            }
            EventKind::TurnFailed {
                agent,
                turn,
                will_retry,
                usage,
                ..
            } => {
                let purpose = self.purpose_of(*turn);
                let m = self.agents.entry(agent.clone()).or_default();
                if *will_retry {
                    m.retries += 1;
                    self.totals.retries += 1;
                } else {
                    m.errors += 1;
                    self.totals.errors += 1;
                }
                m.by_purpose.entry(purpose).or_default().failed += 1;
                self.spend(agent, *turn, purpose, usage);
            }
            EventKind::TurnCancelled {
                agent, turn, usage, ..
            } => {
                let purpose = self.purpose_of(*turn);
                let m = self.agents.entry(agent.clone()).or_default();
                m.cancelled += 1;
                m.by_purpose.entry(purpose).or_default().cancelled += 1;
                self.totals.cancelled += 1;
                self.spend(agent, *turn, purpose, usage);
            }
            EventKind::BackendFallback {
                agent, turn, to, ..
            } => {
                self.agents.entry(agent.clone()).or_default().fallbacks += 1;
                self.turn_model.insert(*turn, to.clone());
            }
            EventKind::Vote { .. } => self.totals.votes += 1,
            EventKind::HandoffRequested { .. } => self.totals.handoffs += 1,
            EventKind::SessionFinished { outcome, .. } => self.outcome = Some(*outcome),
            _ => {}
        }
    }

    /// What is left of the team's `budget`: (tokens, cost), each `None` when the budget sets no
    /// such limit. Never below zero. Every call counts, estimated usage included.
    pub fn budget_left(&self, budget: &Budget) -> (Option<u64>, Option<f64>) {
        let used_tokens =
            self.totals.input_tokens.unwrap_or(0) + self.totals.output_tokens.unwrap_or(0);
        budget::left(budget, used_tokens, self.totals.cost.unwrap_or(0.0))
    }

    /// What is left of `agent`'s own `budget`, counted like [`Metrics::budget_left`].
    pub fn agent_budget_left(&self, agent: &str, budget: &Budget) -> (Option<u64>, Option<f64>) {
        let (tokens, cost) = self.agents.get(agent).map_or((0, 0.0), |m| {
            (
                m.input_tokens.unwrap_or(0) + m.output_tokens.unwrap_or(0),
                m.cost.unwrap_or(0.0),
            )
        });
        budget::left(budget, tokens, cost)
    }

    /// The price `agent`'s call `turn` is charged at: its fallback model's once one served it.
    pub fn price_of(&self, agent: &str, turn: u64) -> Option<Price> {
        match self.turn_model.get(&turn) {
            Some(m) => self
                .fallback_prices
                .get(&(agent.to_string(), m.backend.clone(), m.model.clone()))
                .copied(),
            None => self.prices.get(agent).copied(),
        }
    }

    fn purpose_of(&self, turn: u64) -> Purpose {
        self.turn_purpose.get(&turn).copied().unwrap_or_default()
    }

    /// Count one call's usage and cost for its agent, its purpose and the session.
    fn spend(&mut self, agent: &str, turn: u64, purpose: Purpose, usage: &UsageInfo) {
        let known = usage.input.is_some() || usage.output.is_some();
        let cost = self
            .price_of(agent, turn)
            .filter(|_| known)
            .map(|p| cost_of(p, usage.input, usage.output));
        let m = self.agents.entry(agent.to_string()).or_default();
        add_opt(&mut m.input_tokens, usage.input);
        add_opt(&mut m.output_tokens, usage.output);
        add_cost(&mut m.cost, cost);
        if usage.estimated {
            m.estimated += 1;
        }
        let p = m.by_purpose.entry(purpose).or_default();
        add_opt(&mut p.input_tokens, usage.input);
        add_opt(&mut p.output_tokens, usage.output);
        add_cost(&mut p.cost, cost);
        p.estimated |= usage.estimated;
        add_opt(&mut self.totals.input_tokens, usage.input);
        add_opt(&mut self.totals.output_tokens, usage.output);
        add_cost(&mut self.totals.cost, cost);
        self.totals.estimated |= usage.estimated;
    }

    /// Wall-clock time from the first event to the latest one, in milliseconds.
    pub fn elapsed_ms(&self) -> Option<u64> {
        let (a, b) = (self.started?, self.last_event?);
        u64::try_from((b - a).num_milliseconds()).ok()
    }
}

impl AgentMetrics {
    /// Mean time to first token over the messages that reported one.
    pub fn ttft_mean_ms(&self) -> Option<f64> {
        (self.ttft_count > 0).then(|| self.ttft_sum_ms as f64 / self.ttft_count as f64)
    }

    /// Mean latency over completed messages.
    pub fn latency_mean_ms(&self) -> Option<f64> {
        (self.messages > 0).then(|| self.latency_sum_ms as f64 / self.messages as f64)
    }

    /// Output tokens per second over every message with a known output count, a first token
    /// and some generation time.
    pub fn tokens_per_sec(&self) -> Option<f64> {
        (self.gen_ms > 0).then(|| self.gen_tokens as f64 * 1000.0 / self.gen_ms as f64)
    }

    fn record_message(
        &mut self,
        input: Option<u64>,
        output: Option<u64>,
        ttft_ms: Option<u64>,
        latency_ms: u64,
    ) {
        self.messages += 1;
        if input.is_none() || output.is_none() {
            self.unknown_usage += 1;
        }
        self.latency_last_ms = Some(latency_ms);
        self.latency_sum_ms += latency_ms;
        self.ttft_last_ms = ttft_ms;
        if let Some(t) = ttft_ms {
            self.ttft_sum_ms += t;
            self.ttft_count += 1;
        }
        self.tokens_per_sec_last = None;
        if let (Some(out), Some(t)) = (output, ttft_ms) {
            let gen_ms = latency_ms.saturating_sub(t);
            if gen_ms > 0 {
                self.tokens_per_sec_last = Some(out as f64 * 1000.0 / gen_ms as f64);
                self.gen_tokens += out;
                self.gen_ms += gen_ms;
            }
        }
    }
}

/// The cost of one call at `price` (per million tokens); unreported counts cost nothing.
/// The one cost formula: the console, the summaries, the export and budgets all use it.
pub fn cost_of(price: Price, input: Option<u64>, output: Option<u64>) -> f64 {
    (input.unwrap_or(0) as f64 * price.input + output.unwrap_or(0) as f64 * price.output)
        / 1_000_000.0
}

fn add_opt(sum: &mut Option<u64>, value: Option<u64>) {
    if let Some(v) = value {
        *sum = Some(sum.unwrap_or(0) + v);
    }
}

fn add_cost(sum: &mut Option<f64>, value: Option<f64>) {
    if let Some(v) = value {
        *sum = Some(sum.unwrap_or(0.0) + v);
    }
}

#[cfg(test)]
mod tests;
