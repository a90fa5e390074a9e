//! The semantic pass: rules a well-typed [`Config`] must still satisfy.
//!
//! Every rule reads the config and emits [`Finding`]s that name a key path (`teams.support.entry`)
//! and whether the key or its value is at fault; `load` turns paths into file:line:column. Rules
//! never stop at the first problem. Names that exist in the file but failed the structural pass
//! ([`Broken`]) are treated as defined, so one mistake is reported once.

use std::collections::{BTreeMap, BTreeSet};

use super::diag::Severity;
use super::schema::{
    AgentConfig, Approval, BackendConfig, BackendKind, Config, ContextMode, SpeakerSelection,
    TeamConfig,
};
use super::spans::{KeyPath, Part};
use super::structure::Broken;
use crate::core::event::PatternKind;

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
    let names = Names { config, broken };
    for (name, backend) in &config.backends {
        check_backend(&KeyPath::of(&["backends", name]), backend, &mut out);
    }
    for (name, agent) in &config.agents {
        check_agent(
            &KeyPath::of(&["agents", name]),
            name,
            agent,
            &names,
            &mut out,
        );
    }
    for (name, team) in &config.teams {
        check_team(&KeyPath::of(&["teams", name]), team, &names, &mut out);
    }
    check_ui(config, &names, &mut out);
    out
}

/// The agent names of the pattern options each pattern reads, besides `pattern` and
/// `description`.
pub fn pattern_options(pattern: PatternKind) -> Vec<&'static str> {
    let mut options = match pattern {
        PatternKind::Single => return vec!["members"],
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
            "budget",
            "time_limit_s",
            "consensus",
        ],
        PatternKind::BestOf => vec!["members", "judge", "rubric", "timeout_ms"],
    };
    options.extend(CONTEXT_OPTIONS);
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

struct Names<'a> {
    config: &'a Config,
    broken: &'a Broken,
}

impl Names<'_> {
    fn has_agent(&self, name: &str) -> bool {
        self.config.agents.contains_key(name) || self.broken.covers("agents", name)
    }

    fn has_backend(&self, name: &str) -> bool {
        self.config.backends.contains_key(name) || self.broken.covers("backends", name)
    }

    fn has_team(&self, name: &str) -> bool {
        self.config.teams.contains_key(name) || self.broken.covers("teams", name)
    }

    fn undefined_agent(&self, path: KeyPath, name: &str) -> Finding {
        let f = Finding::error(path, Part::Value, format!("no agent named '{name}'"));
        match suggest(name, self.config.agents.keys().map(String::as_str)) {
            Some(best) => f.hint(format!("did you mean '{best}'?")),
            None => f.hint("define it under [agents.NAME] or fix the name"),
        }
    }
}

fn check_backend(path: &KeyPath, b: &BackendConfig, out: &mut Vec<Finding>) {
    let kind = b.kind.as_str();
    let scripted = b.kind == BackendKind::Scripted;
    if let Some(url) = &b.base_url {
        if scripted {
            out.push(not_for(path, "base_url", kind));
        } else if let Some(problem) = url_problem(url) {
            out.push(
                Finding::error(path.key("base_url"), Part::Value, problem)
                    .hint("write a full URL such as \"http://127.0.0.1:11434\""),
            );
        }
    }
    if scripted {
        for (key, set) in [
            ("api_key_env", b.api_key_env.is_some()),
            ("api_key_cmd", b.api_key_cmd.is_some()),
            ("api_key", b.api_key.is_some()),
            ("headers", !b.headers.is_empty()),
        ] {
            if set {
                out.push(not_for(path, key, kind));
            }
        }
    } else {
        check_key_sources(path, b, out);
    }
    if b.num_ctx.is_some() && b.kind != BackendKind::Ollama {
        out.push(not_for(path, "num_ctx", kind).hint("num_ctx is only for ollama backends"));
    }
    for (key, set) in [
        ("script", b.script.is_some()),
        ("tokens_per_sec", b.tokens_per_sec.is_some()),
    ] {
        if set && !scripted {
            out.push(not_for(path, key, kind).hint(format!("{key} is only for scripted backends")));
        }
    }
    if let Some(tps) = b.tokens_per_sec
        && (!tps.is_finite() || tps < 0.0)
    {
        out.push(
            Finding::error(path.key("tokens_per_sec"), Part::Value, "must be 0 or more")
                .hint("0 streams instantly"),
        );
    }
    positive(out, path, "num_ctx", b.num_ctx.map(u64::from));
    positive(out, path, "connect_timeout_ms", b.connect_timeout_ms);
    positive(out, path, "idle_timeout_ms", b.idle_timeout_ms);
}

