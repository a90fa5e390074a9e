//! `conclave eval`'s pure parts: suites, answer extraction, scoring and baselines (DESIGN
//! section 4). The driver that runs the sessions lives in `host::eval`.
//!
//! Mental model: a [`Suite`] is a TOML file of tasks, each a prompt with the expected `answer`
//! (or an `answer_regex`). A run's final text becomes an answer by [`extract_answer`]: the last
//! line starting `ANSWER:`, else the last number, else the last non-empty line; [`Task::accepts`]
//! compares it with the expectation (numbers by value, other text ignoring case and surrounding
//! space and punctuation). [`score`] folds the runs into one [`score::Report`] per eval: accuracy
//! ± standard error, tokens, cost and wall time per team, and the regressions against a saved
//! baseline.

pub mod score;

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

/// A suite file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    /// The teams to compare when `--teams` is not given (`builtin`: the built-in comparison).
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(rename = "task", default)]
    pub tasks: Vec<Task>,
}

/// One task: a prompt and what counts as a right answer.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub prompt: String,
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub answer_regex: Option<String>,
}

/// Why a suite cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read the suite {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Read and check a suite file.
pub fn read_suite(path: &Path) -> Result<Suite, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_suite(&path.display().to_string(), &text)
}

/// Parse and check suite text; `path` names it in errors.
pub fn parse_suite(path: &str, text: &str) -> Result<Suite, SuiteError> {
    let invalid = |message: String| SuiteError::Invalid {
        path: path.to_string(),
        message,
    };
    let suite: Suite = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!("line {}: ", text[..s.start].matches('\n').count() + 1))
            .unwrap_or_default();
        invalid(format!("{at}{}", e.message()))
    })?;
    if suite.tasks.is_empty() {
        return Err(invalid(
            "no tasks: add [[task]] tables with a prompt and an answer".into(),
        ));
    }
    for (i, t) in suite.tasks.iter().enumerate() {
        let n = i + 1;
        if t.prompt.trim().is_empty() {
            return Err(invalid(format!("task {n}: empty prompt")));
        }
        match (&t.answer, &t.answer_regex) {
            (None, None) => {
                return Err(invalid(format!(
                    "task {n}: no answer (give answer = \"...\" or answer_regex = \"...\")"
                )));
            }
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "task {n}: both answer and answer_regex (keep one)"
                )));
            }
            (None, Some(re)) => {
                Regex::new(re).map_err(|e| invalid(format!("task {n}: answer_regex: {e}")))?;
            }
            (Some(_), None) => {}
        }
    }
    Ok(suite)
}

impl Task {
    /// Whether `answer` (as [`extract_answer`] found it) is right.
    pub fn accepts(&self, answer: &str) -> bool {
        if let Some(re) = &self.answer_regex {
            return Regex::new(re).is_ok_and(|re| re.is_match(answer));
        }
        let Some(expected) = &self.answer else {
            return false;
        };
        match (number(expected), number(answer)) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => normalize(expected) == normalize(answer),
        }
    }
}

/// The answer in a final text: the last `ANSWER: …` line, else the last number, else the last
/// non-empty line. `None` for an empty text.
pub fn extract_answer(text: &str) -> Option<String> {
    let marked = text.lines().rev().find_map(|l| {
        let l = l.trim().trim_start_matches(['*', '#', '>', ' ']);
        let upper = l.get(..7)?.to_ascii_uppercase();
        (upper == "ANSWER:").then(|| l[7..].trim().trim_matches('*').trim().to_string())
    });
    if let Some(a) = marked.filter(|a| !a.is_empty()) {
        return Some(a);
    }
    if let Some(m) = last_number(text) {
        return Some(m);
    }
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

fn last_number(text: &str) -> Option<String> {
    let re = Regex::new(r"-?\d[\d,]*(?:\.\d+)?").ok()?;
    re.find_iter(text)
        .last()
        .map(|m| m.as_str().trim_end_matches(',').replace(',', ""))
}

/// A number written plainly (`21`, `-3.5`, `1,024`), if the text is one.
fn number(text: &str) -> Option<f64> {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .replace([',', ' '], "");
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn normalize(text: &str) -> String {
    text.trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_lowercase()
}

#[cfg(test)]
mod tests;
