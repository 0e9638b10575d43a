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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use memchr::memmem;

#[cfg(doc)]
use crate::parse::parse_request;
use crate::parse::{is_token, MAX_LINE};
use crate::rule::{normalize_target_into, Cidr, Rule};
use crate::tally::Flags;

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
    /// The method and the space after it: a request's method and its space start with it
    /// exactly when the method is this one (a method is token characters, never a space).
    method: Literal,
    path: Literal,
    path_finder: memmem::Finder<'static>,
    /// Whether the path is ASCII (then a request without `%` and without the path is
    /// irrelevant before any decoding).
    path_is_ascii: bool,
    /// Whether the path normalises to itself (then a target equal to it names it without
    /// normalising; `/a//` does not: it is the rule's path, but normalises to `/a/`).
    path_normal: bool,
    bots: Bots,
    own: OwnNets,
    request_buf: Vec<u8>,
    ua_buf: Vec<u8>,
    norm: Vec<u8>,
}

/// The bot check of ASCII user agents, remembering what it found per line ending: a log repeats
/// a few user agents over and over, and recognising a remembered one costs a fraction of
/// reading its quoted field and searching it for every marker.
#[derive(Debug, Clone)]
struct Bots {
    /// Automaton over the bot markers (lower case), matching in any ASCII case; `None` when
    /// there are none.
    automaton: Option<AhoCorasick>,
    /// Recent line endings (the user-agent field and whatever follows it) as they are.
    seen: Seen,
    /// Recent line endings with their capitals folded ([`fold_case`]), asked when `seen` does
    /// not know an ending: bots write their names in ever new mixes of case (`GoogleBot`,
    /// `gOOglebot`), which fold to one ending.
    seen_folded: Seen,
    /// Scratch for the folded ending of the line at hand.
    folded: Vec<u8>,
}

/// Remembered line endings, in a number of slots picked by a hash of the ending, each with its
/// bot verdict (`None`: the user agent is not ASCII); only well-formed endings are kept. A
/// slot holds the last ending stored there, unless the ending in it was found again since it
/// was last spared (a second chance): the few endings a log repeats stay, however many
/// one-off endings (a bot's name in a new mix of case) come by. Empty until the first store.
#[derive(Debug, Clone)]
struct Seen {
    slots: Vec<Option<Slot>>,
    /// log2 of the number of slots.
    bits: u32,
}

#[derive(Debug, Clone)]
struct Slot {
    ending: Vec<u8>,
    verdict: Option<bool>,
    /// Found again since stored or last spared.
    used: bool,
}

impl Seen {
    fn new(bits: u32) -> Seen {
        Seen {
            slots: Vec::new(),
            bits,
        }
    }

    /// The slot of an ending with the hash `h` ([`ending_hash`]).
    fn slot(&self, h: u64) -> usize {
        (h >> (64 - self.bits)) as usize
    }

    /// The verdict remembered for `tail` (whose slot is `k`), if `tail` is the ending there.
    fn get(&mut self, k: usize, tail: &[u8]) -> Option<Option<bool>> {
        match self.slots.get_mut(k)? {
            Some(slot) if slot.ending[..] == *tail => {
                slot.used = true;
                Some(slot.verdict)
            }
            _ => None,
        }
    }

    fn put(&mut self, k: usize, tail: &[u8], verdict: Option<bool>) {
        if self.slots.is_empty() {
            self.slots.resize(1 << self.bits, None);
        }
        match &mut self.slots[k] {
            Some(slot) if slot.used => slot.used = false,
            Some(slot) => {
                slot.ending.clear();
                slot.ending.extend_from_slice(tail);
                slot.verdict = verdict;
            }
            empty => {
                *empty = Some(Slot {
                    ending: tail.to_vec(),
                    verdict,
                    used: false,
                })
            }
        }
    }
}

/// log2 of the slots of [`Bots::seen`]: a few hundred endings a log repeats.
const BOTS_SEEN_BITS: u32 = 8;
/// log2 of the slots of [`Bots::seen_folded`], asked only when `seen` does not know an ending:
/// more slots, so that the endings a log's bots fold to seldom share one.
const BOTS_SEEN_FOLDED_BITS: u32 = 10;
/// Longer line endings are read and searched every time, so the slots hold at most 128 KiB
/// and 512 KiB.
const BOTS_SEEN_LEN: usize = 512;

impl Bots {
    /// The user-agent field that starts `tail` (at its opening quote) and runs on to the end of
    /// the line: `None` when that is malformed (no quoted field, or something other than a
    /// space or a tab right after it); otherwise whether the user agent carries a bot marker
    /// (in any ASCII case), `None` when it is not ASCII (Unicode lowercasing can turn a
    /// non-ASCII letter into an ASCII one: the reference's to judge).
    ///
    /// Both answers depend on the bytes of `tail` only, so a remembered ending equal to `tail`
    /// byte for byte gives them without reading the field again; and they do not change when
    /// capitals are folded as [`fold_case`] folds them, so a remembered folded ending equal to
    /// the folded `tail` gives them too.
    fn user_agent(&mut self, tail: &[u8], buf: &mut Vec<u8>) -> Option<Option<bool>> {
        if tail.len() > BOTS_SEEN_LEN {
            return self.read_user_agent(tail, buf);
        }
        let k = self.seen.slot(ending_hash(tail));
        if let Some(verdict) = self.seen.get(k, tail) {
            return Some(verdict);
        }
        let mut folded = std::mem::take(&mut self.folded);
        fold_case(tail, &mut folded);
        let kf = self.seen_folded.slot(ending_hash(&folded));
        let verdict = match self.seen_folded.get(kf, &folded) {
            Some(verdict) => Some(verdict),
            None => self
                .read_user_agent(tail, buf)
                .inspect(|&verdict| self.seen_folded.put(kf, &folded, verdict)),
        };
        self.folded = folded;
        if let Some(verdict) = verdict {
            self.seen.put(k, tail, verdict);
        }
        verdict
    }

    /// [`Bots::user_agent`] without the memory: the field read (unescaped into `buf` when it
    /// has escapes) and searched.
    fn read_user_agent(&mut self, tail: &[u8], buf: &mut Vec<u8>) -> Option<Option<bool>> {
        let (ua, next) = quoted(tail, 0, buf)?;
        if next < tail.len() && tail[next] != b' ' && tail[next] != b'\t' {
            return None;
        }
        let ua = match ua {
            Field::Raw(r) => &tail[r],
            Field::Unescaped => &buf[..],
        };
        Some(self.verdict(ua))
    }

    /// Whether the user agent `ua` carries a bot marker; `None` when it is not ASCII.
    fn verdict(&mut self, ua: &[u8]) -> Option<bool> {
        let Some(automaton) = &self.automaton else {
            return Some(false);
        };
        if !ua.is_ascii() {
            return None;
        }
        Some(automaton.is_match(ua))
    }
}

