//! The sanitizer: redacts personal data and secrets from text before it crosses from one agent
//! to another (a team's `sanitize = true`).
//!
//! Mental model: an ordered list of rules, each a regex plus a decision made on the match (a Luhn
//! check for card numbers, a grouping check for phone numbers, a "not already redacted" check for
//! `key: value` secrets). Rules run most-specific first: bearer tokens and URL credentials, then
//! API-key prefixes (`sk-`, `sk-ant-`, `AKIA`, `ghp_`, …), `password:`/`secret=`/`token:` values,
//! e-mail addresses, long hex/base64 blobs, and last card and phone numbers, which must stand
//! alone: not glued to a letter, a digit or a marker, so that a second pass decides as the first
//! did. Each match is replaced by a marker such as `[redacted email]`. No marker matches any rule,
//! so `redact(redact(x)) == redact(x)`. Redaction errs on the side of hiding: a 40-character git
//! hash counts as a hex token.
//!
//! Errors and logs get a narrower pass, [`redact_secrets`]: the secret rules only (bearer tokens,
//! key prefixes, `token=` values, long blobs) and every URL through [`redact_url`], which hides
//! its user name, password, and the values of its query string and fragment. Addresses and
//! numbers stay: an error may rightly name them. [`redact_url`] is also the one way a configured
//! URL (a `base_url`) is printed.

use std::sync::LazyLock;

use regex::{Captures, Regex};

pub const EMAIL: &str = "[redacted email]";
pub const PHONE: &str = "[redacted phone]";
pub const CARD: &str = "[redacted card]";
pub const KEY: &str = "[redacted key]";
pub const TOKEN: &str = "[redacted token]";
pub const SECRET: &str = "[redacted secret]";
pub const CREDENTIALS: &str = "[redacted credentials]";

/// Replace e-mail addresses, phone and card numbers, API keys, bearer tokens and secret values
/// with `[redacted …]` markers. Everything else, including surrounding UTF-8, is kept as is.
pub fn redact(text: &str) -> String {
    let r = &*RULES;
    let out = r
        .bearer
        .replace_all(text, |c: &Captures| format!("{}{TOKEN}", &c[1]));
    let out = r
        .url_credentials
        .replace_all(&out, |c: &Captures| format!("{}{CREDENTIALS}@", &c[1]));
    let out = r.api_key.replace_all(&out, KEY);
    let out = key_values(&out);
    let out = r.email.replace_all(&out, EMAIL);
    let out = blobs(&out);
    let out = replace_checked(&r.card, &out, CARD, |m| {
        let digits: Vec<u32> = m.chars().filter_map(|c| c.to_digit(10)).collect();
        (13..=19).contains(&digits.len()) && luhn(&digits)
    });
    let mut out = out;
    for phone in &r.phones {
        out = replace_checked(phone, &out, PHONE, |m| {
            let n = m.chars().filter(char::is_ascii_digit).count();
            (7..=15).contains(&n)
        });
    }
    out
}

/// `text` (an error, a log line) with key-like strings and the secret parts of URLs replaced:
/// bearer tokens, API-key prefixes, `password=`/`token:` values, long hex/base64 blobs, and
/// every URL as [`redact_url`] prints it. Idempotent.
pub fn redact_secrets(text: &str) -> String {
    let r = &*RULES;
    let out = r.url.replace_all(text, |c: &Captures| {
        let url = &c[0];
        let kept = &url[..url_end(url)];
        format!("{}{}", redact_url(kept), &url[kept.len()..])
    });
    let out = r
        .bearer
        .replace_all(&out, |c: &Captures| format!("{}{TOKEN}", &c[1]));
    let out = r.api_key.replace_all(&out, KEY);
    blobs(&key_values(&out))
}

