//! `conclave serve`: a team served as one A2A agent (DESIGN section 4), so any A2A client can
//! give it a task.
//!
//! Mental model: a small HTTP/1.1 server (hyper) with two routes: `GET
//! /.well-known/agent-card.json` answers the team's card ([`card`]), `POST /` takes JSON-RPC
//! ([`rpc`]: A2A 1.0's `SendMessage`, `SendStreamingMessage`, `GetTask`, `CancelTask` and the
//! 0.3 names). Each task is a journaled session of the team ([`tasks`]); a streaming call answers
//! with Server-Sent Events, one JSON-RPC result per event. Nobody sits at the console, so
//! handoffs and other approvals follow `--approve`. With `--token-env VAR` every JSON-RPC request
//! needs `Authorization: Bearer <$VAR>` (the card stays public, as A2A clients fetch it first).
//! It binds 127.0.0.1 unless `--host` says otherwise, and says on stderr where it listens and
//! whether other machines can reach it. Ctrl+C stops it.

pub mod card;
pub mod rpc;
pub mod tasks;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use self::rpc::Call;
use self::tasks::Tasks;
use super::providers::ProviderCache;
use super::{Exit, bootstrap, launch};
use crate::config::schema::Config;
use crate::core::Command;
use crate::core::session::UnattendedApproval;
use crate::llm::a2a::wire::{CARD_PATH, Version};
use crate::llm::secret::Secret;

/// Longest wait for a cancelled task's session to stop before `CancelTask` answers.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// The largest JSON-RPC request body accepted.
const MAX_BODY: usize = 1 << 20;

/// What the command line asks of `conclave serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub config: Option<PathBuf>,
    pub team: String,
    pub host: String,
    pub port: u16,
    /// The environment variable holding the bearer token requests must carry.
    pub token_env: Option<String>,
    pub approve: UnattendedApproval,
}

struct Server {
    config: Config,
    team: String,
    card: Value,
    token: Option<Secret>,
    approve: UnattendedApproval,
    providers: Arc<ProviderCache>,
    tasks: Tasks,
}

type Body = BoxBody<Bytes, Infallible>;

/// Run `conclave serve` until Ctrl+C.
pub fn run(options: ServeOptions) -> Exit {
    let loaded = match crate::config::load::load(options.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            return Exit::Usage;
        }
    };
    let config = loaded.config;
    if let Err(e) = launch::team_of(&config, &options.team) {
        eprintln!("conclave serve: {e}");
        return Exit::Usage;
    }
    let token = match &options.token_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
            _ => {
                eprintln!(
                    "conclave serve: --token-env {var}: the environment variable {var} is not set or empty; export {var}=<token> first"
                );
                return Exit::Usage;
            }
        },
    };
    if let Err(e) = bootstrap::check_recordable(&bootstrap::journal_dir(), None) {
        eprintln!("conclave serve: {e}");
        return Exit::Failed;
    }
    let runtime = match bootstrap::runtime("serve") {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(serve(options, config, token))
}

async fn serve(options: ServeOptions, config: Config, token: Option<Secret>) -> Exit {
    let listener = match tokio::net::TcpListener::bind((options.host.as_str(), options.port)).await
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "conclave serve: cannot listen on {}:{}: {e}",
                options.host, options.port
            );
            return Exit::Failed;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("conclave serve: {e}");
            return Exit::Failed;
        }
    };
    let url = format!("http://{addr}/");
    let team = match launch::team_of(&config, &options.team) {
        Ok(team) => team,
        Err(e) => {
            eprintln!("conclave serve: {e}");
            return Exit::Usage;
        }
    };
    eprintln!("{}", announce(&options.team, addr, token.is_some()));
    let server = Arc::new(Server {
        card: card::card(&config, &options.team, &team, &url),
        config,
        team: options.team.clone(),
        token,
        approve: options.approve,
        providers: Arc::new(ProviderCache::default()),
        tasks: Tasks::default(),
    });
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let server = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(server.clone(), req));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => return Exit::Ok,
        }
    }
}

/// The lines `serve` starts with: where it listens and who can reach it.
pub fn announce(team: &str, addr: SocketAddr, token: bool) -> String {
    let reach = if addr.ip().is_loopback() {
        "listening on loopback only: other machines cannot reach it (--host 0.0.0.0 serves them)"
            .to_string()
    } else if token {
        format!(
            "listening on {}: other machines can reach it; requests need the bearer token",
            addr.ip()
        )
    } else {
        format!(
            "listening on {}: other machines can reach it, and without --token-env anyone there can run the team",
            addr.ip()
        )
    };
    format!(
        "serving team '{team}' as an A2A agent at http://{addr}/ (card: http://{addr}{CARD_PATH})\n{reach}"
    )
}

fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(server: Arc<Server>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if req.method() == Method::GET && req.uri().path() == CARD_PATH {
        return Ok(json(StatusCode::OK, &server.card));
    }
    if req.method() != Method::POST || req.uri().path() != "/" {
        let msg = serde_json::json!({"error": format!("not found: the agent card is at {CARD_PATH}, JSON-RPC at POST /")});
        return Ok(json(StatusCode::NOT_FOUND, &msg));
    }
    if let Some(token) = &server.token {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(format!("Bearer {}", token.expose()).as_str()) {
            let msg = rpc::failure(
                &Value::Null,
                -32000,
                "unauthorized: this agent needs its bearer token",
            );
            let mut response = json(StatusCode::UNAUTHORIZED, &msg);
            response.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer"),
            );
            return Ok(response);
        }
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let msg = rpc::failure(
                &Value::Null,
                rpc::INVALID_REQUEST,
                "the request body is unreadable or over 1 MiB",
            );
            return Ok(json(StatusCode::PAYLOAD_TOO_LARGE, &msg));
        }
    };
    let request = match rpc::parse(&body) {
        Ok(r) => r,
        Err(refusal) => {
            return Ok(json(
                StatusCode::OK,
                &rpc::failure(&refusal.id, refusal.code, &refusal.message),
            ));
        }
    };
    Ok(dispatch(&server, request).await)
}

async fn dispatch(server: &Server, request: rpc::Request) -> Response<Body> {
    let (id, version) = (request.id, request.version);
    match request.call {
        Call::Get { id: task } | Call::Cancel { id: task } if server.tasks.get(&task).is_none() => {
            json(
                StatusCode::OK,
                &rpc::failure(&id, rpc::TASK_NOT_FOUND, &format!("no task '{task}'")),
            )
        }
        Call::Get { id: task } => {
            let view = server.tasks.get(&task).map(|t| t.view());
            let result = view.map(|v| rpc::task(version, &v)).unwrap_or(Value::Null);
            json(StatusCode::OK, &rpc::success(&id, result))
        }
        Call::Cancel { id: task } => {
            let Some(task) = server.tasks.get(&task) else {
                return json(
                    StatusCode::OK,
                    &rpc::failure(&id, rpc::TASK_NOT_FOUND, "no such task"),
                );
            };
            if !task.cancel() {
                let msg = "the task has already ended";
                return json(
                    StatusCode::OK,
                    &rpc::failure(&id, rpc::TASK_NOT_CANCELABLE, msg),
                );
            }
            // The session answers a stop at its next step; this wait is only a guard.
            let view = tokio::time::timeout(CANCEL_WAIT, task.finished())
                .await
                .unwrap_or_else(|_| task.view());
            json(
                StatusCode::OK,
                &rpc::success(&id, rpc::task(version, &view)),
            )
        }
        Call::Send { text, stream } => send(server, id, version, text, stream).await,
    }
}

async fn send(
    server: &Server,
    id: Value,
    version: Version,
    text: String,
    stream: bool,
) -> Response<Body> {
    let options = launch::LaunchOptions {
        headless: true,
        ..bootstrap::options(Some(server.approve), Some(server.providers.clone()))
    };
    let launched = match launch::launch(&server.config, &server.team, &options) {
        Ok(l) => l,
        Err(e) => {
            return json(
                StatusCode::OK,
                &rpc::failure(&id, -32603, &format!("the team could not start: {e}")),
            );
        }
    };
    let task_id = launched.handle.id().to_string();
    if launched
        .handle
        .send(Command::Send { text, to: None })
        .is_err()
    {
        return json(
            StatusCode::OK,
            &rpc::failure(&id, -32603, "the session ended before it took the task"),
        );
    }
    if !stream {
        let task = server.tasks.follow(&task_id, launched, None);
        let view = task.finished().await;
        return json(
            StatusCode::OK,
            &rpc::success(&id, rpc::task_result(version, &view)),
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    server.tasks.follow(&task_id, launched, Some((version, tx)));
    let frames = tokio_stream_of(rx).map(move |result| {
        let line = format!("data: {}\n\n", rpc::success(&id, result));
        Ok::<_, Infallible>(Frame::data(Bytes::from(line)))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    response
}

/// An unbounded receiver as a stream (ends when every sender is gone).
fn tokio_stream_of<T: Send + 'static>(
    rx: mpsc::UnboundedReceiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}
