//! What the host tells the console besides events: notices go to the transcript, the sessions
//! list opens a picker, and a backend change updates the status bar.

use super::super::overlays::{Overlay, Picker, PickerPurpose};
use super::App;
use crate::tui::Inbound;
use crate::view::SessionSummary;

/// The picker lists at most this many sessions, newest first.
pub const MAX_LISTED_SESSIONS: usize = 20;

impl App {
    /// Take in one message from the host.
    pub fn receive(&mut self, inbound: Inbound) {
        if !matches!(inbound, Inbound::Event(_)) {
            self.screen.touch();
        }
        match inbound {
            Inbound::Event(e) => self.apply(&e),
            Inbound::Notice(text) => self.note(text),
            Inbound::Sessions(list) => self.open_sessions_picker(&list),
            Inbound::Tools(listing) => self.open_tools(&listing),
            Inbound::Backend { label, is_demo } => {
                self.note(format!("Backend: {label}."));
                self.backend_label = label;
                self.is_demo = is_demo;
            }
            Inbound::ReplayRestart => self.replay_restart(),
            Inbound::ReplayStatus(status) => self.replay_status(status),
        }
    }

    fn open_sessions_picker(&mut self, list: &[SessionSummary]) {
        if list.is_empty() {
            self.note("no recorded sessions yet");
            return;
        }
        let grouped = grouped_by_eval(list);
        let shown = &grouped[..grouped.len().min(MAX_LISTED_SESSIONS)];
        let items = shown.iter().map(|s| s.id.clone()).collect();
        let details = shown.iter().map(session_detail).collect();
        let more = list.len() - shown.len();
        let title = if more > 0 {
            format!("Resume a session ({more} older: conclave sessions list)")
        } else {
            "Resume a session".to_string()
        };
        self.overlays.push(Overlay::Picker(Picker {
            title,
            items,
            details,
            selected: 0,
            purpose: PickerPurpose::Session,
        }));
    }
}

/// The sessions of one `conclave eval` run side by side, where its newest one stands; the
/// others in their order.
fn grouped_by_eval(list: &[SessionSummary]) -> Vec<SessionSummary> {
    let mut out: Vec<SessionSummary> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        match &s.eval {
            None => out.push(s.clone()),
            Some(e) if list[..i].iter().all(|p| p.eval.as_ref() != Some(e)) => {
                out.extend(
                    list[i..]
                        .iter()
                        .filter(|x| x.eval.as_ref() == Some(e))
                        .cloned(),
                );
            }
            Some(_) => {}
        }
    }
    out
}

fn session_detail(s: &SessionSummary) -> String {
    let plural = if s.messages == 1 { "" } else { "s" };
    let eval = s
        .eval
        .as_ref()
        .map(|e| format!("{e} · "))
        .unwrap_or_default();
    format!(
        "{eval}{} · {} · {} message{plural} · {}",
        s.team,
        s.outcome,
        s.messages,
        s.started
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
    )
}
