//! Guards (issue 10 item 4): a team's `guard` agent is asked before a step crosses a boundary,
//! and its verdict decides whether the step goes ahead. Pure: the decisions live here, the
//! session actor and the patterns only perform them.
//!
//! Mental model: a step that would cross (a handoff about to be accepted, an MCP call about to
//! run, a final answer about to be given) is a [`Crossing`]. [`check`] says what the step needs
//! now: pass (no guard, or the guard allowed exactly this step), wait (the guard's call runs),
//! or ask: a `guard_asked` event and a `guard` turn forcing [`verdict_tool`] (`guard_verdict
//! {allow, reason}`; text fallback `GUARD: allow|deny: reason`, a bare `allow` / `deny` read
//! leniently). When that turn ends, [`decide`] reads its verdict: allow, deny, or ask once more
//! after an answer that could not be used (malformed, cut off, or the call cancelled); the
//! second such answer, or a call that failed, is a denial: guards fail closed, and the reason
//! says so. A denial is a `guard_tripped` event ([`tripped`]) and blocks the step: the handoff
//! is rejected and falls back (`handoff`), the call is rejected back to the model with the
//! reason (the actor's tool loop), the final answer is withheld and the task ends `failed`
//! ([`Guarded`]). Verdicts are turns in the journal (`state.guards`), so a resumed session reads
//! a verdict that was given instead of asking again.
//!
//! Where the guard stands at tools: after the person's or the policy's approval, just before
//! the call runs, so it sees exactly the calls that would run (a call the person rejected never
//! reaches it). The guard sees what crosses, the team's description, the acting agent's system
//! prompt, and the conversation since the person's last message (context `none`).

mod wrap;

pub use wrap::Guarded;

use serde_json::{Value, json};

use crate::config::ContextMode;
use crate::core::event::{Boundary, EventKind, Purpose, ToolCallInfo};
use crate::core::patterns::common;
use crate::core::patterns::{Ctx, Effect, TurnSpec};
use crate::core::state::guards::{Asked, Crossing};
use crate::core::state::{Entry, SessionState, TurnStatus};
use crate::core::tools::{Malformed, bare_word, decisive_args, reason_field};
use crate::llm::ToolSpec;
use crate::llm::vocab::{GUARD_MARKER, GUARD_VERDICT};

/// How many of the guard's answers may be unusable before the step is denied (fail closed).
pub const MAX_ASKS: usize = 2;

/// The guard's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub allow: bool,
    pub reason: String,
}

/// What a step that would cross needs from the guard now.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// Go ahead: the team has no guard (`None`), or its guard allowed this step (the reason).
    Pass(Option<String>),
    /// The guard's call about this step is running.
    Wait,
    /// Ask the guard: perform these (`guard_asked`, then the guard's turn).
    Ask(Vec<Effect>),
    /// The guard denied it already (the denial was acted on when it came).
    Denied(String),
}

/// What the guard's turns about one step add up to.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Its call runs.
    Wait,
    /// Ask (again); the note says why the last answer could not be used.
    Ask(Option<String>),
    Allow(String),
    Deny(String),
}

/// The forced tool a guard answers with.
pub fn verdict_tool() -> ToolSpec {
    ToolSpec {
        name: GUARD_VERDICT.into(),
        description: "Say whether the step may go ahead.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "allow": {"type": "boolean", "description": "true: it may go ahead; false: block it."},
                "reason": {"type": "string"}
            },
            "required": ["allow", "reason"]
        }),
    }
}

/// How to answer without tool support.
pub fn marker_instructions() -> String {
    format!("Answer with one line `{GUARD_MARKER} <allow|deny>: <reason>`.")
}

