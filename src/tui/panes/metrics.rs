//! The metrics panel: a row per agent (tokens in/out, time to first token, throughput, latency,
//! cost, errors), the session totals and what is left of the budget. Also a one-line summary for
//! layouts with no room for the table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Row, Table};

use super::super::app::App;
use super::super::state::metrics::AgentMetrics;

/// Rows the panel wants (borders included).
pub fn wanted_height(app: &App) -> u16 {
    app.session.metrics.agents.len() as u16 + 5
}

/// The table's columns, most important first; shown while they fit.
const COLUMNS: [(&str, u16); 7] = [
    ("in", 5),
    ("out", 5),
    ("cost", 7),
    ("err", 3),
    ("tok/s", 5),
    ("ttft", 5),
    ("lat", 5),
];

/// Draw the metrics table.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let m = &app.session.metrics;
    let inner_w = area.width.saturating_sub(2);
    let mut shown = Vec::new();
    let mut used = 10u16;
    for (i, (_, w)) in COLUMNS.iter().enumerate() {
        if used + w < inner_w {
            used += w + 1;
            shown.push(i);
        }
    }
    shown.sort_unstable_by_key(|i| [0, 1, 5, 6, 2, 3, 4][*i]);
    let header = Row::new(std::iter::once("agent").chain(shown.iter().map(|i| COLUMNS[*i].0)))
        .style(theme.dim_style().add_modifier(Modifier::BOLD));
    let mut rows: Vec<Row<'_>> = app
        .session
        .agents
        .iter()
        .map(|a| {
            let name = a.info.name.as_str();
            let am = m.agents.get(name).cloned().unwrap_or_default();
            row(
                Span::styled(name.to_string(), Style::new().fg(app.agent_color(name))),
                &am,
                app,
                &shown,
            )
        })
        .collect();
    let total = m.total();
    rows.push(
        row(
            Span::styled("total", Style::new().add_modifier(Modifier::BOLD)),
            &total,
            app,
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
    if let Some(b) = budget_line(app) {
        block = block.title_bottom(
            Line::styled(format!(" {b} "), Style::new().fg(theme.warning)).right_aligned(),
        );
    }
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block)
        .style(theme.text_style());
    frame.render_widget(table, area);
}

/// `tokens 1.2k→3.4k · $0.012 · budget $0.98 left`
pub fn summary(app: &App) -> String {
    let t = app.session.metrics.total();
    let mut s = format!(
        "tokens {}→{}",
        short(t.input_tokens),
        short(t.output_tokens)
    );
    if let Some(c) = t.cost {
        s.push_str(&format!(" · {}", money(c)));
    }
    if t.errors > 0 {
        s.push_str(&format!(" · {} err", t.errors));
    }
    if let Some(b) = budget_line(app) {
        s.push_str(&format!(" · {b}"));
    }
    s
}

fn budget_line(app: &App) -> Option<String> {
    let m = &app.session.metrics;
    let mut parts = Vec::new();
    if let Some(t) = m.tokens_left() {
        parts.push(format!("{} tok", short_signed(t)));
    }
    if let Some(c) = m.cost_left() {
        parts.push(format!("${c:.2}"));
    }
    (!parts.is_empty()).then(|| format!("budget left {}", parts.join(" · ")))
}

fn row<'a>(name: Span<'a>, m: &AgentMetrics, app: &App, shown: &[usize]) -> Row<'a> {
    let dash = || "—".to_string();
    let err_style = if m.errors > 0 {
        Style::new().fg(app.theme.error)
    } else {
        app.theme.dim_style()
    };
    let mut cells = vec![Cell::from(name)];
    for i in shown {
        cells.push(match i {
            0 => Cell::from(short(m.input_tokens)),
            1 => Cell::from(short(m.output_tokens)),
            2 => Cell::from(m.cost.map(money).unwrap_or_else(dash)),
            3 => Cell::from(Span::styled(m.errors.to_string(), err_style)),
            4 => Cell::from(
                m.tokens_per_sec
                    .map(|t| format!("{t:.0}"))
                    .unwrap_or_else(dash),
            ),
            5 => Cell::from(m.ttft_ms.map(ms).unwrap_or_else(dash)),
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

fn short_signed(n: i64) -> String {
    if n < 0 {
        format!("-{}", short(n.unsigned_abs()))
    } else {
        short(n as u64)
    }
}
