//! The real `conclave` binary in a pseudo-terminal against the offline scripted backend: a person
//! types a prompt, watches the panes stream, steers with the keys on screen, quits, resumes, and
//! gets the terminal back. Each test runs with its own HOME, config dir and data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/home.rs"]
mod home;
#[path = "support/pty.rs"]
mod pty;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::path::PathBuf;
use std::time::Duration;

use home::{Home, LONG};
use pty::{Key, Pty};

/// Quit with the quit key and confirm; the process ends well and the terminal is restored.
fn quit(term: &mut Pty) {
    term.send_key(Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", LONG).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(LONG).unwrap(), 0, "{}", term.screen());
    assert!(
        term.is_restored(),
        "alternate screen left and cursor shown:\n{}",
        term.screen()
    );
}

#[test]
fn debate_streams_in_several_panes_votes_on_the_key_and_quits_cleanly() {
    let home = Home::new();
    let mut term = home.spawn(&[], true);
    term.wait_for("team debate", LONG).unwrap();
    assert!(!term.is_restored(), "the console owns the alternate screen");
    term.send_text("Should we rewrite billing in Rust?")
        .unwrap();
    term.send_key(Key::Enter).unwrap();
    // The optimist's and then the skeptic's answers stream into their panes.
    term.wait_for("speaking…", LONG).unwrap();
    term.wait_for("Ambitious?", LONG).unwrap();
    let screen = term.wait_for("Hold on.", LONG).unwrap();
    assert!(screen.contains("optimist · optimist"), "{screen}");
    assert!(screen.contains("skeptic · skeptic"), "{screen}");
    // Votes are only taken when asked for: call one with its key.
    assert!(!screen.contains("vote (round"), "{screen}");
    term.send_key(Key::Ctrl('g')).unwrap();
    term.wait_for("vote (round", LONG).unwrap();
    term.wait_for("agree,", LONG).unwrap();
    term.wait_for("finished", LONG).unwrap();
    quit(&mut term);
}

#[test]
fn support_handoff_is_redirected_to_tech_with_the_key_and_the_picker() {
    let home = Home::new();
    let mut term = home.spawn(&["--team", "support"], true);
    term.wait_for("team support", LONG).unwrap();
    term.send_text("I was charged twice this month").unwrap();
    term.send_key(Key::Enter).unwrap();
    // Triage asks to hand over to billing; the handoff panel waits for a person.
    term.wait_for("triage → billing", LONG).unwrap();
    term.send_key(Key::Ctrl('o')).unwrap();
    term.wait_for("Redirect triage → billing to", LONG).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Tech support here", LONG).unwrap();
    quit(&mut term);
}

/// Issue 12 item 1: opening the redirect picker holds the approval window, so a target chosen
/// long after the window would have run out still redirects (before: "approval window ran out"
/// then "no handoff to redirect").
#[test]
fn redirect_chosen_after_the_original_window_would_have_run_out() {
    let home = Home::new();
    let config = std::fs::read_to_string(home.config()).unwrap().replace(
        "approval = \"confirm\"",
        "approval = \"window\"\napproval_window_ms = 1500",
    );
    std::fs::write(home.config(), config).unwrap();
    let mut term = home.spawn(&["--team", "support"], true);
    term.wait_for("team support", LONG).unwrap();
    term.send_text("I was charged twice this month").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("s left", LONG).unwrap();
    term.send_key(Key::Ctrl('o')).unwrap();
    term.wait_for("Redirect triage → billing to", LONG).unwrap();
    // Three times the window: without the hold, billing would hold the conversation by now.
    std::thread::sleep(Duration::from_millis(4500));
    let screen = term.screen();
    assert!(!screen.contains("window ran out"), "{screen}");
    term.send_key(Key::Esc).unwrap();
    term.wait_for("triage → billing  held", LONG).unwrap();
    term.send_key(Key::Ctrl('o')).unwrap();
    term.wait_for("Redirect triage → billing to", LONG).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Tech support here", LONG).unwrap();
    quit(&mut term);
    let journal = std::fs::read_to_string(&journals(&home)[0]).unwrap();
    assert!(journal.contains(r#""type":"handoff_held""#), "{journal}");
    assert!(
        journal.contains(r#""type":"handoff_redirected""#),
        "{journal}"
    );
    assert!(!journal.contains("approval window ran out"), "{journal}");
}

/// Issue 12 item 4: a message typed during a pipeline step is queued (shown in the transcript
/// and the input box, journaled as `message_queued`) and delivered when the next step starts.
#[test]
fn a_message_typed_during_a_pipeline_step_is_queued_then_delivered() {
    let home = Home::new();
    let mut config = std::fs::read_to_string(home.config()).unwrap();
    config.push_str(
        "\n[teams.pipeline]\npattern = \"sequential\"\nsteps = [{ agent = \"optimist\" }, { agent = \"skeptic\" }]\n",
    );
    std::fs::write(home.config(), config).unwrap();
    let mut term = home.spawn(&["--team", "pipeline"], true);
    term.wait_for("team pipeline", LONG).unwrap();
    term.send_text("Should we rewrite billing in Rust?")
        .unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("speaking…", LONG).unwrap();
    term.send_text("Mind the budget").unwrap();
    term.send_key(Key::Enter).unwrap();
    let screen = term.wait_for("you queued", LONG).unwrap();
    assert!(screen.contains("1 queued"), "{screen}");
    term.wait_for("Hold on.", LONG).unwrap();
    term.wait_for("finished", LONG).unwrap();
    quit(&mut term);
    let journal = std::fs::read_to_string(&journals(&home)[0]).unwrap();
    let queued = journal.find(r#""type":"message_queued""#).expect("queued");
    let delivered = journal
        .find(r#""queued_id":"q1""#)
        .expect("delivered with its queued_id");
    let skeptic = journal
        .find(r#""agent":"skeptic","turn""#)
        .expect("the next step ran");
    assert!(queued < delivered && delivered < skeptic, "{journal}");
}

#[test]
fn quit_mid_debate_then_resume_last_and_finish() {
    let home = Home::new();
    let mut term = home.spawn(&[], true);
    term.wait_for("team debate", LONG).unwrap();
    term.send_text("Should we rewrite billing in Rust?")
        .unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Hold on.", LONG).unwrap();
    quit(&mut term);
    drop(term);

    let mut term = home.spawn(&["--resume", "last"], true);
    // The earlier conversation is back on screen.
    term.wait_for("resumed", LONG).unwrap();
    let screen = term.wait_for("Hold on.", LONG).unwrap();
    assert!(screen.contains("Ambitious?"), "{screen}");
    // Quitting suspended the debate instead of ending it: with nothing typed, the round goes
    // on with the next speaker.
    term.wait_for("Before anyone picks a side", LONG).unwrap();
    // The end of the optimist's round-2 speech (checked in the journal below).
    term.wait_for("quarter.", LONG).unwrap();
    term.send_text("Carry on, please.").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.send_key(Key::Ctrl('g')).unwrap();
    term.wait_for("finished", LONG).unwrap();
    quit(&mut term);

    // One session, continued in place.
    let sessions: Vec<_> = std::fs::read_dir(home.data().join("sessions"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(sessions.len(), 1);
    let journal = std::fs::read_to_string(sessions[0].path()).unwrap();
    assert_eq!(journal.matches("\"type\":\"session_started\"").count(), 1);
    assert!(journal.contains("Carry on, please."));
    // A new process, a fresh scripted backend: the optimist still went on with its round-2
    // speech rather than repeating its opening.
    let said = speeches(&journal, "optimist");
    assert!(said.len() >= 2, "{said:?}");
    assert!(said[0].contains("Ambitious?"), "{said:?}");
    assert!(said[1].starts_with("Fair hits"), "{said:?}");
}

/// What `agent` said (its completed `speak` messages), in order, from a journal's text.
fn speeches(journal: &str, agent: &str) -> Vec<String> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["type"] == "message" && e["agent"] == agent && e["purpose"] == "speak")
        .filter_map(|e| e["text"].as_str().map(String::from))
        .collect()
}

#[test]
fn without_any_config_the_first_screen_names_the_offline_demo_and_how_to_change_it() {
    let home = Home::new();
    let mut term = home.spawn(&[], false);
    // The status bar names the backend from the first frame on …
    term.wait_for("DEMO", LONG).unwrap();
    term.wait_for("offline demo", LONG).unwrap();
    // … and the transcript says how to use a real backend instead.
    let screen = term.wait_for("OPENAI_API_KEY", LONG).unwrap();
    assert!(screen.contains("Ollama"), "{screen}");
    assert!(screen.contains("init`"), "{screen}");
    assert!(screen.contains("team debate"), "{screen}");
    quit(&mut term);
    assert!(
        journals(&home).is_empty(),
        "a session never given a task leaves no journal"
    );
}

#[test]
fn an_unknown_team_is_refused_before_the_terminal_is_touched() {
    let home = Home::new();
    let mut term = home.spawn(&["--team", "nope"], true);
    assert_eq!(term.wait_exit(LONG).unwrap(), 2);
    let out = String::from_utf8_lossy(&term.raw_output()).to_string();
    assert!(out.contains("unknown team 'nope'"), "{out}");
    assert!(out.contains("debate, support"), "{out}");
    assert!(
        !out.contains("\x1b[?1049h"),
        "never entered the alternate screen"
    );
}

/// Wait until the screen satisfies `ok`, failing with the screen after `LONG`.
fn wait_until(term: &Pty, ok: impl Fn(&str) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let screen = term.screen();
        if ok(&screen) {
            return;
        }
        assert!(
            start.elapsed() < LONG,
            "the screen never got there:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn journals(home: &Home) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.data().join("sessions"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    found.sort();
    found
}

#[test]
fn export_fork_and_the_sessions_picker_work_from_the_console() {
    let home = Home::new();
    let mut term = home.spawn(&[], true);
    term.wait_for("team debate", LONG).unwrap();
    term.send_text("Should we rewrite billing in Rust?")
        .unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Hold on.", LONG).unwrap();
    term.send_key(Key::Ctrl('g')).unwrap();
    term.wait_for("finished", LONG).unwrap();

    term.send_text("/export md").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("exported to", LONG).unwrap();
    let first = journals(&home);
    assert_eq!(first.len(), 1);
    let id = first[0].file_stem().unwrap().to_str().unwrap().to_string();
    let md = std::fs::read_to_string(home.path().join(format!("conclave-{id}.md"))).unwrap();
    assert!(md.contains("Should we rewrite billing in Rust?"), "{md}");

    // A fork past the end is refused, and the session stays on screen.
    term.send_text("/fork 99999").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("cannot fork", LONG).unwrap();
    term.wait_for(&format!("resumed {id}"), LONG).unwrap();
    assert_eq!(journals(&home).len(), 1);

    // Fork right after the question: a second journal, and the console shows it.
    term.send_text("/fork 1").unwrap();
    term.send_key(Key::Enter).unwrap();
    wait_until(&term, |s| s.contains("forked") && s.contains("into"));
    assert_eq!(journals(&home).len(), 2);

    // Back to the original through the picker (newest first: the fork, then the original).
    term.send_text("/sessions").unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("Resume a session", LONG).unwrap();
    term.wait_for(&id, LONG).unwrap();
    term.send_key(Key::Down).unwrap();
    term.send_key(Key::Enter).unwrap();
    // The fork's view (and its "forked" note) gives way to the original's.
    wait_until(&term, |s| {
        !s.contains("forked") && s.contains(&format!("resumed {id}"))
    });
    quit(&mut term);
    assert_eq!(journals(&home).len(), 2);
}

#[test]
fn an_ollama_found_in_the_background_replaces_the_demo_before_anything_is_sent() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let ollama = runtime.block_on(server::FakeServer::start());
    ollama.always(
        "/api/tags",
        server::Reply::json(200, serde_json::json!({"models": [{"name": "qwen2.5:7b"}]})),
    );
    let home = Home::new();
    let url = ollama.url();
    let mut term = home.spawn_env(&[], false, &[("OLLAMA_HOST", &url)]);
    let host = url.trim_start_matches("http://");
    let screen = term.wait_for(&format!("ollama @ {host}"), LONG).unwrap();
    assert!(!screen.contains("DEMO"), "{screen}");
    term.wait_for("qwen2.5:7b", LONG).unwrap();
    quit(&mut term);
    assert!(
        ollama.requests().iter().all(|r| r.path == "/api/tags"),
        "nothing but the probe reached the server"
    );
}

/// Issue 11 item 6: an auto team's router picks a team; within the approval window the person
/// opens the route picker (which holds the window) and sends the task to another team, whose
/// agents then join and answer.
#[test]
fn the_person_overrides_the_route_with_the_picker() {
    let home = Home::new();
    let mut config = std::fs::read_to_string(home.config()).unwrap();
    config.push_str(
        r#"
[agents.router]
backend = "demo"
model = "router"

[teams.ask]
pattern = "auto"
router = "router"
teams = ["debate", "support"]
approval = "window"
approval_window_ms = 3000
"#,
    );
    std::fs::write(home.config(), config).unwrap();
    let mut term = home.spawn(&["--team", "ask"], true);
    term.wait_for("team ask", LONG).unwrap();
    term.send_text("Should we rewrite billing in Rust?")
        .unwrap();
    term.send_key(Key::Enter).unwrap();
    // The demo router sends a question with two sides to the debate; the footer offers the picker.
    term.wait_for("routed the task to debate", LONG).unwrap();
    term.send_key(Key::Alt('r')).unwrap();
    term.wait_for("Route the task to", LONG).unwrap();
    // Held: twice the window passes and the router's pick still waits for the person.
    std::thread::sleep(Duration::from_millis(6000));
    let screen = term.screen();
    assert!(!screen.contains("team debate takes over"), "{screen}");
    term.send_key(Key::Down).unwrap();
    term.send_key(Key::Enter).unwrap();
    term.wait_for("team support takes over", LONG).unwrap();
    term.wait_for("triage → billing", LONG).unwrap();
    quit(&mut term);
    let journal = std::fs::read_to_string(&journals(&home)[0]).unwrap();
    assert!(journal.contains(r#""type":"route_held""#), "{journal}");
    assert!(
        journal.contains(r#""type":"routed","team":"support","by":"person""#),
        "{journal}"
    );
    assert!(
        !journal.contains(r#""type":"agents_announced","team":"debate""#),
        "{journal}"
    );
}
