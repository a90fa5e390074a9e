//! Scoring an eval: runs folded into one row per team, the table and JSON a person or a script
//! reads, and the comparison with a saved baseline.
//!
//! Mental model: every (team, task, repeat) is one [`RunResult`]; [`Report::new`] groups them
//! by team in the order the teams were named. Accuracy is the share of right answers with its
//! standard error `sqrt(p (1 - p) / n)`; tokens and wall time are means per run, cost the total.
//! A baseline is a saved report (`--save-baseline` writes the `--json` object); [`regressions`]
//! names each team whose accuracy fell by more than two standard errors (of the two runs
//! combined) or whose mean tokens rose by more than 20 %.

use serde::{Deserialize, Serialize};

/// One session of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub team: String,
    /// 1-based, in suite order.
    pub task: usize,
    pub session: String,
    /// What was extracted from the final text (`null`: no final text).
    pub answer: Option<String>,
    pub correct: bool,
    pub tokens: u64,
    pub cost: Option<f64>,
    pub wall_ms: u64,
    /// The session's outcome (`completed`, `budget`, …).
    pub outcome: String,
    /// Self-consistency: every sample's session (`session` is the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<String>,
}

/// One team's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamScore {
    pub team: String,
    pub runs: u64,
    pub correct: u64,
    pub accuracy: f64,
    pub stderr: f64,
    pub mean_tokens: f64,
    /// Total over the runs; `null` when any agent has no price.
    pub cost: Option<f64>,
    pub mean_wall_ms: f64,
}

/// The result of `conclave eval`, as printed with `--json` and saved as a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The eval run's id; its sessions are listed in `runs` (and in the eval index).
    pub eval: String,
    pub suite: String,
    pub tasks: usize,
    pub repeat: u32,
    pub budget_tokens: Option<u64>,
    pub teams: Vec<TeamScore>,
    #[serde(default)]
    pub runs: Vec<RunResult>,
}

impl Report {
    /// Fold `runs` into one row per team of `teams`, in that order.
    pub fn new(
        eval: &str,
        suite: &str,
        tasks: usize,
        repeat: u32,
        budget_tokens: Option<u64>,
        teams: &[String],
        runs: Vec<RunResult>,
    ) -> Report {
        let rows = teams
            .iter()
            .map(|team| {
                let mine: Vec<&RunResult> = runs.iter().filter(|r| &r.team == team).collect();
                let n = mine.len() as u64;
                let correct = mine.iter().filter(|r| r.correct).count() as u64;
                let p = if n == 0 {
                    0.0
                } else {
                    correct as f64 / n as f64
                };
                let mean = |f: &dyn Fn(&RunResult) -> f64| {
                    if n == 0 {
                        0.0
                    } else {
                        mine.iter().map(|r| f(r)).sum::<f64>() / n as f64
                    }
                };
                TeamScore {
                    team: team.clone(),
                    runs: n,
                    correct,
                    accuracy: p,
                    stderr: if n == 0 {
                        0.0
                    } else {
                        (p * (1.0 - p) / n as f64).sqrt()
                    },
                    mean_tokens: mean(&|r| r.tokens as f64),
                    cost: mine.iter().map(|r| r.cost).sum::<Option<f64>>(),
                    mean_wall_ms: mean(&|r| r.wall_ms as f64),
                }
            })
            .collect();
        Report {
            eval: eval.to_string(),
            suite: suite.to_string(),
            tasks,
            repeat,
            budget_tokens,
            teams: rows,
            runs,
        }
    }

