//! `conclave eval SUITE.toml`: every task of a suite through each team, the same token budget
//! per task, `--repeat N` times; a table (or one JSON object) of accuracy, tokens, cost and wall
//! time per team; regressions against a baseline.
//!
//! Mental model: each run is an ordinary journaled session started through [`super::launch`]
//! (unattended, approvals automatic), sent the task's prompt and followed to its
//! `session_finished`; its final text gives the answer ([`crate::eval::extract_answer`]) and its
//! events the tokens and cost (the same [`Metrics`] fold as `conclave run`). The runs of one eval
//! are tagged by the eval's id: the report, with every run's session id, is written to
//! `<data dir>/evals/<eval id>.json`, so `conclave replay` and `sessions diff` work on any of
//! them. Progress goes to stderr as a bar when stderr is a terminal; the table or the JSON to
//! stdout. Exit 0, or 1 when `--baseline` finds a regression (or no run could start), 2 for bad
//! usage (unknown team, bad suite, bad config).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::Exit;
use super::bootstrap;
use super::launch;
use super::providers::ProviderCache;
use crate::config::schema::{Budget, Config};
use crate::core::command::Command;
use crate::core::event::{EventKind, Purpose};
use crate::core::metrics::Metrics;
use crate::core::patterns::UnattendedApproval;
use crate::eval::score::{Report, RunResult, regressions};
use crate::eval::{Suite, extract_answer, read_suite};

/// What the command line asks of `conclave eval`.
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    pub suite: PathBuf,
    pub config: Option<PathBuf>,
    /// `--teams A,B`: else every team of the config but `auto`.
    pub teams: Vec<String>,
    pub budget_tokens: Option<u64>,
    pub repeat: u32,
    pub json: bool,
    pub baseline: Option<PathBuf>,
    pub save_baseline: Option<PathBuf>,
}

/// Run an eval and say how it ended.
pub fn run(options: &EvalOptions) -> Exit {
    let (config, suite, teams) = match prepare(options) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("conclave eval: {message}");
            return Exit::Usage;
        }
    };
    let baseline = match options.baseline.as_deref().map(read_report).transpose() {
        Ok(b) => b,
        Err(message) => {
            eprintln!("conclave eval: {message}");
            return Exit::Usage;
        }
    };
    let dir = bootstrap::journal_dir();
    if let Err(e) = bootstrap::check_recordable(&dir, None) {
        eprintln!("conclave eval: {e}");
        return Exit::Failed;
    }
    let runtime = match bootstrap::runtime("conclave-eval") {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let eval_id = format!("eval-{}", crate::core::session::new_session_id());
    let report = match runtime.block_on(run_all(&config, &suite, &teams, options, &eval_id)) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("conclave eval: {message}");
            return Exit::Failed;
        }
    };
    finish(options, &report, baseline.as_ref())
}

