//! The `## Plan` section of the Markdown export (issue 11): every version of the plan with how
//! it was decided and its tasks, then how each task of the graph ended (status, attempts,
//! elapsed time, what it waited for, why it was skipped, its compensation).

use std::fmt::Write as _;

use crate::core::state::plan::{PlanState, VersionStatus};
use crate::view::one_line;

/// Append the section; nothing for a session without a plan.
pub fn push_plan(out: &mut String, plan: &PlanState) {
    if plan.versions.is_empty() {
        return;
    }
    out.push_str("\n## Plan\n");
    for v in &plan.versions {
        let how = if v.edited { "edited by" } else { "proposed by" };
        let status = match &v.status {
            VersionStatus::Proposed => "not decided".to_string(),
            VersionStatus::Approved { by } => format!("approved by {by}"),
            VersionStatus::Rejected { by, reason } => {
                format!("rejected by {by}: {}", one_line(reason))
            }
            VersionStatus::Superseded => "replaced by an edit".to_string(),
        };
        let _ = writeln!(out, "\n### v{} ({how} {}, {status})\n", v.version, v.by);
        out.push_str(
            "| task | agent | instructions | depends on | compensation |\n|---|---|---|---|---|\n",
        );
        for t in &v.tasks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&t.id),
                cell(&t.agent),
                cell(&t.instructions),
                cell(&t.depends_on.join(", ")),
                cell(t.compensation.as_deref().unwrap_or(""))
            );
        }
    }
    out.push_str("\n### Outcome\n\n| task | agent | status | attempts | elapsed | note |\n|---|---|---|---:|---:|---|\n");
    for t in plan.dropped.iter().chain(&plan.tasks) {
        let elapsed = t
            .started_at
            .zip(t.ended_at)
            .map(|(s, e)| format!("{:.1} s", (e - s).num_milliseconds().max(0) as f64 / 1000.0))
            .unwrap_or_default();
        let mut note = Vec::new();
        if let Some(e) = &t.error {
            note.push(format!("error: {e}"));
        }
        if let Some(b) = &t.because {
            note.push(format!("skipped because {b} did not finish"));
        }
        if let Some(ok) = t.compensation.as_ref().and_then(|c| c.ok) {
            note.push(
                if ok {
                    "compensated"
                } else {
                    "compensation failed"
                }
                .to_string(),
            );
        }
        let waits = plan.waits_for(t.id());
        if !waits.is_empty() && !t.status.is_done() {
            note.push(format!("waits for {}", waits.join(", ")));
        }
        if plan.dropped.iter().any(|d| std::ptr::eq(d, t)) {
            note.push(format!("dropped by a replan (v{})", t.version));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {elapsed} | {} |",
            cell(t.id()),
            cell(&t.spec.agent),
            t.status.as_str(),
            t.attempts,
            cell(&note.join("; "))
        );
    }
    if plan.replans > 0 {
        let _ = writeln!(out, "\nReplanned {} time(s).", plan.replans);
    }
}

/// One table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use crate::config::{Approval, OnFailure};
    use crate::core::command::Command;
    use crate::core::event::{PatternKind, SCHEMA_VERSION};
    use crate::core::patterns::sim::{Sim, reply, tool};
    use crate::store::header::{JOURNAL_KIND, JournalHeader};
    use crate::store::journal::Journal;

    #[test]
    fn the_export_shows_the_plan_its_versions_and_task_outcomes() {
        let mut sim = Sim::new(PatternKind::Plan, &["dev", "qa"], |t| {
            t.planner = Some("pm".into());
            t.approval = Some(Approval::Confirm);
            t.on_failure = Some(OnFailure::Compensate);
        });
        sim.send("ship it");
        let plan = json!({"tasks": [
            {"id": "a", "agent": "dev", "instructions": "create | it", "depends_on": [], "compensation": "delete it"},
            {"id": "b", "agent": "qa", "instructions": "check", "depends_on": ["a"]},
            {"id": "c", "agent": "qa", "instructions": "announce", "depends_on": ["b"]}
        ]});
        sim.complete("pm", tool("", "submit_plan", plan));
        sim.command(Command::RejectPlan {
            reason: Some("fine, but go".into()),
        });
        sim.complete("pm", tool("", "submit_plan", json!({"tasks": [
            {"id": "a", "agent": "dev", "instructions": "create | it", "depends_on": [], "compensation": "delete it"},
            {"id": "b", "agent": "qa", "instructions": "check", "depends_on": ["a"]},
            {"id": "c", "agent": "qa", "instructions": "announce", "depends_on": ["b"]}
        ]})));
        sim.command(Command::ApprovePlan {});
        sim.complete("dev", reply("made"));
        sim.fail("qa", "overloaded");
        sim.fail("qa", "overloaded");
        sim.complete("dev", reply("deleted"));
        let journal = Journal {
            path: PathBuf::from("s.jsonl"),
            header: JournalHeader {
                v: SCHEMA_VERSION,
                kind: JOURNAL_KIND.into(),
                session: "s".into(),
                team: "build".into(),
                pattern: PatternKind::Plan,
                config_fingerprint: "x".into(),
                started: chrono::DateTime::UNIX_EPOCH,
                forked_from: None,
                prices: Default::default(),
            },
            events: sim.log.clone(),
            warnings: Vec::new(),
            valid_len: 0,
        };
        let md = crate::store::to_markdown(&journal);
        for needle in [
            "## Plan",
            "### v1 (proposed by pm, rejected by user: fine, but go)",
            "### v2 (proposed by pm, approved by user)",
            "| a | dev | create \\| it |  | delete it |",
            "| a | dev | compensated | 1 |",
            "| b | qa | failed | 2 |",
            "error: overloaded failure",
            "| c | qa | skipped | 0 |",
            "skipped because b did not finish",
        ] {
            assert!(md.contains(needle), "{needle} missing from:\n{md}");
        }
    }
}
