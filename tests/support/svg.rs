//! A ratatui buffer as an SVG picture: one rectangle per run of cells sharing a background, one
//! `<text>` per run sharing foreground and weight, each stretched to exactly its cells' width so
//! the grid stays aligned whatever monospace font the viewer has. Colours follow the xterm
//! palette; the terminal's default colours are a dark background and a light foreground.
#![allow(dead_code)]

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Cell size in pixels: DejaVu Sans Mono at this size advances 9.0 and is 17.4 tall, so box
/// drawing joins up even where a viewer ignores `textLength`.
const CELL_W: f64 = 9.0;
const CELL_H: f64 = 17.4;
const FONT_SIZE: f64 = 14.95;
const PAD: f64 = 12.0;
const DEFAULT_BG: &str = "#1b1d23";
const DEFAULT_FG: &str = "#d4d4d4";

/// Render `buf` as a standalone SVG document.
pub fn render(buf: &Buffer) -> String {
    let area = buf.area;
    let (w, h) = (
        f64::from(area.width) * CELL_W + 2.0 * PAD,
        f64::from(area.height) * CELL_H + 2.0 * PAD,
    );
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" rx="8" fill="{DEFAULT_BG}"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<g font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="{FONT_SIZE}" xml:space="preserve">"#
    );
    for y in area.top()..area.bottom() {
        let top = PAD + f64::from(y - area.top()) * CELL_H;
        let cells: Vec<_> = (area.left()..area.right())
            .filter_map(|x| buf.cell((x, y)))
            .collect();
        // Backgrounds.
        let mut x = 0;
        while x < cells.len() {
            let bg = bg_of(cells[x].bg, cells[x].modifier);
            let start = x;
            while x < cells.len() && bg_of(cells[x].bg, cells[x].modifier) == bg {
                x += 1;
            }
            if let Some(bg) = bg {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    PAD + start as f64 * CELL_W,
                    (x - start) as f64 * CELL_W
                );
            }
        }
        // Text.
        let mut x = 0;
        while x < cells.len() {
            let style = text_style(cells[x].fg, cells[x].bg, cells[x].modifier);
            let start = x;
            let mut text = String::new();
            while x < cells.len()
                && text_style(cells[x].fg, cells[x].bg, cells[x].modifier) == style
            {
                text.push_str(cells[x].symbol());
                x += 1;
            }
            if text.trim().is_empty() {
                continue;
            }
            let (fill, bold) = &style;
            let weight = if *bold { r#" font-weight="bold""# } else { "" };
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{fill}"{weight} textLength="{:.1}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                PAD + start as f64 * CELL_W,
                top + FONT_SIZE * 0.928,
                (x - start) as f64 * CELL_W,
                escape(&text)
            );
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

fn bg_of(bg: Color, m: Modifier) -> Option<String> {
    if m.contains(Modifier::REVERSED) {
        return Some(hex(bg).unwrap_or_else(|| DEFAULT_FG.to_string()));
    }
    hex(bg)
}

fn text_style(fg: Color, bg: Color, m: Modifier) -> (String, bool) {
    let fill = if m.contains(Modifier::REVERSED) {
        hex(bg).unwrap_or_else(|| DEFAULT_BG.to_string())
    } else {
        hex(fg).unwrap_or_else(|| DEFAULT_FG.to_string())
    };
    let fill = if m.contains(Modifier::DIM) {
        format!("{fill}b0")
    } else {
        fill
    };
    (fill, m.contains(Modifier::BOLD))
}

/// `#rrggbb` for a colour; `None` for the terminal's default.
fn hex(c: Color) -> Option<String> {
    let (r, g, b) = match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed(i),
        Color::Black => indexed(0),
        Color::Red => indexed(1),
        Color::Green => indexed(2),
        Color::Yellow => indexed(3),
        Color::Blue => indexed(4),
        Color::Magenta => indexed(5),
        Color::Cyan => indexed(6),
        Color::Gray => indexed(7),
        Color::DarkGray => indexed(8),
        Color::LightRed => indexed(9),
        Color::LightGreen => indexed(10),
        Color::LightYellow => indexed(11),
        Color::LightBlue => indexed(12),
        Color::LightMagenta => indexed(13),
        Color::LightCyan => indexed(14),
        Color::White => indexed(15),
    };
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// The xterm 256-colour palette.
fn indexed(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0x1b, 0x1d, 0x23),
        (0xe0, 0x6c, 0x75),
        (0x98, 0xc3, 0x79),
        (0xe5, 0xc0, 0x7b),
        (0x61, 0xaf, 0xef),
        (0xc6, 0x78, 0xdd),
        (0x56, 0xb6, 0xc2),
        (0xab, 0xb2, 0xbf),
        (0x5c, 0x63, 0x70),
        (0xff, 0x7b, 0x86),
        (0xb5, 0xe8, 0x90),
        (0xff, 0xd6, 0x8a),
        (0x82, 0xc4, 0xff),
        (0xde, 0x9b, 0xf0),
        (0x7f, 0xd6, 0xe0),
        (0xff, 0xff, 0xff),
    ];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
