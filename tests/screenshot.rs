//! The README's screenshot: the console mid-debate at 120×36, drawn by the real renderer and
//! written as an SVG. The test fails when the picture no longer matches assets/screenshot.svg;
//! run it with UPDATE_SCREENSHOT=1 to write the new one (then look at it before committing).
#![allow(clippy::unwrap_used)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/svg.rs"]
mod svg;

use conclave::core::event::{EventKind, PatternKind, SelectedBy, VoteChoice};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::tui::App;
use conclave::tui::render::draw;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/screenshot.svg");

/// Round 1 argued and voted down, round 2 under way: the optimist has answered and the
/// skeptic is streaming.
fn mid_debate() -> App {
    let mut s = fixtures::Script::new("20261121-142210-3fa9");
    s.start(
        "debate",
        PatternKind::GroupChat,
        &[
            ("optimist", "llama3.2"),
            ("skeptic", "llama3.2"),
            ("judge", "qwen2.5"),
        ],
    );
    s.user("Should we rewrite the billing service in Rust?", None);
    let next = |s: &mut fixtures::Script, agent: &str| {
        s.push(EventKind::SpeakerSelected {
            agent: agent.into(),
            by: SelectedBy::RoundRobin,
            reason: None,
        });
    };
    next(&mut s, "optimist");
    s.say(
        "optimist",
        1,
        Some(1),
        "Billing is where a null pointer costs **real money**, and Rust turns whole classes of \
         those bugs into compile errors. We'd also cut the p99 latency that pages us at 3 a.m.",
    );
    next(&mut s, "skeptic");
    s.say(
        "skeptic",
        2,
        Some(1),
        "The billing service works, and boring is a *feature* when money is involved. Which of \
         our outages did the language actually cause?",
    );
    next(&mut s, "judge");
    s.say(
        "judge",
        3,
        Some(1),
        "Let's price it first: profile the hot path, then decide with numbers.",
    );
    s.vote(1, "optimist", VoteChoice::Agree, "the upside is big");
    s.vote(1, "skeptic", VoteChoice::Disagree, "all risk, no plan yet");
    s.vote(
        1,
        "judge",
        VoteChoice::Disagree,
        "not before we know the cost",
    );
    s.push(EventKind::Consensus {
        round: 1,
        reached: false,
        agree: 1,
        disagree: 2,
        abstain: 0,
        threshold: 0.67,
    });
    next(&mut s, "optimist");
    s.say(
        "optimist",
        4,
        Some(2),
        "Fair. Then shrink the bet: port **one** endpoint behind a flag, run it in shadow mode \
         for two weeks and compare every output.\n\n- a hard stop date\n- a rollback plan",
    );
    next(&mut s, "skeptic");
    s.turn("skeptic", 5, Some(2));
    s.tokens(
        "skeptic",
        5,
        "A shadow-mode pilot on one endpoint I can live with — that's an experiment, not a \
         rewrite. My conditions: ",
    );
    fixtures::app("debate", &s.events)
}

#[test]
fn the_readme_screenshot_matches_the_console() {
    let mut app = mid_debate();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    terminal.draw(|f| draw(f, &mut app)).unwrap();
    let picture = svg::render(terminal.backend().buffer());
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::write(PATH, &picture).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == picture,
        "assets/screenshot.svg is out of date: run `UPDATE_SCREENSHOT=1 cargo test --test \
         screenshot` and look at the new picture"
    );
}
