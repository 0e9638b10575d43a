//! The real binary against a real Postgres over real HTTP: the handout's promises, one by one.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};
use support::{App, Postgres, SUPERUSER_PASSWORD};

/// Environment pointing the app at `pg` as the superuser through PG* variables.
fn superuser_env(pg: &Postgres, timeout_secs: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", pg.port().to_string()),
        ("PGPASSWORD", SUPERUSER_PASSWORD.to_string()),
        ("DB_CONNECT_TIMEOUT_SECS", timeout_secs.to_string()),
    ]
}

fn spawn(env: &[(&'static str, String)]) -> App {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    App::spawn(&pairs)
}

fn started_app(pg: &Postgres) -> App {
    let mut app = spawn(&superuser_env(pg, "10"));
    app.expect_listening();
    app
}

fn assert_healthy(app: &App) {
    let health = app.get("/health");
    assert_eq!(health.status, 200, "{:?}\n{}", health, app.output());
    assert_eq!(
        health.json(),
        serde_json::json!({"status": "ok", "database": "ok"})
    );
    assert_eq!(health.header("content-type"), Some("application/json"));
}

/// A value no earlier run could have stored.
fn nonce(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{}-{nanos}", std::process::id())
}

#[test]
fn health_is_200_with_database_ok() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    assert_healthy(&app);
}

#[test]
fn note_round_trips_through_http_and_is_in_the_notes_table() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    let body = nonce("round-trip ünïcode");
    let created = app.post("/notes", body.as_bytes());
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_i64().expect("numeric id");
    assert_eq!(created.json(), serde_json::json!({ "id": id }));

    let read = app.get(&format!("/notes/{id}"));
    assert_eq!(read.status, 200);
    assert_eq!(read.text(), body);
    assert!(read
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain")));

    let stored = pg.sql(&format!("SELECT body FROM notes WHERE id = {id}"));
    assert_eq!(stored, vec![body]);
    let columns = pg.sql(
        "SELECT column_name || ':' || data_type FROM information_schema.columns \
         WHERE table_name = 'notes' ORDER BY ordinal_position",
    );
    assert_eq!(
        columns,
        [
            "id:bigint",
            "body:text",
            "created_at:timestamp with time zone"
        ]
    );
}

#[test]
fn notes_of_4_kib_are_accepted_and_larger_ones_get_413() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    let largest = "x".repeat(4096);
    let accepted = app.post("/notes", largest.as_bytes());
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let id = accepted.json()["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/notes/{id}")).text(), largest);

    let too_large = app.post("/notes", "x".repeat(4097).as_bytes());
    assert_eq!(too_large.status, 413, "{too_large:?}");
    let way_too_large = app.post("/notes", &vec![b'y'; 1 << 20]);
    assert_eq!(way_too_large.status, 413);
    assert_eq!(pg.sql("SELECT count(*) FROM notes"), ["1"]);
}

#[test]
fn unknown_and_malformed_note_ids_are_404() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    for path in [
        "/notes/987654",
        "/notes/abc",
        "/notes/-1",
        "/notes/0",
        "/no-such-page",
    ] {
        assert_eq!(app.get(path).status, 404, "{path}");
    }
    assert_eq!(app.post("/notes", b"\xff\xfe not utf-8").status, 400);
}

#[test]
fn index_is_a_small_html_page() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    let page = app.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let text = page.text();
    assert!(text.contains("<html") && text.contains("/health"), "{text}");
}

/// Creates role `app` with a password full of URL metacharacters, owning database `appdb`.
const AWKWARD_PASSWORD: &str = "p@ss:w/rd%?#é";

