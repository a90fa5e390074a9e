use super::*;
use crate::llm::{ChatMessage, ChatRequest, ToolCall, ToolChoice};

fn request() -> ChatRequest {
    ChatRequest {
        model: "billing-model".into(),
        system: Some("You are billing.".into()),
        messages: vec![
            ChatMessage::User {
                text: "[user]: I was charged twice".into(),
            },
            ChatMessage::Assistant {
                text: "Earlier I looked.".into(),
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "lookup".into(),
                    arguments: "{}".into(),
                }],
            },
            ChatMessage::ToolResult {
                call_id: "c1".into(),
                name: "lookup".into(),
                content: "invoice 7".into(),
                is_error: false,
            },
            ChatMessage::User {
                text: "[triage]: Passing you on.".into(),
            },
            ChatMessage::User {
                text: "triage handed the conversation over to you. Reason: double charge".into(),
            },
        ],
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        max_tokens: None,
        temperature: None,
        marker_system: None,
    }
}

fn preview() -> ContextPreview {
    ContextPreview::new("h1", "triage", "billing", &request())
}

#[test]
fn messages_show_their_sender_apart_from_the_text() {
    let p = preview();
    let seen: Vec<(&str, &str, &str)> = p
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.sender.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("user", "user", "I was charged twice"),
            ("assistant", "billing", "Earlier I looked."),
            ("user", "tool lookup", "invoice 7"),
            ("user", "triage", "Passing you on."),
            (
                "user",
                CONCLAVE,
                "triage handed the conversation over to you. Reason: double charge"
            ),
        ]
    );
    assert_eq!(p.messages[1].calls, ["lookup"]);
    assert_eq!(p.system.as_deref(), Some("You are billing."));
}

#[test]
fn approving_an_untouched_preview_sends_no_edit() {
    let mut p = preview();
    p.down();
    p.set_text("Earlier I looked.".into());
    assert!(!p.is_changed());
    assert_eq!(p.edited(), None);
    assert_eq!(p.approve(), vec![Command::ApproveHandoff {}]);
}

#[test]
fn an_edit_keeps_the_sender_prefix_and_a_delete_drops_the_message() {
    let mut p = preview();
    p.down();
    p.down();
    p.down();
    p.set_text("Customer 42, invoice 7.".into());
    p.up();
    p.toggle_delete().unwrap();
    assert_eq!(p.counts(), (1, 1));
    let msg = |role: &str, text: &str| ContextMessage {
        role: role.into(),
        text: text.into(),
    };
    let expected = vec![
        msg("user", "[user]: I was charged twice"),
        msg("assistant", "Earlier I looked."),
        msg("user", "[triage]: Customer 42, invoice 7."),
        msg(
            "user",
            "triage handed the conversation over to you. Reason: double charge",
        ),
    ];
    assert_eq!(
        p.approve(),
        vec![
            Command::EditContext { messages: expected },
            Command::ApproveHandoff {}
        ]
    );
}

#[test]
fn deleting_again_keeps_the_message_and_the_last_one_cannot_go() {
    let mut p = preview();
    p.toggle_delete().unwrap();
    assert!(p.is_changed());
    p.toggle_delete().unwrap();
    assert!(!p.is_changed());
    for _ in 0..4 {
        p.toggle_delete().unwrap();
        p.down();
    }
    assert_eq!(p.selected, 4);
    let err = p.toggle_delete().unwrap_err();
    assert!(err.contains("at least one message"), "{err}");
    assert_eq!(p.edited().map(|m| m.len()), Some(1));
}

#[test]
fn moving_stops_at_both_ends_and_asks_to_reveal() {
    let mut p = preview();
    p.reveal = false;
    p.up();
    assert_eq!(p.selected, 0);
    assert!(p.reveal);
    for _ in 0..10 {
        p.down();
    }
    assert_eq!(p.selected, 4);
}

#[test]
fn paging_moves_the_selection_to_the_first_message_in_view() {
    let mut p = preview();
    // As a frame of 4 rows drew it: messages of 3 rows each after 3 rows of system prompt.
    p.layout = vec![(3, 5), (6, 8), (9, 11), (12, 14), (15, 17)];
    p.viewport = 4;
    p.page(false);
    assert_eq!((p.scroll, p.selected), (3, 0));
    p.page(false);
    assert_eq!((p.scroll, p.selected), (6, 1));
    for _ in 0..10 {
        p.page(false);
    }
    assert_eq!(p.scroll, 13, "stops where the last rows show");
    assert_eq!(p.selected, 3);
    p.page(true);
    assert_eq!((p.scroll, p.selected), (10, 2));
}

#[test]
fn a_relayed_prefix_is_only_a_plain_name() {
    assert_eq!(
        relayed("[triage]: hi").map(|(s, p)| (s, p.len())),
        Some(("triage".to_string(), 10))
    );
    assert_eq!(relayed("[a]b]: x"), None);
    assert_eq!(relayed("[]: x"), None);
    assert_eq!(relayed("no prefix"), None);
    assert_eq!(relayed("[multi\nline]: x"), None);
}
