//! The malformed-config suite: every file in `tests/fixtures/config_bad/` is a mistake a person
//! makes (a typo, a wrong type, a number out of range, a broken reference, a syntax error,
//! binary bytes), run through the real binary as `conclave check --offline --config FILE`.
//!
//! The first line of each file says what must be answered: `# expect: LINE:COL: FRAGMENT`, an
//! error at that place whose message holds FRAGMENT. A second line `# errors: N` gives the
//! number of errors when it is not 1, so one mistake is never reported twice. Every file must
//! exit 2, and no message may speak Rust (`u32`, `i128`, "untagged enum", …).

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Words a person reading a config error should never meet.
const RUST_WORDS: &[&str] = &[
    "i128",
    "i64",
    "u32",
    "u64",
    "usize",
    "f32",
    "f64",
    "untagged",
    "struct ",
    "variant",
    "sequence",
    "serde",
    "did not match",
];

struct Case {
    file: PathBuf,
    line: usize,
    column: usize,
    fragment: String,
    errors: usize,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config_bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            // The header is text even where the rest of the file is not.
            let bytes = std::fs::read(&file).unwrap();
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]).into_owned();
            let mut lines = head.lines();
            let expect = lines
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{}: no `# expect:` line", file.display()));
            let mut parts = expect.splitn(3, ':');
            let mut num = || parts.next().unwrap().trim().parse::<usize>().unwrap();
            let (line, column) = (num(), num());
            let fragment = parts.next().unwrap().trim().to_string();
            let errors = lines
                .next()
                .and_then(|l| l.strip_prefix("# errors: "))
                .map_or(1, |n| n.trim().parse().unwrap());
            Case {
                file,
                line,
                column,
                fragment,
                errors,
            }
        })
        .collect()
}

#[test]
fn every_malformed_config_is_refused_with_its_place_and_a_plain_message() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} malformed configs", cases.len());
    let sandbox = tempfile::tempdir().unwrap();
    let at = |rel: &str| sandbox.path().join(rel);
    let mut failures = Vec::new();
    for case in &cases {
        let out = Command::new(env!("CARGO_BIN_EXE_conclave"))
            .args(["check", "--offline", "--config"])
            .arg(&case.file)
            .current_dir(sandbox.path())
            .env("HOME", at("home"))
            .env("XDG_CONFIG_HOME", at("config"))
            .env("XDG_DATA_HOME", at("data"))
            .env("CONCLAVE_DATA_DIR", at("conclave-data"))
            .env_remove("CONCLAVE_CONFIG")
            .env_remove("CONCLAVE_LOG")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = case.file.file_name().unwrap().to_string_lossy();
        let place = format!(
            "{}:{}:{}: error: ",
            case.file.display(),
            case.line,
            case.column
        );
        let found = text
            .lines()
            .any(|l| l.starts_with(&place) && l.contains(&case.fragment));
        let summary = format!(
            "{} error{},",
            case.errors,
            if case.errors == 1 { "" } else { "s" }
        );
        let problem = if out.status.code() != Some(2) {
            Some(format!("exit {:?}, not 2", out.status.code()))
        } else if !found {
            Some(format!(
                "no error at {}:{} with {:?}",
                case.line, case.column, case.fragment
            ))
        } else if !text.lines().last().is_some_and(|l| l.contains(&summary)) {
            Some(format!("not exactly {summary}"))
        } else {
            let messages: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split_once(": error: ").map(|(_, m)| m))
                .collect();
            RUST_WORDS
                .iter()
                .find(|w| messages.iter().any(|m| m.contains(*w)))
                .map(|w| format!("a message speaks Rust ({w:?})"))
        };
        if let Some(problem) = problem {
            failures.push(format!("{name}: {problem}\n{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} malformed configs were not answered well:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
