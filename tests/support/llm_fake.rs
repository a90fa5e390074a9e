//! Whole sessions against the fake server: which path and reply shape each wire format uses
//! ([`Wire`]), and replies chosen by what a request asks for ([`ByRequest`]).
//!
//! A session runs turns in parallel (votes, fan-outs, best-of candidates), so the order in which
//! requests reach the server is not the test's. [`ByRequest`] keys replies by the request's
//! `model` and the tool it forces (`tool_choice`), each key with its own first-in-first-out
//! queue: give every agent its own model name and the replies reach the right agent whatever the
//! arrival order.
//! ```ignore
//! let replies = ByRequest::install(&server, &[Wire::OpenAi]);
//! replies.add("skeptic", None, Wire::OpenAi.reply(&Turn::text(["No."])));
//! replies.add("skeptic", Some("cast_vote"), Wire::OpenAi.reply(&vote));
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use conclave::config::BackendConfig;
use serde_json::Value;

pub use super::server::Busy;
use super::server::{FakeServer, Gate, Recorded, Reply};
use super::wire::{self, Turn};

/// One wire protocol as the fake server speaks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    OpenAi,
    Anthropic,
    Ollama,
}

impl Wire {
    /// The streaming chat path.
    pub fn path(self) -> &'static str {
        match self {
            Wire::OpenAi => "/v1/chat/completions",
            Wire::Anthropic => "/v1/messages",
            Wire::Ollama => "/api/chat",
        }
    }

    /// The backend `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Ollama => "ollama",
        }
    }

    /// A `[backends.x]` table pointing at `server`, plus extra TOML lines.
    pub fn backend(self, server: &FakeServer, extra: &str) -> BackendConfig {
        let base = match self {
            Wire::OpenAi => format!("{}/v1", server.url()),
            Wire::Anthropic | Wire::Ollama => server.url(),
        };
        super::backend_config(self.kind(), &base, extra)
    }

    /// `turn` streamed as this wire's server streams it (HTTP 200).
    pub fn reply(self, turn: &Turn) -> Reply {
        match self {
            Wire::OpenAi => Reply::sse(wire::openai_events(turn)),
            Wire::Anthropic => Reply::sse(wire::anthropic_events(turn)),
            Wire::Ollama => Reply::ndjson(wire::ollama_lines(turn)),
        }
    }

    /// The requests `server` received on this wire's path, in arrival order.
    pub fn requests(self, server: &FakeServer) -> Vec<Recorded> {
        server
            .requests()
            .into_iter()
            .filter(|r| r.path.split('?').next() == Some(self.path()))
            .collect()
    }
}

/// What a request is asking for: its model and the tool it forces, if any.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub model: String,
    pub forced: Option<String>,
}

impl Key {
    pub fn of(request: &Recorded) -> Key {
        let body = request.json();
        Key {
            model: body["model"].as_str().unwrap_or_default().to_string(),
            forced: forced_tool(&body),
        }
    }
}

/// Replies queued per [`Key`], answering every path they are installed on.
#[derive(Clone, Default)]
pub struct ByRequest {
    queues: Arc<Mutex<HashMap<Key, VecDeque<Reply>>>>,
    seen: Arc<Mutex<Seen>>,
}

/// Models that have asked, and gates to open once all of theirs have.
#[derive(Default)]
struct Seen {
    models: HashSet<String>,
    gates: Vec<(Gate, Vec<String>)>,
}

impl ByRequest {
    /// Answer the chat paths of `wires` from these queues. A request whose queue is empty falls
    /// through to the server's own queue of its path (and then to its 404).
    pub fn install(server: &FakeServer, wires: &[Wire]) -> ByRequest {
        let replies = ByRequest::default();
        for wire in wires {
            let this = replies.clone();
            server.respond(wire.path(), move |request| this.next_for(request));
        }
        replies
    }

    /// The reply queued for `request` (noting its model for [`ByRequest::open_when`]).
    pub fn next_for(&self, request: &Recorded) -> Option<Reply> {
        let key = Key::of(request);
        let mut seen = self.seen.lock().unwrap();
        seen.models.insert(key.model.clone());
        for (gate, wanted) in &seen.gates {
            if wanted.iter().all(|m| seen.models.contains(m)) {
                gate.open();
            }
        }
        self.queues
            .lock()
            .unwrap()
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
    }

    /// Queue `reply` for the next request to `model` forcing `forced` (`None`: forcing no tool).
    pub fn add(&self, model: &str, forced: Option<&str>, reply: Reply) -> &Self {
        let key = Key {
            model: model.to_string(),
            forced: forced.map(str::to_string),
        };
        self.queues
            .lock()
            .unwrap()
            .entry(key)
            .or_default()
            .push_back(reply);
        self
    }

    /// Open `gate` once a request for each of `models` has arrived (on any installed path).
    pub fn open_when(&self, gate: &Gate, models: &[&str]) {
        let wanted = models.iter().map(|m| m.to_string()).collect();
        self.seen.lock().unwrap().gates.push((gate.clone(), wanted));
    }

    /// The replies not asked for yet.
    pub fn unused(&self) -> Vec<Key> {
        let queues = self.queues.lock().unwrap();
        let mut keys: Vec<Key> = queues
            .iter()
            .flat_map(|(k, q)| std::iter::repeat_n(k.clone(), q.len()))
            .collect();
        keys.sort_by(|a, b| (&a.model, &a.forced).cmp(&(&b.model, &b.forced)));
        keys
    }
}

/// The tool a request body forces: OpenAI `{"type":"function","function":{"name":…}}`,
/// Anthropic `{"type":"tool","name":…}`. Ollama cannot force one (it sends only that tool), so
/// its requests never force.
pub fn forced_tool(body: &Value) -> Option<String> {
    let choice = body.get("tool_choice")?;
    let name = match choice["type"].as_str() {
        Some("function") => &choice["function"]["name"],
        Some("tool") => &choice["name"],
        _ => return None,
    };
    name.as_str().map(str::to_string)
}

/// The names of the tools a request body offers (any of the three wire formats).
pub fn offered_tools(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().or(t["name"].as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The OpenAI request bodies `server` received for `model`, in arrival order.
pub fn requests_of(server: &FakeServer, model: &str) -> Vec<Value> {
    Wire::OpenAi
        .requests(server)
        .iter()
        .map(|r| r.json())
        .filter(|b| b["model"] == model)
        .collect()
}

/// The `(role, content)` of each message of an OpenAI request body.
pub fn roles_and_texts(body: &Value) -> Vec<(String, String)> {
    role_pairs(&body["messages"], "content")
}

/// `(role, field)` of each object of the array `list` (request messages, `context_edited`'s
/// `messages` with `"text"`).
pub fn role_pairs(list: &Value, field: &str) -> Vec<(String, String)> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|m| {
                    (
                        m["role"].as_str().unwrap_or_default().to_string(),
                        m[field].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The support handoff of the context-edit tests: `triage-model` says "Passing you on." and
/// transfers to billing (reason "double charge"); `billing-model` answers "Refund sent.".
pub fn edit_replies(server: &FakeServer) {
    let replies = ByRequest::install(server, &[Wire::OpenAi]);
    let triage = Turn::text(["Passing you on."]).tool(
        "call_t1",
        "transfer_to_billing",
        r#"{"reason":"double charge"}"#,
    );
    replies.add("triage-model", None, Wire::OpenAi.reply(&triage));
    replies.add(
        "billing-model",
        None,
        Wire::OpenAi.reply(&Turn::text(["Refund sent."])),
    );
}
