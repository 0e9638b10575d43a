//! The probe container, driven through exec: every request to the candidate's stack is made from
//! inside the run's networks by `assay-probe`, which answers in JSON. The host never sends
//! traffic to a container address. One `assay-probe serve` process per run (a
//! [`ProbeSession`]) answers every probe over its attached stdin and stdout; when it cannot be
//! opened or ends, each probe is its own `assay-probe …` exec. What the probe answers is read
//! with [`ProbeResult`], the contract `assay-probe` writes with.

use assay_core::probe::{ProbeRequest, ProbeResult};
use assay_sandbox::{Engine, EngineError};
use serde_json::Value;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

/// The probe binary inside the probe image.
pub const PROBE_BIN: &str = "assay-probe";

/// What one probe command answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReply {
    /// Exit code of the probe command.
    pub exit_code: Option<i64>,
    /// What it answered (`None` when it printed no answer).
    pub result: Option<ProbeResult>,
    /// stderr, for evidence.
    pub stderr: String,
}

impl ProbeReply {
    /// HTTP status, when the request got an answer.
    pub fn http_status(&self) -> Option<u16> {
        self.result.as_ref()?.status
    }

    /// HTTP body.
    pub fn body(&self) -> &str {
        self.result
            .as_ref()
            .and_then(|r| r.body.as_deref())
            .unwrap_or("")
    }

    /// The error the probe reported, or a description of a missing answer.
    pub fn error(&self) -> Option<String> {
        match &self.result {
            Some(r) => r.error.clone(),
            None => {
                let err = self.stderr.trim();
                Some(if err.is_empty() {
                    format!("the probe printed no JSON (exit {:?})", self.exit_code)
                } else {
                    err.lines().last().unwrap_or(err).to_string()
                })
            }
        }
    }

    /// True when the probe says the operation succeeded.
    pub fn ok(&self) -> bool {
        self.result.as_ref().is_some_and(|r| r.ok)
    }

    /// For `pg --query-nonce`: whether the nonce was found in `notes.body`.
    pub fn nonce_found(&self) -> Option<bool> {
        let r = self.result.as_ref()?;
        r.found.or(r.rows.map(|n| n > 0))
    }

    /// The answer as the probe printed it, for evidence (`null` when there was none).
    pub fn answer_text(&self) -> String {
        self.result
            .as_ref()
            .map_or_else(|| "null".into(), ProbeResult::to_json)
    }
}

/// Parses the last answer the probe printed.
pub fn parse_stdout(stdout: &str) -> Option<ProbeResult> {
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str::<ProbeResult>(l).ok())
}

/// Credentials and place of the candidate's Postgres, as the db was initialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

/// A running probe container.
#[derive(Debug, Clone)]
pub struct Probe<'e> {
    pub engine: &'e Engine,
    pub container: String,
    /// The open `assay-probe serve` session, when there is one; without it (or once it ends)
    /// every probe is its own exec.
    pub session: Option<Arc<ProbeSession>>,
}

impl<'e> Probe<'e> {
    async fn run(&self, args: &[&str], limit: Duration) -> Result<ProbeReply, EngineError> {
        // The probe gives up a little before we do, so its JSON answer arrives.
        let own = limit
            .saturating_sub(Duration::from_millis(500))
            .max(Duration::from_millis(300));
        let ms = own.as_millis().to_string();
        let mut cmd = vec![PROBE_BIN];
        cmd.extend_from_slice(args);
        cmd.extend_from_slice(&["--timeout-ms", &ms]);
        if let Some(session) = &self.session {
            match session.ask(&cmd[1..], limit).await {
                Asked::Answer(result) => {
                    return Ok(ProbeReply {
                        exit_code: Some(0),
                        result,
                        stderr: String::new(),
                    })
                }
                Asked::TimedOut => return Ok(no_answer(limit)),
                // The session is gone: this request (even one it may have sent, such as a
                // POST, which then stores a second note; the round-trip reads back the id it is
                // given) goes through its own exec.
                Asked::Gone => {}
            }
        }
        let out = match tokio::time::timeout(limit, self.engine.exec(&self.container, &cmd)).await {
            Ok(r) => r?,
            Err(_) => return Ok(no_answer(limit)),
        };
        Ok(ProbeReply {
            exit_code: out.exit_code,
            result: parse_stdout(&out.stdout),
            stderr: out.stderr,
        })
    }

    /// `GET`/`POST` a URL from inside the run's networks.
    pub async fn http(
        &self,
        method: &str,
        url: &str,
        body: Option<&str>,
        limit: Duration,
    ) -> Result<ProbeReply, EngineError> {
        let mut args = vec!["http", method, url];
        if let Some(b) = body {
            args.push("--body");
            args.push(b);
        }
        self.run(&args, limit).await
    }