    /// The table a person reads: one row per team.
    pub fn table(&self) -> String {
        let head = ["TEAM", "ACCURACY", "TOKENS/RUN", "COST", "WALL/RUN"];
        let rows: Vec<[String; 5]> = self
            .teams
            .iter()
            .map(|t| {
                [
                    t.team.clone(),
                    format!(
                        "{:.1}% ± {:.1} ({}/{})",
                        t.accuracy * 100.0,
                        t.stderr * 100.0,
                        t.correct,
                        t.runs
                    ),
                    format!("{:.0}", t.mean_tokens),
                    t.cost.map_or("-".into(), |c| format!("${c:.4}")),
                    format!("{:.1} s", t.mean_wall_ms / 1000.0),
                ]
            })
            .collect();
        let mut widths = head.map(|h| h.chars().count());
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad));
                } else {
                    l.push_str("  ");
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                }
            }
            l.trim_end().to_string() + "\n"
        };
        let mut out = format!(
            "{} · {} tasks × {} · budget {} tokens/task · eval {}\n",
            self.suite,
            self.tasks,
            self.repeat,
            self.budget_tokens
                .map_or("unlimited".to_string(), |b| b.to_string()),
            self.eval
        );
        out.push_str(&line(head));
        for row in &rows {
            out.push_str(&line(row.each_ref().map(String::as_str)));
        }
        out
    }
}

/// The teams that got worse than `baseline`: accuracy down by more than two standard errors,
/// or mean tokens up by more than 20 %. Teams only in one of the two are not compared.
pub fn regressions(now: &Report, baseline: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for t in &now.teams {
        let Some(b) = baseline.teams.iter().find(|b| b.team == t.team) else {
            continue;
        };
        let se = (t.stderr.powi(2) + b.stderr.powi(2)).sqrt();
        let drop = b.accuracy - t.accuracy;
        if drop > 2.0 * se && drop > 1e-12 {
            out.push(format!(
                "{}: accuracy fell from {:.1}% to {:.1}% (more than two standard errors, {:.1} points)",
                t.team,
                b.accuracy * 100.0,
                t.accuracy * 100.0,
                2.0 * se * 100.0
            ));
        }
        if b.mean_tokens > 0.0 && t.mean_tokens > b.mean_tokens * 1.2 {
            out.push(format!(
                "{}: tokens per run rose from {:.0} to {:.0} (more than 20 %)",
                t.team, b.mean_tokens, t.mean_tokens
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(team: &str, correct: bool, tokens: u64) -> RunResult {
        RunResult {
            team: team.into(),
            task: 1,
            session: "s".into(),
            answer: Some("1".into()),
            correct,
            tokens,
            cost: None,
            wall_ms: 1000,
            outcome: "completed".into(),
            samples: Vec::new(),
        }
    }

    fn report(runs: Vec<RunResult>) -> Report {
        Report::new("e", "s", 4, 1, None, &["a".into()], runs)
    }

    #[test]
    fn accuracy_and_its_standard_error() {
        let r = report(vec![
            run("a", true, 10),
            run("a", true, 20),
            run("a", false, 30),
            run("a", true, 40),
        ]);
        let t = &r.teams[0];
        assert_eq!((t.runs, t.correct), (4, 3));
        assert!((t.accuracy - 0.75).abs() < 1e-12);
        assert!((t.stderr - (0.75f64 * 0.25 / 4.0).sqrt()).abs() < 1e-12);
        assert!((t.mean_tokens - 25.0).abs() < 1e-12);
        assert_eq!(t.cost, None);
        assert!(r.table().contains("75.0% ± 21.7 (3/4)"), "{}", r.table());
    }

    #[test]
    fn a_drop_beyond_two_standard_errors_or_more_tokens_regresses() {
        let good = report((0..20).map(|_| run("a", true, 100)).collect());
        let same = report((0..20).map(|_| run("a", true, 110)).collect());
        assert!(regressions(&same, &good).is_empty());
        let worse = report((0..20).map(|i| run("a", i % 2 == 0, 100)).collect());
        let found = regressions(&worse, &good);
        assert!(
            found[0].contains("accuracy fell from 100.0% to 50.0%"),
            "{found:?}"
        );
        let costly = report((0..20).map(|_| run("a", true, 130)).collect());
        let found = regressions(&costly, &good);
        assert!(
            found[0].contains("tokens per run rose from 100 to 130"),
            "{found:?}"
        );
    }
}
