//! `App`: the console's whole state — a projection of session events plus UI-only state, split
//! by concern: the session view (`state`), the panes (focus, zoom, each pane's scroll and
//! cached rows), the input box, the overlay stack, and the look (keymap, theme). It has no IO:
//! keys and events go in, [`Effect`]s come out, and the run loop performs them. That is what
//! the reducer and snapshot tests drive. `App` knows the panes; no pane knows `App`.

pub mod actions;
pub mod calls;
pub mod hints;
pub mod inbound;
pub mod plan;
pub mod preview;
pub mod replay;
pub mod route;
pub mod slash;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::style::Color;

use crate::config::Config;
use crate::core::event::Event;
use crate::core::event::{EventKind, Purpose};

use super::keymap::{Action, Context, Keymap};
use super::overlays::{Overlay, plan_edit};
use super::panes::input::InputState;
use super::panes::{AgentColors, Focus, PaneState};
use super::scroll::ScrollBy;
use super::state::SessionView;
use super::theme::{Theme, parse_color};
use super::{ConsoleSetup, Outbound};

/// Something the run loop must do for the App.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Send(Outbound),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Turn mouse capture on or off.
    SetMouse(bool),
    /// Give the shell its terminal and stop until `fg` (the `suspend` key, as SIGTSTP does).
    Suspend,
    Quit,
}

/// The console's state.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub backend_label: String,
    pub is_demo: bool,
    pub session: SessionView,
    pub panes: PaneState,
    pub input: InputState,
    pub overlays: Vec<Overlay>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub mouse: bool,
    /// Strip every colour from the frame (`NO_COLOR`).
    pub no_color: bool,
    /// The clock, set by the run loop before each frame (fixed in tests).
    pub now: DateTime<Utc>,
    /// Where each pane was last drawn, for the mouse.
    pub pane_rects: Vec<(Focus, Rect)>,
    /// The panes a streamed token does not change, kept between frames (see `cache`). Every
    /// method that changes what they show touches it.
    pub screen: super::cache::ScreenCache,
    /// Warnings from loading the theme and key bindings, shown in the transcript at start.
    pub warnings: Vec<String>,
    /// Set when the console plays a recorded session (`conclave replay`).
    pub replay: Option<replay::ReplayBar>,
    /// The editor of the context preview's message being edited (beside the overlay, which is
    /// plain data).
    pub preview_editor: Option<ratatui_textarea::TextArea<'static>>,
}

impl App {
    /// A console for `setup`, with its theme and key bindings from the config, and `history`
    /// already folded in.
    pub fn new(setup: ConsoleSetup) -> App {
        let (theme, mut warnings) = Theme::load(setup.config.ui.theme.as_deref());
        warnings.extend(super::keymap::validate(&setup.config));
        App::with_theme(setup, theme, warnings)
    }

    /// Like [`App::new`] with an explicit theme (tests, benches).
    pub fn with_theme(setup: ConsoleSetup, theme: Theme, warnings: Vec<String>) -> App {
        let keymap = Keymap::from_config(&setup.config);
        let session = SessionView::new(&setup.config, &setup.team);
        let now = setup.history.last().map(|e| e.ts).unwrap_or_else(Utc::now);
        let mut app = App {
            mouse: setup.config.ui.mouse.unwrap_or(true),
            config: setup.config,
            backend_label: setup.backend_label,
            is_demo: setup.is_demo,
            session,
            panes: PaneState::default(),
            input: InputState::new(),
            overlays: Vec::new(),
            keymap,
            theme,
            no_color: false,
            now,
            pane_rects: Vec::new(),
            screen: super::cache::ScreenCache::default(),
            warnings: Vec::new(),
            replay: None,
            preview_editor: None,
        };
        if setup.history.is_empty() {
            let demo = if app.is_demo {
                " — an offline demo that replays scripted answers"
            } else {
                ""
            };
            app.session
                .notice(format!("Backend: {}{demo}.", app.backend_label));
            app.session.notice(
                "Type a message and press Enter · F1 lists the keys · `conclave init` writes a config \
                 file where you choose backends, agents and teams.",
            );
        }
        for e in &setup.history {
            app.apply(e);
        }
        app.warnings = warnings;
        for w in app.warnings.clone() {
            app.session.notice(w);
        }
        app
    }

