//! One test per rule, each through the full path: text → structural pass → rules → located
//! diagnostics.

use std::path::Path;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::load::diagnose;

const BASE: &str = r#"
[backends.local]
kind = "ollama"

[agents.a]
backend = "local"
model = "m"

[agents.b]
backend = "local"
model = "m"

[agents.c]
backend = "local"
model = "m"
"#;

fn check(extra: &str) -> Vec<Diagnostic> {
    let text = format!("{BASE}{extra}");
    diagnose(&text, Path::new("t.toml")).diagnostics
}

fn errors(extra: &str) -> Vec<Diagnostic> {
    check(extra)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// Exactly one error, at `path`, whose message contains `needle`; returns it.
fn one_error(extra: &str, path: &str, needle: &str) -> Diagnostic {
    let found = errors(extra);
    assert_eq!(found.len(), 1, "expected one error, got {found:#?}");
    let d = found.into_iter().next().unwrap();
    assert_eq!(d.path, path, "{d}");
    assert!(d.message.contains(needle), "{d}");
    d
}

fn one_warning(extra: &str, path: &str, needle: &str) -> Diagnostic {
    let all = check(extra);
    assert!(
        all.iter().all(|d| d.severity == Severity::Warning),
        "{all:#?}"
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    let d = all.into_iter().next().unwrap();
    assert_eq!(d.path, path, "{d}");
    assert!(d.message.contains(needle), "{d}");
    d
}

fn line_of(extra: &str, needle: &str) -> usize {
    let text = format!("{BASE}{extra}");
    let offset = text.find(needle).unwrap();
    text[..offset].matches('\n').count() + 1
}

const TEAM: &str = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"b\", \"c\"]\n";

#[test]
fn base_with_a_team_is_clean() {
    assert_eq!(check(TEAM), vec![]);
}

#[test]
fn no_teams_is_a_warning() {
    one_warning("", "", "no teams");
}

#[test]
fn syntax_error_is_located_and_the_rest_still_checked() {
    let extra = format!("{TEAM}max_rounds = \n[agents.d]\nbackend = \"nope\"\nmodel = \"m\"\n");
    let found = errors(&extra);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].line, line_of(&extra, "max_rounds"));
    assert_eq!(found[0].path, "");
    assert_eq!(found[1].path, "agents.d.backend");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let extra = format!("{TEAM}max_rouds = 3\n");
    let d = one_error(&extra, "teams.t.max_rouds", "unknown key");
    assert_eq!(d.hint.as_deref(), Some("did you mean `max_rounds`?"));
    assert_eq!((d.line, d.column), (line_of(&extra, "max_rouds"), 1));
}

#[test]
fn unknown_top_level_table() {
    let d = one_error(
        &format!("{TEAM}[agent.x]\nmodel = \"m\"\n"),
        "agent",
        "unknown key",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `agents`?"));
}

#[test]
fn unknown_enum_value_suggests() {
    let d = one_error(
        "\n[teams.t]\npattern = \"groupchat\"\nmembers = [\"a\"]\n",
        "teams.t.pattern",
        "unknown value `groupchat`",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `group_chat`?"));
}

#[test]
fn wrong_type_is_located_at_the_value() {
    let extra = format!("{TEAM}max_rounds = \"four\"\n");
    let d = one_error(&extra, "teams.t.max_rounds", "wrong type");
    assert_eq!(d.column, "max_rounds = ".len() + 1);
}

#[test]
fn wrong_type_inside_an_array() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", 7]\n";
    one_error(extra, "teams.t.members[1]", "wrong type");
}

#[test]
fn missing_required_key_without_cascade() {
    let extra = format!(
        "{TEAM}[agents.d]\nbackend = \"local\"\n[teams.u]\npattern = \"single\"\nmembers = [\"d\"]\n"
    );
    one_error(&extra, "agents.d.model", "missing required key");
}

#[test]
fn several_problems_reported_together() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"zed\"]\nmax_rouds = 1\n\
                 max_rounds = 0\n[agents.d]\nbackend = \"lokal\"\nmodel = 3\n";
    let found = errors(extra);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "teams.t.members[1]",
            "teams.t.max_rouds",
            "teams.t.max_rounds",
            "agents.d.model"
        ],
        "{found:#?}"
    );
}

