//! The embedded default: the configuration conclave runs with when there is no file.
//!
//! One backend, chosen by detection (`ollama`, `openai`, `anthropic` or the scripted `demo`), and
//! the same cast of agents and teams on top of it: a debate, a support desk with handoffs, a
//! PM → architect → developer → QA pipeline, a judged best-of, a first-success fan-out and a
//! researcher who reads the current directory through the built-in read-only file tools, and a
//! `build` plan (pm plans for architect, developer and qa; two tasks run in parallel). The
//! backend and agent names are fixed: the built-in demo script is written against them.

use std::collections::BTreeMap;

use super::detect::{Detected, DetectedKind, ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY};
use super::schema::{
    AgentConfig, Approval, BUILTIN_FILES, BackendConfig, BackendKind, Config, Consensus, McpConfig,
    OnFailure, SpeakerSelection, Step, Strategy, TeamConfig, UiConfig,
};
use crate::config::PatternKind;

/// The team the console opens with.
pub const DEFAULT_TEAM: &str = "debate";
/// Demo streaming speed, tokens per second.
pub const DEMO_TOKENS_PER_SEC: f64 = 40.0;

/// The built-in configuration for what detection found.
pub fn embedded(detected: &Detected) -> Config {
    let (backend_name, backend, model) = backend_for(detected);
    let mut agents: BTreeMap<String, AgentConfig> = AGENTS
        .iter()
        .map(|a| {
            let model = model.clone().unwrap_or_else(|| a.name.to_string());
            (a.name.to_string(), agent(a, backend_name, model))
        })
        .collect();
    if let Some(researcher) = agents.get_mut(RESEARCHER) {
        researcher.tools = vec![BUILTIN_FILES.to_string()];
    }
    Config {
        backends: BTreeMap::from([(backend_name.to_string(), backend)]),
        agents,
        teams: teams(),
        keys: BTreeMap::new(),
        ui: UiConfig {
            theme: None,
            default_team: Some(DEFAULT_TEAM.to_string()),
            mouse: None,
        },
        telemetry: Default::default(),
        mcp: BTreeMap::from([(
            BUILTIN_FILES.to_string(),
            McpConfig {
                builtin: Some(BUILTIN_FILES.to_string()),
                ..McpConfig::default()
            },
        )]),
    }
}

/// The agent of the `research` team, the one with (read-only) tools.
const RESEARCHER: &str = "researcher";

/// Backend name, backend, and the model every agent uses (`None`: each agent's own name, for
/// the scripted demo).
fn backend_for(detected: &Detected) -> (&'static str, BackendConfig, Option<String>) {
    match &detected.kind {
        DetectedKind::Ollama { host, models } => {
            let mut b = backend(BackendKind::Ollama);
            b.base_url = Some(host.clone());
            // A local server on this machine: one request at a time, so parallel votes wait in
            // conclave's queue (their latency counts from when they go out) instead of piling up.
            b.max_concurrent = Some(1);
            let model = models.first().cloned().unwrap_or_else(|| "llama3.2".into());
            ("ollama", b, Some(model))
        }
        DetectedKind::OpenAi => {
            let mut b = backend(BackendKind::Openai);
            b.api_key_env = Some(ENV_OPENAI_KEY.to_string());
            ("openai", b, Some("gpt-4o-mini".into()))
        }
        DetectedKind::Anthropic => {
            let mut b = backend(BackendKind::Anthropic);
            b.api_key_env = Some(ENV_ANTHROPIC_KEY.to_string());
            ("anthropic", b, Some("claude-haiku-4-5".into()))
        }
        DetectedKind::Demo => {
            let mut b = backend(BackendKind::Scripted);
            b.tokens_per_sec = Some(DEMO_TOKENS_PER_SEC);
            ("demo", b, None)
        }
    }
}

/// A backend of this kind with nothing else set.
pub(crate) fn backend(kind: BackendKind) -> BackendConfig {
    BackendConfig {
        kind,
        headers: BTreeMap::new(),
        ..Default::default()
    }
}

struct AgentSpec {
    name: &'static str,
    description: &'static str,
    color: &'static str,
    system: &'static str,
}

