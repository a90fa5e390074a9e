//! Request assembly, one rule at a time: each context mode, summary chaining, marker prompts for
//! backends without tools, and forced tools for backends with them.

use super::*;
use crate::core::event::{EventKind, PatternKind};
use crate::core::state::fixtures::{asked, push, said, started};

/// The person asked twice; `writer` and `critic` answered in between.
fn conversation() -> SessionState {
    let mut s = SessionState::default();
    asked(&mut s, "write a haiku", false);
    said(&mut s, "writer", 0, Purpose::Speak, "old pond", Vec::new());
    said(&mut s, "critic", 1, Purpose::Speak, "too short", Vec::new());
    asked(&mut s, "try again", false);
    s
}

fn agent(system: Option<&str>) -> AgentConfig {
    AgentConfig {
        backend: "b".into(),
        model: "m1".into(),
        system: system.map(String::from),
        max_tokens: Some(300),
        temperature: Some(0.5),
        ..Default::default()
    }
}

fn spec(context: ContextMode) -> TurnSpec {
    TurnSpec {
        agent: "writer".into(),
        purpose: Purpose::Speak,
        round: None,
        instructions: None,
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        context,
        timeout_ms: Some(900),
    }
}

fn user(text: &str) -> ChatMessage {
    ChatMessage::User { text: text.into() }
}

fn team() -> TeamConfig {
    TeamConfig::new(PatternKind::GroupChat)
}

#[test]
fn full_passes_the_whole_conversation_and_the_agents_settings() {
    let s = conversation();
    let r = build(
        &s,
        &team(),
        &agent(Some("Be brief.")),
        &spec(ContextMode::Full),
        None,
        true,
    );
    assert_eq!(
        r.messages,
        vec![
            user("[user]: write a haiku"),
            ChatMessage::Assistant {
                text: "old pond".into(),
                tool_calls: Vec::new()
            },
            user("[critic]: too short"),
            user("[user]: try again"),
        ]
    );
    assert_eq!(r.model, "m1");
    assert_eq!(r.system.as_deref(), Some("Be brief."));
    assert_eq!((r.max_tokens, r.temperature), (Some(300), Some(0.5)));
    assert!(r.tools.is_empty());
    assert_eq!(r.tool_choice, ToolChoice::Auto);
}

#[test]
fn last_n_keeps_the_latest_messages() {
    let s = conversation();
    let mut team = team();
    team.last_n = Some(2);
    let r = build(
        &s,
        &team,
        &agent(None),
        &spec(ContextMode::LastN),
        None,
        true,
    );
    assert_eq!(
        r.messages,
        vec![user("[critic]: too short"), user("[user]: try again")]
    );
}

#[test]
fn none_passes_only_the_current_prompt_then_the_instructions() {
    let s = conversation();
    let mut spec = spec(ContextMode::None);
    spec.instructions = Some("Answer in Japanese.".into());
    let r = build(&s, &team(), &agent(None), &spec, None, true);
    assert_eq!(
        r.messages,
        vec![user("[user]: try again"), user("Answer in Japanese.")]
    );
}

#[test]
fn summary_mode_renders_in_full_until_the_summary_exists() {
    let s = conversation();
    let full = build(
        &s,
        &team(),
        &agent(None),
        &spec(ContextMode::Full),
        None,
        true,
    );
    let summary = build(
        &s,
        &team(),
        &agent(None),
        &spec(ContextMode::Summary),
        None,
        true,
    );
    assert_eq!(summary.messages, full.messages);
}

#[test]
fn a_summary_replaces_the_conversation() {
    let mut s = conversation();
    push(
        &mut s,
        EventKind::SessionFinished {
            outcome: crate::core::event::Outcome::Completed,
            final_text: None,
        },
    );
    asked(&mut s, "and now a limerick", false);
    let r = build(
        &s,
        &team(),
        &agent(None),
        &spec(ContextMode::Summary),
        Some("they wrote a haiku"),
        true,
    );
    assert_eq!(
        r.messages,
        vec![
            user("Summary of the conversation so far:\nthey wrote a haiku"),
            user("[user]: and now a limerick"),
        ]
    );
}

#[test]
fn a_summary_turn_runs_first_only_when_there_is_something_to_summarize() {
    let s = conversation();
    let first = summarize_first(&s, &spec(ContextMode::Summary)).expect("a summarize turn");
    assert_eq!(first.agent, "writer");
    assert_eq!(first.purpose, Purpose::Summarize);
    assert_eq!(first.context, ContextMode::Full);
    assert_eq!(first.timeout_ms, Some(900));
    assert!(first.tools.is_empty());
    assert!(first.instructions.as_deref().is_some_and(|i| {
        i.starts_with("Summarize the conversation so far") && i.contains("writer")
    }));

    assert_eq!(summarize_first(&s, &spec(ContextMode::Full)), None);
    assert_eq!(
        summarize_first(&SessionState::default(), &spec(ContextMode::Summary)),
        None,
        "an empty conversation needs no summary"
    );
    let mut summarizing = spec(ContextMode::Summary);
    summarizing.purpose = Purpose::Summarize;
    assert_eq!(
        summarize_first(&s, &summarizing),
        None,
        "no summary of a summary"
    );
}

