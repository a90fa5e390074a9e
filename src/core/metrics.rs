//! Metrics: a pure fold over a session's events (the console's metrics panel, `conclave run`'s
//! summary, budget checks).
//!
//! Mental model: [`Metrics::apply`] looks at one event at a time and updates per-agent counters;
//! nothing is measured here, every number comes from the events themselves (`message.usage`,
//! `ttft_ms`, `latency_ms`), so a journal replayed on resume gives the same figures. Model calls
//! that are not conversation turns (a manager's `select_speaker`, a judge's scores, a vote, a
//! summary) count for the agent that made them and are also broken down by [`Purpose`].
//! Token counts the backend did not report stay unknown (`None`) rather than becoming zero;
//! cost is priced per million tokens from the agent's `price` and only over known counts.
//! Prices come from [`Metrics::new`] (the config, a journal header) and from `session_started`,
//! which carries each agent's price, so a journal alone gives the cost the live session showed.
//! [`cost_of`] is the one cost formula; budgets, summaries and exports all price through it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::config::schema::{Budget, Price};
use crate::core::event::{Event, EventKind, Outcome, Purpose};

/// Everything measured so far, per agent and for the whole session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    prices: BTreeMap<String, Price>,
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
    /// Messages whose usage (input or output) the backend did not report.
    pub unknown_usage: u64,
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
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost: Option<f64>,
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
            EventKind::SessionStarted { agents, .. } => {
                for a in agents {
                    self.agents.entry(a.name.clone()).or_default();
                    if let Some(price) = a.price {
                        self.prices.insert(a.name.clone(), price);
                    }
                }
            }
            EventKind::UserMessage { .. } => self.totals.user_messages += 1,
            EventKind::TurnStarted { agent, purpose, .. } => {
                let m = self.agents.entry(agent.clone()).or_default();
                m.turns += 1;
                m.by_purpose.entry(*purpose).or_default().calls += 1;
                self.totals.turns += 1;
            }
            EventKind::Message {
                agent,
                usage,
                ttft_ms,
                latency_ms,
                purpose,
                ..
            } => {
                let price = self.prices.get(agent).copied();
                let m = self.agents.entry(agent.clone()).or_default();
                m.record_message(usage.input, usage.output, *ttft_ms, *latency_ms);
                let cost = price.map(|p| cost_of(p, usage.input, usage.output));
                add_cost(&mut m.cost, cost);
                let p = m.by_purpose.entry(*purpose).or_default();
                p.messages += 1;
                add_opt(&mut p.input_tokens, usage.input);
                add_opt(&mut p.output_tokens, usage.output);
                add_cost(&mut p.cost, cost);
                self.totals.messages += 1;
                add_opt(&mut self.totals.input_tokens, usage.input);
                add_opt(&mut self.totals.output_tokens, usage.output);
                add_cost(&mut self.totals.cost, cost);
            }
            EventKind::TurnFailed {
                agent, will_retry, ..
            } => {
                let m = self.agents.entry(agent.clone()).or_default();
                if *will_retry {
                    m.retries += 1;
                    self.totals.retries += 1;
                } else {
                    m.errors += 1;
                    self.totals.errors += 1;
                }
            }
            EventKind::TurnCancelled { agent, .. } => {
                self.agents.entry(agent.clone()).or_default().cancelled += 1;
            }
            EventKind::Vote { .. } => self.totals.votes += 1,
            EventKind::HandoffRequested { .. } => self.totals.handoffs += 1,
            EventKind::SessionFinished { outcome, .. } => self.outcome = Some(*outcome),
            _ => {}
        }
    }

    /// What is left of `budget`: (tokens, cost), each `None` when the budget sets no such limit.
    /// Never below zero. Tokens the backend did not report are not counted.
    pub fn budget_left(&self, budget: &Budget) -> (Option<u64>, Option<f64>) {
        let used_tokens =
            self.totals.input_tokens.unwrap_or(0) + self.totals.output_tokens.unwrap_or(0);
        let tokens = budget.tokens.map(|t| t.saturating_sub(used_tokens));
        let cost = budget
            .cost
            .map(|c| (c - self.totals.cost.unwrap_or(0.0)).max(0.0));
        (tokens, cost)
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
        add_opt(&mut self.input_tokens, input);
        add_opt(&mut self.output_tokens, output);
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
mod tests {
    use super::*;
    use crate::core::event::{AgentInfo, ErrorInfo, PatternKind, UsageInfo, VoteChoice};

    fn ev(seq: u64, ms: i64, kind: EventKind) -> Event {
        Event {
            v: 1,
            seq,
            ts: DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap(),
            session: "s".into(),
            kind,
        }
    }

    fn msg(
        agent: &str,
        input: Option<u64>,
        output: Option<u64>,
        ttft: Option<u64>,
        latency: u64,
        purpose: Purpose,
    ) -> EventKind {
        EventKind::Message {
            agent: agent.into(),
            turn: 0,
            text: "x".into(),
            usage: UsageInfo { input, output },
            ttft_ms: ttft,
            latency_ms: latency,
            finish: "stop".into(),
            purpose,
            tool_calls: vec![],
            continues: false,
        }
    }

    fn started(agent: &str, purpose: Purpose) -> EventKind {
        EventKind::TurnStarted {
            agent: agent.into(),
            turn: 0,
            round: None,
            purpose,
        }
    }

    fn fold(kinds: Vec<EventKind>, prices: BTreeMap<String, Price>) -> Metrics {
        let mut m = Metrics::new(prices);
        for (i, k) in kinds.into_iter().enumerate() {
            m.apply(&ev(i as u64, i as i64 * 100, k));
        }
        m
    }

    #[test]
    fn counts_tokens_latency_ttft_and_speed() {
        let m = fold(
            vec![
                EventKind::SessionStarted {
                    team: "t".into(),
                    pattern: PatternKind::GroupChat,
                    agents: vec![
                        AgentInfo {
                            name: "a".into(),
                            backend: "b".into(),
                            model: "m".into(),
                            color: None,
                            price: None,
                        },
                        AgentInfo {
                            name: "idle".into(),
                            backend: "b".into(),
                            model: "m".into(),
                            color: None,
                            price: None,
                        },
                    ],
                },
                started("a", Purpose::Speak),
                msg("a", Some(100), Some(50), Some(200), 1200, Purpose::Speak),
                started("a", Purpose::Speak),
                msg("a", Some(300), Some(30), Some(400), 1400, Purpose::Speak),
            ],
            BTreeMap::new(),
        );
        let a = &m.agents["a"];
        assert_eq!((a.turns, a.messages), (2, 2));
        assert_eq!((a.input_tokens, a.output_tokens), (Some(400), Some(80)));
        assert_eq!(a.ttft_last_ms, Some(400));
        assert_eq!(a.ttft_mean_ms(), Some(300.0));
        assert_eq!(a.latency_last_ms, Some(1400));
        assert_eq!(a.latency_mean_ms(), Some(1300.0));
        assert_eq!(a.tokens_per_sec_last, Some(30.0));
        assert_eq!(a.tokens_per_sec(), Some(40.0));
        assert_eq!(a.cost, None);
        assert!(m.agents.contains_key("idle"));
        assert_eq!(m.agents["idle"].latency_mean_ms(), None);
        assert_eq!(m.totals.input_tokens, Some(400));
        assert_eq!(m.elapsed_ms(), Some(400));
    }

    #[test]
    fn unknown_usage_stays_unknown() {
        let m = fold(
            vec![
                msg("a", None, None, None, 500, Purpose::Speak),
                msg("b", None, Some(7), Some(100), 100, Purpose::Speak),
            ],
            BTreeMap::new(),
        );
        let a = &m.agents["a"];
        assert_eq!((a.input_tokens, a.output_tokens), (None, None));
        assert_eq!(a.unknown_usage, 1);
        assert_eq!(a.ttft_mean_ms(), None);
        assert_eq!(a.tokens_per_sec_last, None);
        assert_eq!(m.totals.input_tokens, None);
        assert_eq!(m.totals.output_tokens, Some(7));
        // latency == ttft: no generation time, so no speed rather than a division by zero.
        assert_eq!(m.agents["b"].tokens_per_sec(), None);
    }

    #[test]
    fn errors_retries_and_cancellations() {
        let fail = |will_retry| EventKind::TurnFailed {
            agent: "a".into(),
            turn: 1,
            error: ErrorInfo {
                kind: "overloaded".into(),
                message: "busy".into(),
            },
            will_retry,
        };
        let m = fold(
            vec![
                fail(true),
                fail(true),
                fail(false),
                EventKind::TurnCancelled {
                    agent: "a".into(),
                    turn: 2,
                    partial_text: "par".into(),
                },
            ],
            BTreeMap::new(),
        );
        let a = &m.agents["a"];
        assert_eq!((a.retries, a.errors, a.cancelled), (2, 1, 1));
        assert_eq!((m.totals.retries, m.totals.errors), (2, 1));
    }

    #[test]
    fn cost_and_purpose_attribution() {
        let prices = BTreeMap::from([
            (
                "mgr".to_string(),
                Price {
                    input: 1.0,
                    output: 2.0,
                },
            ),
            (
                "judge".to_string(),
                Price {
                    input: 10.0,
                    output: 10.0,
                },
            ),
        ]);
        let m = fold(
            vec![
                started("mgr", Purpose::SelectSpeaker),
                msg(
                    "mgr",
                    Some(1_000_000),
                    Some(500_000),
                    Some(10),
                    20,
                    Purpose::SelectSpeaker,
                ),
                started("mgr", Purpose::Speak),
                msg(
                    "mgr",
                    Some(0),
                    Some(1_000_000),
                    Some(10),
                    20,
                    Purpose::Speak,
                ),
                started("judge", Purpose::Judge),
                msg("judge", Some(100_000), None, None, 20, Purpose::Judge),
                started("x", Purpose::Vote),
                msg("x", Some(10), Some(10), None, 5, Purpose::Vote),
                EventKind::Vote {
                    round: 1,
                    agent: "x".into(),
                    choice: VoteChoice::Agree,
                    reason: "ok".into(),
                },
            ],
            prices,
        );
        let mgr = &m.agents["mgr"];
        assert_eq!(mgr.cost, Some(4.0));
        let pick = mgr.by_purpose[&Purpose::SelectSpeaker];
        assert_eq!(pick.calls, 1);
        assert_eq!(pick.cost, Some(2.0));
        assert_eq!(mgr.by_purpose[&Purpose::Speak].cost, Some(2.0));
        assert_eq!(
            m.agents["judge"].by_purpose[&Purpose::Judge].cost,
            Some(1.0)
        );
        assert_eq!(m.agents["x"].by_purpose[&Purpose::Vote].calls, 1);
        assert_eq!(m.agents["x"].cost, None);
        assert_eq!(m.totals.cost, Some(5.0));
        assert_eq!(m.totals.votes, 1);
    }

    #[test]
    fn budget_left_never_goes_negative() {
        let prices = BTreeMap::from([(
            "a".to_string(),
            Price {
                input: 1.0,
                output: 1.0,
            },
        )]);
        let m = fold(
            vec![msg(
                "a",
                Some(600_000),
                Some(600_000),
                None,
                1,
                Purpose::Speak,
            )],
            prices,
        );
        assert_eq!(m.budget_left(&Budget::default()), (None, None));
        let (tokens, cost) = m.budget_left(&Budget {
            tokens: Some(2_000_000),
            cost: Some(1.0),
        });
        assert_eq!(tokens, Some(800_000));
        assert_eq!(cost, Some(0.0));
        let (tokens, _) = m.budget_left(&Budget {
            tokens: Some(10),
            cost: None,
        });
        assert_eq!(tokens, Some(0));
    }

    #[test]
    fn outcome_is_recorded() {
        let m = fold(
            vec![EventKind::SessionFinished {
                outcome: Outcome::Consensus,
                final_text: None,
            }],
            BTreeMap::new(),
        );
        assert_eq!(m.outcome, Some(Outcome::Consensus));
    }
}
