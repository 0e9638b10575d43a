//! Counting: the numbers of the answer and of the usual mistakes, on all cores, in memory bounded
//! whatever the size of the log (batches of a few MiB; a line longer than [`MAX_LINE`] is
//! skipped, never buffered whole).

use std::io::{self, Read};

use crate::parse::{parse_line, parse_request, ParseError, MAX_LINE};
use crate::rule::{normalize_target, Rule};
use crate::scan::{Matcher, Scan};
use crate::tally::Flags;
pub use crate::tally::{Alternatives, Counts, MALFORMED_KEPT};

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

/// Accumulates [`Counts`] line by line: the byte-level [`Matcher`] decides the common lines,
/// the reference ([`reference_line`]) the rest.
#[derive(Debug, Clone)]
pub struct Counter {
    rule: Rule,
    matcher: Matcher,
    counts: Counts,
    errors: Vec<ParseError>,
}

impl Counter {
    pub fn new(rule: &Rule) -> Self {
        Counter {
            rule: rule.clone(),
            matcher: Matcher::new(rule),
            counts: Counts::default(),
            errors: Vec::new(),
        }
    }

    /// A counter for the same rule with nothing counted (the compiled rule is shared).
    fn fresh(&self) -> Self {
        Counter {
            rule: self.rule.clone(),
            matcher: self.matcher.clone(),
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
        if let Some(f) = self.decide(raw) {
            self.counts.add(f);
        }
    }

    /// Count one more line, except the flags of a request the fast path decided: those are
    /// returned for the caller to add (everything else — the line itself, a request the
    /// reference decided, a malformed line — is counted here).
    #[inline(always)]
    fn decide(&mut self, raw: RawLine<'_>) -> Option<Flags> {
        self.counts.total_lines += 1;
        let no = self.counts.total_lines;
        // The fast path's answers skip `record` (no Result to build and take apart for each
        // line).
        let decided = match raw {
            RawLine::Line(bytes) => match self.matcher.scan(bytes) {
                Scan::Irrelevant => return None,
                Scan::Request(f) => return Some(f),
                Scan::Fallback => reference_line(&self.rule, raw, no),
            },
            RawLine::TooLong => reference_line(&self.rule, raw, no),
        };
        self.record(decided, no);
        None
    }

    /// The same as [`Counter::push`] through the reference only (no fast path).
    fn push_reference(&mut self, raw: RawLine<'_>) {
        self.counts.total_lines += 1;
        let no = self.counts.total_lines;
        let decided = reference_line(&self.rule, raw, no);
        self.record(decided, no);
    }

    fn record(&mut self, decided: Result<Option<Flags>, ParseError>, no: u64) {
        match decided {
            Ok(Some(f)) => self.counts.add(f),
            Ok(None) => {}
            Err(e) => {
                self.counts.malformed_lines += 1;
                if self.errors.len() < MALFORMED_KEPT {
                    self.counts.first_malformed.push(no);
                    self.errors.push(e);
                }
            }
        }
    }

    /// Take the counts and errors so far, leaving this counter (and its warm matcher) to count
    /// the lines that follow from zero.
    fn take(&mut self) -> (Counts, Vec<ParseError>) {
        (
            std::mem::take(&mut self.counts),
            std::mem::take(&mut self.errors),
        )
    }

    /// Append the counts and errors of the lines that follow this counter's (their line
    /// numbers, 1-based in `next`, are shifted past this counter's lines).
    fn append(&mut self, (n, errors): (Counts, Vec<ParseError>)) {
        let offset = self.counts.total_lines;
        let c = &mut self.counts;
        c.total_lines += n.total_lines;
        c.malformed_lines += n.malformed_lines;
        c.matched += n.matched;
        c.excluded_own += n.excluded_own;
        c.excluded_bots += n.excluded_bots;
        let (a, b) = (&mut c.alternatives, n.alternatives);
        a.with_bots += b.with_bots;
        a.with_own += b.with_own;
        a.with_own_and_bots += b.with_own_and_bots;
        a.exact_target += b.exact_target;
        a.any_method += b.any_method;
        a.path_substring += b.path_substring;
        for mut e in errors {
            if self.errors.len() == MALFORMED_KEPT {
                break;
            }
            e.line += offset;
            c.first_malformed.push(e.line);
            self.errors.push(e);
        }
    }

    /// Count every line of `data`: lines end with `\n`; a last piece without one is a line too
    /// (callers pass it only at the end of the input).
    fn push_lines(&mut self, data: &[u8]) {
        // The newlines found with the AVX2 searcher itself where the CPU has it: memchr_iter
        // reaches it through a function pointer on every line.
        #[cfg(target_arch = "x86_64")]
        if let Some(newline) = memchr::arch::x86_64::avx2::memchr::One::new(b'\n') {
            return self.push_lines_at(data, newline.iter(data));
        }
        self.push_lines_at(data, memchr::memchr_iter(b'\n', data));
    }

    /// [`Counter::push_lines`] with the positions of the newlines of `data`. The requests are
    /// tallied by their flags (an increment per line), and added to the counts once per
    /// pattern of flags at the end ([`Counts::add_times`]), not with the nine additions of
    /// [`Counts::add`] per line.
    #[inline(always)]
    fn push_lines_at(&mut self, data: &[u8], newlines: impl Iterator<Item = usize>) {
        let mut tally = [0u64; Flags::PATTERNS];
        let mut start = 0;
        for nl in newlines {
            if let Some(f) = self.decide(RawLine::Line(&data[start..nl])) {
                tally[f.pattern()] += 1;
            }
            start = nl + 1;
        }
        if start < data.len() {
            self.push(RawLine::Line(&data[start..]));
        }
        for (pattern, &n) in tally.iter().enumerate() {
            if n > 0 {
                self.counts.add_times(Flags::from_pattern(pattern), n);
            }
        }
    }
}

/// The reference account of one line, built on [`parse_line`]: `Ok(None)` for a well-formed
/// line that is not a `METHOD TARGET HTTP/x` request, `Ok(Some(flags))` for a request, `Err`
/// for a malformed line. It is the definition the byte-level fast path must agree with.
pub(crate) fn reference_line(
    rule: &Rule,
    raw: RawLine<'_>,
    no: u64,
) -> Result<Option<Flags>, ParseError> {
    let entry = match raw {
        RawLine::Line(bytes) => parse_line(bytes, no)?,
        RawLine::TooLong => {
            return Err(ParseError {
                line: no,
                reason: "line longer than 64 KiB".into(),
            })
        }
    };
    let Some(req) = parse_request(&entry.request) else {
        return Ok(None);
    };
    Ok(Some(Flags {
        method_ok: req.method == rule.method,
        path_ok: normalize_target(req.target).as_deref() == Some(rule.path.as_str()),
        exact: req.target == rule.path,
        contains: req.target.contains(rule.path.as_str()),
        own: rule.is_own(entry.addr),
        bot: rule.is_bot(&entry.user_agent),
    }))
}

/// How [`count_with`] splits its input. The defaults suit any file size; tests force tiny
/// batches so that batch boundaries fall everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountOptions {
    /// Bytes read per batch before it is cut at its last newline and handed to a core (a batch
    /// grows past this only to complete a line of at most [`MAX_LINE`] bytes).
    pub batch_bytes: usize,
}

