//! The reason prompt of a tool-call rejection: the call rejected, a one-line reason the model
//! will see (none is fine: the model is told the person rejected it), and while a `window` call
//! waits, how long until it runs anyway (the core has no hold for a tool's window).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::super::keymap::{Action, Keymap};
use super::super::sanitize::strip_controls;
use super::super::theme::Theme;
use super::super::wrap::{truncate, width_of};
use super::centered;

const WIDTH: u16 = 64;

/// A rejection being worded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonPrompt {
    pub call_id: String,
    /// `server.tool`.
    pub subject: String,
    pub agent: String,
    /// The reason typed so far.
    pub text: String,
}

/// Draw the prompt; `left` is the window's countdown of a `window` call (`runs in 3.2 s`).
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    prompt: &ReasonPrompt,
    left: Option<&str>,
    keymap: &Keymap,
    theme: &Theme,
) {
    let inner = usize::from(WIDTH - 4);
    let key = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
    let dim = theme.dim_style();
    // The end of what is typed stays in view.
    let typed = strip_controls(&prompt.text);
    let room = inner.saturating_sub(3);
    let shown: String = if width_of(&typed) > room {
        let chars: Vec<char> = typed.chars().collect();
        let mut start = chars.len();
        let mut w = 1;
        while start > 0 && w + width_of(&chars[start - 1].to_string()) <= room {
            start -= 1;
            w += width_of(&chars[start].to_string());
        }
        std::iter::once('…')
            .chain(chars[start..].iter().copied())
            .collect()
    } else {
        typed
    };
    let mut lines = vec![
        Line::styled(
            truncate(
                &format!("{} asked for {}", prompt.agent, prompt.subject),
                inner,
            ),
            theme.text_style(),
        ),
        Line::styled("Why? The model sees this (optional):", dim),
        Line::from(vec![
            Span::styled("> ", key),
            Span::styled(shown, theme.text_style()),
            Span::styled("▌", Style::new().fg(theme.speaking)),
        ]),
    ];
    if let Some(left) = left {
        lines.push(Line::styled(
            format!("{left} unless rejected (the window keeps counting)"),
            Style::new().fg(theme.warning),
        ));
    }
    lines.push(Line::from(vec![
        Span::styled(keymap.keys_display(Action::ReasonSubmit), key),
        Span::styled(" reject    ", dim),
        Span::styled(keymap.keys_display(Action::ReasonCancel), key),
        Span::styled(" keep it waiting", dim),
    ]));
    let rect = centered(area, WIDTH, lines.len() as u16 + 2);
    let block = theme.popup(theme.error).title(Span::styled(
        " Reject the tool call ",
        Style::new().fg(theme.error).add_modifier(Modifier::BOLD),
    ));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
