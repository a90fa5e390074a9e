//! Scrolling over a list of cells that lay themselves out per width, touching only what is shown.
//!
//! A position is either `Follow` (the bottom of the last cell is at the bottom of the view; new
//! output scrolls in) or `At { cell, row }`, the first visible row, anchored to a cell so that
//! output arriving below does not move the view. Building a frame walks from the anchor (or up
//! from the end when following) and lays out only the cells that reach the screen, so its cost
//! does not depend on how long the transcript is. Scrolling down to the end resumes following.

use ratatui::text::Line;

/// A list of cells, each laid out (and cached) for a width.
pub trait Cells {
    fn count(&self) -> usize;
    /// The rows of cell `index` at `width`; at least one.
    fn rows(&mut self, index: usize, width: u16) -> &[Line<'static>];
}

/// A scroll request.
#[derive(Clone, Copy, Debug)]
pub enum ScrollBy {
    Up(usize),
    Down(usize),
    /// A page up (`true`) or down, one row short of the view's height.
    Page(bool),
}

/// Where a view is scrolled to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scroll {
    #[default]
    Follow,
    At {
        cell: usize,
        row: usize,
    },
}

/// A pane's scroll position and the size it was last drawn at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrollState {
    pub pos: Scroll,
    pub width: u16,
    pub height: u16,
}

impl ScrollState {
    pub fn is_following(&self) -> bool {
        self.pos == Scroll::Follow
    }
}

/// The rows to draw in a `width`×`height` view; records the size for later scrolling.
pub fn visible(
    cells: &mut dyn Cells,
    state: &mut ScrollState,
    width: u16,
    height: u16,
) -> Vec<Line<'static>> {
    state.width = width;
    state.height = height;
    let h = usize::from(height);
    if h == 0 || cells.count() == 0 {
        return Vec::new();
    }
    if let Scroll::At { cell, row } = state.pos {
        let mut out = Vec::with_capacity(h);
        let mut c = cell.min(cells.count() - 1);
        let mut skip = row;
        while c < cells.count() && out.len() < h {
            let rows = cells.rows(c, width);
            out.extend(rows.iter().skip(skip).take(h - out.len()).cloned());
            skip = 0;
            c += 1;
        }
        if out.len() == h {
            return out;
        }
        // Not enough below the anchor to fill the view: we are at the end, follow again.
        state.pos = Scroll::Follow;
    }
    bottom(cells, width, h)
}

/// Move the view as `by` asks.
pub fn scroll_by(cells: &mut dyn Cells, state: &mut ScrollState, by: ScrollBy) {
    let page = usize::from(state.height.saturating_sub(1).max(1));
    match by {
        ScrollBy::Up(n) => scroll_up(cells, state, n),
        ScrollBy::Down(n) => scroll_down(cells, state, n),
        ScrollBy::Page(true) => scroll_up(cells, state, page),
        ScrollBy::Page(false) => scroll_down(cells, state, page),
    }
}

/// Move the view up by `n` rows.
pub fn scroll_up(cells: &mut dyn Cells, state: &mut ScrollState, n: usize) {
    let Some((mut cell, mut row)) = top(cells, state) else {
        return;
    };
    let mut remaining = n;
    loop {
        if remaining <= row {
            row -= remaining;
            break;
        }
        remaining -= row;
        if cell == 0 {
            row = 0;
            break;
        }
        cell -= 1;
        remaining -= 1;
        row = cells.rows(cell, state.width).len().saturating_sub(1);
    }
    state.pos = Scroll::At { cell, row };
}

/// Move the view down by `n` rows; reaching the end resumes following.
pub fn scroll_down(cells: &mut dyn Cells, state: &mut ScrollState, n: usize) {
    let Scroll::At { cell, row } = state.pos else {
        return;
    };
    let (mut cell, mut row) = (cell, row + n);
    while cell < cells.count() {
        let len = cells.rows(cell, state.width).len();
        if row < len {
            break;
        }
        row -= len;
        cell += 1;
    }
    if cell >= cells.count() {
        state.pos = Scroll::Follow;
        return;
    }
    state.pos = Scroll::At { cell, row };
    // Re-check against the end with the current height.
    let _ = visible(cells, state, state.width, state.height);
}

