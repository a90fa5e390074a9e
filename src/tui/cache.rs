//! Per-width caches of laid-out lines.
//!
//! Laying out a cell (Markdown styling, then wrapping) happens once per width; a resize lays out
//! again only the cells that become visible. [`LineCache`] holds one cell's rows for the last width
//! it was asked for. Caches never take part in equality: they are invisible to the reducer.

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

    /// Forget the rows (the content changed).
    pub fn clear(&mut self) {
        self.entry = None;
    }
}

impl PartialEq for LineCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
