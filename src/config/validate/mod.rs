//! The semantic pass: rules a well-typed [`Config`] must still satisfy.
//!
//! Every rule reads the config and emits [`Finding`]s that name a key path (`teams.support.entry`)
//! and whether the key or its value is at fault; `load` turns paths into file:line:column. Rules
//! never stop at the first problem. Names that exist in the file but failed the structural pass
//! ([`Broken`]) are treated as defined, so one mistake is reported once.

mod agents;
pub mod backends;
pub mod files;
mod mcp;
mod patterns;
mod routes;
mod teams;
mod telemetry;

use super::diag::Severity;
use super::ranges;
use super::schema::Config;
use super::spans::{KeyPath, Part};
use super::structure::Broken;
use crate::config::PatternKind;

/// One problem, before it is located in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub path: KeyPath,
    pub part: Part,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(path: KeyPath, part: Part, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            path,
            part,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(path: KeyPath, part: Part, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(path, part, message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every semantic problem of `config`.
pub fn validate(config: &Config) -> Vec<Finding> {
    validate_with(config, &Broken::default())
}

/// Every semantic problem of `config`, treating the names in `broken` as defined.
pub fn validate_with(config: &Config, broken: &Broken) -> Vec<Finding> {
    let mut out = Vec::new();
    let names = Names {
        config,
        broken,
        hints_left: std::cell::Cell::new(super::structure::MAX_PROBLEMS),
    };
    for (name, backend) in &config.backends {
        if name.starts_with(crate::config::schema::A2A_BACKEND_PREFIX) {
            continue; // derived from a remote agent, checked with it
        }
        backends::check_backend(&KeyPath::of(&["backends", name]), backend, &mut out);
    }
    for (name, agent) in &config.agents {
        agents::check_agent(
            &KeyPath::of(&["agents", name]),
            name,
            agent,
            &names,
            &mut out,
        );
    }
    for (name, team) in &config.teams {
        teams::check_team(&KeyPath::of(&["teams", name]), team, &names, &mut out);
    }
    check_ui(config, &names, &mut out);
    telemetry::check_telemetry(&config.telemetry, &mut out);
    mcp::check_mcp(config, &names, &mut out);
    check_numbers(config, &mut out);
    out
}

/// The agent names of the pattern options each pattern reads, besides `pattern` and
/// `description`.
pub fn pattern_options(pattern: PatternKind) -> Vec<&'static str> {
    let mut options = match pattern {
        PatternKind::Single => return vec!["members", "budget", "guard"],
        PatternKind::Sequential => vec!["members", "steps"],
        PatternKind::Concurrent => vec!["members", "strategy", "aggregator", "timeout_ms"],
        PatternKind::Handoff => vec![
            "members",
            "entry",
            "handoffs",
            "fallback",
            "approval",
            "approval_window_ms",
            "max_depth",
        ],
        PatternKind::GroupChat => vec![
            "members",
            "speaker_selection",
            "manager",
            "max_rounds",
            "max_messages",
            "keyword",
            "time_limit_s",
            "consensus",
        ],
        PatternKind::BestOf => vec!["members", "judge", "rubric", "timeout_ms"],
        PatternKind::Auto => {
            return vec![
                "router",
                "teams",
                "approval",
                "approval_window_ms",
                "budget",
            ];
        }
        PatternKind::Plan => vec![
            "members",
            "planner",
            "approval",
            "approval_window_ms",
            "max_parallel",
            "on_failure",
            "max_replans",
            "time_limit_s",
        ],
    };
    options.extend(CONTEXT_OPTIONS);
    options.push("budget");
    options.push("guard");
    options
}

/// Whether `name` can be an agent name (it becomes part of tool names): `[a-zA-Z0-9_-]{1,64}`.
pub fn is_valid_agent_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The candidate closest to `bad`, if one is close enough to be a likely typo.
pub fn suggest<'a>(bad: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (bad.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(bad, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

const CONTEXT_OPTIONS: [&str; 4] = ["context", "last_n", "edges", "sanitize"];

pub(super) struct Names<'a> {
    pub(super) config: &'a Config,
    pub(super) broken: &'a Broken,
    /// "Did you mean" compares a name with every candidate: past this many, the hints are
    /// plain, so thousands of undefined names against thousands of defined ones stay linear
    /// (only the first `MAX_PROBLEMS` findings are listed anyway).
    pub(super) hints_left: std::cell::Cell<usize>,
}

impl Names<'_> {
    pub(super) fn has_agent(&self, name: &str) -> bool {
        self.config.agents.contains_key(name) || self.broken.covers("agents", name)
    }

    pub(super) fn has_backend(&self, name: &str) -> bool {
        self.config.backends.contains_key(name) || self.broken.covers("backends", name)
    }

    pub(super) fn has_team(&self, name: &str) -> bool {
        self.config.teams.contains_key(name) || self.broken.covers("teams", name)
    }

    /// [`suggest`] while the hint budget lasts.
    pub(super) fn suggest<'c>(
        &self,
        bad: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<&'c str> {
        let left = self.hints_left.get().checked_sub(1)?;
        self.hints_left.set(left);
        suggest(bad, candidates)
    }

    /// "did you mean" one of `members`, else the list of them (while the hint budget lasts).
    pub(super) fn member_hint(&self, name: &str, members: &[&str]) -> String {
        if self.hints_left.get() == 0 {
            return "name a member of the team".to_string();
        }
        match self.suggest(name, members.iter().copied()) {
            Some(best) => format!("did you mean '{best}'?"),
            None => format!("members are: {}", members.join(", ")),
        }
    }

    /// A pattern's own agent key (`router`, `planner`, `judge`): an error when it is missing
    /// (`missing`, with `hint`) or names no agent; the name when it is defined.
    pub(super) fn required_agent<'t>(
        &self,
        path: KeyPath,
        value: Option<&'t String>,
        (missing, hint): (&str, &str),
        out: &mut Vec<Finding>,
    ) -> Option<&'t str> {
        match value {
            None => out.push(Finding::error(path, Part::Key, missing).hint(hint)),
            Some(name) if !self.has_agent(name) => out.push(self.undefined_agent(path, name)),
            Some(name) => return Some(name),
        }
        None
    }

    pub(super) fn undefined_agent(&self, path: KeyPath, name: &str) -> Finding {
        let f = Finding::error(path, Part::Value, format!("no agent named '{name}'"));
        match self.suggest(name, self.config.agents.keys().map(String::as_str)) {
            Some(best) => f.hint(format!("did you mean '{best}'?")),
            None => f.hint("define it under [agents.NAME] or fix the name"),
        }
    }
}