fn create_app_role(pg: &Postgres, database: &str) {
    pg.sql(&format!(
        "CREATE ROLE app LOGIN PASSWORD '{AWKWARD_PASSWORD}'"
    ));
    pg.sql(&format!("CREATE DATABASE {database} OWNER app"));
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// After the app is healthy, the table exists in `database` (so it logged into the right one).
fn assert_table_created_in(pg: &Postgres, database: &str) {
    let url = format!(
        "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{database}",
        pg.port()
    );
    assert_eq!(
        pg.query(
            &url,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"
        ),
        ["app"]
    );
}

#[test]
fn database_url_with_percent_encoded_credentials_connects() {
    let Some(pg) = Postgres::start() else { return };
    create_app_role(&pg, "appdb");
    let url = format!(
        "postgres://app:{}@127.0.0.1:{}/appdb",
        percent_encode(AWKWARD_PASSWORD),
        pg.port()
    );
    let mut app = spawn(&[
        ("DATABASE_URL", url),
        // Ignored because DATABASE_URL wins; pointing them elsewhere proves it.
        ("PGHOST", "host.invalid".to_string()),
        ("PGPASSWORD", "wrong".to_string()),
    ]);
    app.expect_listening();
    assert_healthy(&app);
    assert_table_created_in(&pg, "appdb");
    assert!(app
        .output()
        .contains("DATABASE_URL is set, so PGHOST, PGPASSWORD are ignored"));
}

#[test]
fn pg_variables_with_password_connect() {
    let Some(pg) = Postgres::start() else { return };
    create_app_role(&pg, "appdb");
    let mut app = spawn(&[
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", pg.port().to_string()),
        ("PGUSER", "app".to_string()),
        ("PGPASSWORD", AWKWARD_PASSWORD.to_string()),
        ("PGDATABASE", "appdb".to_string()),
    ]);
    app.expect_listening();
    assert_healthy(&app);
    assert_table_created_in(&pg, "appdb");
}

#[test]
fn password_file_with_trailing_newline_connects_and_database_defaults_to_user() {
    let Some(pg) = Postgres::start() else { return };
    create_app_role(&pg, "app");
    let secrets = tempfile::tempdir().unwrap();
    let file = support::write_file(
        secrets.path(),
        "db_password",
        &format!("{AWKWARD_PASSWORD}\n"),
    );
    let mut app = spawn(&[
        ("PGHOST", "localhost".to_string()),
        ("PGPORT", pg.port().to_string()),
        ("PGUSER", "app".to_string()),
        ("PGPASSWORD_FILE", file.display().to_string()),
    ]);
    app.expect_listening();
    assert_healthy(&app);
    assert_table_created_in(&pg, "app");
}

/// Asserts the app exits 1 within `limit` and its last line is an error naming `endpoint`.
fn assert_exits_1_naming(
    app: &mut App,
    started: Instant,
    limit: Duration,
    endpoint: &str,
) -> String {
    let status = app
        .wait_exit(limit + Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running:\n{}", app.output()));
    let elapsed = started.elapsed();
    eprintln!("exited with {status} after {elapsed:?}");
    assert_eq!(status.code(), Some(1), "{}", app.output());
    assert!(elapsed <= limit, "took {elapsed:?} (limit {limit:?})");
    let lines = support::parse_log_lines(&app.lines());
    let last = lines.last().expect("a log line");
    assert_eq!(last["level"], "error", "{last}");
    assert_eq!(last["fields"]["database"], endpoint, "{last}");
    let msg = last["msg"].as_str().unwrap().to_string();
    assert!(msg.contains(endpoint), "{msg}");
    msg
}

#[test]
fn wrong_password_exits_1_within_the_timeout_naming_the_host() {
    let Some(pg) = Postgres::start() else { return };
    let started = Instant::now();
    let mut app = spawn(&[
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", pg.port().to_string()),
        ("PGPASSWORD", "not-the-password".to_string()),
        ("DB_CONNECT_TIMEOUT_SECS", "2".to_string()),
    ]);
    let endpoint = format!("127.0.0.1:{}", pg.port());
    let msg = assert_exits_1_naming(&mut app, started, Duration::from_secs(3), &endpoint);
    assert!(msg.contains("password authentication failed"), "{msg}");
}

#[test]
fn refused_connection_exits_1_within_the_timeout_naming_the_host() {
    let port = support::free_port();
    let started = Instant::now();
    let mut app = spawn(&[
        (
            "DATABASE_URL",
            format!("postgres://postgres:pw@127.0.0.1:{port}/db"),
        ),
        ("DB_CONNECT_TIMEOUT_SECS", "2".to_string()),
    ]);
    let endpoint = format!("127.0.0.1:{port}");
    let msg = assert_exits_1_naming(&mut app, started, Duration::from_secs(3), &endpoint);
    assert!(msg.contains("refused"), "{msg}");
}

#[test]
fn silent_database_exits_1_within_the_timeout_naming_the_host() {
    // Accepts TCP (the kernel completes the handshake) but never answers, like a frozen server.
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let mut app = spawn(&[
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", port.to_string()),
        ("DB_CONNECT_TIMEOUT_SECS", "2".to_string()),
    ]);
    let endpoint = format!("127.0.0.1:{port}");
    assert_exits_1_naming(&mut app, started, Duration::from_secs(3), &endpoint);
    drop(silent);
}

#[test]
fn missing_pghost_exits_1_with_a_clear_json_error() {
    let mut app = spawn(&[("PGUSER", "app".to_string())]);
    let status = app.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(1));
    let lines = support::parse_log_lines(&app.lines());
    assert_eq!(lines.len(), 1, "{}", app.output());
    assert_eq!(lines[0]["level"], "error");
    assert_eq!(lines[0]["fields"]["variable"], "PGHOST");
    let msg = lines[0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("PGHOST") && msg.contains("DATABASE_URL"),
        "{msg}"
    );
}

#[test]
fn waits_for_a_database_that_starts_late() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    pg.halt();
    let mut app = spawn(&superuser_env(&pg, "20"));
    assert!(app.wait_for_msg("database not reachable yet", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(1500));
    pg.resume();
    app.expect_listening();
    assert_healthy(&app);
}

#[test]
fn database_restart_turns_health_503_then_200_again() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let app = started_app(&pg);
    assert_healthy(&app);
    let before = app.post("/notes", b"written before the restart").json()["id"].clone();

    pg.halt();
    let down = app.health_until(503, Duration::from_secs(10));
    assert_eq!(down.status, 503, "{down:?}");
    assert_eq!(down.json()["status"], "degraded");
    let reason = down.json()["database"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!reason.is_empty() && reason != "ok", "{reason}");
    assert_eq!(app.post("/notes", b"while down").status, 503);

    pg.resume();
    let up = app.health_until(200, Duration::from_secs(15));
    assert_eq!(up.status, 200, "{up:?}\n{}", app.output());
    assert_eq!(
        app.get(&format!("/notes/{before}")).text(),
        "written before the restart"
    );
    assert_eq!(app.post("/notes", b"after the restart").status, 201);
    let output = app.output();
    assert!(output.contains("database connection lost"), "{output}");
    assert!(output.contains("database connection restored"), "{output}");
}