#[test]
fn agent_with_undefined_backend() {
    let extra = format!("{TEAM}[agents.d]\nbackend = \"lcoal\"\nmodel = \"m\"\n");
    let d = one_error(&extra, "agents.d.backend", "no backend named 'lcoal'");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'local'?"));
}

#[test]
fn team_with_undefined_member() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"bb\"]\n";
    let d = one_error(extra, "teams.t.members[1]", "no agent named 'bb'");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'b'?"));
    assert_eq!(d.column, "members = [\"a\", ".len() + 1);
}

#[test]
fn team_without_members() {
    one_error(
        "\n[teams.t]\npattern = \"group_chat\"\n",
        "teams.t.members",
        "no members",
    );
}

#[test]
fn duplicate_members() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"b\", \"a\"]\n";
    one_error(extra, "teams.t.members[2]", "listed twice");
}

#[test]
fn single_has_exactly_one_member() {
    let extra = "\n[teams.t]\npattern = \"single\"\nmembers = [\"a\", \"b\"]\n";
    one_error(extra, "teams.t.members", "exactly one member");
    assert_eq!(
        check("\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n"),
        vec![]
    );
}

#[test]
fn option_not_used_by_the_pattern() {
    let extra = "\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\nmax_rounds = 3\n";
    let d = one_error(
        extra,
        "teams.t.max_rounds",
        "not used by the single pattern",
    );
    assert!(d.hint.unwrap().contains("members"));
    let extra = "\n[teams.t]\npattern = \"concurrent\"\nmembers = [\"a\"]\nentry = \"a\"\n";
    one_error(extra, "teams.t.entry", "not used by the concurrent pattern");
    let extra = "\n[teams.t]\npattern = \"best_of\"\nmembers = [\"a\"]\njudge = \"b\"\nconsensus = { threshold = 0.5 }\n";
    one_error(
        extra,
        "teams.t.consensus",
        "not used by the best_of pattern",
    );
}

#[test]
fn description_and_context_options_are_allowed_where_used() {
    let extra = "\n[teams.t]\npattern = \"handoff\"\ndescription = \"d\"\nmembers = [\"a\", \"b\"]\n\
                 context = \"last_n\"\nlast_n = 4\nsanitize = true\nedges = { \"a->b\" = \"summary\" }\n";
    assert_eq!(check(extra), vec![]);
}

#[test]
fn sequential_steps_name_defined_agents() {
    let extra = "\n[teams.p]\npattern = \"sequential\"\n[[teams.p.steps]]\nagent = \"a\"\n\
                 [[teams.p.steps]]\nagent = \"x\"\ninstructions = \"do\"\n";
    one_error(extra, "teams.p.steps[1].agent", "no agent named 'x'");
}

#[test]
fn sequential_with_members_and_steps() {
    let extra =
        "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\"]\nsteps = [{ agent = \"b\" }]\n";
    one_error(extra, "teams.p.members", "both members and steps");
}

#[test]
fn edges_must_be_well_formed_and_name_members() {
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\", \"b\"]\n\
                 edges = { \"a-b\" = \"full\" }\n";
    one_error(extra, "teams.p.edges.a-b", "not an edge");
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\", \"b\"]\n\
                 edges = { \"a->c\" = \"full\" }\n";
    one_error(extra, "teams.p.edges.\"a->c\"", "'c' is not a member");
    // `*->agent` (from anyone) is accepted; its target must still be a member.
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\", \"b\"]\n\
                 edges = { \"*->b\" = \"none\" }\n";
    assert_eq!(check(extra), vec![]);
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\", \"b\"]\n\
                 edges = { \"*->c\" = \"none\" }\n";
    one_error(extra, "teams.p.edges.\"*->c\"", "'c' is not a member");
}

#[test]
fn last_n_zero_and_last_n_without_mode() {
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\"]\ncontext = \"last_n\"\nlast_n = 0\n";
    one_error(
        extra,
        "teams.p.last_n",
        "last_n must be a whole number from 1 to 100000 (got 0)",
    );
    let extra = "\n[teams.p]\npattern = \"sequential\"\nmembers = [\"a\"]\nlast_n = 3\n";
    one_warning(extra, "teams.p.last_n", "no effect");
}

const SUPPORT: &str = "\n[teams.s]\npattern = \"handoff\"\nmembers = [\"a\", \"b\"]\n";

