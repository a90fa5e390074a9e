//! The example config, the load order's fallback, and never panicking on any input.

use std::path::Path;

use proptest::prelude::*;
use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::*;
use crate::config::schema::{
    AgentConfig, BackendConfig, Budget, Consensus, McpConfig, Price, Step, TeamConfig,
    TelemetryConfig, UiConfig,
};

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn example_checks_with_no_errors_and_no_warnings() {
    let report = diagnose(EXAMPLE, Path::new("config.example.toml"));
    assert_eq!(report.diagnostics, vec![]);
    let config = report.config.unwrap();
    for team in [
        "chat", "debate", "support", "pipeline", "fanout", "panel", "review", "ask",
    ] {
        assert!(config.teams.contains_key(team), "{team}");
    }
}

#[test]
fn a_file_without_teams_agents_or_backends_keeps_the_built_in_ones() {
    let loaded = parse_str(
        "[ui]\nmouse = false\n[keys.global]\nquit = \"ctrl+q\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert!(loaded.builtin_cast);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded.config.teams.contains_key(defaults::DEFAULT_TEAM));
    assert!(!loaded.config.agents.is_empty());
    assert!(!loaded.config.backends.is_empty());
    assert_eq!(loaded.config.ui.mouse, Some(false));
    assert_eq!(
        loaded.config.ui.default_team.as_deref(),
        Some(defaults::DEFAULT_TEAM)
    );
    assert!(!loaded.config.keys.is_empty());
}

#[test]
fn a_file_with_teams_uses_only_its_own() {
    let loaded = parse_str(EXAMPLE, Path::new("c.toml")).unwrap();
    assert!(!loaded.builtin_cast);
    let builtin = defaults::embedded(&detect::detect_env());
    assert!(
        loaded
            .config
            .backends
            .keys()
            .all(|b| !builtin.backends.contains_key(b)
                || EXAMPLE.contains(&format!("[backends.{b}]")))
    );
    let broken = diagnose("[teams]\ndebate = 3\n", Path::new("c.toml"));
    assert!(
        !broken.builtin_cast,
        "a broken [teams] is reported, not replaced"
    );
    assert!(broken.config.is_none());
}

#[test]
fn colours_are_the_names_ratatui_reads_or_rrggbb_with_did_you_mean() {
    let text = |color: &str| {
        format!(
            "[backends.b]\nkind = \"scripted\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\ncolor = \"{color}\"\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n"
        )
    };
    for good in ["green", "light-blue", "LightRed", "#4e9a06", "42", "grey"] {
        let report = diagnose(&text(good), Path::new("c.toml"));
        assert_eq!(report.errors(), 0, "{good}: {:?}", report.diagnostics);
    }
    let blurple = diagnose(&text("blurple"), Path::new("c.toml"));
    assert_eq!(blurple.errors(), 1, "{:?}", blurple.diagnostics);
    assert!(
        blurple.diagnostics[0]
            .message
            .contains("bad colour 'blurple'")
    );
    let gren = diagnose(&text("gren"), Path::new("c.toml"));
    let hint = gren.diagnostics[0].hint.clone().unwrap_or_default();
    assert!(hint.contains("did you mean \"green\""), "{hint}");
    let short = diagnose(&text("#12345"), Path::new("c.toml"));
    assert_eq!(short.errors(), 1);
}

#[test]
fn the_inline_api_key_warning_shows_whatever_else_is_wrong() {
    let inline = |report: &Report| {
        report
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning && d.message.contains("API key is written"))
    };
    let alone = diagnose(
        "[backends.x]\nkind = \"openai\"\napi_key = \"sk-1\"\n",
        Path::new("c.toml"),
    );
    assert!(inline(&alone), "{:?}", alone.diagnostics);
    let with_env = diagnose(
        "[backends.x]\nkind = \"openai\"\napi_key = \"sk-1\"\napi_key_env = \"K\"\n",
        Path::new("c.toml"),
    );
    assert!(inline(&with_env), "{:?}", with_env.diagnostics);
    assert_eq!(with_env.errors(), 1);
    let bad_kind = diagnose(
        "[backends.x]\nkind = \"opnai\"\napi_key = \"sk-1\"\n",
        Path::new("c.toml"),
    );
    assert!(inline(&bad_kind), "{:?}", bad_kind.diagnostics);
    let d = bad_kind
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .unwrap();
    assert_eq!((d.line, d.path.as_str()), (3, "backends.x.api_key"));
    assert!(
        !format!("{:?}", bad_kind.diagnostics).contains("sk-1"),
        "the key is never echoed"
    );
}

