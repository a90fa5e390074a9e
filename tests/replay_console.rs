//! `conclave replay` in the console renders what the live console rendered: for each pattern, a
//! session of the offline demo team is run live (in process, journaled) with its events folded
//! into one console, the journal is read back and played at `--instant` by the replay player
//! into another, and the two final screens are compared row for row (all but the input box /
//! replay bar and the footer, which differ by design). Also: a seek back shows the screen that
//! playing up to that event shows, and the replay bar and `seq` label snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/events.rs"]
mod events;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use conclave::config::detect::{Detected, DetectedKind};
use conclave::config::{Config, defaults};
use conclave::core::Command;
use conclave::core::event::{Event, EventKind};
use conclave::core::patterns::UnattendedApproval;
use conclave::host::LaunchOptions;
use conclave::host::replay::player::Player;
use conclave::tui::render::draw;
use conclave::tui::replay::{ReplayControl, ReplayTarget};
use conclave::tui::theme::Theme;
use conclave::tui::{App, ConsoleSetup, Inbound};

/// (team of the demo config, its pattern, the prompt).
const TEAMS: [(&str, &str, &str); 6] = [
    ("research", "single", "What is in this directory?"),
    (
        "pipeline",
        "sequential",
        "A command line tool that counts words",
    ),
    ("fanout", "concurrent", "Is a four-day week a good idea?"),
    (
        "support",
        "handoff",
        "I was charged twice this month, please refund me",
    ),
    (
        "debate",
        "group_chat",
        "Should we rewrite the billing service in Rust?",
    ),
    (
        "review",
        "best_of",
        "How should a small team do code review?",
    ),
];

fn demo() -> Config {
    let mut config = defaults::embedded(&Detected {
        kind: DetectedKind::Demo,
    });
    for b in config.backends.values_mut() {
        b.tokens_per_sec = Some(0.0);
    }
    config
}

fn console(config: &Config, team: &str) -> App {
    let setup = ConsoleSetup {
        config: config.clone(),
        team: team.into(),
        backend_label: "demo (offline demo)".into(),
        is_demo: true,
        history: Vec::new(),
    };
    App::with_theme(setup, Theme::dark(), Vec::new())
}

/// Run `team` live on `prompt`: the events the console was sent, and the journal's.
async fn record(config: &Config, team: &str, prompt: &str) -> (Vec<Event>, Vec<Event>) {
    let dir = tempfile::tempdir().unwrap();
    let options = LaunchOptions {
        unattended: Some(UnattendedApproval::Auto),
        journal_dir: Some(dir.path().to_path_buf()),
        providers: None,
        headless: true,
    };
    let mut launched = conclave::host::launch(config, team, &options).unwrap();
    launched
        .handle
        .send(Command::Send {
            text: prompt.into(),
            to: None,
        })
        .unwrap();
    let mut live = Vec::new();
    events::until_finished(&mut launched.events, &mut live).await;
    let path = launched.journal_path.clone().unwrap();
    drop(launched.handle);
    drop(launched.events);
    if let Some(writer) = launched.journal {
        writer.await.unwrap().unwrap();
    }
    let journal = conclave::store::read_journal(&path).unwrap();
    (steady(live), steady(journal.events))
}

/// The run's wall-clock figures made fixed (each event 10 ms after the one before by seq, every
/// call 1 s long), the same way on both sides, so the snapshots are stable.
fn steady(mut events: Vec<Event>) -> Vec<Event> {
    let t0 = chrono::DateTime::<chrono::Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    for e in &mut events {
        e.ts = t0 + chrono::Duration::milliseconds(10 * e.seq as i64);
        if let EventKind::Message {
            latency_ms,
            ttft_ms,
            ..
        } = &mut e.kind
        {
            *latency_ms = 1_000;
            *ttft_ms = Some(100);
        }
    }
    events
}

/// Fold what `player` plays into `app`, as the replay console's driver sends it.
fn play(app: &mut App, player: &mut Player, control: Option<ReplayControl>) {
    let played = match control {
        Some(c) => player.control(c),
        None => player.tick(),
    };
    for inbound in player.inbounds(played) {
        app.receive(inbound);
    }
}