#[test]
fn handoff_entry_must_be_a_member() {
    let d = one_error(
        &format!("{SUPPORT}entry = \"c\"\n"),
        "teams.s.entry",
        "not a member",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean 'a'?"));
}

#[test]
fn handoff_targets_must_be_members() {
    one_error(
        &format!("{SUPPORT}handoffs = {{ a = [\"b\", \"c\"] }}\n"),
        "teams.s.handoffs.a[1]",
        "target 'c' is not a member",
    );
    one_error(
        &format!("{SUPPORT}handoffs = {{ c = [\"a\"] }}\n"),
        "teams.s.handoffs.c",
        "'c' in handoffs is not a member",
    );
    one_error(
        &format!("{SUPPORT}handoffs = {{ a = [\"a\"] }}\n"),
        "teams.s.handoffs.a[0]",
        "itself",
    );
}

#[test]
fn handoff_fallbacks_must_be_members() {
    one_error(
        &format!("{SUPPORT}fallback = {{ b = [\"c\"] }}\n"),
        "teams.s.fallback.b[0]",
        "not a member",
    );
}

#[test]
fn approval_window() {
    one_error(
        &format!("{SUPPORT}approval = \"window\"\napproval_window_ms = 0\n"),
        "teams.s.approval_window_ms",
        "from 1 to 3600000 (got 0)",
    );
    one_warning(
        &format!("{SUPPORT}approval = \"confirm\"\napproval_window_ms = 2000\n"),
        "teams.s.approval_window_ms",
        "no effect",
    );
    assert_eq!(
        check(&format!(
            "{SUPPORT}approval = \"window\"\napproval_window_ms = 2000\n"
        )),
        vec![]
    );
}

#[test]
fn max_depth_positive() {
    one_error(
        &format!("{SUPPORT}max_depth = 0\n"),
        "teams.s.max_depth",
        "must be a whole number from 1 to",
    );
}

#[test]
fn manager_selection_needs_a_defined_manager() {
    one_error(
        &format!("{TEAM}speaker_selection = \"manager\"\n"),
        "teams.t.speaker_selection",
        "needs a manager",
    );
    one_error(
        &format!("{TEAM}speaker_selection = \"manager\"\nmanager = \"boss\"\n"),
        "teams.t.manager",
        "no agent named 'boss'",
    );
    one_warning(
        &format!("{TEAM}manager = \"a\"\n"),
        "teams.t.manager",
        "not asked",
    );
}

#[test]
fn manager_may_be_outside_members() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"b\"]\n\
                 speaker_selection = \"manager\"\nmanager = \"c\"\n";
    assert_eq!(check(extra), vec![]);
}

#[test]
fn group_chat_limits() {
    one_error(
        &format!("{TEAM}max_rounds = 0\n"),
        "teams.t.max_rounds",
        "must be a whole number from 1 to",
    );
    one_error(
        &format!("{TEAM}max_messages = 0\n"),
        "teams.t.max_messages",
        "must be a whole number from 1 to",
    );
    one_error(
        &format!("{TEAM}time_limit_s = 0\n"),
        "teams.t.time_limit_s",
        "must be a whole number from 1 to",
    );
    one_error(
        &format!("{TEAM}keyword = \" \"\n"),
        "teams.t.keyword",
        "empty",
    );
}

#[test]
fn budget_in_range() {
    one_error(
        &format!("{TEAM}budget = {{ tokens = 0 }}\n"),
        "teams.t.budget.tokens",
        "must be a whole number from 1 to",
    );
    one_error(
        &format!("{TEAM}budget = {{ cost = -1.5 }}\n"),
        "teams.t.budget.cost",
        "more than 0",
    );
    one_error(
        &format!("{TEAM}budget = {{}}\n"),
        "teams.t.budget",
        "empty budget",
    );
}

#[test]
fn every_pattern_and_every_agent_takes_a_budget_and_fallbacks_name_backends() {
    let single =
        "\n[teams.s]\npattern = \"single\"\nmembers = [\"a\"]\nbudget = { tokens = 100 }\n";
    assert_eq!(check(single), vec![]);
    let agent = "\n[agents.z]\nbackend = \"local\"\nmodel = \"m\"\nbudget = { cost = 0.5 }\nfallback = [{ backend = \"local\", model = \"n\", price = { input = 1.0, output = 2.0 } }]\n";
    assert!(errors(agent).is_empty(), "{:#?}", errors(agent));
    one_error(
        "\n[agents.z]\nbackend = \"local\"\nmodel = \"m\"\nfallback = [{ backend = \"locl\", model = \"n\" }]\n",
        "agents.z.fallback[0].backend",
        "no backend named 'locl'",
    );
    one_error(
        "\n[agents.z]\nbackend = \"local\"\nmodel = \"m\"\nbudget = { tokens = 0 }\n",
        "agents.z.budget.tokens",
        "must be a whole number from 1 to",
    );
}