fn check_key_sources(path: &KeyPath, b: &BackendConfig, out: &mut Vec<Finding>) {
    if b.api_key_env.is_some() && b.api_key_cmd.is_some() {
        out.push(
            Finding::error(
                path.key("api_key_cmd"),
                Part::Key,
                "both api_key_env and api_key_cmd are set",
            )
            .hint("keep one way of getting the key"),
        );
    }
    if b.api_key.is_some() {
        let f = if b.api_key_env.is_some() || b.api_key_cmd.is_some() {
            Finding::error(
                path.key("api_key"),
                Part::Key,
                "an inline api_key next to api_key_env or api_key_cmd",
            )
        } else {
            Finding::warning(
                path.key("api_key"),
                Part::Key,
                "the API key is written in the config file",
            )
        };
        out.push(f.hint(
            "store the key in an environment variable and set api_key_env = \"NAME\" instead",
        ));
    }
    if b.api_key_env
        .as_deref()
        .is_some_and(|v| v.trim().is_empty())
    {
        out.push(Finding::error(
            path.key("api_key_env"),
            Part::Value,
            "empty environment variable name",
        ));
    }
}

fn check_agent(
    path: &KeyPath,
    name: &str,
    a: &AgentConfig,
    names: &Names<'_>,
    out: &mut Vec<Finding>,
) {
    if !is_valid_agent_name(name) {
        out.push(
            Finding::error(
                path.clone(),
                Part::Key,
                format!("invalid agent name '{name}'"),
            )
            .hint("use 1 to 64 letters, digits, '_' or '-'; agent names become tool names"),
        );
    }
    if !names.has_backend(&a.backend) {
        let f = Finding::error(
            path.key("backend"),
            Part::Value,
            format!("no backend named '{}'", a.backend),
        );
        out.push(
            match suggest(&a.backend, names.config.backends.keys().map(String::as_str)) {
                Some(best) => f.hint(format!("did you mean '{best}'?")),
                None => f.hint("define it under [backends.NAME]"),
            },
        );
    }
    if a.model.trim().is_empty() {
        out.push(Finding::error(
            path.key("model"),
            Part::Value,
            "the model name is empty",
        ));
    }
    if let Some(t) = a.temperature
        && !(0.0..=2.0).contains(&t)
    {
        out.push(Finding::error(
            path.key("temperature"),
            Part::Value,
            format!("temperature {t} is outside 0.0 to 2.0"),
        ));
    }
    positive(out, path, "max_tokens", a.max_tokens.map(u64::from));
    positive(out, path, "timeout_ms", a.timeout_ms);
    if let Some(price) = a.price {
        for (key, v) in [("input", price.input), ("output", price.output)] {
            if !v.is_finite() || v < 0.0 {
                out.push(Finding::error(
                    path.key("price").key(key),
                    Part::Value,
                    "a price cannot be negative",
                ));
            }
        }
    }
    if let Some(color) = &a.color
        && color.starts_with('#')
        && !(color.len() == 7 && color[1..].chars().all(|c| c.is_ascii_hexdigit()))
    {
        out.push(
            Finding::error(
                path.key("color"),
                Part::Value,
                format!("bad colour '{color}'"),
            )
            .hint("write #rrggbb, e.g. \"#4e9a06\", or a colour name such as \"green\""),
        );
    }
}

