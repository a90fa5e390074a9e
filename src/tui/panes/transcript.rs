//! The transcript pane: every typed cell of the session in order. [`TranscriptPane`] owns its
//! scroll position and the rows of each cell, laid out (`layout`) once per width. The words
//! are the view's ([`Parts`]); only the look is the console's.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::cache::CellCaches;
use super::super::markdown::MdStyler;
use super::super::put::put;
use super::super::sanitize::clean_line;
use super::super::scroll::{self, Cells, ScrollBy, ScrollState};
use super::super::state::transcript::Entry;
use super::super::theme::Theme;
use super::{AgentColors, focus_frame, scrolled_hint, wrap_indented};
use crate::view::{Mark, Parts, Role, Shape, Tone, YOU};

/// The transcript pane.
#[derive(Debug, Default)]
pub struct TranscriptPane {
    pub scroll: ScrollState,
    cache: CellCaches,
}

impl TranscriptPane {
    pub fn is_following(&self) -> bool {
        self.scroll.is_following()
    }

    /// Draw `entries` in `area`.
    pub fn render(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        entries: &[Entry],
        focused: bool,
        theme: &Theme,
        colors: &AgentColors,
    ) {
        let mut block =
            focus_frame(focused, theme.border, theme).title(Line::from(vec![Span::styled(
                " Transcript ",
                Style::new().fg(theme.accent).add_modifier(Modifier::BOLD),
            )]));
        if !self.scroll.is_following() {
            block = block.title_bottom(scrolled_hint(theme));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let (mut cells, st) = self.cells(entries, theme, colors);
        let lines = scroll::visible(&mut cells, st, inner.width, inner.height);
        put(frame.buffer_mut(), inner, &lines);
    }

    /// Scroll through `entries`.
    pub fn scroll(&mut self, by: ScrollBy, entries: &[Entry], theme: &Theme, colors: &AgentColors) {
        let (mut cells, st) = self.cells(entries, theme, colors);
        scroll::scroll_by(&mut cells, st, by);
    }

    fn cells<'a>(
        &'a mut self,
        entries: &'a [Entry],
        theme: &'a Theme,
        colors: &'a AgentColors,
    ) -> (TranscriptCells<'a>, &'a mut ScrollState) {
        self.cache.fit(entries.len());
        let cells = TranscriptCells {
            entries,
            cache: &mut self.cache,
            theme,
            colors,
        };
        (cells, &mut self.scroll)
    }
}

/// The transcript as scrollable cells.
struct TranscriptCells<'a> {
    entries: &'a [Entry],
    cache: &'a mut CellCaches,
    theme: &'a Theme,
    colors: &'a AgentColors,
}

impl Cells for TranscriptCells<'_> {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn rows(&mut self, index: usize, width: u16) -> &[Line<'static>] {
        let (theme, colors) = (self.theme, self.colors);
        match self.entries.get(index) {
            Some(entry) => self.cache.cell(index).get_or(width, || {
                layout(entry, width, theme, colors)
                    .into_iter()
                    .map(clean_line)
                    .collect()
            }),
            None => &[],
        }
    }
}

/// The rows of one cell: the view's words, the console's look. A [`Mark`] becomes a glyph, a
/// [`Tone`] a colour; names take their agent's colour, the verb is emphasised, and a speech is a
/// heading over its body.
pub fn layout(
    entry: &Entry,
    width: u16,
    theme: &Theme,
    colors: &AgentColors,
) -> Vec<Line<'static>> {
    let one = |spans: Vec<Span<'static>>| wrap_indented(&[Line::from(spans)], width, 0);
    let parts = match entry {
        Entry::Notice(text) => {
            return one(vec![Span::styled(
                format!("· {text}"),
                theme.dim_style().add_modifier(Modifier::ITALIC),
            )]);
        }
        Entry::Event(parts) => parts,
    };
    let body = parts.body.as_deref().filter(|b| !b.trim().is_empty());
    if parts.shape == Shape::Speech {
        let mut head = phrase(parts, theme, colors, true);
        if let Some(r) = parts.round {
            head.push(Span::styled(format!(" · round {r}"), theme.dim_style()));
        }
        if let Some(s) = &parts.status {
            head.push(Span::styled(format!(" · {s}"), theme.dim_style()));
        }
        let mut rows = vec![Line::default()];
        rows.extend(one(head));
        let text = body.unwrap_or_default();
        let body: Vec<Line<'static>> = if parts.mark == Mark::User {
            text.lines()
                .map(|l| Line::styled(l.to_string(), theme.text_style()))
                .collect()
        } else {
            MdStyler::text(text, theme)
        };
        rows.extend(wrap_indented(&body, width, 2));
        return rows;
    }
    let (glyph, color) = glyph(parts, theme);
    let mut spans = vec![Span::styled(glyph, Style::new().fg(color))];
    // The body shows the whole text; the phrase need not repeat it on one line.
    spans.extend(phrase(parts, theme, colors, body.is_none()));
    let mut rows = Vec::new();
    if parts.mark == Mark::End {
        rows.push(Line::default());
        for s in &mut spans {
            s.style = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
        }
    }
    rows.extend(one(spans));
    if let Some(text) = body {
        let lines = if parts.mark == Mark::End {
            MdStyler::text(text, theme)
        } else {
            text.lines()
                .map(|l| Line::styled(l.to_string(), theme.dim_style()))
                .collect()
        };
        rows.extend(wrap_indented(&lines, width, 2));
    }
    rows
}

