//! Rules of an auto team (issue 11): its router is a defined agent, and its `teams` are known,
//! distinct, not the team itself, and never lead back to it through other auto teams (routing
//! would then go round for ever).

use std::collections::BTreeSet;

use super::{Finding, Names};
use crate::config::PatternKind;
use crate::config::schema::{Approval, TeamConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_auto(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    names.required_agent(
        path.key("router"),
        t.router.as_ref(),
        (
            "an auto team needs a router",
            "add router = \"AGENT\": the agent that picks the team for each task",
        ),
        out,
    );
    let own = names
        .config
        .teams
        .iter()
        .find(|(_, v)| std::ptr::eq(*v, t))
        .map(|(k, _)| k.as_str());
    if t.teams.is_empty() {
        out.push(
            Finding::error(
                path.key("teams"),
                Part::Key,
                "an auto team needs teams to pick from",
            )
            .hint("list them: teams = [\"debate\", \"support\"]"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, name) in t.teams.iter().enumerate() {
        let at = path.key("teams").index(i);
        if Some(name.as_str()) == own {
            out.push(
                Finding::error(at, Part::Value, format!("'{name}' cannot route to itself"))
                    .hint("list the teams that take the tasks"),
            );
        } else if !names.has_team(name) {
            let f = Finding::error(at, Part::Value, format!("no team named '{name}'"));
            out.push(
                match names.suggest(name, names.config.teams.keys().map(String::as_str)) {
                    Some(best) => f.hint(format!("did you mean '{best}'?")),
                    None => f.hint("define it under [teams.NAME] or fix the name"),
                },
            );
        } else if !seen.insert(name.as_str()) {
            out.push(
                Finding::error(at, Part::Value, format!("'{name}' is listed twice"))
                    .hint("list each team once"),
            );
        } else if let Some(own) = own
            && let Some(via) = comes_back(names, name, own)
        {
            out.push(
                Finding::error(
                    at,
                    Part::Value,
                    format!("routing to '{name}' comes back to '{own}' through {via}"),
                )
                .hint("auto teams must not route in a cycle: remove one of the routes"),
            );
        }
    }
    if t.approval_window_ms.is_some() && t.approval != Some(Approval::Window) {
        out.push(
            Finding::warning(
                path.key("approval_window_ms"),
                Part::Key,
                "approval_window_ms has no effect without approval = \"window\"",
            )
            .hint("set approval = \"window\" or remove approval_window_ms"),
        );
    }
}

/// The chain of auto teams from `start` that routes back to `own` (`'a' -> 'b'`), if any.
fn comes_back(names: &Names<'_>, start: &str, own: &str) -> Option<String> {
    let mut stack = vec![vec![start.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(chain) = stack.pop() {
        let last = chain.last()?.clone();
        if !seen.insert(last.clone()) {
            continue;
        }
        let Some(team) = names.config.teams.get(&last) else {
            continue;
        };
        if team.pattern != PatternKind::Auto {
            continue;
        }
        for next in &team.teams {
            if next == own {
                let via: Vec<String> = chain.iter().map(|c| format!("'{c}'")).collect();
                return Some(via.join(" -> "));
            }
            let mut longer = chain.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}
