//! The events that neither open nor close a span become span events on the task's root span:
//! handoffs, speaker picks, votes, consensus tallies, judge scores, pauses and errors. Each keeps
//! its fields as `conclave.*` attributes (an agent as `gen_ai.agent.name`); a handoff's summary,
//! text a model wrote, only with `capture_content`.

use super::fold::name_of;
use super::span::Attributes;
use crate::core::event::EventKind;

/// The span event `kind` becomes (its name and attributes), if it becomes one.
pub(super) fn note_of(kind: &EventKind, capture: bool) -> Option<(&'static str, Attributes)> {
    match kind {
        EventKind::SpeakerSelected { agent, by, reason } => {
            let mut attrs = vec![
                ("gen_ai.agent.name", agent.as_str().into()),
                ("conclave.by", name_of(by).into()),
            ];
            if let Some(reason) = reason {
                attrs.push(("conclave.reason", reason.as_str().into()));
            }
            Some(("speaker_selected", attrs))
        }
        EventKind::HandoffRequested {
            id,
            from,
            to,
            reason,
            approval,
            ..
        } => {
            let mut attrs = vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.handoff.from", from.as_str().into()),
                ("conclave.handoff.to", to.as_str().into()),
                ("conclave.reason", reason.as_str().into()),
            ];
            if let Some(approval) = approval {
                attrs.push(("conclave.approval", name_of(approval).into()));
            }
            Some(("handoff_requested", attrs))
        }
        EventKind::HandoffAccepted { id, reason } | EventKind::HandoffRejected { id, reason } => {
            let attrs = vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.reason", reason.as_str().into()),
            ];
            Some((kind.type_name(), attrs))
        }
        EventKind::HandoffRedirected {
            id,
            from_target,
            to,
            by,
        } => {
            let attrs = vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.handoff.from_target", from_target.as_str().into()),
                ("conclave.handoff.to", to.as_str().into()),
                ("conclave.by", by.as_str().into()),
            ];
            Some(("handoff_redirected", attrs))
        }
        EventKind::HandoffCancelled { id, by } => {
            let attrs = vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.by", by.as_str().into()),
            ];
            Some(("handoff_cancelled", attrs))
        }
        EventKind::HandoffCompleted { id, summary } => {
            let mut attrs = vec![("conclave.handoff.id", id.as_str().into())];
            if capture {
                attrs.push(("conclave.summary", summary.as_str().into()));
            }
            Some(("handoff_completed", attrs))
        }
        EventKind::HandoffFallback { id, failed, to } => {
            let attrs = vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.handoff.failed", failed.as_str().into()),
                ("conclave.handoff.to", to.as_str().into()),
            ];
            Some(("handoff_fallback", attrs))
        }
        EventKind::Vote {
            round,
            agent,
            choice,
            reason,
        } => {
            let attrs = vec![
                ("conclave.round", (*round).into()),
                ("gen_ai.agent.name", agent.as_str().into()),
                ("conclave.vote.choice", name_of(choice).into()),
                ("conclave.reason", reason.as_str().into()),
            ];
            Some(("vote", attrs))
        }
        EventKind::Consensus {
            round,
            reached,
            agree,
            disagree,
            abstain,
            threshold,
        } => {
            let attrs = vec![
                ("conclave.round", (*round).into()),
                ("conclave.consensus.reached", (*reached).into()),
                ("conclave.consensus.agree", (*agree).into()),
                ("conclave.consensus.disagree", (*disagree).into()),
                ("conclave.consensus.abstain", (*abstain).into()),
                ("conclave.consensus.threshold", (*threshold).into()),
            ];
            Some(("consensus", attrs))
        }
        EventKind::CandidateScored {
            agent,
            score,
            reason,
        } => {
            let attrs = vec![
                ("gen_ai.agent.name", agent.as_str().into()),
                ("conclave.score", (*score).into()),
                ("conclave.reason", reason.as_str().into()),
            ];
            Some(("candidate_scored", attrs))
        }
        EventKind::Paused { by } | EventKind::Resumed { by } => {
            Some((kind.type_name(), vec![("conclave.by", by.as_str().into())]))
        }
        EventKind::Error { message, .. } => {
            Some(("error", vec![("conclave.message", message.as_str().into())]))
        }
        // Streamed text is summed up by its `message`; tool results of handoff / vote calls are
        // bookkeeping for the conversation, not tool executions; the rest are spans (`fold`).
        EventKind::HandoffHeld { id, by } => Some((
            "handoff_held",
            vec![
                ("conclave.handoff.id", id.as_str().into()),
                ("conclave.by", by.as_str().into()),
            ],
        )),
        EventKind::ContextEdited {
            handoff,
            agent,
            by,
            messages,
        } => Some((
            "context_edited",
            vec![
                ("conclave.handoff.id", handoff.as_str().into()),
                ("conclave.agent", agent.as_str().into()),
                ("conclave.by", by.as_str().into()),
                ("conclave.messages", (messages.len() as u64).into()),
            ],
        )),
        EventKind::MessageQueued { id, to, .. } | EventKind::QueuedCancelled { id, to, .. } => {
            let mut attrs = vec![("conclave.queued.id", id.as_str().into())];
            if let Some(to) = to {
                attrs.push(("conclave.to", to.as_str().into()));
            }
            Some((kind.type_name(), attrs))
        }
        EventKind::TurnNotice {
            agent, kind, text, ..
        } => Some((
            "turn_notice",
            vec![
                ("gen_ai.agent.name", agent.as_str().into()),
                ("conclave.kind", kind.as_str().into()),
                ("conclave.text", text.as_str().into()),
            ],
        )),
        EventKind::BackendFallback {
            agent,
            from,
            to,
            error,
            ..
        } => Some((
            "backend_fallback",
            vec![
                ("gen_ai.agent.name", agent.as_str().into()),
                (
                    "conclave.from",
                    format!("{}/{}", from.backend, from.model).into(),
                ),
                ("conclave.to", format!("{}/{}", to.backend, to.model).into()),
                ("error.type", error.kind.to_string().into()),
            ],
        )),
        _ => None,
    }
}
