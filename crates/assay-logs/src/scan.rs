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

use std::net::IpAddr;
use std::ops::Range;

use aho_corasick::AhoCorasick;
use memchr::memmem;

use crate::count::Flags;
use crate::parse::{parse_request, MAX_LINE};
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
    /// `" ["`, where `$remote_user` ends.
    user_end: memmem::Finder<'static>,
    /// ASCII-case-insensitive automaton over the bot markers; `None` when there are none.
    bots: Option<AhoCorasick>,
    own: Vec<Cidr>,
    request_buf: Vec<u8>,
    ua_buf: Vec<u8>,
    skip_buf: Vec<u8>,
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
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&markers)
                    .expect("bot markers are bounded by the command line"),
            )
        };
        Matcher {
            method: rule.method.clone(),
            path: rule.path.clone(),
            path_finder: memmem::Finder::new(rule.path.as_bytes()).into_owned(),
            user_end: memmem::Finder::new(b" [").into_owned(),
            bots,
            own: rule.own_networks.clone(),
            request_buf: Vec::new(),
            ua_buf: Vec::new(),
            skip_buf: Vec::new(),
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
        // malformed (the reference says why).
        let sp = memchr::memchr(b' ', line)?;
        let addr: IpAddr = std::str::from_utf8(&line[..sp]).ok()?.parse().ok()?;
        let mut i = sp + 1;
        // The ident token and its space.
        i += memchr::memchr(b' ', &line[i..])? + 1;
        // `$remote_user` runs up to " [".
        i += self.user_end.find(&line[i..])? + 2;
        let time_len = memchr::memchr(b']', &line[i..])?;
        if time_len == 0 {
            return None;
        }
        i += time_len + 1;
        i = expect_space(line, i)?;
        let (request, next) = quoted(line, i, &mut self.request_buf)?;
        i = expect_space(line, next)?;
        let status_len = memchr::memchr(b' ', &line[i..])?;
        let status = &line[i..i + status_len];
        if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
            return None;
        }
        i += status_len + 1;
        let bytes_len = memchr::memchr(b' ', &line[i..])?;
        let bytes = &line[i..i + bytes_len];
        if bytes != b"-" {
            if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // All ASCII digits: valid UTF-8; the reference fails on overflow.
            std::str::from_utf8(bytes).ok()?.parse::<u64>().ok()?;
        }
        i += bytes_len + 1;
        let (_referer, next) = quoted(line, i, &mut self.skip_buf)?;
        i = expect_space(line, next)?;
        let (ua, next) = quoted(line, i, &mut self.ua_buf)?;
        if next < line.len() && line[next] != b' ' && line[next] != b'\t' {
            return None;
        }

        let request = match &request {
            Field::Raw(r) => &line[r.clone()],
            Field::Unescaped => &self.request_buf[..],
        };
        // Invalid UTF-8 would be replaced lossily by the reference; leave that to it.
        let request = std::str::from_utf8(request).ok()?;
        let ua = match &ua {
            Field::Raw(r) => &line[r.clone()],
            Field::Unescaped => &self.ua_buf[..],
        };
        if !ua.is_ascii() {
            return None;
        }
        let Some(req) = parse_request(request) else {
            return Some(Scan::Irrelevant);
        };
        let method_ok = req.method == self.method;
        let contains = self.path_finder.find(req.target.as_bytes()).is_some();
        let path_ok = normalize_target_into(req.target, &mut self.norm) && self.norm == self.path;
        // Counts::add ignores a request that names another path, unless its target contains
        // the path with the right method (`exact` implies `contains`).
        if !(path_ok || (method_ok && contains)) {
            return Some(Scan::Irrelevant);
        }
        let own = self.own.iter().any(|n| n.contains(addr));
        let bot = self.bots.as_ref().is_some_and(|ac| ac.is_match(ua));
        Some(Scan::Request(Flags {
            method_ok,
            path_ok,
            exact: req.target == self.path,
            contains,
            own,
            bot,
        }))
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
