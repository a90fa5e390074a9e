//! Rules for `[backends.NAME]`: a usable URL, keys that belong to the backend's kind, and one way
//! to get the API key (never inline without a warning).

use super::Finding;
use crate::config::schema::{BackendConfig, BackendKind};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_backend(path: &KeyPath, b: &BackendConfig, out: &mut Vec<Finding>) {
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
        out.push(inline_key_warning(path));
        if b.api_key_env.is_some() || b.api_key_cmd.is_some() {
            out.push(
                Finding::error(
                    path.key("api_key"),
                    Part::Key,
                    "an inline api_key next to api_key_env or api_key_cmd",
                )
                .hint("keep one way of getting the key"),
            );
        }
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

/// The warning for a key written in the file; always given, whatever else is wrong with the
/// backend (even when it could not be read at all).
pub fn inline_key_warning(path: &KeyPath) -> Finding {
    Finding::warning(
        path.key("api_key"),
        Part::Key,
        "the API key is written in the config file",
    )
    .hint("store the key in an environment variable and set api_key_env = \"NAME\" instead")
}

fn not_for(path: &KeyPath, key: &str, kind: &str) -> Finding {
    Finding::error(
        path.key(key),
        Part::Key,
        format!("`{key}` is not used by {kind} backends"),
    )
    .hint(format!("remove {key}"))
}

pub(super) fn url_problem(url: &str) -> Option<String> {
    // Quoted without its password or query values.
    let shown = crate::text::redact::redact_url(url);
    match reqwest::Url::parse(url) {
        Err(e) => Some(format!("'{shown}' is not a URL: {e}")),
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => Some(format!(
            "'{shown}' must start with http:// or https://, not {}://",
            u.scheme()
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(format!("'{shown}' has no host")),
        Ok(_) => None,
    }
}
