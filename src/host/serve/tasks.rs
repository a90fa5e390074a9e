//! The tasks `conclave serve` runs: each A2A task is one journaled session of the served team.
//!
//! Mental model: a `SendMessage` launches a session (through [`crate::host::launch`], so it is
//! journaled, listed by `sessions list`, resumable and replayable like any other), sends the
//! message's text as the task, and a follower task folds the session's events into the task's
//! [`TaskView`]: working once the first turn starts, the team's final answer and a terminal state
//! at `session_finished` (completed for completed / consensus / max_rounds, canceled when it was
//! stopped, failed otherwise, with the outcome as the reason). A streaming call also gets every
//! token as an artifact chunk (one artifact per turn, named by its agent) and the status changes.
//! `CancelTask` stops the session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::rpc::{self, TaskState, TaskView};
use crate::core::Command;
use crate::core::event::{EventKind, Outcome};
use crate::core::session::SessionHandle;
use crate::host::Launched;
use crate::llm::a2a::wire::Version;

/// One served task.
pub struct Task {
    view: watch::Sender<TaskView>,
    handle: Mutex<Option<SessionHandle>>,
}

impl Task {
    pub fn view(&self) -> TaskView {
        self.view.borrow().clone()
    }

    /// Wait until the task is terminal.
    pub async fn finished(&self) -> TaskView {
        let mut rx = self.view.subscribe();
        let done = rx
            .wait_for(|v| v.state.is_terminal())
            .await
            .map(|v| v.clone());
        done.unwrap_or_else(|_| self.view())
    }

    /// Stop the session; false when the task had already ended.
    pub fn cancel(&self) -> bool {
        let handle = lock(&self.handle);
        match handle.as_ref() {
            Some(h) if !self.view().state.is_terminal() => h.send(Command::Stop {}).is_ok(),
            _ => false,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every task this server started, by id.
#[derive(Default)]
pub struct Tasks {
    all: Mutex<HashMap<String, Arc<Task>>>,
}

impl Tasks {
    pub fn get(&self, id: &str) -> Option<Arc<Task>> {
        lock(&self.all).get(id).cloned()
    }

    /// Start following `launched` (whose task was already sent) as task `id`. Stream frames, if
    /// asked for, go to `frames` as JSON-RPC results in `version`'s spelling.
    pub fn follow(
        &self,
        id: &str,
        launched: Launched,
        frames: Option<(Version, mpsc::UnboundedSender<Value>)>,
    ) -> Arc<Task> {
        let view = TaskView {
            id: id.to_string(),
            context_id: id.to_string(),
            state: TaskState::Submitted,
            answer: String::new(),
            reason: None,
        };
        let (tx, _) = watch::channel(view.clone());
        let task = Arc::new(Task {
            view: tx,
            handle: Mutex::new(Some(launched.handle)),
        });
        lock(&self.all).insert(id.to_string(), task.clone());
        if let Some((version, out)) = &frames {
            let _ = out.send(rpc::task_result(*version, &view));
        }
        let (mut events, journal) = (launched.events, launched.journal);
        let follower = task.clone();
        tokio::spawn(async move {
            let mut turn_chunks: HashMap<u64, bool> = HashMap::new();
            while let Some(event) = events.recv().await {
                let mut view = follower.view();
                match event.kind {
                    EventKind::TurnStarted { .. } if view.state == TaskState::Submitted => {
                        view.state = TaskState::Working;
                        send(&frames, |v| rpc::status_update(v, &view));
                    }
                    EventKind::Token { agent, turn, text } => {
                        let append = turn_chunks.insert(turn, true).is_some();
                        let artifact = format!("turn-{turn}");
                        send(&frames, |v| {
                            rpc::artifact_update(v, &view, &artifact, &agent, &text, append)
                        });
                        continue;
                    }
                    EventKind::SessionFinished {
                        outcome,
                        final_text,
                    } => {
                        view.answer = final_text.unwrap_or_default();
                        view.state = match outcome {
                            Outcome::Completed | Outcome::Consensus | Outcome::MaxRounds => {
                                TaskState::Completed
                            }
                            Outcome::Cancelled => TaskState::Canceled,
                            _ => TaskState::Failed,
                        };
                        if view.state != TaskState::Completed {
                            view.reason =
                                Some(format!("the session ended: {}", outcome_name(outcome)));
                        }
                        if !view.answer.is_empty() {
                            send(&frames, |v| {
                                rpc::artifact_update(
                                    v,
                                    &view,
                                    rpc::ANSWER,
                                    "answer",
                                    &view.answer,
                                    false,
                                )
                            });
                        }
                        send(&frames, |v| rpc::status_update(v, &view));
                        follower.view.send_replace(view);
                        break;
                    }
                    _ => continue,
                }
                follower.view.send_replace(view);
            }
            // The task is over: let the session go and its journal settle.
            drop(lock(&follower.handle).take());
            drop(events);
            if let Some(journal) = journal
                && let Err(e) = crate::host::bootstrap::settle(journal).await
            {
                tracing::warn!(task = %follower.view().id, error = ?e, "journal did not settle");
            }
        });
        task
    }
}

fn send(
    frames: &Option<(Version, mpsc::UnboundedSender<Value>)>,
    frame: impl FnOnce(Version) -> Value,
) {
    if let Some((version, out)) = frames {
        let _ = out.send(frame(*version));
    }
}

fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{outcome:?}"))
}