fn check_ui(config: &Config, names: &Names<'_>, out: &mut Vec<Finding>) {
    if let Some(team) = &config.ui.default_team
        && !names.has_team(team)
    {
        let f = Finding::error(
            KeyPath::of(&["ui", "default_team"]),
            Part::Value,
            format!("no team named '{team}'"),
        );
        out.push(
            match names.suggest(team, config.teams.keys().map(String::as_str)) {
                Some(best) => f.hint(format!("did you mean '{best}'?")),
                None => f.hint("define it under [teams.NAME]"),
            },
        );
    }
    if config.teams.is_empty()
        && !names.broken.unreadable
        && names.broken.sections.is_empty()
        && names.broken.entries.is_empty()
    {
        out.push(
            Finding::warning(KeyPath::root(), Part::Key, "no teams are defined")
                .hint("add a [teams.NAME] table; see config.example.toml"),
        );
    }
}

/// Every number in `config` against its range (`ranges`), wherever it sits.
fn check_numbers(config: &Config, out: &mut Vec<Finding>) {
    if let Ok(value) = toml::Value::try_from(config) {
        walk_numbers(&value, &KeyPath::root(), out);
    }
}

fn walk_numbers(value: &toml::Value, at: &KeyPath, out: &mut Vec<Finding>) {
    let number = match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::Table(t) => {
            t.iter().for_each(|(k, v)| walk_numbers(v, &at.key(k), out));
            return;
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk_numbers(v, &at.index(i), out);
            }
            return;
        }
        _ => return,
    };
    if let Some(message) = ranges::check(at, number) {
        out.push(Finding::error(at.clone(), Part::Value, message));
    }
}

#[cfg(test)]
mod tests;
