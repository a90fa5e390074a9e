//! What a group chat will cost, before it starts: the console shows it so a person can see what
//! the configured rounds mean in tokens and money (issue 12.5).
//!
//! Mental model: simulate the configured discussion on paper. Each round every member speaks
//! (a reply of its `max_tokens`, or [`ASSUMED_REPLY`] when unset) and sees the system prompt,
//! the task and what was said before, under the team's context mode (`last_n` keeps the last
//! n replies; `none` none); a manager picks before every turn and, with `consensus.every_round`,
//! every member votes after every round, each seeing the same history. `max_messages` caps
//! the replies. Input is estimated with the tokenizer-free rule (characters / 4). It is an upper
//! estimate for a debate that runs its rounds out; shown with `~`.

use std::collections::BTreeMap;

use super::cost_of;
use crate::config::schema::{AgentConfig, ContextMode, TeamConfig};

/// The reply length assumed for an agent without `max_tokens`.
pub const ASSUMED_REPLY: u64 = 300;
/// The answer length assumed for a manager pick or a vote.
pub const ASSUMED_ANSWER: u64 = 40;
/// The rounds of a group chat without `max_rounds` (the pattern's default).
pub const DEFAULT_ROUNDS: u32 = 10;

/// The estimate of a whole group chat.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Forecast {
    pub rounds: u32,
    pub calls: u64,
    pub tokens: u64,
    /// `None` when no agent involved has a price.
    pub cost: Option<f64>,
}

/// The forecast of `team` (a group chat) on a task of `prompt_chars` characters.
pub fn group_chat(
    team: &TeamConfig,
    agents: &BTreeMap<String, AgentConfig>,
    prompt_chars: usize,
) -> Forecast {
    let rounds = team.max_rounds.unwrap_or(DEFAULT_ROUNDS);
    let task = prompt_chars.div_ceil(4) as u64;
    let mut history: Vec<u64> = Vec::new();
    let mut out = Forecast {
        rounds,
        ..Forecast::default()
    };
    let seen = |history: &[u64]| -> u64 {
        match team.context.unwrap_or_default() {
            ContextMode::None => 0,
            ContextMode::LastN => history.iter().rev().take(team.last_n.unwrap_or(6)).sum(),
            ContextMode::Full | ContextMode::Summary => history.iter().sum(),
        }
    };
    let charge = |out: &mut Forecast, agent: &str, input: u64, output: u64| {
        let system = agents
            .get(agent)
            .and_then(|a| a.system.as_deref())
            .map_or(0, |s| s.chars().count().div_ceil(4) as u64);
        let input = input + system + task;
        out.calls += 1;
        out.tokens += input + output;
        if let Some(p) = agents.get(agent).and_then(|a| a.price) {
            let c = cost_of(p, Some(input), Some(output));
            out.cost = Some(out.cost.unwrap_or(0.0) + c);
        }
    };
    let cap = team.max_messages.map_or(u64::MAX, u64::from);
    'rounds: for _ in 0..rounds {
        for member in &team.members {
            if history.len() as u64 >= cap {
                break 'rounds;
            }
            if let Some(manager) = &team.manager {
                charge(&mut out, manager, seen(&history), ASSUMED_ANSWER);
            }
            let reply = agents
                .get(member)
                .and_then(|a| a.max_tokens)
                .map_or(ASSUMED_REPLY, u64::from);
            charge(&mut out, member, seen(&history), reply);
            history.push(reply);
        }
        if team.consensus.is_some_and(|c| c.every_round) {
            for member in &team.members {
                charge(&mut out, member, seen(&history), ASSUMED_ANSWER);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Consensus, PatternKind, Price};

    fn agent(max_tokens: Option<u32>, price: Option<Price>) -> AgentConfig {
        AgentConfig {
            backend: "b".into(),
            model: "m".into(),
            system: Some("abcd".repeat(10)),
            max_tokens,
            price,
            ..Default::default()
        }
    }

    #[test]
    fn rounds_votes_and_history_add_up() {
        let mut team = TeamConfig::new(PatternKind::GroupChat);
        team.members = vec!["a".into(), "b".into()];
        team.max_rounds = Some(2);
        let price = Price {
            input: 1_000_000.0,
            output: 0.0,
        };
        let agents = BTreeMap::from([
            ("a".to_string(), agent(Some(100), Some(price))),
            ("b".to_string(), agent(None, None)),
        ]);
        let f = group_chat(&team, &agents, 40);
        // Each call: system 10 + task 10 + history; replies a=100, b=300.
        // r1: a(20+0)+100, b(20+100)+300; r2: a(20+400)+100, b(20+500)+300.
        assert_eq!(f.calls, 4);
        assert_eq!(f.tokens, 120 + 420 + 520 + 820);
        assert_eq!(f.cost, Some(20.0 + 420.0));
        team.consensus = Some(Consensus {
            threshold: 0.5,
            every_round: true,
        });
        team.max_messages = Some(3);
        let f = group_chat(&team, &agents, 40);
        // Three replies, votes after round 1 only (round 2 is cut by max_messages).
        assert_eq!(f.calls, 3 + 2);
    }
}
