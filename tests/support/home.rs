//! A home of its own for the real `conclave` binary in a pty: HOME, config dir, data dir and a
//! config file with the demo's teams on the offline scripted backend, and no way to reach a
//! model (no keys, Ollama pointed at a loopback port where nothing listens).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pty::Pty;

/// Generous: the whole debate must fit, on a loaded machine.
pub const LONG: Duration = Duration::from_secs(90);

/// A config with the demo's agents on the built-in demo script, streaming fast enough to be quick
/// and slow enough to be seen streaming.
const CONFIG: &str = r#"
[backends.demo]
kind = "scripted"
tokens_per_sec = 40

[agents.optimist]
backend = "demo"
model = "optimist"
[agents.skeptic]
backend = "demo"
model = "skeptic"
[agents.pragmatist]
backend = "demo"
model = "pragmatist"
[agents.triage]
backend = "demo"
model = "triage"
[agents.billing]
backend = "demo"
model = "billing"
[agents.tech]
backend = "demo"
model = "tech"

[teams.debate]
pattern = "group_chat"
members = ["optimist", "skeptic", "pragmatist"]
speaker_selection = "round_robin"
max_rounds = 4
consensus = { threshold = 0.67, every_round = false }

[teams.support]
pattern = "handoff"
members = ["triage", "billing", "tech"]
entry = "triage"
handoffs = { triage = ["billing", "tech"], billing = ["triage", "tech"], tech = ["triage", "billing"] }
approval = "confirm"

[ui]
default_team = "debate"
"#;

/// A home of its own: HOME, config dir, data dir, and the config file.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), CONFIG).unwrap();
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    pub fn data(&self) -> PathBuf {
        self.path().join("data")
    }

    /// The text of this home's one journal (fails when there is not exactly one).
    pub fn journal(&self) -> String {
        let found: Vec<PathBuf> = std::fs::read_dir(self.data().join("sessions"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        std::fs::read_to_string(&found[0]).unwrap()
    }

    /// Start the console with `args` (no --config: with `with_config` false).
    pub fn spawn(&self, args: &[&str], with_config: bool) -> Pty {
        self.spawn_env(args, with_config, &[])
    }

    /// Like `spawn`, with `extra` environment variables set last (they win).
    pub fn spawn_env(&self, args: &[&str], with_config: bool, extra: &[(&str, &str)]) -> Pty {
        let config = self.config();
        let mut all: Vec<&str> = Vec::new();
        if with_config {
            all.extend(["--config", config.to_str().unwrap()]);
        }
        all.extend(args);
        self.spawn_program(env!("CARGO_BIN_EXE_conclave"), &all, extra)
    }

    /// Start `program` with `args` in this home's environment, `extra` set last.
    pub fn spawn_program(&self, program: &str, args: &[&str], extra: &[(&str, &str)]) -> Pty {
        let home = self.path().to_str().unwrap().to_string();
        let data = self.data().to_str().unwrap().to_string();
        let xdg_config = self.path().join("xdg-config");
        let xdg_data = self.path().join("xdg-data");
        let mut env: Vec<(&str, &str)> = vec![
            ("HOME", home.as_str()),
            ("CONCLAVE_DATA_DIR", data.as_str()),
            ("XDG_CONFIG_HOME", xdg_config.to_str().unwrap()),
            ("XDG_DATA_HOME", xdg_data.to_str().unwrap()),
            ("CONCLAVE_CONFIG", ""),
            ("OPENAI_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
            // A loopback port where nothing listens: the Ollama probe fails at once.
            ("OLLAMA_HOST", "127.0.0.1:9"),
            ("NO_COLOR", "1"),
        ];
        env.extend_from_slice(extra);
        Pty::spawn_in(Some(self.path()), program, args, &env, 120, 40).unwrap()
    }
}
