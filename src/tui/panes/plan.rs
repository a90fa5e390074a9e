//! The Plan pane: a plan team's task graph beside the agent panes, one row per task in
//! dependency order (each task indented under the chain it waits on), with its status glyph
//! and label in the console's colours, its agent, how long it ran and which tasks it still
//! waits for. The title carries the plan's version, stage and progress.
//!
//! [`PlanPane`] is the pane's own state: the selected task (by position in the tree order) and
//! the first row shown. The selection moves with the pane's keys when it has the focus; the
//! App opens the selected task's output (its agent's pane, zoomed on that turn). Columns fit the
//! width: the id column takes what the longest indented id needs (at most 40 % of the row), the
//! agent column its longest name, the rest goes to "waits for".

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::keymap::{Action, Keymap};
use super::super::put::put;
use super::super::sanitize::strip_controls;
use super::super::scroll::ScrollBy;
use super::super::state::plan::{is_settled, phase_label, progress, tree};
use super::super::theme::Theme;
use super::super::wrap::{truncate, width_of};
use super::handoff::clock;
use super::{AgentColors, focus_frame};
use crate::core::state::plan::{PlanPhase, PlanState, TaskRun, TaskStatus};

/// Rows the pane wants: one per task, the header row and the borders.
pub fn wanted_height(plan: &PlanState) -> u16 {
    (plan.tasks.len().max(1) as u16).saturating_add(3)
}

/// The glyph of a status, as the other panes mark the same states.
pub fn glyph(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Waiting => "○",
        TaskStatus::Running => "◆",
        TaskStatus::Done => "✓",
        TaskStatus::Failed => "✗",
        TaskStatus::Skipped => "⊘",
        TaskStatus::Compensated => "↺",
    }
}

/// The colour of a status.
pub fn status_color(status: TaskStatus, theme: &Theme) -> Color {
    match status {
        TaskStatus::Waiting | TaskStatus::Skipped => theme.dim,
        TaskStatus::Running => theme.speaking,
        TaskStatus::Done => theme.success,
        TaskStatus::Failed => theme.error,
        TaskStatus::Compensated => theme.warning,
    }
}

/// The pane's own state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanPane {
    /// The selected task, by position in [`tree`] order.
    pub selected: usize,
    /// The first task row shown.
    pub offset: usize,
    /// Task rows shown at the last draw (a page).
    pub rows: usize,
}

/// How the pane shows itself this frame.
#[derive(Clone, Copy)]
pub struct PlanLook<'a> {
    pub focused: bool,
    /// The clock, for running tasks' elapsed time.
    pub now: DateTime<Utc>,
    /// What is left of a proposed plan's approval window, if it counts.
    pub window_left_ms: Option<u64>,
    /// The planner, named while it plans.
    pub planner: Option<&'a str>,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    pub colors: &'a AgentColors,
}

impl PlanPane {
    /// Move the selection by `delta` rows within `plan`.
    pub fn move_by(&mut self, delta: isize, plan: &PlanState) {
        let n = plan.tasks.len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
    }

    /// Page or wheel through the tasks: the selection moves.
    pub fn scroll(&mut self, by: ScrollBy, plan: &PlanState) {
        let page = (self.rows.max(2) - 1) as isize;
        let delta = match by {
            ScrollBy::Up(n) => -(n as isize),
            ScrollBy::Down(n) => n as isize,
            ScrollBy::Page(true) => -page,
            ScrollBy::Page(false) => page,
        };
        self.move_by(delta, plan);
    }

