//! A daemon that stops answering mid-run is "could not grade" (exit 3), not a candidate FAIL,
//! and the run gives up within its per-call timeouts.

use assay_testkit::projects as testkit;

use assay_runner::{run_checks, CancellationToken, DbCredentials, RunInputs};
use assay_sandbox::{Engine, Timeouts};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// A fake Docker socket: answers `/_ping` and `/version`, then never answers anything else.
fn hanging_daemon(path: &std::path::Path) {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut out = conn;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_string();
                    let body = if path.ends_with("/_ping") {
                        "OK".to_string()
                    } else if path.ends_with("/version") {
                        r#"{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12"}"#
                            .to_string()
                    } else {
                        // Hung: hold the connection, answer nothing.
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    };
                    let ctype = if body.starts_with('{') {
                        "application/json"
                    } else {
                        "text/plain"
                    };
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_daemon_is_could_not_grade_within_the_call_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    hanging_daemon(&sock);
    // This test process is the only user of DOCKER_HOST (nextest runs each test in its own).
    std::env::set_var("DOCKER_HOST", format!("unix://{}", sock.display()));
    let timeouts = Timeouts {
        quick: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let engine = Engine::connect_with(timeouts)
        .await
        .expect("the fake daemon answers ping");
    let project = testkit::good_project(dir.path());
    let mut inputs = RunInputs::new(
        "db",
        "webapp",
        DbCredentials {
            user: "app".into(),
            password: Some("s3cret-pw".into()),
            database: "notes".into(),
        },
        "assay/sample-webapp:0.1.0",
        "assay/probe:0.1.0",
    );
    inputs.state_dir = dir.path().join("runs");
    let started = Instant::now();
    let err = run_checks(&engine, &project, &inputs, CancellationToken::new())
        .await
        .expect_err("assay cannot grade with a hung daemon");
    assert!(err.is_unreachable(), "{err}");
    assert!(
        err.to_string().contains("no answer from Docker within 2 s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
