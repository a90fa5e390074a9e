//! Scheduling overhead of a 50-task plan (DESIGN section 7: under 1 ms of CPU per task).
//! Prints a table.
//!
//! The plan: 50 tasks in 10 layers of 5, each task depending on every task of the layer before,
//! `max_parallel = 5`, `approval = "auto"`. Two measurements, CPU as this process's user +
//! system time (`getrusage`):
//! - machine: the plan pattern and the state fold alone, driven without IO (every event
//!   applied as the actor applies it; each task's turn answered at once), from the prompt to
//!   `session_finished`: what deciding, scheduling and folding cost per task;
//! - session: the same plan as a real session (actor, requests, event fan-out) on the scripted
//!   provider at `tokens_per_sec = 0`, so the figure is conclave's own cost per task.
//!
//! `cargo bench --bench plan` (`BENCH_RUNS` overrides the number of runs; `BENCH_QUICK=1` runs
//! each once to prove it works).

#[path = "common/proc.rs"]
mod proc;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use conclave::config::{AgentConfig, Approval, TeamConfig};
use conclave::core::Command;
use conclave::core::event::{Event, EventKind, FinishReason, PatternKind, UsageInfo};
use conclave::core::patterns::{Ctx, Effect, Input, build};
use conclave::core::session::{Session, SessionSpec};
use conclave::core::state::SessionState;
use conclave::llm::scripted::ScriptedProvider;
use serde_json::json;

const TASKS: usize = 50;
const LAYER: usize = 5;
const MEMBERS: [&str; 5] = ["a1", "a2", "a3", "a4", "a5"];

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 200 });
    let machine = median((0..runs).map(|_| machine_run()).collect());
    let session_runs = if quick { 1 } else { runs / 4 }.max(1);
    let session = median((0..session_runs).map(|_| session_run()).collect());
    let per = |d: Duration| d.as_secs_f64() * 1e3 / TASKS as f64;
    println!(
        "plan of {TASKS} tasks ({} layers of {LAYER}, max_parallel {LAYER})",
        TASKS / LAYER
    );
    println!(
        "{:<10} {:>8} {:>14} {:>16}",
        "part", "runs", "CPU per plan", "CPU per task"
    );
    println!(
        "{:<10} {:>8} {:>11.3} ms {:>13.4} ms",
        "machine",
        runs,
        machine.as_secs_f64() * 1e3,
        per(machine)
    );
    println!(
        "{:<10} {:>8} {:>11.3} ms {:>13.4} ms",
        "session",
        session_runs,
        session.as_secs_f64() * 1e3,
        per(session)
    );
    println!("budget: under 1 ms of CPU per task");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn plan_json() -> serde_json::Value {
    let tasks: Vec<serde_json::Value> = (0..TASKS)
        .map(|i| {
            let layer = i / LAYER;
            let deps: Vec<String> = if layer == 0 {
                Vec::new()
            } else {
                ((layer - 1) * LAYER..layer * LAYER)
                    .map(|j| format!("t{j}"))
                    .collect()
            };
            json!({"id": format!("t{i}"), "agent": MEMBERS[i % LAYER],
                   "instructions": format!("do part {i} of the work"), "depends_on": deps})
        })
        .collect();
    json!({ "tasks": tasks })
}

fn team() -> TeamConfig {
    let mut team = TeamConfig::new(PatternKind::Plan);
    team.planner = Some("pm".into());
    team.members = MEMBERS.map(String::from).to_vec();
    team.approval = Some(Approval::Auto);
    team.max_parallel = Some(LAYER as u32);
    team
}

