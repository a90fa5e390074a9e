//! The configuration schema (DESIGN section 5): backends, agents, teams, key bindings, UI.
//!
//! Plain serde types with `deny_unknown_fields`. A team is one flat table holding the options of
//! every pattern; validation (`validate.rs`) reports options that the team's pattern does not use.
//! Nothing here does IO.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::PatternKind;

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentConfig>,
    #[serde(default)]
    pub teams: BTreeMap<String, TeamConfig>,
    /// Key bindings: `[keys.<context>] <action> = "ctrl+r"` or a list of keys; partial overrides
    /// of the defaults. Contexts and action names are the console's (see `tui::keymap`).
    #[serde(default)]
    pub keys: BTreeMap<String, BTreeMap<String, KeyBinding>>,
    #[serde(default)]
    pub ui: UiConfig,
    /// `[telemetry]`: OpenTelemetry traces of every session (DESIGN section 5).
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// `[mcp.NAME]`: MCP tool servers agents may use (see [`McpConfig`]).
    #[serde(default)]
    pub mcp: BTreeMap<String, McpConfig>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Only for struct literals in code (`..Default::default()`); `kind` is required in a config.
    #[default]
    Openai,
    Anthropic,
    Ollama,
    Scripted,
    /// Answers from a recorded session (`journal`): offline and deterministic.
    Replay,
    /// A remote agent over A2A (derived from an agent's `a2a = "URL"`; see [`Config::derive_a2a_backends`]).
    A2a,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Openai => "openai",
            BackendKind::Anthropic => "anthropic",
            BackendKind::Ollama => "ollama",
            BackendKind::Scripted => "scripted",
            BackendKind::Replay => "replay",
            BackendKind::A2a => "a2a",
        }
    }
}

/// `[backends.NAME]`: one server speaking one wire protocol. Its `Debug` output hides an inline
/// `api_key`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// Defaults: openai `https://api.openai.com/v1`, anthropic `https://api.anthropic.com`,
    /// ollama `http://127.0.0.1:11434` (or `OLLAMA_HOST`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A shell command whose standard output (trimmed) is the API key, e.g. `pass show openai`.
    #[serde(default)]
    pub api_key_cmd: Option<String>,
    /// An inline key: accepted, but validation warns and points to `api_key_env`.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Extra HTTP headers sent with every request (e.g. OpenRouter's `HTTP-Referer`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// TCP/TLS connect timeout (default 10 000).
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Longest wait for a model's first token: the answer's headers and everything the server
    /// sends before the first text or tool call, which covers loading a local model and reading a
    /// long prompt (default: `idle_timeout_ms` when that is set, else 300 000).
    #[serde(default)]
    pub first_token_timeout_ms: Option<u64>,
    /// Longest silence allowed between two stream events once the first token has arrived
    /// (default 60 000). Set alone, it also bounds the wait for the first token, as it always did.
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    /// Retries before the first token (default 3).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Whether the models take tool definitions (default true). When false, the text markers
    /// (`HANDOFF: agent: reason`, …) are used instead.
    #[serde(default)]
    pub tools: Option<bool>,
    /// ollama only: the context window (`options.num_ctx`).
    #[serde(default)]
    pub num_ctx: Option<u32>,
    /// scripted only: the script file; the built-in demo script when absent.
    #[serde(default)]
    pub script: Option<PathBuf>,
    /// scripted only: streaming speed (default 40 tokens per second; 0 = instant).
    #[serde(default)]
    pub tokens_per_sec: Option<f64>,
    /// replay only: the recorded session to answer from (an id, a unique prefix, or the path of
    /// a `.jsonl` journal). Each agent on the backend gives the replies of the recorded agent its
    /// `model` names.
    #[serde(default)]
    pub journal: Option<String>,
    /// Most requests in flight at once to this backend (every session of the process); the
    /// others wait in its queue. Unset: no limit. Set 1 for a server that answers one request at
    /// a time (llama-cpp-python, a single-slot llama-server).
    #[serde(default)]
    pub max_concurrent: Option<u32>,
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field("api_key_cmd", &self.api_key_cmd)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("headers", &self.headers)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("first_token_timeout_ms", &self.first_token_timeout_ms)
            .field("idle_timeout_ms", &self.idle_timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("tools", &self.tools)
            .field("num_ctx", &self.num_ctx)
            .field("script", &self.script)
            .field("tokens_per_sec", &self.tokens_per_sec)
            .field("journal", &self.journal)
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

/// Price per million tokens, in the currency of your choice (shown as `$`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

/// `[agents.NAME]`: a model with a role. The name must match `[a-zA-Z0-9_-]{1,64}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Required unless the agent is remote (`a2a`), whose backend is derived; left out, it
    /// reads as [`ABSENT`] (validation reports it).
    #[serde(default = "absent")]
    pub backend: String,
    #[serde(default = "absent")]
    pub model: String,
    #[serde(default)]
    pub system: Option<String>,
    /// One line about the agent, shown to managers and in handoff tool descriptions.
    #[serde(default)]
    pub description: Option<String>,
    /// A colour name (`green`, `light_blue`, …) or `#rrggbb`.
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Per-turn deadline owned by the orchestrator.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub price: Option<Price>,
    /// The model's context window in tokens, when the server does not say (llama.cpp `/props`
    /// and Ollama `/api/show` are asked otherwise); a request that would not fit is trimmed.
    #[serde(default)]
    pub context_window: Option<u32>,
    /// Models to go on with, in order, when the backend fails after its retries (unreachable,
    /// quota, overloaded, 5xx).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<FallbackModel>,
    /// This agent's spending limit over the session; checked before each of its calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// A remote agent over A2A: the base URL of its server (the agent card is fetched from
    /// `/.well-known/agent-card.json` below it). Replaces `backend` and `model`.
    #[serde(default)]
    pub a2a: Option<String>,
    /// A remote agent's bearer token: the name of the environment variable holding it.
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    /// MCP tools the agent may call: a whole server (`"fs"`) or one of its tools (`"fs.read_file"`).
    #[serde(default)]
    pub tools: Vec<String>,
    /// How the agent's tool calls are approved; unset: read-only tools run, the others wait.
    #[serde(default)]
    pub tool_approval: Option<Approval>,
    /// Model → tools → model rounds in one turn before the model must answer in text.
    #[serde(default)]
    pub max_tool_rounds: Option<u32>,
}

