//! What a tool's result becomes for the model and the journal: its content blocks flattened to
//! text (text as is; images, audio and resources as a one-line note), truncated past a limit with
//! a note saying how much was cut. Pure.

use serde_json::Value;

/// Results longer than this (in bytes) are cut for the model and the journal.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;

/// The text of a `tools/call` result (`{"content":[…],"structuredContent":…}` as JSON).
pub fn flatten(result: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(blocks) = result.get("content").and_then(Value::as_array) {
        for block in blocks {
            parts.push(block_text(block));
        }
    }
    if parts.is_empty()
        && let Some(structured) = result.get("structuredContent")
    {
        parts.push(structured.to_string());
    }
    parts.join("\n")
}

fn block_text(block: &Value) -> String {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let mime = block.get("mimeType").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" => block
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        "image" | "audio" => {
            let size = block
                .get("data")
                .and_then(Value::as_str)
                .map_or(0, str::len);
            format!("[{kind} {mime}, {size} bytes of base64 not shown]")
        }
        "resource" => match block.pointer("/resource/text").and_then(Value::as_str) {
            Some(text) => text.to_string(),
            None => format!(
                "[resource {}]",
                block
                    .pointer("/resource/uri")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ),
        },
        "resource_link" => format!(
            "[link {}]",
            block.get("uri").and_then(Value::as_str).unwrap_or("?")
        ),
        _ => block.to_string(),
    }
}

/// `text` cut to `max` bytes (on a character boundary) with a note, or as it is.
pub fn truncate(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[result truncated: showing {cut} of {} bytes]",
        &text[..cut],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_every_kind_of_block() {
        let r = json!({"content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "mimeType": "image/png", "data": "AAAA"},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "body"}},
            {"type": "resource_link", "uri": "file:///b"},
            {"type": "mystery", "x": 1}
        ]});
        assert_eq!(
            flatten(&r),
            "hello\n[image image/png, 4 bytes of base64 not shown]\nbody\n[link file:///b]\n{\"type\":\"mystery\",\"x\":1}"
        );
        assert_eq!(
            flatten(&json!({"structuredContent": {"a": 1}})),
            "{\"a\":1}"
        );
        assert_eq!(flatten(&json!({})), "");
    }

    #[test]
    fn truncates_on_a_char_boundary_with_a_note() {
        assert_eq!(truncate("short".into(), 10), "short");
        let t = truncate("ééééé".into(), 3);
        assert!(
            t.starts_with("é\n[result truncated: showing 2 of 10 bytes]"),
            "{t}"
        );
    }
}
