//! The fake server: a plain tokio `TcpListener` speaking HTTP/1.1 by hand, one request per
//! connection (`Connection: close`), so every byte, write boundary and disconnect is the test's.
//! It also records, per request, the token usage its written bytes reported ([`Reported`]:
//! OpenAI `usage`, Anthropic `message.usage` / `usage`, Ollama `prompt_eval_count` /
//! `eval_count`, the last count of each kind winning as the clients read them), so a test can
//! hold the session's ledger against what the server actually said, cancelled streams included.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One scripted action of a reply body.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes as one HTTP chunk and flush.
    Write(Vec<u8>),
    /// Wait this long.
    Sleep(Duration),
    /// Wait until the client closes the connection (at most a minute).
    Stall,
    /// Close the connection at once, without ending the body properly.
    Drop,
    /// Wait until the gate is opened (at most a minute), e.g. until other requests arrived.
    Wait(Gate),
    /// Marks the reply as holding `Busy`: released once the reply is written or its connection
    /// ends, whichever comes first (a serial server's one slot).
    Leave(Busy),
}

/// A count of replies in progress ([`Step::Leave`]); clones share it.
#[derive(Clone, Debug, Default)]
pub struct Busy(Arc<std::sync::atomic::AtomicUsize>);

impl Busy {
    /// Take the slot if it is free.
    pub fn enter(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.0
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    pub fn leave(&self) {
        self.0.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A one-way latch a reply can wait on ([`Step::Wait`]); clones share it.
#[derive(Clone, Debug)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn new() -> Self {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }

    pub fn is_open(&self) -> bool {
        *self.0.borrow()
    }

    async fn opened(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

/// Picks the reply from the request itself; `None` leaves it to the queue of its path.
pub type Responder = Arc<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// A body sent whole with `Content-Length` (when `steps` is empty).
    pub body: Vec<u8>,
    /// A body sent with `Transfer-Encoding: chunked`, step by step.
    pub steps: Vec<Step>,
}

impl Reply {
    /// A JSON answer with `Content-Length`.
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            steps: Vec::new(),
        }
    }

    /// A plain-text answer with `Content-Length`.
    pub fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            steps: Vec::new(),
        }
    }

    /// An SSE stream (HTTP 200), one write per event string.
    pub fn sse<S: AsRef<str>>(events: impl IntoIterator<Item = S>) -> Self {
        Self::stream("text/event-stream", events)
    }

    /// An NDJSON stream (HTTP 200), one write per line string.
    pub fn ndjson<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Self {
        Self::stream("application/x-ndjson", lines)
    }

    fn stream<S: AsRef<str>>(content_type: &str, parts: impl IntoIterator<Item = S>) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Vec::new(),
            steps: parts
                .into_iter()
                .map(|p| Step::Write(p.as_ref().as_bytes().to_vec()))
                .collect(),
        }
    }

    /// Add a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Add a step at the end.
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Replace the steps: each write split into writes at the given byte offsets of the whole
    /// streamed body (to cut inside a UTF-8 character, a `data:` field, …).
    pub fn split_at(mut self, cuts: &[usize]) -> Self {
        let mut whole = Vec::new();
        for step in &self.steps {
            if let Step::Write(bytes) = step {
                whole.extend_from_slice(bytes);
            }
        }
        let mut steps = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&whole.len())) {
            if cut > start {
                steps.push(Step::Write(whole[start..cut].to_vec()));
                // Let the piece reach the client as its own read.
                steps.push(Step::Sleep(Duration::from_millis(5)));
            }
            start = cut;
        }
        self.steps = steps;
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// With the query string.
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received_at: Instant,
    /// When the client closed the connection before the reply was over.
    pub client_closed_at: Option<Instant>,
    /// The usage the reply's bytes written so far reported.
    pub reported: Reported,
}

/// Token counts a reply reported; `None` for a count it never sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reported {
    pub input: Option<u64>,
    pub output: Option<u64>,
}

impl Reported {
    /// The usage in `written` (every byte of the body written so far), read line by line.
    pub fn of(written: &[u8]) -> Reported {
        let mut r = Reported::default();
        for line in String::from_utf8_lossy(written).lines() {
            let line = line.trim();
            let json = line.strip_prefix("data:").unwrap_or(line).trim();
            let Ok(v) = serde_json::from_str::<Value>(json) else {
                continue;
            };
            let usage = v
                .get("usage")
                .filter(|u| u.is_object())
                .or_else(|| v.pointer("/message/usage"));
            let pick = |keys: &[&str]| {
                keys.iter().find_map(|k| {
                    usage
                        .and_then(|u| u.get(*k))
                        .or_else(|| v.get(*k))
                        .and_then(Value::as_u64)
                })
            };
            if let Some(n) = pick(&["input_tokens", "prompt_tokens", "prompt_eval_count"]) {
                r.input = Some(n);
            }
            if let Some(n) = pick(&["output_tokens", "completion_tokens", "eval_count"]) {
                r.output = Some(n);
            }
        }
        r
    }
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    queues: HashMap<String, VecDeque<Reply>>,
    fallback: HashMap<String, Reply>,
    responders: HashMap<String, Responder>,
    requests: Vec<Recorded>,
}