#[test]
fn consensus_threshold_in_range() {
    for bad in ["0.0", "1.5", "-0.2", "nan"] {
        one_error(
            &format!("{TEAM}consensus = {{ threshold = {bad} }}\n"),
            "teams.t.consensus.threshold",
            "more than 0 and at most 1",
        );
    }
    assert_eq!(
        check(&format!("{TEAM}consensus = {{ threshold = 1.0 }}\n")),
        vec![]
    );
}

#[test]
fn best_of_needs_a_defined_judge() {
    let team = "\n[teams.r]\npattern = \"best_of\"\nmembers = [\"a\", \"b\"]\n";
    one_error(team, "teams.r.judge", "needs a judge");
    one_error(
        &format!("{team}judge = \"jduge\"\n"),
        "teams.r.judge",
        "no agent named",
    );
    one_warning(
        &format!("{team}judge = \"a\"\n"),
        "teams.r.judge",
        "score itself",
    );
    assert_eq!(
        check(&format!("{team}judge = \"c\"\nrubric = \"r\"\n")),
        vec![]
    );
}

#[test]
fn aggregator_must_be_defined() {
    let team =
        "\n[teams.f]\npattern = \"concurrent\"\nmembers = [\"a\", \"b\"]\nstrategy = \"all\"\n";
    one_error(
        &format!("{team}aggregator = \"z\"\n"),
        "teams.f.aggregator",
        "no agent",
    );
    assert_eq!(
        check(&format!("{team}aggregator = \"c\"\ntimeout_ms = 500\n")),
        vec![]
    );
    one_error(
        &format!("{team}timeout_ms = 0\n"),
        "teams.f.timeout_ms",
        "must be a whole number from 1 to",
    );
}

#[test]
fn agent_names_become_tool_names() {
    let extra = format!("{TEAM}[agents.\"bad name\"]\nbackend = \"local\"\nmodel = \"m\"\n");
    let d = one_error(&extra, "agents.\"bad name\"", "invalid agent name");
    assert_eq!(d.line, line_of(&extra, "[agents.\"bad name\"]"));
    let long = "x".repeat(65);
    one_error(
        &format!("{TEAM}[agents.{long}]\nbackend = \"local\"\nmodel = \"m\"\n"),
        &format!("agents.{long}"),
        "invalid agent name",
    );
    let ok = "x".repeat(64);
    assert_eq!(
        check(&format!(
            "{TEAM}[agents.{ok}]\nbackend = \"local\"\nmodel = \"m\"\n"
        )),
        vec![]
    );
}

#[test]
fn agent_numbers_in_range() {
    let agent =
        |line: &str| format!("{TEAM}[agents.d]\nbackend = \"local\"\nmodel = \"m\"\n{line}\n");
    one_error(
        &agent("temperature = 2.5"),
        "agents.d.temperature",
        "temperature must be a number from 0 to 2 (got 2.5)",
    );
    one_error(
        &agent("temperature = -0.1"),
        "agents.d.temperature",
        "from 0 to 2",
    );
    one_error(
        &agent("max_tokens = 0"),
        "agents.d.max_tokens",
        "must be a whole number from 1 to",
    );
    one_error(
        &agent("timeout_ms = 0"),
        "agents.d.timeout_ms",
        "must be a whole number from 1 to",
    );
    one_error(
        &agent("price = { input = -1, output = 2 }"),
        "agents.d.price.input",
        "price.input must be a number from 0 to 1000000 (got -1)",
    );
    one_error(&agent("color = \"#12345\""), "agents.d.color", "bad colour");
    one_error(
        &format!("{TEAM}[agents.e]\nbackend = \"local\"\nmodel = \" \"\n"),
        "agents.e.model",
        "empty",
    );
    assert_eq!(
        check(&agent(
            "temperature = 0.7\nprice = { input = 0.15, output = 0.6 }\ncolor = \"#4e9a06\""
        )),
        vec![]
    );
}

