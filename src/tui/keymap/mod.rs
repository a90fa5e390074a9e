//! Key bindings: named actions per context, separate from the keys that trigger them.
//!
//! Contexts are checked from the innermost out: an open overlay (`help`, `picker`, `confirm`,
//! the context preview's `preview`, or `preview_edit` while one of its messages is edited)
//! sees keys first and alone; otherwise the slash/@ `completion` popup (when shown), then
//! `global`, then `input`; keys no action claims are typed into the input box. A console that
//! plays a recorded session (`conclave replay`) has no input box: `replay` comes before
//! `global` there, and digits typed are the count (N) of its seek keys. Defaults live in
//! [`defaults`]; `[keys.<context>] <action> = "ctrl+r"` (or a list) replaces an action's keys.
//! The help overlay, the footer hints and the README table are all generated from this map.

pub mod key;

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

use crate::config::Config;

pub use key::Key;

/// Where a key is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Input,
    Completion,
    Picker,
    Confirm,
    Help,
    // Plans (issue 11): the Plan pane when focused, the plan review editor and its text areas.
    Plan,
    PlanEdit,
    PlanText,
    /// `conclave replay` in the console: consulted before `global`, instead of `input`.
    Replay,
    /// The reason prompt of a tool-call rejection.
    Reason,
    // Context preview (issue 12 item 3).
    /// The context preview overlay: what a pending handoff's target will receive.
    Preview,
    /// Editing one message of the context preview (other keys are typed into the editor).
    PreviewEdit,
}

impl Context {
    pub const ALL: [Context; 13] = [
        Context::Global,
        Context::Input,
        Context::Completion,
        Context::Picker,
        Context::Confirm,
        Context::Help,
        Context::Plan,
        Context::PlanEdit,
        Context::PlanText,
        Context::Replay,
        Context::Reason,
        Context::Preview,
        Context::PreviewEdit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Input => "input",
            Context::Completion => "completion",
            Context::Picker => "picker",
            Context::Confirm => "confirm",
            Context::Help => "help",
            Context::Plan => "plan",
            Context::PlanEdit => "plan_edit",
            Context::PlanText => "plan_text",
            Context::Replay => "replay",
            Context::Reason => "reason",
            Context::Preview => "preview",
            Context::PreviewEdit => "preview_edit",
        }
    }

    pub fn parse(s: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

macro_rules! actions {
    ($($variant:ident $name:literal $ctx:ident [$($key:literal),*] $desc:literal;)*) => {
        /// Everything a key can do.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name used in `[keys.<context>]`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            pub fn context(self) -> Context {
                match self { $(Action::$variant => Context::$ctx),* }
            }

            /// What it does, for the help overlay.
            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $desc),* }
            }

            /// The default keys.
            pub fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*]),* }
            }
        }
    };
}