/// The hash picking a line ending's slot of a [`Seen`] (its high bits): of the ending's length
/// and of eight bytes at five places from its start to its end (user agents differ there:
/// product, platform, version; and the same agent with its quotes escaped another way, as
/// `\"` or `\x22`, differs near its start), so hashing costs the same whatever the length.
/// Not for hostile collisions: one only costs a search.
fn ending_hash(ua: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let len = ua.len() as u64;
    let h = match ua.len().checked_sub(8) {
        // Fixed-size reads, all within the ending.
        Some(last) => [0, last / 4, last / 2, last / 4 * 3, last]
            .into_iter()
            .fold(len, |h, at| {
                mix(
                    h,
                    u64::from_le_bytes(ua[at..at + 8].try_into().expect("eight bytes")),
                )
            }),
        // `"-"`, `""`: shorter than a word.
        None => {
            let mut w = [0u8; 8];
            for (to, &b) in w.iter_mut().zip(ua) {
                *to = b;
            }
            mix(len, u64::from_le_bytes(w))
        }
    };
    h.wrapping_mul(K)
}

/// `text` into `out` with every ASCII capital but `X` in lower case, eight bytes at a time.
///
/// The bot verdict of a line ending does not change: markers are matched in any ASCII case,
/// the structure of the quoted field (quotes, backslashes, the byte after it) and which bytes
/// are ASCII stay; escapes read the same: `\"` and `\\` hold no letter, the hex digits of
/// `\xHH` have one value in either case, and `X` is kept so that `\X41` (a backslash and
/// three characters) does not become the escape `\x41`.
fn fold_case(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len());
    let (words, rest) = text.as_chunks::<8>();
    for w in words {
        out.extend_from_slice(&fold_case_word(u64::from_le_bytes(*w)).to_le_bytes());
    }
    out.extend(
        rest.iter()
            .map(|&b| b | u8::from(b.is_ascii_uppercase() & (b != b'X')) << 5),
    );
}

/// [`fold_case`] on the eight bytes of a word, without a branch per byte. Each byte's low seven
/// bits are compared by adding to them (no carry reaches the next byte); a byte with its high
/// bit set is no capital.
fn fold_case_word(w: u64) -> u64 {
    const LOW7: u64 = ONES * 0x7f;
    const HIGH: u64 = ONES << 7;
    let low = w & LOW7;
    let from_a = low + ONES * u64::from(0x80 - b'A');
    let past_z = low + ONES * u64::from(0x80 - b'Z' - 1);
    let not_x = ((w ^ (ONES * u64::from(b'X'))) & LOW7) + LOW7;
    let capital = from_a & !past_z & !w & not_x & HIGH;
    w | capital >> 2
}

/// The own networks as (network, mask) pairs over clients written as IPv6 numbers
/// ([`client_number`]: an IPv4 address as its IPv4-mapped form): a client is tested with an
/// AND and a comparison per network, without a branch on its family (which varies from line
/// to line), where [`Cidr::contains`] matches both addresses' kinds each time. The same answers:
/// an IPv4 network `a/p` is `::ffff:a/96+p`, which holds the mapped forms only, and an IPv6
/// network never holds a mapped address (the reference reads that as the IPv4 address it
/// carries, outside every IPv6 network).
#[derive(Debug, Clone, Default)]
struct OwnNets {
    /// (network, mask, whether the network is IPv6).
    nets: Vec<(u128, u128, bool)>,
}

/// `::ffff:0:0/96`, the IPv4-mapped addresses.
const MAPPED: u128 = 0xffff << 32;
const MAPPED_MASK: u128 = u128::MAX << 32;

