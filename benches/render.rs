//! Rendering budget (DESIGN section 7): one frame of a transcript of 100,000 messages at 200×60,
//! compared with the same at 1,000 messages. Only visible cells are laid out and wrapped rows
//! are cached per width, so the two should cost about the same. Prints its figures.
//!
//! `cargo bench --bench render`

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

fn app_with(messages: u64) -> App {
    let setup = ConsoleSetup {
        config: Config::default(),
        team: "debate".into(),
        backend_label: "bench".into(),
        is_demo: false,
        history: Vec::new(),
    };
    let mut app = App::with_theme(setup, Theme::dark(), Vec::new());
    let agents = AGENTS
        .iter()
        .map(|n| AgentInfo {
            name: n.to_string(),
            backend: "b".into(),
            model: "m".into(),
            color: None,
            price: None,
        })
        .collect();
    app.apply(&event(
        0,
        EventKind::SessionStarted {
            team: "debate".into(),
            pattern: PatternKind::GroupChat,
            agents,
        },
    ));
    for i in 0..messages {
        let agent = AGENTS[(i % 3) as usize].to_string();
        let text = format!(
            "Message {i}: **a point** about the proposal, with `code` and enough words to wrap once or twice \
             at a normal width.\n\n- first consideration\n- second consideration\n\n```rust\nlet x = {i};\n```"
        );
        app.apply(&event(
            i + 1,
            EventKind::Message {
                agent,
                turn: i,
                text,
                usage: UsageInfo {
                    input: Some(100),
                    output: Some(40),
                },
                ttft_ms: Some(100),
                latency_ms: 900,
                finish: "stop".into(),
                purpose: Purpose::Speak,
                tool_calls: Vec::new(),
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

fn main() {
    // Load syntect's syntaxes and themes once, outside the measurements.
    let _ = measure(&mut app_with(3), 1);
    let mut small = app_with(1_000);
    let mut large = app_with(100_000);
    let (small_first, small_median) = measure(&mut small, 200);
    let (large_first, large_median) = measure(&mut large, 200);
    println!(
        "render 200x60, transcript of 1,000 messages:   first frame {small_first:?}, median frame {small_median:?}"
    );
    println!(
        "render 200x60, transcript of 100,000 messages: first frame {large_first:?}, median frame {large_median:?}"
    );
    println!(
        "ratio 100k/1k: first {:.2}, median {:.2} (budget: under 4 ms per frame, ratio near 1)",
        large_first.as_secs_f64() / small_first.as_secs_f64(),
        large_median.as_secs_f64() / small_median.as_secs_f64()
    );
}
