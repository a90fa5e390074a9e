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
            EventKind::SessionStarted { agents, .. } => {
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
            usage: UsageInfo {
                input,
                output,
                estimated: false,
            },
            ttft_ms: ttft,
            latency_ms: latency,
            finish: "stop".into(),
            purpose,
            tool_calls: vec![],
            served_by: None,
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
                            fallback: Vec::new(),
                        },
                        AgentInfo {
                            name: "idle".into(),
                            backend: "b".into(),
                            model: "m".into(),
                            color: None,
                            price: None,
                            fallback: Vec::new(),
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
            usage: Default::default(),
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
                    usage: Default::default(),
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
