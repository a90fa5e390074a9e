//! Rules for `[agents.NAME]`: a name usable in tool names, a defined backend, and sampling
//! a colour the console can show (numbers are checked against `ranges`); `fallback` entries
//! name defined backends and a model; a `budget` is not empty.

use super::{Finding, Names, is_valid_agent_name};
use crate::config::schema::{ABSENT, AgentConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_agent(
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
    if remote_problems(path, a, out) {
        // A remote agent's backend and model are derived from its URL.
    } else if a.backend == ABSENT || a.model == ABSENT {
        // A key pruned from this agent (say `modle = …`) already speaks for the missing one.
        let pruned = names
            .broken
            .removed
            .iter()
            .any(|p| p.0.starts_with(&path.0));
        for (key, missing) in [
            ("backend", a.backend == ABSENT),
            ("model", a.model == ABSENT),
        ] {
            if missing && !pruned {
                out.push(
                    Finding::error(
                        path.key(key),
                        Part::Key,
                        format!("missing required key `{key}`"),
                    )
                    .hint("an agent names a backend and a model, or is remote: a2a = \"URL\""),
                );
            }
        }
    } else {
        check_backend(&path.key("backend"), &a.backend, names, out);
    }
    if a.a2a.is_none() && a.model.trim().is_empty() {
        out.push(Finding::error(
            path.key("model"),
            Part::Value,
            "the model name is empty",
        ));
    }
    super::patterns::check_budget(path, a.budget, names, out);
    for (i, f) in a.fallback.iter().enumerate() {
        let at = path.key("fallback").index(i);
        check_backend(&at.key("backend"), &f.backend, names, out);
        if f.model.trim().is_empty() {
            out.push(Finding::error(
                at.key("model"),
                Part::Value,
                "the fallback's model name is empty",
            ));
        }
    }
    if let Some(color) = &a.color
        && color.parse::<ratatui::style::Color>().is_err()
    {
        let hint = match super::suggest(&color.to_ascii_lowercase(), COLOUR_NAMES.iter().copied()) {
            Some(name) => format!("did you mean \"{name}\"? (or write #rrggbb, e.g. \"#4e9a06\")"),
            None => format!(
                "write #rrggbb, e.g. \"#4e9a06\", a number 0-255, or one of: {}",
                COLOUR_NAMES.join(", ")
            ),
        };
        out.push(
            Finding::error(
                path.key("color"),
                Part::Value,
                format!("bad colour '{color}'"),
            )
            .hint(hint),
        );
    }
}

/// `backend` (at `path`) names a defined backend.
fn check_backend(path: &KeyPath, backend: &str, names: &Names<'_>, out: &mut Vec<Finding>) {
    if names.has_backend(backend) {
        return;
    }
    let f = Finding::error(
        path.clone(),
        Part::Value,
        format!("no backend named '{backend}'"),
    );
    out.push(
        match names.suggest(backend, names.config.backends.keys().map(String::as_str)) {
            Some(best) => f.hint(format!("did you mean '{best}'?")),
            None => f.hint("define it under [backends.NAME]"),
        },
    );
}

/// The colour names the console understands (ratatui's, which also takes `-`, `_` or a space
/// between words and `grey` for `gray`).
const COLOUR_NAMES: &[&str] = &[
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "darkgray",
    "lightred",
    "lightgreen",
    "lightyellow",
    "lightblue",
    "lightmagenta",
    "lightcyan",
    "white",
];

/// Rules for a remote agent (`a2a = "URL"`, `bearer_token_env`); true when the agent is remote
/// (its derived backend needs no further checks).
fn remote_problems(path: &KeyPath, a: &AgentConfig, out: &mut Vec<Finding>) -> bool {
    let Some(url) = &a.a2a else {
        if a.bearer_token_env.is_some() {
            out.push(
                Finding::error(
                    path.key("bearer_token_env"),
                    Part::Key,
                    "`bearer_token_env` is only for remote agents (`a2a = \"URL\"`)",
                )
                .hint("a backend's key goes in [backends.NAME] api_key_env"),
            );
        }
        return false;
    };
    if let Some(problem) = super::backends::url_problem(url) {
        out.push(
            Finding::error(path.key("a2a"), Part::Value, problem)
                .hint("write the A2A server's base URL, such as \"http://127.0.0.1:9999\""),
        );
    }
    if !a
        .backend
        .starts_with(crate::config::schema::A2A_BACKEND_PREFIX)
    {
        out.push(
            Finding::error(
                path.key("backend"),
                Part::Key,
                "a remote agent (`a2a`) has no `backend`",
            )
            .hint("remove `backend` (and `model`): the remote agent answers for itself"),
        );
    }
    true
}