    /// Connects to Postgres directly; with a nonce, looks it up in `notes.body`.
    pub async fn pg(
        &self,
        t: &PgTarget,
        nonce: Option<&str>,
        limit: Duration,
    ) -> Result<ProbeReply, EngineError> {
        let port = t.port.to_string();
        let mut args = vec![
            "pg",
            "--host",
            &t.host,
            "--port",
            &port,
            "--user",
            &t.user,
            "--password",
            &t.password,
            "--db",
            &t.database,
        ];
        if let Some(n) = nonce {
            args.push("--query-nonce");
            args.push(n);
        }
        self.run(&args, limit).await
    }

    /// Whether a TCP connection to `host:port` succeeds.
    pub async fn tcp(
        &self,
        host: &str,
        port: u16,
        limit: Duration,
    ) -> Result<ProbeReply, EngineError> {
        self.run(&["wait-tcp", host, &port.to_string()], limit)
            .await
    }
}

fn no_answer(limit: Duration) -> ProbeReply {
    ProbeReply {
        exit_code: None,
        result: Some(ProbeResult::failure(format!(
            "no answer within {} s",
            limit.as_secs()
        ))),
        stderr: String::new(),
    }
}

/// Longest answer line a session accepts (answers carry at most a 16 KiB body).
const MAX_ANSWER_LINE: usize = 1024 * 1024;

/// Requests waiting for their answer, by id; an answer whose result is not a [`ProbeResult`]
/// arrives as `None`.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Option<ProbeResult>>>>>;

type ExecOutputStream = Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<bollard::container::LogOutput, bollard::errors::Error>,
            > + Send,
    >,
>;

/// One `assay-probe serve` process in the probe container, attached through the exec API:
/// requests are written to its stdin, answers read from its stdout and matched by id. A probe
/// on an open session costs what the probe itself takes instead of an exec's ~60 ms.
pub struct ProbeSession {
    stdin: tokio::sync::Mutex<Pin<Box<dyn AsyncWrite + Send>>>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ProbeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeSession")
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// What asking a session gave.
enum Asked {
    Answer(Option<ProbeResult>),
    TimedOut,
    /// The session ended (before or while asking).
    Gone,
}

impl ProbeSession {
    /// Starts `assay-probe serve` in the (running) probe container.
    pub async fn open(engine: &Engine, container: &str) -> Result<ProbeSession, EngineError> {
        let exec = engine
            .exec_attached(container, &[PROBE_BIN, "serve"])
            .await?;
        Ok(ProbeSession::over(exec.stdin, exec.output))
    }

