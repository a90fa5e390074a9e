//! Rules for `[mcp.NAME]` and the agents' `tools`: a server is a child process (`command`) or an
//! HTTP endpoint (`url`), exactly one; HTTP settings only with `url`; every `tools` entry names a
//! configured server (`"fs"` or `"fs.read_file"`); `max_tool_rounds` at least 1.

use super::{Finding, Names};
use crate::config::schema::{Config, McpConfig};
use crate::config::spans::{KeyPath, Part};

pub(super) fn check_mcp(config: &Config, names: &Names<'_>, out: &mut Vec<Finding>) {
    for (name, server) in &config.mcp {
        check_server(&KeyPath::of(&["mcp", name]), server, out);
    }
    for (agent, a) in &config.agents {
        let path = KeyPath::of(&["agents", agent]);
        for (i, entry) in a.tools.iter().enumerate() {
            let server = entry.split_once('.').map_or(entry.as_str(), |(s, _)| s);
            if config.mcp.contains_key(server) || names.broken.covers("mcp", server) {
                continue;
            }
            let f = Finding::error(
                path.key("tools").index(i),
                Part::Value,
                format!("no MCP server named '{server}'"),
            );
            out.push(
                match names.suggest(server, config.mcp.keys().map(String::as_str)) {
                    Some(best) => f.hint(format!("did you mean '{best}'?")),
                    None => f.hint("define it under [mcp.NAME] (command = \"…\" or url = \"…\")"),
                },
            );
        }
        let no_tools = config
            .backends
            .get(&a.backend)
            .is_some_and(|b| b.tools == Some(false));
        if no_tools && !a.tools.is_empty() {
            out.push(
                Finding::warning(
                    path.key("tools"),
                    Part::Key,
                    format!(
                        "backend '{}' has tools = false: this agent gets no MCP tools",
                        a.backend
                    ),
                )
                .hint("use a backend whose models take tools, or remove `tools`"),
            );
        }
        if a.max_tool_rounds == Some(0) {
            out.push(
                Finding::error(
                    path.key("max_tool_rounds"),
                    Part::Value,
                    "max_tool_rounds must be at least 1",
                )
                .hint("the number of model → tools → model rounds in one turn (default 8)"),
            );
        }
    }
}

fn check_server(path: &KeyPath, s: &McpConfig, out: &mut Vec<Finding>) {
    if let Some(builtin) = &s.builtin {
        if builtin != crate::config::schema::BUILTIN_FILES {
            out.push(
                Finding::error(
                    path.key("builtin"),
                    Part::Value,
                    format!("no built-in server '{builtin}'"),
                )
                .hint("the built-in server is \"files\" (read-only file tools over cwd)"),
            );
        }
        if s.command.is_some() || s.url.is_some() {
            out.push(
                Finding::error(
                    path.key("builtin"),
                    Part::Key,
                    "`builtin` with `command` or `url`",
                )
                .hint("a server is built in, a child process (command) or HTTP (url): one of them"),
            );
        }
        return;
    }
    match (&s.command, &s.url) {
        (Some(_), Some(_)) => out.push(
            Finding::error(
                path.key("url"),
                Part::Key,
                "both `command` and `url` are set",
            )
            .hint("a server is a child process over stdio (command) or streamable HTTP (url)"),
        ),
        (None, None) => out.push(
            Finding::error(
                path.clone(),
                Part::Key,
                "neither `command` nor `url` is set",
            )
            .hint(
                "add command = \"npx\" (with args) for a stdio server, or url = \"http://…/mcp\"",
            ),
        ),
        (Some(command), None) => {
            if command.trim().is_empty() {
                out.push(Finding::error(
                    path.key("command"),
                    Part::Value,
                    "the command is empty",
                ));
            }
            for key in ["bearer_token_env", "headers"] {
                let set = match key {
                    "bearer_token_env" => s.bearer_token_env.is_some(),
                    _ => !s.headers.is_empty(),
                };
                if set {
                    out.push(
                        Finding::error(
                            path.key(key),
                            Part::Key,
                            format!("`{key}` applies to `url` servers only"),
                        )
                        .hint("pass what a stdio server needs through env = { … }"),
                    );
                }
            }
        }
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                out.push(
                    Finding::error(path.key("url"), Part::Value, "the url is not http(s)")
                        .hint("e.g. url = \"http://127.0.0.1:8931/mcp\""),
                );
            }
            if !s.args.is_empty() || !s.env.is_empty() || s.cwd.is_some() {
                out.push(
                    Finding::error(
                        path.key("url"),
                        Part::Key,
                        "`args`, `env` and `cwd` apply to `command` servers only",
                    )
                    .hint("remove them, or use command = \"…\" instead of url"),
                );
            }
        }
    }
    if s.timeout_ms == Some(0) {
        out.push(Finding::error(
            path.key("timeout_ms"),
            Part::Value,
            "timeout_ms must be at least 1",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::validate::validate;

    fn problems(toml: &str) -> Vec<String> {
        let toml = format!("{toml}\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n");
        let config: crate::config::Config = toml::from_str(&toml).unwrap();
        validate(&config)
            .into_iter()
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect()
    }

    #[test]
    fn a_server_is_a_command_or_a_url_and_agents_name_configured_servers() {
        let base =
            "[backends.b]\nkind = \"scripted\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n";
        assert!(
            problems(&format!(
                "{base}tools = [\"fs\", \"fs.read\"]\n[mcp.fs]\ncommand = \"npx\"\n"
            ))
            .is_empty()
        );
        let p = problems(&format!(
            "{base}tools = [\"fz.read\"]\n[mcp.fs]\ncommand = \"npx\"\n"
        ));
        assert!(
            p.iter().any(|p| p.contains("no MCP server named 'fz'")),
            "{p:?}"
        );
        let p = problems(&format!(
            "{base}[mcp.x]\ncommand = \"a\"\nurl = \"http://h/mcp\"\n"
        ));
        assert!(p.iter().any(|p| p.contains("both")), "{p:?}");
        let p = problems(&format!("{base}[mcp.x]\nargs = []\n"));
        assert!(p.iter().any(|p| p.contains("neither")), "{p:?}");
        let p = problems(&format!(
            "{base}[mcp.x]\nurl = \"ftp://h\"\nbearer_token_env = \"T\"\n"
        ));
        assert!(p.iter().any(|p| p.contains("not http")), "{p:?}");
        let p = problems(&format!("{base}max_tool_rounds = 0\n"));
        assert!(p.iter().any(|p| p.contains("at least 1")), "{p:?}");
    }
}
