//! Compose durations (`interval: 10s`, `stop_grace_period: 1m30s`): parsed once, at load, with
//! Go's grammar and Go's error wording, so a value the stack could never run with fails
//! `compose.valid` where it is written instead of surfacing at run time.
//!
//! The grammar is the one compose-go decodes its `Duration` fields with: Go's
//! `time.ParseDuration` plus days and weeks — an optional sign, then one or more
//! `<number><unit>` parts (`1h30m`, `2.5s`, `.5s`), units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`,
//! `h`, `d` (24 h), `w` (7 d); a bare `0` is zero; at most 2^63−1 nanoseconds. A negative
//! duration parses there but means nothing to a healthcheck, a stop grace period or a restart
//! delay (the daemon refuses the first and reads the second as "wait forever"), so it is refused
//! here.

use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration as written in a compose file: its value, and the text it was written as (kept for
/// messages and for `config` output, which prints what the author wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoDuration {
    text: String,
    value: Duration,
}

impl GoDuration {
    /// Parses `text` with Go's grammar; the error is worded as Go words it
    /// (`time: invalid duration "ten seconds"`).
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_go_duration(text).map(|value| GoDuration {
            text: text.to_string(),
            value,
        })
    }

    /// The duration.
    pub fn duration(&self) -> Duration {
        self.value
    }

    /// The duration in nanoseconds, as the Docker API takes it (never above `i64::MAX`: the
    /// grammar refuses more).
    pub fn as_nanos_i64(&self) -> i64 {
        i64::try_from(self.value.as_nanos()).unwrap_or(i64::MAX)
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Serialised as written, so a model dump reads like the compose file.
impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

const NANOS_PER: [(&str, u64); 10] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000), // U+00B5 MICRO SIGN
    ("μs", 1_000), // U+03BC GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
    ("w", 7 * 86_400 * 1_000_000_000),
];

/// Go's `time.ParseDuration` with days and weeks, negative values refused. Errors use Go's
/// wording.
fn parse_go_duration(orig: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let (negative, mut rest) = match orig.as_bytes().first() {
        Some(b'-') => (true, &orig[1..]),
        Some(b'+') => (false, &orig[1..]),
        _ => (false, orig),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u128 = i64::MAX as u128;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after) = rest.split_at(int_len);
        let (frac_digits, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        let (unit, after) = after.split_at(unit_len);
        let Some(&(_, per)) = NANOS_PER.iter().find(|(u, _)| *u == unit) else {
            return Err(format!("time: unknown unit {unit:?} in duration {orig:?}"));
        };
        let per = u128::from(per);
        // Digits beyond what fits are an overflow, as in Go.
        let whole: u128 = if int_digits.is_empty() {
            0
        } else {
            int_digits.parse::<u128>().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(per).ok_or_else(invalid)?;
        if !frac_digits.is_empty() {
            // Go keeps at most as many fraction digits as fit its integer; 18 is well within.
            let kept = &frac_digits[..frac_digits.len().min(18)];
            let numerator: u128 = kept.parse().map_err(|_| invalid())?;
            let scale = 10u128.pow(kept.len() as u32);
            nanos += numerator * per / scale;
        }
        total = total.checked_add(nanos).ok_or_else(invalid)?;
        if total > LIMIT {
            return Err(invalid());
        }
        rest = after;
    }
    if negative && total > 0 {
        return Err(format!(
            "negative duration {orig:?}: a duration here must be zero or more"
        ));
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        GoDuration::parse(s).unwrap().duration()
    }

    fn err(s: &str) -> String {
        GoDuration::parse(s).unwrap_err()
    }

    #[test]
    fn go_grammar() {
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("2.5s"), Duration::from_millis(2500));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5.s"), Duration::from_secs(5));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("1d12h"), Duration::from_secs(36 * 3600));
        assert_eq!(ok("2w"), Duration::from_secs(14 * 86_400));
        assert_eq!(ok("3us"), Duration::from_micros(3));
        assert_eq!(ok("3µs"), Duration::from_micros(3));
        assert_eq!(ok("3μs"), Duration::from_micros(3));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("+10s"), Duration::from_secs(10));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(
            ok("1h0m0.000000001s"),
            Duration::from_nanos(3_600_000_000_001)
        );
        assert_eq!(
            GoDuration::parse("2562047h").unwrap().as_nanos_i64(),
            2_562_047 * 3_600_000_000_000
        );
    }

    #[test]
    fn go_wording() {
        assert_eq!(
            err("ten seconds"),
            r#"time: invalid duration "ten seconds""#
        );
        assert_eq!(err(""), r#"time: invalid duration """#);
        assert_eq!(err("s"), r#"time: invalid duration "s""#);
        assert_eq!(err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(err("10"), r#"time: missing unit in duration "10""#);
        assert_eq!(err("1m30"), r#"time: missing unit in duration "1m30""#);
        assert_eq!(err("1y"), r#"time: unknown unit "y" in duration "1y""#);
        assert_eq!(err("10 s"), r#"time: unknown unit " s" in duration "10 s""#);
        assert_eq!(
            err("9999999999h"),
            r#"time: invalid duration "9999999999h""#
        );
        assert_eq!(
            err("99999999999999999999999s"),
            r#"time: invalid duration "99999999999999999999999s""#
        );
        assert!(err("-1s").starts_with(r#"negative duration "-1s""#));
    }

    #[test]
    fn kept_as_written() {
        let d = GoDuration::parse("90s").unwrap();
        assert_eq!(d.text(), "90s");
        assert_eq!(d.to_string(), "90s");
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""90s""#);
    }
}
