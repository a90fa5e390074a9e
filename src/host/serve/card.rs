//! The agent card `conclave serve` publishes at the well-known path: the team as one A2A agent.
//!
//! The card names the team, describes it (its `description`, else its pattern and members),
//! offers one skill for the team's pattern and one per member, and lists one JSON-RPC interface
//! per protocol version it speaks (1.0, and 0.3 through the same endpoint). It also carries the
//! 0.3 card's own fields (`url`, `protocolVersion`, `preferredTransport`) so 0.3 clients find the
//! endpoint too. Pure: config in, JSON out.

use serde_json::{Value, json};

use crate::config::schema::{Config, TeamConfig};

/// The card for `team_name` served at `url` (the JSON-RPC endpoint, with a trailing `/`).
pub fn card(config: &Config, team_name: &str, team: &TeamConfig, url: &str) -> Value {
    let pattern = team.pattern.as_str();
    let members: Vec<&str> = team.members.iter().map(String::as_str).collect();
    let description = team
        .description
        .clone()
        .unwrap_or_else(|| format!("A conclave {pattern} team: {}", members.join(", ")));
    let mut skills = vec![json!({
        "id": pattern,
        "name": pattern,
        "description": format!("The whole team working as {pattern}"),
        "tags": ["conclave", pattern],
    })];
    for member in &members {
        let about = config
            .agents
            .get(*member)
            .and_then(|a| a.description.clone())
            .unwrap_or_else(|| format!("Team member {member}"));
        skills.push(json!({
            "id": member, "name": member, "description": about, "tags": ["member"],
        }));
    }
    json!({
        "name": team_name,
        "description": description,
        "version": env!("CARGO_PKG_VERSION"),
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}
        ],
        "url": url,
        "protocolVersion": "0.3.0",
        "preferredTransport": "JSONRPC",
        "capabilities": {"streaming": true, "pushNotifications": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": skills,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::a2a::wire::{Version, parse_card};

    #[test]
    fn the_card_describes_the_team_and_reads_back_as_1_0() {
        let loaded = crate::config::load::parse_str(
            "[backends.b]\nkind = \"scripted\"\n[agents.a]\nbackend = \"b\"\nmodel = \"m\"\n\
             description = \"Says a\"\n[agents.c]\nbackend = \"b\"\nmodel = \"m\"\n\
             [teams.t]\npattern = \"group_chat\"\nmembers = [\"a\", \"c\"]\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let team = &loaded.config.teams["t"];
        let card = card(&loaded.config, "t", team, "http://127.0.0.1:1/");
        assert_eq!(card["description"], "A conclave group_chat team: a, c");
        assert_eq!(card["skills"][1]["description"], "Says a");
        assert_eq!(card["skills"][2]["description"], "Team member c");
        let read = parse_card("http://127.0.0.1:1", &card).unwrap();
        assert_eq!(read.version, Version::V1);
        assert_eq!(read.skills, ["group_chat", "a", "c"]);
        assert!(read.streaming);
    }
}
