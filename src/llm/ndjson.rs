//! An incremental newline-delimited JSON splitter: bytes in, whole lines out.
//!
//! Like the SSE parser it keeps the unfinished line as raw bytes, so a chunk boundary inside a
//! line or inside a UTF-8 character changes nothing. Blank lines are skipped and a trailing `\r`
//! is removed. What remains at EOF without its newline is handed out by [`NdjsonParser::finish`];
//! the decoder decides whether it is a complete object.

/// The splitter state between chunks.
#[derive(Debug, Default)]
pub struct NdjsonParser {
    line: Vec<u8>,
}

impl NdjsonParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next network chunk; returns the non-blank lines it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..pos]);
            rest = &rest[pos + 1..];
            let line = std::mem::take(&mut self.line);
            if let Some(text) = to_line(&line) {
                out.push(text);
            }
        }
        self.line.extend_from_slice(rest);
        out
    }

    /// At EOF: the last line if it lacked its newline.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.line);
        to_line(&line)
    }
}

fn to_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &str = "{\"message\":{\"content\":\"héllo 日本\"}}\r\n\n{\"message\":{\"content\":\"🎉\"}}\n{\"done\":true}\n";

    fn parse_split(body: &[u8], cuts: &[usize]) -> Vec<String> {
        let mut p = NdjsonParser::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            out.extend(p.feed(&body[start..cut]));
            start = cut;
        }
        out.extend(p.feed(&body[start..]));
        out.extend(p.finish());
        out
    }

    fn expected() -> Vec<String> {
        vec![
            "{\"message\":{\"content\":\"héllo 日本\"}}".to_string(),
            "{\"message\":{\"content\":\"🎉\"}}".to_string(),
            "{\"done\":true}".to_string(),
        ]
    }

    #[test]
    fn every_split_point_and_one_byte_at_a_time() {
        let body = BODY.as_bytes();
        for cut in 0..=body.len() {
            assert_eq!(parse_split(body, &[cut]), expected(), "cut at {cut}");
        }
        let cuts: Vec<usize> = (1..body.len()).collect();
        assert_eq!(parse_split(body, &cuts), expected());
    }

    #[test]
    fn last_line_without_newline_comes_from_finish() {
        let mut p = NdjsonParser::new();
        assert_eq!(
            p.feed(b"{\"a\":1}\n{\"done\""),
            vec!["{\"a\":1}".to_string()]
        );
        assert_eq!(p.finish(), Some("{\"done\"".to_string()));
        assert_eq!(p.finish(), None);
    }

    proptest! {
        #[test]
        fn random_splits_give_the_same_lines(mut cuts in proptest::collection::vec(0usize..BODY.len(), 0..20)) {
            cuts.sort_unstable();
            prop_assert_eq!(parse_split(BODY.as_bytes(), &cuts), expected());
        }
    }
}