    /// The selected task.
    pub fn selected_task<'a>(&self, plan: &'a PlanState) -> Option<&'a TaskRun> {
        let tree = tree(&plan.tasks);
        let (i, _) = tree.get(self.selected.min(tree.len().saturating_sub(1)))?;
        plan.tasks.get(*i)
    }

    /// Draw `plan` in `area`.
    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, plan: &PlanState, look: PlanLook) {
        let PlanLook {
            focused,
            now,
            window_left_ms,
            planner,
            keymap,
            theme,
            colors,
        } = look;
        let (settled, total) = progress(plan);
        let version = plan.latest().map_or(0, |v| v.version);
        let mut title = vec![Span::styled(
            " Plan",
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        )];
        if version > 0 {
            title.push(Span::styled(
                format!(" v{version}"),
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            ));
        }
        title.push(Span::raw(" "));
        let stage_color = match plan.phase {
            PlanPhase::Review | PlanPhase::Compensating => theme.warning,
            PlanPhase::Running | PlanPhase::Synthesizing => theme.speaking,
            PlanPhase::Done => theme.success,
            PlanPhase::Planning | PlanPhase::Idle => theme.dim,
        };
        let mut stage = phase_label(plan.phase).to_string();
        if let Some(left) = window_left_ms.filter(|_| plan.phase == PlanPhase::Review) {
            stage = format!("{stage} · {:.1}s left", left as f64 / 1000.0);
        }
        if !matches!(plan.phase, PlanPhase::Planning | PlanPhase::Review) && total > 0 {
            stage = format!("{stage} · {settled}/{total} settled");
        }
        let border = if plan.phase == PlanPhase::Review {
            theme.speaking
        } else {
            theme.border
        };
        let mut block = focus_frame(focused, border, theme)
            .title(Line::from(title))
            .title(
                Line::from(vec![
                    Span::raw(" "),
                    Span::styled(stage, Style::new().fg(stage_color)),
                    Span::raw(" "),
                ])
                .right_aligned(),
            );
        if focused && !plan.tasks.is_empty() {
            let hint = [
                (Action::PlanTaskUp, "↑"),
                (Action::PlanTaskDown, "↓"),
                (Action::PlanOpenTask, "output"),
            ]
            .iter()
            .filter_map(|(a, label)| Some(format!("{} {label}", keymap.hint(*a)?)))
            .collect::<Vec<_>>()
            .join(" · ");
            block = block.title_bottom(Line::styled(format!(" {hint} "), theme.dim_style()));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if plan.tasks.is_empty() {
            let text = match (planner, plan.phase) {
                (Some(p), PlanPhase::Planning) => format!("{p} is writing the plan…"),
                (Some(p), _) => format!("no plan yet: {p} plans the task you type"),
                (None, _) => "no plan yet".to_string(),
            };
            frame.render_widget(Paragraph::new(Line::styled(text, theme.dim_style())), inner);
            return;
        }
        let lines = self.lines(plan, inner, now, theme, colors, focused);
        put(frame.buffer_mut(), inner, &lines);
    }

    fn lines(
        &mut self,
        plan: &PlanState,
        inner: Rect,
        now: DateTime<Utc>,
        theme: &Theme,
        colors: &AgentColors,
        focused: bool,
    ) -> Vec<Line<'static>> {
        let tree = tree(&plan.tasks);
        let w = usize::from(inner.width);
        let id_w = tree
            .iter()
            .map(|(i, d)| width_of(plan.tasks[*i].id()) + 2 * d.min(&4))
            .max()
            .unwrap_or(2)
            .clamp(4, (w * 2 / 5).max(4));
        let agent_w = plan
            .tasks
            .iter()
            .map(|t| width_of(&t.spec.agent))
            .max()
            .unwrap_or(5)
            .clamp(5, 14);
        const TIME_W: usize = 7;
        let status_w = if w >= 2 + id_w + agent_w + TIME_W + 12 + 12 {
            12
        } else {
            0
        };
        let dim = theme.dim_style();
        let mut header = format!("  {:<id_w$} {:<agent_w$}", "task", "agent");
        if status_w > 0 {
            header.push_str(&format!(" {:<11}", "status"));
        }
        header.push_str(&format!(" {:>6}  waits for", "time"));
        // The header only when every task still has a row.
        let with_header = usize::from(inner.height) > tree.len();
        let mut lines = Vec::new();
        if with_header {
            lines.push(Line::styled(truncate(&header, w), dim));
        }
        let rows = usize::from(inner.height).saturating_sub(usize::from(with_header));
        self.rows = rows;
        self.selected = self.selected.min(tree.len().saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if rows > 0 && self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        self.offset = self.offset.min(tree.len().saturating_sub(rows.max(1)));
        for (pos, (i, depth)) in tree.iter().enumerate().skip(self.offset).take(rows) {
            let t = &plan.tasks[*i];
            let color = status_color(t.status, theme);
            let indent = "  ".repeat((*depth).min(4));
            let id = truncate(&format!("{indent}{}", strip_controls(t.id())), id_w);
            let time = t
                .elapsed_ms(now)
                .map(|ms| clock(TimeDelta::milliseconds(ms as i64)))
                .unwrap_or_default();
            let waits = plan.waits_for(t.id());
            let waits = if t.status == TaskStatus::Waiting && !waits.is_empty() {
                format!("← {}", waits.join(", "))
            } else {
                String::new()
            };
            let mut spans = vec![
                Span::styled(format!("{} ", glyph(t.status)), Style::new().fg(color)),
                Span::styled(
                    format!("{id:<id_w$} "),
                    Style::new().fg(theme.text).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("{:<agent_w$}", truncate(&t.spec.agent, agent_w)),
                    Style::new().fg(colors.of(&t.spec.agent)),
                ),
            ];
            if status_w > 0 {
                let label = if t.attempts > 1 && !is_settled(t.status) {
                    format!("{} #{}", t.status.as_str(), t.attempts)
                } else {
                    t.status.as_str().to_string()
                };
                spans.push(Span::styled(
                    format!(" {:<11}", truncate(&label, 11)),
                    Style::new().fg(color),
                ));
            }
            spans.push(Span::styled(format!(" {time:>6}"), dim));
            let used = 2 + id_w + 1 + agent_w + status_w + 7;
            if !waits.is_empty() && w > used + 3 {
                spans.push(Span::styled(
                    format!("  {}", truncate(&waits, w - used - 2)),
                    Style::new().fg(theme.warning),
                ));
            }
            let mut line = Line::from(spans);
            if focused && pos == self.selected {
                line = line.style(theme.selection_style());
            }
            lines.push(line);
        }
        lines
    }
}
