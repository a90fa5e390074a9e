//! API keys: where they come from and how they are kept out of sight.
//!
//! A key comes from the environment variable named by `api_key_env`, or from the standard output
//! of `api_key_cmd` (run once, when the provider is built), or from an inline `api_key`. When none
//! is configured, a backend talking to the vendor's own API falls back to the vendor's usual
//! variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`); never for other servers, so a key is not sent
//! where it does not belong. It lives
//! in a [`Secret`] whose `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] gives the
//! text, and only the code that writes an HTTP header calls it.

use std::process::Command;

use crate::config::BackendConfig;
use crate::llm::{ErrorKind, LlmError};

/// A value that must never be logged or shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret text, for an HTTP header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a backend's key comes from, named in error hints ("set OPENAI_API_KEY").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Env(String),
    Command(String),
    Inline,
    /// Nothing configured; the vendor's usual variable is read if set.
    Conventional(String),
    None,
}

impl KeySource {
    /// Where `cfg` takes its key from; `conventional` is the vendor's usual variable, given only
    /// when the backend talks to the vendor's own API.
    pub fn of(cfg: &BackendConfig, conventional: Option<&str>) -> Self {
        if let Some(var) = &cfg.api_key_env {
            KeySource::Env(var.clone())
        } else if let Some(cmd) = &cfg.api_key_cmd {
            KeySource::Command(cmd.clone())
        } else if cfg.api_key.is_some() {
            KeySource::Inline
        } else if let Some(var) = conventional {
            KeySource::Conventional(var.to_string())
        } else {
            KeySource::None
        }
    }

    /// What the person should do when the server refuses the key.
    pub fn fix_hint(&self, backend: &str) -> String {
        match self {
            KeySource::Env(var) => format!("check the key in the environment variable {var}"),
            KeySource::Command(cmd) => format!("check the key printed by api_key_cmd `{cmd}`"),
            KeySource::Inline => format!(
                "check the api_key of [backends.{backend}] (better: move it to an environment variable named by api_key_env)"
            ),
            KeySource::Conventional(var) => format!(
                "set the environment variable {var} (or api_key_env / api_key_cmd in [backends.{backend}])"
            ),
            KeySource::None => format!(
                "set api_key_env (or api_key_cmd) in [backends.{backend}] to provide an API key"
            ),
        }
    }
}

/// Resolve the backend's API key. `Ok(None)` when the config names no key at all (local servers)
/// and the `conventional` variable, if any, is unset.
pub fn resolve_key(
    backend: &str,
    cfg: &BackendConfig,
    conventional: Option<&str>,
) -> Result<Option<Secret>, LlmError> {
    if let Some(var) = &cfg.api_key_env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            _ => Err(LlmError::new(
                ErrorKind::Config,
                backend,
                format!("the environment variable {var} (api_key_env) is not set or empty"),
            )
            .with_hint(format!(
                "export {var}=<your API key>, or change api_key_env in [backends.{backend}]"
            ))),
        };
    }
    if let Some(cmd) = &cfg.api_key_cmd {
        return run_key_command(backend, cmd).map(Some);
    }
    if let Some(key) = &cfg.api_key {
        return Ok(Some(Secret::new(key.trim())));
    }
    Ok(conventional
        .and_then(|var| std::env::var(var).ok())
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim())))
}

fn run_key_command(backend: &str, cmd: &str) -> Result<Secret, LlmError> {
    let fail = |what: String| {
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!("api_key_cmd `{cmd}` {what}"),
        )
        .with_hint(format!(
            "fix api_key_cmd in [backends.{backend}] so that it prints the key"
        ))
    };
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    if !output.status.success() {
        // stderr may be shown: it is the command's complaint, not the key.
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!(
            "failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    let key = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if key.is_empty() {
        return Err(fail("printed nothing".to_string()));
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BackendKind;

    fn cfg() -> BackendConfig {
        toml::from_str::<BackendConfig>("kind = \"openai\"").unwrap()
    }

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "sk-very-secret");
    }

    #[test]
    fn missing_env_var_is_a_config_error_naming_it() {
        let mut c = cfg();
        c.api_key_env = Some("CONCLAVE_TEST_SURELY_UNSET_KEY".into());
        let err = resolve_key("oa", &c, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err.to_string().contains("CONCLAVE_TEST_SURELY_UNSET_KEY"));
    }

    #[test]
    fn key_from_command_is_trimmed_and_failures_are_named() {
        let mut c = cfg();
        assert_eq!(c.kind, BackendKind::Openai);
        c.api_key_cmd = Some("printf '  sk-from-cmd\\n'".into());
        assert_eq!(
            resolve_key("oa", &c, None).unwrap().unwrap().expose(),
            "sk-from-cmd"
        );
        c.api_key_cmd = Some("exit 3".into());
        let err = resolve_key("oa", &c, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err.message.contains("exit 3"));
        c.api_key_cmd = Some("true".into());
        assert!(
            resolve_key("oa", &c, None)
                .unwrap_err()
                .message
                .contains("printed nothing")
        );
    }

    #[test]
    fn conventional_variable_only_when_nothing_is_configured() {
        let var = "CONCLAVE_TEST_CONVENTIONAL_KEY_7781";
        // SAFETY: a variable name no other test reads or writes.
        unsafe { std::env::set_var(var, " sk-conventional ") };
        let mut c = cfg();
        assert_eq!(
            resolve_key("oa", &c, Some(var)).unwrap().unwrap().expose(),
            "sk-conventional"
        );
        assert_eq!(
            KeySource::of(&c, Some(var)),
            KeySource::Conventional(var.into())
        );
        assert!(KeySource::of(&c, Some(var)).fix_hint("oa").contains(var));
        c.api_key = Some("sk-inline".into());
        assert_eq!(
            resolve_key("oa", &c, Some(var)).unwrap().unwrap().expose(),
            "sk-inline"
        );
        assert!(
            resolve_key("oa", &cfg(), Some("CONCLAVE_TEST_UNSET_7781"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_key_configured_is_none() {
        assert!(resolve_key("local", &cfg(), None).unwrap().is_none());
    }
}