#[test]
fn example_documents_every_key_of_the_schema() {
    let tables: [(&str, &[&str]); 10] = [
        ("backends", fields_of::<BackendConfig>()),
        ("agents", fields_of::<AgentConfig>()),
        ("teams", fields_of::<TeamConfig>()),
        ("price", fields_of::<Price>()),
        ("budget", fields_of::<Budget>()),
        ("consensus", fields_of::<Consensus>()),
        ("steps", fields_of::<Step>()),
        ("ui", fields_of::<UiConfig>()),
        ("telemetry", fields_of::<TelemetryConfig>()),
        ("mcp", fields_of::<McpConfig>()),
    ];
    for (table, fields) in tables {
        assert!(!fields.is_empty(), "{table}");
        for field in fields {
            assert!(
                EXAMPLE.contains(&format!("{field} =")) || EXAMPLE.contains(&format!(".{field}]]")),
                "config.example.toml does not document {table}.{field}"
            );
        }
    }
}

#[test]
fn an_auto_teams_router_and_teams_are_checked_with_their_line() {
    let text = r#"
[backends.b]
kind = "scripted"

[agents.a]
backend = "b"
model = "m"

[teams.solo]
pattern = "single"
members = ["a"]

[teams.ask]
pattern = "auto"
router = "ghost"
teams = ["solo", "ask", "sollo", "solo", "loop"]

[teams.loop]
pattern = "auto"
router = "a"
teams = ["ask"]

[teams.bare]
pattern = "auto"
"#;
    let report = diagnose(text, Path::new("c.toml"));
    let at = |path: &str| -> Vec<(usize, String)> {
        report
            .diagnostics
            .iter()
            .filter(|d| d.path == path)
            .map(|d| (d.line, d.message.clone()))
            .collect()
    };
    assert_eq!(at("teams.ask.router")[0].0, 15);
    assert!(
        at("teams.ask.router")[0]
            .1
            .contains("no agent named 'ghost'")
    );
    let teams: Vec<String> = (1..5)
        .flat_map(|i| at(&format!("teams.ask.teams[{i}]")))
        .map(|(line, m)| format!("{line}: {m}"))
        .collect();
    assert!(
        teams
            .iter()
            .any(|m| m.starts_with("16: ") && m.contains("cannot route to itself")),
        "{teams:?}"
    );
    assert!(
        teams.iter().any(|m| m.contains("no team named 'sollo'")),
        "{teams:?}"
    );
    assert!(
        teams.iter().any(|m| m.contains("'solo' is listed twice")),
        "{teams:?}"
    );
    assert!(
        teams.iter().any(|m| m.contains("comes back to 'ask'")),
        "{teams:?}"
    );
    assert!(at("teams.bare.router")[0].1.contains("needs a router"));
    assert!(at("teams.bare.teams")[0].1.contains("needs teams"));
    assert!(
        at("teams.bare.members").is_empty(),
        "an auto team has no members of its own"
    );
}

#[test]
fn load_file_reports_a_missing_file_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = load_file(&path).unwrap_err();
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

