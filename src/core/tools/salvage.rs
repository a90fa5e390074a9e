//! Salvage of tool-call arguments that are not quite JSON (issue 17.3): small local models cut
//! the JSON off at `max_tokens` (often inside the `reason` string, after the decisive field was
//! complete) or write raw control characters inside strings.
//!
//! Mental model: one left-to-right scan rewrites the text, escaping raw control characters inside
//! strings (`\n` → `\\n`, others `\u00XX`), and remembers where the text could be cut and closed.
//! If the rewritten text parses, that is the answer. Otherwise it was cut off: the scan tries, in
//! order, closing an unfinished string *value* and every open container, then cutting back to the
//! end of the last complete value and closing from there. A cut-off number or literal is never
//! closed as it stands (`7` may have been `75`). The answer says which key's string was cut
//! ([`Salvaged::cut_key`]) so a parser can refuse a decisive field that was not complete.

use serde_json::Value;

/// Arguments read back from text that was not valid JSON as it stood.
#[derive(Clone, Debug, PartialEq)]
pub struct Salvaged {
    pub value: Value,
    /// The text was cut off (closed or cut back), not only escaped.
    pub truncated: bool,
    /// The key whose string value was cut and closed, if one was.
    pub cut_key: Option<String>,
}

#[derive(Clone, Debug)]
enum Frame {
    Object { after_colon: bool, key: String },
    Array,
}

