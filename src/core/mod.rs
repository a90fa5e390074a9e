//! The orchestrator core: events, commands, the session actor and the pattern state machines.
//! Knows nothing about terminals.

pub mod command;
pub mod event;
pub mod metrics;
pub mod sanitize;

pub use command::Command;
pub use event::{Event, EventKind};