fn backend(lines: &str) -> String {
    format!("{TEAM}[backends.x]\n{lines}\n")
}

#[test]
fn base_url_must_be_http() {
    one_error(
        &backend("kind = \"openai\"\nbase_url = \"localhost:8080\""),
        "backends.x.base_url",
        "http:// or https://",
    );
    one_error(
        &backend("kind = \"openai\"\nbase_url = \"not a url\""),
        "backends.x.base_url",
        "not a URL",
    );
    // Quoted without the password it holds.
    one_error(
        &backend("kind = \"openai\"\nbase_url = \"ftp://bob:pw-ftp-5@files.lan/x?k=v\""),
        "backends.x.base_url",
        "'ftp://[redacted credentials]@files.lan/x?k=[redacted]' must start with http://",
    );
    assert_eq!(
        check(&backend(
            "kind = \"openai\"\nbase_url = \"http://127.0.0.1:8000/v1\""
        )),
        vec![]
    );
}

#[test]
fn kind_specific_backend_keys() {
    one_error(
        &backend("kind = \"openai\"\nnum_ctx = 8192"),
        "backends.x.num_ctx",
        "not used by openai",
    );
    one_error(
        &backend("kind = \"ollama\"\nscript = \"s.toml\""),
        "backends.x.script",
        "not used by ollama",
    );
    one_error(
        &backend("kind = \"anthropic\"\ntokens_per_sec = 10.0"),
        "backends.x.tokens_per_sec",
        "not used",
    );
    one_error(
        &backend("kind = \"scripted\"\napi_key_env = \"K\""),
        "backends.x.api_key_env",
        "not used by scripted",
    );
    one_error(
        &backend("kind = \"scripted\"\nmax_concurrent = 1"),
        "backends.x.max_concurrent",
        "not used by scripted",
    );
    one_error(
        &backend("kind = \"scripted\"\ntokens_per_sec = -1.0"),
        "backends.x.tokens_per_sec",
        "tokens_per_sec must be 0 or a number from 0.1 to 100000 (got -1)",
    );
    assert_eq!(
        // The script must exist (files.rs reads it): any readable file will do here.
        check(&backend(concat!(
            "kind = \"scripted\"\nscript = \"",
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml\"\ntokens_per_sec = 0.0"
        ))),
        vec![]
    );
    assert_eq!(check(&backend("kind = \"ollama\"\nnum_ctx = 8192")), vec![]);
}

#[test]
fn one_way_to_get_the_key() {
    one_error(
        &backend("kind = \"openai\"\napi_key_env = \"K\"\napi_key_cmd = \"pass show k\""),
        "backends.x.api_key_cmd",
        "both",
    );
}

#[test]
fn inline_api_key_is_a_warning_that_does_not_leak_it() {
    let d = one_warning(
        &backend("kind = \"openai\"\napi_key = \"sk-secret-123\""),
        "backends.x.api_key",
        "written in the config",
    );
    assert!(d.hint.as_deref().unwrap().contains("api_key_env"));
    assert!(!d.to_string().contains("sk-secret-123"));
}