const AGENTS: [AgentSpec; 12] = [
    AgentSpec {
        name: RESEARCHER,
        description: "Answers questions about the files in the current directory",
        color: "light_cyan",
        system: "You are a careful researcher. Answer questions about the files in the current \
                 directory: list and read them with your tools before you answer, and quote \
                 what you found. You cannot change any file.",
    },
    AgentSpec {
        name: "optimist",
        description: "Argues for the proposal and looks for what could go right",
        color: "green",
        system: "You are the optimist in a small debate. Argue for the proposal with concrete \
                 benefits and evidence. Answer the strongest objection raised so far, concede \
                 points that are fair, and keep each turn under 120 words.",
    },
    AgentSpec {
        name: "skeptic",
        description: "Argues against the proposal and looks for risks and hidden costs",
        color: "red",
        system: "You are the skeptic in a small debate. Probe the proposal for risks, costs and \
                 weak assumptions, and say what evidence would change your mind. Be fair, not \
                 contrarian, and keep each turn under 120 words.",
    },
    AgentSpec {
        name: "pragmatist",
        description: "Weighs both sides and proposes a workable middle path",
        color: "yellow",
        system: "You are the pragmatist in a small debate. Weigh what the others said, name the \
                 trade-off that matters most, and propose a concrete next step both sides could \
                 accept. Keep each turn under 120 words.",
    },
    AgentSpec {
        name: "triage",
        description: "First contact of the support desk: understands the problem and routes it",
        color: "cyan",
        system: "You are the first contact of a software company's support desk. Greet the \
                 customer, find out what they need in one or two questions, and hand off to \
                 billing for payments, invoices and refunds, or to tech for bugs, errors and \
                 set-up. Answer simple questions yourself.",
    },
    AgentSpec {
        name: "billing",
        description: "Handles payments, invoices, plans and refunds",
        color: "magenta",
        system: "You are the billing specialist of a software company's support desk. Resolve \
                 questions about payments, invoices, plans and refunds clearly and politely. \
                 Hand technical problems to tech and anything else back to triage.",
    },
    AgentSpec {
        name: "tech",
        description: "Diagnoses bugs, errors and set-up problems",
        color: "blue",
        system: "You are the technical specialist of a software company's support desk. Ask for \
                 the exact error and steps to reproduce, then give a short numbered fix. Hand \
                 billing questions to billing and anything else back to triage.",
    },
    AgentSpec {
        name: "pm",
        description: "Product manager: turns a request into requirements",
        color: "light_green",
        system: "You are a product manager. Turn the request into a short product brief: the \
                 user's problem, three to five requirements, and how we will know it works.",
    },
    AgentSpec {
        name: "architect",
        description: "Designs the solution from the requirements",
        color: "light_blue",
        system: "You are a software architect. From the brief you are given, design the \
                 solution: components, data flow, interfaces and the main risks. Prefer the \
                 simplest design that meets the requirements.",
    },
    AgentSpec {
        name: "developer",
        description: "Implements the design",
        color: "light_yellow",
        system: "You are a senior developer. Implement the design you are given as clear, \
                 working code with brief comments where the code cannot speak for itself.",
    },
    AgentSpec {
        name: "qa",
        description: "Reviews the implementation and writes the tests",
        color: "light_red",
        system: "You are a QA engineer. Review the implementation against the requirements, list \
                 the defects you find, and write the test cases that would catch them.",
    },
    AgentSpec {
        name: "judge",
        description: "Scores answers against a rubric and picks the best",
        color: "light_magenta",
        system: "You are an impartial judge. Score each candidate answer from 0 to 10 against \
                 the rubric, give one sentence of reasons per score, and do not favour length.",
    },
];

