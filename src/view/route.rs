//! What the routing events of an auto team say (issue 11): the pick of a team with who made it,
//! how long the person has to pick another and why; a held window; the routed team taking over
//! with the agents it brings. Pure, like [`super::describe`].

use crate::core::event::{Approval, EventKind, Purpose, RoutedBy};
use crate::core::state::SessionState;

use super::describe::YOU;
use super::parts::{Mark, Parts, Role, Shape, Tone};

/// The parts of one routing event (others are hidden).
pub fn describe(kind: &EventKind, state: &SessionState) -> Parts {
    match kind {
        EventKind::Routed {
            team,
            by,
            reason,
            approval,
            window_ms,
        } => {
            let who = match by {
                RoutedBy::Router => router(state),
                RoutedBy::Person => YOU.to_string(),
            };
            let waits = match (approval, window_ms) {
                (Some(Approval::Window), Some(ms)) => Some(format!(
                    "(another team can be picked for {}s)",
                    ms.div_ceil(1000)
                )),
                (Some(Approval::Confirm), _) => Some("(waits for your confirmation)".into()),
                _ => None,
            };
            let mut p = Parts::new(Shape::Line, Mark::Pick, Tone::Normal)
                .who(&who)
                .verb("routed the task to")
                .target(team);
            if let Some(w) = waits {
                p = p.word(w);
            }
            p.detail(reason)
        }
        EventKind::RouteHeld { by } => Parts::new(Shape::Line, Mark::Pick, Tone::Warn)
            .word("route")
            .verb("held by")
            .name(by)
            .word("(the window waits for a decision)"),
        EventKind::AgentsAnnounced { team, agents } => {
            let names: Vec<String> = agents
                .iter()
                .map(|a| format!("{} ({}/{})", a.name, a.backend, a.model))
                .collect();
            let p = Parts::new(Shape::Line, Mark::Session, Tone::Normal)
                .verb("team")
                .target(team)
                .word("takes over");
            if names.is_empty() {
                p
            } else {
                p.push_sep(": ", Role::Word, names.join(", "))
            }
        }
        _ => Parts::hidden(),
    }
}

/// The agent that made the last router call of the task (`router` when none was seen).
fn router(state: &SessionState) -> String {
    state
        .task_turns()
        .rev()
        .find(|(_, t)| t.purpose == Purpose::Router)
        .map_or("router".to_string(), |(_, t)| t.agent.clone())
}
