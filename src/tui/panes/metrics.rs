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

/// Draw the metrics table.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let m = &app.session.metrics;
    let header = Row::new(["agent", "in", "out", "ttft", "tok/s", "lat", "cost", "err"])
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
            )
        })
        .collect();
    let total = m.total();
    rows.push(
        row(
            Span::styled("total", Style::new().add_modifier(Modifier::BOLD)),
            &total,
            app,
        )
        .style(Style::new().add_modifier(Modifier::BOLD)),
    );
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(3),
    ];
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
        s.push_str(&format!(" · ${c:.3}"));
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

fn row<'a>(name: Span<'a>, m: &AgentMetrics, app: &App) -> Row<'a> {
    let dash = || "—".to_string();
    let err_style = if m.errors > 0 {
        Style::new().fg(app.theme.error)
    } else {
        app.theme.dim_style()
    };
    Row::new(vec![
        Cell::from(name),
        Cell::from(short(m.input_tokens)),
        Cell::from(short(m.output_tokens)),
        Cell::from(m.ttft_ms.map(ms).unwrap_or_else(dash)),
        Cell::from(
            m.tokens_per_sec
                .map(|t| format!("{t:.0}"))
                .unwrap_or_else(dash),
        ),
        Cell::from(m.latency_ms.map(ms).unwrap_or_else(dash)),
        Cell::from(m.cost.map(|c| format!("${c:.3}")).unwrap_or_else(dash)),
        Cell::from(Span::styled(m.errors.to_string(), err_style)),
    ])
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
