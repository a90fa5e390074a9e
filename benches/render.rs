//! Rendering budget (DESIGN section 7): one frame of a transcript of 100,000 messages at 200×60,
//! compared with the same at 1,000 messages. Only visible cells are laid out and wrapped rows
//! are cached per width, so the two should cost about the same. Then the cost of streaming: 8
//! agents (a concurrent team) each streaming a one-paragraph reply word by word, a frame drawn after
//! every round of 8 words; the frames around word 400 and around word 2,000 should cost the same
//! (a streaming message re-wraps only what it grew by). Prints its figures.
//!
//! `cargo bench --bench render` (`BENCH_QUICK=1`: small sizes, proves it runs).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::config::Config;
use conclave::core::event::{AgentInfo, Event, EventKind, PatternKind, Purpose, UsageInfo};
use conclave::tui::render::draw;
use conclave::tui::theme::Theme;
use conclave::tui::{App, ConsoleSetup};

const AGENTS: [&str; 3] = ["optimist", "skeptic", "judge"];

fn event(seq: u64, kind: EventKind) -> Event {
    let ts = Utc
        .with_ymd_and_hms(2026, 11, 21, 13, 0, 0)
        .single()
        .unwrap_or_default();
    Event {
        v: 1,
        seq,
        ts,
        session: "bench".into(),
        kind,
    }
}

/// A console whose session `team` (`pattern`, agents `names`) has just started (event 0).
fn started(team: &str, pattern: PatternKind, names: &[String]) -> App {
    let setup = ConsoleSetup {
        config: Config::default(),
        team: team.into(),
        backend_label: "bench".into(),
        is_demo: false,
        history: Vec::new(),
    };
    let mut app = App::with_theme(setup, Theme::dark(), Vec::new());
    let agents = names
        .iter()
        .map(|n| AgentInfo {
            name: n.clone(),
            backend: "b".into(),
            model: "m".into(),
            color: None,
            price: None,
            fallback: Vec::new(),
        })
        .collect();
    app.apply(&event(
        0,
        EventKind::SessionStarted {
            team: team.into(),
            pattern,
            agents,
        },
    ));
    app
}

fn app_with(messages: u64) -> App {
    let names: Vec<String> = AGENTS.iter().map(|n| n.to_string()).collect();
    let mut app = started("debate", PatternKind::GroupChat, &names);
    for i in 0..messages {
        let agent = AGENTS[(i % 3) as usize].to_string();
        let text = format!(
            "Message {i}: **a point** about the proposal, with `code` and enough words to wrap once or twice \
             at a normal width.\n\n- first consideration\n- second consideration\n\n```rust\nlet x = {i};\n```"
        );
        // As in a session: each message ends a turn that started (the agent panes draw a
        // finished turn from core's record of it).
        app.apply(&event(
            2 * i + 1,
            EventKind::TurnStarted {
                agent: agent.clone(),
                turn: i,
                round: None,
                purpose: Purpose::Speak,
            },
        ));
        app.apply(&event(
            2 * i + 2,
            EventKind::Message {
                agent,
                turn: i,
                text,
                usage: UsageInfo {
                    input: Some(100),
                    output: Some(40),
                    estimated: false,
                },
                ttft_ms: Some(100),
                latency_ms: 900,
                finish: "stop".into(),
                purpose: Purpose::Speak,
                tool_calls: Vec::new(),
                served_by: None,
                continues: false,
            },
        ));
    }
    app
}

/// (first frame, median of the following frames)
fn measure(app: &mut App, frames: usize) -> (Duration, Duration) {
    let mut term = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    let start = Instant::now();
    let _ = term.draw(|f| draw(f, app));
    let first = start.elapsed();
    let mut times: Vec<Duration> = (0..frames)
        .map(|_| {
            let start = Instant::now();
            let _ = term.draw(|f| draw(f, app));
            start.elapsed()
        })
        .collect();
    times.sort();
    (first, times[times.len() / 2])
}

/// 8 agents streaming `words` words each in one paragraph, a frame after every word of each: the
/// median frame time over the words in `window` (word positions).
fn streaming(words: usize, windows: &[(usize, usize)]) -> Vec<Duration> {
    let names: Vec<String> = (1..=8).map(|a| format!("a{a}")).collect();
    let mut app = started("stream8", PatternKind::Concurrent, &names);
    let mut seq = 0;
    let mut next = |app: &mut App, kind| {
        seq += 1;
        app.apply(&event(seq, kind));
    };
    for (i, agent) in names.iter().enumerate() {
        next(
            &mut app,
            EventKind::TurnStarted {
                agent: agent.clone(),
                turn: i as u64 + 1,
                round: None,
                purpose: Purpose::Speak,
            },
        );
    }
    let mut term = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); windows.len()];
    for w in 0..words {
        for (i, agent) in names.iter().enumerate() {
            next(
                &mut app,
                EventKind::Token {
                    agent: agent.clone(),
                    turn: i as u64 + 1,
                    text: format!(" w{w:04}"),
                },
            );
        }
        let start = Instant::now();
        let _ = term.draw(|f| draw(f, &mut app));
        let took = start.elapsed();
        for (k, (from, to)) in windows.iter().enumerate() {
            if (*from..*to).contains(&w) {
                times[k].push(took);
            }
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t.get(t.len() / 2).copied().unwrap_or_default()
        })
        .collect()
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let (large_n, frames, words) = if quick {
        (2_000, 5, 100)
    } else {
        (100_000, 200, 2_000)
    };
    // Load syntect's syntaxes and themes once, outside the measurements.
    let _ = measure(&mut app_with(3), 1);
    let mut small = app_with(1_000);
    let mut large = app_with(large_n);
    let (small_first, small_median) = measure(&mut small, frames);
    let (large_first, large_median) = measure(&mut large, frames);
    println!(
        "render 200x60, transcript of 1,000 messages:   first frame {small_first:?}, median frame {small_median:?}"
    );
    println!(
        "render 200x60, transcript of {large_n} messages: first frame {large_first:?}, median frame {large_median:?}"
    );
    println!(
        "ratio {large_n}/1,000: first {:.2}, median {:.2} (budget: under 4 ms per frame, ratio near 1)",
        large_first.as_secs_f64() / small_first.as_secs_f64(),
        large_median.as_secs_f64() / small_median.as_secs_f64()
    );
    let (early, late) = (words / 5, words);
    let medians = streaming(
        words,
        &[(early - early / 10, early), (late - early / 10, late)],
    );
    if let [early_t, late_t] = medians[..] {
        println!(
            "8 agents streaming one paragraph each, 200x60: frame at word {early} {early_t:?}, \
             at word {late} {late_t:?}; ratio {:.2} (budget: near 1, flat in message length)",
            late_t.as_secs_f64() / early_t.as_secs_f64().max(1e-9)
        );
    }
}
