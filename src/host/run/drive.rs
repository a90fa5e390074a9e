//! The select loop of `conclave run`: the session's events, the journal's acks, the control
//! script and Ctrl+C, until the `session_finished` that ends the run is printed.
//!
//! Mental model: every event goes into the output's durability gate and is printed once the
//! journal has it; the loop decides only when the run is over (see the parent module for the
//! rules) and then waits for the journal writer before saying how it ended.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::control::{Control, offending, read_control};
use super::{Prepared, RunOptions, Start};
use crate::core::command::Command;
use crate::core::event::{Event, EventKind};
use crate::core::session::{SessionHandle, Settled};
use crate::headless::gate::DurableGate;
use crate::headless::{Format, Output};
use crate::host::Exit;
use crate::host::bootstrap;
use crate::host::launch::{self, Launched};

/// How long Ctrl+C waits for `session_finished` before giving up.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Start the prepared session and run it to its end.
pub(super) async fn drive(args: RunOptions, prepared: Prepared) -> Exit {
    // `ctrl_c` installs its handler on the first poll: poll it once now, before the session
    // starts, so that an interrupt is never the default "kill the process".
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut watch_ctrl_c = true;
    match futures_util::FutureExt::now_or_never(ctrl_c.as_mut()) {
        None => {}
        Some(Ok(())) => return Exit::Failed,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl+C");
            watch_ctrl_c = false;
        }
    }
    let launched = match &prepared.start {
        Start::New { team } => launch::launch(&prepared.config, team, &prepared.options),
        Start::Resume(journal) => {
            launch::resume(&prepared.config, (**journal).clone(), &prepared.options)
        }
    };
    let Launched {
        handle,
        mut events,
        history,
        mut journal,
        journal_acks,
        journal_path,
        warnings,
        telemetry,
        ..
    } = match launched {
        Ok(l) => l,
        Err(e) => {
            eprintln!("conclave run: {e}");
            return if e.is_usage() {
                Exit::Usage
            } else {
                Exit::Failed
            };
        }
    };
    for warning in &warnings {
        eprintln!("conclave run: warning: {warning}");
    }
    if args.events == Format::Text {
        eprintln!(
            "session {id}; resume with conclave run --resume {id}",
            id = handle.id()
        );
        if let Start::New { team } = &prepared.start
            && let Some(line) = forecast_line(&prepared.config, team, prepared.prompt.as_deref())
        {
            eprintln!("{line}");
        }
    }
    let mut out = Output::new(
        args.events,
        prepared.prices,
        // Buffered: the events ready at once leave in one write (see `Output::print_ready`).
        std::io::BufWriter::new(std::io::stdout().lock()),
        journal_acks.is_some(),
    );
    out.history(&history);
    let mut acks = journal_acks;

    let mut deferred = None;
    let mut task_sent = prepared.unfinished;
    if let Some(prompt) = prepared.prompt {
        task_sent = true;
        if prepared.unfinished {
            deferred = Some(prompt);
        } else {
            let _ = handle.send(Command::Send {
                text: prompt,
                to: None,
            });
        }
    }
    if prepared.paused && !args.control {
        let _ = handle.send(Command::Resume {});
    }
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    if args.control {
        tokio::spawn(read_control(control_tx));
    } else {
        drop(control_tx);
    }

    let mut interrupted = false;
    let mut events_open = true;
    // Commands sent to the session so far, and when the control script's end was acknowledged.
    let mut sent: u64 = 0;
    let mut sent_before_settling: u64 = 0;
    let mut settling: Option<oneshot::Receiver<Settled>> = None;
    // The actor has acknowledged the script's end with no task and no turn: nothing more comes.
    let mut idle = false;
    let grace = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(grace);
    let exit = loop {
        tokio::select! {
            got = events.recv(), if events_open => match got {
                Some(event) => {
                    sent += on_event(event, &mut deferred, interrupted, &handle, &mut out.gate);
                    // Whatever else is queued goes with it: printed (and written) together.
                    while let Ok(event) = events.try_recv() {
                        sent += on_event(event, &mut deferred, interrupted, &handle, &mut out.gate);
                    }
                }
                // The writer still has the last events to put on disk: their acks (or the
                // writer's end) release them.
                None => events_open = false,
            },
            acked = recv_ack(&mut acks) => match acked {
                Some(seq) => out.gate.durable(seq),
                // The writer is gone: after the session's end, or because a write failed. Then
                // the session stops where the journal stops: nothing it holds is printed.
                None => {
                    acks = None;
                    if let Some(writer) = journal.take()
                        && let Err(e) = bootstrap::settle(writer).await
                    {
                        eprintln!(
                            "conclave run: {e}; the session stopped there: fix that, then \
                             continue it with `conclave run --resume {}`",
                            handle.id()
                        );
                        break Exit::Failed;
                    }
                    out.gate.release_all();
                }
            },
            Some(control) = control_rx.recv() => match control {
                Control::Command(cmd) => {
                    task_sent |= matches!(cmd, Command::Send { .. });
                    let _ = handle.send(cmd);
                    sent += 1;
                }
                Control::Invalid { message, line } => {
                    let _ = handle.report_error(message, Some(offending(&line)));
                }
                Control::Closed if !task_sent => {
                    eprintln!(
                        "conclave run: standard input ended before any task was sent: pass --prompt TEXT or send {{\"type\":\"send\",\"text\":…}}"
                    );
                    break Exit::Usage;
                }
                // Nobody is left to approve, pick or resume: the session goes on unattended,
                // following `--approve`.
                Control::Closed => {
                    settling = handle.set_unattended(args.approve).ok();
                    sent_before_settling = sent;
                }
            },
            settled = recv_settled(&mut settling) => {
                settling = None;
                // Everything the actor published before acknowledging is in `events` already.
                while let Ok(event) = events.try_recv() {
                    sent += on_event(event, &mut deferred, interrupted, &handle, &mut out.gate);
                }
                match settled {
                    // A command sent since (a deferred prompt) may have started something:
                    // ask again.
                    Some(_) if sent != sent_before_settling => {
                        settling = handle.set_unattended(args.approve).ok();
                        sent_before_settling = sent;
                    }
                    Some(s) => idle = s.is_idle(),
                    // The actor ended first: its event stream ends too, which ends the run.
                    None => {}
                }
            }
            _ = &mut ctrl_c, if watch_ctrl_c && !interrupted => {
                interrupted = true;
                let _ = handle.send(Command::Stop {});
                if !task_sent {
                    break Exit::Failed;
                }
                // Stop finishes a running task at once; this bound only guards a session that
                // had nothing left to finish.
                grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = &mut grace, if interrupted => break Exit::Failed,
        }
        let printed = out.print_ready();
        if let Some(e) = printed.failed {
            // Nobody can read the run any more: it stops, and stays resumable.
            stdout_failed(&e, handle.id(), journal_path.as_deref());
            break Exit::Failed;
        }
        if let Some(outcome) = printed.finished {
            if let Err(e) = out.finish() {
                stdout_failed(&e, handle.id(), journal_path.as_deref());
                break Exit::Failed;
            }
            break if interrupted {
                Exit::Failed
            } else {
                Exit::of(outcome)
            };
        }
        if idle && out.gate.is_empty() {
            break match out.last_outcome() {
                Some(outcome) if !interrupted => Exit::of(outcome),
                _ => {
                    eprintln!(
                        "conclave run: standard input ended and no task is running: nothing more will happen"
                    );
                    Exit::Failed
                }
            };
        }
        if !events_open && out.gate.is_empty() {
            eprintln!("conclave run: the session ended without finishing");
            break Exit::Failed;
        }
    };
    // The last handle gone, the actor ends and so does the journal's event stream.
    drop(handle);
    drop(events);
    if let Some(writer) = journal
        && let Err(e) = bootstrap::settle(writer).await
    {
        eprintln!("conclave run: {e}");
    }
    if let Some(exporter) = telemetry {
        bootstrap::settle_telemetry(exporter).await;
    }
    exit
}

