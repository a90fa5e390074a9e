//! Rules of particular patterns: handoff routes and approval, group-chat speaker selection and
//! termination limits, the best-of judge.

use std::collections::BTreeMap;

use super::{Finding, Names, member_hint, positive};
use crate::config::schema::{Approval, SpeakerSelection, TeamConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_handoff(
    path: &KeyPath,
    t: &TeamConfig,
    members: &[&str],
    out: &mut Vec<Finding>,
) {
    if let Some(entry) = &t.entry
        && !members.contains(&entry.as_str())
    {
        out.push(
            Finding::error(
                path.key("entry"),
                Part::Value,
                format!("entry '{entry}' is not a member of the team"),
            )
            .hint(member_hint(entry, members)),
        );
    }
    for (table, map) in [("handoffs", &t.handoffs), ("fallback", &t.fallback)] {
        check_routes(&path.key(table), table, map, members, out);
    }
    if t.approval_window_ms == Some(0) {
        out.push(
            Finding::error(
                path.key("approval_window_ms"),
                Part::Value,
                "the approval window must be longer than 0 ms",
            )
            .hint("3000 gives a person three seconds to cancel or redirect"),
        );
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
    positive(out, path, "max_depth", t.max_depth.map(u64::from));
}

fn check_routes(
    path: &KeyPath,
    table: &str,
    map: &BTreeMap<String, Vec<String>>,
    members: &[&str],
    out: &mut Vec<Finding>,
) {
    for (from, targets) in map {
        let at = path.key(from);
        if !members.contains(&from.as_str()) {
            out.push(
                Finding::error(
                    at.clone(),
                    Part::Key,
                    format!("'{from}' in {table} is not a member of the team"),
                )
                .hint(member_hint(from, members)),
            );
        }
        for (i, to) in targets.iter().enumerate() {
            if to == from {
                out.push(Finding::error(
                    at.index(i),
                    Part::Value,
                    format!("'{from}' cannot hand off to itself"),
                ));
            } else if !members.contains(&to.as_str()) {
                out.push(
                    Finding::error(
                        at.index(i),
                        Part::Value,
                        format!("target '{to}' is not a member of the team"),
                    )
                    .hint(member_hint(to, members)),
                );
            }
        }
    }
}

pub(super) fn check_group_chat(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    let by_manager = t.speaker_selection == Some(SpeakerSelection::Manager);
    match &t.manager {
        None if by_manager => out.push(
            Finding::error(
                path.key("speaker_selection"),
                Part::Value,
                "speaker_selection = \"manager\" needs a manager",
            )
            .hint("add manager = \"AGENT\"; the manager may be an agent outside members"),
        ),
        Some(m) if !names.has_agent(m) => out.push(names.undefined_agent(path.key("manager"), m)),
        Some(_) if !by_manager => out.push(
            Finding::warning(
                path.key("manager"),
                Part::Key,
                "the manager is not asked unless speaker_selection = \"manager\"",
            )
            .hint("set speaker_selection = \"manager\" or remove manager"),
        ),
        _ => {}
    }
    positive(out, path, "max_rounds", t.max_rounds.map(u64::from));
    positive(out, path, "max_messages", t.max_messages.map(u64::from));
    positive(out, path, "time_limit_s", t.time_limit_s);
    if t.keyword.as_deref().is_some_and(|k| k.trim().is_empty()) {
        out.push(Finding::error(
            path.key("keyword"),
            Part::Value,
            "the keyword is empty",
        ));
    }
    if let Some(budget) = t.budget {
        let at = path.key("budget");
        if budget.tokens.is_none() && budget.cost.is_none() {
            out.push(
                Finding::error(at.clone(), Part::Key, "an empty budget")
                    .hint("set tokens, cost, or both"),
            );
        }
        positive(out, &at, "tokens", budget.tokens);
        if let Some(cost) = budget.cost
            && !(cost.is_finite() && cost > 0.0)
        {
            out.push(Finding::error(
                at.key("cost"),
                Part::Value,
                "the cost budget must be more than 0",
            ));
        }
    }
    if let Some(c) = t.consensus
        && !(c.threshold > 0.0 && c.threshold <= 1.0)
    {
        out.push(
            Finding::error(
                path.key("consensus").key("threshold"),
                Part::Value,
                format!("threshold {} is outside (0, 1]", c.threshold),
            )
            .hint("the share of agreeing votes, e.g. 0.67 for two thirds"),
        );
    }
}

pub(super) fn check_best_of(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    match &t.judge {
        None => out.push(
            Finding::error(path.key("judge"), Part::Key, "a best_of team needs a judge")
                .hint("add judge = \"AGENT\", ideally outside members so it does not judge itself"),
        ),
        Some(j) if !names.has_agent(j) => out.push(names.undefined_agent(path.key("judge"), j)),
        Some(j) if t.members.contains(j) => out.push(
            Finding::warning(
                path.key("judge"),
                Part::Value,
                format!("the judge '{j}' is also a candidate and will score itself"),
            )
            .hint("pick a judge outside members"),
        ),
        Some(_) => {}
    }
}
