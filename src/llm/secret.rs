//! API keys: where they come from and how they are kept out of sight.
//!
//! A key comes from the environment variable named by `api_key_env`, or from the standard output
//! of `api_key_cmd` (run once, when the provider is built, and stopped after
//! [`KEY_COMMAND_TIMEOUT`]), or from an inline `api_key`. When none
//! is configured, a backend talking to the vendor's own API falls back to the vendor's usual
//! variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`); never for other servers, so a key is not sent
//! where it does not belong. It lives
//! in a [`Secret`] whose `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] gives the
//! text, and only the code that writes an HTTP header calls it.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::BackendConfig;
use crate::llm::{ErrorKind, LlmError};

/// How long `api_key_cmd` may run before it is stopped.
pub const KEY_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

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
        return run_key_command(backend, cmd, KEY_COMMAND_TIMEOUT).map(Some);
    }
    if let Some(key) = &cfg.api_key {
        return Ok(Some(Secret::new(key.trim())));
    }
    Ok(conventional
        .and_then(|var| std::env::var(var).ok())
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim())))
}

/// Run `api_key_cmd` and take its trimmed standard output as the key, giving up after `limit`.
///
/// The command runs in its own process group, so a timeout kills everything it started (a
/// `sh -c` wrapper's children included). Errors name the backend and the command's program, and
/// summarize its stderr; its standard output (the key) is never shown. Blocking: inside a
/// multi-thread tokio runtime the wait is announced with `block_in_place`, so async code may call
/// it (in a current-thread runtime it simply blocks, at most `limit`).
pub fn run_key_command(backend: &str, cmd: &str, limit: Duration) -> Result<Secret, LlmError> {
    let outcome = blocking(|| run_with_limit(cmd, limit));
    let program = program_of(cmd);
    let fail = |what: String| {
        LlmError::new(
            ErrorKind::Config,
            backend,
            format!("api_key_cmd (program `{program}`) {what}"),
        )
        .with_hint(format!(
            "fix api_key_cmd in [backends.{backend}] so that it prints the key"
        ))
    };
    let finished = match outcome {
        Outcome::NotRun(e) => return Err(fail(format!("could not be run: {e}"))),
        Outcome::TimedOut => {
            return Err(fail(format!(
                "did not finish within {} s and was stopped",
                limit.as_secs_f64()
            ))
            .with_hint(format!(
                "check that the command runs on its own without asking for input (no password prompt), or fix api_key_cmd in [backends.{backend}]"
            )));
        }
        Outcome::Finished(finished) => finished,
    };
    let key = String::from_utf8_lossy(&finished.stdout).trim().to_string();
    if !finished.status.success() {
        let complaint = summarize_stderr(&finished.stderr, &key);
        let said = if complaint.is_empty() {
            String::new()
        } else {
            format!(": {complaint}")
        };
        return Err(fail(format!("failed ({}){said}", finished.status)));
    }
    if key.is_empty() {
        return Err(fail("printed nothing".to_string()));
    }
    Ok(Secret::new(key))
}

enum Outcome {
    NotRun(std::io::Error),
    TimedOut,
    Finished(Finished),
}

struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum Part {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Status(std::io::Result<ExitStatus>),
}

/// Run `f`, telling a multi-thread tokio runtime (if one is current) that this thread blocks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Spawn `sh -c cmd` and collect its exit status and both outputs, or stop it after `limit`.
/// Each pipe and the exit status are read by their own thread, so a command that fills one
/// pipe, or a background child that keeps a pipe open, cannot make us wait past `limit`.
fn run_with_limit(cmd: &str, limit: Duration) -> Outcome {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::NotRun(e),
    };
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = child.stdout.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(Part::Stdout(buf));
        });
    } else {
        let _ = tx.send(Part::Stdout(Vec::new()));
    }
    if let Some(mut pipe) = child.stderr.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(Part::Stderr(buf));
        });
    } else {
        let _ = tx.send(Part::Stderr(Vec::new()));
    }
    std::thread::spawn(move || {
        let _ = tx.send(Part::Status(child.wait()));
    });

    let deadline = Instant::now() + limit;
    let (mut status, mut stdout, mut stderr) = (None, None, None);
    while status.is_none() || stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Part::Stdout(b)) => stdout = Some(b),
            Ok(Part::Stderr(b)) => stderr = Some(b),
            Ok(Part::Status(Ok(s))) => status = Some(s),
            Ok(Part::Status(Err(e))) => {
                kill_group(pid);
                return Outcome::NotRun(e);
            }
            Err(_) => {
                kill_group(pid);
                tracing::warn!(program = %program_of(cmd), "api_key_cmd timed out; stopped it");
                return Outcome::TimedOut;
            }
        }
    }
    match (status, stdout, stderr) {
        (Some(status), Some(stdout), Some(stderr)) => Outcome::Finished(Finished {
            status,
            stdout,
            stderr,
        }),
        // The loop above only ends once all three arrived.
        _ => Outcome::TimedOut,
    }
}

