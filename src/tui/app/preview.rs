//! The context preview's actions (issue 12 item 3): `preview_context` opens exactly the request
//! the pending handoff's target will receive, built from the console's folded state and config by
//! [`pending_request`], and holds the handoff's approval window (`hold_handoff`) while it is
//! open. In it the person moves, deletes, edits a message's text in an editor kept beside the
//! overlay (`App::preview_editor`), approves (`edit_context` when anything changed, then
//! `approve_handoff`) or goes back (nothing sent; the handoff stays pending, held). When the
//! handoff is decided meanwhile (approved or redirected by a script, cancelled, its window run
//! out) the preview closes with a note; when a script edits the context meanwhile, an untouched
//! preview shows the edit.

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::config::{Config, ContextMode};
use crate::core::context::mode_for;
use crate::core::event::{Event, EventKind};
use crate::core::patterns::{Ctx, pending_request};
use crate::tui::Outbound;
use crate::view::TransferState;

use super::super::keymap::{Action, Context};
use super::super::overlays::Overlay;
use super::super::overlays::preview::ContextPreview;
use super::{App, Effect};

impl App {
    /// Perform one of the preview's actions (`preview_context` opens it).
    pub(super) fn preview_action(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::PreviewContext {
            return self.open_preview();
        }
        let Some(Overlay::Preview(p)) = self.overlays.last_mut() else {
            return Vec::new();
        };
        p.flash = None;
        match action {
            Action::PreviewUp => p.up(),
            Action::PreviewDown => p.down(),
            Action::PreviewPageUp => p.page(true),
            Action::PreviewPageDown => p.page(false),
            Action::PreviewEdit => {
                if let Some(m) = p.current() {
                    let lines = m.text.split('\n').map(str::to_string).collect();
                    let mut editor = TextArea::new(lines);
                    editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
                    editor.move_cursor(ratatui_textarea::CursorMove::End);
                    p.editing = true;
                    p.reveal = true;
                    self.preview_editor = Some(editor);
                }
            }
            Action::PreviewDelete => {
                if let Err(why) = p.toggle_delete() {
                    p.flash = Some(why.to_string());
                }
            }
            Action::PreviewEditKeep => {
                if let Some(editor) = self.preview_editor.take() {
                    p.set_text(editor.into_lines().join("\n"));
                }
                p.editing = false;
            }
            Action::PreviewEditDrop => {
                self.preview_editor = None;
                p.editing = false;
            }
            Action::PreviewApprove => {
                let commands = p.approve();
                self.close_preview();
                return commands
                    .into_iter()
                    .map(|c| Effect::Send(Outbound::Command(c)))
                    .collect();
            }
            Action::PreviewClose => {
                let changed = p.is_changed();
                self.close_preview();
                let dropped = if changed { " (your edits dropped)" } else { "" };
                let keys = |a: Action| self.keymap.hint(a).unwrap_or_default();
                let note = format!(
                    "context preview closed{dropped}: the handoff still waits for you · {} approve · {} preview again",
                    keys(Action::ApproveHandoff),
                    keys(Action::PreviewContext)
                );
                self.note(note);
            }
            _ => {}
        }
        Vec::new()
    }

    /// The key context of an open preview: its editor's while a message is edited.
    pub(super) fn preview_context(&self) -> Context {
        match self.overlays.last() {
            Some(Overlay::Preview(p)) if p.editing => Context::PreviewEdit,
            _ => Context::Preview,
        }
    }

    /// A key no preview action claims while a message is edited: it is typed into the editor.
    pub(super) fn preview_type(&mut self, key: KeyEvent) {
        if let Some(editor) = &mut self.preview_editor {
            editor.input(key);
        }
    }

    /// Pasted text goes into the editor of the message being edited.
    pub(super) fn preview_paste(&mut self, text: &str) {
        if let Some(editor) = &mut self.preview_editor {
            editor.insert_str(super::super::sanitize::strip_controls(text));
        }
    }