/// The memory all batches in flight may take together: peak RSS stays well under 64 MiB
/// whatever the input size and the number of cores.
const BATCH_BUDGET: usize = 32 << 20;

impl Default for CountOptions {
    fn default() -> Self {
        // Every worker holds one batch and the reader fills one more.
        let slots = rayon::current_num_threads() + 1;
        CountOptions {
            batch_bytes: (BATCH_BUDGET / slots).clamp(256 << 10, 4 << 20),
        }
    }
}

/// Count a whole log. Invalid UTF-8 is read lossily, malformed lines are counted and skipped;
/// only I/O errors fail.
pub fn count<R: Read + Send>(reader: R, rule: &Rule) -> io::Result<Counts> {
    Ok(count_detailed(reader, rule)?.counts().clone())
}

/// Like [`count`], keeping the [`Counter`] for its parse errors.
pub fn count_detailed<R: Read + Send>(reader: R, rule: &Rule) -> io::Result<Counter> {
    count_with(reader, rule, CountOptions::default())
}

/// Count `reader` on all cores: it is read in batches that end at a newline (the unfinished
/// line is carried into the next batch, so a line is counted once whichever read splits it),
/// each batch is counted by one rayon worker with the byte-level fast path, and the per-batch
/// counts are added up in input order (so malformed lines keep their line numbers). The reader
/// is driven by one worker at a time while the others count: a pipe or a gzip stream is counted
/// at the speed it delivers. A line longer than [`MAX_LINE`] is never buffered whole: it is
/// skipped up to its newline and counted as malformed.
pub fn count_with<R: Read + Send>(
    reader: R,
    rule: &Rule,
    opts: CountOptions,
) -> io::Result<Counter> {
    use rayon::iter::{ParallelBridge, ParallelIterator};
    let proto = Counter::new(rule);
    let pool = BufferPool::default();
    let batches = Batches {
        reader,
        batch: opts.batch_bytes.max(1),
        carry: Vec::new(),
        eof: false,
        pool: &pool,
    };
    // One counter per worker, kept across its batches (its matcher's memory of user agents
    // stays warm); each batch's counts are taken out of it.
    let mut parts: Vec<(usize, (Counts, Vec<ParseError>))> = batches
        .enumerate()
        .par_bridge()
        .map_init(
            || proto.fresh(),
            |c, (i, batch)| {
                match batch? {
                    Batch::Lines(data) => {
                        c.push_lines(&data);
                        pool.put(data);
                    }
                    Batch::TooLong => c.push(RawLine::TooLong),
                }
                Ok((i, c.take()))
            },
        )
        .collect::<io::Result<_>>()?;
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut total = proto;
    for (_, part) in parts {
        total.append(part);
    }
    Ok(total)
}

