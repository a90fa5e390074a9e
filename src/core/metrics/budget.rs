//! Budgets: `budget = { tokens, cost }` on a team (any pattern) and on an agent, counted over the
//! whole session with every call included (failed, cancelled, hidden, estimated).
//!
//! Mental model: the session actor asks [`check`] before it starts each call. A call is refused
//! when its budget is already spent, or when the call would *clearly* exceed what is left: its
//! input alone (estimated from the request, the tokenizer-free rule) is more than the tokens
//! left, or costs more than the money left. The output is not guessed. What the metrics pane
//! shows as left ([`super::Metrics::budget_left`]) is computed by [`left`] from the same fold,
//! so what is shown is what is enforced.

use super::{Metrics, cost_of};
use crate::config::schema::{Budget, Price};

/// What is left of `budget` after `used_tokens` and `used_cost`: (tokens, cost), each `None` when
/// the budget sets no such limit, never below zero.
pub fn left(budget: &Budget, used_tokens: u64, used_cost: f64) -> (Option<u64>, Option<f64>) {
    let tokens = budget.tokens.map(|t| t.saturating_sub(used_tokens));
    let cost = budget.cost.map(|c| (c - used_cost).max(0.0));
    (tokens, cost)
}

/// Whose budget refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Team,
    Agent,
}

/// A call that may not start, and why (in words that say what to raise).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub scope: Scope,
    pub message: String,
}

/// One call about to start.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub team: &'a str,
    pub agent: &'a str,
    /// The request's estimated input tokens.
    pub input: u64,
    /// The price the call is charged at, if any.
    pub price: Option<Price>,
}

/// Whether `call` may start under the team's and the agent's budgets.
pub fn check(
    metrics: &Metrics,
    team_budget: Option<&Budget>,
    agent_budget: Option<&Budget>,
    call: Call<'_>,
) -> Option<Refusal> {
    let cost = call.price.map(|p| cost_of(p, Some(call.input), Some(0)));
    if let Some(b) = team_budget
        && let Some(why) = refuse(metrics.budget_left(b), call.input, cost)
    {
        return Some(Refusal {
            scope: Scope::Team,
            message: format!(
                "the budget of team {} is spent ({why}); the call of {} is not started: raise teams.{}.budget",
                call.team, call.agent, call.team
            ),
        });
    }
    if let Some(b) = agent_budget
        && let Some(why) = refuse(metrics.agent_budget_left(call.agent, b), call.input, cost)
    {
        return Some(Refusal {
            scope: Scope::Agent,
            message: format!(
                "the budget of {} is spent ({why}); its call is not started: raise agents.{}.budget",
                call.agent, call.agent
            ),
        });
    }
    None
}

fn refuse(
    (tokens, money): (Option<u64>, Option<f64>),
    input: u64,
    cost: Option<f64>,
) -> Option<String> {
    if let Some(t) = tokens
        && (t == 0 || input > t)
    {
        return Some(format!(
            "{t} tokens left, the request alone is about {input}"
        ));
    }
    if let Some(m) = money
        && (m <= 0.0 || cost.is_some_and(|c| c > m))
    {
        return Some(format!("{m:.4} left"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(input: u64) -> Call<'static> {
        Call {
            team: "t",
            agent: "a",
            input,
            price: Some(Price {
                input: 1_000_000.0,
                output: 0.0,
            }),
        }
    }

    #[test]
    fn a_call_that_clearly_exceeds_what_is_left_is_refused() {
        let m = Metrics::default();
        let tokens = Budget {
            tokens: Some(100),
            cost: None,
        };
        assert_eq!(check(&m, Some(&tokens), None, call(100)), None);
        let r = check(&m, Some(&tokens), None, call(101)).unwrap();
        assert_eq!(r.scope, Scope::Team);
        assert!(r.message.contains("raise teams.t.budget"), "{}", r.message);
        let r = check(&m, None, Some(&tokens), call(500)).unwrap();
        assert_eq!(r.scope, Scope::Agent);
        assert!(r.message.contains("agents.a.budget"), "{}", r.message);
        // $1 per token: 3 tokens cost $3.
        let money = Budget {
            tokens: None,
            cost: Some(2.0),
        };
        assert!(check(&m, Some(&money), None, call(3)).is_some());
        assert_eq!(check(&m, Some(&money), None, call(2)), None);
    }

    #[test]
    fn left_never_goes_below_zero() {
        let b = Budget {
            tokens: Some(10),
            cost: Some(1.0),
        };
        assert_eq!(left(&b, 50, 3.0), (Some(0), Some(0.0)));
        assert_eq!(left(&b, 4, 0.25), (Some(6), Some(0.75)));
    }
}
