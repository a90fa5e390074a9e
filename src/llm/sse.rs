//! An incremental Server-Sent Events parser: bytes in, frames out.
//!
//! Network chunks split anything anywhere: a line, a field name, a UTF-8 character, a CRLF pair.
//! The parser keeps the unfinished line as raw bytes and only decodes whole lines, so none of that
//! matters. It follows the SSE rules we rely on: `field: value` or `field:value` (one leading space
//! removed), lines starting with `:` are comments, `data` lines of one event are joined with `\n`,
//! an event is complete at a blank line, and lines end in `\n` or `\r\n`. An event still open at
//! EOF is not emitted by [`SseParser::feed`], as spec-following parsers do; [`SseParser::finish`]
//! hands it out so that the decoder, which knows its format, decides whether a frame that only
//! lacks its blank line is whole (a complete JSON object) or half-received.

/// One complete SSE event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseFrame {
    /// The `event:` name, when one was given.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// The parser state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    /// The `data:` lines so far, already joined with `\n`; `has_data` tells "one empty data
    /// line" from "no data line".
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next network chunk; returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..pos]);
            rest = &rest[pos + 1..];
            // The line buffer is lent out and given back cleared, so it keeps its capacity.
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(frame) = self.on_line(&String::from_utf8_lossy(&line)) {
                out.push(frame);
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(rest);
        out
    }

    /// At EOF: the event still open (its blank line, maybe its last newline, never came), if it
    /// has data. The parser is empty afterwards.
    pub fn finish(&mut self) -> Option<SseFrame> {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.is_empty() {
            // A non-blank line only adds a field; the blank line below completes the event.
            self.on_line(&String::from_utf8_lossy(&line));
        }
        self.on_line("")
    }

    /// Whether bytes of an unfinished event are buffered (useful to describe an early EOF).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.event.is_some()
    }

    fn on_line(&mut self, line: &str) -> Option<SseFrame> {
        if line.is_empty() {
            if !self.has_data {
                self.event = None;
                return None;
            }
            self.has_data = false;
            let data = std::mem::take(&mut self.data);
            return Some(SseFrame {
                event: self.event.take(),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(event: Option<&str>, data: &str) -> SseFrame {
        SseFrame {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    fn parse_split(body: &[u8], cuts: &[usize]) -> Vec<SseFrame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            out.extend(p.feed(&body[start..cut]));
            start = cut;
        }
        out.extend(p.feed(&body[start..]));
        out
    }

    const BODY: &str = ": keep-alive\r\n\r\nevent: message_start\r\ndata: {\"a\":\"é日本\"}\r\n\r\n\
        data:{\"no\":\"space\"}\n\ndata: line one\ndata: line two\n\nid: 7\nretry: 10\nfoo: bar\n\n\
        event: ping\ndata: {}\n\ndata: 🎉 [DONE]\n\n";

    fn expected() -> Vec<SseFrame> {
        vec![
            frame(Some("message_start"), "{\"a\":\"é日本\"}"),
            frame(None, "{\"no\":\"space\"}"),
            frame(None, "line one\nline two"),
            frame(Some("ping"), "{}"),
            frame(None, "🎉 [DONE]"),
        ]
    }

    #[test]
    fn parses_comments_crlf_nospace_multiline_and_unknown_fields() {
        assert_eq!(parse_split(BODY.as_bytes(), &[]), expected());
    }

    #[test]
    fn every_single_split_point_gives_the_same_frames() {
        let body = BODY.as_bytes();
        for cut in 0..=body.len() {
            assert_eq!(parse_split(body, &[cut]), expected(), "cut at {cut}");
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let body = BODY.as_bytes();
        let cuts: Vec<usize> = (1..body.len()).collect();
        assert_eq!(parse_split(body, &cuts), expected());
    }

    #[test]
    fn final_event_without_blank_line_is_not_emitted() {
        let mut p = SseParser::new();
        assert_eq!(p.feed(b"data: a\n\ndata: b\n"), vec![frame(None, "a")]);
        assert!(p.has_partial());
        assert_eq!(p.feed(b""), vec![]);
    }

    #[test]
    fn finish_hands_out_the_event_held_at_eof() {
        for tail in ["data: b\n", "data: b", "data: b\r\n", "event: x\ndata: b"] {
            let mut p = SseParser::new();
            p.feed(format!("data: a\n\n{tail}").as_bytes());
            let event = tail.starts_with("event").then_some("x");
            assert_eq!(p.finish(), Some(frame(event, "b")), "{tail:?}");
            assert!(!p.has_partial());
            assert_eq!(p.finish(), None);
        }
        let mut p = SseParser::new();
        p.feed(b"data: a\n\n: comment\nevent: lonely\n");
        assert_eq!(p.finish(), None);
    }

    proptest! {
        #[test]
        fn random_splits_give_the_same_frames(mut cuts in proptest::collection::vec(0usize..BODY.len(), 0..20)) {
            cuts.sort_unstable();
            prop_assert_eq!(parse_split(BODY.as_bytes(), &cuts), expected());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(bytes.len());
            let _ = parse_split(&bytes, &[cut]);
        }
    }
}
