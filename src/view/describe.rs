//! [`describe`]: the one narration of every event type.
//!
//! Mental model: `describe(event, state)` reads the event and core's [`SessionState`] *as it was
//! before the event* (so a handoff's endpoints, a turn's round are still there) and returns its
//! [`Parts`]. It is pure and has no memory of its own: the context lives in `SessionState`, the
//! one fold. [`super::View::push`] does the describe-then-apply in the right order.

use crate::core::event::{
    Approval, Event, EventKind, FinishReason, Outcome, Purpose, SelectedBy, VoteChoice,
};
use crate::core::state::SessionState;

use super::parts::{Mark, Parts, Role, Shape, Tone};

/// What `event` says, given the state before it.
pub fn describe(event: &Event, state: &SessionState) -> Parts {
    use EventKind as K;
    match &event.kind {
        K::SessionStarted {
            team,
            pattern,
            agents,
        } => {
            let names: Vec<String> = agents
                .iter()
                .map(|a| format!("{} ({}/{})", a.name, a.backend, a.model))
                .collect();
            let mut p = Parts::new(Shape::Line, Mark::Session, Tone::Normal)
                .verb("team")
                .target(team)
                .word(format!("({})", pattern.as_str()));
            p.detail = Some(pattern.as_str().to_string());
            p.push_sep(": ", Role::Word, names.join(", "))
        }
        K::UserMessage {
            text,
            to,
            interject,
            ..
        } => {
            let mut p = Parts::new(Shape::Speech, Mark::User, Tone::Normal).who(YOU);
            if let Some(to) = to {
                p = p.arrow().target(to);
            }
            if *interject {
                p = p.word("(interjection)");
            }
            p.verb = "says".into();
            p.body = Some(text.clone());
            p
        }
        K::Message {
            agent,
            turn,
            text,
            finish,
            purpose,
            ..
        } => {
            let task = state
                .plan
                .task_of_turn(*turn)
                .map(|t| format!("(task {})", t.id()));
            let label = match purpose {
                Purpose::Speak => task.as_deref(),
                Purpose::Summarize => Some("(summary)"),
                Purpose::Aggregate | Purpose::Synthesize => Some("(synthesis)"),
                _ => return Parts::hidden(),
            };
            if text.trim().is_empty() {
                return Parts::hidden();
            }
            let mut p = Parts::new(Shape::Speech, Mark::Agent, Tone::Normal).who(agent);
            if let Some(label) = label {
                p = p.word(label);
            }
            p.verb = "says".into();
            p.body = Some(text.clone());
            p.status =
                (*finish == FinishReason::Length).then(|| "cut off at max_tokens".to_string());
            p.turn = Some(*turn);
            p.round = round_of(state, *turn);
            p
        }
        K::TurnFailed {
            agent,
            error,
            will_retry,
            ..
        } => {
            let tone = if *will_retry { Tone::Warn } else { Tone::Bad };
            let p = Parts::new(Shape::Line, Mark::Failure, tone)
                .who(agent)
                .verb("failed")
                .word(format!("({})", error.kind))
                .detail(&error.message);
            if *will_retry { p.word("(retrying)") } else { p }
        }
        K::TurnCancelled {
            agent,
            turn,
            partial_text,
            ..
        } => {
            let mut p = Parts::new(Shape::Line, Mark::Cancel, Tone::Muted)
                .who(agent)
                .push_sep("", Role::Word, "'s turn was cancelled")
                .detail_sep(" after: ", partial_text);
            p.verb = "cancelled".into();
            p.body = Some(partial_text.clone());
            p.status = Some("cancelled".into());
            p.turn = Some(*turn);
            p.round = round_of(state, *turn);
            p
        }
        K::SpeakerSelected { agent, by, reason } => {
            let by_word = match by {
                SelectedBy::RoundRobin => "round robin",
                SelectedBy::Manager => "manager",
                SelectedBy::Human => YOU,
                SelectedBy::Random => "random",
            };
            let mut p = Parts::new(Shape::Line, Mark::Pick, Tone::Muted)
                .word("next speaker")
                .target(agent)
                .word(format!("(picked by {by_word}"))
                .detail(reason.as_deref().unwrap_or(""))
                .push_sep("", Role::Word, ")");
            p.who = Some(by_word.to_string());
            p.verb = "picked".into();
            p.routine = *by == SelectedBy::RoundRobin;
            p
        }
        K::HandoffRequested {
            from,
            to,
            reason,
            approval,
            window_ms,
            ..
        } => {
            let wait = match (approval, window_ms) {
                (Some(Approval::Confirm), _) => Some("[awaiting approval]".to_string()),
                (Some(Approval::Window), Some(ms)) => {
                    Some(format!("[{ms} ms to cancel or redirect]"))
                }
                _ => None,
            };
            let tone = if wait.is_some() {
                Tone::Warn
            } else {
                Tone::Normal
            };
            let p = Parts::new(Shape::Line, Mark::Handoff, tone)
                .word("handoff")
                .who(from)
                .arrow()
                .target(to)
                .verb("requested")
                .detail(reason);
            match wait {
                Some(w) => p.word(w),
                None => p,
            }
        }
        K::HandoffAccepted { id, reason } => handoff(state, id, Tone::Good)
            .verb("accepted")
            .detail(reason),
        K::HandoffRejected { id, reason } => handoff(state, id, Tone::Bad)
            .verb("rejected")
            .detail(reason),
        K::HandoffRedirected {
            id,
            from_target,
            to,
            by,
        } => {
            let from = edge(state, id).map(|(from, _)| from);
            let mut p = Parts::new(Shape::Line, Mark::Handoff, Tone::Warn).word("handoff");
            p = match from {
                Some(from) => p.who(&from).arrow().name(to),
                None => p.word(id.as_str()),
            };
            p.target = Some(to.clone());
            p.verb("redirected from")
                .name(from_target)
                .word("by")
                .name(by)
        }
        K::HandoffCancelled { id, by } => {
            handoff(state, id, Tone::Warn).verb("cancelled by").name(by)
        }
        K::HandoffCompleted { id, summary } => {
            let (from, to) = edge(state, id).unwrap_or_else(|| ("?".into(), "?".into()));
            Parts::new(Shape::Line, Mark::HandBack, Tone::Good)
                .who(&to)
                .verb("hands back to")
                .target(&from)
                .detail(summary)
        }
        K::HandoffFallback { failed, to, .. } => Parts::new(Shape::Line, Mark::Handoff, Tone::Warn)
            .who(failed)
            .verb("could not take over; falling back to")
            .target(to),
        K::Vote {
            round,
            agent,
            choice,
            reason,
        } => {
            let tone = match choice {
                VoteChoice::Agree => Tone::Good,
                VoteChoice::Disagree => Tone::Bad,
                VoteChoice::Abstain => Tone::Muted,
            };
            let mut p = Parts::new(Shape::Line, Mark::Vote, tone)
                .word(format!("vote (round {round}):"))
                .who(agent)
                .verb(vote_verb(*choice))
                .detail(reason);
            p.round = Some(*round);
            p
        }
        K::Consensus {
            round,
            reached,
            agree,
            disagree,
            abstain,
            threshold,
        } => {
            let (verdict, tone) = if *reached {
                ("reached", Tone::Good)
            } else {
                ("not reached", Tone::Warn)
            };
            let mut p = Parts::new(Shape::Line, Mark::Tally, tone)
                .word(format!("consensus (round {round}):"))
                .verb(verdict)
                .word(format!(
                    "— {agree} agree, {disagree} disagree, {abstain} abstain (threshold {:.0}%)",
                    threshold * 100.0
                ));
            p.round = Some(*round);
            p
        }
        K::CandidateScored {
            agent,
            score,
            reason,
        } => {
            let mut p = Parts::new(Shape::Line, Mark::Score, Tone::Normal)
                .word("score")
                .who(agent)
                .push_sep(": ", Role::Word, format!("{score}/10"))
                .detail(reason);
            p.verb = "scored".into();
            p
        }
        K::Paused { by } => Parts::new(Shape::Line, Mark::Control, Tone::Warn)
            .verb("paused by")
            .who(by),
        K::Resumed { by } => Parts::new(Shape::Line, Mark::Control, Tone::Good)
            .verb("resumed by")
            .who(by),
        K::Error { message, command } => {
            let p = Parts::new(Shape::Line, Mark::Error, Tone::Bad)
                .verb("error")
                .detail(message);
            match command {
                Some(c) => p.word(format!("(command: {c})")),
                None => p,
            }
        }
        K::SessionFinished {
            outcome,
            final_text,
        } => {
            let tone = match outcome {
                Outcome::Completed | Outcome::Consensus => Tone::Good,
                Outcome::Failed => Tone::Bad,
                _ => Tone::Warn,
            };
            let mut p = Parts::new(Shape::Line, Mark::End, tone)
                .verb("finished")
                .push_sep(": ", Role::Word, outcome_name(*outcome));
            p.detail = Some(outcome_name(*outcome).to_string());
            p.body = final_text.clone().filter(|t| !t.trim().is_empty());
            p
        }
        K::ToolResult { server: None, .. } => Parts::hidden(),
        K::TurnStarted { .. } | K::Token { .. } => Parts::hidden(),
        K::TurnWaiting { agent, backend, .. } => {
            Parts::new(Shape::Line, Mark::Control, Tone::Muted)
                .who(agent)
                .verb("waiting for")
                .target(backend)
        }
        K::TurnNotice { agent, text, .. } => Parts::new(Shape::Line, Mark::Control, Tone::Warn)
            .who(agent)
            .verb("note")
            .detail(text),
        K::BackendFallback {
            agent,
            turn,
            from,
            to,
            error,
        } => {
            let mut p = Parts::new(Shape::Line, Mark::Failure, Tone::Warn)
                .who(agent)
                .verb("falls back from")
                .word(format!("{}/{}", from.backend, from.model))
                .arrow()
                .target(&format!("{}/{}", to.backend, to.model))
                .detail(&error.message);
            p.turn = Some(*turn);
            p
        }
        // Steering (issue 12).
        K::HandoffHeld { id, by } => handoff(state, id, Tone::Warn)
            .verb("held by")
            .name(by)
            .word("(the window waits for a decision)"),
        K::ContextEdited {
            handoff: id,
            agent,
            by,
            messages,
        } => {
            let n = messages.len();
            handoff(state, id, Tone::Warn)
                .verb("context edited by")
                .name(by)
                .word(format!(
                    "({agent} receives {n} message{})",
                    if n == 1 { "" } else { "s" }
                ))
        }
        K::MessageQueued { id, text, to } => {
            let mut p = Parts::new(Shape::Line, Mark::User, Tone::Warn)
                .who(YOU)
                .verb("queued");
            if let Some(to) = to {
                p = p.word("for").target(to);
            }
            p.word(format!("({id}, delivered at the next boundary)"))
                .detail(text)
        }
        K::QueuedCancelled { id, text, .. } => Parts::new(Shape::Line, Mark::User, Tone::Warn)
            .who(YOU)
            .verb("took back")
            .word(id.as_str())
            .detail(text),
        K::ToolCall { .. }
        | K::ToolApprovalRequested { .. }
        | K::ToolApproved { .. }
        | K::ToolRejected { .. }
        | K::ToolInterrupted { .. }
        | K::ToolResult { .. } => super::tools::describe(&event.kind, state),
        // Plans (issue 11).
        K::PlanProposed { .. }
        | K::PlanEdited { .. }
        | K::PlanApproved { .. }
        | K::PlanRejected { .. }
        | K::PlanHeld { .. }
        | K::TaskStarted { .. }
        | K::TaskFinished { .. }
        | K::TaskSkipped { .. }
        | K::CompensationStarted { .. }
        | K::CompensationFinished { .. }
        | K::Replanned { .. } => super::plans::describe(&event.kind, state),
    }
}

