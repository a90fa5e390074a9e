//! `/tools`: the MCP servers of the running hub and who may use them. First each agent of the
//! session that has tools (its `tools` selections and its `tool_approval` policy), then each
//! server: running with its tools (read-only or not, and the agents that may call each), or
//! failed with the reason, its command or URL and the last lines of its stderr. Scrolls with the
//! help's keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::super::keymap::Keymap;
use super::super::sanitize::clean_line;
use super::super::theme::Theme;
use super::super::wrap::wrap_line;
use super::centered;
use crate::config::{Approval, Config};
use crate::tools::ServerListing;
use crate::tools::names::selected;

/// What `/tools` shows, worked out once when the listing arrives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolsReport {
    /// (agent, its `tools` selections, its approval policy in words).
    pub agents: Vec<(String, Vec<String>, String)>,
    pub servers: Vec<ServerReport>,
}

/// One server of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReport {
    pub name: String,
    pub target: String,
    /// Its tools (name, read-only, the agents that may call it), or why it failed and the last
    /// lines of its stderr.
    pub state: Result<Vec<ToolRow>, (String, Vec<String>)>,
}

/// One tool of a running server: its name, whether it is read-only, the agents that may call it.
pub type ToolRow = (String, bool, Vec<String>);

/// A tool approval policy in words.
pub fn policy_words(policy: Option<Approval>) -> &'static str {
    match policy {
        None => "default: read-only tools run, the others wait for you",
        Some(Approval::Auto) => "auto: every call runs",
        Some(Approval::Confirm) => "confirm: every call waits for you",
        Some(Approval::Window) => {
            "window: every call runs after a few seconds unless you reject it"
        }
    }
}

impl ToolsReport {
    /// The report of `listing` for `agents` (the session's, in its order) under `config`.
    pub fn build(listing: &[ServerListing], config: &Config, agents: &[String]) -> ToolsReport {
        let with_tools = agents
            .iter()
            .filter_map(|n| config.agents.get(n).map(|a| (n, a)))
            .filter(|(_, a)| !a.tools.is_empty());
        let agents_rows = with_tools
            .clone()
            .map(|(n, a)| {
                (
                    n.clone(),
                    a.tools.clone(),
                    policy_words(a.tool_approval).to_string(),
                )
            })
            .collect();
        let servers = listing
            .iter()
            .map(|s| ServerReport {
                name: s.name.clone(),
                target: s.target.clone(),
                state: match &s.tools {
                    Ok(tools) => Ok(tools
                        .iter()
                        .map(|t| {
                            let who = with_tools
                                .clone()
                                .filter(|(_, a)| selected(&a.tools, &s.name, &t.name))
                                .map(|(n, _)| n.clone())
                                .collect();
                            (t.name.clone(), t.read_only, who)
                        })
                        .collect()),
                    Err(e) => Err(e.parts()),
                },
            })
            .collect();
        ToolsReport {
            agents: agents_rows,
            servers,
        }
    }

    /// The report as lines for `width`.
    pub fn lines(&self, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let head = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
        let bold = Style::new().fg(theme.text).add_modifier(Modifier::BOLD);
        let dim = theme.dim_style();
        let mut out: Vec<Line<'static>> = vec![Line::styled("Agents", head)];
        if self.agents.is_empty() {
            out.push(Line::styled("  no agent of this session has tools", dim));
        }
        for (agent, tools, policy) in &self.agents {
            out.push(Line::from(vec![
                Span::styled(format!("  {agent}"), bold),
                Span::styled(format!("  tools {}", tools.join(", ")), theme.text_style()),
            ]));
            out.push(Line::styled(format!("    approval {policy}"), dim));
        }
        out.push(Line::default());
        out.push(Line::styled("Servers", head));
        if self.servers.is_empty() {
            out.push(Line::styled(
                "  no [mcp.NAME] server is configured (config.example.toml shows how)",
                dim,
            ));
        }
        for s in &self.servers {
            match &s.state {
                Ok(tools) => {
                    out.push(Line::from(vec![
                        Span::styled("  ● ", Style::new().fg(theme.success)),
                        Span::styled(s.name.clone(), bold),
                        Span::styled(
                            format!("  running · {} tools · {}", tools.len(), s.target),
                            dim,
                        ),
                    ]));
                    for (tool, read_only, who) in tools {
                        let mut spans =
                            vec![Span::styled(format!("      {tool}"), theme.text_style())];
                        if *read_only {
                            spans.push(Span::styled("  read-only", Style::new().fg(theme.success)));
                        } else {
                            spans.push(Span::styled("  writes", Style::new().fg(theme.warning)));
                        }
                        spans.push(Span::styled(
                            if who.is_empty() {
                                "  (no agent)".to_string()
                            } else {
                                format!("  {}", who.join(", "))
                            },
                            dim,
                        ));
                        out.push(Line::from(spans));
                    }
                }
                Err((message, stderr)) => {
                    out.push(Line::from(vec![
                        Span::styled("  ✗ ", Style::new().fg(theme.error)),
                        Span::styled(s.name.clone(), bold),
                        Span::styled(format!("  failed · {}", s.target), dim),
                    ]));
                    out.push(Line::styled(
                        format!("      {message}"),
                        Style::new().fg(theme.error),
                    ));
                    if !stderr.is_empty() {
                        out.push(Line::styled("      its stderr ended with:", dim));
                        for l in stderr {
                            out.push(Line::styled(format!("        {l}"), dim));
                        }
                    }
                }
            }
        }
        out.into_iter()
            .map(clean_line)
            .flat_map(|l| wrap_line(&l, width))
            .collect()
    }
}

/// Draw the report scrolled down by `scroll` rows.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    report: &ToolsReport,
    scroll: u16,
    keymap: &Keymap,
    theme: &Theme,
) {
    let width = area.width.saturating_sub(4).clamp(20, 96);
    let lines = report.lines(width.saturating_sub(2), theme);
    let rows = area.height.saturating_sub(2);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, width, height);
    let max_scroll = (lines.len() as u16).saturating_sub(rows.saturating_sub(2));
    let scroll = scroll.min(max_scroll);
    let block = super::info_block(" Tools ", keymap, theme);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}
