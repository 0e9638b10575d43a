//! The byte-level fast path of counting: one line in, its [`Flags`] out, without allocating.
//!
//! [`crate::parse::parse_line`] builds an owned [`crate::Entry`] per line (strings for every
//! field, a lowercased copy of the user agent, a normalised copy of the target). That is the
//! definition of a well-formed line and of what it asks for, and it stays the reference. This
//! module walks the same grammar over the raw bytes with `memchr`, unescapes only the two fields
//! the rule reads (request and user agent) into reused buffers when they carry escapes, and
//! looks at the client and the user agent only when the request can change a count.
//!
//! It answers only when it is sure to agree with the reference; for anything else — a malformed
//! line (whose reason must be the reference's), invalid UTF-8 after unescaping, a user agent
//! that is not ASCII (Unicode lowercasing can turn a non-ASCII letter into an ASCII one) — it
//! returns [`Scan::Fallback`] and the caller runs the reference on that line. Those lines are
//! rare in real logs, so the hot path stays allocation-free.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;

use aho_corasick::AhoCorasick;
use memchr::memmem;

use crate::count::Flags;
#[cfg(doc)]
use crate::parse::parse_request;
use crate::parse::MAX_LINE;
use crate::rule::{normalize_target_into, Cidr, Rule};

/// What the fast path says about one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A well-formed line whose request cannot change any count (not `METHOD TARGET HTTP/x`,
    /// or neither the endpoint's path nor, with its method, a target containing it).
    Irrelevant,
    /// A well-formed request that may count, with all its flags.
    Request(Flags),
    /// Not decided here: ask the reference.
    Fallback,
}

/// A [`Rule`] compiled for the byte-level scan, with scratch buffers reused across lines.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    method: String,
    path: String,
    path_finder: memmem::Finder<'static>,
    /// Whether the path is ASCII (then a request without `%` and without the path is
    /// irrelevant before any decoding).
    path_is_ascii: bool,
    /// Whether the path normalises to itself (then a target equal to it names it without
    /// normalising; `/a//` does not: it is the rule's path, but normalises to `/a/`).
    path_normal: bool,
    /// Automaton over the bot markers (lower case), run on the lowercased user agent; `None`
    /// when there are none.
    bots: Option<AhoCorasick>,
    own: Vec<Cidr>,
    request_buf: Vec<u8>,
    ua_buf: Vec<u8>,
    ua_lower: Vec<u8>,
    norm: String,
}

/// Where a quoted field's unescaped value is.
enum Field {
    /// No escapes: the value is these bytes of the line.
    Raw(Range<usize>),
    /// Escapes were undone into the scratch buffer.
    Unescaped,
}

impl Matcher {
    pub(crate) fn new(rule: &Rule) -> Matcher {
        // The reference lowercases the user agent and looks for each marker in it. On an ASCII
        // user agent (the only kind decided here) that is an ASCII-case-insensitive search for
        // the markers written in lower case; a marker with an ASCII capital can never be found
        // in a lowercased text, so it is left out to agree.
        let markers: Vec<&str> = rule
            .bot_markers
            .iter()
            .map(String::as_str)
            .filter(|m| !m.bytes().any(|b| b.is_ascii_uppercase()))
            .collect();
        let bots = if markers.is_empty() {
            None
        } else {
            Some(
                // Searched in the lowercased user agent: case-sensitive, the automaton can use
                // its SIMD prefilter, which ASCII case-insensitivity would turn off.
                AhoCorasick::builder()
                    .build(&markers)
                    .expect("bot markers are bounded by the command line"),
            )
        };
        Matcher {
            method: rule.method.clone(),
            path: rule.path.clone(),
            path_finder: memmem::Finder::new(rule.path.as_bytes()).into_owned(),
            path_is_ascii: rule.path.is_ascii(),
            path_normal: crate::rule::normalize_target(&rule.path).as_deref() == Some(&rule.path),
            bots,
            own: rule.own_networks.clone(),
            request_buf: Vec::new(),
            ua_buf: Vec::new(),
            ua_lower: Vec::new(),
            norm: String::new(),
        }
    }

    /// Classify one line (without its newline).
    pub(crate) fn scan(&mut self, line: &[u8]) -> Scan {
        self.try_scan(line).unwrap_or(Scan::Fallback)
    }

