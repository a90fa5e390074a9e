//! The control reader of `conclave run --control jsonl`: standard input, one command a line.
//!
//! Mental model: a task that reads lines until EOF and passes each on as a parsed [`Command`] or,
//! when it does not parse, as an invalid line with the reason (the driver publishes it through
//! the session as an `error` event), then says the input closed. Blank lines are skipped; a line
//! that is not UTF-8 is read lossily and reported like any other bad line.

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::core::command::Command;

/// What the control reader passes on.
pub(super) enum Control {
    Command(Command),
    Invalid { message: String, line: String },
    Closed,
}

/// Read standard input into `tx` until EOF (or until nobody listens).
pub(super) async fn read_control(tx: mpsc::UnboundedSender<Control>) {
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match input.read_until(b'\n', &mut bytes).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read --control input");
                break;
            }
        }
        // A line that is not UTF-8 is reported as an invalid command like any other bad line;
        // the lines after it are still read.
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\n', '\r']).to_string();
        if line.trim().is_empty() {
            continue;
        }
        let msg = match Command::parse_line(&line) {
            Ok(cmd) => Control::Command(cmd),
            Err(message) => Control::Invalid { message, line },
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
    let _ = tx.send(Control::Closed);
}

/// The offending control line as JSON when it is JSON, else as a string.
pub(super) fn offending(line: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(line)
        .unwrap_or_else(|_| serde_json::Value::String(line.to_string()))
}
