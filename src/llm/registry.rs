//! From a `[backends.NAME]` table to a running provider, and the reachability check behind
//! `conclave check`.
//!
//! [`build_provider`] picks the wire protocol from `kind`. [`check_backend`] builds the provider
//! and lists its models; its [`BackendReport`] prints as one readable block, `ok …` with the
//! models or `FAIL …` with the classified error and what to do. [`probe_tool_form`] asks the
//! backend once for a forced tool call and says which form structured answers will take there:
//! tool calls, or the text markers of a server that refuses or ignores forcing.

use std::fmt;
use std::sync::Arc;

use crate::config::{BackendConfig, BackendKind};
use crate::llm::anthropic::AnthropicProvider;
use crate::llm::ollama::OllamaProvider;
use crate::llm::openai::OpenAiProvider;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::llm::forced::refuses_forced_tools;
use crate::llm::{
    ChatMessage, ChatRequest, LlmError, LlmEvent, Provider, ToolChoice, ToolSpec, anthropic,
    ollama, openai,
};

/// How many model names a report prints before `…`.
pub const REPORT_MODELS: usize = 12;

/// Build the provider for `[backends.name]`.
pub fn build_provider(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Provider>, LlmError> {
    Ok(match cfg.kind {
        BackendKind::Openai => Arc::new(OpenAiProvider::new(name, cfg)?),
        BackendKind::Anthropic => Arc::new(AnthropicProvider::new(name, cfg)?),
        BackendKind::Ollama => Arc::new(OllamaProvider::new(name, cfg)?),
        BackendKind::Scripted => return crate::llm::scripted::build(name, cfg),
        BackendKind::Replay => {
            return crate::llm::replay::build(name, cfg, &crate::config::paths::sessions_dir());
        }
        BackendKind::A2a => Arc::new(crate::llm::a2a::A2aProvider::new(name, cfg)?),
    })
}

/// The outcome of reaching one backend.
#[derive(Clone, Debug)]
pub struct BackendReport {
    pub name: String,
    pub kind: BackendKind,
    pub base_url: String,
    pub result: Result<Vec<String>, LlmError>,
    /// How forced tool calls fare on the backend, when probed ([`probe_tool_form`]).
    pub tool_form: Option<ToolForm>,
}

/// The form structured answers (votes, picks, scores) take on a backend.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolForm {
    /// The backend answers a forced call with the tool call.
    Tools,
    /// The backend refuses or ignores forced calls (why): text markers (`VOTE: …`) are used.
    Markers(String),
    /// The probe could not tell (why); the session finds out on its first forced call.
    Unknown(String),
}

/// The name of the tool the probe forces.
pub const PROBE_TOOL: &str = "report_status";

/// Ask `[backends.name]` once, with `model`, for a forced tool call, and say which form it will
/// get: the tool call, or text markers after a refusal or a text answer.
pub async fn probe_tool_form(name: &str, cfg: &BackendConfig, model: &str) -> ToolForm {
    if cfg.tools == Some(false) {
        return ToolForm::Markers("tools = false in the config".into());
    }
    let provider = match build_provider(name, cfg) {
        Ok(p) => p,
        Err(e) => return ToolForm::Unknown(e.to_string()),
    };
    let request = ChatRequest {
        model: model.to_string(),
        system: Some("You are being checked by conclave: call the tool you are given.".into()),
        messages: vec![ChatMessage::User {
            text: "Report your status with the tool.".into(),
        }],
        tools: vec![ToolSpec {
            name: PROBE_TOOL.into(),
            description: "Report that you are working.".into(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"ok": {"type": "boolean"}},
                "required": ["ok"]
            }),
        }],
        tool_choice: ToolChoice::Tool(PROBE_TOOL.into()),
        max_tokens: Some(64),
        ..ChatRequest::default()
    };
    let mut stream = provider.stream(request, CancellationToken::new());
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(LlmEvent::ToolCall(_)) => return ToolForm::Tools,
            Ok(LlmEvent::TextDelta(t)) => text.push_str(&t),
            Ok(_) => {}
            Err(e) if refuses_forced_tools(&e) => {
                return ToolForm::Markers(format!("it refused a forced call: {}", e.message));
            }
            Err(e) => return ToolForm::Unknown(e.to_string()),
        }
    }
    if text.trim().is_empty() {
        ToolForm::Unknown("it answered a forced call with nothing".into())
    } else {
        ToolForm::Markers("it answered a forced call in text".into())
    }
}

