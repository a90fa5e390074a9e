//! Overlays drawn above the main screen: help, pickers, confirmations, the context preview. The
//! overlay stack lives
//! in the `App` (the top one receives the keys); each overlay is plain data here, drawn by its
//! module from that data, the theme and the keymap, never from the `App`.

pub mod confirm;
pub mod help;
pub mod picker;
pub mod plan_edit;
pub mod preview;
pub mod reason;
pub mod tools;

use ratatui::layout::Rect;

/// What a picker's choice does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickerPurpose {
    RedirectHandoff,
    PickSpeaker,
    Team,
    /// Focus the chosen agent's pane (`/agents`).
    Agent,
    /// Resume the chosen recorded session (`/sessions`).
    Session,
    /// Route the task to the chosen team (an auto team's pending route, issue 11).
    Route,
}

/// A list to choose from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    pub title: String,
    pub items: Vec<String>,
    /// A line of detail per item (model, reason …), same length as `items`.
    pub details: Vec<String>,
    pub selected: usize,
    pub purpose: PickerPurpose,
}

impl Picker {
    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.items.len() {
            self.selected += 1;
        }
    }

    pub fn choice(&self) -> Option<&str> {
        self.items.get(self.selected).map(String::as_str)
    }
}

/// What a confirmation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmKind {
    Quit,
}

/// One overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// The help, scrolled down by this many rows.
    Help(u16),
    Picker(Picker),
    Confirm(ConfirmKind),
    /// Why a tool call is rejected (issue 10).
    Reason(reason::ReasonPrompt),
    /// `/tools`, scrolled down by this many rows.
    Tools(Box<tools::ToolsReport>, u16),
    /// What a pending handoff's target will receive, editable (its editor is `App::preview_editor`).
    Preview(Box<preview::ContextPreview>),
    /// The plan review editor (issue 11).
    PlanEdit(Box<plan_edit::PlanEditor>),
}

/// The frame of an information overlay (the help, `/tools`): `title` on top, the close keys at
/// the bottom right.
pub fn info_block(
    title: &'static str,
    keymap: &super::keymap::Keymap,
    theme: &super::theme::Theme,
) -> ratatui::widgets::Block<'static> {
    use ratatui::style::{Modifier, Style};
    use ratatui::text::{Line, Span};
    theme
        .popup(theme.accent)
        .title(Span::styled(
            title,
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ))
        .title_bottom(
            Line::styled(
                format!(
                    " {} closes ",
                    keymap.keys_display(super::keymap::Action::HelpClose)
                ),
                theme.dim_style(),
            )
            .right_aligned(),
        )
}

/// A `width`×`height` rectangle centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