#[test]
fn load_file_returns_warnings_of_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[backends.o]\nkind = \"openai\"\napi_key = \"sk-x\"\n[agents.a]\nbackend = \"o\"\nmodel = \"m\"\n\
         [teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n",
    )
    .unwrap();
    let loaded = load_file(&path).unwrap();
    assert_eq!(loaded.source, Source::File(path.clone()));
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, 3);
}

#[test]
fn invalid_text_is_an_error_listing_every_problem() {
    let err = parse_str(
        "[agents.a]\nmodle = 1\n[ui]\nmouse = \"yes\"\n",
        Path::new("x.toml"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("x.toml:2:1: error: agents.a.modle"), "{text}");
    assert!(text.contains("x.toml:4:9: error: ui.mouse"), "{text}");
    assert!(text.ends_with("errors in the configuration"), "{text}");
}

#[test]
fn line_col_counts_characters_and_survives_odd_offsets() {
    let text = "a = 1\nbé = 2\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 6), (2, 1));
    assert_eq!(line_col(text, 9), (2, 3));
    assert_eq!(line_col(text, 8), (2, 2));
    assert_eq!(line_col(text, 999), (3, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = diagnose(&text, Path::new("p.toml"));
    }

    #[test]
    fn mutated_example_never_panics(
        cuts in proptest::collection::vec((0usize..EXAMPLE.len(), 0usize..40, "[\\[\\]{}=\"',.a-z0-9 \\n#-]{0,6}"), 1..6)
    ) {
        let mut text = EXAMPLE.to_string();
        for (at, len, insert) in cuts {
            let mut start = at.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(start..end, &insert);
        }
        let report = diagnose(&text, Path::new("p.toml"));
        for d in &report.diagnostics {
            prop_assert!(d.line >= 1 && d.column >= 1);
        }
        prop_assert_eq!(report.config.is_some(), report.errors() == 0);
    }
}

/// The field names serde knows for `T`, straight from its derived `Deserialize`.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Many problems cost a bounded number of passes over the document, never one pass each: the
/// structural pass stays linear in the size of the file (it was quadratic in the number of
/// unknown keys: 20,000 took 20 s).
#[test]
fn the_work_is_bounded_however_many_problems_a_file_holds() {
    use crate::config::structure::{self, MAX_PROBLEMS};
    let one_table: String = std::iter::once("[ui]\n".to_string())
        .chain((0..3_000).map(|i| format!("unknown_{i} = 1\n")))
        .collect();
    let many_tables: String = (0..3_000)
        .map(|i| format!("[agents.a{i}]\nbackend = \"b\"\nmodel = \"m\"\nmodle = 1\n"))
        .collect();
    let wrong_types: String = (0..3_000)
        .map(|i| format!("[agents.a{i}]\nbackend = 1\nmodel = \"m\"\n"))
        .collect();
    for text in [&one_table, &many_tables, &wrong_types] {
        let read = structure::read(text);
        assert!(read.passes <= 2 * MAX_PROBLEMS, "{} passes", read.passes);
        assert_eq!(read.findings.len(), MAX_PROBLEMS + 1);
        let report = diagnose(text, Path::new("c.toml"));
        let last = report.diagnostics.iter().map(|d| &d.message);
        assert!(
            last.clone().any(|m| m.contains("too many problems")),
            "{:?}",
            report.diagnostics.last()
        );
        assert_eq!(report.errors(), MAX_PROBLEMS + 1);
    }
    // The semantic pass lists at most as many.
    let undefined: String = (0..500)
        .map(|i| format!("[agents.a{i}]\nbackend = \"nope\"\nmodel = \"m\"\n"))
        .collect();
    let report = diagnose(&undefined, Path::new("c.toml"));
    assert_eq!(
        report.errors(),
        MAX_PROBLEMS + 1,
        "{:?}",
        report.diagnostics.last()
    );
    // Many warnings and no error: still valid.
    let inline_keys: String = (0..150)
        .map(|i| format!("[backends.b{i}]\nkind = \"openai\"\napi_key = \"k\"\n"))
        .collect();
    let report = diagnose(&inline_keys, Path::new("c.toml"));
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics.last());
    assert!(report.config.is_some());
}

#[test]
fn a_backend_that_cannot_be_read_is_not_warned_about_a_key_it_lacks() {
    let report = diagnose("[backends.x]\nkind = 5\n", Path::new("c.toml"));
    assert_eq!(report.warnings(), 0, "{:?}", report.diagnostics);
    assert_eq!(report.errors(), 1, "{:?}", report.diagnostics);
    assert!(
        report.diagnostics[0]
            .message
            .contains("expected a name in quotes")
    );
}

#[test]
fn a_syntax_error_is_not_also_a_missing_team_or_key() {
    for text in [
        "[ui]\ntheme = \"dark\n",
        "[backends.demo]\nkind = \"scripted\"\n[agents.a]\nbackend = \"demo\"\nmodel = \"m\n",
        "[backends.demo]\nkind = \"scripted\"\n[agents.a]\nbackend = \"demo\"\nmodel \"m\"\n",
        "[backends.demo]\nkind = \"scripted\"\n[agents.a]\nbackend = \"demo\"\nmodel = \"m\"\n\
         [teams.t\npattern = \"single\"\nmembers = [\"a\"]\n",
        "[backends.demo\nkind = \"scripted\"\n[agents.a]\nbackend = \"demo\"\nmodel = \"m\"\n\
         [teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n",
    ] {
        let report = diagnose(text, Path::new("c.toml"));
        assert_eq!(
            report.diagnostics.len(),
            1,
            "{text}\n{:#?}",
            report.diagnostics
        );
        assert_eq!(report.diagnostics[0].path, "", "the syntax error itself");
    }
}

#[test]
fn a_duplicate_is_reported_once_with_its_name() {
    let only_error = |text: &str| {
        let report = diagnose(text, Path::new("c.toml"));
        let mut errors = report
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error);
        let first = errors.next().unwrap();
        assert_eq!(errors.next(), None, "one error only, then {first}");
        first
    };
    let table = only_error(
        "[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n\
         system = \"s\"\n",
    );
    assert_eq!(table.message, "the table [agents.a] is defined twice");
    assert_eq!(table.line, 4);
    assert!(table.hint.as_deref().unwrap_or("").contains("line 1"));
    let key = only_error("[agents.a]\nbackend = \"b\"\nmodel = \"m\"\nmodel = \"n\"\n");
    assert_eq!(key.message, "`model` is set twice in [agents.a]");
    assert_eq!((key.line, key.column), (4, 1));
}

