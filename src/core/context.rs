//! What an agent sees for a turn: the conversation of the [`SessionState`] rendered as the
//! `Vec<ChatMessage>` of a request, from that agent's point of view.
//!
//! The agent's own earlier messages come back as `Assistant` (with their tool calls, each answered
//! by its `ToolResult` right after it, exactly once and in order); everyone else's words, and the
//! person's, come as `User` text prefixed with the speaker's name; it opens and ends with a `User`
//! message (or the answers to the agent's own calls). Only conversation turns
//! (`speak`, `aggregate`) count: votes, picks, scores and summaries are not part of it.
//! How much is passed is the [`ContextMode`] of the edge `from->to` (or the team's): `full`,
//! `last_n` (messages), `none` (only the current prompt) or `summary` (the driver first asks for a
//! summary, then passes it with [`from_summary`]). With `sanitize = true`, text crossing from one
//! agent to another goes through the redactor. Pure.

use crate::config::{ContextMode, TeamConfig};
use crate::core::event::Purpose;
use crate::core::sanitize;
use crate::core::state::{Entry, SessionState};
use crate::llm::{ChatMessage, ToolCall};

/// `last_n` when the team does not say.
pub const DEFAULT_LAST_N: usize = 6;

/// Closes a conversation that would end with the agent's own message (it is picked to speak
/// twice in a row): a request ending with an assistant message is a prefill to Anthropic (the
/// model continues its own words, or the API refuses it) and reads as a reply already given to
/// the others.
pub const YOUR_TURN_AGAIN: &str = "(It is your turn again: go on.)";

/// The context mode for a turn of `to` following `from`: the edge override, else the team's.
pub fn mode_for(team: &TeamConfig, from: Option<&str>, to: &str) -> ContextMode {
    from.and_then(|f| team.edges.get(&format!("{f}->{to}")))
        .or(team.edges.get(&format!("*->{to}")))
        .copied()
        .or(team.context)
        .unwrap_or_default()
}

/// The messages `agent` sees under `mode`. `Summary` renders as `Full` (the driver replaces it
/// with [`from_summary`] once the summary exists).
pub fn messages(
    state: &SessionState,
    team: &TeamConfig,
    agent: &str,
    mode: ContextMode,
) -> Vec<ChatMessage> {
    let sanitize = team.sanitize == Some(true);
    let items = conversation(state);
    let items: &[&Entry] = match mode {
        ContextMode::Full | ContextMode::Summary => &items,
        ContextMode::LastN => {
            let n = team.last_n.unwrap_or(DEFAULT_LAST_N).max(1);
            let mut kept = 0;
            let mut start = items.len();
            while start > 0 && kept < n {
                start -= 1;
                if !matches!(items[start], Entry::ToolResult { .. }) {
                    kept += 1;
                }
            }
            &items[start..]
        }
        ContextMode::None => {
            let start = items
                .iter()
                .rposition(|e| {
                    matches!(
                        e,
                        Entry::User {
                            interject: false,
                            ..
                        }
                    )
                })
                .unwrap_or(items.len());
            &items[start..start.saturating_add(1).min(items.len())]
        }
    };
    let mut out = render(items, agent, sanitize, &state.entries);
    if matches!(
        out.first(),
        Some(ChatMessage::Assistant { .. } | ChatMessage::ToolResult { .. })
    ) {
        out.insert(
            0,
            ChatMessage::User {
                text: "(earlier conversation omitted)".into(),
            },
        );
    }
    if matches!(out.last(), Some(ChatMessage::Assistant { .. })) {
        out.push(ChatMessage::User {
            text: YOUR_TURN_AGAIN.into(),
        });
    }
    out
}

/// The context when a summary replaces the conversation: the summary, then the current prompt.
pub fn from_summary(state: &SessionState, summary: &str) -> Vec<ChatMessage> {
    let mut out = vec![ChatMessage::User {
        text: format!("Summary of the conversation so far:\n{summary}"),
    }];
    if !state.task.prompt.is_empty() {
        out.push(ChatMessage::User {
            text: format!("[user]: {}", state.task.prompt),
        });
    }
    out
}

/// The entries that form the conversation (no votes, picks, scores, summaries).
fn conversation(state: &SessionState) -> Vec<&Entry> {
    let in_conversation = |turn: &u64| {
        state
            .turns
            .get(turn)
            .is_none_or(|t| matches!(t.purpose, Purpose::Speak | Purpose::Aggregate))
    };
    state
        .entries
        .iter()
        .filter(|e| match e {
            Entry::User { .. } => true,
            Entry::Agent { purpose, .. } => matches!(purpose, Purpose::Speak | Purpose::Aggregate),
            Entry::ToolResult { turn, .. } => in_conversation(turn),
        })
        .collect()
}

/// Text as another agent sees it: redacted when the team sanitizes (the person's words too).
fn crossing(text: &str, sanitize: bool) -> String {
    if sanitize {
        sanitize::redact(text)
    } else {
        text.to_string()
    }
}

