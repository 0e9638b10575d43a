//! Secrets kept out of everything shown: known values masked, raw and URL-encoded.

use super::sanitize::Sanitizer;

/// Largest piece of candidate output kept in one finding's evidence (bytes).
pub const EVIDENCE_CAP: usize = 64 * 1024;
/// What a masked secret is shown as.
pub const MASK: &str = "****";

/// Secrets to hide from every report: each is masked as written and as a URL carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// Masks `secrets` (empty ones ignored), longest first so a secret containing another is
    /// hidden whole.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Masker {
        let mut all: Vec<String> = Vec::new();
        for s in secrets {
            if s.is_empty() {
                continue;
            }
            let enc = url_encode(&s);
            for v in [s, enc] {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
        }
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker { secrets: all }
    }

    /// `text` with every secret replaced by [`MASK`]; nothing else changes.
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for s in &self.secrets {
            if masked.contains(s.as_str()) {
                masked = masked.replace(s.as_str(), MASK);
            }
        }
        masked
    }

    /// Evidence from candidate output: secrets masked, then made [`evidence`].
    pub fn clean(&self, text: &str) -> String {
        evidence(&self.mask(text))
    }

    /// The last `n` lines of `text`, cleaned.
    pub fn tail(&self, text: &str, n: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        self.clean(&lines[start..].join("\n"))
    }
}

/// Candidate output (a log, build output, an error quoting either) kept as evidence: sanitised
/// keeping lines ([`Sanitizer::TEXT`]) and capped at [`EVIDENCE_CAP`] bytes. Where secrets are
/// known, use [`Masker::clean`].
pub fn evidence(text: &str) -> String {
    Sanitizer::TEXT.max_bytes(EVIDENCE_CAP).apply(text)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (how a password appears in a
/// `postgres://` URL).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_and_url_encoded_secrets() {
        let m = Masker::new(["p@ss:w/rd".to_string(), String::new()]);
        let text = "pw=p@ss:w/rd url=postgres://app:p%40ss%3Aw%2Frd@db/notes";
        assert_eq!(m.clean(text), "pw=**** url=postgres://app:****@db/notes");
    }

    #[test]
    fn the_longest_secret_is_masked_whole() {
        let m = Masker::new(["abc".to_string(), "xabcx".to_string()]);
        assert_eq!(m.mask("1xabcx2abc"), "1****2****");
    }

    #[test]
    fn escapes_control_and_ansi_but_keeps_lines() {
        let m = Masker::default();
        assert_eq!(
            m.clean("a\x1b[31mred\r\n\tb\u{202e}"),
            "a\\u{1b}[31mred\\r\n\tb\\u{202e}"
        );
    }

    #[test]
    fn a_secret_split_by_a_control_character_is_still_masked_before_escaping() {
        let m = Masker::new(["se\u{1b}cret".to_string()]);
        assert_eq!(m.clean("[se\u{1b}cret]"), "[****]");
    }

    #[test]
    fn caps_output() {
        let m = Masker::default();
        let big = "x".repeat(EVIDENCE_CAP * 3);
        let out = m.clean(&big);
        assert!(out.len() <= EVIDENCE_CAP + 32);
        assert!(out.ends_with("[truncated]"));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let m = Masker::default();
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let t = m.tail(&text, 3);
        assert_eq!(t, "line 98\nline 99\nline 100");
    }

    #[test]
    fn url_encoding_matches_what_urls_carry() {
        assert_eq!(url_encode("a b@c%"), "a%20b%40c%25");
        assert_eq!(url_encode("safe-._~"), "safe-._~");
    }
}
