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

mod builtin;

use std::collections::BTreeMap;
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
    /// `--teams A,B` (`builtin` or `builtin:AGENT`: the built-in comparison): else the suite's
    /// `teams`, else every team of the config but `auto`.
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
    let teams: Vec<String> = if !options.teams.is_empty() {
        options.teams.clone()
    } else if !suite.teams.is_empty() {
        suite.teams.clone()
    } else {
        config
            .teams
            .iter()
            .filter(|(name, t)| name.as_str() != "auto" && t.pattern.as_str() != "auto")
            .map(|(name, _)| name.clone())
            .collect()
    };
    if teams.is_empty() {
        return Err("no team to evaluate: the config defines none (add one under [teams])".into());
    }
    for team in &teams {
        if let Some(agent) = builtin::agent_of(team, &config) {
            agent?;
        } else if !config.teams.contains_key(team) {
            return Err(format!(
                "unknown team `{team}`; the config has: {}",
                config.teams.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok((config, suite, teams))
}

/// A row group of the eval: a team of the config, or the built-in comparison for an agent.
enum Entry {
    Team(String),
    Builtin(String),
}

async fn run_all(
    config: &Config,
    suite: &Suite,
    teams: &[String],
    options: &EvalOptions,
    eval_id: &str,
) -> Result<Report, String> {
    let cache = Arc::new(ProviderCache::default());
    let mut entries = Vec::new();
    let mut labels = Vec::new();
    for team in teams {
        match builtin::agent_of(team, config) {
            Some(agent) => {
                let agent = agent?;
                labels.extend(builtin::labels(&agent));
                entries.push(Entry::Builtin(agent));
            }
            None => {
                labels.push(team.clone());
                entries.push(Entry::Team(team.clone()));
            }
        }
    }
    let total = labels.len() * suite.tasks.len() * options.repeat as usize;
    let mut progress = Progress::new(total);
    let mut runs = Vec::new();
    for entry in &entries {
        let (config, agent) = match entry {
            Entry::Team(_) => (config.clone(), None),
            Entry::Builtin(agent) => (builtin::with_teams(config, agent)?, Some(agent.as_str())),
        };
        for (i, task) in suite.tasks.iter().enumerate() {
            for _ in 0..options.repeat {
                let at = |e: String| format!("task {}: {e}", i + 1);
                let mut done = match (entry, agent) {
                    (Entry::Team(team), _) => {
                        progress.show(runs.len(), team);
                        let sample = run_one(&config, team, &task.prompt, options, &cache).await;
                        vec![
                            sample
                                .map_err(|e| at(format!("team `{team}`: {e}")))?
                                .result,
                        ]
                    }
                    (_, Some(agent)) => {
                        progress.show(runs.len(), agent);
                        builtin_runs(&config, agent, &task.prompt, options, &cache)
                            .await
                            .map_err(at)?
                    }
                    (Entry::Builtin(_), None) => Vec::new(),
                };
                for run in &mut done {
                    run.task = i + 1;
                    run.correct = run.answer.as_deref().is_some_and(|a| task.accepts(a));
                }
                runs.extend(done);
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
        &labels,
        runs,
    );
    save_index(&report);
    Ok(report)
}

/// One task through the built-in comparison: the debate first (its tokens set the
/// self-consistency budget), then the single agent, then the samples.
async fn builtin_runs(
    config: &Config,
    agent: &str,
    prompt: &str,
    options: &EvalOptions,
    cache: &Arc<ProviderCache>,
) -> Result<Vec<RunResult>, String> {
    let [single_label, sc_label, debate_label] = builtin::labels(agent);
    let debate = run_one(config, builtin::DEBATE_TEAM, prompt, options, cache).await?;
    let answers: Vec<String> = debate
        .speeches
        .values()
        .filter_map(|t| extract_answer(t))
        .collect();
    let mut debate_run = debate.result;
    debate_run.team = debate_label;
    debate_run.answer = builtin::majority(&answers);

    let single = run_one(config, builtin::SINGLE_TEAM, prompt, options, cache).await?;
    let mut single_run = single.result.clone();
    single_run.team = single_label;

    // Self-consistency: samples until the debate's tokens are spent (the single run counts as
    // the first sample).
    let target = options
        .budget_tokens
        .map_or(debate_run.tokens, |b| b.min(debate_run.tokens));
    let mut samples = vec![single.result];
    while samples.iter().map(|s| s.tokens).sum::<u64>() < target
        && (samples.len() as u32) < builtin::MAX_SAMPLES
    {
        samples.push(
            run_one(config, builtin::SINGLE_TEAM, prompt, options, cache)
                .await?
                .result,
        );
    }
    let answers: Vec<String> = samples.iter().filter_map(|s| s.answer.clone()).collect();
    let sc_run = RunResult {
        team: sc_label,
        task: 0,
        session: samples[0].session.clone(),
        answer: builtin::majority(&answers),
        correct: false,
        tokens: samples.iter().map(|s| s.tokens).sum(),
        cost: samples.iter().map(|s| s.cost).sum(),
        wall_ms: samples.iter().map(|s| s.wall_ms).sum(),
        outcome: samples[0].outcome.clone(),
        samples: samples.iter().map(|s| s.session.clone()).collect(),
    };
    Ok(vec![single_run, sc_run, debate_run])
}

/// What one session gave: its result and each agent's last speech.
struct Sample {
    result: RunResult,
    speeches: BTreeMap<String, String>,
}

/// One task through one team: a journaled session, followed to its end.
async fn run_one(
    config: &Config,
    team: &str,
    prompt: &str,
    options: &EvalOptions,
    cache: &Arc<ProviderCache>,
) -> Result<Sample, String> {
    let mut config = config.clone();
    if let (Some(tokens), Some(t)) = (options.budget_tokens, config.teams.get_mut(team)) {
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
    let mut speeches = BTreeMap::new();
    let mut ending = None;
    while let Some(event) = launched.events.recv().await {
        metrics.apply(&event);
        match event.kind {
            EventKind::Message {
                agent,
                text,
                purpose: Purpose::Speak,
                ..
            } => {
                speeches.insert(agent, text.clone());
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
    let result = RunResult {
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
        samples: Vec::new(),
    };
    Ok(Sample { result, speeches })
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
    let dir = crate::store::evals_dir(&bootstrap::journal_dir());
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
