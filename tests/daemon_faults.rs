//! A transient daemon error is retried, not a "could not grade": the real daemon behind a
//! proxy on a socket of the test's own that fails one call once, the way a busy daemon does
//! ("Cannot pause container …: OCI runtime pause failed: unable to freeze").

mod support;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::*;

/// Where the real daemon listens.
fn upstream() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A proxy on `socket` in front of the real daemon. The first request whose method and path
/// satisfy `fail` is answered `500` with a daemon-style message and not forwarded; every other
/// request is forwarded untouched except for `Connection: close`, so that each request comes
/// on a connection of its own and the proxy sees them all. Returns the log of request lines.
struct FaultProxy {
    seen: Arc<Mutex<Vec<String>>>,
    failed: Arc<AtomicUsize>,
}

impl FaultProxy {
    fn start(socket: &Path, fail: fn(&str, &str) -> bool) -> FaultProxy {
        let listener = UnixListener::bind(socket).expect("bind the proxy socket");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(AtomicUsize::new(0));
        let (s, f) = (seen.clone(), failed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (s, f) = (s.clone(), f.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, fail, &s, &f);
                });
            }
        });
        FaultProxy { seen, failed }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    client: UnixStream,
    fail: fn(&str, &str) -> bool,
    seen: &Mutex<Vec<String>>,
    failed: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let request_line = head[0].trim_end().to_string();
    seen.lock().unwrap().push(request_line.clone());
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if fail(method, path) && failed.fetch_add(1, Ordering::SeqCst) == 0 {
        let body = br#"{"message":"Cannot pause container: OCI runtime pause failed: unable to freeze (injected by the test)"}"#;
        let mut out = client;
        write!(
            out,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        out.write_all(body)?;
        return Ok(());
    }
    let upgrade = head
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("upgrade:"));
    let mut up = UnixStream::connect(upstream())?;
    for h in &head {
        if !upgrade && h.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        if h == "\r\n" && !upgrade {
            up.write_all(b"Connection: close\r\n")?;
        }
        up.write_all(h.as_bytes())?;
    }
    // Whatever the reader already buffered of the body goes first.
    let buffered = reader.buffer().to_vec();
    up.write_all(&buffered)?;
    let mut from_client = reader.into_inner();
    let mut to_daemon = up.try_clone()?;
    let pump = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
    });
    let mut to_client = client;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        to_client.write_all(&buf[..n])?;
    }
    let _ = to_client.shutdown(std::net::Shutdown::Both);
    let _ = pump.join();
    Ok(())
}

#[test]
fn a_pause_the_daemon_fails_once_is_retried_and_the_evaluation_still_grades() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let proxy = FaultProxy::start(&socket, |method, path| {
        method == "POST" && path.starts_with("/containers/") && path.contains("/pause")
    });
    let host = format!("unix://{}", socket.display());
    let sub = repo_root().join("crates/assay-checks/tests/fixtures/submissions/good");
    let o = assay_with_env(
        &[
            "evaluate",
            "--format",
            "json",
            "--timeout",
            "240",
            sub.to_str().unwrap(),
        ],
        &[("DOCKER_HOST", &host)],
    );
    let out = stdout(&o);
    let err = stderr(&o);
    let report = json_reports(&out, &err).remove(0);
    // Positive control: the fault really happened, and the pause was asked again.
    let pauses: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.contains("/pause"))
        .collect();
    assert_eq!(
        proxy.failed.load(Ordering::SeqCst).min(1),
        1,
        "no pause was asked: {:?}",
        proxy.requests()
    );
    assert!(
        pauses.len() >= 2,
        "the failed pause was not retried: {pauses:?}"
    );
    // Graded (not exit 3: the fixture has no essays, so it FAILs on those), and every
    // runtime check is what it is without the fault, the cold start included.
    assert_eq!(o.status.code(), Some(1), "{report:#}\n{err}");
    for c in report["checks"].as_array().unwrap() {
        if c["id"].as_str().unwrap().starts_with("runtime.") {
            assert_eq!(c["status"], "pass", "{c:#}");
        }
    }
    // Said in the report's notes, which every format shows.
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("a transient Docker error was retried") && notes.contains("pause"),
        "the retry is not in the notes: {notes}"
    );
}