fn assert_stops_cleanly(signal: libc::c_int, name: &str) {
    let Some(pg) = Postgres::start() else { return };
    let mut app = started_app(&pg);
    assert_healthy(&app);
    let sent = Instant::now();
    support::send_signal(app.pid(), signal);
    let status = app.wait_exit(Duration::from_secs(5)).expect("exits");
    let elapsed = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{}", app.output());
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let lines = support::parse_log_lines(&app.lines());
    assert!(lines
        .iter()
        .any(|l| l["msg"] == "shutting down" && l["fields"]["signal"] == name));
}

#[test]
fn sigterm_exits_0_within_2_seconds() {
    assert_stops_cleanly(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sigint_exits_0_within_2_seconds() {
    assert_stops_cleanly(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_while_waiting_for_the_database_exits_0_promptly() {
    let port = support::free_port();
    let mut app = spawn(&[
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", port.to_string()),
        ("DB_CONNECT_TIMEOUT_SECS", "60".to_string()),
    ]);
    assert!(app.wait_for_msg("database not reachable yet", Duration::from_secs(5)));
    let sent = Instant::now();
    support::send_signal(app.pid(), libc::SIGTERM);
    let status = app.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(0));
    assert!(sent.elapsed() < Duration::from_secs(2));
}

#[test]
fn every_stdout_line_is_json_and_each_request_is_logged() {
    let Some(pg) = Postgres::start() else { return };
    let mut app = started_app(&pg);
    app.get("/health");
    app.post("/notes", b"logged");
    app.get("/notes/424242");
    support::send_signal(app.pid(), libc::SIGTERM);
    app.wait_exit(Duration::from_secs(5)).expect("exits");
    let lines = support::parse_log_lines(&app.lines());
    let requests: Vec<(String, String, u64)> = lines
        .iter()
        .filter(|l| l["msg"] == "request")
        .map(|l| {
            let f = &l["fields"];
            (
                f["method"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        requests,
        [
            ("GET".into(), "/health".into(), 200),
            ("POST".into(), "/notes".into(), 201),
            ("GET".into(), "/notes/424242".into(), 404),
        ]
    );
    for line in &lines {
        let ts = line["ts"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
        assert!(["info", "warn", "error"].contains(&line["level"].as_str().unwrap()));
    }
    assert!(
        !app.output().contains(SUPERUSER_PASSWORD),
        "the password leaked into the log"
    );
}

#[test]
fn healthcheck_subcommand_follows_health() {
    let Some(pg) = Postgres::start() else { return };
    let app = started_app(&pg);
    let run = |port: u16| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sample-webapp"))
            .arg("healthcheck")
            .env_clear()
            .env("PORT", port.to_string())
            .output()
            .expect("run healthcheck")
    };
    let healthy = run(app.port());
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");
    let nobody_there = run(support::free_port());
    assert_eq!(nobody_there.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nobody_there.stdout).contains("unhealthy"));
}

#[test]
fn version_flag_prints_the_crate_version() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sample-webapp"))
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("sample-webapp {}", env!("CARGO_PKG_VERSION"))
    );
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_sample-webapp"))
        .arg("--frobnicate")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}
