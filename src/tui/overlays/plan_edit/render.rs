//! Drawing the plan review editor: a popup over most of the screen with the task table (id,
//! agent, depends on, instructions), the selected task's instructions in full (or the text
//! area editing them), the member list or the dependency checklist when one is open, the
//! rejection reason's text area, the last note, and the keys of the current mode.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, List, ListItem, ListState, Paragraph};

use super::super::super::keymap::{Action, Keymap};
use super::super::super::panes::AgentColors;
use super::super::super::sanitize::strip_controls;
use super::super::super::theme::Theme;
use super::super::super::wrap::{truncate, width_of, wrap_line};
use super::super::centered;
use super::{Mode, PlanEditor, TextBox};

/// The widest the editor gets.
const MAX_WIDTH: u16 = 120;

/// What the editor draws with besides its own state.
#[derive(Clone, Copy)]
pub struct EditLook<'a> {
    /// How the approval stands: `2.4s left`, `held`, `awaiting your review`.
    pub window: &'a str,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    pub colors: &'a AgentColors,
}

/// The keys of the editor's current mode, for its bottom line and the footer.
pub fn mode_actions(editor: &PlanEditor) -> Vec<(Action, &'static str)> {
    match editor.mode {
        Mode::Table => vec![
            (Action::PlanApprove, "approve"),
            (Action::PlanReject, "reject"),
            (Action::PlanReassign, "reassign"),
            (Action::PlanEditText, "edit"),
            (Action::PlanDelete, "delete"),
            (Action::PlanDepends, "depends on"),
            (Action::PlanEditClose, "close"),
        ],
        Mode::Reassign { .. } => vec![
            (Action::PickerSelect, "give"),
            (Action::PickerUp, "up"),
            (Action::PickerDown, "down"),
            (Action::PickerClose, "back"),
        ],
        Mode::Depends { .. } => vec![
            (Action::PickerSelect, "tick / untick"),
            (Action::PickerUp, "up"),
            (Action::PickerDown, "down"),
            (Action::PickerClose, "done"),
        ],
        Mode::Instructions(_) => vec![
            (Action::TextDone, "keep"),
            (Action::TextNewline, "new line"),
            (Action::TextCancel, "drop the change"),
        ],
        Mode::Reject(_) => vec![
            (Action::TextDone, "reject"),
            (Action::TextNewline, "new line"),
            (Action::TextCancel, "back"),
        ],
    }
}

/// Draw `editor` over `area`.
pub fn render(frame: &mut Frame<'_>, area: Rect, editor: &PlanEditor, look: EditLook<'_>) {
    let EditLook {
        window,
        keymap,
        theme,
        ..
    } = look;
    let width = area.width.saturating_sub(2).min(MAX_WIDTH);
    let height = wanted_height(editor, width.saturating_sub(2)).min(area.height.saturating_sub(2));
    let rect = centered(area, width, height);
    let keys: Vec<Span<'static>> = mode_actions(editor)
        .into_iter()
        .filter_map(|(a, label)| {
            let k = keymap.hint(a)?;
            Some([
                Span::styled(
                    k,
                    Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!(" {label}  "), theme.dim_style()),
            ])
        })
        .flatten()
        .collect();
    let edited = if editor.is_edited() { " · edited" } else { "" };
    let block = theme
        .popup(theme.accent)
        .title(Span::styled(
            format!(
                " Review plan v{} from {}{edited} ",
                editor.version, editor.by
            ),
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ))
        .title(
            Line::styled(
                format!(" {window} "),
                Style::new().fg(theme.speaking).add_modifier(Modifier::BOLD),
            )
            .right_aligned(),
        )
        .title_bottom(Line::from(keys));
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let table_h = table_height(editor).min(inner.height.saturating_sub(4));
    let note_h = u16::from(editor.note.is_some());
    let [table, detail, note] = Layout::vertical([
        Constraint::Length(table_h),
        Constraint::Fill(1),
        Constraint::Length(note_h),
    ])
    .areas(inner);
    draw_table(frame, table, editor, look);
    match &editor.mode {
        Mode::Instructions(text) => {
            let id = editor.tasks.get(editor.selected).map_or("", |t| &t.id);
            draw_text(
                frame,
                detail,
                text,
                &format!(" Instructions of {id} "),
                theme,
            );
        }
        Mode::Reject(text) => draw_text(
            frame,
            detail,
            text,
            " Why reject? The planner reads this ",
            theme,
        ),
        _ => draw_detail(frame, detail, editor, theme),
    }
    if let Some(n) = &editor.note {
        frame.render_widget(
            Paragraph::new(Line::styled(
                truncate(n, usize::from(note.width)),
                Style::new().fg(theme.warning),
            )),
            note,
        );
    }
    match editor.mode {
        Mode::Reassign { cursor } => draw_members(frame, rect, editor, cursor, look),
        Mode::Depends { cursor } => draw_depends(frame, rect, editor, cursor, look),
        _ => {}
    }
}

