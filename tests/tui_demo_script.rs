//! The demo debate the console plays on the built-in script: the same offline provider, asked the
//! way the group chat asks it, tells the same story in every conversation — round 1's speeches
//! and a vote that misses consensus, round 2's speeches and a vote that reaches it — however many
//! conversations it served before (a second `/new`) and wherever a conversation starts (a resumed
//! one carries its earlier speeches as the agent's own messages).
#![allow(clippy::unwrap_used)]

use conclave::llm::scripted::ScriptedProvider;
use conclave::llm::{ChatMessage, ChatRequest, ToolChoice};

const DEBATERS: [&str; 3] = ["optimist", "skeptic", "pragmatist"];

/// A request from `agent` that already said `own` (its earlier speeches, as the context gives
/// them back), optionally forced to vote.
fn request(agent: &str, own: &[String], vote: bool) -> ChatRequest {
    let mut messages = vec![ChatMessage::User {
        text: "user: Should we rewrite billing in Rust?".into(),
    }];
    for said in own {
        messages.push(ChatMessage::Assistant {
            text: said.clone(),
            tool_calls: Vec::new(),
        });
        messages.push(ChatMessage::User {
            text: "skeptic: and what about the risks?".into(),
        });
    }
    ChatRequest {
        model: agent.into(),
        messages,
        tool_choice: if vote {
            ToolChoice::Tool("cast_vote".into())
        } else {
            ToolChoice::Auto
        },
        ..Default::default()
    }
}

fn choice(p: &ScriptedProvider, agent: &str, own: &[String]) -> String {
    let planned = p.plan(&request(agent, own, true));
    let args = planned.tool_calls[0].parse_arguments().unwrap();
    args["choice"].as_str().unwrap().to_string()
}

/// One debate of two rounds; returns (speeches per agent, agreeing votes per round).
fn debate(p: &ScriptedProvider) -> (Vec<Vec<String>>, [usize; 2]) {
    let mut said: Vec<Vec<String>> = vec![Vec::new(); DEBATERS.len()];
    let mut agree = [0; 2];
    for votes in &mut agree {
        for (i, agent) in DEBATERS.iter().enumerate() {
            let text = p.plan(&request(agent, &said[i], false)).text;
            said[i].push(text);
        }
        for (i, agent) in DEBATERS.iter().enumerate() {
            if choice(p, agent, &said[i]) == "agree" {
                *votes += 1;
            }
        }
    }
    (said, agree)
}

#[test]
fn every_conversation_replays_the_debate_from_its_own_round() {
    let p = ScriptedProvider::demo("demo", 0.0);
    let (first, votes) = debate(&p);
    assert!(first[0][0].contains("Ambitious?"), "{first:?}");
    assert!(first[0][1].starts_with("Fair hits"), "{first:?}");
    assert!(first[1][0].starts_with("Hold on."), "{first:?}");
    assert!(
        first[2][0].starts_with("Before anyone picks a side"),
        "{first:?}"
    );
    // Threshold 0.67 of three: one agree misses it, three reach it.
    assert_eq!(votes, [1, 3]);

    // A second conversation on the same provider starts over.
    let (second, votes) = debate(&p);
    assert_eq!(second, first);
    assert_eq!(votes, [1, 3]);

    // A conversation that comes back with round 1 behind it goes on with round 2.
    let resumed: Vec<String> = vec![first[0][0].clone()];
    let next = p.plan(&request("optimist", &resumed, false)).text;
    assert!(next.starts_with("Fair hits"), "{next}");
    assert_eq!(
        choice(&p, "skeptic", &[first[1][0].clone(), first[1][1].clone()]),
        "agree"
    );
}
