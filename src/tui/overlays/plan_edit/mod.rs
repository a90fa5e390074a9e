//! The plan review editor: a proposed plan as an editable table (id, agent, depends on,
//! instructions) that the person changes and then approves or rejects.
//!
//! Mental model: a pure state machine over a copy of the proposed tasks. Named inputs
//! ([`Input`], from the keymap) go in, a [`Step`] comes out: stay, close (the plan stays
//! pending; the global `open_plan` key reopens it), approve (with the edited tasks when they
//! differ from the proposal, so the App sends `edit_plan` first, then `approve_plan`), or reject
//! with a reason (`reject_plan`). Its modes: the table; a member list to reassign the selected
//! task (members only); a checklist of the other tasks to add or remove dependencies (an edge
//! that would close a cycle is refused with a note); a text area for the instructions; a text
//! area for the rejection reason. Deleting a task drops it from every dependent's `depends_on`.
//! Nothing here does IO or reads a clock: tests drive it with inputs alone.

pub mod render;

use crossterm::event::KeyEvent;
use ratatui_textarea::{TextArea, WrapMode};

use super::super::keymap::Context;

/// One task as the editor holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftTask {
    pub id: String,
    pub agent: String,
    pub instructions: String,
    pub depends_on: Vec<String>,
    /// Carried through unchanged (undoing a completed task when the plan compensates).
    pub compensation: Option<String>,
}

/// A text area being edited (instructions or a rejection reason).
#[derive(Clone, Debug)]
pub struct TextBox(pub TextArea<'static>);

impl TextBox {
    fn new(text: &str, placeholder: &str) -> TextBox {
        let lines = if text.is_empty() {
            vec![String::new()]
        } else {
            text.lines().map(str::to_string).collect()
        };
        let mut area = TextArea::new(lines);
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        area.set_placeholder_text(placeholder);
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        TextBox(area)
    }

    pub fn text(&self) -> String {
        self.0.lines().join("\n").trim_end().to_string()
    }
}

impl PartialEq for TextBox {
    fn eq(&self, other: &Self) -> bool {
        self.0.lines() == other.0.lines() && self.0.cursor() == other.0.cursor()
    }
}

impl Eq for TextBox {}

/// What the editor shows and what its keys do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Table,
    /// Choosing the selected task's agent: the cursor in the member list.
    Reassign {
        cursor: usize,
    },
    /// Ticking the selected task's dependencies: the cursor in the list of the other tasks.
    Depends {
        cursor: usize,
    },
    Instructions(TextBox),
    Reject(TextBox),
}

/// A named input (from the keymap), or a key or paste for a text area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Up,
    Down,
    Reassign,
    Edit,
    Delete,
    Depends,
    Approve,
    Reject,
    Close,
    /// Choose in a list (reassign: take the member; depends: tick or untick).
    Select,
    /// Leave a list or a text area without what it was doing.
    Back,
    /// Keep the text of a text area.
    Done,
    Newline,
    Key(KeyEvent),
    Paste(String),
}

/// What the editor asks of the App.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Stay,
    /// Close; the plan stays pending.
    Close,
    /// Approve the plan; `edited` holds the tasks to send as `edit_plan` first.
    Approve {
        edited: Option<Vec<DraftTask>>,
    },
    Reject {
        reason: String,
    },
}

/// The reason sent when the person rejects without writing one.
pub const DEFAULT_REASON: &str = "rejected by the user";

/// The editor's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEditor {
    /// The plan version under review.
    pub version: u32,
    /// Who proposed it (the planner).
    pub by: String,
    /// The tasks as proposed.
    pub proposed: Vec<DraftTask>,
    /// The tasks as edited so far.
    pub tasks: Vec<DraftTask>,
    /// The agents a task may be given to.
    pub members: Vec<String>,
    /// The selected row of the table.
    pub selected: usize,
    pub mode: Mode,
    /// Feedback on the last input (a refused edge, an empty plan), until the next one.
    pub note: Option<String>,
    /// The App asked the session to hold the review window (once is enough).
    pub hold_asked: bool,
}

