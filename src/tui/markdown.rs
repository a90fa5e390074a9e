//! Markdown to styled lines, one source line at a time.
//!
//! [`MdStyler`] is fed complete lines in order and keeps the little state Markdown needs across
//! lines: whether we are inside a fenced code block and, if so, the syntect highlighter for its
//! language (syntect highlights incrementally, line by line). The output is width-independent;
//! wrapping happens later and is cached per width. A streaming answer is therefore styled once per
//! completed line, never re-highlighted per token, and a finished answer once per message.
//! Inline markup (`**bold**`, `*em*`, `` `code` ``, links) is parsed with pulldown-cmark.

use std::sync::OnceLock;

use pulldown_cmark::{Event as MdEvent, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme as SynTheme, ThemeSet};
use syntect::parsing::SyntaxSet;

use super::theme::Theme;

/// Incremental Markdown styler; see the module docs.
pub struct MdStyler {
    fence: Option<Fence>,
}

struct Fence {
    marker: String,
    highlighter: Option<HighlightLines<'static>>,
}

impl std::fmt::Debug for MdStyler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdStyler")
            .field("in_fence", &self.fence.is_some())
            .finish()
    }
}

impl Default for MdStyler {
    fn default() -> Self {
        MdStyler::new()
    }
}

impl MdStyler {
    pub fn new() -> MdStyler {
        MdStyler { fence: None }
    }

    /// Style one complete source line (without its newline).
    pub fn line(&mut self, source: &str, theme: &Theme) -> Line<'static> {
        let trimmed = source.trim_start();
        if let Some(fence) = &mut self.fence {
            if trimmed.starts_with(fence.marker.as_str()) && trimmed.trim() == fence.marker {
                self.fence = None;
                return Line::styled("╰─", theme.dim_style());
            }
            return code_line(source, fence.highlighter.as_mut(), theme);
        }
        if let Some(marker) = fence_marker(trimmed) {
            let lang = trimmed[marker.len()..].trim().to_string();
            self.fence = Some(Fence {
                marker,
                highlighter: highlighter_for(&lang, theme),
            });
            let label = if lang.is_empty() { "code".into() } else { lang };
            return Line::from(vec![
                Span::styled("╭─ ", theme.dim_style()),
                Span::styled(label, theme.dim_style().add_modifier(Modifier::ITALIC)),
            ]);
        }
        block_line(source, theme)
    }

    /// Style a whole text.
    pub fn text(source: &str, theme: &Theme) -> Vec<Line<'static>> {
        let mut styler = MdStyler::new();
        source.lines().map(|l| styler.line(l, theme)).collect()
    }
}

fn fence_marker(trimmed: &str) -> Option<String> {
    for marker in ["```", "~~~"] {
        if trimmed.starts_with(marker) {
            let n = trimmed
                .chars()
                .take_while(|c| marker.starts_with(*c))
                .count();
            return Some(marker[..1].repeat(n));
        }
    }
    None
}

fn block_line(source: &str, theme: &Theme) -> Line<'static> {
    let trimmed = source.trim_start();
    let indent = &source[..source.len() - trimmed.len()];
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        let style = Style::new().fg(theme.heading).add_modifier(Modifier::BOLD);
        let mut spans = inline(trimmed[hashes + 1..].trim(), style, theme);
        if hashes == 1 {
            for s in &mut spans {
                s.style = s.style.add_modifier(Modifier::UNDERLINED);
            }
        }
        return Line::from(spans);
    }
    if is_rule(trimmed) {
        return Line::styled("─".repeat(24), theme.dim_style());
    }
    if let Some(rest) = trimmed.strip_prefix('>') {
        let style = Style::new().fg(theme.quote).add_modifier(Modifier::ITALIC);
        let mut spans = vec![Span::styled("▌ ", Style::new().fg(theme.quote))];
        spans.extend(inline(rest.trim_start(), style, theme));
        return Line::from(spans);
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            let mut spans = vec![
                Span::raw(indent.to_string()),
                Span::styled("• ", Style::new().fg(theme.accent)),
            ];
            spans.extend(inline(rest, theme.text_style(), theme));
            return Line::from(spans);
        }
    }
    let mut spans = vec![Span::raw(indent.to_string())];
    spans.extend(inline(trimmed, theme.text_style(), theme));
    Line::from(spans)
}

fn is_rule(trimmed: &str) -> bool {
    let t: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3
        && (t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '*')
            || t.chars().all(|c| c == '_'))
}