/// A client address as the number [`OwnNets`] tests: an IPv6 address as it is, an IPv4 address
/// as its IPv4-mapped form.
fn client_number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => MAPPED | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl OwnNets {
    fn new(nets: &[Cidr]) -> OwnNets {
        let mut own = OwnNets::default();
        for net in nets {
            let p = u32::from(net.prefix());
            own.nets.push(match net.addr() {
                IpAddr::V4(a) => {
                    let mask =
                        MAPPED_MASK | u128::from(u32::MAX.checked_shl(32 - p.min(32)).unwrap_or(0));
                    (client_number(IpAddr::V4(a)) & mask, mask, false)
                }
                IpAddr::V6(a) => {
                    let mask = u128::MAX.checked_shl(128 - p.min(128)).unwrap_or(0);
                    (u128::from(a) & mask, mask, true)
                }
            });
        }
        own
    }

    /// Whether the client numbered `client` ([`client_number`]) is in one of the networks.
    fn contains(&self, client: u128) -> bool {
        let mapped = client & MAPPED_MASK == MAPPED;
        self.nets.iter().fold(false, |found, &(net, mask, v6)| {
            found | ((client & mask == net) & !(v6 & mapped))
        })
    }
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
                // One pass over the user agent as it is, ignoring ASCII case, with a DFA (a
                // table lookup per byte) and no prefilter: on user agents (short, and where
                // bots are, holding a marker) that beats lowercasing a copy and searching it
                // with a prefilter by about three to one.
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .kind(Some(AhoCorasickKind::DFA))
                    .prefilter(false)
                    .build(&markers)
                    .expect("bot markers are bounded by the command line"),
            )
        };
        Matcher {
            method: Literal(format!("{} ", rule.method).into_bytes()),
            path: Literal(rule.path.as_bytes().to_vec()),
            path_finder: memmem::Finder::new(rule.path.as_bytes()).into_owned(),
            path_is_ascii: rule.path.is_ascii(),
            path_normal: crate::rule::normalize_target(&rule.path).as_deref() == Some(&rule.path),
            bots: Bots {
                automaton: bots,
                seen: Seen::new(BOTS_SEEN_BITS),
                seen_folded: Seen::new(BOTS_SEEN_FOLDED_BITS),
                folded: Vec::new(),
            },
            own: OwnNets::new(&rule.own_networks),
            request_buf: Vec::new(),
            ua_buf: Vec::new(),
            norm: Vec::new(),
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
        // malformed (the reference says why). A dotted quad is read in place; anything else
        // goes through std's parser, as in the reference.
        let (client, sp) = match ipv4_prefix(line) {
            Some((v4, sp)) => (client_number(v4), sp),
            None => {
                let sp = find_byte(line, b' ')?;
                let text = &line[..sp];
                match ipv6_hex(text) {
                    Some(v6) => (u128::from(v6), sp),
                    None => match mapped_ipv4(line, sp) {
                        Some(client) => (client, sp),
                        None => (client_number(parse_addr(text)?), sp),
                    },
                }
            }
        };
        let mut i = sp + 1;
        // The ident token and its space (nearly always `- `).
        if line.get(i..i + 2) == Some(b"- ") {
            i += 2;
        } else {
            i += find_byte(line.get(i..)?, b' ')? + 1;
        }
        // `$remote_user` runs up to the first " [" (nearly always `-`).
        if line.get(i..i + 3) == Some(b"- [") {
            i += 3;
        } else {
            i = user_end(line, i)?;
        }
        // `$time_local` up to the first `]`, never empty.
        let time_len = find_byte(line.get(i..)?, b']')?;
        if time_len == 0 {
            return None;
        }
        i += time_len + 1;
        i = expect_space(line, i)?;
        // The request, read once: its end, and its method and target when it has no backslash
        // (else it is unescaped into the buffer and split there, later).
        let (request, next) = match request_field(line, i)? {
            RequestField::Parts {
                method,
                target,
                percent,
                end,
            } => (Request::Parts(method, target, percent), end),
            RequestField::Other { end } => (Request::None, end),
            RequestField::Escaped => match quoted(line, i, &mut self.request_buf)? {
                (Field::Raw(r), end) => (Request::Split(r), end),
                (Field::Unescaped, end) => (Request::Unescaped, end),
            },
        };
        i = expect_space(line, next)?;
        // Exactly three digits, then a space.
        let status = line.get(i..i + 4)?;
        if !status[..3].iter().all(u8::is_ascii_digit) || status[3] != b' ' {
            return None;
        }
        i += 4;
        // `-`, or 1 to 19 digits (any such number fits a u64; longer ones are the reference's
        // to judge), then a space.
        if line.get(i..i + 2) == Some(b"- ") {
            i += 2;
        } else {
            let digits = leading_digits(&line[i..]);
            if digits == 0 || digits > 19 || line.get(i + digits) != Some(&b' ') {
                return None;
            }
            i += digits + 1;
        }
        // The referer (its value is not needed; nearly always `"-"`).
        let next = if line.get(i..i + 3) == Some(b"\"-\"") {
            i + 3
        } else {
            skip_quoted(line, i)?
        };
        i = expect_space(line, next)?;
        // The user agent and the end of the line (often remembered: then not read again).
        let bot = self.bots.user_agent(&line[i..], &mut self.ua_buf)?;

        // The reference splits the lossily decoded request; spaces, the method's characters and
        // `HTTP/` are ASCII, which lossy decoding keeps, so splitting the bytes agrees. A line
        // whose request is not `METHOD TARGET HTTP/x` is well-formed and counts nowhere.
        let parts = match request {
            Request::Parts(m, t, percent) => Some((&line[m], &line[t], percent)),
            Request::None => None,
            Request::Split(r) => request_parts(&line[r]).map(RequestParts::into_tuple),
            Request::Unescaped => request_parts(&self.request_buf).map(RequestParts::into_tuple),
        };
        let Some((method, target, percent)) = parts else {
            return Some(Scan::Irrelevant);
        };
        let path = &self.path;
        // Both without a branch on the lengths (varying from line to line): a prefix test,
        // then whether anything is left.
        let method_ok = self.method.strip_from(method).is_some();
        let after_path = path.strip_from(target);
        let exact = after_path.is_some_and(<[u8]>::is_empty);
        let (contains, path_ok) = match after_path {
            // The path followed by nothing, one slash, a query or a fragment is the path; the
            // path followed by anything else is not (normalising only cuts a query or fragment,
            // decodes escapes into one character each and drops one trailing slash), whether
            // the rest is UTF-8 or not (lossy decoding keeps the path, a complete UTF-8 text
            // starting with an ASCII `/`, and the ASCII `?`, `#` and `/`).
            Some(rest) if self.path_normal => (true, path_follows(rest)),
            _ => {
                let contains = exact || self.path_finder.find(target).is_some();
                // A target that neither names the path nor contains it cannot change a count.
                // Without a `%`, the normalised target is a piece of the target (or `/` from
                // an absolute-form target, which holds a `/` itself), so it equals the path
                // only if the target contains the path; with an ASCII path, lossy UTF-8
                // decoding (which only inserts non-ASCII replacement characters) cannot make
                // one appear.
                if self.path_is_ascii && !percent && !contains {
                    return Some(Scan::Irrelevant);
                }
                let path_ok = if self.path_normal && self.path_is_ascii && !percent {
                    // Without a `%`, normalising only cuts the scheme and authority of an
                    // absolute-form target, the query or fragment and one trailing slash: the
                    // target names the path as its origin-form part does. A target that is not
                    // absolute and does not start with the path cannot name it (lossy decoding
                    // keeps the ASCII bytes, in order, and turns no other byte into one).
                    path.strip_from(origin_form(target))
                        .is_some_and(path_follows)
                } else {
                    // Normalised as the reference normalises the lossily decoded target: the
                    // same bytes for a UTF-8 target, and for an ASCII path the same answer on
                    // any target (see normalize_target_into); a target that is not UTF-8 and a
                    // path that is not ASCII are the reference's to judge.
                    if !self.path_is_ascii {
                        std::str::from_utf8(target).ok()?;
                    }
                    normalize_target_into(target, &mut self.norm) && path.is(&self.norm)
                };
                (contains, path_ok)
            }
        };
        // Counts::add ignores a request that names another path, unless its target contains
        // the path with the right method (`exact` implies `contains`).
        if !(path_ok || (method_ok && contains)) {
            return Some(Scan::Irrelevant);
        }
        let bot = bot?;
        let own = self.own.contains(client);
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

/// Whether a target made of a path that normalises to itself followed by `rest` names that path
/// (see [`crate::rule::normalize_target`]).
fn path_follows(rest: &[u8]) -> bool {
    matches!(
        rest,
        [] | [b'/'] | [b'?' | b'#', ..] | [b'/', b'?' | b'#', ..]
    )
}

/// A string of the rule the scan compares with every request (the method, the path), compared
/// without a call into `memcmp` when it is short: a word or two of each side, where the call
/// costs more than the comparison and mispredicts on the lengths.
#[derive(Debug, Clone)]
struct Literal(Vec<u8>);

impl Literal {
    /// Whether `text` is this string.
    #[inline(always)]
    fn is(&self, text: &[u8]) -> bool {
        text.len() == self.0.len() && same_bytes(text, &self.0)
    }

    /// What follows this string in `text`, when `text` starts with it.
    // Inlined at each use: the branch on the length then always goes one way there.
    #[inline(always)]
    fn strip_from<'t>(&self, text: &'t [u8]) -> Option<&'t [u8]> {
        let n = self.0.len();
        let head = text.get(..n)?;
        same_bytes(head, &self.0).then(|| &text[n..])
    }
}

/// Whether two slices of the same length hold the same bytes. Lengths up to 16 (those of
/// methods and of most paths) are compared as two overlapping words (or half-words, or bytes)
/// of each side; the branch on the length always goes the same way for one rule.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
    match n {
        0..=3 => a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) == 0,
        4..=7 => (half(a, 0) ^ half(b, 0)) | (half(a, n - 4) ^ half(b, n - 4)) == 0,
        8..=16 => (word(a, 0) ^ word(b, 0)) | (word(a, n - 8) ^ word(b, n - 8)) == 0,
        _ => a == b,
    }
}