/// One entry of an agent's `fallback` list: `{ backend = "openai", model = "gpt-4o-mini" }`,
/// optionally with its own `price` (else the agent's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackModel {
    pub backend: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
}

/// The one built-in tool server (`builtin = "files"`).
pub const BUILTIN_FILES: &str = "files";

/// `[mcp.NAME]`: one MCP server, a child process over stdio (`command`) or streamable HTTP (`url`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment of the child process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub url: Option<String>,
    /// The variable holding the bearer token sent to `url` (never the token itself).
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Per-call deadline (default 30000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// A server built into conclave instead: `"files"` (read-only file tools over `cwd`).
    #[serde(default)]
    pub builtin: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerSelection {
    #[default]
    RoundRobin,
    Manager,
    Human,
    Random,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    Auto,
    Confirm,
    Window,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    All,
    FirstSuccess,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextMode {
    #[default]
    Full,
    LastN,
    Summary,
    None,
}

/// A spending limit (a team's, every pattern; an agent's); either or both. Counted over the
/// session, estimated usage included; checked before each call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default)]
    pub tokens: Option<u64>,
    #[serde(default)]
    pub cost: Option<f64>,
}

/// Consensus by vote: reached when the agreeing share of the votes cast reaches `threshold`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consensus {
    /// In (0, 1]; e.g. 0.67.
    pub threshold: f64,
    /// Vote at the end of every round (default true); otherwise only on `call_vote`.
    #[serde(default = "default_true")]
    pub every_round: bool,
}

fn default_true() -> bool {
    true
}

/// One step of a sequential (SOP) pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub agent: String,
    /// What this step must produce, added to the agent's instructions for this step.
    #[serde(default)]
    pub instructions: Option<String>,
}

