//! The router's answer (issue 11): the tool `route_task {team, reason}` (`team` an enum of the
//! auto team's teams), else a `ROUTE: <team>: <reason>` line, else a reply that is nothing but one
//! team's name (lenient, like the manager's pick). Anything else is [`Malformed`], in words the
//! router can act on when it is asked again.

use serde_json::json;

use super::{
    Malformed, bare_word, decisive_args, marker, reason_field, split_once_trim, str_field,
};
use crate::core::event::ToolCallInfo;
use crate::llm::ToolSpec;
use crate::llm::vocab::{ROUTE_MARKER, ROUTE_TASK};

/// `route_task` with `team` one of `teams`.
pub fn route_tool(teams: &[String]) -> ToolSpec {
    ToolSpec {
        name: ROUTE_TASK.into(),
        description: "Pick the team that should take the task.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "team": {"type": "string", "enum": teams},
                "reason": {"type": "string"}
            },
            "required": ["team", "reason"]
        }),
    }
}

pub(super) fn marker_instructions() -> String {
    format!("Answer with one line `{ROUTE_MARKER} <team>: <reason>`.")
}

/// The router's pick `(team, reason)`: the `route_task` call, else a `ROUTE:` line, else a bare
/// team name. The call it came from is returned so it can be answered.
pub fn parse_route(
    text: &str,
    calls: &[ToolCallInfo],
    teams: &[String],
) -> (Option<ToolCallInfo>, Result<(String, String), Malformed>) {
    if let Some(call) = calls.iter().find(|c| c.name == ROUTE_TASK) {
        let parsed = decisive_args(call, "team").and_then(|a| {
            team_of(&str_field(&a.value, "team"), teams).map(|t| (t, reason_field(&a, "reason")))
        });
        return (Some(call.clone()), parsed);
    }
    for line in text.lines() {
        if let Some(rest) = marker(line, ROUTE_MARKER) {
            let (team, reason) = split_once_trim(rest);
            return (None, team_of(team, teams).map(|t| (t, reason.to_string())));
        }
    }
    if let Some(team) = bare_word(text).and_then(|w| team_of(w, teams).ok()) {
        return (calls.first().cloned(), Ok((team, String::new())));
    }
    (
        calls.first().cloned(),
        Err(Malformed(format!(
            "no team picked: call {ROUTE_TASK} with one of {}",
            teams.join(", ")
        ))),
    )
}

/// `name` as one of `teams` (exact, else case-insensitive).
fn team_of(name: &str, teams: &[String]) -> Result<String, Malformed> {
    let name = name.trim();
    teams
        .iter()
        .find(|t| t.as_str() == name)
        .or_else(|| teams.iter().find(|t| t.eq_ignore_ascii_case(name)))
        .cloned()
        .ok_or_else(|| {
            Malformed(format!(
                "unknown team '{name}': choose one of {}",
                teams.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn teams() -> Vec<String> {
        vec!["debate".into(), "support".into()]
    }

    fn call(args: &str) -> ToolCallInfo {
        ToolCallInfo {
            id: "c1".into(),
            name: ROUTE_TASK.into(),
            arguments: args.into(),
        }
    }

    #[test]
    fn reads_the_tool_the_marker_and_a_bare_name() {
        let (c, r) = parse_route(
            "",
            &[call(r#"{"team":"support","reason":"a bug"}"#)],
            &teams(),
        );
        assert!(c.is_some());
        assert_eq!(r, Ok(("support".into(), "a bug".into())));
        let (_, r) = parse_route("ok\nROUTE: Debate: two sides", &[], &teams());
        assert_eq!(r, Ok(("debate".into(), "two sides".into())));
        let (_, r) = parse_route("**support**.", &[], &teams());
        assert_eq!(r, Ok(("support".into(), String::new())));
    }

    #[test]
    fn unknown_teams_and_prose_are_malformed_with_the_choices() {
        let (_, r) = parse_route("", &[call(r#"{"team":"chess","reason":""}"#)], &teams());
        assert!(r.is_err_and(|m| m.0.contains("unknown team 'chess'") && m.0.contains("support")));
        let (_, r) = parse_route("I think support would do", &[], &teams());
        assert!(r.is_err_and(|m| m.0.contains(ROUTE_TASK)));
        let (_, r) = parse_route("", &[call(r#"{"team":"supp"#)], &teams());
        assert!(r.is_err(), "a team cut off is no pick");
    }
}