/// The verdict of a reply: the `guard_verdict` call, else a `GUARD:` line, else a reply that is
/// nothing but `allow` or `deny`.
pub fn parse_verdict(text: &str, calls: &[ToolCallInfo]) -> Result<Verdict, Malformed> {
    if let Some(call) = calls.iter().find(|c| c.name == GUARD_VERDICT) {
        let a = decisive_args(call, "allow")?;
        let allow = match a.value.get("allow") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => word(s),
            _ => None,
        }
        .ok_or_else(|| {
            Malformed(format!(
                "{GUARD_VERDICT} needs `allow`: true (it may go ahead) or false (block it)"
            ))
        })?;
        return Ok(Verdict {
            allow,
            reason: reason_field(&a, "reason"),
        });
    }
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['*', '`', '>', ' ']);
        let Some(head) = line.get(..GUARD_MARKER.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(GUARD_MARKER) {
            continue;
        }
        let rest = &line[GUARD_MARKER.len()..];
        let (choice, reason) = rest.split_once(':').unwrap_or((rest, ""));
        return word(choice)
            .map(|allow| Verdict {
                allow,
                reason: reason.trim().trim_end_matches(['*', '`']).trim().to_string(),
            })
            .ok_or_else(|| {
                Malformed(format!(
                    "invalid verdict '{}': write `{GUARD_MARKER} allow: <reason>` or `{GUARD_MARKER} deny: <reason>`",
                    choice.trim()
                ))
            });
    }
    if let Some(allow) = bare_word(text).and_then(word) {
        return Ok(Verdict {
            allow,
            reason: String::new(),
        });
    }
    Err(Malformed(format!(
        "no verdict found: call {GUARD_VERDICT} with allow true or false and a reason"
    )))
}

/// `allow` / `deny` and their usual spellings.
fn word(s: &str) -> Option<bool> {
    let s = s.trim().trim_matches(|c: char| "*`'\".".contains(c));
    match s.to_ascii_lowercase().as_str() {
        "allow" | "allowed" | "true" | "yes" => Some(true),
        "deny" | "denied" | "false" | "no" | "block" | "blocked" => Some(false),
        _ => None,
    }
}

/// What `state` says about `crossing` given the team's guard.
pub fn check(ctx: &Ctx, state: &SessionState, crossing: Crossing) -> Check {
    let Some(guard) = ctx.team.guard.clone() else {
        return Check::Pass(None);
    };
    let asked = state
        .guards
        .get(&crossing.boundary, &crossing.id)
        .filter(|a| a.crossing == crossing);
    let Some(asked) = asked else {
        return Check::Ask(ask(ctx, &guard, &crossing, None));
    };
    match decide(state, asked) {
        Decision::Wait => Check::Wait,
        Decision::Allow(reason) => Check::Pass(Some(reason)),
        Decision::Deny(reason) => Check::Denied(reason),
        Decision::Ask(note) => Check::Ask(ask(ctx, &guard, &crossing, note.as_deref())),
    }
}

/// What the guard's turns about `asked` add up to.
pub fn decide(state: &SessionState, asked: &Asked) -> Decision {
    let Some(last) = asked.turns.last().and_then(|t| state.turns.get(t)) else {
        return Decision::Ask(None);
    };
    let unusable = match last.status {
        TurnStatus::Running => return Decision::Wait,
        TurnStatus::Failed => {
            let why = last
                .error
                .as_ref()
                .map_or("it failed".to_string(), |e| e.message.clone());
            return Decision::Deny(format!("fail closed: the guard could not be asked ({why})"));
        }
        TurnStatus::Cancelled => "its call was cancelled before it answered".to_string(),
        TurnStatus::Completed => match parse_verdict(&last.text, &last.tool_calls) {
            Ok(v) if v.allow => return Decision::Allow(v.reason),
            Ok(v) => return Decision::Deny(v.reason),
            Err(m) => m.0,
        },
    };
    if asked.turns.len() >= MAX_ASKS {
        Decision::Deny(format!(
            "fail closed: no usable verdict after {} asks ({unusable})",
            asked.turns.len()
        ))
    } else {
        Decision::Ask(Some(unusable))
    }
}