/// `[teams.NAME]`: a pattern and its options. Options a pattern does not use are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub pattern: PatternKind,
    #[serde(default)]
    pub description: Option<String>,
    /// The agents of the team (for `single`, exactly one).
    #[serde(default)]
    pub members: Vec<String>,

    // --- context passing (every pattern but single) ---
    #[serde(default)]
    pub context: Option<ContextMode>,
    /// With `context = "last_n"`: how many messages (default 6).
    #[serde(default)]
    pub last_n: Option<usize>,
    /// Per-edge overrides: `"pm->architect" = "summary"`.
    #[serde(default)]
    pub edges: BTreeMap<String, ContextMode>,
    /// Redact e-mail addresses, phone and card numbers, secrets and API keys before context
    /// crosses from one agent to another (default false).
    #[serde(default)]
    pub sanitize: Option<bool>,

    // --- sequential ---
    #[serde(default)]
    pub steps: Vec<Step>,

    // --- concurrent ---
    #[serde(default)]
    pub strategy: Option<Strategy>,
    /// Synthesizes the answers; without one they are joined.
    #[serde(default)]
    pub aggregator: Option<String>,
    /// concurrent / best_of: per-agent deadline in ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,

    // --- handoff ---
    #[serde(default)]
    pub entry: Option<String>,
    /// Allowed targets per agent.
    #[serde(default)]
    pub handoffs: BTreeMap<String, Vec<String>>,
    /// Where to go when a target fails or rejects.
    #[serde(default)]
    pub fallback: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub approval: Option<Approval>,
    #[serde(default)]
    pub approval_window_ms: Option<u64>,
    /// Longest chain of nested handoffs (default 8).
    #[serde(default)]
    pub max_depth: Option<u32>,

    // --- group_chat ---
    #[serde(default)]
    pub speaker_selection: Option<SpeakerSelection>,
    /// With `speaker_selection = "manager"`: the agent that picks (may be outside `members`).
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub max_rounds: Option<u32>,
    #[serde(default)]
    pub max_messages: Option<u32>,
    /// End when a message contains this keyword (e.g. `TERMINATE`).
    #[serde(default)]
    pub keyword: Option<String>,
    #[serde(default)]
    pub budget: Option<Budget>,
    /// Wall-clock limit for the whole session, in seconds.
    #[serde(default)]
    pub time_limit_s: Option<u64>,
    #[serde(default)]
    pub consensus: Option<Consensus>,

    // --- best_of ---
    /// The agent that scores the candidates (may be outside `members`).
    #[serde(default)]
    pub judge: Option<String>,
    /// What the judge scores against.
    #[serde(default)]
    pub rubric: Option<String>,

    // --- plan (issue 11; `approval` / `approval_window_ms` above apply to the plan review) ---
    /// The agent that writes the plan and the final answer (may be outside `members`).
    #[serde(default)]
    pub planner: Option<String>,
    /// At most this many tasks run at once (default 3).
    #[serde(default)]
    pub max_parallel: Option<u32>,
    /// What happens when a task still fails after its retry (default `replan`).
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
    /// How many times the planner may replan one task (default 2).
    #[serde(default)]
    pub max_replans: Option<u32>,
}

/// A plan team's answer to a task that failed after its retry (`on_failure`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The planner gets the plan, the outputs so far and the failure, and submits a new version
    /// of the unfinished part (up to `max_replans` times).
    #[default]
    Replan,
    /// A saga: the compensation instructions of the completed tasks run, newest first; the plan
    /// ends `failed`.
    Compensate,
    /// The failed task's dependents are skipped; the plan ends `failed`.
    Stop,
}

impl Config {
    /// Fill in the members each team leaves implicit (see [`TeamConfig::derive_members`]).
    pub fn derive_members(&mut self) {
        self.teams.values_mut().for_each(TeamConfig::derive_members);
    }

    /// Give every remote agent (`a2a = "URL"`) that names no backend its own backend
    /// `a2a:<agent>` of kind `a2a` (the URL as `base_url`, `bearer_token_env` as `api_key_env`) and
    /// the model `a2a`, so the rest of the program (providers, `check`, journals) treats it as any
    /// other member. An agent that sets both `a2a` and `backend` is left alone: validation says so.
    pub fn derive_a2a_backends(&mut self) {
        for (name, agent) in &mut self.agents {
            let Some(url) = &agent.a2a else { continue };
            if agent.backend != ABSENT {
                continue;
            }
            let backend = format!("{A2A_BACKEND_PREFIX}{name}");
            agent.backend = backend.clone();
            if agent.model == ABSENT {
                agent.model = "a2a".to_string();
            }
            self.backends.insert(
                backend,
                BackendConfig {
                    base_url: Some(url.clone()),
                    api_key_env: agent.bearer_token_env.clone(),
                    ..crate::config::defaults::backend(BackendKind::A2a)
                },
            );
        }
    }
}

/// What an agent's `backend` or `model` reads as when the file leaves it out: only a remote
/// agent may (its own are derived); validation reports it for any other.
pub const ABSENT: &str = "\u{0}absent";

fn absent() -> String {
    ABSENT.to_string()
}

/// The name prefix of the backends derived from remote agents (`a2a:<agent>`).
pub const A2A_BACKEND_PREFIX: &str = "a2a:";