actions! {
    Interrupt "interrupt" Global ["ctrl+c"] "cancel what runs; else clear the input; else ask to quit";
    Quit "quit" Global ["ctrl+q"] "quit (asks first)";
    Suspend "suspend" Global ["ctrl+z"] "suspend to the shell (`fg` comes back)";
    Help "help" Global ["f1", "alt+h"] "show this help";
    ApproveHandoff "approve_handoff" Global ["ctrl+y"] "approve the waiting tool call or handoff";
    RejectHandoff "reject_handoff" Global ["ctrl+n"] "reject the waiting tool call or handoff";
    CancelHandoff "cancel_handoff" Global ["ctrl+x"] "cancel the pending or active handoff";
    RedirectHandoff "redirect_handoff" Global ["ctrl+o"] "redirect the handoff to another agent";
    CancelTurn "cancel_turn" Global ["ctrl+k"] "cancel the focused agent's turn";
    TogglePause "toggle_pause" Global ["ctrl+p"] "pause / resume the session";
    PickSpeaker "pick_speaker" Global ["ctrl+t"] "pick the next speaker";
    CallVote "call_vote" Global ["ctrl+g"] "call a vote";
    FocusNext "focus_next" Global ["tab"] "focus the next pane";
    FocusPrev "focus_prev" Global ["shift+tab"] "focus the previous pane";
    Zoom "zoom" Global ["ctrl+f"] "zoom the focused pane";
    ScrollUp "scroll_up" Global ["pageup"] "scroll the focused pane up";
    ScrollDown "scroll_down" Global ["pagedown"] "scroll the focused pane down";
    ScrollTop "scroll_top" Global ["ctrl+home"] "scroll to the top";
    FollowTail "follow_tail" Global ["ctrl+end"] "jump to the end and follow";
    CopyMessage "copy_message" Global ["alt+c"] "copy the focused message (OSC 52)";
    ToggleMouse "toggle_mouse" Global ["alt+m"] "capture the mouse on / off";
    Submit "submit" Input ["enter"] "send the message or slash command";
    Newline "newline" Input ["alt+enter", "shift+enter", "ctrl+j"] "new line in the input";
    HistoryPrev "history_prev" Input ["up"] "previous input from history";
    HistoryNext "history_next" Input ["down"] "next input from history";
    Complete "complete" Completion ["tab", "enter"] "accept the completion";
    CompletionNext "completion_next" Completion ["down"] "next completion";
    CompletionPrev "completion_prev" Completion ["up"] "previous completion";
    CompletionClose "completion_close" Completion ["esc"] "close the completion popup";
    PickerUp "picker_up" Picker ["up", "k"] "move up";
    PickerDown "picker_down" Picker ["down", "j"] "move down";
    PickerSelect "picker_select" Picker ["enter"] "choose";
    PickerClose "picker_close" Picker ["esc", "q"] "close";
    ConfirmYes "confirm_yes" Confirm ["y", "enter", "ctrl+c"] "yes";
    ConfirmNo "confirm_no" Confirm ["n", "esc"] "no";
    HelpClose "help_close" Help ["esc", "q", "f1"] "close the help";
    HelpUp "help_up" Help ["up", "k", "pageup"] "scroll the help up";
    HelpDown "help_down" Help ["down", "j", "pagedown"] "scroll the help down";
    // Plans (issue 11).
    OpenPlan "open_plan" Global ["alt+p"] "review the proposed plan (the plan editor)";
    PlanTaskUp "task_up" Plan ["up"] "select the task above (Plan pane focused, input empty)";
    PlanTaskDown "task_down" Plan ["down"] "select the task below";
    PlanOpenTask "open_task" Plan ["enter"] "open the selected task's output (its agent, zoomed)";
    PlanEditUp "up" PlanEdit ["up", "k"] "previous task";
    PlanEditDown "down" PlanEdit ["down", "j"] "next task";
    PlanApprove "approve" PlanEdit ["y", "ctrl+y"] "approve the plan (your edits are sent first)";
    PlanReject "reject" PlanEdit ["r", "ctrl+n"] "reject the plan with a reason for the planner";
    PlanReassign "reassign" PlanEdit ["a"] "give the task to another member";
    PlanEditText "edit" PlanEdit ["e", "enter"] "edit the task's instructions";
    PlanDelete "delete" PlanEdit ["d", "delete"] "delete the task (its dependents lose the edge)";
    PlanDepends "depends" PlanEdit ["w"] "add or remove the tasks it waits for";
    PlanEditClose "close" PlanEdit ["esc", "q"] "close; the plan stays pending (Alt+P reopens)";
    TextDone "done" PlanText ["enter"] "keep the text (a reason: reject with it)";
    TextNewline "newline" PlanText ["alt+enter", "shift+enter", "ctrl+j"] "new line";
    TextCancel "cancel" PlanText ["esc"] "drop the change";
    ReplayToggle "toggle_play" Replay ["space"] "pause / play (at the end: from the start)";
    ReplayStep "step" Replay [".", "n"] "play one more event (pauses)";
    ReplayNextTurn "next_turn" Replay ["t"] "jump to the next turn";
    ReplayNextHandoff "next_handoff" Replay ["h"] "jump to the next handoff";
    ReplayNextVote "next_vote" Replay ["v"] "jump to the next vote";
    ReplayBack "back" Replay ["left", "b"] "back N events (type N first; 10 if none)";
    ReplayForward "forward" Replay ["right", "f"] "forward N events (type N first; 10 if none)";
    ReplaySeek "seek" Replay ["g", "enter"] "go to seq N (type N first; none: the first)";
    ReplayEnd "end" Replay ["end", "e"] "go to the last event";
    ReplayFaster "faster" Replay ["]", "="] "play faster (fastest: all at once)";
    ReplaySlower "slower" Replay ["[", "-"] "play slower";
    ReplayQuit "quit_replay" Replay ["q"] "quit the replay";
    // Tool calls (issue 10 item 6).
    SelectCallPrev "select_call_prev" Global ["alt+up"] "choose the previous tool call";
    SelectCallNext "select_call_next" Global ["alt+down"] "choose the next tool call";
    ToggleCall "toggle_call" Global ["alt+e"] "unfold / fold the chosen tool call";
    ReasonSubmit "reason_submit" Reason ["enter"] "reject with the reason typed (or none)";
    ReasonCancel "reason_cancel" Reason ["esc"] "keep the call waiting";
    // Auto routing (issue 11).
    RouteTask "route_task" Global ["alt+r"] "pick another team for the task (auto teams)";
    // Context preview (issue 12 item 3).
    PreviewContext "preview_context" Global ["ctrl+e"] "preview and edit the handoff target's context";
    PreviewUp "preview_up" Preview ["up", "k"] "previous message";
    PreviewDown "preview_down" Preview ["down", "j"] "next message";
    PreviewPageUp "preview_page_up" Preview ["pageup"] "scroll up a page";
    PreviewPageDown "preview_page_down" Preview ["pagedown"] "scroll down a page";
    PreviewEdit "preview_edit" Preview ["e", "enter"] "edit the message's text";
    PreviewDelete "preview_delete" Preview ["d", "delete"] "delete the message (again: keep it)";
    PreviewApprove "preview_approve" Preview ["ctrl+y", "a"] "approve the handoff with this context";
    PreviewClose "preview_close" Preview ["esc", "q"] "back, edits dropped (the handoff stays held)";
    PreviewEditKeep "preview_edit_keep" PreviewEdit ["ctrl+s"] "keep the edited text";
    PreviewEditDrop "preview_edit_drop" PreviewEdit ["esc"] "drop this edit";
}