/// Rows of the table: the header and a row per task (one for the empty note).
fn table_height(editor: &PlanEditor) -> u16 {
    editor.tasks.len().max(1) as u16 + 1
}

/// Rows the editor wants at inner width `width`: the table, the detail section (the selected
/// task's instructions, or a text area of at least 5 rows), the note and the borders.
fn wanted_height(editor: &PlanEditor, width: u16) -> u16 {
    let detail = match &editor.mode {
        Mode::Instructions(t) | Mode::Reject(t) => (t.0.lines().len() as u16 + 1).max(5),
        _ => editor.tasks.get(editor.selected).map_or(1, |t| {
            let text = strip_controls(&t.instructions);
            let rows: usize = text
                .lines()
                .map(|l| wrap_line(&Line::raw(l.to_string()), width).len())
                .sum();
            rows as u16 + u16::from(t.compensation.is_some())
        }),
    };
    // Room for the lists that open over the editor.
    let list = match editor.mode {
        Mode::Reassign { .. } => editor.members.len() as u16 + 2,
        Mode::Depends { .. } => editor.tasks.len() as u16 + 1,
        _ => 0,
    };
    let body = table_height(editor) + 1 + detail.max(3) + u16::from(editor.note.is_some());
    body.max(list) + 2
}

fn draw_table(frame: &mut Frame<'_>, area: Rect, editor: &PlanEditor, look: EditLook<'_>) {
    let EditLook { theme, colors, .. } = look;
    let w = usize::from(area.width);
    let id_w = editor
        .tasks
        .iter()
        .map(|t| width_of(&t.id))
        .max()
        .unwrap_or(2)
        .clamp(4, 18);
    let agent_w = editor
        .tasks
        .iter()
        .map(|t| width_of(&t.agent))
        .max()
        .unwrap_or(5)
        .clamp(5, 14);
    let deps_w = editor
        .tasks
        .iter()
        .map(|t| width_of(&t.depends_on.join(", ")))
        .max()
        .unwrap_or(0)
        .clamp(10, (w / 4).max(10));
    let instr_w = w.saturating_sub(2 + id_w + 1 + agent_w + 1 + deps_w + 1);
    let header = format!(
        "  {:<id_w$} {:<agent_w$} {:<deps_w$} instructions",
        "id", "agent", "depends on"
    );
    let mut lines = vec![Line::styled(truncate(&header, w), theme.dim_style())];
    if editor.tasks.is_empty() {
        lines.push(Line::styled(
            "  (no tasks left: reject the plan, or close and let it stand)",
            theme.dim_style(),
        ));
    }
    let rows = usize::from(area.height).saturating_sub(1);
    let skip = (editor.selected + 1).saturating_sub(rows);
    for (i, t) in editor.tasks.iter().enumerate().skip(skip).take(rows) {
        let proposed = editor.proposed.iter().find(|p| p.id == t.id);
        let changed = proposed != Some(t);
        let first = strip_controls(t.instructions.lines().next().unwrap_or(""));
        let deps = if t.depends_on.is_empty() {
            "—".to_string()
        } else {
            t.depends_on.join(", ")
        };
        let mut line = Line::from(vec![
            Span::styled(
                if changed { "✎ " } else { "  " },
                Style::new().fg(theme.warning),
            ),
            Span::styled(
                format!("{:<id_w$} ", truncate(&strip_controls(&t.id), id_w)),
                Style::new().fg(theme.text).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("{:<agent_w$} ", truncate(&t.agent, agent_w)),
                Style::new().fg(colors.of(&t.agent)),
            ),
            Span::styled(
                format!("{:<deps_w$} ", truncate(&deps, deps_w)),
                theme.dim_style(),
            ),
            Span::styled(truncate(&first, instr_w), theme.text_style()),
        ]);
        if i == editor.selected {
            line = line.style(theme.selection_style());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn section(title: String, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .border_type(BorderType::Plain)
        .border_style(Style::new().fg(theme.border))
        .title(Span::styled(
            title,
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        ))
}

fn draw_detail(frame: &mut Frame<'_>, area: Rect, editor: &PlanEditor, theme: &Theme) {
    let Some(t) = editor.tasks.get(editor.selected) else {
        return;
    };
    let block = section(format!(" {} ", strip_controls(&t.id)), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for l in strip_controls(&t.instructions).lines() {
        lines.extend(wrap_line(
            &Line::styled(l.to_string(), theme.text_style()),
            inner.width,
        ));
    }
    if let Some(c) = t.compensation.as_deref().filter(|c| !c.is_empty()) {
        let c = format!("undo: {}", strip_controls(c));
        lines.extend(wrap_line(&Line::styled(c, theme.dim_style()), inner.width));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_text(frame: &mut Frame<'_>, area: Rect, text: &TextBox, title: &str, theme: &Theme) {
    let mut ta = text.0.clone();
    ta.set_block(section(title.to_string(), theme));
    ta.set_style(theme.text_style());
    ta.set_cursor_line_style(Style::new());
    ta.set_placeholder_style(theme.dim_style());
    ta.set_cursor_style(Style::new().add_modifier(Modifier::REVERSED));
    frame.render_widget(&ta, area);
}

/// A list popup over the editor.
fn draw_list(
    frame: &mut Frame<'_>,
    over: Rect,
    title: String,
    items: Vec<ListItem<'static>>,
    cursor: usize,
    theme: &Theme,
) {
    let w = (width_of(&title) as u16 + 4).max(40);
    let rect = centered(over, w, items.len() as u16 + 2);
    let list = List::new(items)
        .block(theme.popup(theme.accent).title(Span::styled(
            title,
            Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
        )))
        .highlight_style(theme.selection_style())
        .highlight_symbol("›");
    let mut state = ListState::default().with_selected(Some(cursor));
    frame.render_widget(Clear, rect);
    frame.render_stateful_widget(list, rect, &mut state);
}

fn draw_members(
    frame: &mut Frame<'_>,
    over: Rect,
    editor: &PlanEditor,
    cursor: usize,
    look: EditLook<'_>,
) {
    let EditLook { theme, colors, .. } = look;
    let Some(t) = editor.tasks.get(editor.selected) else {
        return;
    };
    let items = editor
        .members
        .iter()
        .map(|m| {
            let mut spans = vec![Span::styled(
                format!(" {m}"),
                Style::new().fg(colors.of(m)).add_modifier(Modifier::BOLD),
            )];
            if *m == t.agent {
                spans.push(Span::styled("  (now)", theme.dim_style()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    draw_list(
        frame,
        over,
        format!(" Give {} to… ", t.id),
        items,
        cursor,
        theme,
    );
}

fn draw_depends(
    frame: &mut Frame<'_>,
    over: Rect,
    editor: &PlanEditor,
    cursor: usize,
    look: EditLook<'_>,
) {
    let theme = look.theme;
    let Some(me) = editor.tasks.get(editor.selected) else {
        return;
    };
    let items = editor
        .dependency_candidates()
        .into_iter()
        .map(|c| {
            let ticked = me.depends_on.contains(&c.id);
            let cycle = !ticked && editor.reaches(&c.id, &me.id);
            let mark = if ticked { "[x]" } else { "[ ]" };
            let style = if cycle {
                theme.dim_style()
            } else {
                theme.text_style()
            };
            let mut spans = vec![Span::styled(format!(" {mark} {}", c.id), style)];
            if cycle {
                spans.push(Span::styled("  (waits for it: cycle)", theme.dim_style()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    draw_list(
        frame,
        over,
        format!(" {} depends on… ", me.id),
        items,
        cursor,
        theme,
    );
}
