//! MCP tool calls as the session knows them (folded from `tool_call` … `tool_result` events), and
//! the pure decision of what a new call needs before it may run ([`gate`]).
//!
//! Mental model: a call is asked for (`tool_call`), maybe waits for the person
//! (`tool_approval_requested`), is approved (runs) or rejected, and ends with its `tool_result`.
//! A call without a result when the process died becomes `tool_interrupted` on resume: its
//! answer to the model says it was not re-run, and the same call asked again (same server, tool
//! and arguments) waits for the person unless the tool is read-only.

use std::collections::BTreeMap;

use crate::config;
use crate::core::event::{Approval, EventKind};
use crate::core::patterns::UnattendedApproval;

/// What the model is told for a call that was running when the process died.
pub const INTERRUPTED: &str = "interrupted: the process stopped while this call was running; it was not run again. Call it again if it is still needed.";
/// How long a `window` approval waits when the agent's config does not say.
pub const DEFAULT_WINDOW_MS: u64 = 5000;
/// Who decided an approval or rejection.
pub const BY_PERSON: &str = "person";
pub const BY_POLICY: &str = "policy";
/// The team's guard (issue 10.4).
pub const BY_GUARD: &str = "guard";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Asked,
    Waiting,
    Running,
    Rejected,
    Done,
    Interrupted,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub agent: String,
    pub turn: u64,
    pub server: String,
    pub tool: String,
    /// The name the model called it by.
    pub name: String,
    pub arguments: String,
    pub status: CallStatus,
    pub approval: Option<Approval>,
}

/// Every MCP call of the session by id, in the order they were asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calls {
    by_id: BTreeMap<String, CallRecord>,
    order: Vec<String>,
    /// (server, tool, arguments) of interrupted calls: asked again, they need the person.
    interrupted: Vec<(String, String, String)>,
}

impl Calls {
    pub fn get(&self, id: &str) -> Option<&CallRecord> {
        self.by_id.get(id)
    }

    /// Calls waiting for the person, oldest first.
    pub fn waiting(&self) -> impl Iterator<Item = (&String, &CallRecord)> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id).map(|c| (id, c)))
            .filter(|(_, c)| c.status == CallStatus::Waiting)
    }

    /// Calls asked for that have no result (what a crash interrupted).
    pub fn unanswered(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|id| {
                self.by_id.get(*id).is_some_and(|c| {
                    matches!(
                        c.status,
                        CallStatus::Asked | CallStatus::Waiting | CallStatus::Running
                    )
                })
            })
            .cloned()
            .collect()
    }

    /// Whether this call repeats one that was interrupted.
    pub fn repeats_interrupted(&self, server: &str, tool: &str, arguments: &str) -> bool {
        let args = normalize(arguments);
        self.interrupted
            .iter()
            .any(|(s, t, a)| s == server && t == tool && normalize(a) == args)
    }

    /// Fold one tool event.
    pub fn apply(&mut self, kind: &EventKind) {
        match kind {
            EventKind::ToolCall {
                agent,
                turn,
                call_id,
                server,
                tool,
                arguments,
            } => {
                if !self.by_id.contains_key(call_id) {
                    self.order.push(call_id.clone());
                }
                self.by_id.insert(
                    call_id.clone(),
                    CallRecord {
                        agent: agent.clone(),
                        turn: *turn,
                        server: server.clone(),
                        tool: tool.clone(),
                        name: crate::tools::names::offered(server, tool),
                        arguments: arguments.clone(),
                        status: CallStatus::Asked,
                        approval: None,
                    },
                );
            }
            EventKind::ToolApprovalRequested {
                call_id, approval, ..
            } => self.set(call_id, CallStatus::Waiting, Some(approval.clone())),
            EventKind::ToolApproved { call_id, .. } => self.set(call_id, CallStatus::Running, None),
            EventKind::ToolRejected { call_id, .. } => {
                self.set(call_id, CallStatus::Rejected, None)
            }
            EventKind::ToolResult { call_id, name, .. } => {
                if let Some(c) = self.by_id.get_mut(call_id) {
                    c.status = CallStatus::Done;
                    c.name = name.clone();
                }
            }
            EventKind::ToolInterrupted { call_id } => {
                if let Some(c) = self.by_id.get_mut(call_id) {
                    c.status = CallStatus::Interrupted;
                    self.interrupted
                        .push((c.server.clone(), c.tool.clone(), c.arguments.clone()));
                }
            }
            _ => {}
        }
    }

    fn set(&mut self, id: &str, status: CallStatus, approval: Option<Approval>) {
        if let Some(c) = self.by_id.get_mut(id) {
            c.status = status;
            if approval.is_some() {
                c.approval = approval;
            }
        }
    }
}

