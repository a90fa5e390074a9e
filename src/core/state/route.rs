//! The routes of an auto team (issue 11), folded from `routed`, `route_held` and
//! `agents_announced`: which team the router (or the person) picked, whether the pick still waits
//! in its approval window, and whether the picked team has taken over.
//!
//! Mental model: one [`Route`] per auto team on the way: the session's own team is routed first
//! (`routes[0]`); when the team it routed to is itself an auto team, that one's pick is
//! `routes[1]`, and so on. A route is *pending* from the router's `routed` until the matching
//! `agents_announced` (the window ran out, the person picked, or approval is `auto`); then it is
//! *settled* and the session goes on as its team. A person's `routed` replaces the pending pick.

use crate::core::event::{Approval, EventKind, RoutedBy};

/// One pick of a team.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub team: String,
    pub by: RoutedBy,
    pub reason: String,
    pub approval: Option<Approval>,
    pub window_ms: Option<u64>,
    /// The person is deciding (`route_held`): the window no longer counts.
    pub held: bool,
    /// The team took over (`agents_announced`).
    pub settled: bool,
}

/// Every route of the session, outermost first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routes(pub Vec<Route>);

impl Routes {
    /// Fold one routing event; `false` for any other event.
    pub fn apply(&mut self, kind: &EventKind) -> bool {
        match kind {
            EventKind::Routed {
                team,
                by,
                reason,
                approval,
                window_ms,
            } => {
                let route = Route {
                    team: team.clone(),
                    by: *by,
                    reason: reason.clone(),
                    approval: approval.clone(),
                    window_ms: *window_ms,
                    held: false,
                    settled: false,
                };
                match self.pending_mut() {
                    Some(p) => {
                        // The person's pick keeps the window's approval: it settles the route.
                        p.team = route.team;
                        p.by = route.by;
                        p.reason = route.reason;
                    }
                    None => self.0.push(route),
                }
            }
            EventKind::RouteHeld { .. } => {
                if let Some(p) = self.pending_mut() {
                    p.held = true;
                }
            }
            EventKind::AgentsAnnounced { team, .. } => {
                if let Some(p) = self.pending_mut() {
                    p.team = team.clone();
                    p.settled = true;
                }
            }
            _ => return false,
        }
        true
    }

    /// The route `depth` levels down (0: the session's own team's).
    pub fn at(&self, depth: usize) -> Option<&Route> {
        self.0.get(depth)
    }

    /// The pick that waits for its window or the person.
    pub fn pending(&self) -> Option<&Route> {
        self.0.last().filter(|r| !r.settled)
    }

    fn pending_mut(&mut self) -> Option<&mut Route> {
        self.0.last_mut().filter(|r| !r.settled)
    }

    /// The team the session goes on as: the innermost settled route's (`None`: not routed).
    pub fn active(&self) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|r| r.settled)
            .map(|r| r.team.as_str())
    }
}
