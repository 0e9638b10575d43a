//! A deterministic generator of realistic access logs, with the answer key built by
//! construction.
//!
//! Every generated request is drawn from a template whose relation to the rule is known when it
//! is chosen (this target *is* the endpoint written differently, that one is a similar path;
//! this client is from an own network; this user agent carries a bot marker). The expected
//! [`Counts`] are summed from those facts, never by parsing the text, so comparing them with
//! [`crate::count()`] on the text checks the parser, the normaliser and the counter against an
//! independent account.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::rule::{Cidr, Rule};
use crate::tally::{Counts, Flags, MALFORMED_KEPT};

/// A generated log held in memory, and its answer key (for tests and small logs; see
/// [`generate_to`] for logs of any size).
#[derive(Debug, Clone)]
pub struct Generated {
    pub text: String,
    pub expected: Counts,
}

/// splitmix64: tiny, fast, good enough for test data, and stable across versions and platforms
/// (which a third-party RNG would not promise), so a seed names the same log forever.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const HUMAN_UAS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "notes-cli/0.3 (\"beta\" build)",
    "Weird \"quoted\" agent \\ with backslash",
    "-",
    "",
];

/// Bot user agents; `{}` is replaced by one of the rule's markers in random casing.
const BOT_UAS: &[&str] = &[
    "Mozilla/5.0 (compatible; Example{}/2.1; +http://example.com/bot.html)",
    "{}/1.1 (+http://example.org/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; {}; \"quoted\") Chrome/120",
];