#[test]
fn numbers_past_their_type_name_the_range_and_never_rust() {
    let team = |line: &str| {
        format!(
            "[backends.b]\nkind = \"scripted\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n\
             [teams.t]\npattern = \"group_chat\"\nmembers = [\"a\"]\n{line}\n"
        )
    };
    let message = |line: &str| {
        let report = diagnose(&team(line), Path::new("c.toml"));
        assert_eq!(report.errors(), 1, "{line}: {:?}", report.diagnostics);
        report.diagnostics[0].message.clone()
    };
    let range = "max_rounds must be a whole number from 1 to 10000";
    assert_eq!(message("max_rounds = 0"), format!("{range} (got 0)"));
    assert_eq!(message("max_rounds = -1"), format!("{range} (got -1)"));
    assert_eq!(
        message("max_rounds = 9223372036854775807"),
        format!("{range} (got 9223372036854775807)")
    );
    let huge = message("last_n = 99999999999999999999999\ncontext = \"last_n\"");
    assert!(
        huge.contains("at most") || huge.contains("to 100000"),
        "{huge}"
    );
    assert!(!huge.contains("i128"), "{huge}");
}

#[test]
fn a_key_binding_of_the_wrong_type_says_what_one_looks_like() {
    for value in ["5", "{ key = \"q\" }", "[\"q\", 5]", "true"] {
        let report = diagnose(
            &format!("[keys.global]\nquit = {value}\n"),
            Path::new("c.toml"),
        );
        let d = &report.diagnostics[0];
        assert!(
            d.message
                .contains("a key such as \"ctrl+r\" or a list of keys"),
            "{value}: {d}"
        );
        assert!(!d.message.contains("untagged"), "{d}");
    }
}

