//! `sample-webapp healthcheck`: asks the running service's `/health` on 127.0.0.1:$PORT.
//!
//! The runtime image has no curl or wget; this lets a container healthcheck use the binary itself:
//! `["CMD", "sample-webapp", "healthcheck"]`. Exit 0 when the answer is 200, 1 otherwise.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Performs `GET /health` on `127.0.0.1:port`; `Ok(status line)` when the status is 200.
pub fn check(port: u16) -> Result<String, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("cannot send the request to {address}: {e}"))?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut response)
        .map_err(|e| format!("no answer from {address}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or("").to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim())
        .unwrap_or("");
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(body.to_string())
    } else if status_line.is_empty() {
        Err(format!("empty answer from {address}"))
    } else {
        Err(format!("{status_line}: {body}"))
    }
}
