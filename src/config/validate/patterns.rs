//! Rules of particular patterns: handoff routes and approval, group-chat speaker selection and
//! termination limits, the best-of judge, the plan's planner (numbers are checked against `ranges`).

use std::collections::BTreeMap;

use super::{Finding, Names};
use crate::config::schema::{Approval, SpeakerSelection, TeamConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_handoff(
    path: &KeyPath,
    t: &TeamConfig,
    members: &[&str],
    names: &Names<'_>,
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
            .hint(names.member_hint(entry, members)),
        );
    }
    for (table, map) in [("handoffs", &t.handoffs), ("fallback", &t.fallback)] {
        check_routes(&path.key(table), table, map, members, names, out);
    }
    check_window(path, t, out);
}

/// `approval_window_ms` only counts under `approval = "window"` (handoffs and plan reviews).
fn check_window(path: &KeyPath, t: &TeamConfig, out: &mut Vec<Finding>) {
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

fn check_routes(
    path: &KeyPath,
    table: &str,
    map: &BTreeMap<String, Vec<String>>,
    members: &[&str],
    names: &Names<'_>,
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
                .hint(names.member_hint(from, members)),
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
                    .hint(names.member_hint(to, members)),
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
    if t.keyword.as_deref().is_some_and(|k| k.trim().is_empty()) {
        out.push(Finding::error(
            path.key("keyword"),
            Part::Value,
            "the keyword is empty",
        ));
    }
}

/// A team's or an agent's `budget` (at `path.budget`) must set tokens, cost, or both.
pub(super) fn check_budget(
    path: &KeyPath,
    budget: Option<crate::config::schema::Budget>,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    // A budget whose only key was unreadable is not empty, just wrong.
    let pruned = |r: &KeyPath| r.starts_with(&path.key("budget"));
    if let Some(budget) = budget
        && budget.tokens.is_none()
        && budget.cost.is_none()
        && !names.broken.removed.iter().any(pruned)
    {
        out.push(
            Finding::error(path.key("budget"), Part::Key, "an empty budget")
                .hint("set tokens, cost, or both"),
        );
    }
}

pub(super) fn check_best_of(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    let judge = names.required_agent(
        path.key("judge"),
        t.judge.as_ref(),
        (
            "a best_of team needs a judge",
            "add judge = \"AGENT\", ideally outside members so it does not judge itself",
        ),
        out,
    );
    if let Some(j) = judge
        && t.members.iter().any(|m| m == j)
    {
        out.push(
            Finding::warning(
                path.key("judge"),
                Part::Value,
                format!("the judge '{j}' is also a candidate and will score itself"),
            )
            .hint("pick a judge outside members"),
        );
    }
}

/// A plan team needs a defined planner (issue 11); its members are checked with every team's.
pub(super) fn check_plan(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    names.required_agent(
        path.key("planner"),
        t.planner.as_ref(),
        (
            "a plan team needs a planner",
            "add planner = \"AGENT\"; it writes the plan and the final answer",
        ),
        out,
    );
    check_window(path, t, out);
}
