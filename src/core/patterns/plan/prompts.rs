//! What the plan's turns are told: the planner (first plan, after a rejection, after an invalid
//! plan, after a failure), a task's agent (its instructions and the outputs of its
//! dependencies), a compensation, and the synthesis. Pure text from the state.

use crate::config::AgentConfig;
use crate::core::state::SessionState;
use crate::core::state::plan::{TaskRun, VersionStatus};

/// The planner's instructions. `errors`: what was wrong with its last plan.
pub fn planner(
    state: &SessionState,
    members: &[(String, Option<&AgentConfig>)],
    errors: &[String],
) -> String {
    let team: Vec<String> = members
        .iter()
        .map(|(name, cfg)| match cfg.and_then(|c| c.system.as_deref()) {
            Some(system) => format!("- {name}: {}", first_sentence(system)),
            None => format!("- {name}"),
        })
        .collect();
    let mut text = format!(
        "Plan the work on the request above for this team:\n{}\n\
         Break it into tasks. Each task has a short unique id, the agent that does it, clear \
         instructions, the ids of the tasks it needs first (depends_on; tasks that need nothing \
         run at the same time), and optionally a compensation: how to undo it if a later task \
         fails. Call submit_plan with the tasks.",
        team.join("\n")
    );
    let plan = &state.plan;
    if let Some(v) = plan.versions.last()
        && let VersionStatus::Rejected { reason, .. } = &v.status
    {
        text.push_str(&format!(
            "\n\nThe person rejected your plan v{} ({reason}). It was:\n{}\nSubmit a revised plan.",
            v.version,
            crate::core::state::plan::task_lines(&v.tasks)
        ));
    }
    if let Some(reason) = plan.replan_reason.as_ref().filter(|_| plan.replans > 0) {
        text.push_str(&format!(
            "\n\nThe plan so far:\n{}",
            status_lines(&plan.tasks)
        ));
        for t in plan.tasks.iter().filter(|t| t.status.is_done()) {
            text.push_str(&format!(
                "\n\nOutput of task {} ({}):\n{}",
                t.spec.id,
                t.spec.agent,
                t.output.as_deref().unwrap_or("")
            ));
        }
        text.push_str(&format!(
            "\n\nIt failed: {reason}\nSubmit a new plan for the unfinished part only. The done \
             tasks are kept: do not repeat them; new tasks may depend on them by id."
        ));
    }
    if !errors.is_empty() {
        text.push_str(&format!(
            "\n\nYour last plan was invalid:\n- {}\nFix every problem and call submit_plan again.",
            errors.join("\n- ")
        ));
    }
    text
}

/// A task's instructions, with the outputs of the tasks it depends on.
pub fn task(state: &SessionState, run: &TaskRun) -> String {
    let spec = &run.spec;
    let mut text = format!(
        "Your task ({}) in the plan for the request: {}",
        spec.id, spec.instructions
    );
    for dep in &spec.depends_on {
        if let Some(d) = state.plan.task(dep) {
            text.push_str(&format!(
                "\n\nOutput of task {} ({}):\n{}",
                dep,
                d.spec.agent,
                d.output.as_deref().unwrap_or("")
            ));
        }
    }
    if let Some(e) = run.error.as_ref().filter(|_| run.attempts > 0) {
        text.push_str(&format!(
            "\n\nThe previous attempt failed ({e}); try again."
        ));
    }
    text
}

/// A compensation's instructions: what to undo and what the task did.
pub fn compensation(run: &TaskRun, failure: &str) -> String {
    format!(
        "A later task of the plan failed ({failure}). Undo your task {}: {}\n\nWhat the task did:\n{}",
        run.spec.id,
        run.spec.compensation.as_deref().unwrap_or(""),
        run.output.as_deref().unwrap_or("")
    )
}

/// The synthesis: the final answer from every task's output.
pub fn synthesis(state: &SessionState) -> String {
    let mut text = String::from(
        "Every task of the plan is done. Write the final answer to the request from their outputs.",
    );
    for t in state.plan.tasks.iter().filter(|t| t.status.is_done()) {
        text.push_str(&format!(
            "\n\nTask {} ({}): {}\n{}",
            t.spec.id,
            t.spec.agent,
            t.spec.instructions,
            t.output.as_deref().unwrap_or("")
        ));
    }
    text
}

/// `id · agent · status` per task.
fn status_lines(tasks: &[TaskRun]) -> String {
    tasks
        .iter()
        .map(|t| format!("- {} · {} · {}", t.spec.id, t.spec.agent, t.status.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn first_sentence(text: &str) -> &str {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    text[..end].trim()
}
