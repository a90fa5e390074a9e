//! Per-width caches of laid-out lines.
//!
//! Laying out a cell (Markdown styling, then wrapping) happens once per width; a resize lays out
//! again only the cells that become visible. [`LineCache`] holds one cell's rows for the last width
//! it was asked for; [`CellCaches`] one per cell of a pane, by position. The panes own them, next
//! to their scroll position: the session view they draw from holds no render state.

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
/// the pane), so index `i` always names the same cell.
#[derive(Clone, Debug, Default)]
pub struct CellCaches {
    cells: Vec<LineCache>,
}

impl CellCaches {
    /// The cache of cell `index`, made on first use.
    pub fn cell(&mut self, index: usize) -> &mut LineCache {
        if self.cells.len() <= index {
            self.cells.resize_with(index + 1, LineCache::default);
        }
        &mut self.cells[index]
    }

    /// Drop the caches of cells past `count` (the list was cut short).
    pub fn fit(&mut self, count: usize) {
        self.cells.truncate(count);
    }
}
