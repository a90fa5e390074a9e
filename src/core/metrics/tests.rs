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

#[test]
fn every_call_counts_cancelled_failed_and_fallback_priced_at_its_model() {
    use crate::config::FallbackModel;
    use crate::core::event::ModelRef;
    let price = |p: f64| Price {
        input: p,
        output: p,
    };
    let usage = |input, output, estimated| UsageInfo {
        input: Some(input),
        output: Some(output),
        estimated,
    };
    let backup = ModelRef {
        backend: "backup".into(),
        model: "small".into(),
    };
    let m = fold(
        vec![
            EventKind::SessionStarted {
                team: "t".into(),
                pattern: PatternKind::Concurrent,
                agents: vec![AgentInfo {
                    name: "a".into(),
                    backend: "main".into(),
                    model: "big".into(),
                    color: None,
                    price: Some(price(100.0)),
                    fallback: vec![FallbackModel {
                        backend: "backup".into(),
                        model: "small".into(),
                        price: Some(price(1.0)),
                    }],
                }],
            },
            started("a", Purpose::Vote),
            EventKind::TurnFailed {
                agent: "a".into(),
                turn: 0,
                error: ErrorInfo {
                    kind: "overloaded".into(),
                    message: "busy".into(),
                },
                will_retry: true,
                usage: usage(10_000, 0, false),
            },
            EventKind::BackendFallback {
                agent: "a".into(),
                turn: 0,
                from: ModelRef {
                    backend: "main".into(),
                    model: "big".into(),
                },
                to: backup.clone(),
                error: ErrorInfo {
                    kind: "overloaded".into(),
                    message: "busy".into(),
                },
            },
            EventKind::TurnCancelled {
                agent: "a".into(),
                turn: 0,
                partial_text: "par".into(),
                usage: usage(1_000_000, 1, true),
            },
        ],
        BTreeMap::new(),
    );
    let a = &m.agents["a"];
    assert_eq!(
        (a.retries, a.cancelled, a.fallbacks, a.estimated),
        (1, 1, 1, 1)
    );
    assert_eq!(a.input_tokens, Some(1_010_000));
    let vote = a.by_purpose[&Purpose::Vote];
    assert_eq!((vote.calls, vote.failed, vote.cancelled), (1, 1, 1));
    assert!(vote.estimated && m.totals.estimated);
    // 10k at $100/M on the agent's own model, then 1M + 1 at $1/M on the fallback.
    let want = 1.0 + 1.000001;
    assert!(
        (m.totals.cost.unwrap() - want).abs() < 1e-9,
        "{:?}",
        m.totals.cost
    );
    assert_eq!(m.price_of("a", 0), Some(price(1.0)));
}