/// The line-at-a-time reference count: one thread, [`parse_line`] on every line, no fast path.
/// Slow; kept as the definition [`count`] is tested against (and for benchmarks).
pub fn count_reference<R: Read>(mut reader: R, rule: &Rule) -> io::Result<Counter> {
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
        splitter.feed(&buf[..n], &mut |l| counter.push_reference(l));
    }
    splitter.finish(&mut |l| counter.push_reference(l));
    Ok(counter)
}

/// The input of a count: the bytes of `reader`, gunzipped when they start with the gzip magic
/// (`access.log.2.gz`, or `zcat`-less pipes). Multi-member gzip files (concatenated `.gz`) are
/// read whole. Corrupt gzip data is an I/O error of the read.
pub fn decompressed<'a, R: Read + Send + 'a>(
    mut reader: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    let mut magic = Vec::with_capacity(2);
    while magic.len() < 2 {
        let mut b = [0u8; 2];
        match reader.read(&mut b[..2 - magic.len()]) {
            Ok(0) => break,
            Ok(n) => magic.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let gz = magic == [0x1f, 0x8b];
    let whole = io::Cursor::new(magic).chain(reader);
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 << 10, whole),
        ))
    } else {
        Box::new(whole)
    })
}

/// One unit of work for a core.
enum Batch {
    /// Whole lines: every line ends with a newline, except the last line of the input.
    Lines(Vec<u8>),
    /// A line longer than [`MAX_LINE`], already skipped.
    TooLong,
}

/// Batch buffers handed back by the workers, so reading does not fault in fresh pages.
#[derive(Default)]
struct BufferPool(std::sync::Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    fn get(&self) -> Vec<u8> {
        let mut b = self
            .0
            .lock()
            .map(|mut p| p.pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        b.clear();
        b
    }

    fn put(&self, b: Vec<u8>) {
        if let Ok(mut p) = self.0.lock() {
            p.push(b);
        }
    }
}

/// Cuts a byte stream into [`Batch`]es at newlines.
struct Batches<'p, R> {
    reader: R,
    batch: usize,
    /// The unfinished line at the end of the last batch.
    carry: Vec<u8>,
    eof: bool,
    pool: &'p BufferPool,
}