fn replayed(config: &Config, team: &str, journal: &[Event]) -> (App, Player) {
    let mut app = console(config, team);
    let mut player = Player::new("s-replay", journal.to_vec(), None);
    app.receive(Inbound::ReplayStatus(player.status()));
    play(&mut app, &mut player, None);
    (app, player)
}

fn rows(app: &mut App, w: u16, h: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    terminal
        .backend()
        .to_string()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `screen` with the replay bar's `event N of M` written `event # of #`, once M is checked to be
/// the journal's length: how many lines the journal writer merged a turn's tokens into depends
/// on how fast the recording streamed (a line at least every half second), which a loaded
/// machine changes, and the snapshot is of the screen, not of that.
fn counted(screen: String, journal: &[Event]) -> String {
    let Some(at) = screen.find("· event ") else {
        return screen;
    };
    let start = at + "· event ".len();
    let rest = &screen[start..];
    let played = rest.chars().take_while(char::is_ascii_digit).count();
    let Some(of) = rest[played..].strip_prefix(" of ") else {
        return screen;
    };
    let total: String = of.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(total, journal.len().to_string(), "{screen}");
    let end = start + played + " of ".len() + total.len();
    let width = end - start;
    format!("{}{:<width$}{}", &screen[..start], "# of #", &screen[end..])
}

/// The status bar and the body: everything above the input box (or replay bar) and footer,
/// with the replay's ` seq N ` label on the transcript's border drawn as border again.
fn panes(app: &mut App, w: u16, h: u16) -> Vec<String> {
    let mut all = rows(app, w, h);
    all.truncate(usize::from(h) - 4);
    all.into_iter().map(|row| unlabelled(&row)).collect()
}

fn unlabelled(row: &str) -> String {
    let Some(start) = row.find("─ seq ") else {
        return row.to_string();
    };
    let label_start = start + "─".len();
    let rest = &row[label_start + " seq ".len()..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let label_len = " seq ".len() + digits + 1;
    format!(
        "{}{}{}",
        &row[..label_start],
        "─".repeat(label_len),
        &row[label_start + label_len..]
    )
}

/// The ` seq N ` label on the transcript's border.
fn seq_label(app: &mut App, w: u16, h: u16) -> Option<u64> {
    let all = rows(app, w, h).join("\n");
    let at = all.find("─ seq ")? + "─ seq ".len();
    all[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_of_every_pattern_renders_the_live_final_screen() {
    let config = demo();
    for (team, pattern, prompt) in TEAMS {
        let (live_events, journal) = record(&config, team, prompt).await;
        assert_eq!(config.teams[team].pattern.as_str(), pattern);
        let mut live = console(&config, team);
        for e in &live_events {
            live.receive(Inbound::Event(e.clone()));
        }
        let (mut replay, player) = replayed(&config, team, &journal);
        assert!(player.at_end());
        let now = journal.last().unwrap().ts;
        live.now = now;
        replay.now = now;
        for (w, h) in [(80, 24), (160, 48)] {
            let (a, b) = (panes(&mut live, w, h), panes(&mut replay, w, h));
            assert_eq!(a, b, "{team} ({pattern}) at {w}x{h}: the replay differs");
            assert!(
                a.iter().any(|r| r.contains("finished")),
                "{team} at {w}x{h}: {a:#?}"
            );
            let all = rows(&mut replay, w, h).join("\n");
            let last = journal.last().unwrap().seq;
            assert_eq!(seq_label(&mut replay, w, h), Some(last), "{team}:\n{all}");
            assert!(
                all.contains(&format!("ended · seq {last} / {last}")),
                "{team} at {w}x{h}:\n{all}"
            );
        }
        // A pipeline runs in one order every time (a debate's votes come in any order).
        if team == "pipeline" {
            insta::assert_snapshot!(
                "replay_pipeline_end_80x24",
                counted(rows(&mut replay, 80, 24).join("\n"), &journal)
            );
            insta::assert_snapshot!(
                "replay_pipeline_end_160x48",
                counted(rows(&mut replay, 160, 48).join("\n"), &journal)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_back_shows_the_screen_of_playing_up_to_that_event() {
    let config = demo();
    let (_, journal) = record(&config, "support", TEAMS[3].2).await;
    let (mut replay, mut player) = replayed(&config, "support", &journal);
    // Back to the handoff request, the way a person gets there: from the start, a jump.
    play(&mut replay, &mut player, Some(ReplayControl::Seek(0)));
    play(
        &mut replay,
        &mut player,
        Some(ReplayControl::Next(ReplayTarget::Handoff)),
    );
    let at = player.played();
    let seq = journal[at - 1].seq;
    assert!(matches!(
        journal[at - 1].kind,
        EventKind::HandoffRequested { .. }
    ));
    play(&mut replay, &mut player, Some(ReplayControl::End));
    play(&mut replay, &mut player, Some(ReplayControl::Seek(seq)));
    assert_eq!(player.played(), at);
    let mut direct = console(&config, "support");
    for e in &journal[..at] {
        direct.receive(Inbound::Event(e.clone()));
    }
    let now = journal[at - 1].ts;
    direct.now = now;
    replay.now = replay.clock(chrono::Utc::now());
    assert_eq!(replay.now, now, "the screen's clock is the recorded one");
    for (w, h) in [(80, 24), (160, 48)] {
        assert_eq!(
            panes(&mut direct, w, h),
            panes(&mut replay, w, h),
            "{w}x{h}"
        );
    }
    let screen = rows(&mut replay, 160, 48).join("\n");
    assert!(
        screen.contains(&format!("paused · seq {seq} /")),
        "{screen}"
    );
    insta::assert_snapshot!(
        "replay_support_paused_at_handoff_160x48",
        counted(screen, &journal)
    );
    insta::assert_snapshot!(
        "replay_support_paused_at_handoff_80x24",
        counted(rows(&mut replay, 80, 24).join("\n"), &journal)
    );
}

#[test]
fn replay_keys_become_player_requests_and_nothing_reaches_the_agents() {
    use conclave::tui::Outbound;
    use conclave::tui::app::Effect;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let ask = |c: ReplayControl| vec![Effect::Send(Outbound::Replay(c))];
    let config = demo();
    let mut app = console(&config, "debate");
    app.receive(Inbound::ReplayStatus(
        Player::new("s", Vec::new(), Some(1.0)).status(),
    ));
    assert_eq!(app.handle_key(key(' ')), ask(ReplayControl::Toggle));
    assert_eq!(app.handle_key(key('n')), ask(ReplayControl::Step));
    assert_eq!(
        app.handle_key(key('v')),
        ask(ReplayControl::Next(ReplayTarget::Vote))
    );
    // A count typed first: the seek keys take it, once.
    assert!(app.handle_key(key('1')).is_empty());
    assert!(app.handle_key(key('2')).is_empty());
    assert_eq!(app.replay.as_ref().unwrap().count, Some(12));
    assert_eq!(app.handle_key(key('b')), ask(ReplayControl::Back(12)));
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE)),
        ask(ReplayControl::Forward(10))
    );
    assert!(app.handle_key(key('4')).is_empty());
    assert_eq!(app.handle_key(key('g')), ask(ReplayControl::Seek(4)));
    assert_eq!(app.handle_key(key('g')), ask(ReplayControl::Seek(0)));
    // Steering keys send nothing and say why; typing and pasting go nowhere.
    let vote = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL);
    assert!(app.handle_key(vote).is_empty());
    assert!(
        app.replay
            .as_ref()
            .unwrap()
            .refused
            .as_deref()
            .unwrap()
            .contains("sends nothing"),
        "{:?}",
        app.replay
    );
    assert!(app.handle_key(key('x')).is_empty());
    app.handle_paste("hello");
    assert!(app.input.is_empty());
    // Ctrl+C asks before quitting; q quits at once.
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.handle_key(ctrl_c).is_empty());
    assert_eq!(app.overlays.len(), 1);
    app.overlays.clear();
    assert_eq!(
        app.handle_key(key('q')),
        vec![Effect::Send(Outbound::Quit), Effect::Quit]
    );
}

#[test]
fn help_in_a_replay_lists_the_replay_keys_first() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let config = demo();
    let mut app = console(&config, "debate");
    app.receive(Inbound::ReplayStatus(
        Player::new("s", Vec::new(), Some(1.0)).status(),
    ));
    app.handle_key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = rows(&mut app, w, h).join("\n");
        assert!(screen.contains("Replay (type digits for N)"), "{screen}");
        insta::assert_snapshot!(format!("replay_help_{w}x{h}"), screen);
    }
}