const OTHER_PATHS: &[&str] = &[
    "/",
    "/health",
    "/static/app.js",
    "/api/users",
    "/api/notebooks",
    "/favicon.ico",
    "/login",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Generate `lines` lines for `rule` from `seed`, in memory.
pub fn generate(rule: &Rule, lines: u64, seed: u64) -> Generated {
    let mut text = Vec::new();
    let expected = generate_to(rule, lines, seed, &mut text).expect("writing to memory");
    let text = String::from_utf8(text).expect("the generator writes UTF-8");
    Generated { text, expected }
}

/// Write `lines` lines for `rule` from `seed` to `out` as they are drawn (memory stays constant
/// whatever the number of lines), and return the answer key. The bytes are the same for the
/// same rule, line count and seed.
pub fn generate_to<W: Write>(rule: &Rule, lines: u64, seed: u64, out: W) -> io::Result<Counts> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SplitMix64::new(seed);
    let mut line = String::new();
    let mut expected = Counts::default();
    // 2026-11-25 00:00:00 UTC, moving forward 0–3 s per line.
    let mut time: i64 = 1_795_564_800;
    let humans: Vec<&str> = HUMAN_UAS
        .iter()
        .copied()
        .filter(|ua| {
            let l = ua.to_lowercase();
            !rule.bot_markers.iter().any(|m| l.contains(m.as_str()))
        })
        .collect();
    for n in 1..=lines {
        line.clear();
        time += rng.below(4) as i64;
        expected.total_lines += 1;
        if rng.chance(2) {
            line.push_str(&malformed_line(&mut rng, time));
            line.push('\n');
            out.write_all(line.as_bytes())?;
            expected.malformed_lines += 1;
            if expected.first_malformed.len() < MALFORMED_KEPT {
                expected.first_malformed.push(n);
            }
            continue;
        }
        let (addr, own) = client(&mut rng, rule);
        let (ua, bot) = if !rule.bot_markers.is_empty() && rng.chance(12) {
            let marker = rng.pick(&rule.bot_markers).clone();
            (
                rng.pick(BOT_UAS)
                    .replace("{}", &odd_case(&mut rng, &marker)),
                true,
            )
        } else if humans.is_empty() {
            ("-".to_string(), false)
        } else {
            (rng.pick(&humans).to_string(), false)
        };
        let (request, flags) = request(&mut rng, rule);
        let status = *rng.pick(&[200, 200, 200, 304, 404, 500]);
        let referer = if rng.chance(30) {
            "https://notes.example.com/"
        } else {
            "-"
        };
        // Arguments are evaluated in order, so the draws happen as they always did.
        write!(
            line,
            "{addr} - - [{}] \"{}\" {status} {} \"{referer}\" \"{}\"",
            clf_time(time),
            escape(&mut rng, &request),
            rng.below(5000),
            escape(&mut rng, &ua)
        )
        .expect("writing to a String");
        if rng.chance(10) {
            line.push_str(" \"-\"");
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        if let Some(f) = flags {
            expected.add(Flags { own, bot, ..f });
        }
    }
    out.flush()?;
    Ok(expected)
}

/// The request line and, when it has the `METHOD TARGET HTTP/x` shape, its relation to the rule.
fn request(rng: &mut SplitMix64, rule: &Rule) -> (String, Option<Flags>) {
    let p = rule.path.as_str();
    if rng.chance(3) {
        let junk = rng
            .pick(&[
                "-",
                "\u{16}\u{3}\u{1}\u{0}\u{c8}",
                &format!("GET {p}"),
                "GARBAGE",
            ])
            .to_string();
        return (junk, None);
    }
    let method_ok;
    let method = if rng.chance(75) {
        method_ok = true;
        rule.method.clone()
    } else {
        let m = *rng.pick(&["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get"]);
        method_ok = m == rule.method;
        m.to_string()
    };
    // (target, names the endpoint path?)
    let (target, path_ok) = match rng.below(16) {
        0..=3 => (p.to_string(), true),
        4 => (format!("{p}?page={}", rng.below(9)), true),
        5 if p != "/" => (format!("{p}/"), true),
        6 if p != "/" => (format!("{p}/?sort=desc&q=a%20b"), true),
        7 => (format!("{p}#top"), true),
        8 => match percent_encode_one(rng, p) {
            Some(t) => (t, true),
            None => (p.to_string(), true),
        },
        9 => (format!("http://notes.example.com{p}"), true),
        10 => (format!("https://notes.example.com:8443{p}?x=1"), true),
        11 if p != "/" => (format!("{p}/{}", rng.below(100)), false),
        12 if p != "/" => (format!("{p}x"), false),
        13 => (format!("/v2{p}"), false),
        14 if p.len() > 1 => (
            p.replacen('/', "%2F", 2).replacen("%2F", "/", 1),
            p.matches('/').count() < 2,
        ),
        _ => {
            let other = rng.pick(OTHER_PATHS);
            let same = *other == p || format!("{other}/") == p;
            (other.to_string(), same)
        }
    };
    let protocol = *rng.pick(&["HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"]);
    let flags = Flags {
        method_ok,
        path_ok,
        exact: target == p,
        contains: target.contains(p),
        own: false,
        bot: false,
    };
    (format!("{method} {target} {protocol}"), Some(flags))
}

/// Percent-encode one letter or digit of `p` (random hex case); `None` if it has none.
fn percent_encode_one(rng: &mut SplitMix64, p: &str) -> Option<String> {
    let positions: Vec<usize> = p
        .bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return None;
    }
    let i = *rng.pick(&positions);
    let enc = if rng.chance(50) {
        format!("%{:02X}", p.as_bytes()[i])
    } else {
        format!("%{:02x}", p.as_bytes()[i])
    };
    Some(format!("{}{}{}", &p[..i], enc, &p[i + 1..]))
}

/// A client address and whether it is in an own network (by construction).
fn client(rng: &mut SplitMix64, rule: &Rule) -> (String, bool) {
    if !rule.own_networks.is_empty() && rng.chance(15) {
        let net = *rng.pick(&rule.own_networks);
        let ip = random_in(rng, net);
        return match ip {
            IpAddr::V4(v4) if rng.chance(25) => (v4.to_ipv6_mapped().to_string(), true),
            ip => (ip.to_string(), true),
        };
    }
    // Outsiders come from the documentation ranges; an own network overlapping those is
    // honoured by re-drawing (and, failing that, by marking the client own).
    for _ in 0..16 {
        let ip = if rng.chance(20) {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                rng.below(65536) as u16,
                0,
                0,
                0,
                0,
                1 + rng.below(65535) as u16,
            ))
        } else {
            let base = *rng.pick(&[[192u8, 0, 2], [198, 51, 100], [203, 0, 113]]);
            IpAddr::V4(Ipv4Addr::new(
                base[0],
                base[1],
                base[2],
                1 + rng.below(254) as u8,
            ))
        };
        if !rule.is_own(ip) {
            return (ip.to_string(), false);
        }
    }
    let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    (ip.to_string(), rule.is_own(ip))
}

