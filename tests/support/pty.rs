//! A pseudo-terminal harness for end-to-end tests of the real binary: spawn a program with
//! arguments and environment in a pty of a given size, type into it, wait until the screen
//! (parsed by vt100) shows a string, and check that the terminal was given back (alternate
//! screen left, cursor shown, mouse and bracketed paste off, the line discipline back in cooked
//! mode). Every wait has a generous timeout so a broken build fails instead of hanging.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Keys worth naming.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    Enter,
    Esc,
    Tab,
    Up,
    Down,
    PageUp,
    PageDown,
    Backspace,
    F(u8),
    Ctrl(char),
    Alt(char),
}

impl Key {
    /// The bytes a terminal sends for this key.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Key::Enter => b"\r".to_vec(),
            Key::Esc => b"\x1b".to_vec(),
            Key::Tab => b"\t".to_vec(),
            Key::Up => b"\x1b[A".to_vec(),
            Key::Down => b"\x1b[B".to_vec(),
            Key::PageUp => b"\x1b[5~".to_vec(),
            Key::PageDown => b"\x1b[6~".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::F(n @ 1..=4) => format!("\x1bO{}", (b'P' + n - 1) as char).into_bytes(),
            Key::F(n) => {
                let code = match n {
                    5 => 15,
                    6 => 17,
                    7 => 18,
                    8 => 19,
                    9 => 20,
                    10 => 21,
                    11 => 23,
                    _ => 24,
                };
                format!("\x1b[{code}~").into_bytes()
            }
            Key::Ctrl(c) => vec![(c.to_ascii_lowercase() as u8) & 0x1f],
            Key::Alt(c) => vec![0x1b, c as u8],
        }
    }
}

/// A program running in a pty, with a vt100 screen fed by a reader thread.
pub struct Pty {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Shared with the reader thread, which must not outlive it.
    master: Arc<Mutex<Box<dyn MasterPty + Send>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    /// Start `program` with `args` and extra `env` in a `cols`×`rows` pty.
    pub fn spawn(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> anyhow::Result<Pty> {
        Pty::spawn_in(None, program, args, env, cols, rows)
    }

    /// Like [`Pty::spawn`], in the working directory `cwd` when given.
    pub fn spawn_in(
        cwd: Option<&std::path::Path>,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> anyhow::Result<Pty> {
        let pair = native_pty_system().openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        if let Some(dir) = cwd {
            cmd.cwd(dir);
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        let size = |n: u16| NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        // The master must outlive the reader; the thread holds it too.
        let master = Arc::new(Mutex::new(pair.master));
        let kept = master.clone();
        let reader = std::thread::spawn(move || {
            let _master = kept;
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if let Ok(mut p) = p.lock() {
                            p.process(&buf[..n]);
                        }
                        if let Ok(mut r) = r.lock() {
                            r.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
        });
        Ok(Pty {
            child,
            writer,
            parser,
            raw,
            master,
            reader: Some(reader),
        })
    }

    /// Type `text` as is.
    pub fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.send_bytes(text.as_bytes())
    }

    pub fn send_key(&mut self, key: Key) -> anyhow::Result<()> {
        self.send_bytes(&key.bytes())
    }

    /// Paste `text` the way a terminal with bracketed paste does.
    pub fn paste(&mut self, text: &str) -> anyhow::Result<()> {
        self.send_bytes(format!("\x1b[200~{text}\x1b[201~").as_bytes())
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()?;
        Ok(())
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    /// Everything the program wrote, escape sequences included.
    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Wait until the screen contains `needle`; returns the screen, or an error with the screen
    /// as it was when the timeout struck.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return Ok(screen);
            }
            if start.elapsed() > timeout {
                anyhow::bail!(
                    "{needle:?} did not appear within {timeout:?}; the screen:\n{screen}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the program to exit and all its output to be read; returns the exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<u32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Ok(status.exit_code());
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                anyhow::bail!(
                    "the program did not exit within {timeout:?}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Whether the terminal is back to normal: main screen, cursor visible.
    pub fn is_restored(&self) -> bool {
        self.parser
            .lock()
            .map(|p| !p.screen().alternate_screen() && !p.screen().hide_cursor())
            .unwrap_or(false)
    }

    /// What the program asked of the terminal, as far as the screen tells: each of alternate
    /// screen, hidden cursor, mouse reporting and bracketed paste that is on.
    pub fn modes(&self) -> Vec<&'static str> {
        let Ok(p) = self.parser.lock() else {
            return vec!["(the screen is poisoned)"];
        };
        let s = p.screen();
        let on = [
            (s.alternate_screen(), "alternate screen"),
            (s.hide_cursor(), "hidden cursor"),
            (
                s.mouse_protocol_mode() != vt100::MouseProtocolMode::None,
                "mouse reporting",
            ),
            (s.bracketed_paste(), "bracketed paste"),
        ];
        on.into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect()
    }

    /// Whether the pty's line discipline is in cooked mode (canonical input and echo), as a
    /// shell expects it; raw mode turns both off.
    #[cfg(unix)]
    pub fn is_cooked(&self) -> bool {
        let Some(fd) = self.master.lock().ok().and_then(|m| m.as_raw_fd()) else {
            return false;
        };
        // SAFETY: a plain ioctl on an open descriptor into a zeroed termios we own.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
            return false;
        }
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// The process group in the foreground of the pty (a job a shell started in it).
    #[cfg(unix)]
    pub fn foreground_pid(&self) -> Option<u32> {
        let leader = self.master.lock().ok()?.process_group_leader()?;
        u32::try_from(leader).ok()
    }

    /// Wait until `ok` holds, failing with the screen after `timeout`.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&Pty) -> bool,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        while !ok(self) {
            if start.elapsed() > timeout {
                anyhow::bail!(
                    "{what}: not so within {timeout:?}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