/// The part of a target [`crate::rule::normalize_target`] keeps of an absolute-form target
/// (`http://host/path?q`: from the first `/` after the authority, or `/` when a query, a
/// fragment or the end comes first); any other target as it is.
fn origin_form(target: &[u8]) -> &[u8] {
    // Origin-form targets (nearly all) start with `/`: the schemes are not compared then.
    let n = if target.first() == Some(&b'/') {
        return target;
    } else if starts_with_ignore_case(target, b"http://") {
        7
    } else if starts_with_ignore_case(target, b"https://") {
        8
    } else {
        return target;
    };
    let after = &target[n..];
    // The authority is a host name or more: searched a word at a time.
    match find_byte3(after, b'/', b'?', b'#') {
        Some(k) if after[k] == b'/' => &after[k..],
        _ => b"/",
    }
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Where the request of a line is, for [`Matcher::try_scan`].
enum Request {
    /// Read in one pass ([`request_field`]): the method with its space and the target (ranges
    /// of the line) and whether the target holds a `%`.
    Parts(Range<usize>, Range<usize>, bool),
    /// Not a `METHOD TARGET HTTP/x` request.
    None,
    /// A field [`quoted`] read without unescaping anything, to split: these bytes of the line.
    Split(Range<usize>),
    /// A field with escapes, undone into the scratch buffer, to split there.
    Unescaped,
}

/// What one pass over a request field found.
#[derive(Debug, PartialEq, Eq)]
enum RequestField {
    /// A `METHOD TARGET HTTP/…` request without a backslash: its method with the space after it
    /// and its target (ranges of the line), whether the target holds a `%`, and the index after
    /// the closing quote.
    Parts {
        method: Range<usize>,
        target: Range<usize>,
        percent: bool,
        end: usize,
    },
    /// A field without a backslash that is not such a request; the index after its closing
    /// quote.
    Other { end: usize },
    /// The field holds a backslash (maybe an escape): for [`quoted`] and [`request_parts`].
    Escaped,
}

/// The request field starting at `i` (its opening quote) in one pass: the method's token
/// characters, then the target up to its space (noting a `%`), then the protocol up to the
/// closing quote — where [`quoted`] then [`request_parts`] read the field twice. It agrees
/// with them on every field without a backslash (the value is then the raw bytes, and
/// [`parse_request`] splits it at exactly two spaces); a backslash anywhere is left to them.
/// `None` when there is no opening or no closing quote (malformed).
fn request_field(line: &[u8], i: usize) -> Option<RequestField> {
    if line.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    // The rest of a field that is not a request: its closing quote, unless a backslash comes
    // first.
    let other = |from: usize| {
        let k = from + find_byte2(&line[from..], b'"', b'\\')?;
        Some(if line[k] == b'"' {
            RequestField::Other { end: k + 1 }
        } else {
            RequestField::Escaped
        })
    };
    // The method: token characters (never a quote or a backslash), then one space.
    let m = start + line[start..].iter().position(|&b| !is_token(b))?;
    if m == start || line[m] != b' ' {
        return other(m);
    }
    // The target: up to the next space, a quote or a backslash, noting a `%` on the way.
    let t = m + 1;
    let mut k = t;
    let mut percent = false;
    loop {
        k += find_byte4(&line[k..], b' ', b'%', b'"', b'\\')?;
        if line[k] != b'%' {
            break;
        }
        percent = true;
        k += 1;
    }
    match line[k] {
        b'"' => return Some(RequestField::Other { end: k + 1 }),
        b'\\' => return Some(RequestField::Escaped),
        _ if k == t => return other(k), // an empty target
        _ => {}
    }
    // The protocol: `HTTP/`, then anything but a space up to the closing quote.
    let p = k + 1;
    let e = match line.get(p..p + 9) {
        // The usual protocols (`HTTP/1.1`, `HTTP/2.0`) and the closing quote, without a search.
        Some(&[b'H', b'T', b'T', b'P', b'/', x, y, z, b'"'])
            if ![x, y, z].iter().any(|b| matches!(b, b' ' | b'"' | b'\\')) =>
        {
            p + 8
        }
        _ => {
            if line.get(p..p + 5) != Some(b"HTTP/") {
                return other(p);
            }
            p + 5 + find_byte3(&line[p + 5..], b' ', b'"', b'\\')?
        }
    };
    match line[e] {
        b'"' => Some(RequestField::Parts {
            method: start..m + 1,
            target: t..k,
            percent,
            end: e + 1,
        }),
        b'\\' => Some(RequestField::Escaped),
        _ => other(e),
    }
}

/// The parts of a request line the counting needs.
struct RequestParts<'a> {
    /// The method and the space after it.
    method: &'a [u8],
    target: &'a [u8],
    /// Whether the target holds a `%` (then its normalised form may name the path without
    /// containing it).
    percent: bool,
}

impl<'a> RequestParts<'a> {
    fn into_tuple(self) -> (&'a [u8], &'a [u8], bool) {
        (self.method, self.target, self.percent)
    }
}

/// [`parse_request`] on bytes: the method (with its space) and target of a `METHOD TARGET HTTP/…` request
/// (exactly two spaces, a non-empty method of token characters and a non-empty target).
fn request_parts(request: &[u8]) -> Option<RequestParts<'_>> {
    // The method is short: a byte loop beats a search call.
    let a = request.iter().position(|&b| !is_token(b))?;
    if a == 0 || request[a] != b' ' {
        return None;
    }
    let rest = &request[a + 1..];
    // The target ends at the next space; a `%` before it is noted on the way.
    let (b, percent) = match find_byte2(rest, b' ', b'%')? {
        k if rest[k] == b' ' => (k, false),
        k => (k + 1 + find_byte(&rest[k + 1..], b' ')?, true),
    };
    let (target, protocol) = (&rest[..b], &rest[b + 1..]);
    if target.is_empty() || !protocol.starts_with(b"HTTP/") || find_byte(protocol, b' ').is_some() {
        return None;
    }
    Some(RequestParts {
        method: &request[..=a],
        target,
        percent,
    })
}

/// The client number of an address written `::ffff:` and a dotted quad (how IPv4-mapped
/// addresses are usually written), read in place, when `line` starts with one that ends at its
/// first space `sp`: std reads such a text as that address. `None` for anything else, which is
/// then std's to judge.
fn mapped_ipv4(line: &[u8], sp: usize) -> Option<u128> {
    const MAPPED_TEXT: &[u8] = b"::ffff:";
    let (v4, end) = ipv4_prefix(line.strip_prefix(MAPPED_TEXT)?)?;
    (MAPPED_TEXT.len() + end == sp).then(|| client_number(v4))
}

/// The reference's address parse (std's, on the lossy text; lossy text with a replacement
/// character never parses, so invalid UTF-8 is simply `None`).
fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// An IPv6 address written with hex digits and colons only (no embedded IPv4), exactly as
/// std accepts it: eight groups of one to four hex digits, or fewer around one `::` that
/// stands for at least one zero group. `None` for anything else, which is then std's to judge.
fn ipv6_hex(text: &[u8]) -> Option<Ipv6Addr> {
    // Every byte classified by a table lookup, without stopping early: a comparison per byte
    // whose outcome changes from digit to letter to colon mispredicts several times a line.
    if text.len() < 2
        || text.len() > 39
        || text
            .iter()
            .fold(0, |roles, &b| roles | HEX_COLON[usize::from(b)])
            & NOT_HEX_COLON
            != 0
    {
        return None;
    }
    /// Groups separated by single colons into `out`; how many (none for an empty text).
    fn groups(text: &[u8], out: &mut [u16]) -> Option<usize> {
        if text.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for group in text.split(|&b| b == b':') {
            if group.is_empty() || group.len() > 4 || n == out.len() {
                return None;
            }
            out[n] = group.iter().fold(0u16, |v, &b| {
                v << 4 | u16::from(HEX_COLON[usize::from(b)] & 0xf)
            });
            n += 1;
        }
        Some(n)
    }
    let mut all = [0u16; 8];
    match text.windows(2).position(|w| w == b"::") {
        None => {
            if groups(text, &mut all)? != 8 {
                return None;
            }
        }
        Some(k) => {
            // At most seven groups around the `::`, which is at least one zero group.
            let head = groups(&text[..k], &mut all[..7])?;
            let mut tail = [0u16; 7];
            let n = groups(&text[k + 2..], &mut tail[..7 - head])?;
            all[8 - n..].copy_from_slice(&tail[..n]);
        }
    }
    Some(Ipv6Addr::from(all))
}