impl PlanEditor {
    pub fn new(version: u32, by: &str, tasks: Vec<DraftTask>, members: Vec<String>) -> PlanEditor {
        PlanEditor {
            version,
            by: by.to_string(),
            proposed: tasks.clone(),
            tasks,
            members,
            selected: 0,
            mode: Mode::Table,
            note: None,
            hold_asked: false,
        }
    }

    /// Whether the tasks differ from the proposal.
    pub fn is_edited(&self) -> bool {
        self.tasks != self.proposed
    }

    /// The key context of the current mode.
    pub fn context(&self) -> Context {
        match self.mode {
            Mode::Table => Context::PlanEdit,
            Mode::Reassign { .. } | Mode::Depends { .. } => Context::Picker,
            Mode::Instructions(_) | Mode::Reject(_) => Context::PlanText,
        }
    }

    /// Whether a text area has the keys (unbound keys are typed into it).
    pub fn is_typing(&self) -> bool {
        matches!(self.mode, Mode::Instructions(_) | Mode::Reject(_))
    }

    /// The other tasks, the candidates for the selected task's dependencies.
    pub fn dependency_candidates(&self) -> Vec<&DraftTask> {
        let me = self.tasks.get(self.selected).map(|t| t.id.as_str());
        self.tasks
            .iter()
            .filter(|t| Some(t.id.as_str()) != me)
            .collect()
    }

    /// Whether `candidate` already (transitively) depends on `task`, so that making `task`
    /// depend on it would close a cycle.
    pub fn reaches(&self, candidate: &str, task: &str) -> bool {
        let mut stack = vec![candidate];
        let mut seen = Vec::new();
        while let Some(id) = stack.pop() {
            if id == task {
                return true;
            }
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if let Some(t) = self.tasks.iter().find(|t| t.id == id) {
                stack.extend(t.depends_on.iter().map(String::as_str));
            }
        }
        false
    }

    /// Take one input.
    pub fn on(&mut self, input: Input) -> Step {
        self.note = None;
        let mode = std::mem::replace(&mut self.mode, Mode::Table);
        match mode {
            Mode::Table => self.on_table(input),
            Mode::Reassign { cursor } => {
                self.on_reassign(cursor, input);
                Step::Stay
            }
            Mode::Depends { cursor } => {
                self.on_depends(cursor, input);
                Step::Stay
            }
            Mode::Instructions(text) => {
                self.on_instructions(text, input);
                Step::Stay
            }
            Mode::Reject(text) => self.on_reject(text, input),
        }
    }

    fn on_table(&mut self, input: Input) -> Step {
        let n = self.tasks.len();
        match input {
            Input::Up => self.selected = self.selected.saturating_sub(1),
            Input::Down if self.selected + 1 < n => self.selected += 1,
            Input::Reassign => match self.tasks.get(self.selected) {
                Some(t) if !self.members.is_empty() => {
                    let cursor = self.members.iter().position(|m| *m == t.agent);
                    self.mode = Mode::Reassign {
                        cursor: cursor.unwrap_or(0),
                    };
                }
                Some(_) => self.note = Some("no members to give the task to".into()),
                None => self.note = Some("no task selected".into()),
            },
            Input::Edit => match self.tasks.get(self.selected) {
                Some(t) => {
                    let text = TextBox::new(&t.instructions, "what the agent should do");
                    self.mode = Mode::Instructions(text);
                }
                None => self.note = Some("no task selected".into()),
            },
            Input::Delete => self.delete_selected(),
            Input::Depends => {
                if n < 2 {
                    self.note = Some("a task can only depend on another task".into());
                } else {
                    self.mode = Mode::Depends { cursor: 0 };
                }
            }
            Input::Approve => {
                if self.tasks.is_empty() {
                    self.note =
                        Some("a plan needs at least one task: reject it instead".to_string());
                    return Step::Stay;
                }
                let edited = self.is_edited().then(|| self.tasks.clone());
                return Step::Approve { edited };
            }
            Input::Reject => {
                self.mode = Mode::Reject(TextBox::new("", "why? the planner reads this"));
            }
            Input::Close | Input::Back => return Step::Close,
            _ => {}
        }
        Step::Stay
    }

