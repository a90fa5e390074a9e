//! The review of a plan version: proposing it with the team's `approval`, and the person's (or
//! the policy's) answer. `auto` (and an unattended `--approve auto`) approves at once;
//! `--approve reject` rejects and ends the task `failed` (nobody could answer a replan either);
//! `confirm` waits; `window` approves when its timer runs out unless the person edits, holds or
//! rejects first. An edit is a new version that waits for `approve_plan` (the window stops);
//! a rejection goes back to the planner with the reason.

use super::validate::validate;
use super::{BY_POLICY, Plan, REVIEW_TIMER};
use crate::config::Approval;
use crate::core::command::Command;
use crate::core::event::{EventKind, Outcome, PlanTask, USER};
use crate::core::patterns::common::command_error;
use crate::core::patterns::{Effect, UnattendedApproval};
use crate::core::state::SessionState;

impl Plan {
    /// `plan_proposed` for a valid plan, then what its approval policy does at once.
    pub(super) fn propose(&self, state: &SessionState, tasks: Vec<PlanTask>) -> Vec<Effect> {
        let version = state.plan.next_version();
        // Nobody to review it: the policy decides at once.
        let approval = match self.ctx.unattended {
            Some(_) => Approval::Auto,
            None => self.approval(),
        };
        let window_ms = (approval == Approval::Window).then(|| self.window_ms());
        let mut out = vec![Effect::Emit(EventKind::PlanProposed {
            version,
            tasks,
            by: self.planner().to_string(),
            approval: Some(approval.into()),
            window_ms,
        })];
        out.extend(self.by_policy(version));
        out
    }

    /// What the policy decides for `version` now: approval or rejection, a window timer, or
    /// nothing (the person decides).
    pub(super) fn by_policy(&self, version: u32) -> Vec<Effect> {
        match (self.ctx.unattended, self.approval()) {
            (Some(UnattendedApproval::Reject), a) if a != Approval::Auto => vec![
                Effect::Emit(EventKind::PlanRejected {
                    version,
                    by: BY_POLICY.into(),
                    reason: "nobody is present to approve it (--approve reject)".into(),
                }),
                Effect::Finish {
                    outcome: Outcome::Failed,
                    final_text: Some(format!(
                        "The plan (v{version}) was rejected: nobody is present to approve it (--approve reject)."
                    )),
                },
            ],
            (Some(_), _) | (None, Approval::Auto) => vec![
                Effect::Emit(EventKind::PlanApproved {
                    version,
                    by: BY_POLICY.into(),
                    reason: None,
                }),
                Effect::Continue,
            ],
            (None, Approval::Window) => vec![Effect::SetTimer {
                name: REVIEW_TIMER.into(),
                ms: self.window_ms(),
            }],
            (None, Approval::Confirm) => Vec::new(),
        }
    }

    fn under_review(&self, state: &SessionState, cmd: &Command) -> Result<u32, Vec<Effect>> {
        state
            .plan
            .review
            .as_ref()
            .filter(|_| state.task.active)
            .map(|r| r.version)
            .ok_or_else(|| vec![command_error(cmd, "no plan is waiting for review")])
    }

    pub(super) fn approve(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
        match self.under_review(state, cmd) {
            Err(e) => e,
            Ok(version) => vec![
                Effect::CancelTimer(REVIEW_TIMER.into()),
                Effect::Emit(EventKind::PlanApproved {
                    version,
                    by: USER.into(),
                    reason: None,
                }),
                Effect::Continue,
            ],
        }
    }

    pub(super) fn reject(
        &self,
        state: &SessionState,
        cmd: &Command,
        reason: Option<&str>,
    ) -> Vec<Effect> {
        match self.under_review(state, cmd) {
            Err(e) => e,
            Ok(version) => vec![
                Effect::CancelTimer(REVIEW_TIMER.into()),
                Effect::Emit(EventKind::PlanRejected {
                    version,
                    by: USER.into(),
                    reason: reason
                        .filter(|r| !r.trim().is_empty())
                        .unwrap_or("rejected without a reason")
                        .to_string(),
                }),
                Effect::Continue,
            ],
        }
    }

    pub(super) fn edit(
        &self,
        state: &SessionState,
        cmd: &Command,
        tasks: &[PlanTask],
    ) -> Vec<Effect> {
        if let Err(e) = self.under_review(state, cmd) {
            return e;
        }
        match validate(tasks.to_vec(), self.members(), &done_ids(state)) {
            Err(errors) => vec![command_error(
                cmd,
                format!("the edited plan is invalid: {}", errors.join("; ")),
            )],
            Ok(tasks) => vec![
                Effect::CancelTimer(REVIEW_TIMER.into()),
                Effect::Emit(EventKind::PlanEdited {
                    version: state.plan.next_version(),
                    tasks,
                    by: USER.into(),
                }),
            ],
        }
    }

    pub(super) fn hold(&self, state: &SessionState, cmd: &Command) -> Vec<Effect> {
        match self.under_review(state, cmd) {
            Err(e) => e,
            Ok(_) if state.plan.review.as_ref().is_some_and(|r| r.held) => {
                vec![command_error(cmd, "the plan is already held")]
            }
            Ok(version) => vec![
                Effect::CancelTimer(REVIEW_TIMER.into()),
                Effect::Emit(EventKind::PlanHeld {
                    version,
                    by: USER.into(),
                }),
            ],
        }
    }

    /// The review window ran out: an unheld, unedited plan runs.
    pub(super) fn window_ended(&self, state: &SessionState) -> Vec<Effect> {
        let Some(r) = state.plan.review.as_ref().filter(|_| state.task.active) else {
            return Vec::new();
        };
        let edited = state.plan.latest().is_some_and(|v| v.edited);
        if r.held || edited {
            return Vec::new();
        }
        vec![
            Effect::Emit(EventKind::PlanApproved {
                version: r.version,
                by: BY_POLICY.into(),
                reason: Some("the review window ran out".into()),
            }),
            Effect::Continue,
        ]
    }
}

/// The ids of the tasks already done (a replan keeps them).
pub(super) fn done_ids(state: &SessionState) -> Vec<String> {
    state
        .plan
        .tasks
        .iter()
        .filter(|t| t.status.is_done())
        .map(|t| t.spec.id.clone())
        .collect()
}