fn check_team(path: &KeyPath, t: &TeamConfig, names: &Names<'_>, out: &mut Vec<Finding>) {
    check_unused_options(path, t, out);
    check_members(path, t, names, out);
    let members = team_agents(t);
    check_context(path, t, &members, out);
    match t.pattern {
        PatternKind::Single | PatternKind::Sequential => {}
        PatternKind::Concurrent => {
            if let Some(agg) = &t.aggregator
                && !names.has_agent(agg)
            {
                out.push(names.undefined_agent(path.key("aggregator"), agg));
            }
        }
        PatternKind::Handoff => check_handoff(path, t, &members, out),
        PatternKind::GroupChat => check_group_chat(path, t, names, out),
        PatternKind::BestOf => check_best_of(path, t, names, out),
    }
    positive(out, path, "timeout_ms", t.timeout_ms);
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
            Finding::error(path.clone(), Part::Key, "the team has no members")
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

fn check_context(path: &KeyPath, t: &TeamConfig, members: &[&str], out: &mut Vec<Finding>) {
    if t.last_n == Some(0) {
        out.push(Finding::error(
            path.key("last_n"),
            Part::Value,
            "last_n must be at least 1",
        ));
    }
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
        for end in [from.trim(), to.trim()] {
            if !members.contains(&end) {
                out.push(
                    Finding::error(
                        at.clone(),
                        Part::Key,
                        format!("edge end '{end}' is not a member of the team"),
                    )
                    .hint(member_hint(end, members)),
                );
            }
        }
    }
}

fn check_handoff(path: &KeyPath, t: &TeamConfig, members: &[&str], out: &mut Vec<Finding>) {
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

fn check_group_chat(path: &KeyPath, t: &TeamConfig, names: &Names<'_>, out: &mut Vec<Finding>) {
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

fn check_best_of(path: &KeyPath, t: &TeamConfig, names: &Names<'_>, out: &mut Vec<Finding>) {
    match &t.judge {
        None => out.push(
            Finding::error(path.clone(), Part::Key, "a best_of team needs a judge")
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
            match suggest(team, config.teams.keys().map(String::as_str)) {
                Some(best) => f.hint(format!("did you mean '{best}'?")),
                None => f.hint("define it under [teams.NAME]"),
            },
        );
    }
    if config.teams.is_empty()
        && names.broken.sections.is_empty()
        && names.broken.entries.is_empty()
    {
        out.push(
            Finding::warning(KeyPath::root(), Part::Key, "no teams are defined")
                .hint("add a [teams.NAME] table; see config.example.toml"),
        );
    }
}

fn positive(out: &mut Vec<Finding>, path: &KeyPath, key: &str, value: Option<u64>) {
    if value == Some(0) {
        out.push(Finding::error(
            path.key(key),
            Part::Value,
            format!("{key} must be more than 0"),
        ));
    }
}

fn not_for(path: &KeyPath, key: &str, kind: &str) -> Finding {
    Finding::error(
        path.key(key),
        Part::Key,
        format!("`{key}` is not used by {kind} backends"),
    )
    .hint(format!("remove {key}"))
}

fn member_hint(name: &str, members: &[&str]) -> String {
    match suggest(name, members.iter().copied()) {
        Some(best) => format!("did you mean '{best}'?"),
        None => format!("members are: {}", members.join(", ")),
    }
}

fn url_problem(url: &str) -> Option<String> {
    match reqwest::Url::parse(url) {
        Err(e) => Some(format!("'{url}' is not a URL: {e}")),
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => Some(format!(
            "'{url}' must start with http:// or https://, not {}://",
            u.scheme()
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(format!("'{url}' has no host")),
        Ok(_) => None,
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
