//! Evidence for reviewers: container output made safe to show. Candidate text is capped,
//! control characters are escaped (no ANSI reaches a terminal), and every known secret is
//! masked, raw and URL-encoded.

/// Largest piece of candidate output kept in one finding detail.
pub const EVIDENCE_CAP: usize = 64 * 1024;
/// Lines of each container's log kept as evidence.
pub const LOG_LINES: usize = 50;
const MASK: &str = "****";

/// Secrets to hide from every report.
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

    /// Masks secrets, escapes control characters (keeping newlines and tabs) and caps the
    /// result at [`EVIDENCE_CAP`] bytes.
    pub fn clean(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for s in &self.secrets {
            if masked.contains(s.as_str()) {
                masked = masked.replace(s.as_str(), MASK);
            }
        }
        let mut out = String::with_capacity(masked.len().min(EVIDENCE_CAP));
        for c in masked.chars() {
            if out.len() >= EVIDENCE_CAP {
                out.push_str("\n… [truncated]");
                break;
            }
            match c {
                '\n' | '\t' => out.push(c),
                c if c.is_control() || is_bidi(c) => {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32))
                }
                c => out.push(c),
            }
        }
        out
    }

    /// The last `n` lines of `text`, cleaned.
    pub fn tail(&self, text: &str, n: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        self.clean(&lines[start..].join("\n"))
    }
}

/// Unicode bidi controls that can make text read differently than it is.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Percent-encodes everything but RFC 3986 unreserved characters (how a password appears in a
/// `postgres://` URL).
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
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
    fn lowercase_percent_encoding_is_left_alone_only_if_not_a_secret_form() {
        // The webapp and libpq print upper-case escapes; a raw secret is always caught.
        let m = Masker::new(["abc".to_string()]);
        assert_eq!(m.clean("xabcx"), "x****x");
    }

    #[test]
    fn escapes_control_and_ansi_but_keeps_lines() {
        let m = Masker::default();
        assert_eq!(
            m.clean("a\x1b[31mred\r\n\tb\u{202e}"),
            "a\\u{1b}[31mred\\u{d}\n\tb\\u{202e}"
        );
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