    /// A session over a process's stdin and its (Docker-framed) output.
    fn over(stdin: Pin<Box<dyn AsyncWrite + Send>>, output: ExecOutputStream) -> ProbeSession {
        let pending: Pending = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let reader = tokio::spawn(read_answers(output, pending.clone(), alive.clone()));
        ProbeSession {
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            alive,
            next_id: AtomicU64::new(1),
            reader,
        }
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    async fn ask(&self, args: &[&str], limit: Duration) -> Asked {
        if !self.is_alive() {
            return Asked::Gone;
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        let request = ProbeRequest {
            id: id.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        let Ok(mut line) = serde_json::to_string(&request) else {
            return Asked::Gone;
        };
        line.push('\n');
        let sent = tokio::time::timeout(limit, async {
            let mut stdin = self.stdin.lock().await;
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        })
        .await;
        let asked = match sent {
            Ok(Ok(())) => match tokio::time::timeout(limit, rx).await {
                Ok(Ok(result)) => Asked::Answer(result),
                // The reader dropped the sender: the session ended.
                Ok(Err(_)) => Asked::Gone,
                Err(_) => Asked::TimedOut,
            },
            Ok(Err(_)) => {
                self.alive.store(false, Ordering::SeqCst);
                Asked::Gone
            }
            Err(_) => Asked::TimedOut,
        };
        if !matches!(asked, Asked::Answer(_)) {
            if let Ok(mut p) = self.pending.lock() {
                p.remove(&id);
            }
        }
        asked
    }
}

/// Reads answer lines and hands each to the request with its id. Ends the session (and so
/// every pending request) when the stream ends, fails, or sends a line over the cap.
async fn read_answers(mut output: ExecOutputStream, pending: Pending, alive: Arc<AtomicBool>) {
    use bollard::container::LogOutput;
    use futures_util::StreamExt;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(Ok(chunk)) = output.next().await {
        let LogOutput::StdOut { message } = chunk else {
            continue;
        };
        buf.extend_from_slice(&message);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let Ok(mut v) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let Some(id) = v.get("id").and_then(Value::as_u64) else {
                continue;
            };
            let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
            if let Some(tx) = waiter {
                let result = v
                    .get_mut("result")
                    .map(Value::take)
                    .and_then(|r| serde_json::from_value::<ProbeResult>(r).ok());
                let _ = tx.send(result);
            }
        }
        if buf.len() > MAX_ANSWER_LINE {
            break;
        }
    }
    alive.store(false, Ordering::SeqCst);
    // Dropping the senders tells every waiting request that the session is gone.
    if let Ok(mut p) = pending.lock() {
        p.clear();
    }
}

impl Drop for ProbeSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(json: Value, code: i64) -> ProbeReply {
        ProbeReply {
            exit_code: Some(code),
            result: Some(serde_json::from_value(json).expect("a probe result")),
            stderr: String::new(),
        }
    }

    #[test]
    fn parses_the_last_json_line() {
        assert_eq!(
            parse_stdout("noise\n{\"a\":1}\n{\"status\":200}\n"),
            Some(ProbeResult {
                status: Some(200),
                ..ProbeResult::default()
            })
        );
        assert_eq!(parse_stdout("no json"), None);
        assert_eq!(parse_stdout("{broken"), None);
    }

    #[test]
    fn http_fields() {
        let r = reply(json!({"ok": true, "status": 201, "body": "{\"id\":7}"}), 0);
        assert_eq!(r.http_status(), Some(201));
        assert_eq!(r.body(), "{\"id\":7}");
        assert!(r.ok());
        assert_eq!(r.error(), None);
    }

    #[test]
    fn errors_are_reported() {
        let r = reply(json!({"ok": false, "error": "connection refused"}), 1);
        assert!(!r.ok());
        assert_eq!(r.error().as_deref(), Some("connection refused"));
        let none = ProbeReply {
            exit_code: Some(127),
            result: None,
            stderr: "exec: not found\n".into(),
        };
        assert_eq!(none.error().as_deref(), Some("exec: not found"));
    }

    /// A session whose "process" is a task answering over in-memory pipes with `answer`.
    fn fake_session(
        answer: impl Fn(u64, &[String]) -> Option<String> + Send + 'static,
    ) -> ProbeSession {
        use bollard::container::LogOutput;
        use tokio::io::AsyncBufReadExt;
        let (stdin, server_in) = tokio::io::duplex(1 << 16);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(server_in).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let v: Value = serde_json::from_str(&line).unwrap();
                let ProbeRequest { id, args } = serde_json::from_value(v).unwrap();
                let id = id.as_u64().unwrap();
                if let Some(out) = answer(id, &args) {
                    // Split in two frames to check reassembly.
                    let (a, b) = out.split_at(out.len() / 2);
                    for part in [a, b] {
                        let message = part.to_string().into();
                        let _ = tx.send(Ok(LogOutput::StdOut { message }));
                    }
                }
                if args.first().map(String::as_str) == Some("die") {
                    break;
                }
            }
        });
        let output = Box::pin(tokio_stream_from(rx));
        ProbeSession::over(Box::pin(stdin), output)
    }

    fn tokio_stream_from<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    #[tokio::test]
    async fn a_session_matches_answers_to_requests_by_id() {
        let session = fake_session(|id, args| {
            Some(format!(
                "noise that is not json\n{{\"id\":{id},\"result\":{{\"status\":200,\"body\":\"{}\"}}}}\n",
                args[2]
            ))
        });
        let (a, b) = tokio::join!(
            session.ask(&["http", "GET", "one"], Duration::from_secs(5)),
            session.ask(&["http", "GET", "two"], Duration::from_secs(5)),
        );
        let body = |x: Asked| match x {
            Asked::Answer(r) => r.and_then(|r| r.body).unwrap_or_default(),
            _ => "no answer".into(),
        };
        assert_eq!((body(a), body(b)), ("one".to_string(), "two".to_string()));
        assert!(session.is_alive());
    }

    #[tokio::test]
    async fn a_silent_session_times_out_and_a_dead_one_is_gone() {
        let session = fake_session(|_, args| match args[0].as_str() {
            "silent" | "die" => None,
            _ => Some(String::new()),
        });
        assert!(matches!(
            session.ask(&["silent"], Duration::from_millis(100)).await,
            Asked::TimedOut
        ));
        // The process ends while a request waits: the request learns the session is gone.
        assert!(matches!(
            session.ask(&["die"], Duration::from_secs(5)).await,
            Asked::Gone
        ));
        assert!(!session.is_alive());
        assert!(matches!(
            session.ask(&["http"], Duration::from_secs(5)).await,
            Asked::Gone
        ));
    }

    #[test]
    fn nonce_lookup_shapes() {
        assert_eq!(reply(json!({"found": true}), 0).nonce_found(), Some(true));
        assert_eq!(reply(json!({"rows": 0}), 0).nonce_found(), Some(false));
        assert_eq!(reply(json!({"ok": true}), 0).nonce_found(), None);
    }
}
