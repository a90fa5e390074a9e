//! The console's loop: one `select!` over terminal input, session events, the frame scheduler,
//! a tick (only while a countdown or a run is on screen) and signals: a terminating one ends the
//! console as quitting does, SIGTSTP (or the `suspend` key) gives the shell its terminal and
//! stops, SIGCONT takes the terminal back and redraws it all.
//!
//! Events are folded into the `App` as they come (draining whatever else is queued) and only
//! request a frame, at the output pace (20 fps; input keeps 60, see `frame`); frames are drawn
//! inside a synchronized update so the terminal shows them whole. When nothing happens the loop sleeps: no timer, no redraw, no output.
//!
//! Terminal input reaches the loop through a channel fed by a task of its own ([`forward_input`]):
//! crossterm's stream, asked for input while its reader thread waits on the terminal, spins on
//! the reader's lock (`sched_yield`) every time it is polled, and the loop wakes for every
//! streamed token. Polled only when its reader wakes it, it costs nothing between keys.

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use futures_util::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::app::{App, Effect};
use super::frame::FrameScheduler;
use super::panes::calls::SPINNER_MS;
use super::signals::{self, Caught, Signals};
use super::terminal::{self, Term};
use super::{Ended, Inbound, Outbound, osc52, render};
use crate::core::state::calls::CallStatus;

/// Run `app` in the terminal until the person quits, a terminating signal arrives or the
/// terminal is gone (a read or write fails: a hangup).
pub async fn run(
    app: App,
    events: UnboundedReceiver<Inbound>,
    out: UnboundedSender<Outbound>,
) -> anyhow::Result<Ended> {
    let mut signals = Signals::new()?;
    let (mut terminal, guard) = terminal::setup(app.mouse)?;
    let ended = match run_in(&mut terminal, &mut signals, app, events, &out).await {
        Ok(ended) => ended,
        Err(e) => {
            tracing::warn!("the terminal is gone: {e}");
            let _ = out.send(Outbound::Quit);
            Ended::TerminalLost
        }
    };
    drop(guard);
    terminal::release(terminal);
    Ok(ended)
}

/// The loop itself; an error is the terminal's (reading, drawing, suspending).
async fn run_in(
    terminal: &mut Term,
    signals: &mut Signals,
    mut app: App,
    mut events: UnboundedReceiver<Inbound>,
    out: &UnboundedSender<Outbound>,
) -> std::io::Result<Ended> {
    let (mut scheduler, frames) = FrameScheduler::new();
    let (input_tx, mut input) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(forward_input(input_tx));
    // Dropped with the loop however it ends: the task and crossterm's reader thread stop.
    let _reader = AbortOnDrop(reader);
    let mut events_open = true;
    // The tick's one timer, moved only when the pace changes or it goes off.
    let mut tick = None;
    let tick_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(tick_timer);
    frames.request();
    loop {
        let pace = tick_interval(&app);
        if pace != tick {
            tick = pace;
            if let Some(every) = tick {
                tick_timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + every);
            }
        }
        tokio::select! {
            _ = scheduler.next_frame() => {
                app.now = app.clock(Utc::now());
                draw(terminal, &mut app)?;
            }
            term = input.recv() => {
                let Some(term) = term else {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                };
                let (effects, changed) = match term? {
                    TermEvent::Key(key) => (app.handle_key(key), true),
                    TermEvent::Paste(text) => {
                        app.handle_paste(&text);
                        (Vec::new(), true)
                    }
                    TermEvent::Mouse(m) => (Vec::new(), app.handle_mouse(m)),
                    TermEvent::Resize(width, height) => {
                        terminal::fit(terminal, Some((width, height)))?;
                        (Vec::new(), true)
                    }
                    _ => (Vec::new(), true),
                };
                if changed {
                    frames.request();
                }
                match perform(&mut app, effects, out) {
                    Next::Go => {}
                    Next::Suspend => {
                        suspend(terminal, &mut app)?;
                        frames.request();
                    }
                    Next::Quit => return Ok(Ended::Quit),
                }
            }
            ev = events.recv(), if events_open => {
                match ev {
                    Some(ev) => {
                        app.receive(ev);
                        while let Ok(ev) = events.try_recv() {
                            app.receive(ev);
                        }
                    }
                    None => {
                        events_open = false;
                        app.note("the console's host is gone; quit with Ctrl+Q");
                    }
                }
                frames.request_output();
            }
            _ = &mut tick_timer, if tick.is_some() => {
                // A countdown or a spinner moved on: the cached panes show it too.
                app.screen.touch();
                frames.request();
                if let Some(every) = tick {
                    tick_timer.as_mut().reset(tokio::time::Instant::now() + every);
                }
            }
            caught = signals.recv() => match caught {
                Caught::End(signal) => {
                    tracing::info!(signal, "a terminating signal: leaving the console");
                    let _ = out.send(Outbound::Quit);
                    return Ok(Ended::Signal(signal));
                }
                Caught::Stop => {
                    app.screen.touch();
                    suspend(terminal, &mut app)?;
                    frames.request();
                }
                Caught::Continue => {
                    app.screen.touch();
                    terminal::reenter(terminal, app.mouse)?;
                    frames.request();
                }
            },
        }
    }
}

