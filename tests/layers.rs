//! The layers of the house (DESIGN section 1), checked on the source: every `crate::…` path (and
//! every `super::…` that climbs out of its top-level module) under `src/` is an arrow from the
//! module it is written in to the module it names, and no arrow may point up.
//!
//! Mental model: each top-level module has a rank,
//! `text < config < llm < tools < core < view < {store, tui, headless, telemetry, eval} < host < cli < (main.rs, lib.rs)`;
//! a module may name modules of a lower rank only (modules of one rank do not name each other),
//! and a few arrows the ranks allow are refused by name (`store` never needs `llm`). Comments,
//! doc comments and string literals are not code and are skipped; test code is checked like any
//! other code. A failure names the file, the line and the arrow. A new top-level module fails
//! until it is given a rank here.

use std::fmt;
use std::path::{Path, PathBuf};

/// The rank of each top-level module; the crate root (`lib.rs`, `main.rs`) is above them all.
const RANKS: &[(&str, u8)] = &[
    ("text", 0),
    ("config", 1),
    ("llm", 2),
    ("tools", 3),
    ("core", 4),
    ("view", 5),
    ("store", 6),
    ("tui", 6),
    ("headless", 6),
    // One more subscriber to the event stream (DESIGN section 1): reads core's events and
    // config's `[telemetry]`, sends spans over its own HTTP client.
    ("telemetry", 6),
    ("eval", 6),
    ("host", 7),
    ("cli", 8),
];

/// Arrows the ranks allow but the design refuses, with the reason.
const REFUSED: &[(&str, &str, &str)] = &[(
    "store",
    "llm",
    "the journal is written and read without any provider code",
)];

#[test]
fn no_arrow_points_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files).unwrap();
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")))
            .unwrap();
        let module = module_path(file.strip_prefix(&src).unwrap());
        problems.extend(check(&shown.display().to_string(), &module, &text));
    }
    assert!(
        problems.is_empty(),
        "{} arrow(s) point the wrong way (DESIGN section 1):\n{}",
        problems.len(),
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// One arrow that must not be there.
#[derive(Debug, PartialEq)]
struct Problem {
    file: String,
    line: usize,
    from: String,
    to: String,
    path: String,
    why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} -> {} (`{}`): {}",
            self.file, self.line, self.from, self.to, self.path, self.why
        )
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The module path of a file relative to `src/`: `host/run/mod.rs` → `[host, run]`,
/// `lib.rs` and `main.rs` → `[]` (the crate root).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    let at_root = parts.is_empty() && matches!(stem, "lib" | "main");
    if stem != "mod" && !at_root {
        parts.push(stem.to_string());
    }
    parts
}

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// Why the arrow `from → to` is refused, if it is.
fn refused(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    if let Some((_, _, why)) = REFUSED.iter().find(|(f, t, _)| *f == from && *t == to) {
        return Some(format!("{from} must not import {to}: {why}"));
    }
    let Some(rf) = rank(from) else {
        return Some(format!(
            "`{from}` has no layer: give it a rank in tests/layers.rs"
        ));
    };
    let Some(rt) = rank(to) else {
        return Some(format!(
            "`{to}` has no layer: give it a rank in tests/layers.rs"
        ));
    };
    if rt > rf {
        Some(format!("{from} is below {to}, so it must not import it"))
    } else if rt == rf {
        Some(format!(
            "{from} and {to} are on the same layer and must not import each other"
        ))
    } else {
        None
    }
}

/// The refused arrows of one file, written in module `module` (its path from the crate root).
fn check(file: &str, module: &[String], text: &str) -> Vec<Problem> {
    let Some(from) = module.first() else {
        return Vec::new(); // the crate root may name anything
    };
    let mut problems = Vec::new();
    for arrow in arrows(module, &tokens(&strip(text))) {
        if let Some(why) = refused(from, &arrow.to) {
            problems.push(Problem {
                file: file.to_string(),
                line: arrow.line,
                from: from.clone(),
                to: arrow.to,
                path: arrow.path,
                why,
            });
        }
    }
    problems
}

