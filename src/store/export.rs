//! Rendering a journal for people and programs: `show` (plain text transcript), `export --format
//! md` (Markdown with agents, conversation, handoffs, votes, scores, metrics and the final answer)
//! and `export --format json` (the full event array).
//!
//! Both text forms are built from one list of [`Entry`]s folded from the events: who said what
//! (`message`, `user_message`, cancelled and unfinished turns) and one-line notes for everything
//! structural (handoffs, votes, consensus, scores, pauses, errors). `token` events are only used
//! for a turn that never finished (the session was killed mid-stream); otherwise the `message`
//! carries the full text.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::error::JournalError;
use super::index::{cost_of, summarize};
use super::journal::Journal;
use crate::core::event::{AgentInfo, Event, EventKind, Purpose, SelectedBy, VoteChoice};

/// The events as a pretty JSON array.
pub fn to_json(journal: &Journal) -> Result<String, JournalError> {
    serde_json::to_string_pretty(&journal.events).map_err(|source| JournalError::Encode {
        path: journal.path.clone(),
        source,
    })
}

/// The session as a Markdown document.
pub fn to_markdown(journal: &Journal) -> String {
    let h = &journal.header;
    let summary = summarize(journal);
    let mut out = String::new();
    let _ = writeln!(out, "# {} ({})\n", h.team, h.pattern.as_str());
    let _ = write!(
        out,
        "Session `{}` · started {} · outcome: **{}**",
        h.session,
        stamp(h.started),
        summary.outcome
    );
    if let Some((from, seq)) = &h.forked_from {
        let _ = write!(out, " · forked from `{from}` at seq {seq}");
    }
    out.push_str("\n\n## Agents\n\n| agent | backend | model |\n|---|---|---|\n");
    for a in agents(journal) {
        let _ = writeln!(out, "| {} | {} | {} |", a.name, a.backend, a.model);
    }
    out.push_str("\n## Conversation\n");
    for entry in entries(journal) {
        match entry {
            Entry::User {
                text,
                to,
                interject,
            } => {
                let _ = writeln!(out, "\n### user{}\n\n{}", addressee(&to, interject), text);
            }
            Entry::Speech { who, text, status } => {
                let _ = writeln!(out, "\n### {who}\n");
                if !text.is_empty() {
                    let _ = writeln!(out, "{text}");
                }
                if let Some(status) = status {
                    let _ = writeln!(out, "\n_({status})_");
                }
            }
            Entry::Note(note) => {
                let _ = writeln!(out, "\n> {note}");
            }
        }
    }
    let scores = scores(journal);
    if !scores.is_empty() {
        out.push_str("\n## Scores\n\n| agent | score | reason |\n|---|---|---|\n");
        for (agent, score, reason) in scores {
            let _ = writeln!(out, "| {agent} | {score} | {} |", one_line(&reason));
        }
    }
    out.push_str("\n## Metrics\n\n| agent | turns | tokens in | tokens out | cost |\n|---|---:|---:|---:|---:|\n");
    for m in metrics(journal) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            m.agent,
            m.turns,
            m.tokens_in,
            m.tokens_out,
            money(m.cost)
        );
    }
    let _ = writeln!(
        out,
        "| **total** | {} | {} | {} | {} |",
        metrics(journal).iter().map(|m| m.turns).sum::<u64>(),
        summary.tokens_in,
        summary.tokens_out,
        money(summary.cost)
    );
    if let Some(text) = final_text(journal) {
        let _ = writeln!(out, "\n## Final answer\n\n{text}");
    }
    out
}

