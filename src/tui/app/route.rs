//! The route picker (issue 11): while an auto team's pick of a team waits in its approval window,
//! the person chooses the team that takes the task instead (or confirms the router's). The
//! picker lists the auto team's teams with their descriptions, the router's pick first with its
//! reason; opening it holds a counting window (`hold_route`), as the redirect picker holds a
//! handoff's, so the choice is not overtaken by the timer.

use crate::config::Config;
use crate::core::Command;
use crate::core::state::SessionState;

use super::super::overlays::{Overlay, Picker, PickerPurpose};
use super::actions::send;
use super::{App, Effect};

impl App {
    pub(super) fn open_route_picker(&mut self) -> Vec<Effect> {
        let state = &self.session.view.state;
        let Some(pending) = state.routes.pending().cloned() else {
            self.note("no route waits for a decision");
            return Vec::new();
        };
        let mut items = route_choices(&self.config, self.session.team(), state);
        if let Some(i) = items.iter().position(|t| *t == pending.team) {
            let picked = items.remove(i);
            items.insert(0, picked);
        }
        if items.is_empty() {
            self.note("this team has no teams to route to");
            return Vec::new();
        }
        let details = items
            .iter()
            .map(|t| {
                let about = self
                    .config
                    .teams
                    .get(t)
                    .and_then(|c| c.description.clone())
                    .unwrap_or_default();
                if *t == pending.team && !pending.reason.is_empty() {
                    format!("router's pick: {}", pending.reason)
                } else {
                    about
                }
            })
            .collect();
        self.overlays.push(Overlay::Picker(Picker {
            title: format!("Route the task to… (router picked {})", pending.team),
            items,
            details,
            selected: 0,
            purpose: PickerPurpose::Route,
        }));
        if pending.window_ms.is_some() && !pending.held {
            return send(Command::HoldRoute {});
        }
        Vec::new()
    }
}

/// The teams the pending route can go to: those of the auto team the settled routes lead to
/// from `team` (the session's own team first).
fn route_choices(config: &Config, team: &str, state: &SessionState) -> Vec<String> {
    let mut current = team.to_string();
    for route in state.routes.0.iter().filter(|r| r.settled) {
        current = route.team.clone();
    }
    config
        .teams
        .get(&current)
        .map(|t| {
            t.teams
                .iter()
                .filter(|n| config.teams.contains_key(*n))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
