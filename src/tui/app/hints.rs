//! What the footer and the input box say about the state of things: the actions worth a hint
//! right now (the footer draws them with their keys) and what Enter would do with the input.

use super::super::keymap::{Action, Context};
use super::super::overlays::Overlay;
use super::super::overlays::plan_edit::render::mode_actions;
use super::App;
use crate::core::event::PatternKind;

/// The steering keys that act in a team of `pattern` (what the footer and the Steering panel
/// list, and the README's key table says): the handoff keys and pause in handoff teams, vote,
/// speaker and pause in group chats, pause in pipelines, and cancelling a turn everywhere.
pub fn steering_actions(pattern: Option<PatternKind>) -> Vec<(Action, &'static str)> {
    let mut v = Vec::new();
    match pattern {
        Some(PatternKind::Handoff) => v.extend([
            (Action::ApproveHandoff, "approve"),
            (Action::RejectHandoff, "reject"),
            (Action::RedirectHandoff, "redirect"),
            (Action::CancelHandoff, "cancel handoff"),
            (Action::TogglePause, "pause"),
        ]),
        Some(PatternKind::GroupChat) => v.extend([
            (Action::CallVote, "vote"),
            (Action::PickSpeaker, "pick speaker"),
            (Action::TogglePause, "pause"),
        ]),
        Some(PatternKind::Sequential) => v.push((Action::TogglePause, "pause")),
        Some(PatternKind::Auto) => v.push((Action::RouteTask, "pick team")),
        // Plans (issue 11): the review editor's key; pause holds new tasks.
        Some(PatternKind::Plan) => v.extend([
            (Action::OpenPlan, "review plan"),
            (Action::TogglePause, "pause"),
        ]),
        _ => {}
    }
    v.push((Action::CancelTurn, "cancel turn"));
    v
}

impl App {
    /// The actions worth a hint right now, most useful first.
    pub fn hint_actions(&self) -> Vec<(Action, &'static str)> {
        if let Some(Overlay::PlanEdit(editor)) = self.overlays.last() {
            return mode_actions(editor);
        }
        match self.context() {
            Context::Help => vec![
                (Action::HelpClose, "close"),
                (Action::HelpDown, "down"),
                (Action::HelpUp, "up"),
            ],
            Context::Picker => vec![
                (Action::PickerSelect, "choose"),
                (Action::PickerUp, "up"),
                (Action::PickerDown, "down"),
                (Action::PickerClose, "close"),
            ],
            Context::Confirm => vec![(Action::ConfirmYes, "yes"), (Action::ConfirmNo, "no")],
            Context::Replay => self.replay_hints(),
            Context::Reason => vec![
                (Action::ReasonSubmit, "reject"),
                (Action::ReasonCancel, "keep it waiting"),
            ],
            // Context preview (issue 12 item 3).
            Context::Preview => vec![
                (Action::PreviewApprove, "approve"),
                (Action::PreviewEdit, "edit"),
                (Action::PreviewDelete, "delete"),
                (Action::PreviewDown, "next"),
                (Action::PreviewUp, "previous"),
                (Action::PreviewClose, "back"),
            ],
            Context::PreviewEdit => vec![
                (Action::PreviewEditKeep, "keep the text"),
                (Action::PreviewEditDrop, "drop the edit"),
            ],
            Context::Completion => vec![
                (Action::Complete, "complete"),
                (Action::CompletionNext, "next"),
                (Action::CompletionClose, "close"),
            ],
            Context::Plan | Context::PlanEdit | Context::PlanText => Vec::new(),
            Context::Global | Context::Input => {
                let s = &self.session;
                let mut v = Vec::new();
                if self.plan_pane_keys() {
                    v.extend([
                        (Action::PlanOpenTask, "task output"),
                        (Action::PlanTaskDown, "next task"),
                    ]);
                }
                if s.view.state.routes.pending().is_some() {
                    v.push((Action::RouteTask, "pick team"));
                }
                // A tool call waiting for the person comes first: its turn is stopped on it.
                let waiting = s.view.calls.waiting(&s.view.state).len();
                if waiting > 0 {
                    v.extend([
                        (Action::ApproveHandoff, "approve call"),
                        (Action::RejectHandoff, "reject call"),
                    ]);
                    if waiting > 1 {
                        v.push((Action::SelectCallNext, "next call"));
                    }
                    v.push((Action::ToggleCall, "unfold"));
                } else if s.handoff().pending().is_some() {
                    // Short labels: all five fit in the footer at 80 columns.
                    v.extend([
                        (Action::ApproveHandoff, "approve"),
                        (Action::RejectHandoff, "reject"),
                        (Action::PreviewContext, "preview"),
                        (Action::RedirectHandoff, "redirect"),
                        (Action::CancelHandoff, "cancel"),
                    ]);
                } else if s.handoff().current().is_some() {
                    v.extend([
                        (Action::RedirectHandoff, "redirect"),
                        (Action::CancelHandoff, "cancel handoff"),
                    ]);
                }
                if s.is_running() {
                    v.push((Action::Interrupt, "cancel"));
                }
                // Every steering key of the pattern, so each is discoverable (the footer drops
                // the ones that do not fit, most useful last).
                for (action, label) in steering_actions(s.pattern()) {
                    let label = match action {
                        Action::TogglePause if s.paused() => "resume",
                        _ => label,
                    };
                    if !v.iter().any(|(a, _)| *a == action) {
                        v.push((action, label));
                    }
                }
                if waiting == 0 && self.call_to_toggle().is_some() {
                    v.push((Action::ToggleCall, "unfold call"));
                }
                v.extend([
                    (Action::FocusNext, "focus"),
                    (
                        Action::Zoom,
                        if self.panes.zoom { "unzoom" } else { "zoom" },
                    ),
                    (Action::Help, "help"),
                    (Action::Quit, "quit"),
                ]);
                v
            }
        }
    }

    /// The input box's title: what Enter does with what is typed.
    pub fn input_target(&self) -> String {
        let text = self.input.text();
        match text
            .strip_prefix('@')
            .and_then(|r| r.split_whitespace().next())
        {
            Some(name) if self.session.agent_index(name).is_some() => format!(" to @{name} "),
            _ if text.starts_with('/') => " command ".to_string(),
            // While agents work a message waits for the next boundary of the pattern.
            _ if self.session.task_open() => queued_title(&self.session.view.state.queued),
            _ if !self.session.view.state.queued.is_empty() => {
                queued_title(&self.session.view.state.queued)
            }
            _ => " message ".to_string(),
        }
    }
}

/// The input box's title while messages wait: what is queued and how to take it back.
fn queued_title(queued: &[crate::core::state::Queued]) -> String {
    match queued.last() {
        None => " queue for the next turn ".to_string(),
        Some(q) => format!(
            " queue for the next turn · {} queued, last {}: {} · /unqueue takes it back ",
            queued.len(),
            q.id,
            crate::tui::wrap::truncate(&q.text, 24)
        ),
    }
}
