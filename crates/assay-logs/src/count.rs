//! Streaming count: constant memory in the size of the log (one line of at most
//! [`MAX_LINE`] bytes is buffered at a time).

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::parse::{parse_line, parse_request, ParseError, MAX_LINE};
use crate::rule::{normalize_target, Rule};

/// How many malformed lines are remembered (their numbers and reasons) for the report.
pub const MALFORMED_KEPT: usize = 5;

/// The result of counting a log against a [`Rule`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Lines read, malformed ones included.
    pub total_lines: u64,
    pub malformed_lines: u64,
    /// Line numbers (1-based) of the first [`MALFORMED_KEPT`] malformed lines.
    pub first_malformed: Vec<u64>,
    /// The answer: requests to the endpoint, neither from own servers nor from bots.
    pub matched: u64,
    /// Requests to the endpoint from own servers (bots among them included: own wins).
    pub excluded_own: u64,
    /// Requests to the endpoint from bots outside own servers.
    pub excluded_bots: u64,
    /// What common mistakes would give.
    pub alternatives: Alternatives,
}

/// Counts a candidate gets with one common mistake (or two, for `with_own_and_bots`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternatives {
    /// Bots not excluded.
    pub with_bots: u64,
    /// Own servers not excluded (bots still are).
    pub with_own: u64,
    /// Neither excluded.
    pub with_own_and_bots: u64,
    /// Only targets exactly equal to the path: query strings, trailing slashes, encoded or
    /// absolute-form variants not counted.
    pub exact_target: u64,
    /// Any method (HEAD, POST, … to the same path counted too).
    pub any_method: u64,
    /// Targets merely containing the path (`/api/notes/7`, `/api/notesx`, `/v2/api/notes`).
    pub path_substring: u64,
}

impl Alternatives {
    /// `(name, description, count)` for each mistake, in a stable order.
    pub fn list(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("with_bots", "the count with bots included", self.with_bots),
            ("with_own", "the count with our own servers included", self.with_own),
            (
                "with_own_and_bots",
                "the count with both our own servers and bots included",
                self.with_own_and_bots,
            ),
            (
                "exact_target",
                "the count of exact target matches only (query-string, trailing-slash, encoded and absolute-form variants missed)",
                self.exact_target,
            ),
            ("any_method", "the count with every HTTP method, not just the endpoint's", self.any_method),
            (
                "path_substring",
                "the count of targets merely containing the path (e.g. /api/notes/7 counted as /api/notes)",
                self.path_substring,
            ),
        ]
    }
}

/// One line out of a [`LineSplitter`].
#[derive(Debug, PartialEq, Eq)]
pub enum RawLine<'a> {
    Line(&'a [u8]),
    /// A line longer than the cap; its bytes were discarded as they arrived.
    TooLong,
}

/// Splits a byte stream into lines, pushing complete lines out and keeping at most
/// `MAX_LINE` bytes of an unfinished one. Used by both [`count`] and live following, where
/// a partial last line must wait for its newline.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    overflow: bool,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; `f` gets every line completed by them.
    pub fn feed(&mut self, mut data: &[u8], f: &mut impl FnMut(RawLine<'_>)) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            let piece = &data[..i];
            if self.overflow || self.buf.len() + piece.len() > MAX_LINE {
                f(RawLine::TooLong);
            } else if self.buf.is_empty() {
                f(RawLine::Line(piece));
            } else {
                self.buf.extend_from_slice(piece);
                f(RawLine::Line(&self.buf));
            }
            self.buf.clear();
            self.overflow = false;
            data = &data[i + 1..];
        }
        if !self.overflow {
            if self.buf.len() + data.len() > MAX_LINE {
                self.overflow = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(data);
            }
        }
    }

    /// End of input: an unterminated last line is still a line.
    pub fn finish(&mut self, f: &mut impl FnMut(RawLine<'_>)) {
        if self.overflow {
            f(RawLine::TooLong);
        } else if !self.buf.is_empty() {
            f(RawLine::Line(&self.buf));
        }
        self.discard_partial();
    }

    /// Forget an unfinished line (its file was truncated under it).
    pub fn discard_partial(&mut self) {
        self.buf.clear();
        self.overflow = false;
    }

    pub fn has_partial(&self) -> bool {
        self.overflow || !self.buf.is_empty()
    }
}

