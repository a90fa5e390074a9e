//! Request bodies built incrementally: the serialized messages of recent requests, reused.
//!
//! Mental model: a conversation only grows, so a turn's request is the previous request of the
//! same agent plus a few new messages (its last one or two, the turn's prompt or a "your turn
//! again", may differ). [`MessageCache`] keeps, per provider, the messages of the last few
//! requests (one slot per conversation as an agent sees it) with each message's JSON as the wire
//! protocol writes it. A new request finds the slot sharing its longest prefix of equal messages,
//! copies those fragments as bytes and serializes only the rest. Equality is of the messages
//! themselves, so whatever changes a message (context mode, the team's sanitizer, a summary, an
//! edit) changes what is reused: nothing is keyed by position or by who asked. Comparing and
//! copying run at memory speed; the JSON building and escaping that they replace do not.
//! [`SLOTS`] bounds the memory: the least recently used slot goes.

use std::collections::VecDeque;

use crate::llm::ChatMessage;

/// Conversations remembered per provider (agents of a team sharing one backend, and the
/// sessions of a console sharing its providers).
pub const SLOTS: usize = 8;

/// A slot is taken over (extended in place) when at most this many of its last messages differ
/// from the new request (and most of it is shared); otherwise the shared prefix is copied into a
/// new slot.
const REPLACEABLE_TAIL: usize = 2;

/// See the module docs.
#[derive(Debug, Default)]
pub struct MessageCache {
    slots: VecDeque<Slot>,
}

#[derive(Clone, Debug, Default)]
struct Slot {
    messages: Vec<ChatMessage>,
    /// The fragments of `messages`, each followed by a comma.
    json: Vec<u8>,
    /// `ends[i]`: where message `i`'s fragment (and its comma) ends in `json`.
    ends: Vec<usize>,
}

impl Slot {
    fn truncate(&mut self, len: usize) {
        if len < self.messages.len() {
            self.messages.truncate(len);
            self.ends.truncate(len);
            self.json.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    fn prefix(&self, len: usize) -> Slot {
        let mut slot = Slot {
            messages: self.messages[..len].to_vec(),
            json: Vec::new(),
            ends: self.ends[..len].to_vec(),
        };
        slot.json = self.json[..slot.ends.last().copied().unwrap_or(0)].to_vec();
        slot
    }
}

impl MessageCache {
    /// Append to `out` the JSON of `messages` separated by commas (no brackets), each written by
    /// `write` unless a recent request began with the same messages.
    pub fn write_messages(
        &mut self,
        messages: &[ChatMessage],
        out: &mut Vec<u8>,
        write: impl Fn(&ChatMessage, &mut Vec<u8>),
    ) {
        let best = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| (i, common_prefix(&slot.messages, messages)))
            .max_by_key(|&(i, common)| (common, std::cmp::Reverse(i)));
        let mut slot = match best {
            Some((i, common)) if common > 0 => {
                let len = self.slots[i].messages.len();
                // The same conversation with a changed tail (not another point of view that
                // merely shares its first messages): extend it in place.
                if len - common <= REPLACEABLE_TAIL && common * 2 > len {
                    let mut slot = self.slots.remove(i).unwrap_or_default();
                    slot.truncate(common);
                    slot
                } else {
                    self.slots[i].prefix(common)
                }
            }
            _ => Slot::default(),
        };
        for m in &messages[slot.messages.len()..] {
            write(m, &mut slot.json);
            slot.json.push(b',');
            slot.ends.push(slot.json.len());
            slot.messages.push(m.clone());
        }
        let end = slot.json.len().saturating_sub(1);
        out.extend_from_slice(&slot.json[..end]);
        self.slots.push_front(slot);
        self.slots.truncate(SLOTS);
    }

    /// How many conversations are remembered.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

fn common_prefix(a: &[ChatMessage], b: &[ChatMessage]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn user(text: &str) -> ChatMessage {
        ChatMessage::User { text: text.into() }
    }

    fn said(text: &str) -> ChatMessage {
        ChatMessage::Assistant {
            text: text.into(),
            tool_calls: Vec::new(),
        }
    }

    /// The joined JSON and how many messages were serialized for it.
    fn run(cache: &mut MessageCache, messages: &[ChatMessage]) -> (String, usize) {
        let written = Cell::new(0);
        let mut out = Vec::new();
        cache.write_messages(messages, &mut out, |m, out| {
            written.set(written.get() + 1);
            serde_json::to_writer(out, m).unwrap();
        });
        (String::from_utf8(out).unwrap(), written.get())
    }

    fn plain(messages: &[ChatMessage]) -> String {
        let parts: Vec<String> = messages
            .iter()
            .map(|m| serde_json::to_string(m).unwrap())
            .collect();
        parts.join(",")
    }

    #[test]
    fn a_growing_conversation_serializes_only_its_new_messages() {
        let mut cache = MessageCache::default();
        let mut conv = vec![user("task")];
        assert_eq!(run(&mut cache, &conv), (plain(&conv), 1));
        conv.push(said("one"));
        conv.push(user("[b]: two"));
        assert_eq!(run(&mut cache, &conv), (plain(&conv), 2));
        // A transient last message (the turn's prompt) is replaced, not kept.
        let mut asked = conv.clone();
        asked.push(user("your turn again"));
        assert_eq!(run(&mut cache, &asked), (plain(&asked), 1));
        conv.push(user("[c]: three"));
        assert_eq!(run(&mut cache, &conv), (plain(&conv), 1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn each_point_of_view_keeps_its_own_slot_and_changed_text_is_not_reused() {
        let mut cache = MessageCache::default();
        let a = vec![user("task"), said("from a"), user("[b]: from b")];
        let b = vec![user("task"), user("[a]: from a"), said("from b")];
        assert_eq!(run(&mut cache, &a).1, 3);
        assert_eq!(
            run(&mut cache, &b).1,
            2,
            "the shared first message is reused"
        );
        assert_eq!(
            run(&mut cache, &a),
            (plain(&a), 0),
            "a's slot survived b's request"
        );
        assert_eq!(run(&mut cache, &b), (plain(&b), 0));
        // The same conversation under the sanitizer: other text, serialized afresh.
        let redacted = vec![user("task"), said("from a"), user("[b]: [redacted]")];
        assert_eq!(run(&mut cache, &redacted), (plain(&redacted), 1));
        assert_eq!(run(&mut cache, &[]), (String::new(), 0));
    }

    #[test]
    fn memory_is_bounded() {
        let mut cache = MessageCache::default();
        for i in 0..3 * SLOTS {
            let conv = vec![user(&format!("task {i}")), said("x")];
            assert_eq!(run(&mut cache, &conv), (plain(&conv), 2));
        }
        assert_eq!(cache.len(), SLOTS);
    }
}