    fn delete_selected(&mut self) {
        if self.selected >= self.tasks.len() {
            self.note = Some("no task selected".into());
            return;
        }
        let gone = self.tasks.remove(self.selected);
        for t in &mut self.tasks {
            t.depends_on.retain(|d| *d != gone.id);
        }
        self.selected = self.selected.min(self.tasks.len().saturating_sub(1));
        self.note = Some(format!("deleted {}", gone.id));
    }

    fn on_reassign(&mut self, cursor: usize, input: Input) {
        match input {
            Input::Up => {
                self.mode = Mode::Reassign {
                    cursor: cursor.saturating_sub(1),
                }
            }
            Input::Down => {
                let last = self.members.len().saturating_sub(1);
                self.mode = Mode::Reassign {
                    cursor: (cursor + 1).min(last),
                }
            }
            Input::Select => {
                if let (Some(m), Some(t)) =
                    (self.members.get(cursor), self.tasks.get_mut(self.selected))
                {
                    t.agent = m.clone();
                }
            }
            Input::Back | Input::Close => {}
            _ => self.mode = Mode::Reassign { cursor },
        }
    }

    fn on_depends(&mut self, cursor: usize, input: Input) {
        let count = self.dependency_candidates().len();
        match input {
            Input::Up => {
                self.mode = Mode::Depends {
                    cursor: cursor.saturating_sub(1),
                }
            }
            Input::Down => {
                self.mode = Mode::Depends {
                    cursor: (cursor + 1).min(count.saturating_sub(1)),
                }
            }
            Input::Select => {
                self.toggle_dependency(cursor);
                self.mode = Mode::Depends { cursor };
            }
            Input::Back | Input::Close | Input::Done => {}
            _ => self.mode = Mode::Depends { cursor },
        }
    }

    fn toggle_dependency(&mut self, cursor: usize) {
        let Some(other) = self
            .dependency_candidates()
            .get(cursor)
            .map(|t| t.id.clone())
        else {
            return;
        };
        let Some(me) = self.tasks.get(self.selected).map(|t| t.id.clone()) else {
            return;
        };
        let has = self.tasks[self.selected].depends_on.contains(&other);
        if has {
            self.tasks[self.selected].depends_on.retain(|d| *d != other);
        } else if self.reaches(&other, &me) {
            self.note = Some(format!(
                "{other} already waits for {me}: that edge would close a cycle"
            ));
        } else {
            self.tasks[self.selected].depends_on.push(other);
        }
    }

    fn on_instructions(&mut self, mut text: TextBox, input: Input) {
        match input {
            Input::Done => {
                let new = text.text();
                if new.trim().is_empty() {
                    self.note =
                        Some("instructions cannot be empty (Esc keeps the old ones)".into());
                    self.mode = Mode::Instructions(text);
                    return;
                }
                if let Some(t) = self.tasks.get_mut(self.selected) {
                    t.instructions = new;
                }
            }
            Input::Back => {}
            other => {
                type_into(&mut text, other);
                self.mode = Mode::Instructions(text);
            }
        }
    }

    fn on_reject(&mut self, mut text: TextBox, input: Input) -> Step {
        match input {
            Input::Done => {
                let reason = text.text();
                let reason = if reason.trim().is_empty() {
                    DEFAULT_REASON.to_string()
                } else {
                    reason
                };
                Step::Reject { reason }
            }
            Input::Back => Step::Stay,
            other => {
                type_into(&mut text, other);
                self.mode = Mode::Reject(text);
                Step::Stay
            }
        }
    }
}

/// A key, a paste or a new line into a text area.
fn type_into(text: &mut TextBox, input: Input) {
    match input {
        Input::Key(key) => {
            text.0.input(key);
        }
        Input::Paste(s) => {
            let s = s.replace("\r\n", "\n").replace('\r', "\n");
            text.0
                .insert_str(super::super::sanitize::strip_controls(&s));
        }
        Input::Newline => text.0.insert_newline(),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
