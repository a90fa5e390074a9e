//! Overlays drawn above the main screen: help, pickers, confirmations.

pub mod confirm;
pub mod help;
pub mod picker;

use ratatui::layout::Rect;

/// A `width`×`height` rectangle centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
