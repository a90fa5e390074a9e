//! What guard events say (issue 10 item 4): `guard_asked` is a routine line (the guard checks
//! a step), `guard_tripped` a loud one naming the guard, what it blocked and why. The step the
//! trip blocked says the rest with its own event (a rejected handoff, a rejected call, a task
//! that ended `failed` without a final answer). Pure, like [`super::describe`].

use crate::core::event::{Boundary, EventKind};
use crate::core::state::SessionState;

use super::parts::{Mark, Parts, Shape, Tone};
use super::tools::{FOLD, fold};

/// What a denial at `boundary` did to its step, for the transcript and the status.
pub fn blocked(boundary: &Boundary) -> &'static str {
    match boundary {
        Boundary::Handoff => "the handoff is rejected",
        Boundary::Tool => "the call is not run",
        Boundary::Final => "the final answer is withheld",
        Boundary::Other(_) => "the step is blocked",
    }
}

/// The parts of one guard event (others are hidden).
pub fn describe(kind: &EventKind, _state: &SessionState) -> Parts {
    match kind {
        EventKind::GuardAsked {
            guard,
            subject,
            content,
            ..
        } => {
            let mut p = Parts::new(Shape::Line, Mark::Guard, Tone::Muted)
                .who(guard)
                .verb("checks")
                .target(subject)
                .detail(&fold(content, FOLD));
            p.routine = true;
            p
        }
        EventKind::GuardTripped {
            guard,
            boundary,
            subject,
            reason,
            ..
        } => {
            let mut p = Parts::new(Shape::Line, Mark::Guard, Tone::Bad)
                .who(guard)
                .verb("blocked")
                .target(subject)
                .word(format!("({})", blocked(boundary)))
                .detail(reason);
            p.status = Some(format!("blocked by the guard {guard}"));
            p
        }
        _ => Parts::hidden(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_names_the_guard_the_step_and_the_reason() {
        let p = describe(
            &EventKind::GuardTripped {
                guard: "compliance".into(),
                boundary: Boundary::Final,
                subject: "final answer of writer".into(),
                reason: "it leaks a customer's address".into(),
                id: "final:0".into(),
            },
            &SessionState::default(),
        );
        assert_eq!(
            p.plain("->"),
            "compliance blocked final answer of writer (the final answer is withheld): it leaks a customer's address"
        );
        assert_eq!(p.tone, Tone::Bad);
        assert!(!p.routine);
    }

    #[test]
    fn an_ask_is_a_routine_line_with_what_crosses_folded() {
        let p = describe(
            &EventKind::GuardAsked {
                guard: "compliance".into(),
                boundary: Boundary::Tool,
                id: "c1".into(),
                agent: Some("reader".into()),
                subject: "fault.write_note called by reader".into(),
                content: "{\"text\":\n \"hi\"}".into(),
                outcome: None,
            },
            &SessionState::default(),
        );
        assert!(p.routine);
        assert_eq!(
            p.plain("->"),
            "compliance checks fault.write_note called by reader: {\"text\": \"hi\"}"
        );
    }
}
