//! conclave: a terminal console for running and steering multi-agent LLM sessions.
//!
//! Layers, dependencies pointing one way (DESIGN section 1; `tests/layers.rs` checks them):
//! `text` (the one sanitizer) → `config` → `llm` (providers) → `core` (sessions, patterns) →
//! `view` → { `tui`, `headless`, `store`, `telemetry` } → `host` (launch, resume, fork, the console's session
//! manager, the headless driver, the other subcommands) → `cli` (clap types and dispatch).
//! `eval` (suites, answer extraction, scoring, baselines) is pure and sits beside `store`; its
//! driver is `host::eval`.

pub mod cli;
pub mod config;
pub mod core;
pub mod eval;
pub mod headless;
pub mod host;
pub mod llm;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod tools;
pub mod tui;
pub mod view;
