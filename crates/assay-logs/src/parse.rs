//! Parsing nginx `combined` access-log lines.
//!
//! Format: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//! "$http_referer" "$http_user_agent"`; further fields after the user agent (many sites append
//! `"$http_x_forwarded_for"` or timings) are ignored.
//!
//! nginx escapes quoted variables: `"` and `\` and bytes outside printable ASCII are written as
//! `\xHH`; some configurations (and hand-written logs) use `\"` and `\\` instead. Both are
//! undone here. Bytes that are not UTF-8 are replaced lossily: a log is evidence, not text we
//! control, and one odd byte must not make a whole line unreadable.

use std::net::IpAddr;

/// Longest line accepted, in bytes (without the newline). A longer line is reported as
/// malformed and is skipped without being buffered, so reading stays in bounded memory.
pub const MAX_LINE: usize = 64 * 1024;

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `$remote_addr`, as written (IPv4 or IPv6; IPv4-mapped IPv6 kept as is).
    pub addr: IpAddr,
    /// `$remote_user` (`-` when absent).
    pub user: String,
    /// `$time_local`, unparsed (nothing here depends on it).
    pub time: String,
    /// `$request`, unescaped. `-` or garbage is kept: the line is still an entry, it simply
    /// matches no endpoint.
    pub request: String,
    pub status: u16,
    pub bytes: u64,
    pub referer: String,
    pub user_agent: String,
}

/// Why a line is not a `combined` log entry. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: u64,
    pub reason: String,
}

/// The parts of a `$request` of the form `METHOD TARGET PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub protocol: &'a str,
}

/// Split a `$request` into method, target and protocol; `None` when it is not exactly three
/// space-separated parts with an `HTTP/` protocol (`-`, TLS handshakes sent to a plain port,
/// HTTP/0.9 requests, scanners' junk).
pub fn parse_request(request: &str) -> Option<RequestLine<'_>> {
    let mut parts = request.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let protocol = parts.next()?;
    if parts.next().is_some() || method.is_empty() || target.is_empty() {
        return None;
    }
    if !protocol.starts_with("HTTP/") {
        return None;
    }
    if !method.bytes().all(is_token) {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        protocol,
    })
}

/// A character of an HTTP token (RFC 9110 `tchar`): what a method is made of.
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// [`is_token`] for every byte.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'^'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// Parse one line (without its newline; a trailing `\r` is tolerated).
pub fn parse_line(line: &[u8], line_no: u64) -> Result<Entry, ParseError> {
    let err = |reason: &str| ParseError {
        line: line_no,
        reason: reason.to_string(),
    };
    if line.len() > MAX_LINE {
        return Err(err("line longer than 64 KiB"));
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(err("empty line"));
    }
    let mut c = Cursor { s: line, i: 0 };

    let addr_raw = c.token();
    let addr_text = String::from_utf8_lossy(addr_raw);
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| err("client address is not an IPv4 or IPv6 address"))?;
    c.space()
        .ok_or_else(|| err("expected a space after the client address"))?;
    let _ident = c.token();
    c.space()
        .ok_or_else(|| err("expected a space after the ident field"))?;
    // $remote_user is not escaped by nginx and may contain spaces: it runs up to " [".
    let rest = &c.s[c.i..];
    let user_len = find(rest, b" [").ok_or_else(|| err("missing [time]"))?;
    let user = lossy(&rest[..user_len]);
    c.i += user_len + 1;
    c.expect(b'[').ok_or_else(|| err("missing [time]"))?;
    let rest = &c.s[c.i..];
    let time_len = rest
        .iter()
        .position(|&b| b == b']')
        .ok_or_else(|| err("unterminated [time]"))?;
    let time = lossy(&rest[..time_len]);
    if time.is_empty() {
        return Err(err("empty [time]"));
    }
    c.i += time_len + 1;
    c.space()
        .ok_or_else(|| err("expected a space after [time]"))?;
    let request = c
        .quoted()
        .ok_or_else(|| err("request is not a quoted string"))?;
    c.space()
        .ok_or_else(|| err("expected a space after the request"))?;
    let status_raw = c.token();
    if status_raw.len() != 3 || !status_raw.iter().all(u8::is_ascii_digit) {
        return Err(err("status is not a 3-digit number"));
    }
    let status = lossy(status_raw)
        .parse()
        .map_err(|_| err("status is not a number"))?;
    c.space()
        .ok_or_else(|| err("expected a space after the status"))?;
    let bytes_raw = c.token();
    let bytes = if bytes_raw == b"-" {
        0
    } else if !bytes_raw.is_empty() && bytes_raw.iter().all(u8::is_ascii_digit) {
        lossy(bytes_raw)
            .parse()
            .map_err(|_| err("body size out of range"))?
    } else {
        return Err(err("body size is not a number"));
    };
    c.space()
        .ok_or_else(|| err("expected a space after the body size"))?;
    let referer = c
        .quoted()
        .ok_or_else(|| err("referer is not a quoted string"))?;
    c.space()
        .ok_or_else(|| err("missing user agent (not the combined format?)"))?;
    let user_agent = c
        .quoted()
        .ok_or_else(|| err("user agent is not a quoted string"))?;
    // Anything after the user agent must at least be separated by a space.
    if c.i < c.s.len() && c.s[c.i] != b' ' && c.s[c.i] != b'\t' {
        return Err(err("unexpected text right after the user agent"));
    }
    Ok(Entry {
        addr,
        user,
        time,
        request,
        status,
        bytes,
        referer,
        user_agent,
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != b' ' {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn space(&mut self) -> Option<()> {
        self.expect(b' ')
    }

    /// A `"…"` field with nginx escapes undone.
    fn quoted(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => match self.s.get(self.i) {
                    Some(b'"') => {
                        out.push(b'"');
                        self.i += 1;
                    }
                    Some(b'\\') => {
                        out.push(b'\\');
                        self.i += 1;
                    }
                    Some(b'x') => {
                        let hex = self.s.get(self.i + 1..self.i + 3);
                        match hex.and_then(|h| Some(hex_val(h[0])? * 16 + hex_val(h[1])?)) {
                            Some(v) => {
                                out.push(v);
                                self.i += 3;
                            }
                            None => out.push(b'\\'),
                        }
                    }
                    _ => out.push(b'\\'),
                },
                _ => out.push(b),
            }
        }
        None
    }
}

pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"203.0.113.7 - - [25/Nov/2026:10:00:00 +0000] "GET /api/notes?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)""#;

    #[test]
    fn parses_a_combined_line() {
        let e = parse_line(LINE.as_bytes(), 1).unwrap();
        assert_eq!(e.addr.to_string(), "203.0.113.7");
        assert_eq!(e.time, "25/Nov/2026:10:00:00 +0000");
        assert_eq!(e.request, "GET /api/notes?page=2 HTTP/1.1");
        assert_eq!(e.status, 200);
        assert_eq!(e.bytes, 512);
        assert_eq!(e.referer, "-");
        assert_eq!(e.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    }

    #[test]
    fn ipv6_user_trailing_fields_and_crlf() {
        let l = "2001:db8::1 - alice smith [25/Nov/2026:10:00:00 +0000] \"POST /x HTTP/2.0\" 201 - \"https://r/\" \"ua\" \"10.0.0.1\" 0.003\r";
        let e = parse_line(l.as_bytes(), 3).unwrap();
        assert_eq!(e.addr.to_string(), "2001:db8::1");
        assert_eq!(e.user, "alice smith");
        assert_eq!(e.bytes, 0);
        assert_eq!(e.user_agent, "ua");
    }

    #[test]
    fn unescapes_nginx_escapes() {
        let l = r#"::ffff:10.1.2.3 - - [t] "GET /a HTTP/1.1" 200 1 "-" "say \x22hi\x22 \"there\" back\\slash \xC3\xA9 \q""#;
        let e = parse_line(l.as_bytes(), 1).unwrap();
        assert_eq!(e.user_agent, "say \"hi\" \"there\" back\\slash é \\q");
    }

    #[test]
    fn garbage_request_is_still_an_entry() {
        let l = r#"1.2.3.4 - - [t] "\x16\x03\x01\x00" 400 150 "-" "-""#;
        let e = parse_line(l.as_bytes(), 1).unwrap();
        assert!(parse_request(&e.request).is_none());
        let l = r#"1.2.3.4 - - [t] "-" 400 0 "-" "-""#;
        assert_eq!(parse_line(l.as_bytes(), 1).unwrap().request, "-");
    }

    #[test]
    fn request_line_shapes() {
        assert!(parse_request("GET /a HTTP/1.1").is_some());
        assert!(parse_request("GET /a").is_none());
        assert!(parse_request("GET /a HTTP/1.1 x").is_none());
        assert!(parse_request("GET  /a HTTP/1.1").is_none());
        assert!(parse_request("-").is_none());
        assert!(parse_request("G\"T /a HTTP/1.1").is_none());
    }

    #[test]
    fn malformed_lines_name_line_and_reason() {
        for (l, why) in [
            ("", "empty"),
            ("hello world", "address"),
            ("1.2.3.4 - - 25/Nov", "time"),
            ("1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 1", "space"),
            (
                "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 1 \"-\"",
                "user agent",
            ),
            (
                "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 20x 1 \"-\" \"-\"",
                "status",
            ),
            (
                "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 1 \"-\" \"unterminated",
                "user agent",
            ),
            (
                "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"x",
                "after the user agent",
            ),
        ] {
            let e = parse_line(l.as_bytes(), 9).unwrap_err();
            assert_eq!(e.line, 9);
            assert!(e.reason.contains(why), "{l:?}: {}", e.reason);
        }
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut x: u64 = 1;
        for n in 0..2000 {
            let len = n % 200;
            let mut v = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.push(b"\"\\x[] -0aF.:/\xff"[(x % 14) as usize]);
            }
            let _ = parse_line(&v, 1);
        }
        let long = vec![b'a'; MAX_LINE + 1];
        assert!(parse_line(&long, 1).unwrap_err().reason.contains("64 KiB"));
        let bad = b"1.2.3.4 - - [t] \"GET /\xff HTTP/1.1\" 200 1 \"-\" \"\xfe\"";
        let e = parse_line(bad, 1).unwrap();
        assert_eq!(e.user_agent, "\u{fffd}");
    }
}