#[test]
fn default_team_must_exist() {
    let d = one_error(
        &format!("{TEAM}[ui]\ndefault_team = \"tt\"\n"),
        "ui.default_team",
        "no team named 'tt'",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean 't'?"));
}

#[test]
fn broken_entries_are_not_reported_twice() {
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"d\"]\n\
                 [agents.d]\nbackend = \"local\"\nmodel = \"m\"\ntemperature = \"hot\"\n";
    one_error(extra, "agents.d.temperature", "wrong type");
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"d\"]\n\
                 [agents.d]\nbackend = \"local\"\n";
    one_error(extra, "agents.d.model", "missing required key");
    let extra = "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\"]\n[ui]\ndefault_team = \"u\"\n\
                 [teams.u]\npattern = \"single\"\nmembers = \"a\"\n";
    one_error(extra, "teams.u.members", "wrong type");
}

#[test]
fn a_misspelt_required_key_is_one_mistake() {
    let extra = format!("{TEAM}[agents.d]\nbackend = \"local\"\nmodle = \"m\"\n");
    let d = one_error(&extra, "agents.d.modle", "unknown key");
    assert_eq!(d.hint.as_deref(), Some("did you mean `model`?"));
}

#[test]
fn inline_key_next_to_another_source_is_an_error() {
    one_error(
        &backend("kind = \"openai\"\napi_key_env = \"K\"\napi_key = \"sk-x\""),
        "backends.x.api_key",
        "next to api_key_env",
    );
    one_error(
        &backend("kind = \"openai\"\napi_key_env = \"\""),
        "backends.x.api_key_env",
        "empty",
    );
}

#[test]
fn scripted_backends_take_no_server_keys() {
    one_error(
        &backend("kind = \"scripted\"\nbase_url = \"http://x\""),
        "backends.x.base_url",
        "not used by scripted",
    );
    one_error(
        &backend("kind = \"scripted\"\nheaders = { a = \"b\" }"),
        "backends.x.headers",
        "not used by scripted",
    );
}

#[test]
fn backend_numbers_positive() {
    one_error(
        &backend("kind = \"ollama\"\nnum_ctx = 0"),
        "backends.x.num_ctx",
        "must be a whole number from 1 to",
    );
    one_error(
        &backend("kind = \"openai\"\nconnect_timeout_ms = 0"),
        "backends.x.connect_timeout_ms",
        "must be a whole number from 1 to",
    );
    one_error(
        &backend("kind = \"openai\"\nidle_timeout_ms = 0"),
        "backends.x.idle_timeout_ms",
        "must be a whole number from 1 to",
    );
    one_error(
        &backend("kind = \"ollama\"\nfirst_token_timeout_ms = 0"),
        "backends.x.first_token_timeout_ms",
        "must be a whole number from 1 to",
    );
    one_error(
        &backend("kind = \"openai\"\nmax_concurrent = 0"),
        "backends.x.max_concurrent",
        "must be a whole number from 1 to 1000",
    );
}

#[test]
fn negative_numbers_for_unsigned_keys_are_type_errors() {
    one_error(
        &format!("{TEAM}max_rounds = -1\n"),
        "teams.t.max_rounds",
        "max_rounds must be a whole number from 1 to 10000 (got -1)",
    );
}

#[test]
fn a_typo_in_one_option_does_not_hide_a_missing_judge() {
    let extra = "\n[teams.r]\npattern = \"best_of\"\nmembers = [\"a\"]\nrubrik = \"r\"\n";
    let found = errors(extra);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["teams.r.judge", "teams.r.rubrik"], "{found:#?}");
}

#[test]
fn misplaced_strings_under_backends_are_not_echoed() {
    let d = one_error(
        &backend("kind = \"openai\"\nheaders = \"Bearer sk-secret-456\""),
        "backends.x.headers",
        "wrong type: a string, expected a table",
    );
    assert!(!d.to_string().contains("sk-secret-456"), "{d}");
}

#[test]
fn debug_output_hides_an_inline_key() {
    let text =
        format!("{BASE}{TEAM}[backends.x]\nkind = \"openai\"\napi_key = \"sk-secret-789\"\n");
    let report = diagnose(&text, std::path::Path::new("t.toml"));
    let debug = format!("{:?}", report.config.unwrap());
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains("sk-secret-789"), "{debug}");
}

#[test]
fn a_handoff_team_without_members_takes_them_from_its_routes() {
    let text = r#"
[backends.b]
kind = "scripted"

[agents.triage]
backend = "b"
model = "m"

[agents.billing]
backend = "b"
model = "m"

[agents.tech]
backend = "b"
model = "m"

[teams.support]
pattern = "handoff"
entry = "triage"
handoffs = { triage = ["billing", "tech"], billing = ["triage"] }
fallback = { tech = ["triage"] }
"#;
    let report = crate::config::load::diagnose(text, std::path::Path::new("c.toml"));
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    let config = report.config.unwrap();
    assert_eq!(
        config.teams["support"].members,
        ["triage", "billing", "tech"]
    );
}

#[test]
fn a_handoff_team_with_neither_members_nor_routes_has_no_members() {
    let text = "[teams.support]\npattern = \"handoff\"\n";
    let report = crate::config::load::diagnose(text, std::path::Path::new("c.toml"));
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.message.contains("the team has no members")),
        "{:?}",
        report.diagnostics
    );
}