/// Where a URL found in prose ends: trailing punctuation, and a closing bracket or parenthesis
/// that has no opening one inside the URL, belong to the sentence.
fn url_end(url: &str) -> usize {
    let mut end = url.len();
    while let Some(c) = url[..end].chars().last() {
        let unmatched = |open: char, close: char| {
            c == close && url[..end].matches(open).count() < url[..end].matches(close).count()
        };
        if matches!(c, '.' | ',' | ';' | ':' | '`' | '\'')
            || unmatched('[', ']')
            || unmatched('(', ')')
        {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// `url` fit to print: user name and password replaced by one marker, and the value of every
/// query (and fragment) parameter by `[redacted]`; scheme, host, port, path and parameter names
/// stay. `http://u:pw@h:8/v1?key=abc&x` prints as `http://[redacted credentials]@h:8/v1?key=[redacted]&x`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = url[..scheme_end].to_string();
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(CREDENTIALS);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let params_start = tail.find(['?', '#']).unwrap_or(tail.len());
    out.push_str(&tail[..params_start]);
    let mut params = &tail[params_start..];
    while let Some(sep) = params.chars().next() {
        out.push(sep);
        params = &params[1..];
        let end = params.find(['&', ';', '#']).unwrap_or(params.len());
        let (param, next) = params.split_at(end);
        match param.split_once('=') {
            Some((name, value)) if !value.is_empty() => {
                out.push_str(name);
                out.push_str("=[redacted]");
            }
            _ if sep == '#' && !param.is_empty() => out.push_str("[redacted]"),
            _ => out.push_str(param),
        }
        params = next;
    }
    out
}

/// `password: x`, `token=x`, `api_key: "x"` with the value replaced (already redacted values kept).
fn key_values(text: &str) -> String {
    RULES
        .key_value
        .replace_all(text, |c: &Captures| {
            let value = &c[2];
            if value.trim_matches(['"', '\'']).starts_with("[redacted") {
                return c[0].to_string();
            }
            match value.chars().next() {
                Some(q @ ('"' | '\'')) => format!("{}{q}{SECRET}{q}", &c[1]),
                _ => format!("{}{SECRET}", &c[1]),
            }
        })
        .into_owned()
}

/// Long hex runs, and long base64 runs that mix upper case, lower case and digits, replaced.
fn blobs(text: &str) -> String {
    let r = &*RULES;
    let out = r.hex.replace_all(text, KEY);
    r.base64
        .replace_all(&out, |c: &Captures| {
            let s = &c[0];
            let mixed = s.chars().any(|c| c.is_ascii_uppercase())
                && s.chars().any(|c| c.is_ascii_lowercase())
                && s.chars().any(|c| c.is_ascii_digit());
            if mixed {
                KEY.to_string()
            } else {
                s.to_string()
            }
        })
        .into_owned()
}

// ---------------------------------------------------------------------------------------------

struct Rules {
    url: Regex,
    bearer: Regex,
    url_credentials: Regex,
    api_key: Regex,
    key_value: Regex,
    email: Regex,
    card: Regex,
    phones: Vec<Regex>,
    hex: Regex,
    base64: Regex,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules {
    url: re(r#"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s"'<>]+"#),
    bearer: re(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"),
    url_credentials: re(r"([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s:@\[\]]+:[^/\s@]+@"),
    api_key: re(concat!(
        r"\b(?:sk-ant-[A-Za-z0-9_\-]{8,}",
        r"|sk-[A-Za-z0-9_\-]{16,}",
        r"|AKIA[0-9A-Z]{16}",
        r"|gh[pousr]_[A-Za-z0-9]{20,}",
        r"|github_pat_[A-Za-z0-9_]{20,}",
        r"|glpat-[A-Za-z0-9_\-]{20,}",
        r"|xox[abprs]-[A-Za-z0-9\-]{10,}",
        r"|AIza[0-9A-Za-z_\-]{30,})"
    )),
    key_value: re(concat!(
        r#"(?i)(\b[a-z0-9_\-]*(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key)"#,
        r#"["']?[ \t]*[:=][ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,;"']+)"#
    )),
    email: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    card: re(r"\d(?:[ \-]?\d){12,18}"),
    phones: vec![
        // International: +44 20 7946 0958, +1 (555) 123-4567, +33612345678.
        re(r"\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){1,5}"),
        // North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567.
        re(r"(?:\(\d{3}\)[ .\-]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}"),
        // National with a trunk 0: 020 7946 0958, 07700 900123.
        re(r"0\d{2,4}[ \-]\d{3,6}(?:[ \-]\d{3,4})?"),
        // Local: 555-1234.
        re(r"\d{3}-\d{4}"),
    ],
    hex: re(r"\b[0-9a-fA-F]{32,}\b"),
    base64: re(r"[A-Za-z0-9+/_\-]{32,}={0,2}"),
});

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    // The patterns are constants; the unit tests compile every one of them.
    Regex::new(pattern).expect("sanitizer regex is valid")
}

/// Replace matches that pass `keep` and stand alone: not glued to a letter, digit or another
/// number (so 1.2.3.4 or a digit run inside a longer number is never taken for a phone).
fn replace_checked(re: &Regex, text: &str, marker: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let before = &text[..m.start()];
        let after = &text[m.end()..];
        if stands_alone(before, after) && keep(m.as_str()) {
            out.push_str(&text[last..m.start()]);
            out.push_str(marker);
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

fn stands_alone(before: &str, after: &str) -> bool {
    let marker_before = before.ends_with(']')
        && before
            .rfind('[')
            .is_some_and(|i| before[i..].starts_with("[redacted "));
    if marker_before || after.starts_with("[redacted ") {
        return false;
    }
    let mut back = before.chars().rev();
    let prev = back.next();
    let prev2 = back.next();
    let glued_before = match prev {
        Some(c) if c.is_alphanumeric() || c == '_' || c == '+' => true,
        Some('.' | '-' | '/' | ',') => prev2.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let mut fwd = after.chars();
    let next = fwd.next();
    let next2 = fwd.next();
    let glued_after = match next {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some('.' | '-' | '/' | ',' | ' ') => next2.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    !glued_before && !glued_after
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn same(text: &str) {
        assert_eq!(redact(text), text, "should be left alone");
    }

    #[test]
    fn every_rule_compiles() {
        let _ = &*RULES;
    }

    #[test]
    fn emails_in_brackets_urls_and_prose() {
        assert_eq!(
            redact("Write to Ann <ann.lee+work@mail.example.co.uk>."),
            format!("Write to Ann <{EMAIL}>.")
        );
        assert_eq!(
            redact("mailto:bob@example.com?subject=hi"),
            format!("mailto:{EMAIL}?subject=hi")
        );
        assert_eq!(
            redact("see https://x.io/contact?to=bob@example.com&a=1"),
            format!("see https://x.io/contact?to={EMAIL}&a=1")
        );
        same("the @ sign and user@localhost are fine");
    }

    #[test]
    fn phones_but_not_years_versions_prices_or_dates() {
        for phone in [
            "+1 (555) 123-4567",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "+44 20 7946 0958",
            "020 7946 0958",
            "07700 900123",
            "+33612345678",
            "555-1234",
        ] {
            assert_eq!(
                redact(&format!("call {phone} now")),
                format!("call {PHONE} now"),
                "{phone}"
            );
        }
        same("In 2019 and 2020 we shipped v1.2.3 and 10.11.12, priced $1,299.99 or €12.50.");
        same("Released 2024-01-15, build 20240115, port 8080, ip 192.168.100.200, 3 of 4 tests.");
        same("Scores: 10 20 30 40, ticket #4521, 1.5x faster, 99.95% uptime.");
    }

    #[test]
    fn cards_pass_luhn_whatever_the_separators() {
        for card in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "378282246310005",
        ] {
            assert_eq!(
                redact(&format!("card: {card}.")),
                format!("card: {CARD}."),
                "{card}"
            );
        }
        same("order 4111 1111 1111 1112 failed Luhn");
        same("id 1234567890123");
    }

    #[test]
    fn api_keys_tokens_and_secret_values() {
        let text = "keys sk-ant-api03-AbCdEf0123456789 and sk-proj-abcdefghijklmnop1234, \
                    AKIAIOSFODNN7EXAMPLE, ghp_0123456789abcdefghijABCDEFGHIJ012345";
        assert_eq!(redact(text), format!("keys {KEY} and {KEY}, {KEY}, {KEY}"));
        assert_eq!(
            redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc"),
            format!("Authorization: Bearer {TOKEN}")
        );
        assert_eq!(
            redact("password: hunter2, secret=s3cr3t; token: abc123"),
            format!("password: {SECRET}, secret={SECRET}; token: {SECRET}")
        );
        assert_eq!(
            redact(r#"{"db_password": "p@ss word", "client_secret":'x'}"#),
            format!(r#"{{"db_password": "{SECRET}", "client_secret":'{SECRET}'}}"#)
        );
        assert_eq!(
            redact("postgres://admin:hunter2@db.internal:5432/app"),
            format!("postgres://{CREDENTIALS}@db.internal:5432/app")
        );
        same("We measured 40 tokens per second; the secret is good tests.");
    }

    #[test]
    fn keys_inside_code_blocks() {
        let text =
            "```sh\nexport OPENAI_API_KEY=sk-abcdefghijklmnop1234\ncurl -H \"x-api-key: abc\"\n```";
        let out = redact(text);
        assert_eq!(
            out,
            format!("```sh\nexport OPENAI_API_KEY={KEY}\ncurl -H \"x-api-key: {SECRET}\"\n```")
        );
    }

    #[test]
    fn long_hex_and_base64_blobs() {
        assert_eq!(
            redact("hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ok"),
            format!("hash {KEY} ok")
        );
        assert_eq!(
            redact("blob dGhpcyBpcyBhIHNlY3JldCB0b2tlbiBmb3IgdGVzdGluZw== end"),
            format!("blob {KEY} end")
        );
        same("/usr/local/lib/x86_64-linux-gnu/libssl.so and internationalization_everywhere_today");
    }

    #[test]
    fn utf8_around_matches_survives() {
        assert_eq!(
            redact("ünïcødé→bob@example.com←日本語 ☎ +49 30 1234567 ✓"),
            format!("ünïcødé→{EMAIL}←日本語 ☎ {PHONE} ✓")
        );
    }

    #[test]
    fn redaction_is_idempotent() {
        let samples = [
            "mail bob@example.com, call +1 (555) 123-4567, card 4111 1111 1111 1111",
            "password: \"hunter2\" token=abc Authorization: Bearer abcdefgh12345678",
            "sk-ant-api03-AbCdEf0123456789 AKIAIOSFODNN7EXAMPLE https://u:p@h.io/x",
            "plain text with 2024 and v1.2.3",
        ];
        for s in samples {
            let once = redact(s);
            assert_eq!(redact(&once), once, "{s}");
        }
    }

    #[test]
    fn urls_lose_credentials_and_query_values() {
        assert_eq!(
            redact_url("http://user:secret@10.0.0.1:8080/v1?key=abc123&mode=x&flag#tok"),
            format!(
                "http://{CREDENTIALS}@10.0.0.1:8080/v1?key=[redacted]&mode=[redacted]&flag#[redacted]"
            )
        );
        assert_eq!(
            redact_url("https://sk-live-token@api.example.com"),
            format!("https://{CREDENTIALS}@api.example.com")
        );
        for plain in [
            "https://api.openai.com/v1",
            "http://127.0.0.1:11434",
            "not a url",
        ] {
            assert_eq!(redact_url(plain), plain);
        }
        let once = redact_url("http://a:b@h/p?k=v");
        assert_eq!(redact_url(&once), once);
    }

    #[test]
    fn secrets_in_errors_but_not_addresses() {
        let text = "request to http://u:hunter2@h:1/v1/models?api-key=zz9 failed (error sending request for url (http://u:hunter2@h:1/x?k=v)); \
                    api_key_cmd said: token sk-abcdefghijklmnop1234 expired, password: pw; mail ops@example.com";
        let out = redact_secrets(text);
        for gone in ["hunter2", "zz9", "k=v", "sk-abcdefghijklmnop1234", "pw;"] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        assert!(
            out.contains(&format!("(http://{CREDENTIALS}@h:1/x?k=[redacted]));")),
            "{out}"
        );
        assert!(out.contains("ops@example.com"), "{out}");
        assert_eq!(redact_secrets(&out), out);
        let shown = "at http://h:1/v1?api-key=[redacted]: refused (see http://[::1]:8/x).";
        assert_eq!(redact_secrets(shown), shown);
        let plain = "backend 'oa' (gpt-4o): no answer from http://127.0.0.1:4000/v1 for 300000 ms";
        assert_eq!(redact_secrets(plain), plain);
    }

    #[test]
    fn luhn_known_values() {
        let d = |s: &str| s.chars().filter_map(|c| c.to_digit(10)).collect::<Vec<_>>();
        assert!(luhn(&d("79927398713")));
        assert!(!luhn(&d("79927398710")));
    }

    proptest::proptest! {
        #[test]
        fn idempotent_on_random_mixtures(parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "bob@example.com", "+1 (555) 123-4567", "4111 1111 1111 1111",
                    "sk-ant-api03-AbCdEf0123456789", "password:", "token=", "Bearer",
                    "abcdefgh12345678", "2024", "v1.2.3", "<", ">", "\"", "```", "日本",
                ]).prop_map(String::from),
                "[ -~]{0,12}",
            ],
            0..10,
        )) {
            let s = parts.concat();
            let once = redact(&s);
            proptest::prop_assert_eq!(redact(&once), once);
        }
    }
}
