//! Durability of what conclave records, through the real binary against the fake OpenAI server:
//! a journal write that fails mid-run (a real `EFBIG` from `RLIMIT_FSIZE`), a data dir that
//! cannot be written (refused before any model is called), a damaged journal (read around the
//! bad line), private file modes, standard output that fails, and racing `sessions rm`.

#![cfg(unix)]
// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/pty.rs"]
mod pty;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{FakeServer, Reply, Turn, wire};

/// Only to avoid hanging forever if something is broken; never a speed assertion.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

/// A fake server answering every chat request at once with `text`, and a config using it.
struct World {
    runtime: tokio::runtime::Runtime,
    server: FakeServer,
    dir: tempfile::TempDir,
}

impl World {
    fn new(text: &str) -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(FakeServer::start());
        let events = wire::openai_events(&Turn::text([text]).usage(10, 10));
        server.always("/v1/chat/completions", Reply::sse(events));
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"
[backends.fake]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "CONCLAVE_DURABLE_TEST_KEY"
max_retries = 0

[agents.pm]
backend = "fake"
model = "m"

[agents.dev]
backend = "fake"
model = "m"

[agents.qa]
backend = "fake"
model = "m"

[teams.pipeline]
pattern = "sequential"
members = ["pm", "dev", "qa"]

[teams.solo]
pattern = "single"
members = ["pm"]
"#,
            url = server.url()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        World {
            runtime,
            server,
            dir,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn sessions(&self) -> PathBuf {
        self.data().join("sessions")
    }

    /// `conclave ARGS` with this world's config and data dir.
    fn conclave(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conclave"));
        cmd.arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(args)
            .env_remove("CONCLAVE_CONFIG")
            .env("CONCLAVE_DATA_DIR", self.data())
            .env("CONCLAVE_DURABLE_TEST_KEY", "sk-test-not-a-real-key")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut full = vec!["run", "--events", "jsonl"];
        full.extend_from_slice(args);
        self.conclave(&full).output().unwrap()
    }

    fn requests(&self) -> usize {
        let _enter = self.runtime.enter();
        self.server.requests().len()
    }

    fn only_journal(&self) -> PathBuf {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.sessions())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.remove(0)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn printed(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// With the limit gone, `run --resume last` carries the pipeline at `path` to its end: exit 0,
/// every step answered once.
fn resumes_to_the_end(world: &World, path: &Path) {
    let again = world.run(&["--resume", "last"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let journal = conclave::store::read_journal(path).unwrap();
    let messages = journal
        .events
        .iter()
        .filter(|e| matches!(e.kind, conclave::core::EventKind::Message { .. }))
        .count();
    assert_eq!(messages, 3, "every step answered once the space was back");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}

/// A journal write that fails (the file may not grow past `limit` bytes: `write` returns
/// `EFBIG`, as for a full disk) stops the run at once: exit 1 naming the journal and the cause,
/// nothing printed that is not on disk. With the limit gone, the session resumes to its end.
#[test]
fn a_failing_journal_write_stops_the_run_and_the_session_resumes() {
    use std::os::unix::process::CommandExt;
    let world = World::new(&"All work and no play makes a long reply. ".repeat(40));
    const LIMIT: libc::rlim_t = 4096;
    let mut cmd = world.conclave(&[
        "run",
        "--team",
        "pipeline",
        "--events",
        "jsonl",
        "--prompt",
        "write at length",
    ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Past the limit, `write` fails with EFBIG instead of the process being killed.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let path = world.only_journal();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let journal = conclave::store::read_journal(&path).unwrap();
    let on_disk: Vec<u64> = journal.events.iter().map(|e| e.seq).collect();
    let shown = printed(&out);
    assert!(
        !shown.iter().any(|e| e["type"] == "session_finished"),
        "the run claims an end the journal does not have"
    );
    for event in &shown {
        if event["type"] != "token" && event["type"] != "turn_started" {
            let seq = event["seq"].as_u64().unwrap();
            assert!(on_disk.contains(&seq), "printed but not on disk: {event}");
        }
    }
    assert!(
        std::fs::metadata(&path).unwrap().len() <= LIMIT,
        "the limit held"
    );

    resumes_to_the_end(&world, &path);
}

/// The data dir sits under a regular file (`ENOTDIR`, meaningful as root too): `run` and the
/// console refuse before anything starts, naming the path, and no model is called.
#[test]
fn a_data_dir_that_cannot_be_created_is_refused_up_front() {
    let world = World::new("hello");
    std::fs::write(world.data(), "a file, not a directory").unwrap();
    let out = world.run(&["--team", "solo", "--prompt", "hi"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&world.sessions().display().to_string()),
        "{err}"
    );
    assert!(err.contains("not writable (Not a directory"), "{err}");
    let console = world.conclave(&["--team", "solo"]).output().unwrap();
    let err = stderr(&console);
    assert_eq!(console.status.code(), Some(1), "{err}");
    assert!(err.contains("not writable (Not a directory"), "{err}");
    assert_eq!(world.requests(), 0, "a model was called");
}

/// A journal whose lock file cannot be created (a directory sits at its path) is refused before
/// the resumed session calls a model; as non-root, so are a read-only sessions dir and a
/// read-only journal.
#[test]
fn a_session_that_cannot_be_recorded_is_refused_before_any_model_is_called() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new("hello");
    let first = world.run(&["--team", "solo", "--prompt", "hi"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let journal = world.only_journal();
    let calls = world.requests();

    let lock = journal.with_extension("lock");
    std::fs::create_dir(&lock).unwrap();
    let out = world.run(&["--resume", "last", "--prompt", "more"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&lock.display().to_string()), "{err}");
    assert!(err.contains("not writable"), "{err}");
    let console = world.conclave(&["--resume", "last"]).output().unwrap();
    assert_eq!(console.status.code(), Some(1), "{}", stderr(&console));
    assert!(stderr(&console).contains(&lock.display().to_string()));
    std::fs::remove_dir(&lock).unwrap();
    assert_eq!(world.requests(), calls, "a model was called");

    if is_root() {
        println!("skipped the permission-bit cases: root writes through 0500 and 0400");
        return;
    }
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set(&journal, 0o400);
    let out = world.run(&["--resume", "last", "--prompt", "more"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    set(&journal, 0o600);
    set(&world.sessions(), 0o500);
    let out = world.run(&["--team", "solo", "--prompt", "hi"]);
    set(&world.sessions(), 0o700);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(world.requests(), calls, "a model was called");
}

/// Journals, forks, the log, the sessions dir and the data dir are private whatever the umask.
#[test]
fn what_conclave_records_is_private_under_a_permissive_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let world = World::new("hello");
    let mut cmd = world.conclave(&["run", "--team", "solo", "--prompt", "hi"]);
    // A chosen level opens the log at start (at the default level it is made on the first line
    // logged: `host::logging`'s tests check that one's mode).
    cmd.env("CONCLAVE_LOG", "info");
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let journal = world.only_journal();
    assert_eq!(mode(&journal), 0o600, "journal");
    assert_eq!(mode(&world.data().join("conclave.log")), 0o600, "log");
    assert_eq!(mode(&world.sessions()), 0o700, "sessions dir");
    assert_eq!(mode(&world.data()), 0o700, "data dir");
    let id = journal.file_stem().unwrap().to_str().unwrap().to_string();
    let fork = world
        .conclave(&["sessions", "fork", &id, "--at", "0"])
        .output()
        .unwrap();
    assert_eq!(fork.status.code(), Some(0), "{}", stderr(&fork));
    for entry in std::fs::read_dir(world.sessions()).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// A garbage line in the middle of a journal: show and export report it on stderr (with its
/// line number) and print the rest; a duplicated event is printed once; resume works.
#[test]
fn a_damaged_line_is_skipped_and_reported_by_show_export_and_resume() {
    let world = World::new("hello");
    let first = world.run(&["--team", "solo", "--prompt", "first question"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let path = world.only_journal();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let message = lines
        .iter()
        .position(|l| l.contains("\"type\":\"message\""))
        .unwrap();
    let duplicate = lines[message];
    lines.insert(message + 1, duplicate);
    lines.insert(2, "\u{1}{{ not json \u{7f}");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let id = path.file_stem().unwrap().to_str().unwrap().to_string();

    let show = world.conclave(&["sessions", "show", &id]).output().unwrap();
    let err = stderr(&show);
    assert_eq!(show.status.code(), Some(0), "{err}");
    assert!(err.contains("line 3 is damaged"), "{err}");
    assert!(err.contains(&format!("line {}: seq", message + 3)), "{err}");
    let shown = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(shown.contains("first question"), "{shown}");
    assert_eq!(shown.matches("pm (turn 0):").count(), 1, "{shown}");

    let export = world
        .conclave(&["sessions", "export", &id, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    assert!(stderr(&export).contains("line 3 is damaged"));
    let events: Value = serde_json::from_slice(&export.stdout).unwrap();
    let messages = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message")
        .count();
    assert_eq!(messages, 1);

    let again = world.run(&["--resume", &id, "--prompt", "second question"]);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{err}");
    assert!(err.contains("line 3 is damaged"), "{err}");
    let journal = conclave::store::read_journal(&path).unwrap();
    assert!(
        journal
            .events
            .iter()
            .any(|e| format!("{:?}", e.kind).contains("second question"))
    );
}

/// Standard output that cannot be written (`/dev/full`): exit 1 and a message on stderr; the
/// journal reads back whole.
#[test]
fn a_run_whose_output_fails_says_so_and_exits_1() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        println!("skipped: this system has no /dev/full");
        return;
    }
    let world = World::new("hello");
    let out = world
        .conclave(&["run", "--team", "solo", "--prompt", "hi"])
        .stdout(std::fs::File::create(full).unwrap())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");
    let journal = conclave::store::read_journal(&world.only_journal()).unwrap();
    assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
    assert!(!journal.events.is_empty());
}

/// Several `sessions rm` of one session at once: exactly one removes it (0), every other one
/// says there is no such session (2), every time.
#[test]
fn racing_rm_of_one_session_removes_it_once() {
    const SESSIONS: usize = 12;
    const RACERS: usize = 3;
    let world = World::new("hello");
    std::fs::create_dir_all(world.sessions()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_event.jsonl");
    let ids: Vec<String> = (0..SESSIONS)
        .map(|i| format!("20261121-1300{i:02}-race"))
        .collect();
    for id in &ids {
        std::fs::copy(&fixture, world.sessions().join(format!("{id}.jsonl"))).unwrap();
    }
    for id in &ids {
        let racers: Vec<_> = (0..RACERS)
            .map(|_| world.conclave(&["sessions", "rm", id]).spawn().unwrap())
            .collect();
        let mut codes: Vec<(i32, String)> = racers
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().unwrap();
                (o.status.code().unwrap_or(-1), stderr(&o))
            })
            .collect();
        codes.sort();
        assert_eq!(codes[0].0, 0, "{codes:?}");
        for (code, err) in &codes[1..] {
            assert_eq!(*code, 2, "{codes:?}");
            assert!(err.contains("no session matches"), "{codes:?}");
        }
        assert!(!world.sessions().join(format!("{id}.jsonl")).exists());
        assert!(!world.sessions().join(format!("{id}.lock")).exists());
    }
}

/// The losing side of the race, made certain: this process plays the winning `rm` (it holds the
/// session's lock, as `rm` does while it deletes) until the real `conclave sessions rm` has
/// resolved the id and waits for the lock (Linux: its open file is visible in /proc), then
/// deletes the journal and lets the lock go. The waiting `rm` finds the session gone: exit 2.
#[test]
fn an_rm_that_loses_the_race_says_no_such_session() {
    let proc_fd = Path::new("/proc/self/fd");
    if !proc_fd.is_dir() {
        println!("skipped: no /proc to see when the second rm waits for the lock");
        return;
    }
    let world = World::new("hello");
    std::fs::create_dir_all(world.sessions()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_event.jsonl");
    let id = "20261121-130000-lose";
    let journal = world.sessions().join(format!("{id}.jsonl"));
    std::fs::copy(&fixture, &journal).unwrap();
    let held = conclave::store::lock::acquire(&journal).unwrap();
    let lock_path = std::fs::canonicalize(conclave::store::lock::lock_path(&journal)).unwrap();
    let mut loser = world.conclave(&["sessions", "rm", id]).spawn().unwrap();
    let fds = PathBuf::from(format!("/proc/{}/fd", loser.id()));
    let waiting = || {
        std::fs::read_dir(&fds).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| std::fs::read_link(e.path()).is_ok_and(|p| p == lock_path))
        })
    };
    while !waiting() {
        assert!(
            loser.try_wait().unwrap().is_none(),
            "the second rm ended without waiting for the lock"
        );
        std::thread::yield_now();
    }
    std::fs::remove_file(&journal).unwrap();
    held.release().unwrap();
    let out = loser.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("no session matches `{id}`")), "{err}");
    assert!(!conclave::store::lock::lock_path(&journal).exists());
}

/// The console under the same failing journal (a shell sets the file size limit and ignores
/// SIGXFSZ, then runs the real binary in a pty): it says why on screen and leaves the session
/// paused where the journal stops; quitting works, and the session resumes once the limit is gone.
#[test]
fn the_console_pauses_a_session_whose_journal_fails_and_it_resumes() {
    let world = World::new(&"All work and no play makes a long reply. ".repeat(40));
    let config = world.dir.path().join("config.toml");
    let data = world.data();
    let script = "ulimit -f 8 && trap '' XFSZ && exec \"$0\" \"$@\"";
    let mut term = pty::Pty::spawn(
        "/bin/sh",
        &[
            "-c",
            script,
            env!("CARGO_BIN_EXE_conclave"),
            "--config",
            config.to_str().unwrap(),
            "--team",
            "pipeline",
        ],
        &[
            ("CONCLAVE_DATA_DIR", data.to_str().unwrap()),
            ("CONCLAVE_CONFIG", ""),
            ("CONCLAVE_DURABLE_TEST_KEY", "sk-test-not-a-real-key"),
            ("NO_COLOR", "1"),
        ],
        120,
        40,
    )
    .unwrap();
    term.wait_for("Type a message", PATIENCE).unwrap();
    term.send_text("write at length").unwrap();
    term.send_key(pty::Key::Enter).unwrap();
    let screen = term.wait_for("is paused", PATIENCE).unwrap();
    assert!(
        screen.contains("(os error 27)"),
        "EFBIG, File too large: {screen}"
    );
    term.send_key(pty::Key::Ctrl('q')).unwrap();
    term.wait_for("Quit conclave?", PATIENCE).unwrap();
    term.send_text("y").unwrap();
    assert_eq!(term.wait_exit(PATIENCE).unwrap(), 0, "{}", term.screen());
    assert!(term.is_restored(), "{}", term.screen());

    let path = world.only_journal();
    let journal = conclave::store::read_journal(&path).unwrap();
    assert!(
        journal
            .events
            .iter()
            .all(|e| !matches!(e.kind, conclave::core::EventKind::SessionFinished { .. }))
    );
    resumes_to_the_end(&world, &path);
}