/// Jump to the first row.
pub fn scroll_top(state: &mut ScrollState) {
    state.pos = Scroll::At { cell: 0, row: 0 };
}

/// The last `h` rows.
fn bottom(cells: &mut dyn Cells, width: u16, h: usize) -> Vec<Line<'static>> {
    let mut chunks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut total = 0;
    let mut c = cells.count();
    while c > 0 && total < h {
        c -= 1;
        let rows = cells.rows(c, width);
        let need = h - total;
        let take_from = rows.len().saturating_sub(need);
        let chunk: Vec<Line<'static>> = rows[take_from..].to_vec();
        total += chunk.len();
        chunks.push(chunk);
    }
    chunks.into_iter().rev().flatten().collect()
}

/// The first visible row as (cell, row).
fn top(cells: &mut dyn Cells, state: &ScrollState) -> Option<(usize, usize)> {
    if let Scroll::At { cell, row } = state.pos {
        return Some((cell, row));
    }
    let count = cells.count();
    if count == 0 {
        return None;
    }
    let mut need = usize::from(state.height.max(1));
    let mut c = count;
    while c > 0 {
        c -= 1;
        let len = cells.rows(c, state.width).len();
        if len >= need {
            return Some((c, len - need));
        }
        need -= len;
    }
    Some((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cell `i` has `i % 3 + 1` rows reading "i.r"; counts layouts to prove laziness.
    struct Fake {
        rows: Vec<Vec<Line<'static>>>,
        laid_out: usize,
    }

    impl Fake {
        fn new(n: usize) -> Fake {
            let rows = (0..n)
                .map(|i| {
                    (0..i % 3 + 1)
                        .map(|r| Line::from(format!("{i}.{r}")))
                        .collect()
                })
                .collect();
            Fake { rows, laid_out: 0 }
        }
    }

    impl Cells for Fake {
        fn count(&self) -> usize {
            self.rows.len()
        }
        fn rows(&mut self, index: usize, _: u16) -> &[Line<'static>] {
            self.laid_out += 1;
            &self.rows[index]
        }
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn following_shows_the_end_and_lays_out_only_what_is_visible() {
        let mut cells = Fake::new(100_000);
        let mut st = ScrollState::default();
        let v = visible(&mut cells, &mut st, 10, 4);
        // cells 99998 (2 rows: i%3=2 → 3 rows), 99999 (i%3=0 → 1 row)
        assert_eq!(text(&v), ["99998.0", "99998.1", "99998.2", "99999.0"]);
        assert!(cells.laid_out <= 4, "laid out {}", cells.laid_out);
    }

    #[test]
    fn scrolling_up_anchors_and_down_to_the_end_follows_again() {
        let mut cells = Fake::new(10);
        let mut st = ScrollState::default();
        visible(&mut cells, &mut st, 10, 3);
        scroll_up(&mut cells, &mut st, 2);
        let v = visible(&mut cells, &mut st, 10, 3);
        assert!(!st.is_following());
        assert_eq!(text(&v), ["7.1", "8.0", "8.1"]);
        // More output arrives below: the view does not move.
        cells.rows.push(vec![Line::from("10.0")]);
        assert_eq!(
            text(&visible(&mut cells, &mut st, 10, 3)),
            ["7.1", "8.0", "8.1"]
        );
        scroll_down(&mut cells, &mut st, 5);
        assert!(st.is_following());
        assert_eq!(
            text(&visible(&mut cells, &mut st, 10, 3)),
            ["8.2", "9.0", "10.0"]
        );
    }

    #[test]
    fn scroll_up_stops_at_the_top() {
        let mut cells = Fake::new(3);
        let mut st = ScrollState::default();
        visible(&mut cells, &mut st, 10, 2);
        scroll_up(&mut cells, &mut st, 100);
        assert_eq!(st.pos, Scroll::At { cell: 0, row: 0 });
        assert_eq!(text(&visible(&mut cells, &mut st, 10, 2)), ["0.0", "1.0"]);
    }
}
