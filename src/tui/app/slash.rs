//! Submitting the input: a `/command`, or a message (`@agent` addresses one agent; while agents
//! work the session queues it for the pattern's next boundary, `/unqueue` takes it back).

use crate::core::Command;

use super::super::overlays::{Overlay, Picker, PickerPurpose};
use super::{App, Effect};
use crate::tui::Outbound;

impl App {
    pub(super) fn submit(&mut self) -> Vec<Effect> {
        let text = self.input.text();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            // Enter on an empty input unfolds the focused agent's chosen (or newest) tool call.
            if self.panes.focused_agent().is_some() && self.call_to_toggle().is_some() {
                self.toggle_call();
            }
            return Vec::new();
        }
        if trimmed.starts_with('/') {
            let line = trimmed.to_string();
            self.input.take();
            return self.slash(&line);
        }
        let (to, body) = match trimmed.strip_prefix('@') {
            Some(rest) => {
                let (name, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if self.session.agent_index(name).is_none() {
                    let known = self
                        .agent_names()
                        .iter()
                        .map(|a| format!("@{a}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.note(format!("no agent named @{name} (agents: {known})"));
                    return Vec::new();
                }
                (Some(name.to_string()), body.trim().to_string())
            }
            None => (None, trimmed.to_string()),
        };
        if body.is_empty() {
            return Vec::new();
        }
        self.input.take();
        // While agents work the session queues it for the pattern's next boundary.
        vec![Effect::Send(Outbound::Command(Command::Send {
            text: body,
            to,
        }))]
    }

    fn slash(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let arg = words.next();
        let cmd = |c: Command| vec![Effect::Send(Outbound::Command(c))];
        match name {
            "/team" => match arg {
                Some(team) if self.config.teams.contains_key(team) => {
                    vec![Effect::Send(Outbound::NewSession {
                        team: team.to_string(),
                    })]
                }
                Some(team) => {
                    let known: Vec<&str> = self.config.teams.keys().map(String::as_str).collect();
                    self.note(format!(
                        "no team named {team} (teams: {})",
                        known.join(", ")
                    ));
                    Vec::new()
                }
                None => {
                    let items: Vec<String> = self.config.teams.keys().cloned().collect();
                    let details = items
                        .iter()
                        .map(|t| {
                            self.config
                                .teams
                                .get(t)
                                .map(|c| {
                                    let d = c.description.clone().unwrap_or_default();
                                    format!("{} · {d}", c.pattern.as_str())
                                })
                                .unwrap_or_default()
                        })
                        .collect();
                    self.overlays.push(Overlay::Picker(Picker {
                        title: "Switch team".into(),
                        items,
                        details,
                        selected: 0,
                        purpose: PickerPurpose::Team,
                    }));
                    Vec::new()
                }
            },
            "/agents" => {
                self.open_agent_picker("Agents", PickerPurpose::Agent);
                Vec::new()
            }
            "/vote" => cmd(Command::CallVote {}),
            "/pause" => cmd(Command::Pause {}),
            "/resume" => cmd(Command::Resume {}),
            "/stop" => cmd(Command::Stop {}),
            "/unqueue" => {
                let queued = &self.session.view.state.queued;
                let id = match arg {
                    Some(id) => Some(id.to_string()),
                    None => queued.last().map(|q| q.id.clone()),
                };
                match id {
                    Some(id) => cmd(Command::CancelQueued { id }),
                    None => {
                        self.note("no message is queued");
                        Vec::new()
                    }
                }
            }
            "/export" => match arg.unwrap_or("md") {
                f @ ("md" | "json") => vec![Effect::Send(Outbound::Export {
                    format: f.to_string(),
                })],
                other => {
                    self.note(format!("/export: unknown format {other:?} (md or json)"));
                    Vec::new()
                }
            },
            "/new" => vec![Effect::Send(Outbound::NewSession {
                team: self.session.team().to_string(),
            })],
            "/sessions" => vec![Effect::Send(Outbound::OpenSessions)],
            "/fork" => {
                let seq = match arg.map(str::parse::<u64>) {
                    Some(Ok(seq)) => Some(seq),
                    Some(Err(_)) => None,
                    None => self.session.last_seq(),
                };
                match seq {
                    Some(seq) => vec![Effect::Send(Outbound::Fork { seq })],
                    None => {
                        self.note("/fork SEQ: give the event number to fork at");
                        Vec::new()
                    }
                }
            }
            "/diff" => match arg {
                Some(id) => vec![Effect::Send(Outbound::Diff { id: id.to_string() })],
                None => {
                    self.note("/diff ID: give the session to compare with (/sessions lists them)");
                    Vec::new()
                }
            },
            "/tools" => vec![Effect::Send(Outbound::ListTools)],
            "/help" => {
                self.overlays.push(Overlay::Help(0));
                Vec::new()
            }
            other => {
                self.note(format!("unknown command {other}; /help lists them"));
                Vec::new()
            }
        }
    }
}
