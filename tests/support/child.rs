//! A `conclave run` child process read as it runs: its stdout lines (one JSON event each) arrive on
//! a channel from a reader thread, its stdin stays open for control lines, and a failed test never
//! leaves it hung (it is killed on drop). Shared by the headless, resume and auto-routing tests.

// Each test file uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a read waits for the next line before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A running child: `seen` holds every event read so far.
pub struct Running {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub seen: Vec<Value>,
}

impl Running {
    /// Start `cmd` (its stdout must be piped).
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Read events until one of type `ty` (returned); panics if the output ends first.
    pub fn until(&mut self, ty: &str) -> Value {
        self.until_where(&format!("`{ty}` event"), |v| v["type"] == ty)
    }

    /// Read events until one matches `pred` (returned); `what` names it in the failure.
    pub fn until_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("no {what}; saw {:#?}", types(&self.seen)));
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object per line: {line:?}: {e}"));
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    /// Write one control line.
    pub fn write(&mut self, line: &str) {
        self.write_bytes(format!("{line}\n").as_bytes());
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// End the control script: nobody is left to approve, pick or resume.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Read to `session_finished`, close stdin, read the rest; the exit code and every event.
    pub fn finish(mut self) -> (i32, Vec<Value>) {
        self.until("session_finished");
        self.close_stdin();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(serde_json::from_str(&line).unwrap());
        }
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), std::mem::take(&mut self.seen))
    }

    /// Read the rest of the output, then the exit status; panics if the run does not end.
    pub fn exit_after_output(&mut self) -> std::process::ExitStatus {
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(serde_json::from_str(&line).unwrap());
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the run did not end; saw {:#?}",
                types(&self.seen)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, reaped (so its lock names a dead process); the events seen.
    pub fn kill(mut self) -> Vec<Value> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::take(&mut self.seen)
    }
}

/// A failed test must not leave a hung `conclave run` behind.
impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `type` of each event.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

pub fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}
