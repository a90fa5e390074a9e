//! The planner's answer (issue 11): the `submit_plan` tool spec and its parser, which reads the
//! tool call or, for models without tool support, a `PLAN: <json>` text marker (the JSON may
//! span the following lines and sit in a code fence; `{"tasks": [...]}` or the array alone).
//! Parsing only reads the shape; the rules of a good plan are `patterns::plan::validate`'s.

use serde_json::{Value, json};

use super::{Malformed, args, marker};
use crate::core::event::{PlanTask, ToolCallInfo};
use crate::llm::ToolSpec;
use crate::llm::vocab::{PLAN_MARKER, SUBMIT_PLAN};

/// `submit_plan`, each task's `agent` an enum of `members`.
pub fn plan_tool(members: &[String]) -> ToolSpec {
    ToolSpec {
        name: SUBMIT_PLAN.into(),
        description: "Submit the plan: the tasks, who does each, and what each depends on.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "description": "A short unique id, e.g. design"},
                            "agent": {"type": "string", "enum": members},
                            "instructions": {"type": "string"},
                            "depends_on": {"type": "array", "items": {"type": "string"}},
                            "compensation": {"type": "string", "description": "How to undo this task if a later one fails (optional)"}
                        },
                        "required": ["id", "agent", "instructions", "depends_on"]
                    }
                }
            },
            "required": ["tasks"]
        }),
    }
}

/// How to answer without tools.
pub fn plan_marker_instructions() -> String {
    format!(
        "Answer with `{PLAN_MARKER}` followed by the plan as JSON: \
         {{\"tasks\": [{{\"id\": \"...\", \"agent\": \"...\", \"instructions\": \"...\", \"depends_on\": [\"...\"]}}]}}"
    )
}

/// The plan of a reply: the `submit_plan` call, else the JSON after a `PLAN:` marker.
pub fn parse_plan(
    text: &str,
    calls: &[ToolCallInfo],
) -> (Option<ToolCallInfo>, Result<Vec<PlanTask>, Malformed>) {
    if let Some(call) = calls.iter().find(|c| c.name == SUBMIT_PLAN) {
        let parsed = args(call).and_then(|a| {
            if a.truncated {
                return Err(Malformed(format!(
                    "the arguments of {SUBMIT_PLAN} were cut off: submit a shorter plan"
                )));
            }
            tasks_of(&a.value)
        });
        return (Some(call.clone()), parsed);
    }
    let found = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| marker(l, PLAN_MARKER).map(|rest| (i, rest)));
    let Some((at, rest)) = found else {
        return (
            calls.first().cloned(),
            Err(Malformed(format!(
                "no plan found: call {SUBMIT_PLAN} with the tasks"
            ))),
        );
    };
    let mut json = rest.to_string();
    for line in text.lines().skip(at + 1) {
        json.push('\n');
        json.push_str(line);
    }
    let json = json
        .trim()
        .trim_start_matches("```json")
        .trim_matches('`')
        .trim();
    let parsed = serde_json::from_str::<Value>(json)
        .map_err(|e| Malformed(format!("the JSON after {PLAN_MARKER} is not valid: {e}")))
        .and_then(|v| tasks_of(&v));
    (None, parsed)
}

fn tasks_of(v: &Value) -> Result<Vec<PlanTask>, Malformed> {
    let items = match v {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("tasks") {
            Some(Value::Array(items)) => items,
            _ => return Err(Malformed("the plan needs a `tasks` array".into())),
        },
        _ => {
            return Err(Malformed(
                "the plan must be a JSON object with `tasks`".into(),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
            let id = match item.get("id") {
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => text("id"),
            };
            let depends_on = match item.get("depends_on") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(ds)) => ds
                    .iter()
                    .map(|d| match d {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                Some(_) => {
                    return Err(Malformed(format!(
                        "task {} : depends_on must be a list of task ids",
                        n + 1
                    )));
                }
            };
            Ok(PlanTask {
                id: id.unwrap_or_default(),
                agent: text("agent").unwrap_or_default(),
                instructions: text("instructions").unwrap_or_default(),
                depends_on,
                compensation: text("compensation").filter(|c| !c.trim().is_empty()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: Value) -> ToolCallInfo {
        ToolCallInfo {
            id: "c".into(),
            name: SUBMIT_PLAN.into(),
            arguments: args.to_string(),
        }
    }

    #[test]
    fn reads_the_tool_call() {
        let (c, plan) = parse_plan(
            "",
            &[call(json!({"tasks": [
                {"id": "a", "agent": "dev", "instructions": "x", "depends_on": []},
                {"id": 2, "agent": "qa", "instructions": "y", "depends_on": ["a"], "compensation": "undo"}
            ]}))],
        );
        assert!(c.is_some());
        let plan = plan.unwrap();
        assert_eq!(plan[1].id, "2");
        assert_eq!(plan[1].depends_on, vec!["a"]);
        assert_eq!(plan[1].compensation.as_deref(), Some("undo"));
    }

    #[test]
    fn reads_the_text_marker_over_several_lines_and_in_a_fence() {
        let text = "Here it is.\nPLAN: ```json\n{\"tasks\": [\n {\"id\": \"a\", \"agent\": \"dev\", \"instructions\": \"x\"}\n]}\n```";
        let (c, plan) = parse_plan(text, &[]);
        assert!(c.is_none());
        assert_eq!(plan.unwrap()[0].agent, "dev");
        let (_, bare) = parse_plan(
            r#"PLAN: [{"id":"a","agent":"dev","instructions":"x"}]"#,
            &[],
        );
        assert_eq!(bare.unwrap().len(), 1);
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(
            parse_plan("no plan here", &[])
                .1
                .unwrap_err()
                .0
                .contains("submit_plan")
        );
        assert!(
            parse_plan("PLAN: {oops", &[])
                .1
                .unwrap_err()
                .0
                .contains("not valid")
        );
        let (_, e) = parse_plan("", &[call(json!({"steps": []}))]);
        assert!(e.unwrap_err().0.contains("tasks"));
    }
}