    fn try_scan(&mut self, line: &[u8]) -> Option<Scan> {
        if line.len() > MAX_LINE {
            return None;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // `$remote_addr` up to the first space; an empty, whitespace-led or unparsable one is
        // malformed (the reference says why). Only its validity matters until the request is
        // known to possibly count.
        let sp = memchr::memchr(b' ', line)?;
        let addr_text = &line[..sp];
        if ipv4(addr_text).is_none() {
            parse_addr(addr_text)?;
        }
        let mut i = sp + 1;
        // The ident token and its space.
        i += memchr::memchr(b' ', &line[i..])? + 1;
        // `$remote_user` runs up to the first " [".
        i = user_end(line, i)?;
        let time_len = memchr::memchr(b']', &line[i..])?;
        if time_len == 0 {
            return None;
        }
        i += time_len + 1;
        i = expect_space(line, i)?;
        let (request, next) = quoted(line, i, &mut self.request_buf)?;
        i = expect_space(line, next)?;
        // Exactly three digits, then a space.
        let status = line.get(i..i + 4)?;
        if !status[..3].iter().all(u8::is_ascii_digit) || status[3] != b' ' {
            return None;
        }
        i += 4;
        let bytes_len = memchr::memchr(b' ', &line[i..])?;
        let bytes = &line[i..i + bytes_len];
        // `-`, or 1 to 19 digits (any such number fits a u64; longer ones are the reference's
        // to judge).
        if bytes != b"-"
            && (bytes.is_empty() || bytes.len() > 19 || !bytes.iter().all(u8::is_ascii_digit))
        {
            return None;
        }
        i += bytes_len + 1;
        let next = skip_quoted(line, i)?;
        i = expect_space(line, next)?;
        let (ua, next) = quoted(line, i, &mut self.ua_buf)?;
        if next < line.len() && line[next] != b' ' && line[next] != b'\t' {
            return None;
        }

        let request = match &request {
            Field::Raw(r) => &line[r.clone()],
            Field::Unescaped => &self.request_buf[..],
        };
        // A request that neither names the path nor contains it cannot change a count. Without
        // a `%`, the normalised target is a piece of the target (or `/` from an absolute-form
        // target, which holds a `/` itself), so it equals the path only if the request contains
        // the path; with an ASCII path, lossy UTF-8 decoding cannot make one appear.
        if self.path_is_ascii
            && memchr::memchr(b'%', request).is_none()
            && self.path_finder.find(request).is_none()
        {
            return Some(Scan::Irrelevant);
        }
        let ua = match &ua {
            Field::Raw(r) => &line[r.clone()],
            Field::Unescaped => &self.ua_buf[..],
        };
        if !ua.is_ascii() {
            return None;
        }
        // The reference splits the lossily decoded request; spaces, the method's characters and
        // `HTTP/` are ASCII, which lossy decoding keeps, so splitting the bytes agrees. Only the
        // target's bytes must be UTF-8 to be compared as the reference compares them.
        let Some((method, target)) = request_parts(request) else {
            return Some(Scan::Irrelevant);
        };
        let method_ok = method == self.method.as_bytes();
        let exact = target == self.path.as_bytes();
        let (contains, path_ok) = if exact && self.path_normal {
            (true, true)
        } else {
            let target = std::str::from_utf8(target).ok()?;
            let contains = exact || self.path_finder.find(target.as_bytes()).is_some();
            let path_ok = normalize_target_into(target, &mut self.norm) && self.norm == self.path;
            (contains, path_ok)
        };
        // Counts::add ignores a request that names another path, unless its target contains
        // the path with the right method (`exact` implies `contains`).
        if !(path_ok || (method_ok && contains)) {
            return Some(Scan::Irrelevant);
        }
        let addr = match ipv4(addr_text) {
            Some(v4) => IpAddr::V4(v4),
            None => parse_addr(addr_text)?,
        };
        let own = self.own.iter().any(|n| n.contains(addr));
        let bot = match &self.bots {
            Some(ac) => {
                self.ua_lower.clear();
                self.ua_lower.extend(ua.iter().map(u8::to_ascii_lowercase));
                ac.is_match(&self.ua_lower)
            }
            None => false,
        };
        Some(Scan::Request(Flags {
            method_ok,
            path_ok,
            exact,
            contains,
            own,
            bot,
        }))
    }
}

/// [`parse_request`] on bytes: `(method, target)` of a `METHOD TARGET HTTP/…` request (exactly
/// two spaces, a non-empty method of token characters and a non-empty target).
fn request_parts(request: &[u8]) -> Option<(&[u8], &[u8])> {
    let a = memchr::memchr(b' ', request)?;
    let rest = &request[a + 1..];
    let b = memchr::memchr(b' ', rest)?;
    let (method, target, protocol) = (&request[..a], &rest[..b], &rest[b + 1..]);
    if method.is_empty()
        || target.is_empty()
        || !protocol.starts_with(b"HTTP/")
        || memchr::memchr(b' ', protocol).is_some()
        || !method
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(b))
    {
        return None;
    }
    Some((method, target))
}