impl TeamConfig {
    /// A handoff team may leave out `members` (DESIGN section 5's own `support` example does): its
    /// members are then its entry followed by every agent its `handoffs` and `fallback` routes
    /// name, in order of first appearance. Other patterns, and handoff teams that list members,
    /// are left as written.
    pub fn derive_members(&mut self) {
        if self.pattern != PatternKind::Handoff || !self.members.is_empty() {
            return;
        }
        let mut members: Vec<String> = Vec::new();
        let routes = self.handoffs.iter().chain(self.fallback.iter());
        let named = self
            .entry
            .iter()
            .chain(routes.flat_map(|(from, tos)| std::iter::once(from).chain(tos)));
        for agent in named {
            if !members.contains(agent) {
                members.push(agent.clone());
            }
        }
        self.members = members;
    }

    /// A team of this pattern with no options set.
    pub fn new(pattern: PatternKind) -> Self {
        TeamConfig {
            pattern,
            description: None,
            members: Vec::new(),
            context: None,
            last_n: None,
            edges: BTreeMap::new(),
            sanitize: None,
            steps: Vec::new(),
            strategy: None,
            aggregator: None,
            timeout_ms: None,
            entry: None,
            handoffs: BTreeMap::new(),
            fallback: BTreeMap::new(),
            approval: None,
            approval_window_ms: None,
            max_depth: None,
            speaker_selection: None,
            manager: None,
            max_rounds: None,
            max_messages: None,
            keyword: None,
            budget: None,
            time_limit_s: None,
            consensus: None,
            judge: None,
            rubric: None,
            planner: None,
            max_parallel: None,
            on_failure: None,
            max_replans: None,
        }
    }
}

/// One key (`"ctrl+r"`) or several (`["ctrl+r", "f5"]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum KeyBinding {
    One(String),
    Many(Vec<String>),
}

/// Read by hand rather than `untagged`, so that a wrong value says what a key binding looks like
/// instead of "did not match any variant of untagged enum".
impl<'de> Deserialize<'de> for KeyBinding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyBindingVisitor)
    }
}

struct KeyBindingVisitor;

impl<'de> serde::de::Visitor<'de> for KeyBindingVisitor {
    type Value = KeyBinding;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(KEY_BINDING_SHAPE)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyBinding, E> {
        Ok(KeyBinding::One(v.to_string()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<KeyBinding, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = seq.next_element::<KeyName>()? {
            keys.push(key.0);
        }
        Ok(KeyBinding::Many(keys))
    }
}

/// What a key binding looks like, for error messages.
pub const KEY_BINDING_SHAPE: &str =
    "a key binding: a key such as \"ctrl+r\" or a list of keys such as [\"ctrl+r\", \"f5\"]";

/// One key of a list, with the same message when it is not a string.
struct KeyName(String);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(KeyBindingVisitor)? {
            KeyBinding::One(k) => Ok(KeyName(k)),
            KeyBinding::Many(_) => Err(serde::de::Error::custom(format!(
                "a list inside a list, expected {KEY_BINDING_SHAPE}"
            ))),
        }
    }
}

impl KeyBinding {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeyBinding::One(k) => vec![k.as_str()],
            KeyBinding::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// The themes built into the console (`tui::theme` embeds them; a test keeps the two lists equal).
pub const BUILTIN_THEMES: [&str; 3] = ["dark", "light", "high-contrast"];

/// `[ui]`: the console's look and defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// A built-in theme (`dark`, `light`, `high-contrast`) or a file stem in the config dir's `themes/`.
    #[serde(default)]
    pub theme: Option<String>,
    /// The team the console opens with.
    #[serde(default)]
    pub default_team: Option<String>,
    /// Capture the mouse (wheel scrolling) at start (default true).
    #[serde(default)]
    pub mouse: Option<bool>,
}

/// `[telemetry]`: OTLP traces of every session, with the GenAI semantic conventions. Without
/// `otlp_endpoint` the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) turns
/// them on; with neither nothing is sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The collector's base URL (`http://127.0.0.1:4318`); `/v1/traces` is added to it for
    /// HTTP (gRPC: `http://127.0.0.1:4317`, used as it is).
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// The OTLP transport (default `http/protobuf`).
    #[serde(default)]
    pub protocol: Option<OtlpProtocol>,
    /// Put prompts, replies and tool arguments in the spans (default false).
    #[serde(default)]
    pub capture_content: Option<bool>,
}

/// How spans travel to the collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/gRPC over plain HTTP/2 (`http://…:4317`); not to `https://` collectors.
    #[serde(rename = "grpc")]
    Grpc,
}