impl<R: Read> Batches<'_, R> {
    /// Append `want` bytes to `buf`, or fewer at the end of the input (then `eof` is set).
    /// `read_to_end` reads into spare capacity without zeroing it first, so topping a big
    /// buffer up a little at a time stays cheap.
    fn read_more(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        let n = (&mut self.reader).take(want as u64).read_to_end(buf)?;
        if n < want {
            self.eof = true;
        }
        Ok(n)
    }

    fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        let mut buf = self.pool.get();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        // Fill to the batch size, then on until a newline if there is none yet.
        let mut newline = memchr::memchr(b'\n', &buf).is_some();
        while !self.eof && (buf.len() < self.batch || !newline) {
            if !newline && buf.len() > MAX_LINE {
                break;
            }
            let want = if buf.len() < self.batch {
                self.batch - buf.len()
            } else {
                self.batch.min(64 << 10)
            };
            let old = buf.len();
            self.read_more(&mut buf, want)?;
            newline = newline || memchr::memchr(b'\n', &buf[old..]).is_some();
        }
        if let Some(last) = memchr::memrchr(b'\n', &buf) {
            // At the end of the input, an unterminated last line stays in this batch.
            if !self.eof {
                self.carry.extend_from_slice(&buf[last + 1..]);
                buf.truncate(last + 1);
            }
            return Ok(Some(Batch::Lines(buf)));
        }
        if buf.len() > MAX_LINE {
            // A line too long to hold: skip to its newline (or the end of the input).
            while !self.eof {
                buf.clear();
                self.read_more(&mut buf, 64 << 10)?;
                if let Some(nl) = memchr::memchr(b'\n', &buf) {
                    self.carry.extend_from_slice(&buf[nl + 1..]);
                    break;
                }
            }
            self.pool.put(buf);
            return Ok(Some(Batch::TooLong));
        }
        // At the end of the input: the last line, without its newline (or nothing).
        Ok((!buf.is_empty()).then_some(Batch::Lines(buf)))
    }
}