#[test]
fn a_finished_summary_is_handed_to_the_waiting_turn() {
    let mut s = conversation();
    said(
        &mut s,
        "writer",
        2,
        Purpose::Summarize,
        "they wrote a haiku",
        Vec::new(),
    );
    let mut waiting = spec(ContextMode::Summary);
    assert_eq!(
        chain_summary(&s, 2, &mut waiting).as_deref(),
        Some("they wrote a haiku")
    );
    assert_eq!(waiting.context, ContextMode::Summary);
}

#[test]
fn a_failed_or_empty_summary_falls_back_to_the_full_conversation() {
    let mut s = conversation();
    said(&mut s, "writer", 2, Purpose::Summarize, "  \n", Vec::new());
    started(&mut s, "writer", 3, Purpose::Summarize);
    push(
        &mut s,
        EventKind::TurnCancelled {
            agent: "writer".into(),
            turn: 3,
            partial_text: "they wr".into(),
            usage: Default::default(),
        },
    );
    for turn in [2, 3, 99] {
        let mut waiting = spec(ContextMode::Summary);
        assert_eq!(chain_summary(&s, turn, &mut waiting), None, "turn {turn}");
        assert_eq!(waiting.context, ContextMode::Full, "turn {turn}");
    }
}

#[test]
fn backends_without_tools_get_marker_prompts_instead() {
    let s = conversation();
    let mut spec = spec(ContextMode::Full);
    spec.tools = vec![tools::vote_tool()];
    spec.tool_choice = ToolChoice::Tool(tools::vote_tool().name);
    let markers = tools::marker_instructions(&tools::vote_tool());
    assert!(markers.contains("VOTE:"), "{markers}");

    let r = build(&s, &team(), &agent(Some("Be brief.")), &spec, None, false);
    assert_eq!(r.system, Some(format!("Be brief.\n\n{markers}")));
    assert!(r.tools.is_empty());
    assert_eq!(r.tool_choice, ToolChoice::Auto);

    let r = build(&s, &team(), &agent(None), &spec, None, false);
    assert_eq!(
        r.system,
        Some(markers),
        "no system prompt: the markers alone"
    );
}

#[test]
fn several_tools_give_one_marker_line_each() {
    let s = conversation();
    let mut spec = spec(ContextMode::Full);
    spec.tools = tools::handoff_tools(&[("critic".into(), None)], true);
    assert_eq!(spec.tools.len(), 2);
    let r = build(&s, &team(), &agent(None), &spec, None, false);
    let expected: Vec<String> = spec.tools.iter().map(tools::marker_instructions).collect();
    assert_eq!(r.system, Some(expected.join("\n")));
}

#[test]
fn backends_with_tools_get_them_and_the_forced_choice() {
    let s = conversation();
    let mut spec = spec(ContextMode::Full);
    spec.tools = vec![tools::vote_tool()];
    spec.tool_choice = ToolChoice::Tool(tools::vote_tool().name);
    let r = build(&s, &team(), &agent(Some("Be brief.")), &spec, None, true);
    assert_eq!(r.tools, vec![tools::vote_tool()]);
    assert_eq!(r.tool_choice, ToolChoice::Tool(tools::vote_tool().name));
    assert_eq!(r.system.as_deref(), Some("Be brief."), "no markers");
}

#[test]
fn a_forced_choice_without_tools_is_not_sent() {
    let s = conversation();
    let mut spec = spec(ContextMode::Full);
    spec.tool_choice = ToolChoice::None;
    let r = build(&s, &team(), &agent(None), &spec, None, true);
    assert_eq!(r.tool_choice, ToolChoice::Auto);
}

#[test]
fn an_edited_context_replaces_the_conversation_of_the_accepted_target_only() {
    let mut s = conversation();
    push(
        &mut s,
        EventKind::HandoffRequested {
            id: "h1".into(),
            from: "critic".into(),
            to: "writer".into(),
            reason: "your turn".into(),
            approval: Some("confirm".into()),
            window_ms: None,
        },
    );
    push(
        &mut s,
        EventKind::ContextEdited {
            handoff: "h1".into(),
            agent: "writer".into(),
            by: "user".into(),
            messages: vec![
                crate::core::event::ContextMessage {
                    role: "user".into(),
                    text: "edited ask".into(),
                },
                crate::core::event::ContextMessage {
                    role: "assistant".into(),
                    text: "edited answer".into(),
                },
            ],
        },
    );
    let mut told = spec(ContextMode::Summary);
    told.instructions = Some("critic handed over".into());
    // Still pending: the ordinary context.
    let pending = build(&s, &team(), &agent(Some("Be brief.")), &told, None, true);
    assert!(
        !pending.messages.contains(&user("edited ask")),
        "{:?}",
        pending.messages
    );
    assert!(summarize_first(&s, &told).is_some());
    push(
        &mut s,
        EventKind::HandoffAccepted {
            id: "h1".into(),
            reason: "approved".into(),
        },
    );
    assert_eq!(summarize_first(&s, &told), None, "nothing to summarize");
    let r = build(&s, &team(), &agent(Some("Be brief.")), &told, None, true);
    assert_eq!(r.system.as_deref(), Some("Be brief."));
    assert_eq!(
        r.messages,
        vec![
            user("edited ask"),
            ChatMessage::Assistant {
                text: "edited answer".into(),
                tool_calls: Vec::new()
            }
        ]
    );
    let mut other = told.clone();
    other.agent = "critic".into();
    let r = build(&s, &team(), &agent(None), &other, None, true);
    assert_ne!(r.messages.first(), Some(&user("edited ask")));
}