    /// Fold a session event into the view.
    pub fn apply(&mut self, event: &Event) {
        if !matches!(event.kind, EventKind::Token { .. }) {
            self.screen.touch();
        }
        let started = matches!(event.kind, EventKind::SessionStarted { .. });
        self.session.apply(event);
        if let EventKind::AgentsAnnounced { team, .. } = &event.kind {
            self.session.routed_to(&self.config, team);
            // Routed to a plan team: its Plan pane joins the screen.
            if self.session.is_plan() && self.panes.plan.is_none() {
                self.panes.plan = Some(super::panes::plan::PlanPane::default());
            }
        }
        if started {
            // The session may run another team than the one the console opened with.
            self.session.set_team_figures(&self.config);
            self.panes.reset(self.session.agents.len());
            if self.session.is_plan() {
                self.panes.plan = Some(super::panes::plan::PlanPane::default());
            }
            // A new session clears the transcript; the config's warnings still apply.
            for w in self.warnings.clone() {
                self.session.notice(w);
            }
        } else {
            self.panes.ensure(self.session.agents.len());
        }
        if let EventKind::TurnStarted {
            agent,
            purpose: Purpose::Speak,
            ..
        } = &event.kind
            && !self.panes.pinned
            && let Some(i) = self.session.agent_index(agent)
        {
            self.panes.focus = Focus::Agent(i);
        }
        self.follow_preview(event);
        self.on_plan_event(event);
    }