impl Action {
    pub fn parse(context: Context, name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.context() == context && a.name() == name)
    }
}

/// The active bindings.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// The defaults.
    pub fn defaults() -> Keymap {
        let bindings = Action::ALL
            .iter()
            .map(|a| {
                let keys = a
                    .default_keys()
                    .iter()
                    .filter_map(|k| Key::parse(k).ok())
                    .collect();
                (*a, keys)
            })
            .collect();
        Keymap { bindings }
    }

    /// The defaults with `config.keys` applied; bad entries are skipped (see [`validate`]).
    pub fn from_config(config: &Config) -> Keymap {
        let mut map = Keymap::defaults();
        for (ctx_name, actions) in &config.keys {
            let Some(ctx) = Context::parse(ctx_name) else {
                continue;
            };
            for (action_name, binding) in actions {
                let Some(action) = Action::parse(ctx, action_name) else {
                    continue;
                };
                let keys: Vec<Key> = binding
                    .keys()
                    .iter()
                    .filter_map(|k| Key::parse(k).ok())
                    .collect();
                if !keys.is_empty() {
                    map.bindings.insert(action, keys);
                }
            }
        }
        map
    }

    /// The action `ev` triggers in `context`.
    pub fn lookup(&self, context: Context, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev)?;
        self.bindings
            .iter()
            .find(|(a, keys)| a.context() == context && keys.contains(&key))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `Ctrl+Y` or `Esc / q`.
    pub fn keys_display(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(Key::display)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The first key in compact form, for footer hints.
    pub fn hint(&self, action: Action) -> Option<String> {
        self.keys(action).first().map(Key::short)
    }

    /// Pairs of actions whose keys clash: in the same context, a `global` key hiding an
    /// `input` one (global is consulted first), or a `replay` key hiding a `global` one.
    pub fn collisions(&self) -> Vec<(Action, Action, Key)> {
        let mut out = Vec::new();
        let entries: Vec<(Action, Key)> = self
            .bindings
            .iter()
            .flat_map(|(a, keys)| keys.iter().map(move |k| (*a, *k)))
            .collect();
        for (i, (a, ka)) in entries.iter().enumerate() {
            for (b, kb) in &entries[i + 1..] {
                if a == b || ka != kb {
                    continue;
                }
                let (ca, cb) = (a.context(), b.context());
                let clash = ca == cb
                    || matches!(
                        (ca, cb),
                        (Context::Global, Context::Input)
                            | (Context::Input, Context::Global)
                            | (Context::Global, Context::Replay)
                            | (Context::Replay, Context::Global)
                    );
                if clash {
                    out.push((*a, *b, *ka));
                }
            }
        }
        out
    }

    /// A Markdown table of every binding (the README's "Key bindings" section).
    pub fn markdown_table(&self) -> String {
        let mut s = String::from("| context | action | keys | what it does |\n|---|---|---|---|\n");
        for a in Action::ALL {
            let keys = self
                .keys(*a)
                .iter()
                .map(|k| format!("`{}`", k.display()))
                .collect::<Vec<_>>()
                .join(", ");
            s.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                a.context().as_str(),
                a.name(),
                keys,
                a.describe()
            ));
        }
        s
    }
}