#[test]
fn read_text_refuses_big_and_binary_files_with_a_place() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let only = |path: &Path| match read_text(path) {
        Err(ConfigError::Invalid { diagnostics }) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            diagnostics[0].clone()
        }
        other => panic!("{other:?}"),
    };
    let limit = usize::try_from(MAX_CONFIG_BYTES).unwrap();
    let fits = write("fits.toml", "#".repeat(limit).as_bytes());
    assert!(read_text(&fits).is_ok());
    let big = only(&write("big.toml", "#".repeat(limit + 1).as_bytes()));
    assert!(big.message.contains("larger than 1 MiB"), "{big}");
    let latin1 = only(&write("l.toml", b"[ui]\ntheme = \"caf\xe9\"\n"));
    assert_eq!((latin1.line, latin1.column), (2, 13), "{latin1}");
    assert!(latin1.message.contains("not UTF-8"), "{latin1}");
    let nul = only(&write("n.toml", b"[ui]\nmouse = true\n\0\0\0"));
    assert_eq!((nul.line, nul.column), (3, 1), "{nul}");
}

#[test]
fn locating_by_the_line_index_agrees_with_line_col() {
    let text = "a = 1\nbé = 2\n\n[x]\ny = \"ü\"\n";
    let lines = Lines::new(text);
    for offset in 0..text.len() + 3 {
        assert_eq!(
            lines.locate(offset),
            line_col(text, offset),
            "offset {offset}"
        );
    }
}

#[test]
fn files_the_config_names_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("mine.toml"), "").unwrap();
    let with = |extra: &str| {
        let text = format!("[backends.s]\nkind = \"scripted\"\n{extra}");
        let read = structure::read(&text);
        validate::files::check_files(&read.config, &themes)
    };
    let missing = dir.path().join("missing.toml");
    let found = with(&format!("script = {:?}\n", missing.display().to_string()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("cannot read the script"),
        "{found:?}"
    );
    assert_eq!(found[0].path.to_string(), "backends.s.script");
    assert_eq!(
        with(&format!(
            "script = {:?}\n",
            dir.path().display().to_string()
        ))
        .len(),
        1
    );
    assert_eq!(with("[ui]\ntheme = \"mine\"\n"), vec![]);
    assert_eq!(with("[ui]\ntheme = \"high_contrast\"\n"), vec![]);
    let nope = with("[ui]\ntheme = \"ligth\"\n");
    assert_eq!(nope[0].message, "no theme named 'ligth'");
    assert_eq!(nope[0].hint.as_deref(), Some("did you mean \"light\"?"));
}

#[test]
fn yaml_or_json_is_named_once_rather_than_an_error_a_line() {
    for (text, format) in [
        ("backends:\n  local:\n    kind: ollama\n", "YAML"),
        ("- agents:\n    - name: critic\n", "YAML"),
        (
            "{\"backends\": {\"local\": {\"kind\": \"ollama\"}}}\n",
            "JSON",
        ),
    ] {
        let report = diagnose(text, Path::new("c.toml"));
        assert_eq!(report.diagnostics.len(), 1, "{:#?}", report.diagnostics);
        assert_eq!(
            report.diagnostics[0].message,
            format!("this looks like {format}, but a conclave config is TOML")
        );
    }
    // TOML with a syntax error is told as such, even with colons in it.
    let toml = diagnose("[ui]\ntheme = \"dark\n# note: fix\n", Path::new("c.toml"));
    assert!(!toml.diagnostics[0].message.contains("looks like"));
}