/// A reference to another top-level module.
struct Arrow {
    line: usize,
    to: String,
    path: String,
}

/// Every top-level module named by a path in `toks`, written in `module`.
fn arrows(module: &[String], toks: &[Tok]) -> Vec<Arrow> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) and the brace depth they were opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let text = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    let mut i = 0;
    while i < toks.len() {
        match text(i) {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if is_ident(text(i + 1)) && text(i + 2) == "{" => {
                inline.push((text(i + 1).to_string(), depth));
                depth += 1;
                i += 3;
                continue;
            }
            word @ ("crate" | "super")
                if text(i + 1) == "::" && text(i.wrapping_sub(1)) != "::" =>
            {
                // Where the path starts: the crate root, or as many levels up as it has `super`s.
                let mut here: Vec<&str> = module.iter().map(String::as_str).collect();
                here.extend(inline.iter().map(|(m, _)| m.as_str()));
                let mut j = i;
                if word == "crate" {
                    here.clear();
                    j += 2;
                } else {
                    while text(j) == "super" && text(j + 1) == "::" {
                        here.pop();
                        j += 2;
                    }
                }
                if here.is_empty() {
                    for (first, at) in first_segments(toks, j) {
                        out.push(Arrow {
                            line: toks[at].line,
                            to: first.to_string(),
                            path: path_text(toks, i, at),
                        });
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The first segments of the path(s) starting at token `j`: `a` in `a::b`, or `a` and `b` in
/// `{a::x, b::{y, z}}`, with the index of each.
fn first_segments(toks: &[Tok], j: usize) -> Vec<(&str, usize)> {
    let Some(tok) = toks.get(j) else {
        return Vec::new();
    };
    if is_ident(&tok.text) {
        return vec![(tok.text.as_str(), j)];
    }
    if tok.text != "{" {
        return Vec::new(); // `crate::*` and the like
    }
    let mut found = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (k, t) in toks.iter().enumerate().skip(j) {
        match t.text.as_str() {
            "{" => {
                depth += 1;
                item_start = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," => item_start = depth == 1,
            word => {
                if item_start && depth == 1 && is_ident(word) && word != "self" {
                    found.push((t.text.as_str(), k));
                }
                item_start = false;
            }
        }
    }
    found
}

/// The path as written, from its first token to the named segment and the one after (`crate::llm::sanitize_text`).
fn path_text(toks: &[Tok], from: usize, named: usize) -> String {
    let mut end = named;
    if toks.get(named + 1).is_some_and(|t| t.text == "::")
        && toks.get(named + 2).is_some_and(|t| is_ident(&t.text))
    {
        end = named + 2;
    }
    if from + 2 < named {
        // a grouped `use crate::{…}`: show the start and the item
        let start: String = toks[from..from + 2]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        let item: String = toks[named..=end].iter().map(|t| t.text.as_str()).collect();
        return format!("{start}{{{item}…}}");
    }
    toks[from..=end].iter().map(|t| t.text.as_str()).collect()
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A token of code: an identifier, `::`, or one punctuation character.
#[derive(Debug)]
struct Tok {
    text: String,
    line: usize,
}

fn tokens(code: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut line = 1;
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok {
                text: chars[start..i].iter().collect(),
                line,
            });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Tok {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Tok {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

/// `text` with its comments, string literals and char literals blanked out (newlines kept, so
/// lines still count).
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if at(i) == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(i) == '/' && at(i + 1) == '*' {
            let mut nest = 0;
            while i < c.len() {
                if at(i) == '/' && at(i + 1) == '*' {
                    nest += 1;
                    out.push_str("  ");
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    nest -= 1;
                    out.push_str("  ");
                    i += 2;
                    if nest == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if at(i) == 'r'
            && (at(i + 1) == '"' || (at(i + 1) == '#' && matches!(at(i + 2), '"' | '#')))
            && (!at(i.wrapping_sub(1)).is_alphanumeric()
                || (at(i.wrapping_sub(1)) == 'b' && !at(i.wrapping_sub(2)).is_alphanumeric()))
        {
            // a raw string: r"…", r#"…"#, br"…", …
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &c[i..j.min(c.len())] {
                blank(&mut out, ch);
            }
            i = j;
        } else if at(i) == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            for &ch in &c[i..(j + 1).min(c.len())] {
                blank(&mut out, ch);
            }
            i = j + 1;
        } else if at(i) == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // a char literal ('x', '\n', '\u{1F600}'), not a lifetime
            let mut j = i + 1;
            while j < c.len() && c[j] != '\'' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            for &ch in &c[i..(j + 1).min(c.len())] {
                blank(&mut out, ch);
            }
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

// The checker checks itself: each rule on a small made-up file.

fn problems_of(module: &[&str], text: &str) -> Vec<String> {
    let module: Vec<String> = module.iter().map(|m| m.to_string()).collect();
    check("src/x.rs", &module, text)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn an_upward_arrow_is_named_with_its_file_line_and_path() {
    let found = problems_of(
        &["config", "schema"],
        "//! docs\n\nuse crate::core::event::PatternKind;\n",
    );
    assert_eq!(
        found,
        [
            "src/x.rs:3: config -> core (`crate::core::event`): config is below core, so it must not import it"
        ]
    );
}

#[test]
fn downward_and_inner_arrows_pass() {
    let text = "use crate::config::Config;\nuse crate::llm::{self, Provider};\nuse super::x;\n\
                use crate::host::launch;\nfn f() { crate::host::bootstrap::runtime(); }\n";
    assert!(problems_of(&["host", "run"], text).is_empty());
    assert!(problems_of(&[], "use crate::cli::dispatch;\n").is_empty());
}

#[test]
fn grouped_uses_name_each_module() {
    let found = problems_of(
        &["store", "export"],
        "use crate::{\n    config::Config,\n    llm::{sanitize_text, x},\n    tui::App,\n};\n",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("src/x.rs:3: store -> llm"),
        "{found:?}"
    );
    assert!(found[0].contains("must not import llm"), "{found:?}");
    assert!(
        found[1].starts_with("src/x.rs:4: store -> tui"),
        "{found:?}"
    );
    assert!(found[1].contains("same layer"), "{found:?}");
}

#[test]
fn comments_and_strings_are_not_code() {
    let text = "/// See [`crate::cli::Cli`].\n// crate::host\n/* crate::tui /* nested */ crate::cli */\n\
                const A: &str = \"crate::cli::x\";\nconst B: &str = r#\"crate::host::\"#;\n\
                const C: char = '\"'; fn f<'a>(x: &'a str) -> &'a str { x }\n";
    assert_eq!(problems_of(&["core"], text), Vec::<String>::new());
}

#[test]
fn super_paths_that_leave_the_module_count() {
    // `super::super` from `headless/text.rs` is the crate root, so this names `cli`.
    let found = problems_of(&["headless", "text"], "use super::super::cli::exit;\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("headless -> cli"), "{found:?}");
    // Inside an inline module one more `super` is needed to get as far.
    let text =
        "mod tests {\n    use super::super::helper;\n    use super::super::super::tui::App;\n}\n";
    let found = problems_of(&["core", "state"], text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/x.rs:3: core -> tui"), "{found:?}");
}

#[test]
fn a_module_without_a_rank_fails() {
    let found = problems_of(&["unranked"], "use crate::core::Event;\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("give it a rank"), "{found:?}");
}

#[test]
fn module_paths_follow_the_files() {
    assert_eq!(module_path(Path::new("lib.rs")), Vec::<String>::new());
    assert_eq!(module_path(Path::new("main.rs")), Vec::<String>::new());
    assert_eq!(module_path(Path::new("cli/mod.rs")), ["cli"]);
    assert_eq!(
        module_path(Path::new("host/run/drive.rs")),
        ["host", "run", "drive"]
    );
    assert_eq!(module_path(Path::new("headless/mod.rs")), ["headless"]);
}
