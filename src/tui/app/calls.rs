//! The tool-call keys: approve or reject the waiting call (rejecting asks for a reason the model
//! sees), choose among the waiting calls (or, when none waits, among the focused agent's calls),
//! and unfold the chosen call in its pane. The choice is [`CallFocus`](super::super::panes::calls::CallFocus)
//! (a call id); the approval panel and the agent panes draw it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::core::Command;

use super::super::keymap::Action;
use super::super::overlays::Overlay;
use super::super::overlays::reason::ReasonPrompt;
use super::super::overlays::tools::ToolsReport;
use super::super::panes::Focus;
use super::super::panes::tool_approval::chosen_of;
use super::{App, Effect};
use crate::tools::ServerListing;
use crate::tui::Outbound;

impl App {
    /// The waiting call the approve / reject keys act on: the chosen one, else the oldest.
    pub fn chosen_waiting_call(&self) -> Option<String> {
        let view = &self.session.view;
        let waiting = view.calls.waiting(&view.state);
        chosen_of(&waiting, self.panes.calls.selected.as_deref()).map(|c| c.id.to_string())
    }

    /// Approve the waiting call, or ask why it is rejected.
    pub(super) fn decide_call(&mut self, action: Action, call_id: String) -> Vec<Effect> {
        if action == Action::ApproveHandoff {
            return vec![Effect::Send(Outbound::Command(Command::ApproveTool {
                call_id: Some(call_id),
            }))];
        }
        let view = &self.session.view;
        let Some(call) = view.calls.get(&view.state, &call_id) else {
            return Vec::new();
        };
        let prompt = ReasonPrompt {
            subject: call.subject(),
            agent: call.record.agent.clone(),
            call_id,
            text: String::new(),
        };
        self.overlays.push(Overlay::Reason(prompt));
        Vec::new()
    }

    /// The reason prompt's keys; other keys edit the reason.
    pub(super) fn reason_action(&mut self, action: Action) -> Vec<Effect> {
        let Some(Overlay::Reason(_)) = self.overlays.last() else {
            return Vec::new();
        };
        let Some(Overlay::Reason(prompt)) = self.overlays.pop() else {
            return Vec::new();
        };
        if action != Action::ReasonSubmit {
            return Vec::new();
        }
        let reason = prompt.text.trim().to_string();
        vec![Effect::Send(Outbound::Command(Command::RejectTool {
            call_id: Some(prompt.call_id),
            reason: (!reason.is_empty()).then_some(reason),
        }))]
    }

    /// Type `key` into the reason prompt.
    pub(super) fn edit_reason(&mut self, key: &KeyEvent) {
        let Some(Overlay::Reason(prompt)) = self.overlays.last_mut() else {
            return;
        };
        match key.code {
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                prompt.text.push(c)
            }
            _ => {}
        }
    }

    /// Paste into the reason prompt (on one line).
    pub(super) fn paste_reason(&mut self, text: &str) {
        if let Some(Overlay::Reason(prompt)) = self.overlays.last_mut() {
            let one: String = super::super::sanitize::strip_controls(text)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            prompt.text.push_str(&one);
        }
    }

    /// Choose the previous (`back`) or next call: among the waiting ones when calls wait (the
    /// chosen one's pane is focused and shows it), else among the focused agent's calls.
    pub(super) fn choose_call(&mut self, back: bool) {
        let view = &self.session.view;
        let waiting: Vec<String> = view
            .calls
            .waiting(&view.state)
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        let ids: Vec<String> = if !waiting.is_empty() {
            waiting
        } else if let Some(agent) = self
            .panes
            .focused_agent()
            .and_then(|i| self.session.agents.get(i))
        {
            agent.calls.iter().map(|(_, id)| id.clone()).collect()
        } else {
            Vec::new()
        };
        if ids.is_empty() {
            self.note("no tool call to choose: the focused agent has made none");
            return;
        }
        let current = self
            .panes
            .calls
            .selected
            .as_ref()
            .and_then(|s| ids.iter().position(|id| id == s));
        let next = match (current, back) {
            (None, _) => ids.len() - 1,
            (Some(0), true) => 0,
            (Some(i), true) => i - 1,
            (Some(i), false) => (i + 1).min(ids.len() - 1),
        };
        let id = ids[next].clone();
        self.reveal_call(&id);
        self.panes.calls.selected = Some(id);
    }

    /// Focus the pane of call `id` and bring the call into view.
    fn reveal_call(&mut self, id: &str) {
        let Some(agent) = self
            .session
            .view
            .state
            .calls
            .get(id)
            .map(|c| c.agent.clone())
        else {
            return;
        };
        let Some(i) = self.session.agent_index(&agent) else {
            return;
        };
        self.panes.pin(Focus::Agent(i));
        let cell = self.session.agents[i]
            .calls
            .iter()
            .position(|(_, c)| c == id)
            .and_then(|k| self.session.agents[i].call_cell(k));
        if let (Some(cell), Some(pane)) = (cell, self.panes.agents.get_mut(i)) {
            pane.reveal(cell);
        }
    }

    /// The call `toggle_call` acts on: the chosen one when it is in the focused agent's pane
    /// (or no agent is focused), else that agent's newest call.
    pub fn call_to_toggle(&self) -> Option<String> {
        let focused = self
            .panes
            .focused_agent()
            .and_then(|i| self.session.agents.get(i));
        let chosen = self.panes.calls.selected.clone();
        match focused {
            Some(agent) => chosen
                .filter(|id| agent.calls.iter().any(|(_, c)| c == id))
                .or_else(|| agent.calls.last().map(|(_, id)| id.clone())),
            None => chosen,
        }
    }

    /// Unfold or fold the call `toggle_call` acts on.
    pub(super) fn toggle_call(&mut self) {
        match self.call_to_toggle() {
            Some(id) => {
                self.panes.calls.toggle(&id);
                self.panes.calls.selected = Some(id);
            }
            None => self.note("no tool call to unfold: the focused agent has made none"),
        }
    }

    /// `/tools` answered: show the report.
    pub(super) fn open_tools(&mut self, listing: &[ServerListing]) {
        let report = ToolsReport::build(listing, &self.config, &self.agent_names());
        self.overlays.push(Overlay::Tools(Box::new(report), 0));
    }

    /// The countdown the reason prompt shows for its call, if it waits in a window.
    pub fn reason_countdown(&self, prompt: &ReasonPrompt) -> Option<String> {
        let view = &self.session.view;
        let call = view.calls.get(&view.state, &prompt.call_id)?;
        call.window_left_ms(self.now)
            .map(|_| super::super::panes::tool_approval::countdown(&call, self.now))
    }
}
