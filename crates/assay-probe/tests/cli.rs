//! The real binary against real listeners on loopback.

use assay_core::probe::ProbeResult;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

fn probe(args: &[&str]) -> (serde_json::Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_assay-probe"))
        .args(args)
        .output()
        .expect("run assay-probe");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    // The contract the runner reads with: every field the binary printed is in it, unchanged.
    let typed: ProbeResult = serde_json::from_str(&stdout).expect("a ProbeResult");
    assert_eq!(serde_json::to_value(&typed).unwrap(), value, "{stdout}");
    (value, out.status.code().unwrap_or(-1))
}

/// Serve one canned response and hand back the request bytes.
fn one_shot_server(response: &'static [u8]) -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut req = Vec::new();
        // Read until the headers (and a short body) arrived.
        loop {
            let n = s.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req);
            if let Some(i) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if req.len() >= i + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        s.write_all(response).unwrap();
        String::from_utf8_lossy(&req).into_owned()
    });
    (port, handle)
}

#[test]
fn http_post_sends_the_body_and_reports_the_status() {
    let (port, server) =
        one_shot_server(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"id\":7}");
    let url = format!("http://127.0.0.1:{port}/notes");
    let (v, code) = probe(&["http", "POST", &url, "--body", "nonce-123"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["status"], 201);
    assert_eq!(v["body"], "{\"id\":7}");
    assert_eq!(v["probe"], "http");
    let req = server.join().unwrap();
    assert!(req.starts_with("POST /notes HTTP/1.1\r\n"), "{req}");
    assert!(req.ends_with("\r\n\r\nnonce-123"), "{req}");
}

#[test]
fn http_to_a_closed_port_is_ok_false_with_exit_0() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (v, code) = probe(&[
        "http",
        "GET",
        &format!("http://127.0.0.1:{port}/health"),
        "--timeout-ms",
        "2000",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], false);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("connect to 127.0.0.1"),
        "{v}"
    );
}

#[test]
fn http_times_out_on_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (v, code) = probe(&[
        "http",
        "GET",
        &format!("http://127.0.0.1:{port}/"),
        "--timeout-ms",
        "300",
    ]);
    drop(listener);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], false);
    assert!(
        v["error"].as_str().unwrap().contains("within 300 ms"),
        "{v}"
    );
}

#[test]
fn wait_tcp_succeeds_on_a_listener_and_fails_on_a_closed_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (v, _) = probe(&["wait-tcp", "127.0.0.1", &port]);
    assert_eq!(v["ok"], true, "{v}");
    drop(listener);
    let (v, code) = probe(&["wait-tcp", "127.0.0.1", &port, "--timeout-ms", "500"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["attempts"].as_u64().unwrap() >= 2, "{v}");
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    let out = Command::new(env!("CARGO_BIN_EXE_assay-probe"))
        .args(["http", "DELETE", "http://x/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DELETE"));
}
