//! The metrics panel (the ledger on screen): a row per agent (tokens in/out, time to first token,
//! throughput, latency, cost, errors, retries) and the session totals; below them, when there is
//! room, a row per purpose (speech, manager picks, votes, judging, summaries, synthesis) with its
//! calls, tokens and cost, then a line of what else was paid for (cancelled turns, failed
//! attempts, fallbacks) and, before a group chat's first call, the estimate of its configured
//! rounds. The bottom border says what is left of the team's budget. Also a one-line summary for
//! layouts with no room for the table.
//!
//! Every figure comes from the core's fold ([`crate::core::metrics::Metrics`]); this module only
//! lays it out. Counts that include an estimate (the server reported none) show as `~1.2k`;
//! counts a journal never had show as `—`, not zero.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Row, Table};

use super::super::state::SessionView;
use super::super::theme::Theme;
use super::AgentColors;
use crate::core::event::Purpose;
use crate::core::metrics::{AgentMetrics, Metrics, PurposeMetrics, Totals};

/// Rows the panel wants (borders included): the agent table, the purpose table when any call
/// was made, and the notes.
pub fn wanted_height(session: &SessionView) -> u16 {
    let m = session.metrics();
    let agents = session.agents.len().max(m.agents.len()) as u16 + 2;
    let purposes = by_purpose(m).len() as u16;
    let purpose_rows = if purposes > 0 { purposes + 2 } else { 0 };
    agents + purpose_rows + notes(session).len() as u16 + 2
}

/// The table's columns, most important first; shown while they fit.
const COLUMNS: [(&str, u16); 8] = [
    ("in", 5),
    ("out", 5),
    ("cost", 7),
    ("err", 3),
    ("tok/s", 5),
    ("retry", 5),
    ("ttft", 5),
    ("lat", 5),
];

/// Display order of the columns (by index into [`COLUMNS`]).
const ORDER: [usize; 8] = [0, 1, 4, 6, 7, 2, 3, 5];

