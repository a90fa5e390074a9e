//! Unit tests of the A2A provider's pure helpers: the context as one text, the answer to a question.

use super::*;

fn user(text: &str) -> ChatMessage {
    ChatMessage::User { text: text.into() }
}

#[test]
fn the_context_goes_as_one_text_with_the_agents_own_words_marked() {
    let request = ChatRequest {
        system: Some("You research.".into()),
        messages: vec![
            user("Find the capital of France."),
            ChatMessage::Assistant {
                text: "Paris.".into(),
                tool_calls: vec![],
            },
            ChatMessage::ToolResult {
                call_id: "c".into(),
                name: "n".into(),
                content: "x".into(),
                is_error: false,
            },
            user("[user]: And of Italy?"),
        ],
        ..ChatRequest::default()
    };
    assert_eq!(
        prompt_text(&request),
        "You research.\n\nFind the capital of France.\n\n(you said) Paris.\n\n[user]: And of Italy?"
    );
    assert_eq!(last_user_text(&request), "And of Italy?");
    assert_eq!(last_user_text(&ChatRequest::default()), "");
}

#[test]
fn message_ids_are_unique() {
    assert_ne!(message_id(), message_id());
}

#[test]
fn a_remote_agent_needs_a_url_and_takes_no_tools() {
    let cfg = crate::config::defaults::backend(crate::config::BackendKind::A2a);
    let err = A2aProvider::new("a2a:r", &cfg).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Config);
    let cfg = BackendConfig {
        base_url: Some("http://127.0.0.1:9".into()),
        ..cfg
    };
    let p = A2aProvider::new("a2a:r", &cfg).unwrap();
    assert!(!p.supports_tools());
    assert_eq!(p.backend(), "a2a:r");
}

#[test]
fn an_answer_goes_back_only_into_the_conversation_that_was_asked() {
    let asked = ChatRequest {
        messages: vec![
            user("[user]: ASK ME"),
            ChatMessage::Assistant {
                text: "Which colour?".into(),
                tool_calls: vec![],
            },
            user("[user]: blue"),
        ],
        ..ChatRequest::default()
    };
    assert_eq!(last_reply(&asked), Some("Which colour?"));
    assert_eq!(last_user_text(&asked), "blue");
    assert_eq!(last_reply(&ChatRequest::default()), None);
}

#[test]
fn an_unset_bearer_token_variable_is_named_as_the_agents_setting() {
    let cfg = BackendConfig {
        base_url: Some("http://127.0.0.1:9".into()),
        api_key_env: Some("CONCLAVE_TEST_SURELY_UNSET_TOKEN".into()),
        ..crate::config::defaults::backend(crate::config::BackendKind::A2a)
    };
    let err = A2aProvider::new("a2a:remote", &cfg).err().unwrap();
    let text = err.to_string();
    assert!(
        text.contains("CONCLAVE_TEST_SURELY_UNSET_TOKEN (bearer_token_env)"),
        "{text}"
    );
    assert!(text.contains("[agents.remote]"), "{text}");
}