/// `raw` read leniently; `None` when not even a cut-back prefix is a JSON object.
pub fn salvage(raw: &str) -> Option<Salvaged> {
    let mut out = String::with_capacity(raw.len() + 8);
    let mut stack: Vec<Frame> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut str_is_value = false;
    let mut str_start = 0usize;
    // The longest prefix that ends after a complete value inside a container, with the stack
    // to close there.
    let mut safe: Option<(usize, Vec<Frame>)> = None;
    for c in raw.chars() {
        if in_str {
            if escaped {
                escaped = false;
                out.push(c);
            } else if c == '\\' {
                escaped = true;
                out.push(c);
            } else if c == '"' {
                in_str = false;
                out.push(c);
                if let Some(Frame::Object {
                    after_colon: false,
                    key,
                }) = stack.last_mut()
                {
                    *key = out[str_start + 1..out.len() - 1].to_string();
                }
                if str_is_value {
                    safe = Some((out.len(), stack.clone()));
                }
            } else if (c as u32) < 0x20 {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    other => out.push_str(&format!("\\u{:04x}", other as u32)),
                }
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                str_start = out.len();
                str_is_value = match stack.last() {
                    Some(Frame::Object { after_colon, .. }) => *after_colon,
                    Some(Frame::Array) => true,
                    None => false,
                };
                out.push(c);
            }
            '{' => {
                stack.push(Frame::Object {
                    after_colon: false,
                    key: String::new(),
                });
                out.push(c);
            }
            '[' => {
                stack.push(Frame::Array);
                out.push(c);
            }
            '}' | ']' => {
                stack.pop();
                out.push(c);
                if !stack.is_empty() {
                    safe = Some((out.len(), stack.clone()));
                }
            }
            ':' => {
                if let Some(Frame::Object { after_colon, .. }) = stack.last_mut() {
                    *after_colon = true;
                }
                out.push(c);
            }
            ',' => {
                if !stack.is_empty() && ends_with_scalar(&out) {
                    safe = Some((trim_end_len(&out), stack.clone()));
                }
                if let Some(Frame::Object { after_colon, .. }) = stack.last_mut() {
                    *after_colon = false;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if let Some(value) = object(&out) {
        return Some(Salvaged {
            value,
            truncated: false,
            cut_key: None,
        });
    }
    // Cut off inside a string value: close it and everything open.
    if in_str && str_is_value {
        let mut text = out.clone();
        if escaped {
            text.pop();
        }
        text.push('"');
        close(&mut text, &stack);
        if let Some(value) = object(&text) {
            let cut_key = match stack.last() {
                Some(Frame::Object { key, .. }) => Some(key.clone()),
                _ => None,
            };
            return Some(Salvaged {
                value,
                truncated: true,
                cut_key,
            });
        }
    }
    // Cut off right after a complete string, container or delimiter: close what is open.
    if !in_str && !ends_in_bare_token(&out) {
        let mut text = out[..trim_end_len(&out)].to_string();
        close(&mut text, &stack);
        if let Some(value) = object(&text) {
            return Some(Salvaged {
                value,
                truncated: true,
                cut_key: None,
            });
        }
    }
    let (len, frames) = safe?;
    let mut text = out[..len].to_string();
    close(&mut text, &frames);
    object(&text).map(|value| Salvaged {
        value,
        truncated: true,
        cut_key: None,
    })
}

fn object(text: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

fn close(text: &mut String, stack: &[Frame]) {
    for frame in stack.iter().rev() {
        text.push(match frame {
            Frame::Object { .. } => '}',
            Frame::Array => ']',
        });
    }
}

fn trim_end_len(s: &str) -> usize {
    s.trim_end().len()
}

/// Whether `s` (trimmed) ends in a number or literal that was complete (it was followed by `,`).
fn ends_with_scalar(s: &str) -> bool {
    s.trim_end()
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
}

/// Whether `s` ends in a bare number or literal that may have been cut (`7` of `75`, `tr` of
/// `true`): never closed as it stands.
fn ends_in_bare_token(s: &str) -> bool {
    s.chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn valid_json_is_read_as_it_is() {
        let s = salvage(r#"{"choice":"agree","reason":"fine"}"#).unwrap();
        assert_eq!(s.value, json!({"choice":"agree","reason":"fine"}));
        assert!(!s.truncated);
    }

    #[test]
    fn raw_control_characters_are_escaped() {
        let s = salvage("{\"choice\":\"agree\",\"reason\":\"line one\nline\ttwo\u{1}\"}").unwrap();
        assert_eq!(s.value["reason"], "line one\nline\ttwo\u{1}");
        assert!(!s.truncated);
    }

    #[test]
    fn cut_inside_the_reason_keeps_the_choice() {
        let s = salvage(r#"{"choice":"agree","reason":"because the plan is so"#).unwrap();
        assert_eq!(s.value["choice"], "agree");
        assert_eq!(s.value["reason"], "because the plan is so");
        assert!(s.truncated);
        assert_eq!(s.cut_key.as_deref(), Some("reason"));
    }

    #[test]
    fn cut_inside_the_decisive_field_is_named() {
        let s = salvage(r#"{"agent":"skep"#).unwrap();
        assert_eq!(s.cut_key.as_deref(), Some("agent"));
    }

    #[test]
    fn cut_numbers_and_keys_are_cut_back() {
        let s =
            salvage(r#"{"scores":[{"agent":"a","score":8,"reason":"ok"},{"agent":"b","score":1"#)
                .unwrap();
        assert_eq!(
            s.value,
            json!({"scores":[{"agent":"a","score":8,"reason":"ok"},{"agent":"b"}]})
        );
        let s = salvage(r#"{"choice":"agree","rea"#).unwrap();
        assert_eq!(s.value, json!({"choice":"agree"}));
        let s = salvage(r#"{"choice":"agree","reason":"#).unwrap();
        assert_eq!(s.value, json!({"choice":"agree"}));
        let s = salvage(r#"{"choice":"agree", "#).unwrap();
        assert_eq!(s.value, json!({"choice":"agree"}));
    }

    #[test]
    fn nothing_to_salvage() {
        assert_eq!(salvage(""), None);
        assert_eq!(salvage("agree"), None);
        assert_eq!(salvage("[1,2]"), None);
    }

    fn args_strategy() -> impl Strategy<Value = (String, String, String)> {
        (
            prop::sample::select(vec!["agree", "disagree", "abstain"]),
            "[a-z ]{0,20}",
            "[ -~\n\t\u{1}\u{7f}é]{0,40}",
        )
            .prop_map(|(c, a, r)| (c.to_string(), a, r.replace('\\', "/")))
    }

    proptest! {
        /// Any prefix of a serialized answer salvages to a value that keeps the decisive field
        /// exactly whenever the prefix holds it whole, and never invents a different one.
        #[test]
        fn every_prefix_keeps_a_complete_choice((choice, agent, reason) in args_strategy(), cut in 0usize..200) {
            let full = json!({"choice": choice, "agent": agent, "reason": reason}).to_string();
            // Un-escape control characters the way a careless model writes them: raw.
            let raw = full.replace("\\n", "\n").replace("\\t", "\t");
            let cut = raw.char_indices().map(|(i, _)| i).chain([raw.len()]).nth(cut).unwrap_or(raw.len());
            let prefix = &raw[..cut];
            let complete = prefix.contains(&format!("\"choice\":\"{choice}\""));
            match salvage(prefix) {
                Some(s) => {
                    let got = s.value.get("choice").and_then(Value::as_str);
                    if complete {
                        prop_assert_eq!(got, Some(choice.as_str()));
                        prop_assert_ne!(s.cut_key.as_deref(), Some("choice"));
                    } else if let Some(got) = got {
                        prop_assert!(choice.starts_with(got));
                        prop_assert_eq!(s.cut_key.as_deref(), Some("choice"));
                    }
                    if cut == raw.len() {
                        prop_assert!(!s.truncated);
                        prop_assert_eq!(s.value.get("reason").and_then(Value::as_str), Some(reason.as_str()));
                    }
                }
                None => prop_assert!(!complete),
            }
        }

        /// Salvage never panics on arbitrary text.
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = salvage(&s);
        }
    }
}
