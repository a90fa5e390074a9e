//! The plan in the console: the Plan pane's keys (select a task, open its output), the review
//! editor's inputs and what its steps send (`edit_plan` then `approve_plan`, or `reject_plan`),
//! opening the editor when a plan is proposed that waits for the person, and closing it when
//! the plan is decided some other way (its window ran out, a replay, a `--control` line).

use crate::core::Command;
use crate::core::event::{Event, EventKind, PlanTask};

use super::super::keymap::Action;
use super::super::overlays::Overlay;
use super::super::overlays::plan_edit::{DraftTask, Input, PlanEditor, Step};
use super::super::panes::Focus;
use super::super::scroll::Scroll;
use super::{App, Effect};
use crate::core::state::plan::{TaskRun, TaskStatus};
use crate::tui::Outbound;

impl App {
    /// Perform `action` when it acts on the plan; `None` when it is not a plan action here.
    pub(super) fn plan_action(&mut self, action: Action) -> Option<Vec<Effect>> {
        if let Some(Overlay::PlanEdit(editor)) = self.overlays.last_mut() {
            let input = match action {
                Action::PlanEditUp | Action::PickerUp => Input::Up,
                Action::PlanEditDown | Action::PickerDown => Input::Down,
                Action::PlanReassign => Input::Reassign,
                Action::PlanEditText => Input::Edit,
                Action::PlanDelete => Input::Delete,
                Action::PlanDepends => Input::Depends,
                Action::PlanApprove => Input::Approve,
                Action::PlanReject => Input::Reject,
                Action::PlanEditClose => Input::Close,
                Action::PickerSelect => Input::Select,
                Action::PickerClose | Action::TextCancel => Input::Back,
                Action::TextDone => Input::Done,
                Action::TextNewline => Input::Newline,
                // Ctrl+C leaves a text area or a list first, then the editor.
                Action::Interrupt if editor.context() != super::Context::PlanEdit => Input::Back,
                Action::Interrupt => Input::Close,
                _ => return None,
            };
            // The person is deciding: the window stops counting (an editor that opened by
            // itself lets it count until the first key; closing it is no decision).
            let deciding = !matches!(input, Input::Close);
            let step = editor.on(input);
            let mut out = if deciding {
                self.hold_plan()
            } else {
                Vec::new()
            };
            out.extend(self.plan_step(step));
            return Some(out);
        }
        match action {
            Action::OpenPlan => Some(self.open_plan_editor(true)),
            Action::PlanTaskUp | Action::PlanTaskDown => {
                let delta = if action == Action::PlanTaskUp { -1 } else { 1 };
                if let Some(pane) = &mut self.panes.plan {
                    pane.move_by(delta, self.session.plan());
                }
                Some(Vec::new())
            }
            Action::PlanOpenTask => {
                self.open_task_output();
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// A key no action claims, typed into the editor's open text area: `true` when it was.
    pub(super) fn plan_type(&mut self, input: Input) -> bool {
        match self.overlays.last_mut() {
            Some(Overlay::PlanEdit(editor)) if editor.is_typing() => {
                editor.on(input);
                true
            }
            _ => false,
        }
    }

    /// Whether the Plan pane takes the plan keys now: it has the focus and the input is empty.
    pub(super) fn plan_pane_keys(&self) -> bool {
        self.panes.focus == Focus::Plan && self.panes.plan.is_some() && self.input.is_empty()
    }

    /// `hold_plan` when the review's window still counts and no hold was asked for yet.
    fn hold_plan(&mut self) -> Vec<Effect> {
        let counting = self.session.plan_review().is_some_and(|r| r.is_counting());
        let Some(Overlay::PlanEdit(editor)) = self.overlays.last_mut() else {
            return Vec::new();
        };
        if !counting || editor.hold_asked {
            return Vec::new();
        }
        editor.hold_asked = true;
        vec![Effect::Send(Outbound::Command(Command::HoldPlan {}))]
    }

    fn plan_step(&mut self, step: Step) -> Vec<Effect> {
        let send = |c: Command| Effect::Send(Outbound::Command(c));
        match step {
            Step::Stay => Vec::new(),
            Step::Close => {
                self.overlays.pop();
                let key = self.keymap.hint(Action::OpenPlan).unwrap_or_default();
                self.note(format!("the plan waits for your review: {key} reopens it"));
                Vec::new()
            }
            Step::Approve { edited } => {
                self.overlays.pop();
                let mut out = Vec::new();
                if let Some(tasks) = edited {
                    let tasks = tasks.into_iter().map(into_plan_task).collect();
                    out.push(send(Command::EditPlan { tasks }));
                }
                out.push(send(Command::ApprovePlan {}));
                out
            }
            Step::Reject { reason } => {
                self.overlays.pop();
                vec![send(Command::RejectPlan {
                    reason: Some(reason),
                })]
            }
        }
    }

    /// Open the review editor on the plan waiting for the person, at the person's key (so say
    /// so when there is none); the approval window stops counting.
    pub(super) fn open_plan_editor(&mut self, asked: bool) -> Vec<Effect> {
        if !self.show_plan_editor() {
            if asked {
                self.note("no plan is waiting for review");
            }
            return Vec::new();
        }
        self.hold_plan()
    }

    /// Put the editor on top for the plan waiting for review; `false` when none waits.
    fn show_plan_editor(&mut self) -> bool {
        let Some(review) = self.session.plan_review() else {
            return false;
        };
        self.overlays.retain(|o| !matches!(o, Overlay::PlanEdit(_)));
        let tasks = review.tasks.iter().map(from_plan_task).collect();
        let members = self.plan_members();
        let editor = PlanEditor::new(review.version, review.by, tasks, members);
        self.overlays.push(Overlay::PlanEdit(Box::new(editor)));
        true
    }

    /// Open the editor when a plan arrives that waits for the person (its window, if any,
    /// counts until the person's first key there); close it when the plan it shows is decided
    /// without it.
    pub(super) fn on_plan_event(&mut self, event: &Event) {
        // A replay shows the plan; nobody reviews it.
        if self.is_replay() {
            return;
        }
        let open = self.overlays.iter().find_map(|o| match o {
            Overlay::PlanEdit(e) => Some(e.version),
            _ => None,
        });
        match &event.kind {
            EventKind::PlanProposed { .. } => {
                self.show_plan_editor();
            }
            // Edited elsewhere while the person reviews: the editor shows the new version. (The
            // person's own edit closed the editor; its approval follows.)
            EventKind::PlanEdited { version, .. } if open.is_some_and(|v| v != *version) => {
                self.show_plan_editor();
            }
            EventKind::PlanApproved { .. }
            | EventKind::PlanRejected { .. }
            | EventKind::SessionFinished { .. }
            | EventKind::SessionStarted { .. }
                if open.is_some() =>
            {
                self.overlays.retain(|o| !matches!(o, Overlay::PlanEdit(_)));
            }
            _ => {}
        }
    }

    /// Focus the selected task's agent, zoomed, scrolled to the task's turn (following it while
    /// it streams).
    fn open_task_output(&mut self) {
        let Some(task) = self.selected_task() else {
            self.note("no task to open");
            return;
        };
        let (id, agent, turn) = (task.id().to_string(), task.spec.agent.clone(), task.turn);
        let Some(i) = self.session.agent_index(&agent) else {
            self.note(format!("{agent} has no pane"));
            return;
        };
        let Some(turn) = turn else {
            self.note(format!("{id} has not started yet"));
            return;
        };
        self.panes.pin(Focus::Agent(i));
        self.panes.zoom = true;
        let block = self.session.agents[i]
            .blocks
            .iter()
            .position(|b| *b == turn);
        if let Some(pane) = self.panes.agents.get_mut(i) {
            pane.scroll.pos = match block {
                Some(cell) => Scroll::At { cell, row: 0 },
                None => Scroll::Follow,
            };
        }
    }

    /// The task selected in the Plan pane.
    fn selected_task(&self) -> Option<&TaskRun> {
        self.panes.plan.as_ref()?.selected_task(self.session.plan())
    }

    /// The agent of the selected task when that task is running.
    pub(super) fn selected_task_running_agent(&self) -> Option<String> {
        let task = self.selected_task()?;
        (task.status == TaskStatus::Running).then(|| task.spec.agent.clone())
    }

    /// The output of the selected task (its latest turn's text so far).
    pub(super) fn selected_task_output(&self) -> Option<String> {
        let task = self.selected_task()?;
        let turn = self.session.view.state.turns.get(&task.turn?)?;
        (!turn.text.is_empty()).then(|| turn.text.clone())
    }

    /// The agents a task may be given to: the team's members from the config, else the
    /// session's agents but the planner.
    fn plan_members(&self) -> Vec<String> {
        let team = self.config.teams.get(self.session.active_team());
        let members: Vec<String> = team.map(|t| t.members.clone()).unwrap_or_default();
        if !members.is_empty() {
            return members;
        }
        let planner = team.and_then(|t| t.planner.clone());
        self.agent_names()
            .into_iter()
            .filter(|a| Some(a) != planner.as_ref())
            .collect()
    }
}

fn from_plan_task(t: &PlanTask) -> DraftTask {
    DraftTask {
        id: t.id.clone(),
        agent: t.agent.clone(),
        instructions: t.instructions.clone(),
        depends_on: t.depends_on.clone(),
        compensation: t.compensation.clone(),
    }
}

fn into_plan_task(t: DraftTask) -> PlanTask {
    PlanTask {
        id: t.id,
        agent: t.agent,
        instructions: t.instructions,
        depends_on: t.depends_on,
        compensation: t.compensation,
    }
}