fn prepare(options: &EvalOptions) -> Result<(Config, Suite, Vec<String>), String> {
    if options.repeat == 0 {
        return Err("--repeat must be at least 1".into());
    }
    if options.budget_tokens == Some(0) {
        return Err("--budget-tokens must be at least 1".into());
    }
    let suite = read_suite(&options.suite).map_err(|e| e.to_string())?;
    let loaded = crate::config::load::load(options.config.as_deref()).map_err(|e| {
        format!("{e}\nFix the config (`conclave check` lists every problem) and try again.")
    })?;
    let config = loaded.config;
    let teams: Vec<String> = if options.teams.is_empty() {
        config
            .teams
            .iter()
            .filter(|(name, t)| name.as_str() != "auto" && t.pattern.as_str() != "auto")
            .map(|(name, _)| name.clone())
            .collect()
    } else {
        options.teams.clone()
    };
    if teams.is_empty() {
        return Err("no team to evaluate: the config defines none (add one under [teams])".into());
    }
    for team in &teams {
        if !config.teams.contains_key(team) {
            return Err(format!(
                "unknown team `{team}`; the config has: {}",
                config.teams.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok((config, suite, teams))
}

async fn run_all(
    config: &Config,
    suite: &Suite,
    teams: &[String],
    options: &EvalOptions,
    eval_id: &str,
) -> Result<Report, String> {
    let cache = Arc::new(ProviderCache::default());
    let total = teams.len() * suite.tasks.len() * options.repeat as usize;
    let mut progress = Progress::new(total);
    let mut runs = Vec::new();
    for team in teams {
        for (i, task) in suite.tasks.iter().enumerate() {
            for _ in 0..options.repeat {
                progress.show(runs.len(), team);
                let mut run = run_one(config, team, &task.prompt, options.budget_tokens, &cache)
                    .await
                    .map_err(|e| format!("team `{team}`, task {}: {e}", i + 1))?;
                run.task = i + 1;
                run.correct = run.answer.as_deref().is_some_and(|a| task.accepts(a));
                runs.push(run);
            }
        }
    }
    progress.done();
    let report = Report::new(
        eval_id,
        &suite.name,
        suite.tasks.len(),
        options.repeat,
        options.budget_tokens,
        teams,
        runs,
    );
    save_index(&report);
    Ok(report)
}

/// One task through one team: a journaled session, followed to its end.
async fn run_one(
    config: &Config,
    team: &str,
    prompt: &str,
    budget_tokens: Option<u64>,
    cache: &Arc<ProviderCache>,
) -> Result<RunResult, String> {
    let mut config = config.clone();
    if let (Some(tokens), Some(t)) = (budget_tokens, config.teams.get_mut(team)) {
        let cost = t.budget.and_then(|b| b.cost);
        t.budget = Some(Budget {
            tokens: Some(tokens),
            cost,
        });
    }
    let prices = config
        .agents
        .iter()
        .filter_map(|(name, a)| Some((name.clone(), a.price?)))
        .collect();
    let options = bootstrap::options(Some(UnattendedApproval::Auto), Some(cache.clone()));
    let started = Instant::now();
    let mut launched = launch::launch(&config, team, &options).map_err(|e| e.to_string())?;
    let session = launched.handle.id().to_string();
    launched
        .handle
        .send(Command::Send {
            text: prompt.to_string(),
            to: None,
        })
        .map_err(|_| "the session ended before it was given the task".to_string())?;
    let mut metrics = Metrics::new(prices);
    let mut last_said: Option<String> = None;
    let mut ending = None;
    while let Some(event) = launched.events.recv().await {
        metrics.apply(&event);
        match event.kind {
            EventKind::Message {
                text,
                purpose: Purpose::Speak,
                ..
            } => {
                last_said = Some(text);
            }
            EventKind::SessionFinished {
                outcome,
                final_text,
            } => {
                ending = Some((outcome, final_text));
                break;
            }
            _ => {}
        }
    }
    let wall_ms = started.elapsed().as_millis() as u64;
    drop(launched.handle);
    if let Some(writer) = launched.journal.take() {
        bootstrap::settle(writer)
            .await
            .map_err(|e| format!("session {session}: {e}"))?;
    }
    let (outcome, final_text) =
        ending.ok_or_else(|| format!("session {session} ended without finishing"))?;
    let text = final_text.or(last_said);
    let t = &metrics.totals;
    Ok(RunResult {
        team: team.to_string(),
        task: 0,
        session,
        answer: text.as_deref().and_then(extract_answer),
        correct: false,
        tokens: t.input_tokens.unwrap_or(0) + t.output_tokens.unwrap_or(0),
        cost: t.cost,
        wall_ms,
        outcome: serde_json::to_value(outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    })
}

/// Print the report, save it as a baseline if asked, compare it with the baseline if given.
fn finish(options: &EvalOptions, report: &Report, baseline: Option<&Report>) -> Exit {
    let json = match serde_json::to_string_pretty(report) {
        Ok(j) => j + "\n",
        Err(e) => {
            eprintln!("conclave eval: cannot encode the report: {e}");
            return Exit::Failed;
        }
    };
    let text = if options.json {
        json.clone()
    } else {
        report.table()
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("conclave eval: cannot write to standard output: {e}");
        return Exit::Failed;
    }
    if let Some(path) = &options.save_baseline
        && let Err(e) = std::fs::write(path, &json)
    {
        eprintln!(
            "conclave eval: cannot save the baseline {}: {e}",
            path.display()
        );
        return Exit::Failed;
    }
    let Some(baseline) = baseline else {
        return Exit::Ok;
    };
    let found = regressions(report, baseline);
    if found.is_empty() {
        eprintln!("conclave eval: no regression against the baseline");
        return Exit::Ok;
    }
    for r in &found {
        eprintln!("conclave eval: regression: {r}");
    }
    Exit::Failed
}

fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a baseline saved by `conclave eval --save-baseline`: {e}",
            path.display()
        )
    })
}

/// Tag the eval's sessions: its report, with every session id, in `<data dir>/evals/`. A
/// failure is logged, not fatal: the result is still printed.
fn save_index(report: &Report) {
    let dir = crate::config::paths::data_dir().join("evals");
    let written = crate::store::private::create_dir_all(&dir).and_then(|()| {
        let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{}.json", report.eval)), json)
    });
    if let Err(e) = written {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot write the eval index");
    }
}

/// A progress bar on stderr, only when stderr is a terminal.
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            on: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: usize, team: &str) {
        if !self.on {
            return;
        }
        const WIDTH: usize = 30;
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
        let team = crate::text::sanitize_text(team);
        eprint!("\r\x1b[2K[{bar}] {done}/{} {team}", self.total);
        let _ = std::io::stderr().flush();
    }

    fn done(&mut self) {
        if self.on {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}
