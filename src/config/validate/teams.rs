//! Rules every team shares: options its pattern uses, defined and distinct members, and context
//! edges between members. Pattern-specific rules live in `patterns`.

use std::collections::BTreeSet;

use super::{Finding, Names, pattern_options, patterns};
use crate::config::PatternKind;
use crate::config::schema::{ContextMode, TeamConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_team(
    path: &KeyPath,
    t: &TeamConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    check_unused_options(path, t, out);
    check_members(path, t, names, out);
    let members = team_agents(t);
    check_context(path, t, &members, names, out);
    patterns::check_budget(path, t.budget, names, out);
    match t.pattern {
        PatternKind::Single | PatternKind::Sequential => {}
        PatternKind::Concurrent => {
            if let Some(agg) = &t.aggregator
                && !names.has_agent(agg)
            {
                out.push(names.undefined_agent(path.key("aggregator"), agg));
            }
        }
        PatternKind::Handoff => patterns::check_handoff(path, t, &members, names, out),
        PatternKind::GroupChat => patterns::check_group_chat(path, t, names, out),
        PatternKind::BestOf => patterns::check_best_of(path, t, names, out),
        PatternKind::Plan => patterns::check_plan(path, t, names, out),
    }
}

/// The agents of a team in order: a pipeline's steps, else its members.
fn team_agents(t: &TeamConfig) -> Vec<&str> {
    if t.steps.is_empty() {
        t.members.iter().map(String::as_str).collect()
    } else {
        t.steps.iter().map(|s| s.agent.as_str()).collect()
    }
}

fn check_unused_options(path: &KeyPath, t: &TeamConfig, out: &mut Vec<Finding>) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(t) else {
        return;
    };
    let allowed = pattern_options(t.pattern);
    for (key, value) in &fields {
        let set = match value {
            serde_json::Value::Null => false,
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            _ => true,
        };
        if set && key != "pattern" && key != "description" && !allowed.contains(&key.as_str()) {
            out.push(
                Finding::error(
                    path.key(key),
                    Part::Key,
                    format!("`{key}` is not used by the {} pattern", t.pattern.as_str()),
                )
                .hint(format!(
                    "{} teams take: {}",
                    t.pattern.as_str(),
                    allowed.join(", ")
                )),
            );
        }
    }
}

fn check_members(path: &KeyPath, t: &TeamConfig, names: &Names<'_>, out: &mut Vec<Finding>) {
    let pipeline = t.pattern == PatternKind::Sequential;
    if pipeline && !t.steps.is_empty() && !t.members.is_empty() {
        out.push(
            Finding::error(
                path.key("members"),
                Part::Key,
                "a pipeline has both members and steps",
            )
            .hint("keep steps (they name the agents in order) and remove members"),
        );
    }
    let has_steps = pipeline && !t.steps.is_empty();
    if t.members.is_empty() && !has_steps {
        let what = if pipeline {
            "members or steps"
        } else {
            "members"
        };
        out.push(
            Finding::error(path.key("members"), Part::Key, "the team has no members")
                .hint(format!("list its agents in {what}")),
        );
    }
    if t.pattern == PatternKind::Single && t.members.len() > 1 {
        out.push(
            Finding::error(
                path.key("members"),
                Part::Value,
                format!(
                    "a single team has exactly one member, not {}",
                    t.members.len()
                ),
            )
            .hint("use group_chat, concurrent or handoff for several agents"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, m) in t.members.iter().enumerate() {
        let at = path.key("members").index(i);
        if !names.has_agent(m) {
            out.push(names.undefined_agent(at, m));
        } else if !seen.insert(m.as_str()) {
            out.push(
                Finding::error(at, Part::Value, format!("'{m}' is listed twice"))
                    .hint("list each member once"),
            );
        }
    }
    for (i, step) in t.steps.iter().enumerate() {
        if !names.has_agent(&step.agent) {
            out.push(names.undefined_agent(path.key("steps").index(i).key("agent"), &step.agent));
        }
    }
}

fn check_context(
    path: &KeyPath,
    t: &TeamConfig,
    members: &[&str],
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    let last_n_used =
        t.context == Some(ContextMode::LastN) || t.edges.values().any(|m| *m == ContextMode::LastN);
    if t.last_n.is_some() && !last_n_used {
        out.push(
            Finding::warning(
                path.key("last_n"),
                Part::Key,
                "last_n has no effect without context = \"last_n\"",
            )
            .hint("set context = \"last_n\" or remove last_n"),
        );
    }
    for edge in t.edges.keys() {
        let at = path.key("edges").key(edge);
        let Some((from, to)) = edge.split_once("->") else {
            out.push(
                Finding::error(at, Part::Key, format!("'{edge}' is not an edge"))
                    .hint("write edges as \"from->to\", e.g. \"pm->architect\""),
            );
            continue;
        };
        // `*->agent`: from anyone to `agent`.
        let from = Some(from.trim()).filter(|f| *f != "*");
        for end in from.into_iter().chain([to.trim()]) {
            if !members.contains(&end) {
                out.push(
                    Finding::error(
                        at.clone(),
                        Part::Key,
                        format!("edge end '{end}' is not a member of the team"),
                    )
                    .hint(names.member_hint(end, members)),
                );
            }
        }
    }
}
