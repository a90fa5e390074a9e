//! The console's loop: one `select!` over terminal input, session events, the frame scheduler,
//! a tick (only while a countdown or a run is on screen) and SIGTERM.
//!
//! Events are folded into the `App` as they come (draining whatever else is queued) and only
//! request a frame; frames are drawn inside a synchronized update so the terminal shows them
//! whole. When nothing happens the loop sleeps: no timer, no redraw, no output.

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::execute;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::app::{App, Effect};
use super::frame::FrameScheduler;
use super::terminal::{self, Term};
use super::{Inbound, Outbound, osc52, render};

/// Run `app` in the terminal until the person quits or SIGTERM arrives.
pub async fn run(
    mut app: App,
    mut events: UnboundedReceiver<Inbound>,
    out: UnboundedSender<Outbound>,
) -> anyhow::Result<()> {
    let (mut terminal, _guard) = terminal::setup(app.mouse)?;
    let (mut scheduler, frames) = FrameScheduler::new();
    let mut input = EventStream::new();
    let mut sigterm = sigterm()?;
    let mut events_open = true;
    frames.request();
    loop {
        let tick = tick_interval(&app);
        tokio::select! {
            _ = scheduler.next_frame() => {
                app.now = Utc::now();
                draw(&mut terminal, &mut app)?;
            }
            term = input.next() => {
                let Some(term) = term else { break };
                let (effects, changed) = match term? {
                    TermEvent::Key(key) => (app.handle_key(key), true),
                    TermEvent::Paste(text) => {
                        app.handle_paste(&text);
                        (Vec::new(), true)
                    }
                    TermEvent::Mouse(m) => (Vec::new(), app.handle_mouse(m)),
                    _ => (Vec::new(), true),
                };
                if changed {
                    frames.request();
                }
                if perform(&mut app, effects, &out) {
                    break;
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
                frames.request();
            }
            _ = tokio::time::sleep(tick.unwrap_or(Duration::from_secs(3600))), if tick.is_some() => {
                frames.request();
            }
            _ = recv_sigterm(&mut sigterm) => {
                tracing::info!("SIGTERM: leaving the console");
                let _ = out.send(Outbound::Quit);
                break;
            }
        }
    }
    Ok(())
}

/// Draw one frame inside a synchronized update.
fn draw(terminal: &mut Term, app: &mut App) -> std::io::Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| render::draw(f, app))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)
}

/// Do what the App asked; true when it is time to leave.
fn perform(app: &mut App, effects: Vec<Effect>, out: &UnboundedSender<Outbound>) -> bool {
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
            Effect::Quit => return true,
        }
    }
    false
}

/// How often to redraw with no input: a countdown needs tenths of a second, a running session
/// its elapsed clock; otherwise never.
fn tick_interval(app: &App) -> Option<Duration> {
    if app
        .session
        .handoff()
        .window_left_ms(Utc::now())
        .is_some_and(|l| l > 0)
    {
        return Some(Duration::from_millis(100));
    }
    (app.session.is_running() && app.session.finished().is_none()).then(|| Duration::from_secs(1))
}

#[cfg(unix)]
type Sigterm = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Sigterm = ();

#[cfg(unix)]
fn sigterm() -> std::io::Result<Sigterm> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
}

#[cfg(not(unix))]
fn sigterm() -> std::io::Result<Sigterm> {
    Ok(())
}

#[cfg(unix)]
async fn recv_sigterm(s: &mut Sigterm) {
    s.recv().await;
}

#[cfg(not(unix))]
async fn recv_sigterm(_: &mut Sigterm) {
    std::future::pending::<()>().await
}