impl<R: Read> Iterator for Batches<'_, R> {
    type Item = io::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.eof && self.carry.is_empty() {
            return None;
        }
        match self.next_batch() {
            Ok(b) => b.map(Ok),
            Err(e) => {
                // Stop after an error.
                self.eof = true;
                self.carry.clear();
                Some(Err(e))
            }
        }
    }
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
    /// The rules the agreement tests run: own networks of both families, custom markers, the
    /// root path, no markers at all, a marker with a capital (never found by the reference).
    fn rules() -> Vec<Rule> {
        vec![
            Rule::from_endpoint("GET /api/notes")
                .unwrap()
                .with_own_networks(vec![
                    "10.0.0.0/8".parse().unwrap(),
                    "fd00:1234::/32".parse().unwrap(),
                ]),
            Rule::from_endpoint("POST /v1/items")
                .unwrap()
                .with_bot_markers(&["curl", "Crawler"]),
            Rule::from_endpoint("GET /")
                .unwrap()
                .with_own_networks(vec!["192.0.2.0/24".parse().unwrap()]),
            Rule::from_endpoint("GET /a")
                .unwrap()
                .with_bot_markers::<&str>(&[]),
            Rule {
                bot_markers: vec!["Bot".into(), "spider".into()],
                ..Rule::from_endpoint("GET /api/notes").unwrap()
            },
            // A path that does not normalise to itself, and one that is not ASCII.
            Rule::from_endpoint("GET /api/notes//").unwrap(),
            Rule::from_endpoint("GET /caf\u{e9}").unwrap(),
        ]
    }

    /// Generated lines, then the same lines damaged: bytes inserted from the grammar's special
    /// characters (quotes, backslashes, brackets, spaces, `%`, tabs, CR, non-UTF-8), deleted or
    /// swapped.
    fn lines_with_damage(rule: &Rule, seed: u64) -> Vec<Vec<u8>> {
        let g = crate::generate::generate(rule, 1500, seed);
        let mut rng = crate::generate::SplitMix64::new(seed ^ 0xDA3A6E);
        let mut out: Vec<Vec<u8>> = g.text.lines().map(|l| l.as_bytes().to_vec()).collect();
        let specials: &[u8] = b"\"\\x[] -0aF.:/%?#\t\r\xff\xc3\x80Bb";
        for i in 0..out.len() {
            let mut l = out[i].clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(l.len() as u64 + 1) as usize;
                match rng.below(4) {
                    0 | 1 => l.insert(at, *rng.pick(specials)),
                    2 if at < l.len() => {
                        l.remove(at);
                    }
                    _ if at + 1 < l.len() => l.swap(at, at + 1),
                    _ => {}
                }
            }
            out.push(l);
        }
        out
    }

    /// What the fast path said about a line agrees with the reference's account of it: the
    /// same flags, or irrelevant for a line that changes no count, or no answer.
    fn assert_fast_agrees(fast: Scan, reference: &Result<Option<Flags>, ParseError>, shown: &str) {
        match fast {
            Scan::Fallback => {}
            Scan::Request(f) => assert_eq!(*reference, Ok(Some(f)), "{shown}"),
            Scan::Irrelevant => {
                let no_effect = match reference {
                    Ok(None) => true,
                    Ok(Some(f)) => {
                        let mut c = Counts::default();
                        c.add(*f);
                        c == Counts::default()
                    }
                    Err(_) => false,
                };
                assert!(no_effect, "{shown}: {reference:?}");
            }
        }
    }

    /// The generator's answer key is built from how each line was made, not by counting: the
    /// count of its text must equal it, for every rule and seed.
    #[test]
    fn count_agrees_with_the_answer_key() {
        // The first four of `rules()` (the ones this test has always checked) and the
        // exercise's endpoint without own networks.
        let mut rules = rules();
        rules.truncate(4);
        rules.push(Rule::from_endpoint("GET /api/notes").unwrap());
        for rule in &rules {
            for seed in [0, 1, 2, 42, 1234, u64::MAX] {
                let g = crate::generate::generate(rule, 2000, seed);
                let c = count(g.text.as_bytes(), rule).unwrap();
                assert_eq!(c, g.expected, "rule {rule:?} seed {seed}");
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_the_reference_line_by_line() {
        for rule in rules() {
            let mut matcher = Matcher::new(&rule);
            let (mut decided, mut all) = (0, 0);
            for seed in [1, 2, 3] {
                for (n, l) in lines_with_damage(&rule, seed).iter().enumerate() {
                    let reference = reference_line(&rule, RawLine::Line(l), n as u64 + 1);
                    let fast = matcher.scan(l);
                    let shown = String::from_utf8_lossy(l);
                    assert_fast_agrees(fast, &reference, &shown);
                    all += 1;
                    decided += u32::from(fast != Scan::Fallback);
                }
            }
            // Undamaged lines are mostly decided by the fast path (else it is no fast path).
            assert!(
                decided * 2 > all,
                "{rule:?}: only {decided} of {all} decided"
            );
        }
    }

    #[test]
    fn undamaged_lines_are_decided_fast_unless_malformed_or_not_ascii() {
        let rule = rules().remove(0);
        let mut matcher = Matcher::new(&rule);
        let g = crate::generate::generate(&rule, 3000, 11);
        for (n, l) in g.text.lines().enumerate() {
            if matcher.scan(l.as_bytes()) == Scan::Fallback {
                let r = reference_line(&rule, RawLine::Line(l.as_bytes()), n as u64 + 1);
                assert!(r.is_err(), "a well-formed generated line fell back: {l}");
            }
        }
    }

    /// A line cut at every byte (a truncated write, the last line of a log without its end):
    /// wherever the cut falls — inside the address, the request's method, target or protocol,
    /// a `%`-escape, the user agent — the fast path agrees with the reference, and the
    /// complete line is decided without it.
    #[test]
    fn every_prefix_of_a_line_is_judged_like_the_reference() {
        let rule = Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_own_networks(vec!["10.0.0.0/8".parse().unwrap()]);
        let mut matcher = Matcher::new(&rule);
        for l in [
            "10.1.2.3 - - [25/Nov/2026:10:00:00 +0000] \"GET /api/notes HTTP/1.1\" 200 12 \"-\" \"curl/8\"",
            "203.0.113.9 - - [t] \"GET /api/%6Eotes?x=%41 HTTP/1.1\" 200 - \"-\" \"Googlebot\" \"-\"",
            "2001:db8::7 - - [t] \"GET http://h/api/notes/ HTTP/2.0\" 404 1 \"r\" \"-\"",
            "192.168.100.200 - - [t] \"HEAD /api/notes HTTP/1.0\" 200 1 \"-\" \"x\"",
            "1.2.3.4 - - [t] \"-\" 400 0 \"-\" \"-\"",
        ] {
            assert_ne!(matcher.scan(l.as_bytes()), Scan::Fallback, "{l}");
            for cut in 0..=l.len() {
                let prefix = &l.as_bytes()[..cut];
                let reference = reference_line(&rule, RawLine::Line(prefix), 1);
                let shown = format!("{cut}: {l}");
                assert_fast_agrees(matcher.scan(prefix), &reference, &shown);
            }
        }
    }

    /// The fast path's shortcuts (IPv6 read in place, remembered bot verdicts, the path's usual
    /// suffixes, fields skipped without searching) on lines written to hit them, mixed with
    /// malformed lines, cut into batches at every size: the same counts and errors as the
    /// reference, and the well-formed lines decided without it.
    #[test]
    fn fast_path_shortcuts_agree_with_the_reference_across_batches() {
        let rule = Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_own_networks(vec![
                "10.0.0.0/8".parse().unwrap(),
                "fd00:1234::/32".parse().unwrap(),
            ]);
        let ok = |addr: &str, req: &str, ua: &str| {
            format!("{addr} - - [25/Nov/2026:10:00:00 +0000] \"{req}\" 200 12 \"-\" \"{ua}\"")
        };
        let mut well_formed = Vec::new();
        for addr in [
            "fd00:1234::5",
            "FD00:1234:0:0:0:0:0:1",
            "fd00:1235::1",
            "::ffff:10.1.2.3",
            "::ffff:a01:203",
            "2001:db8::7",
            "::",
            "10.200.3.4",
            "203.0.113.9",
        ] {
            for target in [
                "/api/notes",
                "/api/notes/",
                "/api/notes?x=1",
                "/api/notes#f",
                "/api/notes/?q",
                "/api/notes//",
                "/api/notes/7",
                "/api/notesx",
                "/api/notes%2F",
                "/api/%6eotes",
                "/api/notes?q=\\\"x\\\"",
                "/api/\\x6eotes",
                "https://h/api/notes",
                "/v2/api/notes",
                "/other",
                // Absolute-form targets, named through their origin-form part.
                "HTTP://h/api/notes/",
                "https://h:8443/api/notes?x=1",
                "http:///api/notes",
                "http://h?/api/notes",
                "http://h#/api/notes",
                "http://h/x?/api/notes",
                "http://h",
                "hTTps://h/api/notesx",
                "http:/api/notes",
                "ftp://h/api/notes",
            ] {
                for ua in [
                    "Mozilla/5.0",
                    "Mozilla/5.0 (compatible; GoogleBot/2.1)",
                    "Mozilla/5.0 (compatible; Googlebot/2.1)",
                    "say \\\"hi\\\" \\x42ot",
                    "-",
                    // What follows the user agent is remembered with it.
                    "Mozilla/5.0\" \"-",
                    "Mozilla/5.0\"\tx",
                    "Mozilla/5.0 (compatible; GoogleBot/2.1)\" \"-",
                    // Remembered with capitals folded: `X` is not, so `\X62ot` stays no escape.
                    "Mozilla/5.0 (compatible; gOOGLEbOT/2.1)",
                    "say \\x62OT",
                    "say \\X62ot",
                    "say \\X62OT",
                    "SAY \\x4FT",
                ] {
                    for method in ["GET", "HEAD"] {
                        well_formed.push(ok(addr, &format!("{method} {target} HTTP/1.1"), ua));
                    }
                }
            }
        }
        let malformed = [
            "fd00:1234::1::2 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"",
            "1:2:3:4:5:6:7:8:9 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"",
            "fd00:1234:00000::1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"",
            "10.0.0.1 - - [] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"",
            "10.0.0.1 - - [t] \"GET /api/notes HTTP/1.1\" 20 1 \"-\" \"x\"",
            "10.0.0.1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\\\"",
            "10.0.0.1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\"",
            "10.0.0.1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"Mozilla/5.0\"x",
            "10.0.0.1 - - [t] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"Mozilla/5.0\" x\"",
            "garbage",
        ];
        let mut matcher = Matcher::new(&rule);
        for l in &well_formed {
            assert_ne!(matcher.scan(l.as_bytes()), Scan::Fallback, "{l}");
        }
        // Interleave: every seventh line malformed, so batches cut next to them everywhere.
        let mut log = String::new();
        for (k, l) in well_formed.iter().enumerate() {
            log.push_str(l);
            log.push('\n');
            if k % 7 == 3 {
                log.push_str(malformed[k % malformed.len()]);
                log.push('\n');
            }
        }
        let reference = count_reference(log.as_bytes(), &rule).unwrap();
        assert!(reference.counts().matched > 0 && reference.counts().malformed_lines > 0);
        for batch_bytes in [1, 7, 61, 200, 333, 4096, 1 << 20] {
            let what = format!("batch {batch_bytes}");
            let c = count_with(log.as_bytes(), &rule, CountOptions { batch_bytes }).unwrap();
            assert_same(&c, &reference, &what);
            let rng = crate::generate::SplitMix64::new(batch_bytes as u64);
            let t = Trickle {
                data: log.as_bytes(),
                rng,
            };
            assert_same(
                &count_with(t, &rule, CountOptions { batch_bytes }).unwrap(),
                &reference,
                &what,
            );
        }
    }

    /// A reader returning at most a few bytes per call, so reads split lines everywhere.
    struct Trickle<'a> {
        data: &'a [u8],
        rng: crate::generate::SplitMix64,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (1 + self.rng.below(13) as usize)
                .min(buf.len())
                .min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn assert_same(a: &Counter, b: &Counter, what: &str) {
        assert_eq!(a.counts(), b.counts(), "{what}");
        assert_eq!(a.errors(), b.errors(), "{what}");
    }

    #[test]
    fn parallel_count_equals_reference_and_answer_key_at_any_batch_size() {
        for rule in rules() {
            for seed in [0, 7, u64::MAX] {
                let g = crate::generate::generate(&rule, 1200, seed);
                let log = g.text.as_bytes();
                let reference = count_reference(log, &rule).unwrap();
                // The generator's key assumes markers as `with_bot_markers` stores them, and a
                // path that normalises to itself.
                if rule.bot_markers.iter().all(|m| *m == m.to_lowercase())
                    && crate::rule::normalize_target(&rule.path).as_deref() == Some(&rule.path)
                {
                    assert_eq!(reference.counts(), &g.expected, "{rule:?} seed {seed}");
                }
                for batch_bytes in [1, 2, 3, 5, 64, 150, 4096, 1 << 20] {
                    let what = format!("{rule:?} seed {seed} batch {batch_bytes}");
                    let c = count_with(log, &rule, CountOptions { batch_bytes }).unwrap();
                    assert_same(&c, &reference, &what);
                }
                for batch_bytes in [1, 150, 4096] {
                    let what = format!("{rule:?} seed {seed} trickled, batch {batch_bytes}");
                    let rng = crate::generate::SplitMix64::new(seed);
                    let t = Trickle { data: log, rng };
                    let t = count_with(t, &rule, CountOptions { batch_bytes }).unwrap();
                    assert_same(&t, &reference, &what);
                }
                assert_same(&count_detailed(log, &rule).unwrap(), &reference, "default");
            }
        }
    }

    #[test]
    fn boundaries_long_lines_crlf_and_unterminated_ends() {
        let rule = rule();
        let ok = line("1.1.1.1", "GET /api/notes HTTP/1.1", "Mozilla");
        let crlf = ok.replace('\n', "\r\n");
        let long = |n: usize| format!("{}{}\n", ok.trim_end(), "a".repeat(n));
        let near = MAX_LINE - ok.trim_end().len();
        let logs: Vec<String> = vec![
            String::new(),
            "\n".into(),
            "\n\n\n".into(),
            ok.trim_end().into(),
            format!("{ok}{crlf}{ok}"),
            format!("{ok}{}{ok}", long(near)),
            format!("{ok}{}{ok}", long(near + 1)),
            format!("{}{}{}", long(3 * MAX_LINE), ok, long(MAX_LINE + 7)),
            format!("{ok}{}", long(2 * MAX_LINE).trim_end()),
            format!("{ok}{}", long(near).trim_end()),
            format!("{crlf}garbage\r\n\r\n{ok}"),
            format!("{}", "x".repeat(5 * MAX_LINE)),
        ];
        for (k, log) in logs.iter().enumerate() {
            let reference = count_reference(log.as_bytes(), &rule).unwrap();
            for batch_bytes in [1, 2, 17, 1000, MAX_LINE - 1, MAX_LINE + 1, 4 << 20] {
                let what = format!("log {k} batch {batch_bytes}");
                let opts = CountOptions { batch_bytes };
                assert_same(
                    &count_with(log.as_bytes(), &rule, opts).unwrap(),
                    &reference,
                    &what,
                );
                let rng = crate::generate::SplitMix64::new(k as u64);
                let t = Trickle {
                    data: log.as_bytes(),
                    rng,
                };
                assert_same(&count_with(t, &rule, opts).unwrap(), &reference, &what);
            }
        }
        let c = count(logs[7].as_bytes(), &rule).unwrap();
        assert_eq!((c.total_lines, c.malformed_lines, c.matched), (3, 2, 1));
        assert_eq!(c.first_malformed, vec![1, 3]);
    }

    #[test]
    fn gzip_input_counts_like_the_plain_log() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let rule = rule();
        let g = crate::generate::generate(&rule, 4000, 3);
        let gz = |data: &[u8]| {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let plain = count(decompressed(g.text.as_bytes()).unwrap(), &rule).unwrap();
        assert_eq!(plain, g.expected);
        let packed = gz(g.text.as_bytes());
        assert_eq!(
            count(decompressed(&packed[..]).unwrap(), &rule).unwrap(),
            g.expected
        );
        // Two members (a rotated log appended to another) are one log.
        let (a, b) = g.text.split_at(g.text.len() / 2);
        let mut two = gz(a.as_bytes());
        two.extend(gz(b.as_bytes()));
        assert_eq!(
            count(decompressed(&two[..]).unwrap(), &rule).unwrap(),
            g.expected
        );
        // Damaged gzip is a read error, not a wrong count.
        let mut bad = packed.clone();
        bad.truncate(bad.len() / 2);
        bad.extend(vec![0xAA; 100]);
        assert!(count(decompressed(&bad[..]).unwrap(), &rule).is_err());
        // A one-byte input is not mistaken for gzip.
        assert_eq!(
            count(decompressed(&b"\x1f"[..]).unwrap(), &rule)
                .unwrap()
                .total_lines,
            1
        );
    }

    #[test]
    fn read_errors_are_reported() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                buf[0] = b'\n';
                Ok(1)
            }
        }
        let e = count_with(Failing(5), &rule(), CountOptions { batch_bytes: 2 }).unwrap_err();
        assert!(e.to_string().contains("disk on fire"));
    }
}