/// Draw the metrics table.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    session: &SessionView,
    theme: &Theme,
    colors: &AgentColors,
) {
    let m = &session.metrics();
    let inner_w = area.width.saturating_sub(2);
    let mut shown = Vec::new();
    let mut used = 10u16;
    for (i, (_, w)) in COLUMNS.iter().enumerate() {
        if used + w < inner_w {
            used += w + 1;
            shown.push(i);
        }
    }
    shown.sort_unstable_by_key(|i| ORDER.iter().position(|o| o == i));
    let header = Row::new(std::iter::once("agent").chain(shown.iter().map(|i| COLUMNS[*i].0)))
        .style(theme.dim_style().add_modifier(Modifier::BOLD));
    let mut rows: Vec<Row<'_>> = session
        .agents
        .iter()
        .map(|a| {
            let name = a.info.name.as_str();
            let figures = m
                .agents
                .get(name)
                .map(Figures::of_agent)
                .unwrap_or_default();
            row(
                Span::styled(name.to_string(), Style::new().fg(colors.of(name))),
                &figures,
                theme,
                &shown,
            )
        })
        .collect();
    rows.push(
        row(
            Span::styled("total", Style::new().add_modifier(Modifier::BOLD)),
            &Figures::of_totals(&m.totals),
            theme,
            &shown,
        )
        .style(Style::new().add_modifier(Modifier::BOLD)),
    );
    let widths: Vec<Constraint> = std::iter::once(Constraint::Fill(1))
        .chain(shown.iter().map(|i| Constraint::Length(COLUMNS[*i].1)))
        .collect();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.border))
        .title(Span::styled(
            " Metrics ",
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
    let retries = m.totals.retries;
    let retry_column = shown.contains(&5);
    let bottom: Vec<String> = (retries > 0 && !retry_column)
        .then(|| retries_label(retries))
        .into_iter()
        .chain(budget_line(session))
        .collect();
    if !bottom.is_empty() {
        block = block.title_bottom(
            Line::styled(
                format!(" {} ", bottom.join(" · ")),
                Style::new().fg(theme.warning),
            )
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let agent_rows = rows.len() as u16 + 1;
    let purposes = by_purpose(m);
    let notes = notes(session);
    let purpose_rows = if purposes.is_empty() {
        0
    } else {
        purposes.len() as u16 + 2
    };
    let [table_area, purpose_area, notes_area] = Layout::vertical([
        Constraint::Length(agent_rows),
        Constraint::Length(purpose_rows),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .style(theme.text_style());
    frame.render_widget(table, table_area);
    if !purposes.is_empty() {
        render_purposes(frame, purpose_area, &purposes, theme);
    }
    let lines: Vec<Line<'_>> = notes
        .into_iter()
        .map(|n| Line::styled(n, theme.dim_style()))
        .collect();
    frame.render_widget(ratatui::widgets::Paragraph::new(lines), notes_area);
}

fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The calls of every agent summed per purpose, in a fixed order (speech first).
fn by_purpose(m: &Metrics) -> Vec<(Purpose, PurposeMetrics)> {
    // Keyed by rank, then name: purposes without a rank of their own keep a row each.
    let mut sums: BTreeMap<(u8, String), (Purpose, PurposeMetrics)> = BTreeMap::new();
    for a in m.agents.values() {
        for (purpose, p) in &a.by_purpose {
            let rank = purpose_rank(*purpose);
            let e = sums
                .entry((rank, purpose_name(*purpose)))
                .or_insert((*purpose, PurposeMetrics::default()));
            e.1.calls += p.calls;
            e.1.messages += p.messages;
            e.1.cancelled += p.cancelled;
            e.1.failed += p.failed;
            e.1.input_tokens = sum_opt(e.1.input_tokens, p.input_tokens);
            e.1.output_tokens = sum_opt(e.1.output_tokens, p.output_tokens);
            e.1.cost = match (e.1.cost, p.cost) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            e.1.estimated |= p.estimated;
        }
    }
    sums.into_values().collect()
}

fn sum_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// The wire name of a purpose (`select_speaker`), as events write it.
fn purpose_name(p: Purpose) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How a purpose is labelled in the panel.
fn purpose_label(p: Purpose) -> String {
    match purpose_name(p).as_str() {
        "speak" => "speech".into(),
        "select_speaker" => "manager".into(),
        "summarize" => "summary".into(),
        other => other.to_string(),
    }
}

fn purpose_rank(p: Purpose) -> u8 {
    match purpose_name(p).as_str() {
        "speak" => 0,
        "select_speaker" => 1,
        "vote" => 2,
        "judge" => 3,
        "summarize" => 4,
        "aggregate" => 5,
        "planner" => 6,
        "synthesize" => 7,
        _ => 8,
    }
}

fn render_purposes(
    frame: &mut Frame<'_>,
    area: Rect,
    purposes: &[(Purpose, PurposeMetrics)],
    theme: &Theme,
) {
    let header = Row::new(["purpose", "calls", "in", "out", "cost"])
        .style(theme.dim_style().add_modifier(Modifier::BOLD));
    let rows = purposes.iter().map(|(purpose, p)| {
        Row::new([
            Cell::from(purpose_label(*purpose)),
            Cell::from(p.calls.to_string()),
            Cell::from(counted(p.input_tokens, p.estimated)),
            Cell::from(counted(p.output_tokens, p.estimated)),
            Cell::from(p.cost.map(money).unwrap_or_else(|| "—".into())),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(7),
    ];
    let [_, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .style(theme.text_style());
    frame.render_widget(table, table_area);
}

/// What else the ledger holds: cancelled turns, failed attempts, fallbacks, estimates, and a
/// group chat's forecast before its first call.
fn notes(session: &SessionView) -> Vec<String> {
    let m = session.metrics();
    let mut out = Vec::new();
    let cancelled: u64 = m.agents.values().map(|a| a.cancelled).sum();
    let failed: u64 = m.agents.values().map(|a| a.errors + a.retries).sum();
    let fallbacks: u64 = m.agents.values().map(|a| a.fallbacks).sum();
    let mut paid = Vec::new();
    if cancelled > 0 {
        paid.push(format!("{cancelled} cancelled"));
    }
    if failed > 0 {
        paid.push(plural(failed, "failed attempt"));
    }
    if fallbacks > 0 {
        paid.push(plural(fallbacks, "fallback"));
    }
    if !paid.is_empty() {
        out.push(format!("counted: {}", paid.join(" · ")));
    }
    if m.totals.estimated {
        out.push("~ estimated: the server reported no usage".into());
    }
    for (agent, budget) in &session.agent_budgets {
        if m.agents.contains_key(agent)
            && let Some(left) = left_words(m.agent_budget_left(agent, budget))
        {
            out.push(format!("{agent}: budget left {left}"));
        }
    }
    if let Some(f) = session.forecast.filter(|_| m.totals.turns == 0) {
        let mut line = format!("estimate, {} rounds: ~{} tok", f.rounds, short(f.tokens));
        if let Some(c) = f.cost {
            line.push_str(&format!(" · ~{}", money(c)));
        }
        out.push(line);
    }
    out
}

/// `tokens 1.2k→3.4k · $0.012 · 1 err · 2 retries · budget left 48k tok · $0.98`
pub fn summary(session: &SessionView) -> String {
    let t = &session.metrics().totals;
    let mut s = format!(
        "tokens {}→{}",
        counted(t.input_tokens, t.estimated),
        counted(t.output_tokens, t.estimated)
    );
    if let Some(c) = t.cost {
        s.push_str(&format!(" · {}", money(c)));
    }
    if t.errors > 0 {
        s.push_str(&format!(" · {} err", t.errors));
    }
    if t.retries > 0 {
        s.push_str(&format!(" · {}", retries_label(t.retries)));
    }
    if let Some(b) = budget_line(session) {
        s.push_str(&format!(" · {b}"));
    }
    s
}

/// `budget left 48k tok · $0.98`, when the team has a budget: the figure the session enforces.
pub fn budget_line(session: &SessionView) -> Option<String> {
    let budget = session.budget.as_ref()?;
    left_words(session.metrics().budget_left(budget)).map(|l| format!("budget left {l}"))
}

/// `48k tok · $0.98`
fn left_words((tokens_left, cost_left): (Option<u64>, Option<f64>)) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(t) = tokens_left {
        parts.push(format!("{} tok", short(t)));
    }
    if let Some(c) = cost_left {
        parts.push(format!("${c:.2}"));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn retries_label(n: u64) -> String {
    format!("{n} {}", if n == 1 { "retry" } else { "retries" })
}

/// One row's figures, from an agent or from the session totals.
#[derive(Default)]
struct Figures {
    /// Some counts were estimated (`~`).
    estimated: bool,
    input: Option<u64>,
    output: Option<u64>,
    cost: Option<f64>,
    errors: u64,
    retries: u64,
    tokens_per_sec: Option<f64>,
    ttft_ms: Option<u64>,
    latency_ms: Option<u64>,
}

impl Figures {
    fn of_agent(m: &AgentMetrics) -> Figures {
        Figures {
            estimated: m.estimated > 0,
            input: m.input_tokens,
            output: m.output_tokens,
            cost: m.cost,
            errors: m.errors,
            retries: m.retries,
            tokens_per_sec: m.tokens_per_sec_last,
            ttft_ms: m.ttft_last_ms,
            latency_ms: m.latency_last_ms,
        }
    }

    fn of_totals(t: &Totals) -> Figures {
        Figures {
            estimated: t.estimated,
            input: t.input_tokens,
            output: t.output_tokens,
            cost: t.cost,
            errors: t.errors,
            retries: t.retries,
            ..Figures::default()
        }
    }
}

fn row<'a>(name: Span<'a>, m: &Figures, theme: &Theme, shown: &[usize]) -> Row<'a> {
    let dash = || "—".to_string();
    let count_style = |n: u64, color| {
        if n > 0 {
            Style::new().fg(color)
        } else {
            theme.dim_style()
        }
    };
    let mut cells = vec![Cell::from(name)];
    for i in shown {
        cells.push(match i {
            0 => Cell::from(counted(m.input, m.estimated)),
            1 => Cell::from(counted(m.output, m.estimated)),
            2 => Cell::from(m.cost.map(money).unwrap_or_else(dash)),
            3 => Cell::from(Span::styled(
                m.errors.to_string(),
                count_style(m.errors, theme.error),
            )),
            4 => Cell::from(
                m.tokens_per_sec
                    .map(|t| format!("{t:.0}"))
                    .unwrap_or_else(dash),
            ),
            5 => Cell::from(Span::styled(
                m.retries.to_string(),
                count_style(m.retries, theme.warning),
            )),
            6 => Cell::from(m.ttft_ms.map(ms).unwrap_or_else(dash)),
            _ => Cell::from(m.latency_ms.map(ms).unwrap_or_else(dash)),
        });
    }
    Row::new(cells)
}

/// `$0.0012`, `$0.034`, `$12.50`
pub fn money(c: f64) -> String {
    if c < 0.01 {
        format!("${c:.4}")
    } else if c < 10.0 {
        format!("${c:.3}")
    } else {
        format!("${c:.2}")
    }
}

fn ms(v: u64) -> String {
    if v >= 10_000 {
        format!("{}s", v / 1000)
    } else if v >= 1000 {
        format!("{:.1}s", v as f64 / 1000.0)
    } else {
        format!("{v}ms")
    }
}

/// 950, 1.2k, 34k, 1.5M
pub fn short(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=9_999 => format!("{:.1}k", n as f64 / 1000.0),
        10_000..=999_999 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

/// A token count, `—` when the backend never reported one.
fn tokens(n: Option<u64>) -> String {
    n.map(short).unwrap_or_else(|| "—".to_string())
}

/// A token count marked `~` when it includes an estimate.
fn counted(n: Option<u64>, estimated: bool) -> String {
    match n {
        Some(n) if estimated => format!("~{}", short(n)),
        n => tokens(n),
    }
}
