//! Per-width caches of laid-out lines, and of whole panes between frames ([`ScreenCache`]).
//!
//! Laying out a cell (Markdown styling, then wrapping) happens once per width; a resize lays out
//! again only the cells that become visible. [`LineCache`] holds one cell's rows for the last width
//! it was asked for; [`CellCaches`] one per cell of a pane, by position. The panes own them, next
//! to their scroll position: the session view they draw from holds no render state.

use ratatui::Frame;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::text::Line;

/// The rows of one cell at one width.
#[derive(Clone, Debug, Default)]
pub struct LineCache {
    entry: Option<(u16, Vec<Line<'static>>)>,
}

impl LineCache {
    /// The cached rows for `width`, laying them out with `layout` on a miss.
    pub fn get_or(
        &mut self,
        width: u16,
        layout: impl FnOnce() -> Vec<Line<'static>>,
    ) -> &[Line<'static>] {
        let hit = matches!(&self.entry, Some((w, _)) if *w == width);
        if !hit {
            let mut lines = layout();
            if lines.is_empty() {
                lines.push(Line::default());
            }
            self.entry = Some((width, lines));
        }
        self.entry
            .as_ref()
            .map(|(_, l)| l.as_slice())
            .unwrap_or(&[])
    }
}

/// The caches of a pane's cells, by index. Cells are only ever appended (a new session resets
/// the pane), so index `i` always names the same cell. Only the cells that were laid out have a
/// cache: a pane that opens at the end of 100,000 messages makes a few dozen, not 100,000.
#[derive(Clone, Debug, Default)]
pub struct CellCaches {
    cells: std::collections::HashMap<usize, LineCache>,
    /// One past the highest index with a cache.
    end: usize,
}

impl CellCaches {
    /// The cache of cell `index`, made on first use.
    pub fn cell(&mut self, index: usize) -> &mut LineCache {
        self.end = self.end.max(index + 1);
        self.cells.entry(index).or_default()
    }

    /// Drop the caches of cells past `count` (the list was cut short).
    pub fn fit(&mut self, count: usize) {
        if self.end > count {
            self.cells.retain(|&i, _| i < count);
            self.end = count;
        }
    }
}

/// What a cached pane was drawn from: the screen's generation (see [`ScreenCache`]) and the
/// clock's second.
pub type ScreenKey = (u64, i64);

/// The panes that a streamed token never changes (status bar, metrics, steering, transcript,
/// footer), each drawn once and copied into later frames until something else happens.
///
/// Mental model: while an agent streams, a frame differs from the last only in the agent panes;
/// drawing the rest again cost a third of a streaming frame. Every change to what those panes
/// show other than a token (any other session event, a key, the mouse, a paste, a note, a
/// tick, a resize) calls [`ScreenCache::touch`], which moves the generation on; the clock's second
/// is in the key too (the status bar's elapsed time), so nothing cached is ever more than a
/// second old whatever was missed. The agent panes, the plan, tool calls, the input box and the
/// overlays are drawn every frame.
#[derive(Debug, Default)]
pub struct ScreenCache {
    generation: u64,
    pub status: PaneCache,
    pub metrics: PaneCache,
    pub steering: PaneCache,
    pub transcript: PaneCache,
    pub footer: PaneCache,
}

impl ScreenCache {
    /// Something other than a streamed token changed: every cached pane is drawn afresh.
    pub fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The key of a frame drawn at `now`.
    pub fn key(&self, now: chrono::DateTime<chrono::Utc>) -> ScreenKey {
        (self.generation, now.timestamp())
    }

    /// How many times a pane was copied instead of drawn (for tests and benches).
    pub fn reuses(&self) -> u64 {
        [
            &self.status,
            &self.metrics,
            &self.steering,
            &self.transcript,
            &self.footer,
        ]
        .iter()
        .map(|p| p.reuses)
        .sum()
    }
}

/// One pane's cells as last drawn, with the area and the key they were drawn for.
#[derive(Debug, Default)]
pub struct PaneCache {
    drawn: Option<(Rect, ScreenKey)>,
    cells: Vec<Cell>,
    reuses: u64,
}

impl PaneCache {
    /// Draw the pane in `area` with `draw` unless it was last drawn in the same area for the
    /// same `key`: then its cells are copied into the frame as they were.
    pub fn draw(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        key: ScreenKey,
        draw: impl FnOnce(&mut Frame<'_>),
    ) {
        let area = area.intersection(frame.area());
        let buf = frame.buffer_mut();
        if self.drawn == Some((area, key)) && self.cells.len() == area.area() as usize {
            for (row, cells) in rows(buf, area).zip(self.cells.chunks(usize::from(area.width))) {
                buf.content[row].clone_from_slice(cells);
            }
            self.reuses += 1;
            return;
        }
        draw(frame);
        let buf = frame.buffer_mut();
        self.cells.clear();
        for row in rows(buf, area) {
            self.cells.extend_from_slice(&buf.content[row]);
        }
        self.drawn = Some((area, key));
    }
}

/// The ranges of `buf.content` that hold each row of `area` (inside the buffer).
fn rows(buf: &Buffer, area: Rect) -> impl Iterator<Item = std::ops::Range<usize>> + use<> {
    let width = usize::from(area.width);
    let stride = usize::from(buf.area.width);
    let first = if area.is_empty() {
        0
    } else {
        buf.index_of(area.left(), area.top())
    };
    let height = if area.is_empty() { 0 } else { area.height };
    (0..usize::from(height)).map(move |i| {
        let start = first + i * stride;
        start..start + width
    })
}
