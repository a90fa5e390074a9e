//! What each action does: turns a named action into state changes and [`Effect`]s.
//!
//! Ctrl+C (`interrupt`) is defined here once: it cancels whatever runs; when nothing runs it
//! clears the input; when the input is empty too it asks before quitting (a second Ctrl+C in
//! that question quits).

use crate::core::Command;
use crate::core::event::PatternKind;
use crate::core::patterns::redirect_targets;

use super::super::keymap::Action;
use super::super::overlays::{ConfirmKind, Overlay, Picker, PickerPurpose};
use super::super::panes::Focus;
use super::super::scroll::{self, ScrollBy};
use super::{App, Effect};
use crate::tui::Outbound;

impl App {
    /// Perform `action`.
    pub fn perform(&mut self, action: Action) -> Vec<Effect> {
        if let Some(effects) = self.plan_action(action) {
            return effects;
        }
        match action {
            Action::Interrupt => return self.interrupt(),
            Action::Quit => self.overlays.push(Overlay::Confirm(ConfirmKind::Quit)),
            Action::Suspend => return vec![Effect::Suspend],
            Action::Help => self.overlays.push(Overlay::Help(0)),
            Action::HelpUp | Action::HelpDown => {
                if let Some(Overlay::Help(scroll) | Overlay::Tools(_, scroll)) =
                    self.overlays.last_mut()
                {
                    *scroll = if action == Action::HelpUp {
                        scroll.saturating_sub(3)
                    } else {
                        scroll.saturating_add(3)
                    };
                }
            }
            Action::ApproveHandoff | Action::RejectHandoff
                if let Some(call_id) = self.chosen_waiting_call() =>
            {
                return self.decide_call(action, call_id);
            }
            Action::ApproveHandoff => {
                if self.session.handoff().pending().is_some() {
                    return send(Command::ApproveHandoff {});
                }
                self.note("no handoff is waiting for approval");
            }
            Action::RejectHandoff => {
                if self.session.handoff().pending().is_some() {
                    return send(Command::RejectHandoff {
                        reason: Some("rejected by the user".into()),
                    });
                }
                self.note("no handoff is waiting for approval");
            }
            Action::CancelHandoff => {
                if self.session.handoff().current().is_some() {
                    return send(Command::CancelHandoff {});
                }
                self.note("no handoff to cancel");
            }
            Action::RedirectHandoff => return self.open_redirect_picker(),
            Action::RouteTask => return self.open_route_picker(),
            Action::CancelTurn => return self.cancel_focused_turn(),
            Action::TogglePause => {
                if self.session.paused() {
                    return send(Command::Resume {});
                }
                return send(Command::Pause {});
            }
            Action::PickSpeaker => {
                self.open_agent_picker("Who speaks next?", PickerPurpose::PickSpeaker)
            }
            Action::CallVote => return send(Command::CallVote {}),
            Action::FocusNext => self.panes.focus_next(),
            Action::FocusPrev => self.panes.focus_prev(),
            Action::Zoom => self.panes.zoom = !self.panes.zoom,
            Action::ScrollUp => self.scroll_focused(ScrollBy::Page(true)),
            Action::ScrollDown => self.scroll_focused(ScrollBy::Page(false)),
            Action::ScrollTop => {
                if let Some(st) = self.panes.focused_scroll() {
                    scroll::scroll_top(st);
                }
            }
            Action::FollowTail => {
                if let Some(st) = self.panes.focused_scroll() {
                    st.pos = scroll::Scroll::Follow;
                }
            }
            Action::CopyMessage => {
                if let Some(text) = self.focused_text() {
                    return vec![Effect::Copy(text)];
                }
                self.note("nothing to copy in this pane");
            }
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                return vec![Effect::SetMouse(self.mouse)];
            }
            Action::Submit => return self.submit(),
            Action::Newline => self.input.textarea.insert_newline(),
            Action::HistoryPrev => self.input.history_prev(),
            Action::HistoryNext => self.input.history_next(),
            Action::Complete => self.input.accept_completion(),
            Action::CompletionNext => {
                if let Some(c) = &mut self.input.completion {
                    c.selected = (c.selected + 1) % c.items.len().max(1);
                }
            }
            Action::CompletionPrev => {
                if let Some(c) = &mut self.input.completion {
                    let n = c.items.len().max(1);
                    c.selected = (c.selected + n - 1) % n;
                }
            }
            Action::CompletionClose => self.input.dismiss_completion(),
            Action::PickerUp | Action::PickerDown => {
                if let Some(Overlay::Picker(p)) = self.overlays.last_mut() {
                    if action == Action::PickerUp {
                        p.up();
                    } else {
                        p.down();
                    }
                }
            }
            Action::PickerSelect => return self.picker_select(),
            Action::PickerClose | Action::HelpClose | Action::ConfirmNo => {
                self.overlays.pop();
            }
            Action::ConfirmYes => {
                if let Some(Overlay::Confirm(ConfirmKind::Quit)) = self.overlays.pop() {
                    return vec![Effect::Send(Outbound::Quit), Effect::Quit];
                }
            }
            // Plans: performed by `plan_action` where they apply (the Plan pane, the editor).
            Action::OpenPlan
            | Action::PlanTaskUp
            | Action::PlanTaskDown
            | Action::PlanOpenTask
            | Action::PlanEditUp
            | Action::PlanEditDown
            | Action::PlanApprove
            | Action::PlanReject
            | Action::PlanReassign
            | Action::PlanEditText
            | Action::PlanDelete
            | Action::PlanDepends
            | Action::PlanEditClose
            | Action::TextDone
            | Action::TextNewline
            | Action::TextCancel => {}
            Action::ReplayToggle
            | Action::ReplayStep
            | Action::ReplayNextTurn
            | Action::ReplayNextHandoff
            | Action::ReplayNextVote
            | Action::ReplayBack
            | Action::ReplayForward
            | Action::ReplaySeek
            | Action::ReplayEnd
            | Action::ReplayFaster
            | Action::ReplaySlower
            | Action::ReplayQuit => return self.replay_action(action),
            // Tool calls (issue 10 item 6).
            Action::SelectCallPrev => self.choose_call(true),
            Action::SelectCallNext => self.choose_call(false),
            Action::ToggleCall => self.toggle_call(),
            Action::ReasonSubmit | Action::ReasonCancel => return self.reason_action(action),
            // Context preview (issue 12 item 3).
            Action::PreviewContext
            | Action::PreviewUp
            | Action::PreviewDown
            | Action::PreviewPageUp
            | Action::PreviewPageDown
            | Action::PreviewEdit
            | Action::PreviewDelete
            | Action::PreviewApprove
            | Action::PreviewClose
            | Action::PreviewEditKeep
            | Action::PreviewEditDrop => return self.preview_action(action),
        }
        Vec::new()
    }

    /// Add a console note to the transcript.
    pub fn note(&mut self, text: impl Into<String>) {
        self.screen.touch();
        self.session.notice(text);
    }

    fn interrupt(&mut self) -> Vec<Effect> {
        if self.session.is_running() {
            return send(Command::CancelTurn { agent: None });
        }
        if !self.input.is_empty() {
            self.input.clear();
            return Vec::new();
        }
        self.overlays.push(Overlay::Confirm(ConfirmKind::Quit));
        Vec::new()
    }

    fn cancel_focused_turn(&mut self) -> Vec<Effect> {
        let target = match self.panes.focus {
            Focus::Agent(i) => self
                .session
                .agents
                .get(i)
                .filter(|_| self.session.is_busy(i))
                .map(|a| a.info.name.clone()),
            Focus::Transcript => self.session.speaking().map(str::to_string),
            // The selected task's turn: cancelling it counts as the task's failure.
            Focus::Plan => self.selected_task_running_agent(),
        };
        match target {
            Some(agent) => send(Command::CancelTurn { agent: Some(agent) }),
            None => {
                self.note("the focused agent is not running a turn");
                Vec::new()
            }
        }
    }

    /// The redirect picker offers exactly what the core accepts ([`redirect_targets`]); opening
    /// it holds a pending handoff's window (`hold_handoff`) until the person decides.
    fn open_redirect_picker(&mut self) -> Vec<Effect> {
        let Some(t) = self.session.handoff().current() else {
            self.note("no handoff to redirect");
            return Vec::new();
        };
        let (from, to) = (t.from.clone(), t.to.clone());
        let allowed = match self.config.teams.get(self.session.active_team()) {
            Some(team) => redirect_targets(team, &from, &to),
            None => Vec::new(),
        };
        if allowed.is_empty() {
            self.note(format!("{from} may not hand off to anyone but {to}"));
            return Vec::new();
        }
        let details = allowed.iter().map(|a| self.agent_detail(a)).collect();
        self.overlays.push(Overlay::Picker(Picker {
            title: format!("Redirect {from} → {to} to…"),
            items: allowed,
            details,
            selected: 0,
            purpose: PickerPurpose::RedirectHandoff,
        }));
        self.hold_pending()
    }

    /// `hold_handoff` when a handoff waits in a window that still counts.
    pub(super) fn hold_pending(&self) -> Vec<Effect> {
        let counting = self
            .session
            .handoff()
            .pending()
            .is_some_and(|p| !p.held && p.window_ms.is_some());
        if counting {
            return send(Command::HoldHandoff {});
        }
        Vec::new()
    }

    pub(super) fn open_agent_picker(&mut self, title: &str, purpose: PickerPurpose) {
        if self.session.pattern() == Some(PatternKind::GroupChat)
            || purpose != PickerPurpose::PickSpeaker
        {
            let items = self.agent_names();
            if items.is_empty() {
                self.note("no agents yet");
                return;
            }
            let details = items.iter().map(|a| self.agent_detail(a)).collect();
            self.overlays.push(Overlay::Picker(Picker {
                title: title.to_string(),
                items,
                details,
                selected: 0,
                purpose,
            }));
        } else {
            self.note("picking the next speaker is for group chats");
        }
    }

    fn agent_detail(&self, name: &str) -> String {
        self.session
            .agent_index(name)
            .map(|i| {
                let info = &self.session.agents[i].info;
                format!("{} · {}", info.backend, info.model)
            })
            .or_else(|| {
                self.config
                    .agents
                    .get(name)
                    .map(|a| format!("{} · {}", a.backend, a.model))
            })
            .unwrap_or_default()
    }

    fn picker_select(&mut self) -> Vec<Effect> {
        let Some(Overlay::Picker(p)) = self.overlays.pop() else {
            return Vec::new();
        };
        let Some(choice) = p.choice().map(str::to_string) else {
            return Vec::new();
        };
        match p.purpose {
            PickerPurpose::RedirectHandoff => send(Command::RedirectHandoff { to: choice }),
            PickerPurpose::PickSpeaker => send(Command::PickSpeaker { agent: choice }),
            PickerPurpose::Team => vec![Effect::Send(Outbound::NewSession { team: choice })],
            PickerPurpose::Agent => {
                if let Some(i) = self.session.agent_index(&choice) {
                    self.panes.pin(Focus::Agent(i));
                }
                Vec::new()
            }
            PickerPurpose::Session => vec![Effect::Send(Outbound::Resume { id: choice })],
            PickerPurpose::Route => send(Command::Route { team: choice }),
        }
    }

    fn focused_text(&self) -> Option<String> {
        match self.panes.focus {
            Focus::Agent(i) => self
                .session
                .agents
                .get(i)
                .and_then(|a| a.last_text(&self.session.view.state.turns)),
            Focus::Transcript => self
                .session
                .transcript
                .iter()
                .rev()
                .find_map(|e| e.copy_text()),
            Focus::Plan => self.selected_task_output(),
        }
    }
}

pub(super) fn send(command: Command) -> Vec<Effect> {
    vec![Effect::Send(Outbound::Command(command))]
}