fn random_in(rng: &mut SplitMix64, net: Cidr) -> IpAddr {
    match net.addr() {
        IpAddr::V4(a) => {
            let host_bits = 32 - u32::from(net.prefix());
            let mask = if host_bits == 32 {
                u32::MAX
            } else {
                (1u32 << host_bits) - 1
            };
            IpAddr::V4(Ipv4Addr::from(
                (u32::from(a) & !mask) | (rng.next_u64() as u32 & mask),
            ))
        }
        IpAddr::V6(a) => {
            let host_bits = 128 - u32::from(net.prefix());
            let mask = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let r = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            IpAddr::V6(Ipv6Addr::from((u128::from(a) & !mask) | (r & mask)))
        }
    }
}

fn odd_case(rng: &mut SplitMix64, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.chance(50) {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// nginx-style escaping of a quoted field; `"` alternates between `\x22` (nginx) and `\"`.
fn escape(rng: &mut SplitMix64, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'"' if rng.chance(50) => out.push_str("\\\""),
            b'\\' if rng.chance(50) => out.push_str("\\\\"),
            b'"' | b'\\' | 0..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\x{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

fn malformed_line(rng: &mut SplitMix64, time: i64) -> String {
    match rng.below(5) {
        0 => String::new(),
        1 => "this is not an access log line".to_string(),
        2 => format!(
            "198.51.100.7 - - [{}] \"GET /api/notes HTTP/1.1\" 200",
            clf_time(time)
        ),
        3 => format!(
            "not-an-ip - - [{}] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"",
            clf_time(time)
        ),
        _ => "\u{1}\u{2}\u{7f}binary\u{0}junk".to_string(),
    }
}

/// `25/Nov/2026:10:00:00 +0000` for a Unix time.
fn clf_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (the era-based method: 400-year
/// eras of 146 097 days, years starting in March so the leap day comes last).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(1_795_564_800), "25/Nov/2026:00:00:00 +0000");
        assert_eq!(clf_time(951_782_400 + 3661), "29/Feb/2000:01:01:01 +0000");
    }

    #[test]
    fn deterministic() {
        let r = Rule::from_endpoint("GET /api/notes").unwrap();
        assert_eq!(generate(&r, 300, 5).text, generate(&r, 300, 5).text);
        assert_ne!(generate(&r, 300, 5).text, generate(&r, 300, 6).text);
        assert_eq!(generate(&r, 300, 5).text.lines().count(), 300);
    }

    #[test]
    fn the_mix_has_the_edge_cases() {
        let rule = Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_own_networks(vec!["10.0.0.0/8".parse().unwrap()]);
        let g = generate(&rule, 3000, 7);
        let e = &g.expected;
        assert!(
            e.matched > 0 && e.excluded_own > 0 && e.excluded_bots > 0 && e.malformed_lines > 0
        );
        let a = e.alternatives;
        for (name, _, n) in a.list() {
            assert_ne!(
                n, e.matched,
                "alternative {name} must differ from the answer to be useful"
            );
        }
        for needle in [
            "::ffff:10.",
            "2001:db8:",
            "\\x22",
            "\\\"",
            "?page=",
            "/api/notes/ ",
            "http://",
            "HEAD /api/notes ",
            "/api/notesx",
        ] {
            assert!(g.text.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn streaming_writes_what_memory_holds_and_reports_write_errors() {
        let rule = Rule::from_endpoint("GET /api/notes")
            .unwrap()
            .with_own_networks(vec!["10.0.0.0/8".parse().unwrap()]);
        let g = generate(&rule, 5000, 3);
        let mut streamed = Vec::new();
        let key = generate_to(&rule, 5000, 3, &mut streamed).unwrap();
        assert_eq!(streamed, g.text.as_bytes());
        assert_eq!(key, g.expected);

        /// Accepts `room` bytes, then fails like a full disk.
        struct Full {
            room: usize,
        }
        impl Write for Full {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.room == 0 {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                let n = b.len().min(self.room);
                self.room -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = generate_to(&rule, 100_000, 3, Full { room: 3 << 20 }).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    }
}