/// The session as a plain-text transcript.
pub fn to_text(journal: &Journal) -> String {
    let h = &journal.header;
    let summary = summarize(journal);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Session {} · team {} ({}) · started {}",
        h.session,
        h.team,
        h.pattern.as_str(),
        stamp(h.started)
    );
    if let Some((from, seq)) = &h.forked_from {
        let _ = writeln!(out, "Forked from {from} at seq {seq}");
    }
    let agents: Vec<String> = agents(journal)
        .iter()
        .map(|a| format!("{} ({}/{})", a.name, a.backend, a.model))
        .collect();
    if !agents.is_empty() {
        let _ = writeln!(out, "Agents: {}", agents.join(", "));
    }
    for entry in entries(journal) {
        match entry {
            Entry::User {
                text,
                to,
                interject,
            } => {
                let _ = writeln!(out, "\nyou{}:", addressee(&to, interject));
                push_indented(&mut out, &text);
            }
            Entry::Speech { who, text, status } => {
                let _ = writeln!(out, "\n{who}:");
                push_indented(&mut out, &text);
                if let Some(status) = status {
                    let _ = writeln!(out, "  ({status})");
                }
            }
            Entry::Note(note) => {
                let _ = writeln!(out, "· {note}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nOutcome: {} · {} messages · {} tokens · cost {}",
        summary.outcome,
        summary.messages,
        summary.tokens(),
        money(summary.cost)
    );
    if let Some(text) = final_text(journal) {
        out.push_str("Final answer:\n");
        push_indented(&mut out, &text);
    }
    // Replies, reasons and error messages come from models and people: the journal reader
    // sanitized every string of every event, so none can steer the terminal `sessions show`
    // prints to.
    out
}

/// One item of a transcript.
enum Entry {
    User {
        text: String,
        to: Option<String>,
        interject: bool,
    },
    Speech {
        /// `agent (turn 3, round 1)`.
        who: String,
        text: String,
        /// `cancelled`, `interrupted`, … for turns that did not end with a message.
        status: Option<String>,
    },
    Note(String),
}

fn entries(journal: &Journal) -> Vec<Entry> {
    let mut rounds: BTreeMap<(String, u64), Option<u32>> = BTreeMap::new();
    let mut streaming: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut handoffs: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut out = Vec::new();
    let who = |rounds: &BTreeMap<(String, u64), Option<u32>>, agent: &str, turn: u64| match rounds
        .get(&(agent.to_string(), turn))
        .copied()
        .flatten()
    {
        Some(r) => format!("{agent} (turn {turn}, round {r})"),
        None => format!("{agent} (turn {turn})"),
    };
    for Event { kind, .. } in &journal.events {
        match kind {
            EventKind::SessionStarted { .. } | EventKind::ToolResult { .. } => {}
            EventKind::UserMessage {
                text,
                to,
                interject,
            } => out.push(Entry::User {
                text: text.clone(),
                to: to.clone(),
                interject: *interject,
            }),
            EventKind::TurnStarted {
                agent, turn, round, ..
            } => {
                rounds.insert((agent.clone(), *turn), *round);
            }
            EventKind::Token { agent, turn, text } => {
                streaming
                    .entry((agent.clone(), *turn))
                    .or_default()
                    .push_str(text);
            }
            EventKind::Message {
                agent,
                turn,
                text,
                purpose,
                ..
            } => {
                streaming.remove(&(agent.clone(), *turn));
                if *purpose == Purpose::Speak {
                    out.push(Entry::Speech {
                        who: who(&rounds, agent, *turn),
                        text: text.clone(),
                        status: None,
                    });
                }
            }
            EventKind::TurnFailed {
                agent,
                turn,
                error,
                will_retry,
            } => {
                streaming.remove(&(agent.clone(), *turn));
                let next = if *will_retry { "; retrying" } else { "" };
                out.push(Entry::Note(format!(
                    "{agent}'s turn {turn} failed ({}: {}){next}",
                    error.kind,
                    one_line(&error.message)
                )));
            }
            EventKind::TurnCancelled {
                agent,
                turn,
                partial_text,
            } => {
                streaming.remove(&(agent.clone(), *turn));
                out.push(Entry::Speech {
                    who: who(&rounds, agent, *turn),
                    text: partial_text.clone(),
                    status: Some("cancelled".into()),
                });
            }
            EventKind::SpeakerSelected { agent, by, reason } => {
                let by = match by {
                    SelectedBy::RoundRobin => "round robin",
                    SelectedBy::Manager => "manager",
                    SelectedBy::Human => "user",
                    SelectedBy::Random => "random",
                };
                out.push(Entry::Note(match reason {
                    Some(r) => format!("next speaker: {agent} (by {by}: {})", one_line(r)),
                    None => format!("next speaker: {agent} (by {by})"),
                }));
            }
            EventKind::HandoffRequested {
                id,
                from,
                to,
                reason,
                ..
            } => {
                handoffs.insert(id.clone(), (from.clone(), to.clone()));
                out.push(Entry::Note(format!(
                    "handoff {from} → {to} requested: {}",
                    one_line(reason)
                )));
            }
            EventKind::HandoffAccepted { id, reason } => out.push(Entry::Note(format!(
                "handoff {} accepted: {}",
                arrow(&handoffs, id),
                one_line(reason)
            ))),
            EventKind::HandoffRejected { id, reason } => out.push(Entry::Note(format!(
                "handoff {} rejected: {}",
                arrow(&handoffs, id),
                one_line(reason)
            ))),
            EventKind::HandoffRedirected {
                id,
                from_target,
                to,
                by,
            } => {
                let from = handoffs.get(id).map(|(f, _)| f.clone()).unwrap_or_default();
                handoffs.insert(id.clone(), (from.clone(), to.clone()));
                out.push(Entry::Note(format!(
                    "handoff {from} → {to} redirected from {from_target} by {by}"
                )));
            }
            EventKind::HandoffCancelled { id, by } => out.push(Entry::Note(format!(
                "handoff {} cancelled by {by}",
                arrow(&handoffs, id)
            ))),
            EventKind::HandoffCompleted { id, summary } => {
                let back = handoffs
                    .get(id)
                    .map(|(from, to)| format!("{to} → {from}"))
                    .unwrap_or_else(|| id.clone());
                out.push(Entry::Note(format!(
                    "handoff returned {back}: {}",
                    one_line(summary)
                )));
            }
            EventKind::HandoffFallback { id, failed, to } => out.push(Entry::Note(format!(
                "handoff {}: {failed} failed, falling back to {to}",
                arrow(&handoffs, id)
            ))),
            EventKind::Vote {
                round,
                agent,
                choice,
                reason,
            } => {
                let choice = match choice {
                    VoteChoice::Agree => "agree",
                    VoteChoice::Disagree => "disagree",
                    VoteChoice::Abstain => "abstain",
                };
                out.push(Entry::Note(format!(
                    "vote (round {round}): {agent} {choice}: {}",
                    one_line(reason)
                )));
            }
            EventKind::Consensus {
                round,
                reached,
                agree,
                disagree,
                abstain,
                threshold,
            } => {
                let verdict = if *reached { "reached" } else { "not reached" };
                out.push(Entry::Note(format!(
                    "consensus (round {round}) {verdict}: {agree} agree, {disagree} disagree, \
                     {abstain} abstain (threshold {:.0}%)",
                    threshold * 100.0
                )));
            }
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => out.push(Entry::Note(format!(
                "score: {agent} {score}/10: {}",
                one_line(reason)
            ))),
            EventKind::Paused { by } => out.push(Entry::Note(format!("paused by {by}"))),
            EventKind::Resumed { by } => out.push(Entry::Note(format!("resumed by {by}"))),
            EventKind::Error { message, .. } => {
                out.push(Entry::Note(format!("error: {}", one_line(message))));
            }
            EventKind::SessionFinished { outcome, .. } => {
                let outcome = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                out.push(Entry::Note(format!("session finished: {outcome}")));
            }
        }
    }
    for ((agent, turn), text) in streaming {
        out.push(Entry::Speech {
            who: who(&rounds, &agent, turn),
            text,
            status: Some("interrupted".into()),
        });
    }
    out
}

/// Per-agent totals for the metrics table.
struct AgentMetrics {
    agent: String,
    turns: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost: Option<f64>,
}

/// One row per agent, in the order the session announced them (then any others as they spoke).
fn metrics(journal: &Journal) -> Vec<AgentMetrics> {
    let blank = |agent: String| AgentMetrics {
        agent,
        turns: 0,
        tokens_in: 0,
        tokens_out: 0,
        cost: None,
    };
    let mut rows: Vec<AgentMetrics> = agents(journal).into_iter().map(|a| blank(a.name)).collect();
    for event in &journal.events {
        if let EventKind::Message { agent, usage, .. } = &event.kind {
            let i = match rows.iter().position(|m| m.agent == *agent) {
                Some(i) => i,
                None => {
                    rows.push(blank(agent.clone()));
                    rows.len() - 1
                }
            };
            let m = &mut rows[i];
            m.turns += 1;
            m.tokens_in += usage.input.unwrap_or(0);
            m.tokens_out += usage.output.unwrap_or(0);
            if let Some(price) = journal.header.prices.get(agent) {
                m.cost = Some(m.cost.unwrap_or(0.0) + cost_of(usage, price));
            }
        }
    }
    rows
}

fn agents(journal: &Journal) -> Vec<AgentInfo> {
    journal
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::SessionStarted { agents, .. } => Some(agents.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn scores(journal: &Journal) -> Vec<(String, f64, String)> {
    journal
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CandidateScored {
                agent,
                score,
                reason,
            } => Some((agent.clone(), *score, reason.clone())),
            _ => None,
        })
        .collect()
}

fn final_text(journal: &Journal) -> Option<String> {
    journal.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::SessionFinished { final_text, .. } => final_text.clone(),
        _ => None,
    })
}

fn arrow(handoffs: &BTreeMap<String, (String, String)>, id: &str) -> String {
    handoffs
        .get(id)
        .map(|(from, to)| format!("{from} → {to}"))
        .unwrap_or_else(|| id.to_string())
}

fn addressee(to: &Option<String>, interject: bool) -> String {
    let mut s = String::new();
    if let Some(to) = to {
        let _ = write!(s, " → {to}");
    }
    if interject {
        s.push_str(" (interjection)");
    }
    s
}

fn push_indented(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `$0.0123`, or `-` when unknown.
pub(crate) fn money(cost: Option<f64>) -> String {
    match cost {
        Some(c) if c >= 1.0 => format!("${c:.2}"),
        Some(c) => format!("${c:.4}"),
        None => "-".into(),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