/// Accumulates [`Counts`] line by line.
#[derive(Debug, Clone)]
pub struct Counter {
    rule: Rule,
    counts: Counts,
    errors: Vec<ParseError>,
}

impl Counter {
    pub fn new(rule: &Rule) -> Self {
        Counter {
            rule: rule.clone(),
            counts: Counts::default(),
            errors: Vec::new(),
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The first [`MALFORMED_KEPT`] parse errors, with reasons.
    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }

    pub fn push(&mut self, raw: RawLine<'_>) {
        self.counts.total_lines += 1;
        let no = self.counts.total_lines;
        let parsed = match raw {
            RawLine::Line(bytes) => parse_line(bytes, no),
            RawLine::TooLong => Err(ParseError {
                line: no,
                reason: "line longer than 64 KiB".into(),
            }),
        };
        let entry = match parsed {
            Ok(e) => e,
            Err(e) => {
                self.counts.malformed_lines += 1;
                if self.errors.len() < MALFORMED_KEPT {
                    self.counts.first_malformed.push(no);
                    self.errors.push(e);
                }
                return;
            }
        };
        let Some(req) = parse_request(&entry.request) else {
            return;
        };
        let rule = &self.rule;
        let method_ok = req.method == rule.method;
        let path_ok = normalize_target(req.target).as_deref() == Some(rule.path.as_str());
        let exact = req.target == rule.path;
        let contains = req.target.contains(rule.path.as_str());
        let own = rule.is_own(entry.addr);
        let bot = rule.is_bot(&entry.user_agent);
        self.counts.add(Flags {
            method_ok,
            path_ok,
            exact,
            contains,
            own,
            bot,
        });
    }
}

/// What one well-formed request is, relative to a rule. The generator builds these by
/// construction; the counter derives them from the parsed line. Both sum with [`Counts::add`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub method_ok: bool,
    pub path_ok: bool,
    pub exact: bool,
    pub contains: bool,
    pub own: bool,
    pub bot: bool,
}

impl Counts {
    pub(crate) fn add(&mut self, f: Flags) {
        let clean = !f.own && !f.bot;
        let a = &mut self.alternatives;
        if f.method_ok && f.path_ok {
            if f.own {
                self.excluded_own += 1;
            } else if f.bot {
                self.excluded_bots += 1;
            } else {
                self.matched += 1;
            }
            a.with_own_and_bots += 1;
            a.with_bots += u64::from(!f.own);
            a.with_own += u64::from(!f.bot);
        }
        if clean {
            a.exact_target += u64::from(f.method_ok && f.exact);
            a.any_method += u64::from(f.path_ok);
            a.path_substring += u64::from(f.method_ok && f.contains);
        }
    }
}

/// Count a whole log. Invalid UTF-8 is read lossily, malformed lines are counted and skipped;
/// only I/O errors fail.
pub fn count<R: Read>(reader: R, rule: &Rule) -> io::Result<Counts> {
    Ok(count_detailed(reader, rule)?.counts().clone())
}

