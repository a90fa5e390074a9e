//! The built-in comparison of `conclave eval` (`--teams builtin` or `builtin:AGENT`, or a suite's
//! `teams = ["builtin"]`): the comparison of Du et al. 2023 made with one agent of the config.
//!
//! Mental model: three rows from one agent, each task run through all three:
//! - `single(A)`: the agent alone (a `single` team);
//! - `debate(A)`: three copies of the agent in a 2-round round-robin group chat, answered by the
//!   majority of the answers in each copy's last message;
//! - `self-consistency(A)`: the agent asked again and again, each a session of its own, until
//!   it has used as many tokens as the debate did on that task (at least once, at most
//!   [`MAX_SAMPLES`] times, never past `--budget-tokens`), answered by the majority.
//!
//! The teams are added to a copy of the config under reserved names (`builtin-single`,
//! `builtin-debate`, the copies `A-1`…`A-3`); every session is journaled like any other.

use std::collections::BTreeMap;

use crate::config::schema::{Config, TeamConfig};

/// The most samples self-consistency takes for one task.
pub const MAX_SAMPLES: u32 = 16;
/// Debaters and rounds of the built-in debate.
pub const DEBATERS: usize = 3;
pub const ROUNDS: u32 = 2;

pub const SINGLE_TEAM: &str = "builtin-single";
pub const DEBATE_TEAM: &str = "builtin-debate";

/// The three row labels for `agent`, in table order.
pub fn labels(agent: &str) -> [String; 3] {
    [
        format!("single({agent})"),
        format!("self-consistency({agent})"),
        format!("debate({agent})"),
    ]
}

/// `builtin` or `builtin:AGENT` → the agent (`builtin` alone: the first member of the default
/// team, else the first agent); `None` for an ordinary team name.
pub fn agent_of(entry: &str, config: &Config) -> Option<Result<String, String>> {
    let rest = entry.strip_prefix("builtin")?;
    let agent = match rest.strip_prefix(':') {
        Some(a) => a.to_string(),
        None if rest.is_empty() => {
            let team = config
                .ui
                .default_team
                .as_deref()
                .and_then(|t| config.teams.get(t))
                .or_else(|| config.teams.values().next());
            match team
                .and_then(|t| t.members.first())
                .or_else(|| config.agents.keys().next())
            {
                Some(a) => a.clone(),
                None => return Some(Err("the config defines no agent to evaluate".into())),
            }
        }
        None => return None,
    };
    Some(if config.agents.contains_key(&agent) {
        Ok(agent)
    } else {
        Err(format!(
            "unknown agent `{agent}` for the built-in comparison; the config has: {}",
            config.agents.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// A copy of `config` with the built-in teams for `agent`.
pub fn with_teams(config: &Config, agent: &str) -> Result<Config, String> {
    let mut config = config.clone();
    let base = config
        .agents
        .get(agent)
        .cloned()
        .ok_or_else(|| format!("unknown agent `{agent}`"))?;
    let copies: Vec<String> = (1..=DEBATERS).map(|i| format!("{agent}-{i}")).collect();
    for name in &copies {
        config.agents.insert(name.clone(), base.clone());
    }
    let team = |text: String| -> Result<TeamConfig, String> {
        toml::from_str(&text).map_err(|e| format!("built-in team: {e}"))
    };
    config.teams.insert(
        SINGLE_TEAM.into(),
        team(format!("pattern = \"single\"\nmembers = [{agent:?}]\n"))?,
    );
    config.teams.insert(
        DEBATE_TEAM.into(),
        team(format!(
            "pattern = \"group_chat\"\nmembers = [{}]\nspeaker_selection = \"round_robin\"\nmax_rounds = {ROUNDS}\n",
            copies
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?,
    );
    Ok(config)
}

/// The answer most of `answers` give (numbers compared by value); the earliest on a tie.
pub fn majority(answers: &[String]) -> Option<String> {
    let key = |a: &str| {
        let t = a.trim().replace(',', "");
        t.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map_or_else(|| t.to_lowercase(), |n| format!("{n}"))
    };
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, a) in answers.iter().enumerate() {
        let e = counts.entry(key(a)).or_insert((0, i));
        e.0 += 1;
    }
    let (_, first) = counts
        .values()
        .max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)))?;
    answers.get(*first).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_majority_counts_numbers_by_value_and_ties_go_to_the_first() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(majority(&s(&["21", "12", "21.0"])).as_deref(), Some("21"));
        assert_eq!(majority(&s(&["7", "12"])).as_deref(), Some("7"));
        assert_eq!(
            majority(&s(&["Paris", "paris", "Rome"])).as_deref(),
            Some("Paris")
        );
        assert_eq!(majority(&[]), None);
    }

    #[test]
    fn builtin_names_an_agent_and_adds_the_teams() {
        let config: Config = toml::from_str(
            "[backends.demo]\nkind = \"scripted\"\n\
             [agents.a]\nbackend = \"demo\"\nmodel = \"a\"\n\
             [teams.solo]\npattern = \"single\"\nmembers = [\"a\"]\n",
        )
        .unwrap();
        assert_eq!(agent_of("builtin", &config), Some(Ok("a".into())));
        assert_eq!(agent_of("builtin:a", &config), Some(Ok("a".into())));
        assert!(
            matches!(agent_of("builtin:zed", &config), Some(Err(e)) if e.contains("unknown agent `zed`"))
        );
        assert_eq!(agent_of("solo", &config), None);
        let c = with_teams(&config, "a").unwrap();
        assert_eq!(c.teams[DEBATE_TEAM].members, ["a-1", "a-2", "a-3"]);
        assert_eq!(c.teams[DEBATE_TEAM].max_rounds, Some(ROUNDS));
        assert_eq!(c.agents["a-2"], c.agents["a"]);
        assert_eq!(c.teams[SINGLE_TEAM].members, ["a"]);
    }
}
