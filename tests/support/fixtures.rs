//! Recorded event sequences and a config for the console tests: a debate with votes and
//! consensus, a support session with a handoff in its approval window, a redirect, errors, and
//! a crowd of agents. Timestamps are fixed so that snapshots are stable.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use conclave::config::{
    AgentConfig, Approval, Budget, Config, Price, SpeakerSelection, TeamConfig,
};
use conclave::core::event::{
    AgentInfo, ErrorInfo, Event, EventKind, Outcome, PatternKind, Purpose, SelectedBy, UsageInfo,
    VoteChoice,
};
use conclave::tui::theme::Theme;
use conclave::tui::{App, ConsoleSetup};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0)
        .single()
        .unwrap()
}

/// Builds events with gap-free seq and a clock advancing 500 ms per event.
pub struct Script {
    pub events: Vec<Event>,
    pub session: String,
}

impl Script {
    pub fn new(session: &str) -> Script {
        Script {
            events: Vec::new(),
            session: session.into(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        t0() + Duration::milliseconds(500 * self.events.len() as i64)
    }

    pub fn push(&mut self, kind: EventKind) -> &mut Script {
        let seq = self.events.len() as u64;
        let ts = self.now();
        self.events.push(Event {
            v: 1,
            seq,
            ts,
            session: self.session.clone(),
            kind,
        });
        self
    }

    pub fn start(
        &mut self,
        team: &str,
        pattern: PatternKind,
        agents: &[(&str, &str)],
    ) -> &mut Script {
        let agents = agents
            .iter()
            .map(|(n, m)| AgentInfo {
                name: n.to_string(),
                backend: "local".into(),
                model: m.to_string(),
                color: None,
                price: None,
                fallback: Vec::new(),
            })
            .collect();
        self.push(EventKind::SessionStarted {
            team: team.into(),
            pattern,
            agents,
        })
    }

    pub fn user(&mut self, text: &str, to: Option<&str>) -> &mut Script {
        self.push(EventKind::UserMessage {
            text: text.into(),
            to: to.map(String::from),
            interject: false,
            queued_id: None,
        })
    }

    pub fn turn(&mut self, agent: &str, turn: u64, round: Option<u32>) -> &mut Script {
        self.push(EventKind::TurnStarted {
            agent: agent.into(),
            turn,
            round,
            purpose: Purpose::Speak,
        })
    }

    pub fn tokens(&mut self, agent: &str, turn: u64, text: &str) -> &mut Script {
        for chunk in text.split_inclusive(' ') {
            self.push(EventKind::Token {
                agent: agent.into(),
                turn,
                text: chunk.into(),
            });
        }
        self
    }

    pub fn message(&mut self, agent: &str, turn: u64, text: &str) -> &mut Script {
        self.push(EventKind::Message {
            agent: agent.into(),
            turn,
            text: text.into(),
            usage: UsageInfo {
                input: Some(1200 + turn * 100),
                output: Some(text.split_whitespace().count() as u64 * 2),
                estimated: false,
            },
            ttft_ms: Some(180 + turn * 10),
            latency_ms: 1400 + turn * 50,
            finish: "stop".into(),
            purpose: Purpose::Speak,
            tool_calls: Vec::new(),
            served_by: None,
            continues: false,
        })
    }

    /// A whole turn: started, streamed, finished.
    pub fn say(&mut self, agent: &str, turn: u64, round: Option<u32>, text: &str) -> &mut Script {
        self.turn(agent, turn, round)
            .tokens(agent, turn, text)
            .message(agent, turn, text)
    }

    pub fn vote(
        &mut self,
        round: u32,
        agent: &str,
        choice: VoteChoice,
        reason: &str,
    ) -> &mut Script {
        self.push(EventKind::Vote {
            round,
            agent: agent.into(),
            choice,
            reason: reason.into(),
        })
    }
}

/// The config the tests run against: prices, colours, a budget, and the two demo teams.
pub fn config() -> Config {
    let mut c = Config::default();
    let agent = |model: &str, color: Option<&str>, price: Option<Price>| AgentConfig {
        backend: "local".into(),
        model: model.into(),
        color: color.map(String::from),
        price,
        ..Default::default()
    };
    let p = Some(Price {
        input: 0.15,
        output: 0.6,
    });
    c.agents
        .insert("optimist".into(), agent("llama3.2", Some("green"), p));
    c.agents
        .insert("skeptic".into(), agent("llama3.2", Some("yellow"), p));
    c.agents
        .insert("judge".into(), agent("qwen2.5", Some("cyan"), p));
    c.agents
        .insert("triage".into(), agent("llama3.2", None, None));
    c.agents
        .insert("billing".into(), agent("llama3.2", None, None));
    c.agents
        .insert("tech".into(), agent("qwen2.5-coder", None, None));
    // Agents with MCP tools (the `tools` fixture): read-only files by default, notes confirmed.
    let mut researcher = agent("qwen2.5", Some("magenta"), None);
    researcher.tools = vec!["files".into()];
    c.agents.insert("researcher".into(), researcher);
    let mut writer = agent("llama3.2", Some("blue"), None);
    writer.tools = vec!["notes".into(), "files.read_file".into()];
    writer.tool_approval = Some(Approval::Confirm);
    c.agents.insert("writer".into(), writer);
    let mut debate = TeamConfig::new(PatternKind::GroupChat);
    debate.members = vec!["optimist".into(), "skeptic".into(), "judge".into()];
    debate.speaker_selection = Some(SpeakerSelection::RoundRobin);
    debate.max_rounds = Some(6);
    debate.budget = Some(Budget {
        tokens: Some(50_000),
        cost: Some(1.0),
    });
    c.teams.insert("debate".into(), debate);
    let mut support = TeamConfig::new(PatternKind::Handoff);
    support.members = vec!["triage".into(), "billing".into(), "tech".into()];
    support.entry = Some("triage".into());
    support
        .handoffs
        .insert("triage".into(), vec!["billing".into(), "tech".into()]);
    support
        .handoffs
        .insert("billing".into(), vec!["triage".into()]);
    support
        .handoffs
        .insert("tech".into(), vec!["triage".into()]);
    support.approval = Some(Approval::Window);
    support.approval_window_ms = Some(3000);
    c.teams.insert("support".into(), support);
    c
}

/// The newest console note in `app`'s transcript (empty when there is none).
pub fn last_notice(app: &App) -> String {
    app.session
        .transcript
        .iter()
        .rev()
        .find_map(|e| e.notice().map(str::to_string))
        .unwrap_or_default()
}

pub fn app(team: &str, events: &[Event]) -> App {
    app_with(config(), team, events)
}

/// Like [`app`] with a config of the test's own.
pub fn app_with(config: Config, team: &str, events: &[Event]) -> App {
    let setup = ConsoleSetup {
        config,
        team: team.into(),
        backend_label: "ollama @ 127.0.0.1:11434".into(),
        is_demo: false,
        history: Vec::new(),
    };
    let mut app = App::with_theme(setup, Theme::dark(), Vec::new());
    for e in events {
        app.apply(e);
    }
    app.now = events.last().map(|e| e.ts).unwrap_or_else(t0);
    app
}

impl Script {
    /// A reply of a tool loop that asked for tools: the turn goes on.
    pub fn step(&mut self, agent: &str, turn: u64, text: &str) -> &mut Script {
        self.tokens(agent, turn, text);
        self.message(agent, turn, text);
        if let Some(EventKind::Message { continues, .. }) =
            self.events.last_mut().map(|e| &mut e.kind)
        {
            *continues = true;
        }
        self
    }

    pub fn call(
        &mut self,
        agent: &str,
        turn: u64,
        id: &str,
        tool: &str,
        args: &str,
    ) -> &mut Script {
        let (server, tool) = tool.split_once('.').unwrap();
        self.push(EventKind::ToolCall {
            agent: agent.into(),
            turn,
            call_id: id.into(),
            server: server.into(),
            tool: tool.into(),
            arguments: args.into(),
        })
    }

    pub fn approved(&mut self, id: &str, by: &str) -> &mut Script {
        self.push(EventKind::ToolApproved {
            call_id: id.into(),
            by: by.into(),
            reason: None,
        })
    }

    pub fn waits(&mut self, id: &str, window_ms: Option<u64>) -> &mut Script {
        self.push(EventKind::ToolApprovalRequested {
            call_id: id.into(),
            approval: if window_ms.is_some() {
                conclave::core::event::Approval::Window
            } else {
                conclave::core::event::Approval::Confirm
            },
            window_ms,
        })
    }

    pub fn result(
        &mut self,
        agent: &str,
        turn: u64,
        id: &str,
        (server, content, is_error, ms): (&str, &str, bool, u64),
    ) -> &mut Script {
        self.push(EventKind::ToolResult {
            agent: agent.into(),
            turn,
            call_id: id.into(),
            name: format!("{server}__tool"),
            content: content.into(),
            is_error,
            server: Some(server.into()),
            ms: Some(ms),
        })
    }
}

/// A research session with MCP calls in every state: the researcher's read is done (its
/// result has many lines), a listing failed and another runs; the writer's note waits for the
/// person (confirm) and a delete waits in a window.
pub fn tools() -> Script {
    let mut s = Script::new("s-tools");
    let readme = (1..=40)
        .map(|i| format!("line {i} of the README: conclave is a console for agent teams"))
        .collect::<Vec<_>>()
        .join("\n");
    s.start(
        "research",
        PatternKind::Concurrent,
        &[("researcher", "qwen2.5"), ("writer", "llama3.2")],
    )
    .user("What does the README say? Keep a note of it.", None)
    .say("researcher", 1, None, "Earlier: nothing to read yet.")
    .turn("researcher", 2, None)
    .step("researcher", 2, "Let me read it.")
    .call("researcher", 2, "c1", "files.read_file", r#"{"path":"README.md"}"#)
    .approved("c1", "policy")
    .result("researcher", 2, "c1", ("files", &readme, false, 12))
    .call("researcher", 2, "c2", "files.list_directory", r#"{"path":"missing/"}"#)
    .approved("c2", "policy")
    .result("researcher", 2, "c2", ("files", "error -32602: no such directory: missing/", true, 3))
    .call("researcher", 2, "c3", "files.list_directory", r#"{"path":"."}"#)
    .approved("c3", "policy")
    .turn("writer", 3, None)
    .step("writer", 3, "I will keep a note.")
    .call(
        "writer",
        3,
        "c4",
        "notes.write_note",
        r#"{"title":"README","body":"conclave is a console for agent teams; it runs debates, handoffs and tools."}"#,
    )
    .waits("c4", None)
    .call("writer", 3, "c5", "notes.delete_note", r#"{"title":"old"}"#)
    .waits("c5", Some(5000));
    s
}

pub fn debate() -> Script {
    let mut s = Script::new("s-debate");
    s.start(
        "debate",
        PatternKind::GroupChat,
        &[
            ("optimist", "llama3.2"),
            ("skeptic", "llama3.2"),
            ("judge", "qwen2.5"),
        ],
    );
    s.user("Should we rewrite the billing service in Rust?", None);
    s.push(EventKind::SpeakerSelected {
        agent: "optimist".into(),
        by: SelectedBy::RoundRobin,
        reason: None,
    });
    s.say(
        "optimist",
        1,
        Some(1),
        "Yes. **Memory safety** removes a whole class of outages.\n\n- fewer pager alerts\n- faster p99\n\n```rust\nfn charge(amount: u64) -> Result<Receipt, Error> {\n    gateway.charge(amount)\n}\n```",
    );
    s.push(EventKind::SpeakerSelected {
        agent: "skeptic".into(),
        by: SelectedBy::RoundRobin,
        reason: None,
    });
    s.say("skeptic", 2, Some(1), "A rewrite stalls features for *two quarters*. The outages came from the database, not the language.");
    s.push(EventKind::SpeakerSelected {
        agent: "judge".into(),
        by: SelectedBy::RoundRobin,
        reason: None,
    });
    s.say(
        "judge",
        3,
        Some(1),
        "Proposal: rewrite only the charge path first, behind a flag, and measure.",
    );
    s.vote(
        1,
        "optimist",
        VoteChoice::Agree,
        "incremental and measurable",
    );
    s.vote(
        1,
        "skeptic",
        VoteChoice::Agree,
        "a flag limits the blast radius",
    );
    s.vote(1, "judge", VoteChoice::Abstain, "I proposed it");
    s.push(EventKind::Consensus {
        round: 1,
        reached: true,
        agree: 2,
        disagree: 0,
        abstain: 1,
        threshold: 0.67,
    });
    s.push(EventKind::SessionFinished {
        outcome: Outcome::Consensus,
        final_text: Some(
            "Rewrite the charge path in Rust behind a flag; measure for a month.".into(),
        ),
    });
    s
}

/// The debate cut mid-stream: the skeptic is speaking.
pub fn debate_live() -> Script {
    let mut s = Script::new("s-live");
    s.start(
        "debate",
        PatternKind::GroupChat,
        &[
            ("optimist", "llama3.2"),
            ("skeptic", "llama3.2"),
            ("judge", "qwen2.5"),
        ],
    );
    s.user("Is a four-day week good for a 10-person startup?", None);
    s.say(
        "optimist",
        1,
        Some(1),
        "Yes: focus goes up and hiring gets easier.\n\nSmall teams feel burnout first.",
    );
    s.turn("skeptic", 2, Some(1));
    s.tokens("skeptic", 2, "Customers do not work four days.\nSupport coverage would need a rota, and at ten people the rota is ");
    s
}

pub fn support_pending() -> Script {
    let mut s = Script::new("s-support");
    s.start(
        "support",
        PatternKind::Handoff,
        &[
            ("triage", "llama3.2"),
            ("billing", "llama3.2"),
            ("tech", "qwen2.5-coder"),
        ],
    );
    s.user("I was charged twice for my subscription this month.", None);
    s.say(
        "triage",
        1,
        None,
        "That sounds like a billing problem. Let me bring in billing.",
    );
    s.push(EventKind::HandoffRequested {
        id: "h1".into(),
        from: "triage".into(),
        to: "billing".into(),
        reason: "duplicate charge on the invoice".into(),
        approval: Some("window".into()),
        window_ms: Some(3000),
    });
    s
}

pub fn support_redirect() -> Script {
    let mut s = support_pending();
    s.push(EventKind::HandoffRedirected {
        id: "h1".into(),
        from_target: "billing".into(),
        to: "tech".into(),
        by: "user".into(),
    });
    s.push(EventKind::HandoffAccepted {
        id: "h1".into(),
        reason: "tech can see the payment logs".into(),
    });
    s.say(
        "tech",
        2,
        None,
        "The payment webhook fired twice at `14:02:11`; I have refunded the duplicate.",
    );
    s.push(EventKind::HandoffCompleted {
        id: "h1".into(),
        summary: "duplicate charge refunded".into(),
    });
    s
}

pub fn errors() -> Script {
    let mut s = Script::new("s-errors");
    s.start(
        "debate",
        PatternKind::GroupChat,
        &[
            ("optimist", "llama3.2"),
            ("skeptic", "llama3.2"),
            ("judge", "qwen2.5"),
        ],
    );
    s.user("Go.", None);
    s.turn("optimist", 1, Some(1));
    s.push(EventKind::TurnFailed {
        agent: "optimist".into(),
        turn: 1,
        error: ErrorInfo {
            kind: "rate_limit".into(),
            message: "429 Too Many Requests; retrying in 2s".into(),
        },
        will_retry: true,
        usage: Default::default(),
    });
    s.push(EventKind::TurnFailed {
        agent: "optimist".into(),
        turn: 1,
        error: ErrorInfo {
            kind: "auth".into(),
            message: "401 from local: check OPENAI_API_KEY".into(),
        },
        will_retry: false,
        usage: Default::default(),
    });
    s.turn("skeptic", 2, Some(1));
    s.tokens(
        "skeptic",
        2,
        "I was about to say \u{1b}[31msomething\u{1b}[0m important",
    );
    s.push(EventKind::TurnCancelled {
        agent: "skeptic".into(),
        turn: 2,
        partial_text: "I was about to say \u{1b}[31msomething\u{1b}[0m important".into(),
        usage: Default::default(),
    });
    s.push(EventKind::Error {
        message: "pick_speaker: \"nobody\" is not a member of debate".into(),
        command: None,
    });
    s.push(EventKind::Paused { by: "user".into() });
    s
}

pub fn crowd() -> Script {
    let mut s = Script::new("s-crowd");
    let names = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let agents: Vec<(&str, &str)> = names.iter().map(|n| (*n, "llama3.2")).collect();
    s.start("debate", PatternKind::Concurrent, &agents);
    s.user("Name one risk of the launch plan.", None);
    for (i, n) in names.iter().enumerate() {
        let turn = i as u64 + 1;
        if i < 5 {
            s.say(
                n,
                turn,
                None,
                &format!("Risk {turn}: {n} worries about the rollout order."),
            );
        } else {
            s.turn(n, turn, None)
                .tokens(n, turn, &format!("Thinking about {n}'s angle: the"));
        }
    }
    s
}
