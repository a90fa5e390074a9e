//! The rules of a plan (issue 11), every broken one listed: at least one task and at most
//! [`MAX_TASKS`], unique non-empty ids, members only as agents, instructions, dependencies that
//! exist and are not the task itself, and no cycle. A replan's new version may depend on the
//! tasks already done; a task it repeats under a done task's id is dropped (done stays done).

use std::collections::{BTreeMap, BTreeSet};

use crate::core::event::PlanTask;

/// The most tasks one plan version may have.
pub const MAX_TASKS: usize = 50;

/// The plan as it will run, or every problem with it.
pub fn validate(
    tasks: Vec<PlanTask>,
    members: &[String],
    done: &[String],
) -> Result<Vec<PlanTask>, Vec<String>> {
    let tasks: Vec<PlanTask> = tasks
        .into_iter()
        .filter(|t| !done.contains(&t.id))
        .collect();
    let mut errors = Vec::new();
    if tasks.is_empty() {
        errors.push(if done.is_empty() {
            "the plan has no tasks".to_string()
        } else {
            "the plan has no new task for the unfinished part".to_string()
        });
    }
    if tasks.len() > MAX_TASKS {
        errors.push(format!(
            "the plan has {} tasks; at most {MAX_TASKS} are allowed",
            tasks.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for (n, t) in tasks.iter().enumerate() {
        let name = if t.id.trim().is_empty() {
            format!("task {}", n + 1)
        } else {
            format!("task {}", t.id)
        };
        if t.id.trim().is_empty() {
            errors.push(format!("{name} has no id"));
        } else if !seen.insert(t.id.as_str()) {
            errors.push(format!("{name}: the id is used twice"));
        }
        if !members.contains(&t.agent) {
            errors.push(format!(
                "{name}: unknown agent '{}' (choose one of {})",
                t.agent,
                members.join(", ")
            ));
        }
        if t.instructions.trim().is_empty() {
            errors.push(format!("{name} has no instructions"));
        }
        for d in &t.depends_on {
            if d == &t.id {
                errors.push(format!("{name} depends on itself"));
            } else if !done.contains(d) && !tasks.iter().any(|o| &o.id == d) {
                errors.push(format!(
                    "{name} depends on '{d}', which is not a task of the plan"
                ));
            }
        }
    }
    if let Some(cycle) = cycle(&tasks) {
        errors.push(format!(
            "the dependencies form a cycle: {}",
            cycle.join(" -> ")
        ));
    }
    if errors.is_empty() {
        Ok(tasks)
    } else {
        Err(errors)
    }
}

/// One dependency cycle among `tasks`, as ids from a task back to itself.
fn cycle(tasks: &[PlanTask]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, Vec<&str>> = tasks
        .iter()
        .map(|t| {
            let ds = t
                .depends_on
                .iter()
                .map(String::as_str)
                .filter(|d| *d != t.id)
                .collect();
            (t.id.as_str(), ds)
        })
        .collect();
    // 0 unvisited, 1 on the path, 2 finished.
    let mut mark: BTreeMap<&str, u8> = BTreeMap::new();
    for start in deps.keys() {
        if mark.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        mark.insert(start, 1);
        while let Some((node, next)) = path.last().copied() {
            let children = deps.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(child) = children.get(next) {
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                match mark.get(child).copied().unwrap_or(0) {
                    0 if deps.contains_key(child) => {
                        mark.insert(child, 1);
                        path.push((child, 0));
                    }
                    1 => {
                        let from = path.iter().position(|(n, _)| n == child).unwrap_or(0);
                        let mut ids: Vec<String> =
                            path[from..].iter().map(|(n, _)| n.to_string()).collect();
                        ids.push(child.to_string());
                        return Some(ids);
                    }
                    _ => {}
                }
            } else {
                mark.insert(node, 2);
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, agent: &str, deps: &[&str]) -> PlanTask {
        PlanTask {
            id: id.into(),
            agent: agent.into(),
            instructions: format!("do {id}"),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            compensation: None,
        }
    }

    fn members() -> Vec<String> {
        vec!["dev".into(), "qa".into()]
    }

    #[test]
    fn a_good_plan_passes() {
        let plan = vec![t("a", "dev", &[]), t("b", "qa", &["a"])];
        assert_eq!(validate(plan.clone(), &members(), &[]), Ok(plan));
    }

    #[test]
    fn every_error_is_listed() {
        let mut empty = t("e", "dev", &[]);
        empty.instructions = " ".into();
        let plan = vec![
            t("a", "dev", &["ghost"]),
            t("a", "pm", &[]),
            t("", "qa", &[]),
            t("s", "qa", &["s"]),
            empty,
        ];
        let errors = validate(plan, &members(), &[]).unwrap_err();
        let all = errors.join("\n");
        for needle in [
            "task a depends on 'ghost'",
            "task a: the id is used twice",
            "unknown agent 'pm' (choose one of dev, qa)",
            "task 3 has no id",
            "task s depends on itself",
            "task e has no instructions",
        ] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
        assert_eq!(errors.len(), 6, "{all}");
    }

    #[test]
    fn no_tasks_too_many_tasks_and_cycles_are_errors() {
        assert_eq!(
            validate(Vec::new(), &members(), &[]).unwrap_err(),
            vec!["the plan has no tasks"]
        );
        let many: Vec<PlanTask> = (0..=MAX_TASKS)
            .map(|i| t(&format!("t{i}"), "dev", &[]))
            .collect();
        assert!(validate(many, &members(), &[]).unwrap_err()[0].contains("at most 50"));
        let looped = vec![
            t("a", "dev", &["c"]),
            t("b", "dev", &["a"]),
            t("c", "qa", &["b"]),
        ];
        let e = validate(looped, &members(), &[]).unwrap_err();
        assert_eq!(e, vec!["the dependencies form a cycle: a -> c -> b -> a"]);
    }

    #[test]
    fn a_replan_may_depend_on_done_tasks_and_drops_their_repeats() {
        let done = vec!["a".to_string()];
        let plan = vec![t("a", "dev", &[]), t("b2", "qa", &["a"])];
        let kept = validate(plan, &members(), &done).unwrap();
        assert_eq!(
            kept.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            vec!["b2"]
        );
        assert!(
            validate(vec![t("a", "dev", &[])], &members(), &done).unwrap_err()[0]
                .contains("no new task")
        );
    }
}