/// Pass the terminal's input on to the loop until the terminal fails or is gone (which ends it,
/// and the loop reads that as the end of input).
async fn forward_input(to: UnboundedSender<std::io::Result<TermEvent>>) {
    let mut input = EventStream::new();
    while let Some(event) = input.next().await {
        let failed = event.is_err();
        if to.send(event).is_err() || failed {
            return;
        }
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Give the shell its terminal, stop until `fg`, then take the terminal back. A suspend that
/// cannot stop the process leaves a note and carries on.
fn suspend(terminal: &mut Term, app: &mut App) -> std::io::Result<()> {
    tracing::info!("suspending the console");
    terminal::restore()?;
    let stopped = signals::stop_self();
    terminal::reenter(terminal, app.mouse)?;
    if let Err(e) = stopped {
        app.note(format!("cannot suspend: {e}"));
    }
    Ok(())
}

/// Draw one frame inside a synchronized update.
fn draw(terminal: &mut Term, app: &mut App) -> std::io::Result<()> {
    // Queued: it leaves with the frame, which `draw` flushes.
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| render::draw(f, app))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)
}

/// What the loop does after the App's effects.
enum Next {
    Go,
    Suspend,
    Quit,
}

/// Do what the App asked; says whether to go on, suspend or leave.
fn perform(app: &mut App, effects: Vec<Effect>, out: &UnboundedSender<Outbound>) -> Next {
    let mut next = Next::Go;
    for effect in effects {
        match effect {
            Effect::Send(o) => {
                if out.send(o).is_err() {
                    app.note("the session is gone; nothing received that");
                }
            }
            Effect::Copy(text) => match terminal::write_raw(&osc52::sequence(&text)) {
                Ok(()) => app.note(format!("copied {} characters", text.chars().count())),
                Err(e) => app.note(format!("copy failed: {e}")),
            },
            Effect::SetMouse(on) => {
                if let Err(e) = terminal::set_mouse(on) {
                    tracing::warn!("mouse capture: {e}");
                }
            }
            Effect::Suspend => next = Next::Suspend,
            Effect::Quit => return Next::Quit,
        }
    }
    next
}

/// How often to redraw with no input: a countdown needs tenths of a second, a running session
/// its elapsed clock; otherwise never.
fn tick_interval(app: &App) -> Option<Duration> {
    let now = Utc::now();
    let counting = |left: Option<u64>| left.is_some_and(|l| l > 0);
    if counting(app.session.handoff().window_left_ms(now))
        || counting(app.session.plan_window_left_ms(now))
    {
        return Some(Duration::from_millis(100));
    }
    // A tool call's spinner, or the countdown of one waiting in a window.
    let view = &app.session.view;
    let now = Utc::now();
    let calls_move =
        view.calls
            .waiting(&view.state)
            .iter()
            .any(|c| c.window_left_ms(now).is_some_and(|l| l > 0))
            || app.session.agents.iter().any(|a| {
                a.calls.iter().rev().take(8).any(|(_, id)| {
                    view.state.calls.get(id).is_some_and(|c| {
                        matches!(c.status, CallStatus::Asked | CallStatus::Running)
                    })
                })
            });
    if calls_move && app.session.finished().is_none() {
        return Some(Duration::from_millis(SPINNER_MS as u64));
    }
    (app.session.is_running() && app.session.finished().is_none()).then(|| Duration::from_secs(1))
}