fn agents() -> BTreeMap<String, AgentConfig> {
    std::iter::once("pm")
        .chain(MEMBERS)
        .map(|a| {
            (
                a.to_string(),
                AgentConfig {
                    backend: "play".into(),
                    model: a.into(),
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// The pattern and the fold alone, as the actor drives them.
fn machine_run() -> Duration {
    let plan = plan_json().to_string();
    let start = proc::rusage_cpu(false);
    let mut pattern = build(Ctx {
        team: team(),
        agents: agents(),
        unattended: None,
    });
    let mut state = SessionState::default();
    let emit = |state: &mut SessionState, kind: EventKind| {
        let e = Event {
            v: 1,
            seq: state.next_seq,
            ts: chrono::Utc::now(),
            session: "bench".into(),
            kind,
        };
        state.apply(&e);
    };
    let mut pending: VecDeque<(u64, String, bool)> = VecDeque::new();
    let mut queue = VecDeque::from([Input::Command(Command::Send {
        text: "build it".into(),
        to: None,
    })]);
    loop {
        while let Some(input) = queue.pop_front() {
            for effect in pattern.on(&state, input) {
                match effect {
                    Effect::Emit(kind) => emit(&mut state, kind),
                    Effect::StartTurn(spec) => {
                        let turn = state.next_turn;
                        let forced = !spec.tools.is_empty();
                        emit(
                            &mut state,
                            EventKind::TurnStarted {
                                agent: spec.agent.clone(),
                                turn,
                                round: None,
                                purpose: spec.purpose,
                            },
                        );
                        pending.push_back((turn, spec.agent, forced));
                    }
                    Effect::Continue => queue.push_back(Input::Continue),
                    Effect::Finish {
                        outcome,
                        final_text,
                    } => emit(
                        &mut state,
                        EventKind::SessionFinished {
                            outcome,
                            final_text,
                        },
                    ),
                    _ => {}
                }
            }
        }
        let Some((turn, agent, forced)) = pending.pop_front() else {
            break;
        };
        let purpose = state.turns[&turn].purpose;
        let tool_calls = if forced {
            vec![conclave::core::event::ToolCallInfo {
                id: "c".into(),
                name: "submit_plan".into(),
                arguments: plan.clone(),
            }]
        } else {
            Vec::new()
        };
        emit(
            &mut state,
            EventKind::Message {
                agent,
                turn,
                text: format!("output of turn {turn}"),
                usage: UsageInfo::default(),
                ttft_ms: None,
                latency_ms: 0,
                finish: FinishReason::Stop,
                purpose,
                tool_calls,
                served_by: None,
                continues: false,
            },
        );
        queue.push_back(Input::TurnEnded { turn });
    }
    let done = state
        .plan
        .tasks
        .iter()
        .filter(|t| t.status.is_done())
        .count();
    if done != TASKS || state.finished.is_none() {
        eprintln!("plan bench: the machine finished {done} of {TASKS} tasks");
        std::process::exit(1);
    }
    proc::rusage_cpu(false) - start
}

/// The same plan as a real session on the scripted provider.
fn session_run() -> Duration {
    let args = plan_json();
    let script = format!(
        "[[reply]]\ncharacter = \"pm\"\non = \"submit_plan\"\ntools = [{{ name = \"submit_plan\", arguments = {} }}]\n",
        toml_inline(&args)
    );
    let provider = match ScriptedProvider::from_toml("play", &script, 0.0) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("plan bench: bad script: {e}");
            std::process::exit(1);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("plan bench: no runtime: {e}");
            std::process::exit(1)
        });
    let start = proc::rusage_cpu(false);
    let finished = runtime.block_on(async move {
        let spec = SessionSpec {
            id: "bench".into(),
            team_name: "plan".into(),
            team: team(),
            agents: agents(),
            providers: BTreeMap::from([("play".to_string(), Arc::new(provider) as _)]),
            history: Vec::new(),
            unattended: None,
            tools: None,
        };
        let Ok(mut session) = Session::new(spec) else {
            return 0;
        };
        let mut events = session.subscribe();
        let handle = session.start();
        let _ = handle.send(Command::Send {
            text: "build it".into(),
            to: None,
        });
        let mut done = 0;
        while let Some(e) = events.recv().await {
            match e.kind {
                EventKind::TaskFinished { ok: true, .. } => done += 1,
                EventKind::SessionFinished { .. } => break,
                _ => {}
            }
        }
        done
    });
    let cpu = proc::rusage_cpu(false) - start;
    if finished != TASKS {
        eprintln!("plan bench: the session finished {finished} of {TASKS} tasks");
        std::process::exit(1);
    }
    cpu
}

/// A JSON value as a TOML inline value.
fn toml_inline(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k} = {}", toml_inline(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        serde_json::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(toml_inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