/// The phrase of `parts` as styled spans; `details` false leaves out the one-line details.
fn phrase(parts: &Parts, theme: &Theme, colors: &AgentColors, details: bool) -> Vec<Span<'static>> {
    let tone = tone_color(parts.tone, theme);
    // Failures read in the error colour throughout; a vote against is only a vote.
    let bad = parts.tone == Tone::Bad && parts.mark != Mark::Vote;
    let mut spans = Vec::new();
    let mut verb_seen = false;
    for piece in &parts.phrase {
        if piece.role == Role::Detail && !details {
            continue;
        }
        let (text, style) = match piece.role {
            Role::Name if piece.text == YOU => (
                piece.text.clone(),
                Style::new().fg(theme.user).add_modifier(Modifier::BOLD),
            ),
            Role::Name => {
                let c = colors.session.get(&piece.text).copied();
                (
                    piece.text.clone(),
                    Style::new()
                        .fg(c.unwrap_or(theme.accent))
                        .add_modifier(Modifier::BOLD),
                )
            }
            Role::Arrow => ("→".to_string(), theme.dim_style()),
            Role::Word if !verb_seen && !parts.verb.is_empty() && piece.text == parts.verb => {
                verb_seen = true;
                let style = Style::new().fg(tone).add_modifier(Modifier::BOLD);
                (piece.text.clone(), style)
            }
            Role::Word if bad => (piece.text.clone(), Style::new().fg(theme.error)),
            Role::Word => (piece.text.clone(), theme.dim_style()),
            Role::Detail if bad => (piece.text.clone(), Style::new().fg(theme.error)),
            Role::Detail => (piece.text.clone(), theme.text_style()),
        };
        if !piece.sep.is_empty() {
            spans.push(Span::styled(piece.sep.to_string(), theme.dim_style()));
        }
        spans.push(Span::styled(text, style));
    }
    spans
}

/// The glyph a line starts with, and its colour.
fn glyph(parts: &Parts, theme: &Theme) -> (&'static str, Color) {
    let tone = tone_color(parts.tone, theme);
    match parts.mark {
        Mark::Session | Mark::End => ("━━ ", theme.accent),
        Mark::Failure => ("✗ ", theme.error),
        Mark::Cancel => ("⊘ ", theme.dim),
        Mark::Pick => ("» ", theme.dim),
        Mark::Handoff if parts.tone == Tone::Normal => ("⇄ ", theme.handoff),
        Mark::Handoff => ("⇄ ", tone),
        Mark::HandBack => ("↩ ", theme.success),
        // Votes sit under the speech that proposed.
        Mark::Vote => match parts.tone {
            Tone::Good => ("  ✔ ", tone),
            Tone::Bad => ("  ✘ ", tone),
            _ => ("  ○ ", tone),
        },
        Mark::Tally => ("═ ", tone),
        Mark::Score => ("★ ", theme.speaking),
        Mark::Control if parts.tone == Tone::Good => ("▶ ", tone),
        Mark::Control => ("‖ ", tone),
        Mark::Error => ("! ", theme.error),
        Mark::Tool => ("⚙ ", tone),
        Mark::Guard => ("⚑ ", tone),
        Mark::Plan => ("▦ ", tone),
        Mark::User | Mark::Agent | Mark::None => ("", tone),
    }
}

/// The colour of a tone.
fn tone_color(tone: Tone, theme: &Theme) -> Color {
    match tone {
        Tone::Normal => theme.accent,
        Tone::Good => theme.success,
        Tone::Warn => theme.warning,
        Tone::Bad => theme.error,
        Tone::Muted => theme.dim,
    }
}
