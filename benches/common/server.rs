//! The fake OpenAI-compatible server the benches measure against, run as a child process (the
//! bench binary itself re-run with `CONCLAVE_BENCH_ROLE=server`) so that its CPU is not counted as
//! the client's.
//!
//! Mental model: HTTP/1.1 with keep-alive; any POST is answered with the same reply, as SSE (one
//! chunk per word) when the request asks for `stream: true`, else as one JSON body. [`Shape`] sets
//! the reply: the 13-word sentence made unique per answer (the default, for group chats that end
//! a discussion that repeats itself), or `words` generated words streamed at `rate` words per
//! second (0 = at once), for the streaming comparisons. Closing the child's stdin stops it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The 13-word sentence every default reply is made of.
pub const SENTENCE: &str =
    "I think we should weigh the costs against the benefits before deciding.";

/// What the server answers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    /// 0: `pointN: <SENTENCE>`; else this many generated words.
    pub words: usize,
    /// Words per second; 0 streams at once.
    pub rate: f64,
}

/// The reply made unique by `tag`.
pub fn sentence(tag: &str) -> String {
    format!("{tag}: {SENTENCE}")
}

/// `n` generated words (`w0001 w0002 …`), the last one `end` so a reader can spot it.
pub fn words(n: usize, end: &str) -> String {
    let mut out: Vec<String> = (1..n).map(|i| format!("w{i:04}")).collect();
    out.push(end.to_string());
    out.join(" ")
}

/// Whether this process was started as the server (then call [`serve`] and return).
pub fn is_server() -> bool {
    std::env::var("CONCLAVE_BENCH_ROLE").as_deref() == Ok("server")
}

/// The fake server child process.
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    pub fn start(shape: Shape) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .env("CONCLAVE_BENCH_ROLE", "server")
            .env("CONCLAVE_BENCH_WORDS", shape.words.to_string())
            .env("CONCLAVE_BENCH_RATE", shape.rate.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        Ok(ServerProcess { child, port })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn cpu(&self) -> Duration {
        super::proc::cpu_time(&self.child.id().to_string()).unwrap_or_default()
    }

    /// Closing its stdin tells the server to exit.
    pub fn stop(mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}

/// Run the server until stdin closes (in the child).
pub fn serve() {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
    let shape = Shape {
        words: number("CONCLAVE_BENCH_WORDS").unwrap_or(0.0) as usize,
        rate: number("CONCLAVE_BENCH_RATE")
            .filter(|r| r.is_finite() && *r >= 0.0)
            .unwrap_or(0.0),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("fake server: no runtime: {e}"),
    };
    runtime.block_on(async move {
        use tokio::io::AsyncReadExt;
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => return eprintln!("fake server: cannot bind: {e}"),
        };
        let Ok(addr) = listener.local_addr() else {
            return;
        };
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening {}", addr.port());
        let _ = out.flush();
        let accept = async {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                tokio::spawn(connection(socket, shape));
            }
        };
        // The parent closes our stdin when it is done (or dies).
        let parent_gone = async {
            let mut buf = [0u8; 64];
            let mut stdin = tokio::io::stdin();
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        tokio::select! {
            _ = accept => {}
            _ = parent_gone => {}
        }
    });
}

static ANSWERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn connection(mut socket: tokio::net::TcpStream, shape: Shape) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let (head_end, body_len, close) = loop {
            if let Some(parsed) = parse_head(&buf) {
                break parsed;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < head_end + body_len {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = &buf[head_end..head_end + body_len];
        let wants_stream = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("stream").and_then(|s| s.as_bool()))
            .unwrap_or(false);
        let n = ANSWERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let text = if shape.words == 0 {
            sentence(&format!("point{n}"))
        } else {
            words(shape.words, &format!("zzend{n}zz"))
        };
        let (mut head, mut pieces) = response(wants_stream, &text);
        if shape.rate == 0.0 {
            // At once: one write, as a fast server's answer arrives.
            pieces.drain(..).for_each(|p| head.extend(p));
        }
        if socket.write_all(&head).await.is_err() {
            return;
        }
        let started = tokio::time::Instant::now();
        for (k, piece) in pieces.iter().enumerate() {
            if shape.rate > 0.0 && k > 0 {
                let due = started + Duration::from_secs_f64(k as f64 / shape.rate);
                tokio::time::sleep_until(due).await;
            }
            if socket.write_all(piece).await.is_err() {
                return;
            }
        }
        buf.drain(..head_end + body_len);
        if close {
            return;
        }
    }
}

/// (end of the head, content length, `connection: close`) once the head is complete.
fn parse_head(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let mut length = 0;
    let mut close = false;
    for line in head.lines() {
        if let Some(v) = line.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("connection:") {
            close = v.trim() == "close";
        }
    }
    Some((end, length, close))
}

/// The response head and its body in pieces (one SSE event per word when streaming).
fn response(stream: bool, text: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (content_type, pieces) = if stream {
        let mut pieces = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let piece = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            let chunk = serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                             "finish_reason": null}]
            });
            pieces.push(format!("data: {chunk}\n\n"));
        }
        let last = serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        });
        let usage = serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
            "model": "gpt-4o", "choices": [],
            "usage": {"prompt_tokens": 100, "completion_tokens": words.len(),
                      "total_tokens": 100 + words.len()}
        });
        let end = format!("data: {last}\n\ndata: {usage}\n\ndata: [DONE]\n\n");
        match pieces.last_mut() {
            Some(p) => p.push_str(&end),
            None => pieces.push(end),
        }
        ("text/event-stream", pieces)
    } else {
        let body = serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
            "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": words.len(),
                      "total_tokens": 100 + words.len()}
        });
        ("application/json", vec![body.to_string()])
    };
    let length: usize = pieces.iter().map(String::len).sum();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\n\
         connection: keep-alive\r\n\r\n"
    );
    (
        head.into_bytes(),
        pieces.into_iter().map(String::into_bytes).collect(),
    )
}