/// Kill the process group led by `pid` (the command and everything it started).
#[cfg(unix)]
fn kill_group(pid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions; the group is the one created for
        // this command (process_group(0) makes its leader's pid the group id).
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// Without process groups the waiting thread keeps the child until it ends on its own.
#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

/// The program a command line runs (its first word after any `VAR=value` assignments), so an
/// error can name it without repeating arguments that might be secret.
fn program_of(cmd: &str) -> &str {
    cmd.split_whitespace()
        .find(|word| !word.contains('='))
        .unwrap_or("sh")
}

/// The command's complaint in one short line, with the key (if it printed one) blanked out.
fn summarize_stderr(stderr: &[u8], key: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !key.is_empty() {
        text = text.replace(key, "[redacted]");
    }
    crate::llm::classify::shorten(&text)
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
    fn key_from_command_is_trimmed_and_failures_name_the_program() {
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
        assert!(err.message.contains("program `exit`"), "{err}");
        assert!(err.message.contains("exit status: 3"), "{err}");
        c.api_key_cmd = Some("true".into());
        assert!(
            resolve_key("oa", &c, None)
                .unwrap_err()
                .message
                .contains("printed nothing")
        );
    }

    #[test]
    fn a_slow_command_is_stopped_with_an_error_naming_backend_and_program() {
        let err = run_key_command(
            "vault",
            "SECRET_TOKEN=abc sleep 30; echo sk-late",
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        let shown = err.to_string();
        assert!(shown.starts_with("backend 'vault': "), "{shown}");
        assert!(shown.contains("program `sleep`"), "{shown}");
        assert!(shown.contains("did not finish within 0.3 s"), "{shown}");
        assert!(!shown.contains("SECRET_TOKEN=abc"), "{shown}");
        assert!(!shown.contains("sk-late"), "{shown}");
    }

    #[test]
    fn a_timeout_also_stops_what_the_command_started() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let cmd = format!("(sleep 1; touch '{}') & sleep 30", marker.display());
        let err = run_key_command("b", &cmd, Duration::from_millis(200)).unwrap_err();
        assert!(err.message.contains("did not finish"), "{err}");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "a child of api_key_cmd outlived the timeout"
        );
    }

    #[test]
    fn a_failing_command_summarizes_stderr_and_never_shows_the_key() {
        let mut c = cfg();
        c.api_key_cmd = Some(
            "printf sk-printed-secret; printf 'vault: sealed\\n  (token sk-printed-secret expired)\\n' >&2; exit 2"
                .into(),
        );
        let err = resolve_key("oa", &c, None).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains("vault: sealed (token [redacted] expired)"),
            "{shown}"
        );
        assert!(!shown.contains("sk-printed-secret"), "{shown}");
        assert!(shown.contains("program `printf`"), "{shown}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resolving_inside_a_task_of_a_multi_thread_runtime_works() {
        let mut c = cfg();
        c.api_key_cmd = Some("sleep 0.1; printf sk-async".into());
        let key = tokio::spawn(async move { resolve_key("oa", &c, None) })
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "sk-async");
    }

    #[tokio::test]
    async fn resolving_inside_a_current_thread_runtime_works() {
        let mut c = cfg();
        c.api_key_cmd = Some("printf sk-current".into());
        assert_eq!(
            resolve_key("oa", &c, None).unwrap().unwrap().expose(),
            "sk-current"
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
