//! The names tools are offered under, and the `tools = [...]` selections of an agent. Pure.
//!
//! A model sees an MCP tool as `<server>__<tool>`, both parts reduced to `[a-zA-Z0-9_-]` and the
//! whole cut to 64 characters (the strictest provider's limit), so one name is valid for every
//! wire protocol and two servers' `read_file` never clash. Should two tools still meet on one
//! name, the later one gets `_2`, `_3`, … Orchestration tools (`transfer_to_…`, `cast_vote`) never
//! contain `__`, so they keep their names.

/// Between the server part and the tool part of an offered name.
pub const JOIN: &str = "__";
/// The longest name every provider accepts.
pub const MAX_NAME: usize = 64;

/// One entry of an agent's `tools`: a whole server (`"fs"`) or one tool (`"fs.read_file"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub server: String,
    pub tool: Option<String>,
}

impl Selection {
    /// Read `"fs"` or `"fs.read_file"` (the first `.` splits server and tool).
    pub fn parse(entry: &str) -> Selection {
        match entry.split_once('.') {
            Some((server, tool)) => Selection {
                server: server.to_string(),
                tool: Some(tool.to_string()),
            },
            None => Selection {
                server: entry.to_string(),
                tool: None,
            },
        }
    }

    /// Whether `tool` of `server` is selected.
    pub fn admits(&self, server: &str, tool: &str) -> bool {
        self.server == server && self.tool.as_deref().is_none_or(|t| t == tool)
    }
}

/// Whether any of `entries` selects `tool` of `server`.
pub fn selected(entries: &[String], server: &str, tool: &str) -> bool {
    entries
        .iter()
        .any(|e| Selection::parse(e).admits(server, tool))
}

fn clean(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<server>__<tool>` made valid for every provider (see the module docs).
pub fn offered(server: &str, tool: &str) -> String {
    let mut name = format!("{}{JOIN}{}", clean(server), clean(tool));
    name.truncate(MAX_NAME);
    name
}

/// Offered names for `pairs` (server, tool), in order, unique: a clash gets `_2`, `_3`, …
pub fn unique(pairs: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(pairs.len());
    for (server, tool) in pairs {
        let base = offered(server, tool);
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            let suffix = format!("_{n}");
            let mut cut = base.clone();
            cut.truncate(MAX_NAME - suffix.len());
            name = format!("{cut}{suffix}");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_name_a_server_or_one_tool() {
        assert!(selected(&["fs".into()], "fs", "read_file"));
        assert!(selected(&["fs.read_file".into()], "fs", "read_file"));
        assert!(!selected(&["fs.read_file".into()], "fs", "write_file"));
        assert!(!selected(&["notes".into()], "fs", "read_file"));
        assert_eq!(
            Selection::parse("a.b.c"),
            Selection {
                server: "a".into(),
                tool: Some("b.c".into())
            }
        );
    }

    #[test]
    fn offered_names_are_valid_everywhere_and_unique() {
        assert_eq!(offered("fs", "read_file"), "fs__read_file");
        assert_eq!(offered("my fs", "read.file"), "my_fs__read_file");
        let long = "x".repeat(100);
        assert_eq!(offered("s", &long).len(), MAX_NAME);
        let names = unique(&[
            ("a b".into(), "t".into()),
            ("a.b".into(), "t".into()),
            ("s".into(), long.clone()),
            ("s".into(), format!("{long}y")),
        ]);
        assert_eq!(names[0], "a_b__t");
        assert_eq!(names[1], "a_b__t_2");
        assert_ne!(names[2], names[3]);
        assert!(names.iter().all(|n| {
            n.len() <= MAX_NAME
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }));
    }
}
