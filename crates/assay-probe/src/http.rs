//! A minimal HTTP/1.1 client over plain TCP: one request, `Connection: close`, the response read
//! to its end (bounded), chunked bodies decoded. No TLS: probes only talk to a run's services.

use crate::{failure, truncate, ProbeResult};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response read; more is an error (a probe never needs megabytes).
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Largest body echoed in the JSON result.
pub const MAX_BODY_IN_RESULT: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// The parts of an `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

pub fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err(format!("{url:?}: credentials in URLs are not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{url:?}: unclosed [ in host"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{url:?}: bad port {p:?}"))?,
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?}: bad host"));
    }
    if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?}: spaces or control characters in the path"));
    }
    Ok(Url { host, port, target })
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a complete response (read until the server closed the connection).
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers in the response")?;
    let head =
        std::str::from_utf8(&raw[..head_end]).map_err(|_| "response headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!(
            "not an HTTP/1.x response: {:?}",
            truncate(status_line, 80)
        ));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {:?}", truncate(status_line, 80)))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[head_end + 4..];
    resp.body = if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        decode_chunked(rest)?
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        if rest.len() < len {
            return Err(format!("body cut short: {} of {len} bytes", rest.len()));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(resp)
}

fn decode_chunked(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunked body cut short")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size.checked_add(2).is_none_or(|need| data.len() < need) {
            return Err("chunked body cut short".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Send one request and read the whole response, all within `timeout`.
pub async fn request(
    method: Method,
    url: &Url,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response, String> {
    let work = async {
        let mut stream = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connect to {}:{}: {e}", url.host, url.port))?;
        let host_header = if url.host.contains(':') {
            format!("[{}]:{}", url.host, url.port)
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let body = body.unwrap_or_default();
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: assay-probe\r\nAccept: */*\r\nConnection: close\r\n",
            method.as_str(),
            url.target
        );
        if method == Method::Post {
            req.push_str(&format!(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| format!("send request: {e}"))?;
        if method == Method::Post {
            stream
                .write_all(body.as_bytes())
                .await
                .map_err(|e| format!("send body: {e}"))?;
        }
        let mut raw = Vec::new();
        let read = (&mut stream)
            .take(MAX_RESPONSE as u64 + 1)
            .read_to_end(&mut raw)
            .await;
        if let Err(e) = read {
            // A reset after a complete response is still a response.
            if raw.is_empty() {
                return Err(format!("read response: {e}"));
            }
        }
        if raw.len() > MAX_RESPONSE {
            return Err(format!("response larger than {MAX_RESPONSE} bytes"));
        }
        if raw.is_empty() {
            return Err("connection closed without a response".into());
        }
        parse_response(&raw)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no complete response within {} ms",
            timeout.as_millis()
        )),
    }
}

/// The `http` probe: `ok` means an HTTP response arrived (any status); the caller judges it.
pub async fn probe(
    method: Method,
    url: &str,
    body: Option<&str>,
    timeout: Duration,
) -> ProbeResult {
    let parsed = match parse_url(url) {
        Ok(u) => u,
        Err(e) => return failure(e),
    };
    match request(method, &parsed, body, timeout).await {
        Ok(resp) => {
            let text = String::from_utf8_lossy(&resp.body);
            ProbeResult {
                status: Some(resp.status),
                content_type: resp.header("content-type").map(str::to_string),
                body: Some(truncate(&text, MAX_BODY_IN_RESULT)),
                body_truncated: Some(text.len() > MAX_BODY_IN_RESULT),
                ..ProbeResult::success()
            }
        }
        Err(e) => failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://web:8080/notes/1").unwrap(),
            Url {
                host: "web".into(),
                port: 8080,
                target: "/notes/1".into()
            }
        );
        assert_eq!(parse_url("http://web").unwrap().target, "/");
        assert_eq!(parse_url("http://web?x=1").unwrap().target, "/?x=1");
        assert_eq!(parse_url("http://[::1]:81/").unwrap().host, "::1");
        assert!(parse_url("https://web/").is_err());
        assert!(parse_url("http://web:0/").is_err());
        assert!(parse_url("http://u:p@web/").is_err());
        assert!(parse_url("http://web/a b").is_err());
        assert!(parse_url("http:///x").is_err());
    }

    #[test]
    fn responses() {
        let r =
            parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\n{\"id\":1}").unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"{\"id\":1}");
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = parse_response(b"HTTP/1.0 503 Service Unavailable\r\n\r\ndown").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (503, &b"down"[..]));
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab"
        )
        .is_err());
    }
}
