//! The tool boundary of guards (issue 10 item 4): the actor's IO around the team's guard for MCP
//! calls. The decisions are `patterns::guard`'s.
//!
//! A call approved by the person or the policy asks the guard before it runs
//! ([`Actor::guard_holds`]: `guard_asked`, then the guard's `guard` turn; the call stays
//! outstanding, so its turn waits). When that turn ends ([`Actor::tool_guard_ended`], before the
//! pattern would hear of it) the call runs, or is rejected back to the model with the guard's
//! reason (`guard_tripped`, then `tool_rejected` by `guard`), or the guard is asked once more.

use super::Actor;
use crate::core::event::Boundary;
use crate::core::patterns::guard::{self, Check, Decision};
use crate::core::state::calls::BY_GUARD;

impl Actor {
    /// Whether the team's guard holds call `call_id` (it is being asked): the call runs only
    /// once this says false.
    pub(super) fn guard_holds(&mut self, call_id: &str) -> bool {
        if self.ctx.team.guard.is_none() {
            return false;
        }
        let Some(call) = self.state.calls.get(call_id).cloned() else {
            return false;
        };
        let crossing = guard::tool(
            call_id,
            &call.agent,
            &call.server,
            &call.tool,
            &call.arguments,
        );
        match guard::check(&self.ctx, &self.state, crossing) {
            Check::Pass(_) => false,
            Check::Wait | Check::Denied(_) => true,
            Check::Ask(effects) => {
                for effect in effects {
                    self.perform(effect);
                }
                self.drain();
                true
            }
        }
    }

    /// The guard's turn `turn` ended: when it was about a tool call, run the call, reject it or
    /// ask again, and say true (the pattern does not hear of it); false for any other turn.
    pub(super) fn tool_guard_ended(&mut self, turn: u64) -> bool {
        let Some(asked) = self
            .state
            .guards
            .of_turn(turn)
            .filter(|a| a.crossing.boundary == Boundary::Tool)
            .cloned()
        else {
            return false;
        };
        if !asked.open || asked.turns.last() != Some(&turn) {
            return true;
        }
        let id = asked.crossing.id.clone();
        let decision = guard::decide(&self.state, &asked);
        for effect in guard::answer_calls(&self.state, &asked, &decision) {
            self.perform(effect);
        }
        match decision {
            Decision::Wait => {}
            Decision::Ask(note) => {
                for effect in guard::ask(&self.ctx, &asked.guard, &asked.crossing, note.as_deref())
                {
                    self.perform(effect);
                }
            }
            Decision::Allow(_) => {
                if let Some(call_turn) = self.state.calls.get(&id).map(|c| c.turn) {
                    self.run_call(call_turn, &id);
                }
            }
            Decision::Deny(why) => {
                self.perform(guard::tripped(&asked.guard, &asked.crossing, &why));
                self.reject(&id, BY_GUARD, why);
            }
        }
        true
    }
}
