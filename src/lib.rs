//! conclave: a terminal console for running and steering multi-agent LLM sessions.
//!
//! Layers, dependencies pointing one way (DESIGN section 1):
//! `config` → `llm` (providers) → `core` (sessions, patterns) → { `tui`, `headless`, `store` }.

pub mod cli;
pub mod config;
pub mod core;
pub mod headless;
pub mod launch;
pub mod llm;
pub mod store;
pub mod text;
pub mod tui;