fn render(items: &[&Entry], agent: &str, sanitize: bool, all: &[Entry]) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    for entry in items {
        match entry {
            Entry::User { text, .. } => out.push(ChatMessage::User {
                text: format!("[user]: {}", crossing(text, sanitize)),
            }),
            Entry::Agent {
                agent: who,
                turn,
                text,
                tool_calls,
                ..
            } if who == agent => {
                out.push(ChatMessage::Assistant {
                    text: text.clone(),
                    tool_calls: tool_calls
                        .iter()
                        .map(|c| ToolCall {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        })
                        .collect(),
                });
                for call in tool_calls {
                    let answer = all.iter().find_map(|e| match e {
                        Entry::ToolResult {
                            turn: t,
                            call_id,
                            content,
                            is_error,
                            ..
                        } if t == turn && call_id == &call.id => Some((content, *is_error)),
                        _ => None,
                    });
                    let (content, is_error) = match answer {
                        Some((c, e)) => (c.clone(), e),
                        None => ("(no result)".to_string(), true),
                    };
                    out.push(ChatMessage::ToolResult {
                        call_id: call.id.clone(),
                        name: call.name.clone(),
                        content,
                        is_error,
                    });
                }
            }
            Entry::Agent {
                agent: who, text, ..
            } => {
                if text.trim().is_empty() {
                    continue;
                }
                out.push(ChatMessage::User {
                    text: format!("[{who}]: {}", crossing(text, sanitize)),
                });
            }
            Entry::ToolResult { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventKind, PatternKind, ToolCallInfo};
    use crate::core::state::fixtures::{asked, push, said};

    fn sample() -> SessionState {
        let mut s = SessionState::default();
        asked(&mut s, "help, mail me at bob@example.com", false);
        said(
            &mut s,
            "triage",
            0,
            Purpose::Speak,
            "passing on; bob@example.com",
            vec![ToolCallInfo {
                id: "c1".into(),
                name: "transfer_to_billing".into(),
                arguments: "{}".into(),
            }],
        );
        asked(&mut s, "hurry", true);
        push(
            &mut s,
            EventKind::ToolResult {
                agent: "triage".into(),
                turn: 0,
                call_id: "c1".into(),
                name: "transfer_to_billing".into(),
                content: "ok".into(),
                is_error: false,
                server: None,
                ms: None,
            },
        );
        said(&mut s, "billing", 1, Purpose::Speak, "refunded", vec![]);
        s
    }

    #[test]
    fn own_messages_are_assistant_with_results_right_after() {
        let s = sample();
        let team = TeamConfig::new(PatternKind::Handoff);
        let m = messages(&s, &team, "triage", ContextMode::Full);
        assert!(
            matches!(&m[1], ChatMessage::Assistant { tool_calls, .. } if tool_calls.len() == 1)
        );
        assert!(matches!(&m[2], ChatMessage::ToolResult { call_id, .. } if call_id == "c1"));
        assert!(matches!(&m[3], ChatMessage::User { text } if text == "[user]: hurry"));
        assert!(matches!(&m[4], ChatMessage::User { text } if text == "[billing]: refunded"));
    }

    #[test]
    fn others_are_prefixed_and_sanitized_when_asked() {
        let s = sample();
        let mut team = TeamConfig::new(PatternKind::Handoff);
        team.sanitize = Some(true);
        let m = messages(&s, &team, "billing", ContextMode::Full);
        let ChatMessage::User { text } = &m[1] else {
            panic!("expected user text, got {m:?}");
        };
        assert!(text.starts_with("[triage]: passing on"));
        assert!(!text.contains("bob@example.com"), "{text}");
        let ChatMessage::User { text } = &m[0] else {
            panic!("expected the person's text, got {m:?}");
        };
        assert!(text.starts_with("[user]: help, mail me at"), "{text}");
        assert!(
            !text.contains("bob@example.com"),
            "the person's text is redacted too: {text}"
        );
        assert!(matches!(&m[3], ChatMessage::Assistant { .. }));
        assert!(matches!(&m[4], ChatMessage::User { text } if text == YOUR_TURN_AGAIN));
    }

    #[test]
    fn a_conversation_never_ends_with_the_agents_own_message() {
        let s = sample();
        let team = TeamConfig::new(PatternKind::Handoff);
        let m = messages(&s, &team, "triage", ContextMode::Full);
        assert!(
            matches!(m.last(), Some(ChatMessage::User { text }) if text == "[billing]: refunded")
        );
        let m = messages(&s, &team, "billing", ContextMode::Full);
        assert_eq!(
            m.last(),
            Some(&ChatMessage::User {
                text: YOUR_TURN_AGAIN.into()
            })
        );
    }

    #[test]
    fn last_n_and_none_limit_the_context() {
        let s = sample();
        let mut team = TeamConfig::new(PatternKind::Handoff);
        team.last_n = Some(1);
        let m = messages(&s, &team, "billing", ContextMode::LastN);
        assert_eq!(
            m.len(),
            3,
            "a conversation always opens and ends with a user message: {m:?}"
        );
        assert!(matches!(&m[1], ChatMessage::Assistant { text, .. } if text == "refunded"));
        assert!(matches!(&m[2], ChatMessage::User { text } if text == YOUR_TURN_AGAIN));
        let m = messages(&s, &team, "billing", ContextMode::None);
        assert_eq!(
            m,
            vec![ChatMessage::User {
                text: "[user]: help, mail me at bob@example.com".into()
            }]
        );
    }

    #[test]
    fn edge_overrides_team_mode() {
        let mut team = TeamConfig::new(PatternKind::Sequential);
        team.context = Some(ContextMode::LastN);
        team.edges.insert("pm->dev".into(), ContextMode::None);
        assert_eq!(mode_for(&team, Some("pm"), "dev"), ContextMode::None);
        assert_eq!(mode_for(&team, Some("qa"), "dev"), ContextMode::LastN);
        team.edges.insert("*->qa".into(), ContextMode::Summary);
        assert_eq!(mode_for(&team, Some("dev"), "qa"), ContextMode::Summary);
        assert_eq!(mode_for(&team, None, "qa"), ContextMode::Summary);
    }
}