fn agent(spec: &AgentSpec, backend: &str, model: String) -> AgentConfig {
    AgentConfig {
        backend: backend.to_string(),
        model,
        system: Some(spec.system.to_string()),
        description: Some(spec.description.to_string()),
        color: Some(spec.color.to_string()),
        max_tokens: Some(1024),
        ..Default::default()
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

const DEBATERS: [&str; 3] = ["optimist", "skeptic", "pragmatist"];

fn teams() -> BTreeMap<String, TeamConfig> {
    let mut debate = TeamConfig::new(PatternKind::GroupChat);
    debate.description = Some("Three agents debate a proposal until they agree".into());
    debate.members = names(&DEBATERS);
    debate.speaker_selection = Some(SpeakerSelection::RoundRobin);
    debate.max_rounds = Some(4);
    debate.consensus = Some(Consensus {
        threshold: 0.67,
        every_round: true,
    });

    let mut support = TeamConfig::new(PatternKind::Handoff);
    support.description = Some("A support desk: triage hands customers to specialists".into());
    support.members = names(&["triage", "billing", "tech"]);
    support.entry = Some("triage".into());
    support.handoffs = BTreeMap::from([
        ("triage".to_string(), names(&["billing", "tech"])),
        ("billing".to_string(), names(&["triage", "tech"])),
        ("tech".to_string(), names(&["triage", "billing"])),
    ]);
    support.fallback = BTreeMap::from([
        ("billing".to_string(), names(&["triage"])),
        ("tech".to_string(), names(&["triage"])),
    ]);
    support.approval = Some(Approval::Window);
    support.approval_window_ms = Some(10_000);

    let mut pipeline = TeamConfig::new(PatternKind::Sequential);
    pipeline.description = Some("From request to tested code: PM, architect, developer, QA".into());
    pipeline.steps = vec![
        step("pm", "Write the product brief for this request."),
        step("architect", "Design the solution for this brief."),
        step("developer", "Implement this design."),
        step("qa", "Review this implementation and write its tests."),
    ];

    let mut review = TeamConfig::new(PatternKind::BestOf);
    review.description = Some("Three answers, one judge, the best one wins".into());
    review.members = names(&DEBATERS);
    review.judge = Some("judge".into());
    review.rubric = Some(
        "Correctness first, then clarity, then brevity. An answer that admits uncertainty \
         beats one that is confidently wrong."
            .into(),
    );

    let mut fanout = TeamConfig::new(PatternKind::Concurrent);
    fanout.description = Some("Ask three agents at once; the first good answer wins".into());
    fanout.members = names(&DEBATERS);
    fanout.strategy = Some(Strategy::FirstSuccess);

    let mut build = TeamConfig::new(PatternKind::Plan);
    build.description =
        Some("A plan run in parallel: pm plans for architect, developer and qa".into());
    build.planner = Some("pm".into());
    build.members = names(&["architect", "developer", "qa"]);
    build.approval = Some(Approval::Window);
    build.approval_window_ms = Some(10_000);
    build.max_parallel = Some(3);
    build.on_failure = Some(OnFailure::Replan);
    build.max_replans = Some(2);

    let mut research = TeamConfig::new(PatternKind::Single);
    research.description = Some("A researcher that reads the current directory".into());
    research.members = names(&[RESEARCHER]);

    BTreeMap::from([
        ("research".to_string(), research),
        ("debate".to_string(), debate),
        ("support".to_string(), support),
        ("pipeline".to_string(), pipeline),
        ("review".to_string(), review),
        ("fanout".to_string(), fanout),
        ("build".to_string(), build),
    ])
}

fn step(agent: &str, instructions: &str) -> Step {
    Step {
        agent: agent.to_string(),
        instructions: Some(instructions.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate;

    fn all_kinds() -> Vec<Detected> {
        [
            DetectedKind::Ollama {
                host: "http://127.0.0.1:11434".into(),
                models: vec!["qwen2.5:7b".into()],
            },
            DetectedKind::Ollama {
                host: "http://127.0.0.1:11434".into(),
                models: vec![],
            },
            DetectedKind::OpenAi,
            DetectedKind::Anthropic,
            DetectedKind::Demo,
        ]
        .into_iter()
        .map(|kind| Detected { kind })
        .collect()
    }

    #[test]
    fn every_embedded_default_validates_clean() {
        for d in all_kinds() {
            let findings = validate(&embedded(&d));
            assert!(findings.is_empty(), "{d:?}: {findings:#?}");
        }
    }

    #[test]
    fn fixed_names_and_models() {
        let demo = embedded(&Detected {
            kind: DetectedKind::Demo,
        });
        assert_eq!(demo.backends.keys().collect::<Vec<_>>(), ["demo"]);
        assert_eq!(demo.backends["demo"].kind, BackendKind::Scripted);
        assert_eq!(demo.backends["demo"].tokens_per_sec, Some(40.0));
        assert_eq!(demo.agents["skeptic"].model, "skeptic");
        for team in ["debate", "support", "pipeline", "review", "fanout", "build"] {
            assert!(demo.teams.contains_key(team), "{team}");
        }
        let ollama = embedded(&all_kinds()[1]);
        assert_eq!(ollama.agents["qa"].model, "llama3.2");
        assert_eq!(
            ollama.backends["ollama"].max_concurrent,
            Some(1),
            "a local server found with no config serves one request at a time"
        );
        assert_eq!(ollama.agents["qa"].backend, "ollama");
        let openai = embedded(&Detected {
            kind: DetectedKind::OpenAi,
        });
        assert_eq!(
            openai.backends["openai"].api_key_env.as_deref(),
            Some("OPENAI_API_KEY")
        );
        assert_eq!(openai.agents["judge"].model, "gpt-4o-mini");
        let anthropic = embedded(&Detected {
            kind: DetectedKind::Anthropic,
        });
        assert_eq!(anthropic.agents["pm"].model, "claude-haiku-4-5");
    }

    #[test]
    fn colours_are_distinct() {
        let mut colours: Vec<_> = AGENTS.iter().map(|a| a.color).collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), AGENTS.len());
    }
}
