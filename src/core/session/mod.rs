//! A session: one tokio task (the actor) per session that owns the [`SessionState`], `select!`s
//! over the person's commands and the provider streams of its running turns, asks the pattern
//! what to do next, performs the effects and publishes the events.
//!
//! Its pieces, read in this order:
//! - `handle`: what a front end holds: [`Session`] (built and checked, not running),
//!   [`SessionHandle`] (send commands, subscribe, go unattended) and the session ids.
//! - `actor`: the task itself: the select loop, the state, the pattern's effects, timers, and
//!   the one door every event goes through to its subscribers (`fanout`: one unbounded channel
//!   each, so no reader, the journal least of all, ever loses an event).
//! - `turn`: one running turn: the task pumping a provider stream into the actor's inbox, its
//!   cancellation and deadline, and the timing and usage that end up in its `message` event.
//!
//! What a turn sends the model is assembled by the pure [`crate::core::request`]. Sessions share
//! nothing but their providers, so many run in one process without interfering.
//!
//! [`SessionState`]: crate::core::state::SessionState

mod actor;
mod fanout;
mod handle;
mod turn;

pub use crate::core::patterns::UnattendedApproval;
pub use handle::{
    EventStream, Session, SessionClosed, SessionError, SessionHandle, SessionSpec, Settled,
    new_session_id, session_id_at,
};
