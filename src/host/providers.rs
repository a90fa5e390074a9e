//! The providers of a team: exactly the backends its agents use, built once per front end.
//!
//! Mental model: a session gets a map from backend name to [`Provider`]. Only the backends the
//! team's agents name are built (a backend the team does not use, say one whose key is not set,
//! cannot stop it), and a front end that starts many sessions shares its HTTP providers through
//! one [`ProviderCache`], so the connections are pooled instead of opened per session.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::launch::LaunchError;
use crate::config::schema::{BackendConfig, BackendKind, Config, TeamConfig};
use crate::core::patterns::referenced_agents;
use crate::llm::{LlmError, Provider};

/// Build (or take from `cache`) the providers of exactly the backends `team`'s agents use, so
/// that a backend the team does not need (say, one whose key is not set) cannot stop it.
pub fn providers_for(
    config: &Config,
    team_name: &str,
    team: &TeamConfig,
    cache: Option<&ProviderCache>,
) -> Result<BTreeMap<String, Arc<dyn Provider>>, LaunchError> {
    let mut backends = BTreeSet::new();
    for agent in referenced_agents(team) {
        let Some(a) = config.agents.get(&agent) else {
            return Err(LaunchError::UnknownAgent {
                team: team_name.to_string(),
                agent,
            });
        };
        backends.insert((agent.clone(), a.backend.clone()));
        for f in &a.fallback {
            backends.insert((agent.clone(), f.backend.clone()));
        }
    }
    let mut providers = BTreeMap::new();
    for (agent, backend) in backends {
        if providers.contains_key(&backend) {
            continue;
        }
        let Some(cfg) = config.backends.get(&backend) else {
            return Err(LaunchError::UnknownBackend { agent, backend });
        };
        let provider = match cache {
            Some(cache) => cache.get(&backend, cfg)?,
            None => crate::llm::build_provider(&backend, cfg)?,
        };
        providers.insert(backend.clone(), provider);
    }
    Ok(providers)
}

/// The HTTP providers (and so the HTTP clients and their connection pools) of one front end: the
/// console or a benchmark keeps one and every session it launches reuses a backend's provider,
/// instead of opening new connections per session. Keep one per tokio runtime: a pooled
/// connection belongs to the runtime that opened it. Scripted and replay providers are never
/// shared (they remember which replies a conversation used).
#[derive(Default)]
pub struct ProviderCache {
    built: std::sync::Mutex<BTreeMap<String, Built>>,
    /// The front end's MCP servers, with the `[mcp]` config they were built from.
    tools: std::sync::Mutex<Option<SharedHub>>,
}

type SharedHub = (
    BTreeMap<String, crate::config::McpConfig>,
    Arc<crate::tools::Hub>,
);

/// A cached provider and the config it was built from.
type Built = (BackendConfig, Arc<dyn Provider>);

impl ProviderCache {
    /// The MCP servers of `mcp`: the shared hub while the config is unchanged (servers are
    /// started once per front end), a new one after it changed.
    pub fn tools(
        &self,
        mcp: &BTreeMap<String, crate::config::McpConfig>,
    ) -> Arc<crate::tools::Hub> {
        let mut shared = match self.tools.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((cfg, hub)) = shared.as_ref()
            && cfg == mcp
        {
            return hub.clone();
        }
        let hub = Arc::new(crate::tools::Hub::new(mcp));
        *shared = Some((mcp.clone(), hub.clone()));
        hub
    }

    /// The provider of `[backends.name]`: the cached one while its config is unchanged.
    pub fn get(&self, name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Provider>, LlmError> {
        if matches!(cfg.kind, BackendKind::Scripted | BackendKind::Replay) {
            return crate::llm::build_provider(name, cfg);
        }
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, provider)) = built.get(name)
            && seen == cfg
        {
            return Ok(provider.clone());
        }
        let provider = crate::llm::build_provider(name, cfg)?;
        built.insert(name.to_string(), (cfg.clone(), provider.clone()));
        Ok(provider)
    }
}

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.debug_struct("ProviderCache")
            .field("backends", &built.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(text: &str) -> BackendConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_cache_shares_http_providers_until_their_config_changes() {
        let cache = ProviderCache::default();
        let a = backend("kind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"");
        let first = cache.get("oa", &a).unwrap();
        let again = cache.get("oa", &a).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let changed = backend("kind = \"openai\"\nbase_url = \"http://127.0.0.1:10/v1\"");
        let rebuilt = cache.get("oa", &changed).unwrap();
        assert!(!Arc::ptr_eq(&first, &rebuilt));
    }

    #[test]
    fn scripted_providers_are_never_shared() {
        let cache = ProviderCache::default();
        let demo = backend("kind = \"scripted\"\ntokens_per_sec = 0");
        let first = cache.get("demo", &demo).unwrap();
        let second = cache.get("demo", &demo).unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn only_the_backends_a_team_uses_are_built() {
        let config: Config = toml::from_str(
            "[backends.cloud]\nkind = \"anthropic\"\napi_key_env = \"CONCLAVE_TEST_NO_SUCH_KEY\"\n\
             [backends.demo]\nkind = \"scripted\"\n\
             [agents.a]\nbackend = \"demo\"\nmodel = \"a\"\n\
             [teams.solo]\npattern = \"single\"\nmembers = [\"a\"]\n",
        )
        .unwrap();
        let team = crate::host::team_of(&config, "solo").unwrap();
        let built = providers_for(&config, "solo", &team, None).unwrap();
        assert_eq!(built.keys().collect::<Vec<_>>(), ["demo"]);
        assert_eq!(built["demo"].backend(), "demo");
    }
}
