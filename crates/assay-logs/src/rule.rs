//! What counts as "a request to the endpoint, not from our own servers, not from a bot".

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::parse::{hex_val, parse_request};

/// Default bot markers, matched case-insensitively as substrings of the user agent.
///
/// They are the words crawlers use to identify themselves: `bot` (Googlebot, bingbot,
/// AhrefsBot, …), `crawl` (crawler), `spider` (Baiduspider, YandexSpider), `slurp` (Yahoo),
/// `facebookexternalhit` (link previews), `headless` (HeadlessChrome automation).
/// Deliberately *not* included: generic HTTP clients (`curl`, `python-requests`, `Go-http-client`,
/// `wget`). The endpoint is an API, and real API consumers use exactly those libraries; calling
/// them bots would discard legitimate traffic. An empty or `-` user agent is not a bot either:
/// absence of a header is not a self-identification.
pub const DEFAULT_BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "headless",
];

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address
/// is a single-host network. Host bits below the prefix are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// are the IPv4 address they carry: dual-stack nginx logs IPv4 clients that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr_s, prefix_s) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_s
            .parse()
            .map_err(|_| format!("`{s}` is not a CIDR: `{addr_s}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_s {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                let v: u8 = p.parse().map_err(|_| format!("`{s}`: bad prefix length"))?;
                if v > max {
                    return Err(format!("`{s}`: prefix length {v} is more than {max}"));
                }
                v
            }
            Some(_) => {
                return Err(format!(
                    "`{s}` is not a CIDR: the prefix length must be a number"
                ))
            }
        };
        // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
        if let (IpAddr::V6(v6), true) = (addr, prefix >= 96) {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return Ok(Cidr {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                });
            }
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The counting rule of the exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Compared case-sensitively: HTTP methods are case-sensitive (RFC 9110 §9.1).
    pub method: String,
    /// The endpoint path, normalised like request paths (see [`normalize_target`]).
    pub path: String,
    pub own_networks: Vec<Cidr>,
    /// Lower-cased substrings; a user agent containing any is a bot.
    pub bot_markers: Vec<String>,
}

impl Rule {
    /// A rule for `method path` with no own networks and the default bot markers.
    pub fn new(method: &str, path: &str) -> Result<Rule, String> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("`{method}` is not an HTTP method"));
        }
        if !path.starts_with('/') {
            return Err(format!("endpoint path `{path}` must start with `/`"));
        }
        let norm =
            normalize_target(path).ok_or_else(|| format!("`{path}` is not a usable path"))?;
        Ok(Rule {
            method: method.to_string(),
            path: norm,
            own_networks: Vec::new(),
            bot_markers: DEFAULT_BOT_MARKERS.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Parse `"GET /api/notes"`.
    pub fn from_endpoint(endpoint: &str) -> Result<Rule, String> {
        let mut parts = endpoint.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(p), None) => Rule::new(m, p),
            _ => Err(format!(
                "endpoint `{endpoint}` must be `METHOD /path`, e.g. `GET /api/notes`"
            )),
        }
    }

    /// Replace the bot markers (stored lower-cased; empty markers are dropped, since an empty
    /// marker would make every request a bot).
    pub fn with_bot_markers<S: AsRef<str>>(mut self, markers: &[S]) -> Rule {
        self.bot_markers = markers
            .iter()
            .map(|m| m.as_ref().to_lowercase())
            .filter(|m| !m.is_empty())
            .collect();
        self
    }

    pub fn with_own_networks(mut self, nets: Vec<Cidr>) -> Rule {
        self.own_networks = nets;
        self
    }

    pub fn is_own(&self, ip: IpAddr) -> bool {
        self.own_networks.iter().any(|n| n.contains(ip))
    }

    pub fn is_bot(&self, user_agent: &str) -> bool {
        let ua = user_agent.to_lowercase();
        self.bot_markers.iter().any(|m| ua.contains(m.as_str()))
    }

    /// Whether a `$request` asks for this endpoint (method and normalised path).
    pub fn matches_request(&self, request: &str) -> bool {
        match parse_request(request) {
            Some(r) => {
                r.method == self.method && normalize_target(r.target).as_deref() == Some(&self.path)
            }
            None => false,
        }
    }
}