/// [`HEX_COLON`]'s entry for `:`.
const COLON: u8 = 0x10;
/// [`HEX_COLON`]'s flag of a byte that is neither a hex digit nor `:`.
const NOT_HEX_COLON: u8 = 0x80;

/// Each byte's role in the hex form of an IPv6 address: its value for a hex digit (either
/// case), [`COLON`] for `:`, [`NOT_HEX_COLON`] for anything else.
const HEX_COLON: [u8; 256] = {
    let mut table = [NOT_HEX_COLON; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b':' => COLON,
            _ => NOT_HEX_COLON,
        };
        b += 1;
    }
    table
};

/// The index of the first `needle` in `hay`, eight bytes at a time: the fields of a log line
/// are short, and for short spans a word-at-a-time loop costs less than a call into a vector
/// search (which wins only on long spans).
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES * u64::from(needle);
    find_in_words(hay, |w| zero_bytes(w ^ pattern), |b| b == needle)
}

/// [`find_byte`] for the first of two bytes.
#[inline]
fn find_byte2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let (pa, pb) = (ONES * u64::from(a), ONES * u64::from(b));
    find_in_words(
        hay,
        |w| zero_bytes(w ^ pa) | zero_bytes(w ^ pb),
        |x| x == a || x == b,
    )
}

/// [`find_byte`] for the first of three bytes.
#[inline]
fn find_byte3(hay: &[u8], a: u8, b: u8, c: u8) -> Option<usize> {
    let (pa, pb, pc) = (
        ONES * u64::from(a),
        ONES * u64::from(b),
        ONES * u64::from(c),
    );
    find_in_words(
        hay,
        |w| zero_bytes(w ^ pa) | zero_bytes(w ^ pb) | zero_bytes(w ^ pc),
        |x| x == a || x == b || x == c,
    )
}

/// [`find_byte`] for the first of four bytes.
#[inline]
fn find_byte4(hay: &[u8], a: u8, b: u8, c: u8, d: u8) -> Option<usize> {
    let p = |x: u8| ONES * u64::from(x);
    let (pa, pb, pc, pd) = (p(a), p(b), p(c), p(d));
    find_in_words(
        hay,
        |w| zero_bytes(w ^ pa) | zero_bytes(w ^ pb) | zero_bytes(w ^ pc) | zero_bytes(w ^ pd),
        |x| x == a || x == b || x == c || x == d,
    )
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each zero byte of `word` set. Bytes above a zero byte may be flagged
/// wrongly (a borrow), never bytes below it: the lowest flag is always the first zero byte.
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & (ONES << 7)
}

/// The first byte of `hay` that `flags` marks in its little-endian words (the lowest flag of a
/// word must be exact), or that `is` accepts in the tail shorter than a word.
#[inline(always)]
fn find_in_words(hay: &[u8], flags: impl Fn(u64) -> u64, is: impl Fn(u8) -> bool) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let found = flags(u64::from_le_bytes(
            chunk.try_into().expect("chunks of eight"),
        ));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is(b))
        .map(|k| at + k)
}

/// The dotted-quad IPv4 address that starts `line` and ends at its first space, read exactly
/// as std reads the text before that space (four decimal parts of 1–3 digits, each at most 255,
/// no leading zero), with the index of the space. `None` for anything else, which is then
/// std's to judge.
// Inlined at both uses (the client's first read, and after `::ffff:`): as a call it costs a
// quarter more.
#[inline(always)]
fn ipv4_prefix(line: &[u8]) -> Option<(IpAddr, usize)> {
    // An address and its space fit in 16 bytes; a shorter line is padded with zero bytes
    // (neither digits nor separators, as the end of the line is to the parts' tests).
    let mut padded = [0u8; 16];
    let head: &[u8; 16] = match line.get(..16) {
        Some(h) => h.try_into().expect("sixteen bytes"),
        None => {
            padded[..line.len()].copy_from_slice(line);
            &padded
        }
    };
    // Four parts, each then its separator (`.` after the first three, the space after the
    // last), read without a branch on how many digits each has: the digit counts change from
    // line to line and such branches mispredict; one test of the whole at the end.
    let mut addr: u32 = 0;
    let mut at = 0;
    let mut ok = true;
    for sep in [b'.', b'.', b'.', b' '] {
        let (octet, end, good) = ipv4_octet(head, at);
        ok &= good & (head[end] == sep);
        addr = addr << 8 | octet;
        at = end + 1;
    }
    ok.then_some((IpAddr::V4(Ipv4Addr::from(addr)), at - 1))
}

/// The decimal part of a dotted quad at `at` (at most 12) as std reads it (1–3 digits, no
/// leading zero, at most 255): its value, the index after its digits (at most three of them)
/// and whether it is one; computed without branches.
#[inline(always)]
fn ipv4_octet(head: &[u8; 16], at: usize) -> (u32, usize, bool) {
    let d = |k: usize| u32::from(head[at + k].wrapping_sub(b'0'));
    let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3));
    let is = |d: u32| u32::from(d < 10);
    // Leading digits, 0 to 4.
    let n = is(d0) * (1 + is(d1) * (1 + is(d2) * (1 + is(d3))));
    let len = n.min(3);
    // The value of the first `len` digits, chosen by multiplying by 0 or 1 (digits past the
    // part may be any byte: they are multiplied by 0).
    let two = d0 * 10 + d1;
    let v = d0 + u32::from(len >= 2) * (two - d0) + u32::from(len >= 3) * (two * 9 + d2);
    let len = len as usize;
    let good = (n.wrapping_sub(1) < 3) & ((n == 1) | (d0 != 0)) & (v <= 255);
    (v, at + len, good)
}