/// The `tool_result`s answering the calls of the guard's last reply about `asked` once
/// `decision` is made from it (each call answered once, so its conversation stays whole).
pub fn answer_calls(state: &SessionState, asked: &Asked, decision: &Decision) -> Vec<Effect> {
    let (content, is_error) = match decision {
        Decision::Allow(_) => ("allowed".to_string(), false),
        Decision::Deny(why) => (format!("denied: {why}"), false),
        Decision::Ask(Some(note)) => (note.clone(), true),
        Decision::Ask(None) | Decision::Wait => return Vec::new(),
    };
    let Some((turn, t)) = asked
        .turns
        .last()
        .and_then(|turn| Some((*turn, state.turns.get(turn)?)))
    else {
        return Vec::new();
    };
    let answered = |id: &str| {
        state.entries.iter().any(|e| {
            matches!(e, Entry::ToolResult { turn: at, call_id, .. } if *at == turn && call_id == id)
        })
    };
    t.tool_calls
        .iter()
        .filter(|c| !answered(&c.id))
        .flat_map(|c| common::answer(&t.agent, turn, Some(c), &content, is_error))
        .collect()
}

/// `guard_asked` and the guard's turn for `crossing` (`note`: why it is asked again).
pub fn ask(ctx: &Ctx, guard: &str, crossing: &Crossing, note: Option<&str>) -> Vec<Effect> {
    vec![
        Effect::Emit(EventKind::GuardAsked {
            guard: guard.to_string(),
            boundary: crossing.boundary.clone(),
            id: crossing.id.clone(),
            agent: crossing.agent.clone(),
            subject: crossing.subject.clone(),
            content: crossing.content.clone(),
            outcome: crossing.outcome,
        }),
        Effect::StartTurn(turn(ctx, guard, crossing, note)),
    ]
}

/// The guard's forced `guard_verdict` turn about `crossing`.
pub fn turn(ctx: &Ctx, guard: &str, crossing: &Crossing, note: Option<&str>) -> TurnSpec {
    let mut text = String::from("You are the guard of this team");
    if let Some(d) = ctx.team.description.as_deref().filter(|d| !d.is_empty()) {
        text.push_str(&format!(" ({d})"));
    }
    text.push_str(match crossing.boundary {
        Boundary::Handoff => ". An agent wants to hand the conversation over to another agent.",
        Boundary::Tool => ". An agent wants to run a tool.",
        Boundary::Final => ". The team is about to give its final answer to the person.",
        Boundary::Other(_) => ". An agent wants to take a step.",
    });
    if let Some(agent) = &crossing.agent
        && let Some(system) = ctx.agents.get(agent).and_then(|a| a.system.as_deref())
    {
        text.push_str(&format!("\n\n{agent}'s instructions: {system}"));
    }
    let what = match crossing.boundary {
        Boundary::Handoff => "the reason given",
        Boundary::Tool => "its arguments",
        Boundary::Final => "the answer",
        Boundary::Other(_) => "what it carries",
    };
    text.push_str(&format!(
        "\n\n{}, {what}:\n{}\n\nDecide whether it may go ahead: call {GUARD_VERDICT} with allow true or false.",
        crossing.subject, crossing.content
    ));
    if let Some(note) = note {
        text.push_str(&format!(
            " Your previous answer could not be used ({note})."
        ));
    }
    let mut spec = TurnSpec::forced(guard, Purpose::Guard, verdict_tool(), text);
    spec.context = ContextMode::None;
    spec
}

/// The `guard_tripped` event of a denial.
pub fn tripped(guard: &str, crossing: &Crossing, reason: &str) -> Effect {
    Effect::Emit(EventKind::GuardTripped {
        guard: guard.to_string(),
        boundary: crossing.boundary.clone(),
        subject: crossing.subject.clone(),
        reason: reason.to_string(),
        id: crossing.id.clone(),
    })
}

/// The crossing of handoff `id` from `from` to `to`.
pub fn handoff(id: &str, from: &str, to: &str, reason: &str) -> Crossing {
    Crossing {
        boundary: Boundary::Handoff,
        id: id.to_string(),
        agent: Some(from.to_string()),
        subject: format!("handoff {id}: {from} → {to}"),
        content: reason.to_string(),
        outcome: None,
    }
}

/// The crossing of MCP call `call_id` of `agent`.
pub fn tool(call_id: &str, agent: &str, server: &str, tool: &str, arguments: &str) -> Crossing {
    Crossing {
        boundary: Boundary::Tool,
        id: call_id.to_string(),
        agent: Some(agent.to_string()),
        subject: format!("{server}.{tool} called by {agent}"),
        content: arguments.to_string(),
        outcome: None,
    }
}

#[cfg(test)]
mod tests;