/// The running fake server; stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Listen on 127.0.0.1 on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(Notify::new());
        let (st, ch) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, st.clone(), ch.clone()));
            }
        });
        FakeServer {
            addr,
            state,
            changed,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue a reply for the next request to `path` (query string ignored).
    pub fn push(&self, path: &str, reply: Reply) {
        let mut st = self.state.lock().unwrap();
        st.queues
            .entry(path.to_string())
            .or_default()
            .push_back(reply);
    }

    /// The reply for `path` whenever its queue is empty.
    pub fn always(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .fallback
            .insert(path.to_string(), reply);
    }

    /// Let `responder` answer requests to `path` by their content (model, forced tool, …) before
    /// the queue is consulted: for parallel calls, whose arrival order is not the test's.
    pub fn respond(
        &self,
        path: &str,
        responder: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static,
    ) {
        self.state
            .lock()
            .unwrap()
            .responders
            .insert(path.to_string(), Arc::new(responder));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Wait (at most `limit`) until request number `index` exists and its client closed the
    /// connection early; returns that moment.
    pub async fn wait_client_closed(&self, index: usize, limit: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if let Some(at) = self
                .state
                .lock()
                .unwrap()
                .requests
                .get(index)
                .and_then(|r| r.client_closed_at)
            {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(socket: TcpStream, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    let (mut reader, mut writer) = socket.into_split();
    let Some(mut request) = read_request(&mut reader).await else {
        return;
    };
    request.received_at = Instant::now();
    let route = request.path.split('?').next().unwrap_or("").to_string();
    let (index, reply) = {
        let mut st = state.lock().unwrap();
        let chosen = st.responders.get(&route).and_then(|r| r(&request));
        let reply = chosen
            .or_else(|| st.queues.get_mut(&route).and_then(VecDeque::pop_front))
            .or_else(|| st.fallback.get(&route).cloned())
            .unwrap_or_else(|| {
                let msg = format!("fake server: nothing queued for {} {route}", request.method);
                Reply::json(404, serde_json::json!({"error": msg}))
            });
        st.requests.push(request);
        (st.requests.len() - 1, reply)
    };
    changed.notify_waiters();

    // Watch for the client closing its side while the reply is being written.
    let (closed_tx, mut closed_rx) = tokio::sync::watch::channel(false);
    let watcher = {
        let (state, changed) = (state.clone(), changed.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let now = Instant::now();
            state.lock().unwrap().requests[index]
                .client_closed_at
                .get_or_insert(now);
            let _ = closed_tx.send(true);
            changed.notify_waiters();
        })
    };

    if reply.steps.is_empty() {
        watcher.abort();
    }
    let mut written = reply.body.clone();
    let record = {
        let state = state.clone();
        move |bytes: &[u8]| {
            written.extend_from_slice(bytes);
            state.lock().unwrap().requests[index].reported = Reported::of(&written);
        }
    };
    let ending = write_reply(&mut writer, &reply, &mut closed_rx, record).await;
    for step in &reply.steps {
        if let Step::Leave(busy) = step {
            busy.leave();
        }
    }
    match ending {
        Ending::Complete => {
            // The client may close as soon as it has the end of the body: not an early close.
            watcher.abort();
            let _ = writer.write_all(b"0\r\n\r\n").await;
            let _ = writer.shutdown().await;
        }
        Ending::Sent => {
            let _ = writer.shutdown().await;
        }
        Ending::ClientGone => {
            let _ = tokio::time::timeout(Duration::from_secs(1), watcher).await;
        }
        Ending::Dropped => watcher.abort(),
    }
}

enum Ending {
    /// A chunked body whose steps all ran; the terminating chunk is still to be written.
    Complete,
    /// A `Content-Length` body, written.
    Sent,
    ClientGone,
    Dropped,
}

/// Write the reply (all but the final chunk of a chunked body).
async fn write_reply(
    w: &mut OwnedWriteHalf,
    reply: &Reply,
    closed: &mut tokio::sync::watch::Receiver<bool>,
    mut record: impl FnMut(&[u8]),
) -> Ending {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("connection: close\r\n");
    if reply.steps.is_empty() {
        head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
        let mut all = head.into_bytes();
        all.extend_from_slice(&reply.body);
        let _ = w.write_all(&all).await;
        let _ = w.flush().await;
        record(&[]);
        return Ending::Sent;
    }
    head.push_str("transfer-encoding: chunked\r\n\r\n");
    if w.write_all(head.as_bytes()).await.is_err() || w.flush().await.is_err() {
        return Ending::ClientGone;
    }
    for step in &reply.steps {
        match step {
            Step::Write(bytes) if bytes.is_empty() => {}
            Step::Write(bytes) => {
                let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
                chunk.extend_from_slice(bytes);
                chunk.extend_from_slice(b"\r\n");
                if w.write_all(&chunk).await.is_err() || w.flush().await.is_err() {
                    return Ending::ClientGone;
                }
                record(bytes);
            }
            Step::Sleep(d) => {
                tokio::select! {
                    _ = tokio::time::sleep(*d) => {}
                    _ = closed.wait_for(|c| *c) => return Ending::ClientGone,
                }
            }
            Step::Stall => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(60), closed.wait_for(|c| *c)).await;
                return Ending::ClientGone;
            }
            Step::Drop => return Ending::Dropped,
            Step::Leave(_) => {}
            Step::Wait(gate) => {
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_secs(60), gate.opened()) => {}
                    _ = closed.wait_for(|c| *c) => return Ending::ClientGone,
                }
            }
        }
    }
    Ending::Complete
}

async fn read_request(r: &mut tokio::net::tcp::OwnedReadHalf) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = r.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = r.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
        received_at: Instant::now(),
        client_closed_at: None,
        reported: Reported::default(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}