/// How many ASCII digits `text` starts with, counted up to 20. Eight bytes are read at once
/// and the digits counted from a mask, without a branch per digit: body sizes have one to
/// five digits, changing from line to line, and a loop's exit mispredicts then.
fn leading_digits(text: &[u8]) -> usize {
    let word = match text.get(..8) {
        // A fixed-size read: no call to copy a piece of variable length.
        Some(w) => u64::from_le_bytes(w.try_into().expect("eight bytes")),
        None => {
            let mut w = [0u8; 8];
            w[..text.len()].copy_from_slice(text);
            u64::from_le_bytes(w)
        }
    };
    // A byte is a digit when it is `0` to `9`: XORed with `0`, under 10. The high bit of each
    // byte of `not_digit` is set for the others (adding to the low seven bits carries into
    // the high bit from 10 up, and never into the next byte).
    let x = word ^ (ONES * u64::from(b'0'));
    let low = x & (ONES * 0x7f);
    let not_digit = ((low + ONES * 0x76) | x) & (ONES << 7);
    // Padding (zero bytes) is no digit, so a short text is counted right.
    let n = (not_digit.trailing_zeros() / 8) as usize;
    if n < 8 {
        n
    } else {
        8 + text[8..]
            .iter()
            .take(12)
            .take_while(|b| b.is_ascii_digit())
            .count()
    }
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
        let k = i + find_byte2(&line[i..], b'"', b'\\')?;
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
        let k = i + find_byte2(&line[i..], b'"', b'\\')?;
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
    fn ipv4_prefix_agrees_with_std_wherever_it_answers() {
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
            "1.2.3.4567",
            "111.222.233.244",
            "111.222.233.2444",
            "",
        ];
        let mut rng = crate::generate::SplitMix64::new(5);
        let mut cases: Vec<Vec<u8>> = fixed.iter().map(|s| s.as_bytes().to_vec()).collect();
        for _ in 0..200_000 {
            let len = rng.below(19) as usize;
            cases.push(
                (0..len)
                    .map(|_| *rng.pick(b"0123456789012345678901234567890.....x "))
                    .collect(),
            );
        }
        for c in cases {
            // The reference reads the address up to the first space.
            let token = c.split(|&b| b == b' ').next().unwrap_or_default();
            let std_says = std::str::from_utf8(token)
                .ok()
                .and_then(|s| s.parse::<Ipv4Addr>().ok());
            let line = [&c[..], b" - - [t]"].concat();
            let text = String::from_utf8_lossy(&c);
            match ipv4_prefix(&line) {
                Some((addr, sp)) => {
                    assert_eq!(Some(addr), std_says.map(IpAddr::V4), "{text}");
                    assert_eq!(sp, token.len(), "{text}");
                }
                None => assert_eq!(std_says, None, "{text}"),
            }
        }
    }

    #[test]
    fn ipv6_agrees_with_std_wherever_it_answers() {
        let fixed = [
            "::",
            "::1",
            "1::",
            ":::",
            "1:::2",
            "::1:",
            ":1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "1::2::3",
            "2001:db8::1",
            "2001:DB8:0:0:0:0:0:1",
            "12345::1",
            "0000:0000::ffff",
            "fd00:1234:5678::abcd",
            "::ffff:10.1.2.3",
            "g::1",
            ":",
        ];
        let mut rng = crate::generate::SplitMix64::new(6);
        let mut cases: Vec<Vec<u8>> = fixed.iter().map(|s| s.as_bytes().to_vec()).collect();
        for _ in 0..300_000 {
            let len = rng.below(42) as usize;
            cases.push(
                (0..len)
                    .map(|_| *rng.pick(b"0123456789abcdefABCDEF0:0:0:::::.g"))
                    .collect(),
            );
        }
        for c in cases {
            let std_says = std::str::from_utf8(&c)
                .ok()
                .and_then(|s| s.parse::<Ipv6Addr>().ok());
            let text = String::from_utf8_lossy(&c);
            match ipv6_hex(&c) {
                Some(v6) => assert_eq!(Some(v6), std_says, "{text}"),
                // Only texts with other characters than hex digits and colons are left to std.
                None => assert!(
                    std_says.is_none() || c.iter().any(|&b| b != b':' && !b.is_ascii_hexdigit()),
                    "{text}"
                ),
            }
        }
    }

    /// `::ffff:` and a dotted quad read in place as std reads the text before the first space.
    #[test]
    fn mapped_dotted_quads_agree_with_std() {
        let mut rng = crate::generate::SplitMix64::new(19);
        for _ in 0..200_000 {
            let mut line = rng
                .pick(&["::ffff:", "::FFFF:", "::fff:", "::ffff::", ""])
                .to_string();
            for _ in 0..rng.below(18) {
                line.push(*rng.pick(&['1', '2', '5', '0', '9', '.', '.', ':', 'f']));
            }
            line.push_str(rng.pick::<&str>(&[" - - [t]", "", "  "]));
            let sp = line.find(' ');
            let text = &line[..sp.unwrap_or(line.len())];
            let fast = sp.and_then(|sp| mapped_ipv4(line.as_bytes(), sp));
            // Read in place: the lower-case prefix and a dotted quad, up to a space.
            let form = text
                .strip_prefix("::ffff:")
                .and_then(|quad| quad.parse::<Ipv4Addr>().ok());
            let expected = sp.and(form).map(|a| client_number(IpAddr::V4(a)));
            assert_eq!(fast, expected, "{line}");
            if fast.is_some() {
                let std_says = text.parse::<Ipv6Addr>().ok().map(u128::from);
                assert_eq!(fast, std_says, "{line}");
            }
        }
        let line = b"::ffff:10.1.2.3 - - [t]";
        assert_eq!(
            mapped_ipv4(line, 15),
            Some(client_number("10.1.2.3".parse().unwrap()))
        );
    }

    #[test]
    fn a_path_followed_by_a_rest_names_it_as_normalising_says() {
        let mut rng = crate::generate::SplitMix64::new(8);
        for path in ["/api/notes", "/", "/a%2Fb", "/caf\u{e9}"] {
            assert_eq!(crate::rule::normalize_target(path).as_deref(), Some(path));
            for _ in 0..100_000 {
                let len = rng.below(6) as usize;
                let rest: Vec<u8> = (0..len).map(|_| *rng.pick(b"/?#%2fFA.x\xff\xc3")).collect();
                let mut target = path.as_bytes().to_vec();
                target.extend_from_slice(&rest);
                let lossy = String::from_utf8_lossy(&target);
                assert_eq!(
                    path_follows(&rest),
                    crate::rule::normalize_target(&lossy).as_deref() == Some(path),
                    "{lossy}"
                );
            }
        }
    }

    /// The shortcut for targets without `%`: the origin-form part starting with the path and
    /// followed by what [`path_follows`] accepts, exactly when the (lossily decoded) target
    /// normalises to the path.
    #[test]
    fn a_target_without_percent_names_the_path_as_normalising_says() {
        let mut rng = crate::generate::SplitMix64::new(12);
        let starts: [&[u8]; 8] = [
            b"",
            b"http://",
            b"HTTPS://",
            b"http:/",
            b"https://h\xff:1",
            b"http://h",
            b"hTtP://a.b",
            b"ftp://",
        ];
        for path in ["/api/notes", "/", "/a"] {
            for _ in 0..200_000 {
                let mut target = rng.pick(&starts[..]).to_vec();
                let pieces: [&[u8]; 8] = [
                    path.as_bytes(),
                    b"/",
                    b"?",
                    b"#",
                    b"x",
                    b"\xff",
                    b"\xc3",
                    b"api",
                ];
                for _ in 0..rng.below(4) {
                    let piece = pieces[rng.below(pieces.len() as u64) as usize];
                    target.extend_from_slice(piece);
                }
                let lossy = String::from_utf8_lossy(&target);
                let reference = crate::rule::normalize_target(&lossy).as_deref() == Some(path);
                let fast = origin_form(&target)
                    .strip_prefix(path.as_bytes())
                    .is_some_and(path_follows);
                assert_eq!(fast, reference, "{path}: {lossy}");
            }
        }
    }

    /// Normalising the bytes of a target, as the fast path does for an ASCII path: the same
    /// answer as normalising the lossily decoded target (escapes, absolute forms, queries,
    /// trailing slashes, bytes that are not UTF-8 anywhere).
    #[test]
    fn normalising_bytes_names_an_ascii_path_as_normalising_text_does() {
        let mut rng = crate::generate::SplitMix64::new(18);
        // Pieces between `|`.
        let pieces: Vec<&[u8]> =
            b"/api/notes|/|%6E|%6e|%2F|%|%4|%C3%A9|?|#|http://|HTTPS://h|h:1|\xff|\xc3|\xc3\xa9|otes|~"
                .split(|&b| b == b'|')
                .collect();
        let mut out = Vec::new();
        for path in ["/api/notes", "/", "/api/n%2Fotes", "/~x"] {
            for _ in 0..200_000 {
                let mut target = Vec::new();
                for _ in 0..rng.below(6) {
                    target.extend_from_slice(rng.pick::<&[u8]>(&pieces));
                }
                let lossy = String::from_utf8_lossy(&target);
                let reference = crate::rule::normalize_target(&lossy);
                let fast = normalize_target_into(&target, &mut out);
                assert_eq!(
                    fast && out == path.as_bytes(),
                    reference.as_deref() == Some(path),
                    "{path}: {lossy}"
                );
                if let Ok(text) = std::str::from_utf8(&target) {
                    let bytes = fast.then(|| String::from_utf8(out.clone()).unwrap());
                    assert_eq!(bytes, crate::rule::normalize_target(text), "{text}");
                }
            }
        }
    }

    /// The one-pass read of the request field against the two passes it replaces ([`quoted`]
    /// then [`request_parts`]): the same end, the same method and target, the same `%`
    /// note, on random fields — including ones the line ends inside (the end of a batch
    /// never cuts a line, but a truncated line ends anywhere).
    #[test]
    fn reading_the_request_once_agrees_with_reading_it_twice() {
        let mut rng = crate::generate::SplitMix64::new(13);
        let pieces: [&[u8]; 16] = [
            b"GET",
            b"get",
            b" ",
            b"/api/notes",
            b"%6E",
            b"%",
            b"?q=1",
            b"HTTP/1.1",
            b"HTTP/",
            b"\\\"",
            b"\\x20",
            b"\\",
            b"\"",
            b"\xff",
            b"-",
            b"http://h",
        ];
        let mut buf = Vec::new();
        for _ in 0..300_000 {
            let mut line = b"1.2.3.4 \"".to_vec();
            let start = line.len() - 1;
            for _ in 0..rng.below(9) {
                line.extend_from_slice(rng.pick::<&[u8]>(&pieces));
            }
            if rng.below(4) != 0 {
                line.extend_from_slice(b"\" 200 1");
            }
            let shown = String::from_utf8_lossy(&line).into_owned();
            let twice = quoted(&line, start, &mut buf).map(|(field, end)| {
                let value = match field {
                    Field::Raw(ref r) => line[r.clone()].to_vec(),
                    Field::Unescaped => buf.clone(),
                };
                let parts = request_parts(&value)
                    .map(|p| (p.method.to_vec(), p.target.to_vec(), p.percent));
                (parts, end, matches!(field, Field::Unescaped))
            });
            match request_field(&line, start) {
                None => assert_eq!(twice, None, "{shown}"),
                Some(RequestField::Escaped) => {
                    assert!(line[start..].contains(&b'\\'), "{shown}");
                }
                Some(RequestField::Other { end }) => {
                    let (parts, e, _) = twice.expect(&shown);
                    assert_eq!((parts, e), (None, end), "{shown}");
                }
                Some(RequestField::Parts {
                    method,
                    target,
                    percent,
                    end,
                }) => {
                    let (parts, e, unescaped) = twice.expect(&shown);
                    assert!(!unescaped, "{shown}");
                    let found = (line[method].to_vec(), line[target].to_vec(), percent);
                    assert_eq!((parts, e), (Some(found), end), "{shown}");
                }
            }
        }
        // A target that runs to the end of the line: unterminated, for the reference.
        for line in [
            &b"\"GET /api/notes"[..],
            b"\"GET /api/notes HTTP/1.1",
            b"\"GET",
            b"\"",
        ] {
            assert_eq!(request_field(line, 0), None);
        }
        assert_eq!(
            request_field(b"\"GET /api/notes HTTP/1.1\"", 0),
            Some(RequestField::Parts {
                method: 1..5,
                target: 5..15,
                percent: false,
                end: 25
            })
        );
    }

    /// Leading zeros, out-of-range and overlong parts, and an address the line ends with: the
    /// octet-at-a-time read refuses what std refuses and reads what it reads.
    #[test]
    fn dotted_quads_at_the_edges() {
        let read = |l: &[u8]| ipv4_prefix(l).map(|(a, sp)| (a.to_string(), sp));
        assert_eq!(read(b"10.0.0.1 -"), Some(("10.0.0.1".into(), 8)));
        assert_eq!(read(b"0.0.0.0 "), Some(("0.0.0.0".into(), 7)));
        assert_eq!(
            read(b"255.255.255.255 "),
            Some(("255.255.255.255".into(), 15))
        );
        assert_eq!(
            read(b"199.250.249.209 "),
            Some(("199.250.249.209".into(), 15))
        );
        for refused in [
            &b"010.0.0.1 "[..],
            b"10.00.0.1 ",
            b"10.0.0.01 ",
            b"10.0.0.001 ",
            b"256.0.0.1 ",
            b"10.0.0.260 ",
            b"10.0.0.1000 ",
            b"10.0.0.1",
            b"10.0.0.1\t",
            b"10.0.0 ",
            b"10.0.0.1.2 ",
            b"10.0..1 ",
            b"10.0.0. ",
            b".10.0.0 ",
            b"",
            // Read as sixteen bytes, padded with zero bytes when the line is shorter: neither a
            // real zero byte nor a separator in the sixteenth byte passes.
            b"10.0.0.1\0",
            b"1.2.3.4\0 ",
            b"255.255.255.255- - [t]",
            b"255.255.255.2555 - [t]",
        ] {
            assert_eq!(read(refused), None, "{}", String::from_utf8_lossy(refused));
        }
    }

    #[test]
    fn literals_compare_like_slices() {
        let mut rng = crate::generate::SplitMix64::new(17);
        for n in 0..40usize {
            let lit: Vec<u8> = (0..n).map(|_| *rng.pick(b"ab/")).collect();
            let literal = Literal(lit.clone());
            for _ in 0..3000 {
                // Texts near the literal: equal, one byte changed anywhere, shorter, longer.
                let mut text = lit.clone();
                match rng.below(4) {
                    0 if n > 0 => {
                        let k = rng.below(n as u64) as usize;
                        text[k] = *rng.pick(b"ab/");
                    }
                    1 => text.truncate(rng.below(n as u64 + 1) as usize),
                    2 => text.extend((0..rng.below(4)).map(|_| *rng.pick(b"ab/"))),
                    _ => {}
                }
                assert_eq!(literal.is(&text), text == lit, "{lit:?} {text:?}");
                assert_eq!(
                    literal.strip_from(&text),
                    text.strip_prefix(&lit[..]),
                    "{lit:?} {text:?}"
                );
            }
        }
    }

    #[test]
    fn folding_case_a_word_at_a_time_agrees_with_a_byte_at_a_time() {
        let one = |b: u8| {
            if b.is_ascii_uppercase() && b != b'X' {
                b | 0x20
            } else {
                b
            }
        };
        let mut rng = crate::generate::SplitMix64::new(15);
        let mut out = Vec::new();
        for k in 0..20_000u64 {
            let len = rng.below(30) as usize;
            // Every byte value, in every place of a word, besides random ones.
            let text: Vec<u8> = (0..len)
                .map(|i| match k {
                    0..=255 => (k as u8).wrapping_add(i as u8),
                    _ => rng.next_u64() as u8,
                })
                .collect();
            fold_case(&text, &mut out);
            let expected: Vec<u8> = text.iter().map(|&b| one(b)).collect();
            assert_eq!(out, expected, "{text:?}");
        }
    }

    /// Endings the generator writes over and over, differing in one place only (a quote escaped
    /// as `\"` or `\x22` near the start; the length of a short one), hash apart: sharing a
    /// slot, two such endings pushed each other out on every line.
    #[test]
    fn endings_differing_near_their_start_hash_apart() {
        let endings: [&[u8]; 6] = [
            br#""Weird \"quoted\x22 agent \x5C with backslash""#,
            br#""Weird \x22quoted\" agent \x5C with backslash""#,
            br#""Weird \"quoted\" agent \x5C with backslash""#,
            br#""-""#,
            br#""""#,
            br#""-" "-""#,
        ];
        let seen = Seen::new(BOTS_SEEN_BITS);
        let slots: std::collections::HashSet<usize> =
            endings.iter().map(|e| seen.slot(ending_hash(e))).collect();
        assert_eq!(slots.len(), endings.len());
    }

    /// A remembered ending found again is spared once by a store to its slot, and gives way to
    /// the next store unless found again in between.
    #[test]
    fn an_ending_found_again_gets_a_second_chance() {
        let mut seen = Seen::new(4);
        seen.put(7, b"a", Some(false));
        seen.put(7, b"b", Some(true));
        assert_eq!(seen.get(7, b"a"), None, "never found again: replaced");
        assert_eq!(seen.get(7, b"b"), Some(Some(true)));
        seen.put(7, b"c", Some(false));
        assert_eq!(seen.get(7, b"c"), None, "b was found again: spared");
        seen.put(7, b"c", Some(false));
        assert_eq!(seen.get(7, b"c"), Some(Some(false)), "but only once");
        assert_eq!(seen.get(7, b"b"), None);
        assert_eq!(seen.get(8, b"c"), None);
    }

    /// What the folded memory of line endings relies on: folding an ending changes neither
    /// whether it is well-formed nor its bot verdict, escapes included (`\X62ot` is no
    /// escape, `\x62OT` is `bOT`).
    #[test]
    fn folded_line_endings_read_like_the_endings() {
        let rule = Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_bot_markers(&["bot", "x-b", "\\x"]);
        let mut bots = Matcher::new(&rule).bots;
        let mut rng = crate::generate::SplitMix64::new(16);
        // Pieces between `|`.
        let pieces: Vec<&[u8]> = b"\"|\\|\\x62|\\X62|\\x4F|\\X4f|bOt|BOT|X-B| |\t|\xc3\x89|ot|a"
            .split(|&b| b == b'|')
            .collect();
        let (mut buf, mut folded) = (Vec::new(), Vec::new());
        for _ in 0..200_000 {
            let mut tail = b"\"".to_vec();
            for _ in 0..rng.below(7) {
                tail.extend_from_slice(rng.pick::<&[u8]>(&pieces));
            }
            fold_case(&tail, &mut folded);
            let shown = String::from_utf8_lossy(&tail).into_owned();
            assert_eq!(
                bots.read_user_agent(&tail, &mut buf),
                bots.read_user_agent(&folded, &mut buf),
                "{shown}"
            );
        }
    }

    #[test]
    fn leading_digits_are_counted_like_a_byte_loop() {
        let mut rng = crate::generate::SplitMix64::new(20);
        for k in 0..100_000u64 {
            let len = rng.below(30) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| match (k, rng.below(4)) {
                    // Every byte value after digits, and random bytes.
                    (0..=255, _) if i + 1 == len => k as u8,
                    (_, 0) => rng.next_u64() as u8,
                    _ => *rng.pick(b"0123456789"),
                })
                .collect();
            let expected = text
                .iter()
                .take(20)
                .take_while(|b| b.is_ascii_digit())
                .count();
            assert_eq!(leading_digits(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn own_networks_as_masks_agree_with_cidr_contains() {
        let nets: Vec<Cidr> = [
            "10.0.0.0/8",
            "192.0.2.7/32",
            "0.0.0.0/0",
            "172.16.0.0/12",
            "fd00::/8",
            "2001:db8::/32",
            "::/0",
            "::1/128",
            // IPv6 networks over the IPv4-mapped addresses: they hold none of them.
            "::ffff:0:0/96",
            "::ffff:10.0.0.0/104",
            "::/64",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut rng = crate::generate::SplitMix64::new(14);
        for k in 0..nets.len() {
            for pick in [&nets[k..k + 1], &nets[..k], &nets[k..]] {
                let own = OwnNets::new(pick);
                for _ in 0..20_000 {
                    let r = rng.next_u64();
                    let ip = match rng.below(6) {
                        0 => IpAddr::V4(Ipv4Addr::from((r as u32) & 0x0fff_ffff | 0x0a00_0000)),
                        1 => IpAddr::V4(Ipv4Addr::from(r as u32)),
                        2 => IpAddr::V6(Ipv4Addr::from(r as u32).to_ipv6_mapped()),
                        // Next to the mapped addresses: `::a.b.c.d` and `::fffe:a.b.c.d`.
                        3 => IpAddr::V6(Ipv6Addr::from(u128::from(r as u32))),
                        4 => IpAddr::V6(Ipv6Addr::from(0xfffe << 32 | u128::from(r as u32))),
                        _ => IpAddr::V6(Ipv6Addr::from(
                            u128::from(r) << 64 | u128::from(rng.next_u64()) | (0xfd << 120),
                        )),
                    };
                    let reference = pick.iter().any(|n| n.contains(ip));
                    let found = own.contains(client_number(ip));
                    assert_eq!(found, reference, "{ip} in {pick:?}");
                }
            }
        }
    }

    #[test]
    fn finding_a_byte_agrees_with_a_plain_search() {
        let mut rng = crate::generate::SplitMix64::new(10);
        for _ in 0..100_000 {
            let len = rng.below(40) as usize;
            let hay: Vec<u8> = (0..len).map(|_| *rng.pick(b" ]\x00\x80\xffa\"")).collect();
            for needle in [b' ', b']', 0, 0x80, 0xff, b'"'] {
                assert_eq!(
                    find_byte(&hay, needle),
                    hay.iter().position(|&b| b == needle),
                    "{hay:?} {needle}"
                );
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
