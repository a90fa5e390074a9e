//! The orchestrator core: events, commands, the session actor and the pattern state machines.
//! Knows nothing about terminals.

pub mod command;
pub mod context;
pub mod event;
pub mod metrics;
pub mod patterns;
pub mod request;
pub mod sanitize;
pub mod session;
pub mod state;
pub mod tools;

pub use command::Command;
pub use event::{Event, EventKind};