/// Inline markup of one line, over `base`.
fn inline(text: &str, base: Style, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut stack = vec![base];
    for event in Parser::new(text) {
        let top = stack.last().copied().unwrap_or(base);
        match event {
            MdEvent::Text(t) => spans.push(Span::styled(t.into_string(), top)),
            MdEvent::Code(t) => {
                spans.push(Span::styled(t.into_string(), Style::new().fg(theme.code)))
            }
            MdEvent::Start(Tag::Strong) => stack.push(top.add_modifier(Modifier::BOLD)),
            MdEvent::Start(Tag::Emphasis) => stack.push(top.add_modifier(Modifier::ITALIC)),
            MdEvent::Start(Tag::Strikethrough) => {
                stack.push(top.add_modifier(Modifier::CROSSED_OUT))
            }
            MdEvent::Start(Tag::Link { .. }) => {
                stack.push(top.fg(theme.accent).add_modifier(Modifier::UNDERLINED))
            }
            MdEvent::End(
                TagEnd::Strong | TagEnd::Emphasis | TagEnd::Strikethrough | TagEnd::Link,
            ) if stack.len() > 1 => {
                stack.pop();
            }
            MdEvent::SoftBreak | MdEvent::HardBreak => spans.push(Span::styled(" ", top)),
            MdEvent::Html(t) | MdEvent::InlineHtml(t) => {
                spans.push(Span::styled(t.into_string(), top))
            }
            _ => {}
        }
    }
    if spans.is_empty() && !text.trim().is_empty() {
        // A line the parser treats as a block construct of its own (e.g. `1.` alone).
        spans.push(Span::styled(text.to_string(), base));
    }
    if let Some(prefix) = ordered_prefix(text) {
        spans.insert(0, Span::styled(prefix, Style::new().fg(theme.accent)));
    }
    spans
}

/// Parsing one line as a document swallows a list number (`1. item` → a list of "item"); put it back.
fn ordered_prefix(text: &str) -> Option<String> {
    let digits = text.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = &text[digits..];
    (rest.starts_with(". ") || rest.starts_with(") ")).then(|| text[..digits + 2].to_string())
}

fn code_line(
    source: &str,
    highlighter: Option<&mut HighlightLines<'static>>,
    theme: &Theme,
) -> Line<'static> {
    let gutter = Span::styled("│ ", theme.dim_style());
    let Some(h) = highlighter else {
        return Line::from(vec![
            gutter,
            Span::styled(source.to_string(), Style::new().fg(theme.code)),
        ]);
    };
    let with_newline = format!("{source}\n");
    match h.highlight_line(&with_newline, syntaxes()) {
        Ok(ranges) => {
            let mut spans = vec![gutter];
            for (style, text) in ranges {
                let text = text.trim_end_matches('\n');
                if text.is_empty() {
                    continue;
                }
                let fg = style.foreground;
                spans.push(Span::styled(
                    text.to_string(),
                    Style::new().fg(Color::Rgb(fg.r, fg.g, fg.b)),
                ));
            }
            Line::from(spans)
        }
        Err(_) => Line::from(vec![
            gutter,
            Span::styled(source.to_string(), Style::new().fg(theme.code)),
        ]),
    }
}

fn highlighter_for(lang: &str, theme: &Theme) -> Option<HighlightLines<'static>> {
    if lang.is_empty() {
        return None;
    }
    let token = lang.split([',', ' ', '{']).next().unwrap_or(lang);
    let syntax = syntaxes().find_syntax_by_token(token)?;
    let syn_theme = syntax_theme(&theme.syntax_theme)?;
    Some(HighlightLines::new(syntax, syn_theme))
}

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn syntax_theme(name: &str) -> Option<&'static SynTheme> {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    let set = SET.get_or_init(ThemeSet::load_defaults);
    set.themes
        .get(name)
        .or_else(|| set.themes.get("base16-ocean.dark"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn headings_bullets_quotes_and_inline() {
        let theme = Theme::dark();
        let lines = MdStyler::text(
            "# Title\n- one **two**\n> quoted\n1. first\nuse `x` now",
            &theme,
        );
        assert_eq!(
            plain(&lines),
            ["Title", "• one two", "▌ quoted", "1. first", "use x now"]
        );
        let bold = lines[1].spans.iter().find(|s| s.content == "two").unwrap();
        assert!(bold.style.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn code_blocks_are_highlighted_line_by_line() {
        let theme = Theme::dark();
        let mut styler = MdStyler::new();
        let open = styler.line("```rust", &theme);
        assert_eq!(open.to_string(), "╭─ rust");
        let code = styler.line("fn main() { let x = 1; }", &theme);
        assert_eq!(code.to_string(), "│ fn main() { let x = 1; }");
        assert!(
            code.spans.len() > 3,
            "highlighted into several spans: {code:?}"
        );
        // `# not a heading` inside the fence stays code.
        assert_eq!(
            styler.line("# not a heading", &theme).to_string(),
            "│ # not a heading"
        );
        assert_eq!(styler.line("```", &theme).to_string(), "╰─");
        assert_eq!(styler.line("# Heading", &theme).to_string(), "Heading");
    }

    #[test]
    fn unknown_language_is_plain_code() {
        let theme = Theme::dark();
        let lines = MdStyler::text("```nosuchlang\nx := 1\n```", &theme);
        assert_eq!(plain(&lines), ["╭─ nosuchlang", "│ x := 1", "╰─"]);
    }
}