fn normalize(arguments: &str) -> String {
    serde_json::from_str::<serde_json::Value>(arguments)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| arguments.trim().to_string())
}

/// What a new call needs before it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// Run now (`tool_approved` by `policy`).
    Run,
    /// Ask the person: `confirm` waits, `window` runs after `window_ms` unless rejected.
    Ask {
        approval: Approval,
        window_ms: Option<u64>,
    },
    /// Rejected by policy with this reason.
    Reject(String),
}

/// The gate of one call. `policy` is the agent's `tool_approval` (unset: read-only tools run,
/// the others wait for the person); `repeat` says the call repeats an interrupted one (it waits
/// for the person unless read-only, whatever the policy); with nobody present (`unattended`)
/// what would wait follows `--approve`.
pub fn gate(
    policy: Option<config::Approval>,
    read_only: bool,
    repeat: bool,
    unattended: Option<UnattendedApproval>,
) -> Gate {
    let ask = match policy {
        _ if repeat && !read_only => Some(Approval::Confirm),
        None if read_only => None,
        None => Some(Approval::Confirm),
        Some(config::Approval::Auto) => None,
        Some(config::Approval::Confirm) => Some(Approval::Confirm),
        Some(config::Approval::Window) => Some(Approval::Window),
    };
    match (ask, unattended) {
        (None, _) => Gate::Run,
        (Some(_), Some(UnattendedApproval::Auto)) => Gate::Run,
        (Some(_), Some(UnattendedApproval::Reject)) => {
            Gate::Reject("nobody is present to approve it (--approve reject)".into())
        }
        (Some(approval), None) => Gate::Ask {
            window_ms: (approval == Approval::Window).then_some(DEFAULT_WINDOW_MS),
            approval,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::Approval as A;

    #[test]
    fn the_default_runs_read_only_tools_and_asks_for_the_rest() {
        assert_eq!(gate(None, true, false, None), Gate::Run);
        assert!(matches!(
            gate(None, false, false, None),
            Gate::Ask {
                approval: Approval::Confirm,
                window_ms: None
            }
        ));
        assert_eq!(gate(Some(A::Auto), false, false, None), Gate::Run);
        assert!(matches!(
            gate(Some(A::Confirm), true, false, None),
            Gate::Ask {
                approval: Approval::Confirm,
                ..
            }
        ));
        assert!(matches!(
            gate(Some(A::Window), false, false, None),
            Gate::Ask {
                approval: Approval::Window,
                window_ms: Some(DEFAULT_WINDOW_MS)
            }
        ));
    }

    #[test]
    fn unattended_follows_approve_and_a_repeat_of_an_interrupted_write_asks() {
        let auto = Some(UnattendedApproval::Auto);
        let reject = Some(UnattendedApproval::Reject);
        assert_eq!(gate(None, false, false, auto), Gate::Run);
        assert!(matches!(gate(None, false, false, reject), Gate::Reject(_)));
        assert_eq!(gate(None, true, false, reject), Gate::Run);
        assert!(matches!(
            gate(Some(A::Auto), false, true, None),
            Gate::Ask {
                approval: Approval::Confirm,
                ..
            }
        ));
        assert_eq!(gate(Some(A::Auto), true, true, None), Gate::Run);
        assert!(matches!(
            gate(Some(A::Auto), false, true, reject),
            Gate::Reject(_)
        ));
    }

    #[test]
    fn the_fold_tracks_waiting_unanswered_and_interrupted_calls() {
        let mut c = Calls::default();
        let call = |id: &str, args: &str| EventKind::ToolCall {
            agent: "a".into(),
            turn: 1,
            call_id: id.into(),
            server: "fs".into(),
            tool: "write".into(),
            arguments: args.into(),
        };
        c.apply(&call("c1", r#"{"x": 1}"#));
        c.apply(&call("c2", "{}"));
        c.apply(&EventKind::ToolApprovalRequested {
            call_id: "c2".into(),
            approval: Approval::Confirm,
            window_ms: None,
        });
        assert_eq!(
            c.waiting().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            ["c2"]
        );
        c.apply(&EventKind::ToolApproved {
            call_id: "c1".into(),
            by: BY_POLICY.into(),
            reason: None,
        });
        assert_eq!(c.unanswered(), ["c1", "c2"]);
        c.apply(&EventKind::ToolInterrupted {
            call_id: "c1".into(),
        });
        assert!(c.repeats_interrupted("fs", "write", r#"{"x":1}"#));
        assert!(!c.repeats_interrupted("fs", "write", r#"{"x":2}"#));
        assert_eq!(c.unanswered(), ["c2"]);
    }
}