/// Like [`count`], keeping the [`Counter`] for its parse errors.
pub fn count_detailed<R: Read>(mut reader: R, rule: &Rule) -> io::Result<Counter> {
    let mut counter = Counter::new(rule);
    let mut splitter = LineSplitter::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        splitter.feed(&buf[..n], &mut |l| counter.push(l));
    }
    splitter.finish(&mut |l| counter.push(l));
    Ok(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_own_networks(vec!["10.0.0.0/8".parse().unwrap()])
    }

    fn line(addr: &str, req: &str, ua: &str) -> String {
        format!("{addr} - - [25/Nov/2026:10:00:00 +0000] \"{req}\" 200 1 \"-\" \"{ua}\"\n")
    }

    #[test]
    fn counts_and_alternatives() {
        let log = [
            line("1.1.1.1", "GET /api/notes HTTP/1.1", "Mozilla"),
            line("1.1.1.2", "GET /api/notes?x=1 HTTP/1.1", "Mozilla"),
            line("2001:db8::1", "GET /api/notes/ HTTP/1.1", "-"),
            line("10.0.0.1", "GET /api/notes HTTP/1.1", "Mozilla"),
            line("10.0.0.2", "GET /api/notes HTTP/1.1", "Googlebot"),
            line("1.1.1.3", "GET /api/notes HTTP/1.1", "bingBOT"),
            line("1.1.1.4", "HEAD /api/notes HTTP/1.1", "Mozilla"),
            line("1.1.1.5", "GET /api/notes/7 HTTP/1.1", "Mozilla"),
            line("1.1.1.6", "-", "Mozilla"),
            "not a log line\n".to_string(),
            line("1.1.1.7", "GET /api/notes HTTP/1.1", "Mozilla")
                .trim_end()
                .to_string(),
        ]
        .concat();
        let c = count(log.as_bytes(), &rule()).unwrap();
        assert_eq!(c.total_lines, 11);
        assert_eq!(c.malformed_lines, 1);
        assert_eq!(c.first_malformed, vec![10]);
        assert_eq!(c.matched, 4, "lines 1,2,3,11");
        assert_eq!(c.excluded_own, 2);
        assert_eq!(c.excluded_bots, 1);
        let a = c.alternatives;
        assert_eq!(a.with_bots, 5);
        assert_eq!(a.with_own, 5);
        assert_eq!(a.with_own_and_bots, 7);
        assert_eq!(a.exact_target, 2);
        assert_eq!(a.any_method, 5);
        assert_eq!(a.path_substring, 5);
    }

    #[test]
    fn splitter_handles_chunks_and_caps() {
        let mut s = LineSplitter::new();
        let mut got = Vec::new();
        let mut f = |l: RawLine<'_>| {
            got.push(match l {
                RawLine::Line(b) => String::from_utf8_lossy(b).into_owned(),
                RawLine::TooLong => "<long>".into(),
            })
        };
        s.feed(b"ab", &mut f);
        s.feed(b"c\nde", &mut f);
        assert!(s.has_partial());
        s.feed(&vec![b'x'; MAX_LINE], &mut f);
        s.feed(b"\nok\n", &mut f);
        s.feed(&vec![b'y'; MAX_LINE], &mut f);
        s.feed(b"\n", &mut f);
        s.feed(b"tail", &mut f);
        s.finish(&mut f);
        assert_eq!(
            got,
            vec!["abc", "<long>", "ok", "y".repeat(MAX_LINE).as_str(), "tail"]
        );
    }

    #[test]
    fn hostile_inputs() {
        let r = rule();
        let empty = count(&b""[..], &r).unwrap();
        assert_eq!(empty, Counts::default());

        let mut x: u32 = 7;
        let garbage: Vec<u8> = (0..200_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        let g = count(&garbage[..], &r).unwrap();
        assert_eq!(g.matched, 0);
        assert_eq!(g.malformed_lines, g.total_lines);

        let mut big = line("1.1.1.1", "GET /api/notes HTTP/1.1", "ok")
            .trim_end()
            .as_bytes()
            .to_vec();
        big.extend(vec![b'a'; 1 << 20]);
        big.push(b'\n');
        big.extend(line("1.1.1.1", "GET /api/notes HTTP/1.1", "\u{fffd}ok").into_bytes());
        big.extend(b"1.1.1.1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"\xff\xfe\"\n");
        let b = count(&big[..], &r).unwrap();
        assert_eq!(b.total_lines, 3);
        assert_eq!(b.malformed_lines, 1);
        assert_eq!(b.first_malformed, vec![1]);
        assert_eq!(b.matched, 2);
    }
}
