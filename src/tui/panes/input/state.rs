//! The input box: a multi-line textarea, the history of sent inputs, and the completion popup
//! for `/commands` and `@agents` typed at the start of the input.

use ratatui_textarea::TextArea;

/// The slash commands, with what they do.
pub const SLASH_COMMANDS: [(&str, &str); 14] = [
    ("/team", "switch team: /team NAME"),
    ("/agents", "list the agents"),
    ("/vote", "call a vote"),
    ("/pause", "pause the session"),
    ("/resume", "resume the session"),
    ("/stop", "stop the session"),
    ("/unqueue", "take back a queued message: /unqueue [ID]"),
    ("/export", "export: /export md|json"),
    ("/new", "new session with this team"),
    ("/sessions", "open recorded sessions"),
    ("/fork", "fork the session: /fork [SEQ]"),
    ("/diff", "diff against another session: /diff ID"),
    ("/help", "show the key bindings"),
    ("/tools", "MCP servers, their tools, who may use them"),
];

/// The completion popup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// (inserted text, description)
    pub items: Vec<(String, String)>,
    pub selected: usize,
}

/// Input box state.
#[derive(Debug)]
pub struct InputState {
    pub textarea: TextArea<'static>,
    pub history: Vec<String>,
    /// Position while browsing the history (`None`: editing a fresh input).
    pub history_pos: Option<usize>,
    /// What was being typed before browsing started.
    pub draft: String,
    pub completion: Option<Completion>,
    /// Closed with Esc: stays closed until the text changes.
    completion_dismissed: Option<String>,
}

impl Default for InputState {
    fn default() -> Self {
        InputState::new()
    }
}

impl InputState {
    pub fn new() -> InputState {
        let mut textarea = TextArea::default();
        textarea.set_placeholder_text("Type a message · @agent to address one · / for commands");
        InputState {
            textarea,
            history: Vec::new(),
            history_pos: None,
            draft: String::new(),
            completion: None,
            completion_dismissed: None,
        }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.textarea.lines().iter().all(|l| l.is_empty())
    }

    pub fn line_count(&self) -> usize {
        self.textarea.lines().len()
    }

    pub fn set_text(&mut self, text: &str) {
        self.textarea.select_all();
        self.textarea.cut();
        self.textarea.insert_str(text);
    }

    pub fn clear(&mut self) {
        self.set_text("");
        self.history_pos = None;
        self.completion = None;
        self.completion_dismissed = None;
    }

    /// Take the text out for sending and remember it in the history.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.clear();
        text
    }

    pub fn history_prev(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let pos = match self.history_pos {
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(p) => p.saturating_sub(1),
        };
        self.history_pos = Some(pos);
        let text = self.history[pos].clone();
        self.set_text(&text);
    }

    pub fn history_next(&mut self) {
        let Some(p) = self.history_pos else { return };
        if p + 1 < self.history.len() {
            self.history_pos = Some(p + 1);
            let text = self.history[p + 1].clone();
            self.set_text(&text);
        } else {
            self.history_pos = None;
            let draft = std::mem::take(&mut self.draft);
            self.set_text(&draft);
        }
    }

    /// Recompute the completion popup for the current text; `agents` are the names for `@`.
    pub fn update_completion(&mut self, agents: &[String], teams: &[String]) {
        let text = self.text();
        if self.completion_dismissed.as_deref() == Some(text.as_str()) {
            return;
        }
        self.completion_dismissed = None;
        let items = candidates(&text, agents, teams);
        self.completion = if items.is_empty() {
            None
        } else {
            let selected = self
                .completion
                .as_ref()
                .map(|c| c.selected.min(items.len() - 1))
                .unwrap_or(0);
            Some(Completion { items, selected })
        };
    }

    pub fn dismiss_completion(&mut self) {
        self.completion = None;
        self.completion_dismissed = Some(self.text());
    }

    /// Replace the word being completed with the selected candidate.
    pub fn accept_completion(&mut self) {
        let Some(c) = self.completion.take() else {
            return;
        };
        let Some((insert, _)) = c.items.get(c.selected) else {
            return;
        };
        let text = self.text();
        let rest = text.split_once(' ').map(|(_, r)| r).unwrap_or("");
        let new = if insert.starts_with("/team ") {
            insert.clone()
        } else {
            format!("{insert} {rest}")
        };
        self.set_text(&new);
        self.completion_dismissed = Some(self.text());
    }
}

fn candidates(text: &str, agents: &[String], teams: &[String]) -> Vec<(String, String)> {
    if text.contains('\n') {
        return Vec::new();
    }
    if let Some(prefix) = text.strip_prefix("/team ") {
        return teams
            .iter()
            .filter(|t| t.starts_with(prefix.trim()) && t.as_str() != prefix.trim())
            .map(|t| (format!("/team {t}"), "switch to this team".to_string()))
            .collect();
    }
    if text.contains(' ') {
        return Vec::new();
    }
    if text.starts_with('/') {
        return SLASH_COMMANDS
            .iter()
            .filter(|(c, _)| c.starts_with(text) && *c != text)
            .map(|(c, d)| (c.to_string(), d.to_string()))
            .collect();
    }
    if let Some(prefix) = text.strip_prefix('@') {
        return agents
            .iter()
            .filter(|a| a.starts_with(prefix) && a.as_str() != prefix)
            .map(|a| (format!("@{a}"), "address this agent".to_string()))
            .collect();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_browses_and_restores_the_draft() {
        let mut input = InputState::new();
        input.set_text("one");
        input.take();
        input.set_text("two");
        input.take();
        input.set_text("dra");
        input.history_prev();
        assert_eq!(input.text(), "two");
        input.history_prev();
        assert_eq!(input.text(), "one");
        input.history_next();
        input.history_next();
        assert_eq!(input.text(), "dra");
    }

    #[test]
    fn completes_commands_agents_and_teams() {
        let agents = vec!["optimist".to_string(), "skeptic".to_string()];
        let teams = vec!["debate".to_string(), "support".to_string()];
        let mut input = InputState::new();
        input.set_text("/pa");
        input.update_completion(&agents, &teams);
        assert_eq!(input.completion.as_ref().unwrap().items[0].0, "/pause");
        input.accept_completion();
        assert_eq!(input.text(), "/pause ");
        input.set_text("@sk");
        input.update_completion(&agents, &teams);
        input.accept_completion();
        assert_eq!(input.text(), "@skeptic ");
        input.set_text("/team s");
        input.update_completion(&agents, &teams);
        input.accept_completion();
        assert_eq!(input.text(), "/team support");
        input.set_text("hello");
        input.update_completion(&agents, &teams);
        assert!(input.completion.is_none());
    }
}