/// "Did you mean" compares a name with every candidate; thousands of undefined names against
/// thousands of defined ones took minutes. Only the first `MAX_PROBLEMS` get a comparison.
#[test]
fn did_you_mean_is_computed_a_bounded_number_of_times() {
    use crate::config::structure::{MAX_PROBLEMS, read};
    let text: String = (0..3 * MAX_PROBLEMS)
        .map(|i| {
            format!(
                "[backends.backend{i}]\nkind = \"scripted\"\n\
                 [agents.a{i}]\nbackend = \"backend{i}x\"\nmodel = \"m\"\n"
            )
        })
        .collect();
    let config = read(&text).config;
    let findings: Vec<_> = super::validate(&config)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert_eq!(findings.len(), 3 * MAX_PROBLEMS);
    let suggested = findings
        .iter()
        .filter(|f| {
            f.hint
                .as_deref()
                .is_some_and(|h| h.starts_with("did you mean"))
        })
        .count();
    assert_eq!(suggested, MAX_PROBLEMS);
}

#[test]
fn a_replay_backend_needs_its_journal_and_only_it_has_one() {
    one_error(
        &backend("kind = \"replay\""),
        "backends.x.kind",
        "needs `journal`",
    );
    one_error(
        &backend("kind = \"openai\"\njournal = \"20261121-130000-f1x7\""),
        "backends.x.journal",
        "not used by openai",
    );
    one_error(
        &backend("kind = \"replay\"\njournal = \"x\"\napi_key_env = \"K\""),
        "backends.x.api_key_env",
        "not used by replay",
    );
    one_error(
        &backend("kind = \"replay\"\njournal = \"x\"\ntokens_per_sec = 0.0"),
        "backends.x.tokens_per_sec",
        "not used by replay",
    );
    assert_eq!(
        check(&backend(
            "kind = \"replay\"\njournal = \"20261121-130000-f1x7\""
        )),
        vec![]
    );
}

#[test]
fn a_remote_agent_needs_no_backend_and_gets_a_derived_one() {
    let extra = "\n[agents.r]\na2a = \"http://127.0.0.1:9999\"\nbearer_token_env = \"T\"\n\
                 [teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"r\"]\n";
    assert!(errors(extra).is_empty(), "{:#?}", errors(extra));
    let text = format!("{BASE}{extra}");
    let config = diagnose(&text, Path::new("t.toml")).config.unwrap();
    let r = &config.agents["r"];
    assert_eq!((r.backend.as_str(), r.model.as_str()), ("a2a:r", "a2a"));
    let b = &config.backends["a2a:r"];
    assert_eq!(b.kind, crate::config::BackendKind::A2a);
    assert_eq!(b.base_url.as_deref(), Some("http://127.0.0.1:9999"));
    assert_eq!(b.api_key_env.as_deref(), Some("T"));
}

#[test]
fn a_remote_agent_with_a_bad_url_or_a_backend_is_an_error() {
    let team = "[teams.t]\npattern = \"single\"\nmembers = [\"r\"]\n";
    let bad = format!("\n[agents.r]\na2a = \"not a url\"\n{team}");
    one_error(&bad, "agents.r.a2a", "");
    let both =
        format!("\n[agents.r]\na2a = \"http://h:1\"\nbackend = \"local\"\nmodel = \"m\"\n{team}");
    let d = one_error(&both, "agents.r.backend", "has no `backend`");
    assert!(d.hint.unwrap().contains("remove `backend`"));
    let token = format!(
        "\n[agents.r]\nbackend = \"local\"\nmodel = \"m\"\nbearer_token_env = \"T\"\n{team}"
    );
    one_error(
        &token,
        "agents.r.bearer_token_env",
        "only for remote agents",
    );
    let neither = format!("\n[agents.r]\nmodel = \"m\"\n{team}");
    one_error(
        &neither,
        "agents.r.backend",
        "missing required key `backend`",
    );
}

// Guards (issue 10.4).
#[test]
fn a_guard_names_a_defined_agent_on_every_pattern() {
    for team in [
        "\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\nguard = \"c\"\n",
        "\n[teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"b\"]\nguard = \"c\"\n",
        "\n[teams.t]\npattern = \"handoff\"\nentry = \"a\"\nhandoffs = { a = [\"b\"] }\nguard = \"c\"\n",
    ] {
        assert!(errors(team).is_empty(), "{team}: {:#?}", errors(team));
    }
    let extra = "\n[teams.t]\npattern = \"single\"\nmembers = [\"a\"]\nguard = \"cc\"\n";
    let d = one_error(extra, "teams.t.guard", "no agent named 'cc'");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'c'?"));
    assert_eq!(d.line, line_of(extra, "guard = "));
}