/// The path a request target names, for comparison with the rule's path:
/// - the query (`?…`) and fragment (`#…`) are dropped;
/// - an absolute-form target (`http://host/path`) is reduced to its path (`/` when empty);
/// - percent-encoded *unreserved* characters (letters, digits, `-._~`) are decoded, because
///   RFC 3986 §6.2.2.2 makes them equivalent; other escapes (e.g. `%2F`) stay encoded, with
///   upper-case hex, because decoding them would change the path's meaning;
/// - one trailing slash is ignored (`/api/notes/` is `/api/notes`; `/` stays `/`).
///
/// `None` for targets that are not a path at all (`*`, `example.com:443`, junk).
pub fn normalize_target(target: &str) -> Option<String> {
    let mut out = Vec::new();
    normalize_target_into(target.as_bytes(), &mut out).then(|| {
        // Every step cuts or writes ASCII bytes only, between characters.
        String::from_utf8(out).expect("normalising UTF-8 keeps it UTF-8")
    })
}

/// [`normalize_target`] on bytes into a reused buffer (cleared first), so the hot counting path
/// neither allocates per line nor checks UTF-8 first. Returns `false` (and leaves `out`
/// meaningless) when the target is not a path.
///
/// On the bytes of a UTF-8 target the result is [`normalize_target`]'s. On other bytes, every
/// step still reads and writes ASCII bytes only and keeps each run of non-ASCII bytes whole, as
/// it keeps a replacement character of lossy decoding: the result is ASCII (so equal to an
/// ASCII path) exactly when the normal form of the lossily decoded target is, and then they are
/// the same.
pub(crate) fn normalize_target_into(target: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut t = target;
    if let Some(i) = t.iter().position(|&b| b == b'?' || b == b'#') {
        t = &t[..i];
    }
    // Origin-form targets (nearly all) start with `/`: the schemes are not compared then.
    let schemes: &[&[u8]] = if t.first() == Some(&b'/') {
        &[]
    } else {
        &[b"http://", b"https://"]
    };
    for &scheme in schemes {
        let n = scheme.len();
        if t.len() >= n && t[..n].eq_ignore_ascii_case(scheme) {
            let after = &t[n..];
            t = match after.iter().position(|&b| b == b'/') {
                Some(i) => &after[i..],
                None => b"/",
            };
            break;
        }
    }
    if t.first() != Some(&b'/') {
        return false;
    }
    // A byte at a time: targets are short, and a search call per run between escapes costs
    // more than it saves.
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        i += 1;
        if b != b'%' {
            out.push(b);
            continue;
        }
        let escape = match t.get(i..i + 2) {
            Some(&[h, l]) => hex_val(h).zip(hex_val(l)),
            _ => None,
        };
        match escape {
            Some((h, l)) => {
                let v = h * 16 + l;
                if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                    out.push(v);
                } else {
                    out.extend_from_slice(&[
                        b'%',
                        t[i].to_ascii_uppercase(),
                        t[i + 1].to_ascii_uppercase(),
                    ]);
                }
                i += 2;
            }
            None => out.push(b'%'),
        }
    }
    if out.len() > 1 && out.ends_with(b"/") {
        out.pop();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_containment() {
        let n: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(
            n.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped IPv6 is the IPv4 address"
        );
        assert!(!n.contains(ip("2001:db8::1")));
        let h: Cidr = "192.168.1.5".parse().unwrap();
        assert_eq!(h.to_string(), "192.168.1.5/32");
        assert!(h.contains(ip("192.168.1.5")) && !h.contains(ip("192.168.1.6")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let v6: Cidr = "2001:db8:1::/48".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1:ffff::9")) && !v6.contains(ip("2001:db8:2::1")));
        let hostbits: Cidr = "10.1.2.3/8".parse().unwrap();
        assert!(hostbits.contains(ip("10.9.9.9")));
        let mapped: Cidr = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "::/129",
            "1.2.3.4/8/9",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn normalisation() {
        let n = |s: &str| normalize_target(s);
        assert_eq!(n("/api/notes").as_deref(), Some("/api/notes"));
        assert_eq!(n("/api/notes/").as_deref(), Some("/api/notes"));
        assert_eq!(
            n("/api/notes//").as_deref(),
            Some("/api/notes/"),
            "only one slash is ignored"
        );
        assert_eq!(n("/api/notes?x=1/").as_deref(), Some("/api/notes"));
        assert_eq!(n("/api/notes#top").as_deref(), Some("/api/notes"));
        assert_eq!(n("/api/%6Eotes").as_deref(), Some("/api/notes"));
        assert_eq!(n("/api/%6eotes").as_deref(), Some("/api/notes"));
        assert_eq!(n("/api%2fnotes").as_deref(), Some("/api%2Fnotes"));
        assert_eq!(n("/api/notes%").as_deref(), Some("/api/notes%"));
        assert_eq!(n("/api/notes%4").as_deref(), Some("/api/notes%4"));
        assert_eq!(
            n("HTTP://Example.com:8080/api/notes?q").as_deref(),
            Some("/api/notes")
        );
        assert_eq!(n("https://example.com").as_deref(), Some("/"));
        assert_eq!(n("/").as_deref(), Some("/"));
        assert_eq!(n("/é/").as_deref(), Some("/é"));
        assert_eq!(n("*"), None);
        assert_eq!(n("example.com:443"), None);
    }

    #[test]
    fn matching() {
        let r = Rule::from_endpoint("GET /api/notes").unwrap();
        assert!(r.matches_request("GET /api/notes HTTP/1.1"));
        assert!(r.matches_request("GET /api/notes/?a=b HTTP/2.0"));
        assert!(r.matches_request("GET http://h/api/notes HTTP/1.1"));
        assert!(
            !r.matches_request("get /api/notes HTTP/1.1"),
            "methods are case-sensitive"
        );
        assert!(!r.matches_request("HEAD /api/notes HTTP/1.1"));
        assert!(!r.matches_request("GET /api/notes/7 HTTP/1.1"));
        assert!(!r.matches_request("GET /api/notesx HTTP/1.1"));
        assert!(
            !r.matches_request("GET /API/notes HTTP/1.1"),
            "paths are case-sensitive"
        );
        assert!(!r.matches_request("GET /api/notes"));
        assert!(!r.matches_request("-"));
        let slash = Rule::from_endpoint("GET /api/notes/").unwrap();
        assert_eq!(slash.path, "/api/notes");
        assert!(Rule::from_endpoint("GET").is_err());
        assert!(Rule::from_endpoint("GET api").is_err());
        assert!(Rule::from_endpoint("GET /a b").is_err());
    }

    #[test]
    fn bots() {
        let r = Rule::from_endpoint("GET /x").unwrap();
        assert!(r.is_bot("Mozilla/5.0 (compatible; GoogleBOT/2.1)"));
        assert!(r.is_bot("Mozilla/5.0 (compatible; Yahoo! SLURP)"));
        assert!(r.is_bot("Mozilla/5.0 HeadlessChrome/120.0"));
        assert!(!r.is_bot("-"));
        assert!(!r.is_bot(""));
        assert!(!r.is_bot("python-requests/2.31"));
        let custom = r.with_bot_markers(&["Curl", ""]);
        assert_eq!(custom.bot_markers, vec!["curl"]);
        assert!(custom.is_bot("curl/8.0") && !custom.is_bot("Googlebot"));
    }

    #[test]
    fn own_networks() {
        let r = Rule::from_endpoint("GET /x")
            .unwrap()
            .with_own_networks(vec![
                "10.0.0.0/8".parse().unwrap(),
                "fd00::/8".parse().unwrap(),
            ]);
        assert!(r.is_own(ip("10.2.3.4")));
        assert!(r.is_own(ip("::ffff:10.2.3.4")));
        assert!(r.is_own(ip("fd12::1")));
        assert!(!r.is_own(ip("203.0.113.1")));
    }
}