/// Warnings about `config.keys`: unknown contexts, actions and keys, and collisions.
pub fn validate(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    for (ctx_name, actions) in &config.keys {
        let Some(ctx) = Context::parse(ctx_name) else {
            let known: Vec<&str> = Context::ALL.iter().map(|c| c.as_str()).collect();
            warnings.push(format!(
                "keys.{ctx_name}: unknown context (known: {})",
                known.join(", ")
            ));
            continue;
        };
        for (action_name, binding) in actions {
            if Action::parse(ctx, action_name).is_none() {
                let known: Vec<&str> = Action::ALL
                    .iter()
                    .filter(|a| a.context() == ctx)
                    .map(|a| a.name())
                    .collect();
                warnings.push(format!(
                    "keys.{ctx_name}.{action_name}: unknown action (known in {ctx_name}: {})",
                    known.join(", ")
                ));
                continue;
            }
            for k in binding.keys() {
                if let Err(e) = Key::parse(k) {
                    warnings.push(format!("keys.{ctx_name}.{action_name}: {e}"));
                }
            }
        }
    }
    for (a, b, k) in Keymap::from_config(config).collisions() {
        warnings.push(format!(
            "keys: {} is bound to both {}.{} and {}.{}",
            k.display(),
            a.context().as_str(),
            a.name(),
            b.context().as_str(),
            b.name()
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeyBinding;

    #[test]
    fn every_default_action_has_a_key_and_none_collide() {
        let map = Keymap::defaults();
        for a in Action::ALL {
            assert!(!map.keys(*a).is_empty(), "{} has no key", a.name());
            assert_eq!(
                map.keys(*a).len(),
                a.default_keys().len(),
                "{}: a default key does not parse",
                a.name()
            );
        }
        assert_eq!(map.collisions(), vec![]);
    }

    #[test]
    fn config_overrides_one_action_and_keeps_the_rest() {
        let mut config = Config::default();
        config.keys.entry("global".into()).or_default().insert(
            "approve_handoff".into(),
            KeyBinding::Many(vec!["f5".into(), "ctrl+a".into()]),
        );
        let map = Keymap::from_config(&config);
        assert_eq!(map.keys_display(Action::ApproveHandoff), "F5 / Ctrl+A");
        assert_eq!(map.keys_display(Action::RejectHandoff), "Ctrl+N");
        assert!(validate(&config).is_empty());
    }

    #[test]
    fn validate_reports_unknown_names_bad_keys_and_collisions() {
        let mut config = Config::default();
        config
            .keys
            .entry("nowhere".into())
            .or_default()
            .insert("x".into(), KeyBinding::One("a".into()));
        let global = config.keys.entry("global".into()).or_default();
        global.insert("fly".into(), KeyBinding::One("ctrl+z".into()));
        global.insert("zoom".into(), KeyBinding::One("ctrl+banana".into()));
        global.insert("call_vote".into(), KeyBinding::One("ctrl+y".into()));
        let w = validate(&config);
        assert!(
            w.iter()
                .any(|w| w.contains("keys.nowhere") && w.contains("unknown context")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|w| w.contains("keys.global.fly") && w.contains("unknown action")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|w| w.contains("keys.global.zoom") && w.contains("banana")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|w| w.contains("Ctrl+Y") && w.contains("call_vote")),
            "{w:?}"
        );
        assert_eq!(w.len(), 4, "{w:?}");
    }

    #[test]
    fn readme_lists_the_default_bindings() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(
            readme.contains(&Keymap::defaults().markdown_table()),
            "README.md's key table is out of date; paste Keymap::defaults().markdown_table()"
        );
    }
}
