//! The allowed range of every number in the schema, in one table.
//!
//! A number can be refused twice over: by serde while reading (`-1` or 2^63 for a `u32`, a string
//! for a count) and by the semantic pass (`0` rounds, a price of `1e308`). Both ask this table, so
//! one mistake gets one message, and the message names the range: "max_rounds must be a whole
//! number from 1 to 10000 (got -1)". The limits are generous: they only keep out values that
//! cannot be meant (a retry count of four billion, a streaming speed that never ends a reply).

use super::spans::{KeyPath, Seg};

/// Where a number may lie.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumRange {
    pub min: f64,
    pub max: f64,
    /// A count or a duration in whole units.
    pub whole: bool,
    /// `min` itself is not allowed (a threshold of 0).
    pub above_min: bool,
    /// 0 is allowed besides the range (`tokens_per_sec = 0` streams instantly).
    pub or_zero: bool,
}

const fn whole(min: u64, max: u64) -> NumRange {
    NumRange {
        min: min as f64,
        max: max as f64,
        whole: true,
        above_min: false,
        or_zero: false,
    }
}

const fn real(min: f64, max: f64) -> NumRange {
    NumRange {
        min,
        max,
        whole: false,
        above_min: false,
        or_zero: false,
    }
}

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The range of the number at `path`, and the name to call it by (`max_rounds`,
/// `price.input`); `None` where the schema has no number.
pub fn for_path(path: &KeyPath) -> Option<(String, NumRange)> {
    let keys: Vec<&str> = path
        .0
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.as_str(),
            Seg::Index(_) => "[]",
        })
        .collect();
    let (label, range) = match keys.as_slice() {
        ["backends", _, key] => (*key, backend(key)?),
        ["agents", _, key] => (*key, agent(key)?),
        ["agents", _, "price", "input" | "output"] => {
            return Some((format!("price.{}", keys[3]), real(0.0, 1_000_000.0)));
        }
        ["teams", _, key] => (*key, team(key)?),
        ["agents", _, "fallback", "[]", "price", "input" | "output"] => {
            return Some((format!("price.{}", keys[5]), real(0.0, 1_000_000.0)));
        }
        ["teams" | "agents", _, "budget", "tokens"] => {
            return Some(("budget.tokens".into(), whole(1, 1_000_000_000_000)));
        }
        ["teams" | "agents", _, "budget", "cost"] => {
            let cost = NumRange {
                above_min: true,
                ..real(0.0, 1_000_000.0)
            };
            return Some(("budget.cost".into(), cost));
        }
        ["teams", _, "consensus", "threshold"] => {
            let share = NumRange {
                above_min: true,
                ..real(0.0, 1.0)
            };
            return Some(("consensus.threshold".into(), share));
        }
        _ => return None,
    };
    Some((label.to_string(), range))
}

fn backend(key: &str) -> Option<NumRange> {
    Some(match key {
        "connect_timeout_ms" | "first_token_timeout_ms" | "idle_timeout_ms" => whole(1, HOUR_MS),
        "max_retries" => whole(0, 100),
        "num_ctx" => whole(1, 10_000_000),
        "max_concurrent" => whole(1, 1_000),
        "tokens_per_sec" => NumRange {
            or_zero: true,
            ..real(0.1, 100_000.0)
        },
        _ => return None,
    })
}

fn agent(key: &str) -> Option<NumRange> {
    Some(match key {
        "max_tokens" => whole(1, 10_000_000),
        "context_window" => whole(1, 100_000_000),
        "temperature" => real(0.0, 2.0),
        "timeout_ms" => whole(1, DAY_MS),
        _ => return None,
    })
}

fn team(key: &str) -> Option<NumRange> {
    Some(match key {
        "last_n" => whole(1, 100_000),
        "timeout_ms" => whole(1, DAY_MS),
        "approval_window_ms" => whole(1, HOUR_MS),
        "max_depth" => whole(1, 100),
        "max_rounds" => whole(1, 10_000),
        "max_messages" => whole(1, 100_000),
        "time_limit_s" => whole(1, 7 * 24 * 3600),
        // plan (issue 11)
        "max_parallel" => whole(1, 64),
        "max_replans" => whole(0, 20),
        _ => return None,
    })
}

impl NumRange {
    /// What is allowed: "a whole number from 1 to 10000", "0 or a number from 0.1 to 100000",
    /// "a number more than 0 and at most 1".
    pub fn describe(&self) -> String {
        let kind = if self.whole {
            "a whole number"
        } else {
            "a number"
        };
        let body = if self.above_min {
            format!(
                "{kind} more than {} and at most {}",
                show(self.min),
                show(self.max)
            )
        } else {
            format!("{kind} from {} to {}", show(self.min), show(self.max))
        };
        if self.or_zero {
            format!("0 or {body}")
        } else {
            body
        }
    }

    pub fn contains(&self, v: f64) -> bool {
        if self.or_zero && v == 0.0 {
            return true;
        }
        let low = if self.above_min {
            v > self.min
        } else {
            v >= self.min
        };
        v.is_finite() && low && v <= self.max && (!self.whole || v.fract() == 0.0)
    }
}

/// "max_rounds must be a whole number from 1 to 10000 (got 0)".
pub fn message(label: &str, range: &NumRange, got: &str) -> String {
    format!("{label} must be {} (got {got})", range.describe())
}

/// The message for `value` at `path` when it is out of its range.
pub fn check(path: &KeyPath, value: f64) -> Option<String> {
    let (label, range) = for_path(path)?;
    (!range.contains(value)).then(|| message(&label, &range, &show(value)))
}

/// A number as a person writes it: `10000`, `0.1`, `2.1` (not the f32's `2.0999999`),
/// `1e-300`.
fn show(v: f64) -> String {
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e15 {
        format!("{}", v as i64)
    } else if !(1e-4..1e15).contains(&a) {
        format!("{v:e}")
    } else if f64::from(v as f32) == v {
        format!("{}", v as f32)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_names_its_range() {
        let at = |keys: &[&str]| check(&KeyPath::of(keys), 4e9);
        assert_eq!(
            at(&["backends", "b", "max_retries"]).as_deref(),
            Some("max_retries must be a whole number from 0 to 100 (got 4000000000)")
        );
        assert!(at(&["agents", "a", "price", "input"]).is_some());
        assert!(at(&["teams", "t", "max_rounds"]).is_some());
        assert_eq!(at(&["teams", "t", "description"]), None);
    }

    #[test]
    fn zero_streams_instantly_but_a_crawl_is_refused() {
        let tps = KeyPath::of(&["backends", "b", "tokens_per_sec"]);
        assert_eq!(check(&tps, 0.0), None);
        assert_eq!(check(&tps, 40.0), None);
        assert_eq!(
            check(&tps, 1e-300).as_deref(),
            Some("tokens_per_sec must be 0 or a number from 0.1 to 100000 (got 1e-300)")
        );
        let price = KeyPath::of(&["agents", "a", "price", "output"]);
        assert_eq!(
            check(&price, 1e308).as_deref(),
            Some("price.output must be a number from 0 to 1000000 (got 1e308)")
        );
        let temperature = KeyPath::of(&["agents", "a", "temperature"]);
        assert_eq!(
            check(&temperature, f64::from(2.1f32)).as_deref(),
            Some("temperature must be a number from 0 to 2 (got 2.1)")
        );
        let share = KeyPath::of(&["teams", "t", "consensus", "threshold"]);
        assert!(check(&share, 0.0).is_some());
        assert_eq!(check(&share, 1.0), None);
        assert!(check(&share, f64::NAN).is_some());
    }
}