/// How the person is named in every narration.
pub const YOU: &str = "you";

/// The verb of a vote: `agrees`, `disagrees`, `abstains`.
pub fn vote_verb(choice: VoteChoice) -> &'static str {
    match choice {
        VoteChoice::Agree => "agrees",
        VoteChoice::Disagree => "disagrees",
        VoteChoice::Abstain => "abstains",
    }
}

/// An outcome as it is written in events (`max_rounds`, `consensus`, …).
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Completed => "completed",
        Outcome::Cancelled => "cancelled",
        Outcome::Failed => "failed",
        Outcome::MaxRounds => "max_rounds",
        Outcome::Budget => "budget",
        Outcome::Consensus => "consensus",
        Outcome::Timeout => "timeout",
        Outcome::MaxMessages => "max_messages",
    }
}

/// `handoff from → to` (or `handoff <id>` when the request was never seen).
fn handoff(state: &SessionState, id: &str, tone: Tone) -> Parts {
    let p = Parts::new(Shape::Line, Mark::Handoff, tone).word("handoff");
    match edge(state, id) {
        Some((from, to)) => p.who(&from).arrow().target(&to),
        None => p.word(id),
    }
}

/// The endpoints of handoff `id`: pending, active or just rejected.
pub fn edge(state: &SessionState, id: &str) -> Option<(String, String)> {
    let h = &state.handoff;
    h.pending
        .iter()
        .chain(&h.rejected)
        .find(|p| p.id == id)
        .map(|p| (p.from.clone(), p.to.clone()))
        .or_else(|| {
            h.chain
                .iter()
                .find(|l| l.id == id)
                .map(|l| (l.from.clone(), l.to.clone()))
        })
}

fn round_of(state: &SessionState, turn: u64) -> Option<u32> {
    state.turns.get(&turn).and_then(|t| t.round)
}