/// Build `[backends.name]` and list its models.
pub async fn check_backend(name: &str, cfg: &BackendConfig) -> BackendReport {
    let result = match build_provider(name, cfg) {
        Ok(provider) => provider.list_models().await,
        Err(e) => Err(e),
    };
    BackendReport {
        name: name.to_string(),
        kind: cfg.kind,
        base_url: base_url_of(cfg),
        result,
        tool_form: None,
    }
}

/// The URL a backend talks to, defaults applied (empty for scripted backends).
pub fn base_url_of(cfg: &BackendConfig) -> String {
    if let Some(url) = &cfg.base_url {
        return url.trim_end_matches('/').to_string();
    }
    match cfg.kind {
        BackendKind::Openai => openai::DEFAULT_BASE_URL.to_string(),
        BackendKind::Anthropic => anthropic::DEFAULT_BASE_URL.to_string(),
        BackendKind::Ollama => {
            ollama::default_base_url(std::env::var(ollama::ENV_OLLAMA_HOST).ok().as_deref())
        }
        BackendKind::Scripted | BackendKind::Replay | BackendKind::A2a => String::new(),
    }
}

impl fmt::Display for BackendReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.base_url.is_empty() {
            self.kind.as_str().to_string()
        } else {
            let shown = crate::text::redact::redact_url(&self.base_url);
            format!("{}, {shown}", self.kind.as_str())
        };
        match &self.result {
            // A remote agent's "models" are its card: the agent's name, then its skills.
            Ok(card) if self.kind == BackendKind::A2a => {
                let (name, skills) = card
                    .split_first()
                    .map_or(("", &[][..]), |(n, s)| (n.as_str(), s));
                write!(f, "ok   {} ({place}): agent \"{name}\"", self.name)?;
                match skills.len() {
                    0 => write!(f, ", no skills"),
                    _ => write!(f, ", skills: {}", skills.join(", ")),
                }
            }
            Ok(models) => {
                write!(f, "ok   {} ({place}): ", self.name)?;
                match models.len() {
                    0 => write!(f, "no models"),
                    n => {
                        let shown: Vec<&str> = models
                            .iter()
                            .take(REPORT_MODELS)
                            .map(String::as_str)
                            .collect();
                        let more = if n > REPORT_MODELS { ", …" } else { "" };
                        let noun = if n == 1 { "model" } else { "models" };
                        write!(f, "{n} {noun}: {}{more}", shown.join(", "))
                    }
                }
            }
            Err(e) => write!(f, "FAIL {} ({place}): [{}] {e}", self.name, e.kind),
        }?;
        match &self.tool_form {
            None => Ok(()),
            Some(ToolForm::Tools) => write!(
                f,
                "\n     forced tool calls: yes (answers come as tool calls)"
            ),
            Some(ToolForm::Markers(why)) => write!(
                f,
                "\n     forced tool calls: no, {why}; structured answers will use text markers (VOTE: …)"
            ),
            Some(ToolForm::Unknown(why)) => write!(
                f,
                "\n     forced tool calls: not known ({why}); the first forced call will tell"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ErrorKind;

    fn cfg(text: &str) -> BackendConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn builds_each_kind() {
        for kind in ["openai", "anthropic", "ollama"] {
            let p = build_provider("b", &cfg(&format!("kind = \"{kind}\""))).unwrap();
            assert_eq!(p.backend(), "b");
        }
        let no_tools = build_provider("b", &cfg("kind = \"openai\"\ntools = false")).unwrap();
        assert!(!no_tools.supports_tools());
        let scripted =
            build_provider("s", &cfg("kind = \"scripted\"\ntokens_per_sec = 0")).unwrap();
        assert_eq!(scripted.backend(), "s");
    }

    #[test]
    fn report_display() {
        let models: Vec<String> = (0..14).map(|i| format!("m{i}")).collect();
        let ok = BackendReport {
            name: "oa".into(),
            kind: BackendKind::Openai,
            base_url: "https://api.openai.com/v1".into(),
            result: Ok(models),
            tool_form: None,
        };
        assert_eq!(
            ok.to_string(),
            "ok   oa (openai, https://api.openai.com/v1): 14 models: m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, …"
        );
        let fail = BackendReport {
            name: "an".into(),
            kind: BackendKind::Anthropic,
            base_url: "https://api.anthropic.com".into(),
            result: Err(
                LlmError::new(ErrorKind::Auth, "an", "authentication failed (HTTP 401)")
                    .with_hint("set ANTHROPIC_API_KEY"),
            ),
            tool_form: None,
        };
        assert_eq!(
            fail.to_string(),
            "FAIL an (anthropic, https://api.anthropic.com): [auth] backend 'an': authentication failed (HTTP 401) — set ANTHROPIC_API_KEY"
        );
    }
}
