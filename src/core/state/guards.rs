//! What a team's guard was asked and how far each question got (issue 10 item 4), folded from
//! `guard_asked`, the `guard` turns that follow it and the events that settle the step.
//!
//! Mental model: every step that crosses a boundary (a handoff accepted, an MCP call run, the
//! final answer given) is an [`Asked`] with the id of that step. `guard_asked` opens it (a second
//! one with the same id while it is open asks again) and binds the next `guard` turn to it; the
//! turns' records hold the verdicts, read by `patterns::guard::decide`. The step's own end closes
//! it: the handoff accepted, rejected, cancelled or redirected; the call's result, rejection or
//! interruption; the task's end; a `guard_tripped`. A closed question is never acted on again,
//! and a verdict that was given is read back on resume instead of being asked again.

use crate::core::event::{Boundary, EventKind, Outcome, Purpose};

/// What crosses a boundary, as the guard is shown it.
#[derive(Clone, Debug, PartialEq)]
pub struct Crossing {
    pub boundary: Boundary,
    /// The handoff id, the call id, or `final:<first turn of the task>`.
    pub id: String,
    /// Whose step it is (the requester, the caller, the answerer).
    pub agent: Option<String>,
    /// One line naming the step.
    pub subject: String,
    /// What crosses: the handoff reason, the call's arguments, the final text.
    pub content: String,
    /// For the final answer: the outcome the task finishes with once allowed.
    pub outcome: Option<Outcome>,
}

/// One question to the guard.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub guard: String,
    pub crossing: Crossing,
    /// The guard's turns for it, oldest first.
    pub turns: Vec<u64>,
    /// Not yet settled: its step waits for the verdict.
    pub open: bool,
    /// The guard blocked the step (`guard_tripped`), with this reason.
    pub tripped: Option<String>,
}

/// Every question of the session, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Guards {
    asks: Vec<Asked>,
    /// The question the next `guard` turn answers.
    binding: Option<usize>,
}

impl Guards {
    /// The newest question about step `id` of `boundary`.
    pub fn get(&self, boundary: &Boundary, id: &str) -> Option<&Asked> {
        self.asks
            .iter()
            .rev()
            .find(|a| &a.crossing.boundary == boundary && a.crossing.id == id)
    }

    /// The question `turn` of the guard answers.
    pub fn of_turn(&self, turn: u64) -> Option<&Asked> {
        self.asks.iter().rev().find(|a| a.turns.contains(&turn))
    }

    /// The final answer waiting for the guard, if one does.
    pub fn open_final(&self) -> Option<&Asked> {
        self.asks
            .iter()
            .rev()
            .find(|a| a.open && a.crossing.boundary == Boundary::Final)
    }

    /// The newest step the guard blocked.
    pub fn last_trip(&self) -> Option<&Asked> {
        self.asks.iter().rev().find(|a| a.tripped.is_some())
    }

    /// Fold one event (every event passes here: the steps' own ends close their questions).
    pub fn apply(&mut self, kind: &EventKind) {
        match kind {
            EventKind::GuardAsked {
                guard,
                boundary,
                id,
                agent,
                subject,
                content,
                outcome,
            } => {
                let again = self.asks.iter().rposition(|a| {
                    a.open && a.crossing.boundary == *boundary && &a.crossing.id == id
                });
                let index = match again {
                    Some(i) => i,
                    None => {
                        self.asks.push(Asked {
                            guard: guard.clone(),
                            crossing: Crossing {
                                boundary: boundary.clone(),
                                id: id.clone(),
                                agent: agent.clone(),
                                subject: subject.clone(),
                                content: content.clone(),
                                outcome: *outcome,
                            },
                            turns: Vec::new(),
                            open: true,
                            tripped: None,
                        });
                        self.asks.len() - 1
                    }
                };
                self.binding = Some(index);
            }
            EventKind::TurnStarted {
                turn,
                purpose: Purpose::Guard,
                ..
            } => {
                if let Some(ask) = self.binding.take().and_then(|i| self.asks.get_mut(i)) {
                    ask.turns.push(*turn);
                }
            }
            EventKind::GuardTripped {
                boundary,
                id,
                reason,
                ..
            } => {
                if let Some(ask) =
                    self.asks.iter_mut().rev().find(|a| {
                        a.open && a.crossing.boundary == *boundary && &a.crossing.id == id
                    })
                {
                    ask.tripped = Some(reason.clone());
                }
                self.close(boundary, id);
            }
            EventKind::HandoffAccepted { id, .. }
            | EventKind::HandoffRejected { id, .. }
            | EventKind::HandoffCancelled { id, .. }
            | EventKind::HandoffRedirected { id, .. } => self.close(&Boundary::Handoff, id),
            // Only an MCP call's result (`server` set) ends its step: the ids of orchestration
            // calls (a guard's own `guard_verdict`) come from other replies.
            EventKind::ToolResult {
                call_id,
                server: Some(_),
                ..
            }
            | EventKind::ToolRejected { call_id, .. }
            | EventKind::ToolInterrupted { call_id } => self.close(&Boundary::Tool, call_id),
            EventKind::SessionFinished { .. } => {
                for ask in &mut self.asks {
                    ask.open = false;
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, boundary: &Boundary, id: &str) {
        for ask in &mut self.asks {
            if &ask.crossing.boundary == boundary && ask.crossing.id == id {
                ask.open = false;
            }
        }
    }
}