/// The reference's address parse (std's, on the lossy text; lossy text with a replacement
/// character never parses, so invalid UTF-8 is simply `None`).
fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A dotted-quad IPv4 address exactly as std accepts it (four decimal parts of 1–3 digits, each
/// at most 255, no leading zero), without going through `str`. `None` for anything else,
/// which is then std's to judge.
fn ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    if text.len() < 7 || text.len() > 15 {
        return None;
    }
    let mut parts = [0u8; 4];
    let mut k = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &b in text {
        if b == b'.' {
            if digits == 0 || k == 3 {
                return None;
            }
            parts[k] = value as u8;
            k += 1;
            value = 0;
            digits = 0;
        } else if b.is_ascii_digit() {
            if digits > 0 && value == 0 {
                return None; // a leading zero
            }
            value = value * 10 + u32::from(b - b'0');
            digits += 1;
            if value > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    if digits == 0 || k != 3 {
        return None;
    }
    parts[3] = value as u8;
    Some(Ipv4Addr::from(parts))
}

/// Where `$remote_user` ends: the index after the first `" ["` at or after `i`.
fn user_end(line: &[u8], i: usize) -> Option<usize> {
    let mut from = i + 1;
    loop {
        let j = from + memchr::memchr(b'[', line.get(from..)?)?;
        if line[j - 1] == b' ' {
            return Some(j + 1);
        }
        from = j + 1;
    }
}

fn expect_space(line: &[u8], i: usize) -> Option<usize> {
    (line.get(i) == Some(&b' ')).then_some(i + 1)
}

/// A `"…"` field starting at `i`, with the escapes of [`crate::parse`] (`\"`, `\\`, `\xHH`; any
/// other backslash is literal). Returns where its value is and the index after the closing
/// quote; `None` when there is no opening quote or no closing one.
fn quoted(line: &[u8], mut i: usize, buf: &mut Vec<u8>) -> Option<(Field, usize)> {
    if line.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    let start = i;
    let mut escaped = false;
    loop {
        let k = i + memchr::memchr2(b'"', b'\\', &line[i..])?;
        if line[k] == b'"' {
            if !escaped {
                return Some((Field::Raw(start..k), k + 1));
            }
            buf.extend_from_slice(&line[i..k]);
            return Some((Field::Unescaped, k + 1));
        }
        if !escaped {
            escaped = true;
            buf.clear();
        }
        buf.extend_from_slice(&line[i..k]);
        // A backslash at k.
        match line.get(k + 1) {
            Some(&b) if b == b'"' || b == b'\\' => {
                buf.push(b);
                i = k + 2;
            }
            Some(b'x') => match line.get(k + 2..k + 4).and_then(|h| {
                Some(crate::parse::hex_val(h[0])? * 16 + crate::parse::hex_val(h[1])?)
            }) {
                Some(v) => {
                    buf.push(v);
                    i = k + 4;
                }
                None => {
                    buf.push(b'\\');
                    i = k + 1;
                }
            },
            _ => {
                buf.push(b'\\');
                i = k + 1;
            }
        }
    }
}

/// The index after the closing quote of a `"…"` field starting at `i` whose value is not
/// needed (the referer): the same escapes as [`quoted`], nothing copied.
fn skip_quoted(line: &[u8], mut i: usize) -> Option<usize> {
    if line.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    loop {
        let k = i + memchr::memchr2(b'"', b'\\', &line[i..])?;
        if line[k] == b'"' {
            return Some(k + 1);
        }
        // `\"` and `\\` take the next byte along; `\xHH` and a lone backslash do not hide a
        // quote.
        i = match line.get(k + 1) {
            Some(b'"') | Some(b'\\') => k + 2,
            _ => k + 1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_agrees_with_std_wherever_it_answers() {
        let fixed = [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.04",
            "1.2.3.400",
            "1.2.3.4 ",
            "192.168.100.200",
            "1.2.3.-4",
            "1.2.3.+4",
            "1.2.3.4\0",
            "99.099.9.9",
        ];
        let mut rng = crate::generate::SplitMix64::new(5);
        let mut cases: Vec<Vec<u8>> = fixed.iter().map(|s| s.as_bytes().to_vec()).collect();
        for _ in 0..200_000 {
            let len = 7 + rng.below(9) as usize;
            cases.push(
                (0..len)
                    .map(|_| *rng.pick(b"0123456789012345678901234567890.....x"))
                    .collect(),
            );
        }
        for c in cases {
            let std_says = std::str::from_utf8(&c)
                .ok()
                .and_then(|s| s.parse::<Ipv4Addr>().ok());
            if let Some(v4) = ipv4(&c) {
                assert_eq!(Some(v4), std_says, "{}", String::from_utf8_lossy(&c));
            } else {
                assert_eq!(std_says, None, "{}", String::from_utf8_lossy(&c));
            }
        }
    }

    #[test]
    fn skipping_a_quoted_field_ends_where_reading_it_does() {
        let mut rng = crate::generate::SplitMix64::new(9);
        let mut buf = Vec::new();
        for _ in 0..100_000 {
            let len = rng.below(12) as usize;
            let mut f = vec![b'"'];
            f.extend((0..len).map(|_| *rng.pick(b"\"\\xAf0 a")));
            let read = quoted(&f, 0, &mut buf).map(|(_, end)| end);
            assert_eq!(skip_quoted(&f, 0), read, "{}", String::from_utf8_lossy(&f));
        }
    }
}
