//! Test helpers: a real Postgres started from the machine's server binaries, the real
//! `sample-webapp` binary as a child process, and a tiny HTTP/1.1 client for loopback.
#![allow(dead_code)] // each test binary uses its own part of the helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Password of the `postgres` superuser in every test cluster.
pub const SUPERUSER_PASSWORD: &str = "assay-test-superuser";

/// A port on 127.0.0.1 that nothing listened on a moment ago.
/// A port the webapp can listen on, from 20000-32767: below the kernel's ephemeral range
/// (where outgoing connections and `bind(0)` take ports) and Docker's published ports, so no
/// other socket is handed the same port between this check and the webapp's own bind (which
/// may come seconds later, after it reached its database).
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for attempt in 0u32..1000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        h.write_u32(std::process::id());
        let port = 20000 + (h.finish() % 12768) as u16;
        if TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000-32767")
}

const SERVER_TOOLS: [&str; 3] = ["initdb", "postgres", "pg_isready"];

fn has_server_tools(bin: &Path) -> bool {
    SERVER_TOOLS.iter().all(|tool| bin.join(tool).is_file())
}

/// The directory holding initdb, postgres and pg_isready: `$SAMPLE_WEBAPP_PG_BIN` when set,
/// else the newest `/usr/lib/postgresql/<major>/bin` (Debian's layout).
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SAMPLE_WEBAPP_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_server_tools(&dir).then_some(dir);
    }
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server_tools(&bin).then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// `(uid, gid)` to run Postgres as when we are root (it refuses to run as root): `nobody`.
fn unprivileged_ids() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let ids = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"nobody") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    });
    Some(ids.unwrap_or((65534, 65534)))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Sends `signal` to a process we started.
pub fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions; the pid is a child we spawned.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn wait_with_deadline(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A throw-away Postgres cluster on a free loopback port with password (SCRAM) auth.
/// Dropping it stops the server and deletes its files.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    port: u16,
    server: Option<Child>,
}

