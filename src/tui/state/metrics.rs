//! The console's own metrics projection: a fold over `message` and `turn_failed` events.
//!
//! Per agent: turns, tokens in/out, last time to first token, last throughput (output tokens over
//! the time after the first token), last latency, cost from `config.agents[..].price` (per million
//! tokens) and errors; session totals and what is left of the team's budget.

use std::collections::BTreeMap;

use crate::config::{Budget, Price};
use crate::core::event::UsageInfo;

/// Per-agent figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentMetrics {
    pub turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub ttft_ms: Option<u64>,
    pub tokens_per_sec: Option<f64>,
    pub latency_ms: Option<u64>,
    /// `None` when the agent has no price in the config.
    pub cost: Option<f64>,
    pub errors: u64,
}

/// Figures for the whole session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsView {
    pub agents: BTreeMap<String, AgentMetrics>,
    prices: BTreeMap<String, Price>,
    pub budget: Option<Budget>,
}

impl MetricsView {
    pub fn new(prices: BTreeMap<String, Price>, budget: Option<Budget>) -> MetricsView {
        MetricsView {
            agents: BTreeMap::new(),
            prices,
            budget,
        }
    }

    /// Start over for a new session, keeping prices and budget.
    pub fn reset(&mut self) {
        self.agents.clear();
    }

    pub fn on_message(
        &mut self,
        agent: &str,
        usage: UsageInfo,
        ttft_ms: Option<u64>,
        latency_ms: u64,
    ) {
        let price = self.prices.get(agent).copied();
        let m = self.agents.entry(agent.to_string()).or_default();
        m.turns += 1;
        let input = usage.input.unwrap_or(0);
        let output = usage.output.unwrap_or(0);
        m.input_tokens += input;
        m.output_tokens += output;
        m.ttft_ms = ttft_ms.or(m.ttft_ms);
        m.latency_ms = Some(latency_ms);
        let streaming_ms = latency_ms.saturating_sub(ttft_ms.unwrap_or(0));
        if output > 0 && streaming_ms > 0 {
            m.tokens_per_sec = Some(output as f64 * 1000.0 / streaming_ms as f64);
        }
        if let Some(p) = price {
            let cost = (input as f64 * p.input + output as f64 * p.output) / 1_000_000.0;
            m.cost = Some(m.cost.unwrap_or(0.0) + cost);
        }
    }

    pub fn on_error(&mut self, agent: &str) {
        self.agents.entry(agent.to_string()).or_default().errors += 1;
    }

    /// Make sure an agent has a row even before it spoke.
    pub fn ensure(&mut self, agent: &str) {
        self.agents.entry(agent.to_string()).or_default();
    }

    pub fn total(&self) -> AgentMetrics {
        let mut t = AgentMetrics::default();
        for m in self.agents.values() {
            t.turns += m.turns;
            t.input_tokens += m.input_tokens;
            t.output_tokens += m.output_tokens;
            t.errors += m.errors;
            if let Some(c) = m.cost {
                t.cost = Some(t.cost.unwrap_or(0.0) + c);
            }
        }
        t
    }

    /// Tokens left of the budget, if it has a token limit.
    pub fn tokens_left(&self) -> Option<i64> {
        let limit = self.budget?.tokens?;
        let t = self.total();
        Some(limit as i64 - (t.input_tokens + t.output_tokens) as i64)
    }

    /// Money left of the budget, if it has a cost limit.
    pub fn cost_left(&self) -> Option<f64> {
        let limit = self.budget?.cost?;
        Some(limit - self.total().cost.unwrap_or(0.0))
    }
}
