//! What plan events say (issue 11): the `describe` of `plan_proposed` … `replanned`, one line
//! each; a proposed or edited plan also carries its tasks as the body, one task a line
//! (core's [`task_lines`]), so the text output, the transcript and the export show the graph. Pure, like
//! [`super::describe`]; the state before the event gives a task's agent.

use crate::core::event::{Approval, EventKind};
use crate::core::state::SessionState;
use crate::core::state::plan::task_lines;

use super::parts::{Mark, Parts, Shape, Tone};

fn line(tone: Tone) -> Parts {
    Parts::new(Shape::Line, Mark::Plan, tone)
}

fn count(n: usize) -> String {
    format!("{n} task{}", if n == 1 { "" } else { "s" })
}

/// The parts of one plan event (others are hidden).
pub fn describe(kind: &EventKind, state: &SessionState) -> Parts {
    match kind {
        EventKind::PlanProposed {
            version,
            tasks,
            by,
            approval,
            window_ms,
        } => {
            let wait = match (approval, window_ms) {
                (Some(Approval::Confirm), _) => Some("[awaiting approval]".to_string()),
                (Some(Approval::Window), Some(ms)) => {
                    Some(format!("[runs in {ms} ms unless edited or rejected]"))
                }
                _ => None,
            };
            let tone = if wait.is_some() {
                Tone::Warn
            } else {
                Tone::Normal
            };
            let mut p = line(tone)
                .who(by)
                .verb("proposes")
                .target(&format!("plan v{version}"))
                .word(format!("({})", count(tasks.len())));
            if let Some(w) = wait {
                p = p.word(w);
            }
            p.body = Some(task_lines(tasks));
            p
        }
        EventKind::PlanEdited { version, tasks, by } => {
            let mut p = line(Tone::Warn)
                .who(by)
                .verb("edited the plan into")
                .target(&format!("v{version}"))
                .word(format!("({})", count(tasks.len())));
            p.body = Some(task_lines(tasks));
            p
        }
        EventKind::PlanApproved {
            version,
            by,
            reason,
            ..
        } => line(Tone::Good)
            .target(&format!("plan v{version}"))
            .verb("approved by")
            .name(by)
            .detail(reason.as_deref().unwrap_or("")),
        EventKind::PlanRejected {
            version,
            by,
            reason,
        } => line(Tone::Bad)
            .target(&format!("plan v{version}"))
            .verb("rejected by")
            .name(by)
            .detail(reason),
        EventKind::PlanHeld { version, by } => line(Tone::Warn)
            .target(&format!("plan v{version}"))
            .verb("held by")
            .name(by)
            .word("(the window waits for a decision)"),
        EventKind::TaskStarted {
            task,
            agent,
            turn,
            attempt,
        } => {
            let mut p = line(Tone::Normal)
                .who(agent)
                .verb("starts task")
                .target(task);
            if *attempt > 1 {
                p = p.word(format!("(attempt {attempt})"));
            }
            let waited = state
                .plan
                .task(task)
                .map(|t| t.spec.depends_on.clone())
                .unwrap_or_default();
            if !waited.is_empty() {
                p = p.word(format!("with the output of {}", waited.join(", ")));
            }
            p.turn = Some(*turn);
            p
        }
        EventKind::TaskFinished {
            task,
            agent,
            ok,
            error,
        } => {
            if *ok {
                line(Tone::Good)
                    .who(agent)
                    .verb("finished task")
                    .target(task)
            } else {
                line(Tone::Bad)
                    .who(agent)
                    .verb("failed task")
                    .target(task)
                    .detail(error.as_deref().unwrap_or(""))
            }
        }
        EventKind::TaskSkipped { task, because } => line(Tone::Muted)
            .word("task")
            .target(task)
            .verb("skipped")
            .word(format!("(it depends on {because}, which did not finish)")),
        EventKind::CompensationStarted { task, agent, turn } => {
            let mut p = line(Tone::Warn)
                .who(agent)
                .verb("compensates task")
                .target(task);
            if let Some(c) = state
                .plan
                .task(task)
                .and_then(|t| t.spec.compensation.clone())
            {
                p = p.detail(&c);
            }
            p.turn = Some(*turn);
            p
        }
        EventKind::CompensationFinished { task, agent, ok } => {
            let (tone, verb) = if *ok {
                (Tone::Good, "compensated task")
            } else {
                (Tone::Bad, "could not compensate task")
            };
            line(tone).who(agent).verb(verb).target(task)
        }
        EventKind::Replanned { version, reason } => line(Tone::Warn)
            .word("replanning")
            .verb("into")
            .target(&format!("plan v{version}"))
            .detail(reason),
        _ => Parts::hidden(),
    }
}