impl Postgres {
    /// Starts a cluster, or returns `None` (after printing why) when the server binaries are
    /// missing. Under `CI=true` missing binaries fail the test instead.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = postgres_bin_dir() else {
            let notice = "PostgreSQL server binaries (initdb, postgres, pg_isready) not found in \
                          $SAMPLE_WEBAPP_PG_BIN or /usr/lib/postgresql/*/bin (install postgresql-15)";
            if ci() {
                panic!("{notice}; CI=true requires them");
            }
            eprintln!("SKIPPED: {notice}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("sample-webapp-pg-")
            .tempdir()
            .expect("create a temp dir");
        let run_as = unprivileged_ids();
        let pwfile = dir.path().join("superuser-password");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).expect("write the password file");
        if let Some((uid, gid)) = run_as {
            for path in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to nobody");
            }
        }
        let mut pg = Postgres {
            dir,
            bin,
            run_as,
            port: free_port(),
            server: None,
        };
        let output = pg
            .command("initdb")
            .arg("--pgdata")
            .arg(pg.data_dir())
            .args(["--username=postgres", "--auth=scram-sha-256"])
            .args(["--encoding=UTF8", "--locale=C", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        pg.resume();
        Some(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(self.bin.join(tool));
        command
            .env_clear()
            .env("LC_ALL", "C")
            .current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres:…@127.0.0.1:PORT/postgres`
    pub fn superuser_url(&self) -> String {
        format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// The server's own log (for failure messages).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Starts the server again on the same port and data (after [`Postgres::halt`]) and waits
    /// until it accepts connections.
    pub fn resume(&mut self) {
        assert!(self.server.is_none(), "the server is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("open the server log");
        if let Some((uid, gid)) = self.run_as {
            let _ =
                std::os::unix::fs::chown(self.dir.path().join("server.log"), Some(uid), Some(gid));
        }
        let server = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=off", "-c", "max_connections=30"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self
                .command("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "1"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(server) = self.server.as_mut() {
                if let Ok(Some(status)) = server.try_wait() {
                    panic!("postgres exited with {status}: {}", self.server_log());
                }
            }
            assert!(
                Instant::now() < deadline,
                "postgres not ready within 30 s: {}",
                self.server_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: open connections are closed), keeping its data.
    pub fn halt(&mut self) {
        if let Some(mut server) = self.server.take() {
            send_signal(server.id(), libc::SIGINT);
            if wait_with_deadline(&mut server, Duration::from_secs(15)).is_none() {
                let _ = server.kill();
                let _ = server.wait();
            }
        }
    }

    /// Runs SQL as the superuser (e.g. to create roles) and returns the rows' first columns.
    pub fn sql(&self, statements: &str) -> Vec<String> {
        self.query(&self.superuser_url(), statements)
    }

    /// Runs simple-protocol SQL through `url` and returns every row's first column as text.
    pub fn query(&self, url: &str, statements: &str) -> Vec<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connect to {url}: {e:?}"));
            let driver = tokio::spawn(connection);
            let messages = client
                .simple_query(statements)
                .await
                .unwrap_or_else(|e| panic!("{statements}: {e:?}"));
            drop(client);
            let _ = driver.await;
            messages
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some(row.get(0).unwrap_or("NULL").to_string())
                    }
                    _ => None,
                })
                .collect()
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The real `sample-webapp` binary running as a child, with its stdout collected line by line.
pub struct App {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl App {
    /// Starts the binary with exactly `env` (nothing inherited) plus `PORT` on a free port.
    pub fn spawn(env: &[(&str, &str)]) -> App {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_sample-webapp"));
        command
            .env_clear()
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("spawn sample-webapp");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => sink.lock().expect("log lock").push(line),
                    Err(_) => break,
                }
            }
        });
        App {
            child,
            port,
            lines,
            reader: Some(reader),
            status: None,
        }
    }

    /// The port the app was told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id (to send signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }

    /// Stdout so far as one text, for failure messages.
    pub fn output(&self) -> String {
        self.lines().join("\n")
    }

    /// Waits until a log line's `msg` equals `msg`; false on timeout or exit.
    pub fn wait_for_msg(&mut self, msg: &str, within: Duration) -> bool {
        let needle = format!("\"msg\":\"{msg}\"");
        let start = Instant::now();
        loop {
            if self.lines().iter().any(|l| l.contains(&needle)) {
                return true;
            }
            if start.elapsed() >= within || self.try_status().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the "listening" line and panics with the output if it does not come.
    pub fn expect_listening(&mut self) {
        assert!(
            self.wait_for_msg("listening", Duration::from_secs(15)),
            "sample-webapp did not start listening:\n{}",
            self.output()
        );
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits for the process to exit; `None` if it is still running after `within`.
    /// Returns once stdout is fully read, so [`App::lines`] is complete afterwards.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let status = match self.status {
            Some(status) => Some(status),
            None => wait_with_deadline(&mut self.child, within),
        };
        if status.is_some() {
            self.status = status;
            if let Some(reader) = self.reader.take() {
                let _ = reader.join();
            }
        }
        status
    }

    /// An HTTP request to the app on 127.0.0.1.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> HttpResponse {
        http_request(self.port, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.output()))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, b"")
    }

    /// `POST path` with `body`.
    pub fn post(&self, path: &str, body: &[u8]) -> HttpResponse {
        self.request("POST", path, body)
    }

    /// Polls `GET /health` until its status is `want`; the last answer either way.
    pub fn health_until(&self, want: u16, within: Duration) -> HttpResponse {
        let start = Instant::now();
        loop {
            let response = self.get("/health");
            if response.status == want || start.elapsed() >= within {
                return response;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }
}

/// One HTTP/1.1 request with `Connection: close` to 127.0.0.1:`port`.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<HttpResponse, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .map_err(|e| format!("connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    // The server may answer (e.g. 413) and close before reading a large body; that is fine.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream
        .take(16 * 1024 * 1024)
        .read_to_end(&mut raw)
        .map_err(|e| format!("read the response: {e}"))?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(raw)))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Parses every stdout line as JSON; panics naming the first line that is not an object with
/// `ts`, `level`, `msg` and `fields`.
pub fn parse_log_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            for key in ["ts", "level", "msg"] {
                assert!(value[key].is_string(), "no string {key:?} in {line}");
            }
            assert!(
                value["fields"].is_object(),
                "no \"fields\" object in {line}"
            );
            value
        })
        .collect()
}

/// Writes `contents` to `dir/name` readable by anyone and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a test file");
    path
}
