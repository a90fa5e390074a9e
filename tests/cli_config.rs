//! The real binary: `conclave check` and `conclave init`, with a private HOME, config dir and
//! data dir for every run.

// The helpers below are test code too; clippy only recognises `#[test]` functions as such.
#![allow(clippy::unwrap_used)]

#[path = "support/pty.rs"]
mod pty;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn conclave(&self, args: &[&str]) -> Output {
        // Nothing listens on a port we just closed, so the Ollama probe fails fast.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ollama = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args(args)
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("CONCLAVE_DATA_DIR", self.path("conclave-data"))
            .env("OLLAMA_HOST", ollama)
            .env_remove("CONCLAVE_CONFIG")
            .env_remove("CONCLAVE_LOG")
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .unwrap()
    }

    fn config_file(&self) -> PathBuf {
        self.path("config/conclave/config.toml")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

const BAD: &str = r#"[backends.local]
kind = "ollama"
script = "x.toml"

[agents.alpha]
backend = "lcoal"
model = "m"
temperature = 3.5

[agents.beta]
backend = "local"
modle = "m"

[teams.debate]
pattern = "group_chat"
members = ["alpha", "gamma"]
max_rounds = "four"
entry = "alpha"

[ui]
default_team = "debat"
"#;

#[test]
fn check_prints_every_mistake_with_line_and_column_and_exits_2() {
    let sb = Sandbox::new();
    let file = sb.path("bad.toml");
    std::fs::write(&file, BAD).unwrap();
    let out = sb.conclave(&["check", "--offline", "--config", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    let f = file.display();
    for expected in [
        format!("{f}:3:1: error: backends.local.script:"),
        format!(
            "{f}:6:11: error: agents.alpha.backend: no backend named 'lcoal' (hint: did you mean 'local'?)"
        ),
        format!("{f}:8:15: error: agents.alpha.temperature:"),
        format!(
            "{f}:12:1: error: agents.beta.modle: unknown key `modle` (hint: did you mean `model`?)"
        ),
        format!("{f}:16:21: error: teams.debate.members[1]: no agent named 'gamma'"),
        format!("{f}:17:14: error: teams.debate.max_rounds: wrong type"),
        format!(
            "{f}:18:1: error: teams.debate.entry: `entry` is not used by the group_chat pattern"
        ),
        format!(
            "{f}:21:16: error: ui.default_team: no team named 'debat' (hint: did you mean 'debate'?)"
        ),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains(&format!("checking {f}")), "{text}");
    assert!(text.trim_end().ends_with("8 errors, 0 warnings"), "{text}");
}

#[test]
fn a_syntax_error_is_reported_with_the_other_mistakes() {
    let sb = Sandbox::new();
    let file = sb.path("broken.toml");
    std::fs::write(
        &file,
        "[ui]\ntheme = \"dark\nmouse = 3\n\n[teams.t]\npattern = \"single\"\n",
    )
    .unwrap();
    let out = sb.conclave(&["check", "--offline", "--config", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("broken.toml:2:"), "{text}");
    assert!(text.contains("broken.toml:3:9: error: ui.mouse"), "{text}");
    assert!(
        text.contains("teams.t.members: the team has no members"),
        "{text}"
    );
}

#[test]
fn the_example_checks_clean() {
    let sb = Sandbox::new();
    let out = sb.conclave(&[
        "check",
        "--offline",
        "--config",
        example().to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("valid, no warnings"), "{text}");
}

#[test]
fn a_missing_file_is_named_and_exits_2() {
    let sb = Sandbox::new();
    let file = sb.path("nope.toml");
    let out = sb.conclave(&["check", "--offline", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("nope.toml"), "{}", stdout(&out));
}

#[test]
fn init_writes_once_and_refuses_the_second_time() {
    let sb = Sandbox::new();
    let first = sb.conclave(&["init"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let written = std::fs::read_to_string(sb.config_file()).unwrap();
    assert_eq!(written, std::fs::read_to_string(example()).unwrap());
    assert!(stdout(&first).contains("config.toml"), "{}", stdout(&first));

    let second = sb.conclave(&["init"]);
    assert_eq!(second.status.code(), Some(2));
    let message = stderr(&second);
    assert!(
        message.contains(&sb.config_file().display().to_string()),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");

    let forced = sb.conclave(&["init", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
}

#[test]
fn check_finds_the_file_init_wrote() {
    let sb = Sandbox::new();
    assert_eq!(sb.conclave(&["init"]).status.code(), Some(0));
    let out = sb.conclave(&["check", "--offline"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("checking {}", sb.config_file().display())),
        "{text}"
    );
}

#[test]
fn conclave_config_env_names_the_file() {
    let sb = Sandbox::new();
    let file = sb.path("env.toml");
    std::fs::write(&file, "[ui]\nmouse = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args(["check", "--offline"])
        .env("CONCLAVE_CONFIG", &file)
        .env("CONCLAVE_DATA_DIR", sb.path("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("env.toml:2:9: error: ui.mouse"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_writes_where_conclave_config_points_and_check_reads_it() {
    let sb = Sandbox::new();
    let file = sb.path("elsewhere/conclave.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args(args)
            .env("XDG_CONFIG_HOME", sb.path("config"))
            .env("HOME", sb.path("home"))
            .env("CONCLAVE_CONFIG", &file)
            .env("CONCLAVE_DATA_DIR", sb.path("data"))
            .output()
            .unwrap()
    };
    let init = run(&["init"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    assert!(stdout(&init).contains(&format!("wrote {}", file.display())));
    assert!(file.is_file());
    assert!(!sb.config_file().exists(), "the config dir is left alone");
    let check = run(&["check", "--offline"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(stdout(&check).contains(&format!("checking {}", file.display())));
}

#[test]
fn a_file_with_only_ui_settings_keeps_the_built_in_teams() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.config_file().parent().unwrap()).unwrap();
    std::fs::write(sb.config_file(), "[ui]\nmouse = false\n").unwrap();
    let out = sb.conclave(&["check", "--offline"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("no teams are defined"), "{text}");
    assert!(
        text.contains("defines no teams, agents or backends, so the built-in ones are used"),
        "{text}"
    );
    assert!(text.contains("debate"), "{text}");
    assert!(text.contains("valid, no warnings"), "{text}");
}

#[test]
fn without_a_file_check_validates_the_built_in_default() {
    let sb = Sandbox::new();
    let out = sb.conclave(&["check", "--offline"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("no config file found"), "{text}");
    assert!(text.contains("offline scripted demo"), "{text}");
    assert!(
        text.contains("the built-in default: valid, no warnings"),
        "{text}"
    );
}

#[test]
fn logs_go_to_the_data_dir_never_the_terminal() {
    let sb = Sandbox::new();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args([
            "check",
            "--offline",
            "--config",
            example().to_str().unwrap(),
        ])
        .env("CONCLAVE_DATA_DIR", sb.path("data"))
        .env("CONCLAVE_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
    assert!(!stdout(&out).contains("INFO"), "{}", stdout(&out));
    let log = std::fs::read_to_string(sb.path("data/conclave.log")).unwrap();
    assert!(log.contains("checking config file"), "{log}");
}

#[test]
fn an_unwritable_data_dir_only_disables_logging() {
    let sb = Sandbox::new();
    let blocker = sb.path("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
        .args([
            "check",
            "--offline",
            "--config",
            example().to_str().unwrap(),
        ])
        .env("CONCLAVE_DATA_DIR", blocker.join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn the_console_without_a_terminal_points_to_run() {
    let sb = Sandbox::new();
    let out = sb.conclave(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the console needs a terminal"), "{err}");
    assert!(err.contains("conclave run"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert!(
        stdout(&out).is_empty(),
        "nothing is drawn: {}",
        stdout(&out)
    );
}

/// `run` loads through the same checks as `check`: what one refuses the other refuses, with
/// the same located message and exit 2, before any model is called.
#[test]
fn run_refuses_what_check_refuses_with_the_same_message() {
    let sb = Sandbox::new();
    let team = "[agents.a]\nbackend = \"demo\"\nmodel = \"m\"\n\
                [teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n";
    for (name, text, needle) in [
        (
            "theme.toml",
            format!("[backends.demo]\nkind = \"scripted\"\n{team}[ui]\ntheme = \"solarized\"\n"),
            "ui.theme: no theme named 'solarized'",
        ),
        (
            "script.toml",
            format!("[backends.demo]\nkind = \"scripted\"\nscript = \"no-such.toml\"\n{team}"),
            "backends.demo.script: cannot read the script no-such.toml",
        ),
        (
            "crawl.toml",
            format!("[backends.demo]\nkind = \"scripted\"\ntokens_per_sec = 1e-300\n{team}"),
            "tokens_per_sec must be 0 or a number from 0.1 to 100000 (got 1e-300)",
        ),
    ] {
        let file = sb.path(name);
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        let check = sb.conclave(&["check", "--offline", "--config", file]);
        assert_eq!(check.status.code(), Some(2), "{name}: {}", stdout(&check));
        let line = stdout(&check)
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{name}: check did not say {needle:?}: {}", stdout(&check)))
            .to_string();
        assert!(line.starts_with(&format!("{file}:")), "{line}");
        let run = sb.conclave(&["run", "--config", file, "--team", "t", "--prompt", "hi"]);
        assert_eq!(run.status.code(), Some(2), "{name}: run accepted it");
        assert!(
            stderr(&run).contains(&line),
            "{name}: run did not say what check said ({line}):\n{}",
            stderr(&run)
        );
    }
}

#[test]
fn check_offline_reads_a_scripted_backend_s_script_as_run_does() {
    let sb = Sandbox::new();
    let script = sb.path("script.toml");
    std::fs::write(&script, "[[reply]]\ncharacter = \n").unwrap();
    let file = sb.path("c.toml");
    std::fs::write(
        &file,
        format!(
            "[backends.demo]\nkind = \"scripted\"\nscript = {:?}\n\
             [agents.a]\nbackend = \"demo\"\nmodel = \"m\"\n\
             [teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let check = sb.conclave(&["check", "--offline", "--config", file]);
    assert_eq!(check.status.code(), Some(2), "{}", stdout(&check));
    assert!(
        stdout(&check).contains(&format!(
            "{file}:3:10: error: backends.demo.script: script "
        )),
        "{}",
        stdout(&check)
    );
    let run = sb.conclave(&["run", "--config", file, "--team", "t", "--prompt", "hi"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
}

#[test]
fn a_config_file_over_1_mib_is_refused_with_its_place() {
    let sb = Sandbox::new();
    let file = sb.path("huge.toml");
    let mut text = String::from("[ui]\nmouse = true\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let out = sb.conclave(&["check", "--offline", "--config", file]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("{file}:1:1: error: the file is larger than 1 MiB")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_command_the_console_suggests_without_a_terminal_is_one_run_accepts() {
    let sb = Sandbox::new();
    let config = sb.path("c.toml");
    std::fs::write(
        &config,
        "[backends.demo]\nkind = \"scripted\"\ntokens_per_sec = 0\n\
         [agents.a]\nbackend = \"demo\"\nmodel = \"m\"\n\
         [teams.t]\npattern = \"single\"\nmembers = [\"a\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let err = stderr(&sb.conclave(&["--config", config]));
    let suggested = err
        .split('`')
        .find(|s| s.starts_with("conclave run"))
        .unwrap_or_else(|| panic!("no command suggested: {err}"));
    let mut args: Vec<String> = Vec::new();
    for (i, part) in suggested.split('"').enumerate() {
        if i % 2 == 1 {
            args.push(part.to_string());
        } else {
            args.extend(part.split_whitespace().map(str::to_string));
        }
    }
    assert_eq!(
        args.first().map(String::as_str),
        Some("conclave"),
        "{suggested}"
    );
    let mut args: Vec<&str> = args[1..]
        .iter()
        .map(|a| match a.as_str() {
            "TEAM" => "t",
            "TASK" => "say hello",
            other => other,
        })
        .collect();
    args.extend(["--config", config]);
    let out = sb.conclave(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "`{suggested}` was refused: {}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn the_console_exits_143_on_sigterm() {
    let sb = Sandbox::new();
    let s = |rel: &str| sb.path(rel).to_str().unwrap().to_string();
    let (home, config, data, conclave_data) =
        (s("home"), s("config"), s("data"), s("conclave-data"));
    let env = [
        ("HOME", home.as_str()),
        ("XDG_CONFIG_HOME", config.as_str()),
        ("XDG_DATA_HOME", data.as_str()),
        ("CONCLAVE_DATA_DIR", conclave_data.as_str()),
        ("CONCLAVE_CONFIG", ""),
        ("OPENAI_API_KEY", ""),
        ("ANTHROPIC_API_KEY", ""),
        ("OLLAMA_HOST", "127.0.0.1:9"),
        ("NO_COLOR", "1"),
    ];
    let mut term = pty::Pty::spawn_in(
        Some(sb.dir.path()),
        env!("CARGO_BIN_EXE_conclave"),
        &[],
        &env,
        120,
        40,
    )
    .unwrap();
    let long = std::time::Duration::from_secs(90);
    term.wait_for("team debate", long).unwrap();
    let pid = term.pid().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(term.wait_exit(long).unwrap(), 143, "{}", term.screen());
    assert!(term.is_restored(), "{}", term.screen());
}