    /// After `event` was folded in: close the preview when its handoff no longer waits for the
    /// same target, and show a script's edit in an untouched preview.
    pub(super) fn follow_preview(&mut self, event: &Event) {
        let Some(p) = self.open_preview_state() else {
            return;
        };
        let (id, from, to) = (p.handoff.clone(), p.from.clone(), p.to.clone());
        let pending = self
            .session
            .handoff()
            .pending()
            .is_some_and(|t| t.id == id && t.to == to);
        if !pending {
            let what = self.what_became_of(&id, &to);
            self.close_preview();
            self.note(format!(
                "the handoff {from} → {to} was {what} meanwhile: the context preview closed and nothing in it was sent"
            ));
            return;
        }
        let edited_here =
            matches!(&event.kind, EventKind::ContextEdited { handoff, .. } if *handoff == id);
        if edited_here
            && !p.is_changed()
            && !p.editing
            && let Some(fresh) = self.build_preview()
        {
            let selected = p.selected.min(fresh.messages.len().saturating_sub(1));
            if let Some(Overlay::Preview(p)) = self.overlays.last_mut() {
                **p = ContextPreview {
                    selected,
                    flash: Some("edited meanwhile by a script: shown as it now stands".into()),
                    ..fresh
                };
            }
        }
    }

    fn open_preview(&mut self) -> Vec<Effect> {
        if self.session.handoff().pending().is_none() {
            self.note("no handoff is waiting for approval: there is no request to preview");
            return Vec::new();
        }
        let Some(preview) = self.build_preview() else {
            self.note(format!(
                "cannot build the request: team {} or the handoff's target is not in the config",
                self.session.team()
            ));
            return Vec::new();
        };
        self.preview_editor = None;
        self.overlays.push(Overlay::Preview(Box::new(preview)));
        self.hold_pending()
    }

    /// The preview of the pending handoff's target's request, as the session would build it.
    fn build_preview(&self) -> Option<ContextPreview> {
        let pending = self.session.handoff().pending()?;
        let ctx = Ctx {
            team: self.config.teams.get(self.session.team())?.clone(),
            agents: self.config.agents.clone(),
            unattended: None,
        };
        let tools = supports_tools(&self.config, &pending.to);
        let request = pending_request(&ctx, &self.session.view.state, tools)?;
        let mut preview = ContextPreview::new(&pending.id, &pending.from, &pending.to, &request);
        let edited = (self.session.view.state.handoff.edited.as_ref())
            .is_some_and(|e| e.handoff == pending.id);
        if mode_for(&ctx.team, Some(&pending.from), &pending.to) == ContextMode::Summary && !edited
        {
            preview.note = Some(format!(
                "{} → {} passes a summary: unless you edit, {} receives a summary of these \
                 messages (one model call when you approve) instead of them.",
                pending.from, pending.to, pending.to
            ));
        }
        Some(preview)
    }

    fn open_preview_state(&self) -> Option<&ContextPreview> {
        self.overlays.iter().rev().find_map(|o| match o {
            Overlay::Preview(p) => Some(&**p),
            _ => None,
        })
    }

    fn close_preview(&mut self) {
        self.overlays.retain(|o| !matches!(o, Overlay::Preview(_)));
        self.preview_editor = None;
    }

    /// How the handoff `id` (previewed for `to`) was decided: `accepted`, `redirected to tech`, …
    fn what_became_of(&self, id: &str, to: &str) -> String {
        let Some(t) = self
            .session
            .handoff()
            .transfers
            .iter()
            .rev()
            .find(|t| t.id == id)
        else {
            return "ended".into();
        };
        if t.to != to {
            return format!("redirected to {}", t.to);
        }
        match &t.state {
            TransferState::Requested => "replaced".into(),
            TransferState::Accepted | TransferState::Completed(_) => "accepted".into(),
            TransferState::Rejected(_) => "rejected".into(),
            TransferState::Cancelled(by) => format!("cancelled by {by}"),
            TransferState::FellBack { failed } => format!("given to {} ({failed} failed)", t.to),
        }
    }
}

/// Whether `agent`'s backend takes tool definitions (else its request carries the text markers
/// in its system prompt), as the session's provider will say: remote A2A agents never do.
fn supports_tools(config: &Config, agent: &str) -> bool {
    let Some(a) = config.agents.get(agent) else {
        return true;
    };
    a.a2a.is_none()
        && config
            .backends
            .get(&a.backend)
            .is_none_or(|b| b.tools != Some(false))
}