    /// Handle one key press.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.screen.touch();
        if let Some(top) = self.overlays.last() {
            let ctx = match top {
                Overlay::Help(_) => Context::Help,
                Overlay::Picker(_) => Context::Picker,
                Overlay::Confirm(_) => Context::Confirm,
                Overlay::Reason(_) => Context::Reason,
                Overlay::Tools(..) => Context::Help,
                Overlay::Preview(_) => self.preview_context(),
                Overlay::PlanEdit(editor) => editor.context(),
            };
            let plan_edit = matches!(top, Overlay::PlanEdit(_));
            return match self.keymap.lookup(ctx, &key) {
                Some(action) => self.perform(action),
                // Ctrl+C closes whatever overlay does not bind it itself (in the preview's
                // editor: drops the edit).
                None if self.keymap.lookup(Context::Global, &key) == Some(Action::Interrupt) => {
                    match ctx {
                        Context::PreviewEdit => return self.perform(Action::PreviewEditDrop),
                        Context::Preview => return self.perform(Action::PreviewClose),
                        _ => {}
                    }
                    if plan_edit {
                        return self.perform(Action::Interrupt);
                    }
                    self.overlays.pop();
                    Vec::new()
                }
                None if ctx == Context::PreviewEdit => {
                    self.preview_type(key);
                    Vec::new()
                }
                None => {
                    if !self.plan_type(plan_edit::Input::Key(key)) {
                        self.edit_reason(&key);
                    }
                    Vec::new()
                }
            };
        }
        if self.is_replay() {
            return self.handle_replay_key(key);
        }
        if self.input.completion.is_some()
            && let Some(action) = self.keymap.lookup(Context::Completion, &key)
        {
            return self.perform(action);
        }
        if let Some(action) = self.keymap.lookup(Context::Global, &key) {
            return self.perform(action);
        }
        if self.plan_pane_keys()
            && let Some(action) = self.keymap.lookup(Context::Plan, &key)
        {
            return self.perform(action);
        }
        if let Some(action) = self.keymap.lookup(Context::Input, &key)
            && !self.history_key_moves_cursor(action)
        {
            return self.perform(action);
        }
        self.input.textarea.input(key);
        self.input.history_pos = None;
        self.refresh_completion();
        Vec::new()
    }

    /// Bracketed paste: the text goes into the input as is, newlines included.
    pub fn handle_paste(&mut self, text: &str) {
        self.screen.touch();
        if self.context() == Context::PreviewEdit {
            self.preview_paste(text);
            return;
        }
        if !self.overlays.is_empty() || self.is_replay() {
            if !self.plan_type(plan_edit::Input::Paste(text.to_string())) {
                self.paste_reason(text);
            }
            return;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.input
            .textarea
            .insert_str(super::sanitize::strip_controls(&text));
        self.refresh_completion();
    }

    /// Mouse wheel: scroll the pane under the pointer; a click focuses it. True when that
    /// changed anything on screen (a pointer move or a wheel at the end changes nothing).
    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        self.screen.touch();
        let pos = Position::new(ev.column, ev.row);
        let Some((focus, _)) = self
            .pane_rects
            .iter()
            .find(|(_, r)| r.contains(pos))
            .copied()
        else {
            return false;
        };
        let before = self.panes.positions();
        match ev.kind {
            MouseEventKind::ScrollUp => {
                self.panes.pin(focus);
                self.scroll_focused(ScrollBy::Up(3));
            }
            MouseEventKind::ScrollDown => {
                self.panes.pin(focus);
                self.scroll_focused(ScrollBy::Down(3));
            }
            MouseEventKind::Down(_) => self.panes.pin(focus),
            _ => {}
        }
        self.panes.positions() != before
    }

    /// The colour of agent `name`: its own from the event or config, else the theme's palette.
    pub fn agent_color(&self, name: &str) -> Color {
        self.agent_colors().of(name)
    }

    /// Every agent's colour, for the panes.
    pub fn agent_colors(&self) -> AgentColors {
        let config_color = |name: &str| self.config.agents.get(name).and_then(|a| a.color.clone());
        let mut session = std::collections::BTreeMap::new();
        for (i, a) in self.session.agents.iter().enumerate() {
            let color = a
                .info
                .color
                .clone()
                .or_else(|| config_color(&a.info.name))
                .as_deref()
                .and_then(parse_color)
                .unwrap_or_else(|| self.theme.agent_color(i));
            // The first of two agents of one name wins, as `agent_index` finds it.
            session.entry(a.info.name.clone()).or_insert(color);
        }
        let configured = self
            .config
            .agents
            .iter()
            .filter_map(|(n, a)| Some((n.clone(), parse_color(a.color.as_deref()?)?)))
            .collect();
        AgentColors {
            session,
            configured,
            default: self.theme.agent_color(0),
        }
    }

    /// Scroll the focused pane.
    pub fn scroll_focused(&mut self, by: ScrollBy) {
        let colors = self.agent_colors();
        self.panes
            .scroll_focused(by, &self.session, (&self.theme, self.now), &colors);
    }

    /// Agent names, in session order.
    pub fn agent_names(&self) -> Vec<String> {
        self.session
            .agents
            .iter()
            .map(|a| a.info.name.clone())
            .collect()
    }

    /// The key context whose hints the footer shows.
    pub fn context(&self) -> Context {
        match self.overlays.last() {
            Some(Overlay::Help(_)) => Context::Help,
            Some(Overlay::Picker(_)) => Context::Picker,
            Some(Overlay::Confirm(_)) => Context::Confirm,
            Some(Overlay::Preview(_)) => self.preview_context(),
            Some(Overlay::PlanEdit(editor)) => editor.context(),
            None if self.is_replay() => Context::Replay,
            Some(Overlay::Reason(_)) => Context::Reason,
            Some(Overlay::Tools(..)) => Context::Help,
            None if self.input.completion.is_some() => Context::Completion,
            None => Context::Global,
        }
    }

    fn refresh_completion(&mut self) {
        let agents = self.agent_names();
        let teams: Vec<String> = self.config.teams.keys().cloned().collect();
        self.input.update_completion(&agents, &teams);
    }

    /// Up/Down inside a multi-line input move the cursor rather than browse the history.
    fn history_key_moves_cursor(&self, action: Action) -> bool {
        let row = self.input.textarea.cursor().0;
        match action {
            Action::HistoryPrev => row > 0,
            Action::HistoryNext => {
                self.input.history_pos.is_none() && row + 1 < self.input.line_count()
            }
            _ => false,
        }
    }
}