/// Say on stderr that standard output failed (not for a closed pipe: whoever closed it knows).
fn stdout_failed(e: &std::io::Error, id: &str, journal: Option<&std::path::Path>) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return;
    }
    eprintln!("conclave run: cannot write to standard output: {e}; the session stopped");
    if let Some(path) = journal {
        eprintln!(
            "conclave run: everything up to here is in {}; continue with `conclave run --resume {id}`",
            path.display()
        );
    }
}

/// Route one session event: into the gate, and the deferred prompt once the task it waited for
/// has finished. Returns how many commands it sent.
fn on_event(
    event: Event,
    deferred: &mut Option<String>,
    interrupted: bool,
    handle: &SessionHandle,
    gate: &mut DurableGate,
) -> u64 {
    let mut sent = 0;
    if matches!(event.kind, EventKind::SessionFinished { .. })
        && let Some(text) = deferred.take().filter(|_| !interrupted)
    {
        let _ = handle.send(Command::Send { text, to: None });
        gate.skip_finish += 1;
        sent += 1;
    }
    gate.hold(event);
    sent
}

async fn recv_settled(settling: &mut Option<oneshot::Receiver<Settled>>) -> Option<Settled> {
    match settling {
        Some(rx) => rx.await.ok(),
        None => std::future::pending().await,
    }
}

async fn recv_ack(acks: &mut Option<mpsc::UnboundedReceiver<u64>>) -> Option<u64> {
    match acks {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// For a group chat, what its configured rounds would cost (said before it starts).
fn forecast_line(
    config: &crate::config::Config,
    team: &str,
    prompt: Option<&str>,
) -> Option<String> {
    let t = config.teams.get(team)?;
    if t.pattern != crate::config::PatternKind::GroupChat {
        return None;
    }
    let f =
        crate::core::metrics::forecast::group_chat(t, &config.agents, prompt.map_or(0, str::len));
    let cost = f.cost.map(|c| format!(", ~${c:.4}")).unwrap_or_default();
    Some(format!(
        "estimate for {} rounds: ~{} tokens in {} calls{cost}",
        f.rounds, f.tokens, f.calls
    ))
}
