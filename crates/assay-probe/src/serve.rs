//! `assay-probe serve`: many probes over one `docker exec`. Each stdin line is a request
//! `{"id": N, "args": ["http", "GET", "http://web:8080/health", "--timeout-ms", "900"]}` (the
//! arguments of a one-shot command line); each answer is one stdout line
//! `{"id": N, "result": {...}}` holding what the one-shot command would have printed.
//! Requests run concurrently and answers come in the order they finish. EOF on stdin ends the
//! session once the answers in flight are written.
//!
//! Starting a process through the exec API costs ~60 ms on a small host; a request on an open
//! session costs what the probe itself takes.

use crate::{failure, parse, run, truncate, ProbeResult};
use assay_core::probe::{ProbeAnswer, ProbeRequest};
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};

/// Longest request line; a longer one is answered with an error and skipped.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;
/// Requests in flight at once; more wait for a slot.
pub const MAX_IN_FLIGHT: usize = 64;

/// Serves requests from `input` until EOF, writing one answer line per request to `output`.
pub async fn serve<R, W>(input: R, mut output: W)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if output.write_all(line.as_bytes()).await.is_err() || output.flush().await.is_err() {
                // Nobody listens any more: the session is over.
                break;
            }
        }
    });
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut lines = input;
    loop {
        let line = match read_line(&mut lines).await {
            Ok(Some(l)) => l,
            Ok(None) | Err(_) => break,
        };
        let line = match line {
            Line::Text(t) if t.trim().is_empty() => continue,
            Line::Text(t) => t,
            Line::TooLong => {
                let _ = tx.send(answer(
                    Value::Null,
                    failure(format!("request longer than {MAX_REQUEST_LINE} bytes")),
                ));
                continue;
            }
        };
        let (id, cmd) = match request(&line) {
            Ok(r) => r,
            Err((id, e)) => {
                let _ = tx.send(answer(id, failure(e)));
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let result = run(cmd).await;
            let _ = tx.send(answer(id, result));
            drop(slot);
        });
    }
    // Wait for the requests in flight: each holds a slot until its answer is queued.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
    drop(tx);
    let _ = writer.await;
}

enum Line {
    Text(String),
    TooLong,
}

/// One `\n`-terminated line (the last may lack it), at most [`MAX_REQUEST_LINE`] bytes kept.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let n = (&mut *r)
        .take(MAX_REQUEST_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() > MAX_REQUEST_LINE {
        // Skip the rest of the overlong line.
        loop {
            let mut rest = Vec::new();
            let m = (&mut *r)
                .take(MAX_REQUEST_LINE as u64)
                .read_until(b'\n', &mut rest)
                .await?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Line::TooLong));
    }
    Ok(Some(Line::Text(String::from_utf8_lossy(&buf).into_owned())))
}

/// The id and command of a request line, or the id (if any) and what is wrong.
fn request(line: &str) -> Result<(Value, crate::Command), (Value, String)> {
    let v: Value = serde_json::from_str(line.trim())
        .map_err(|e| (Value::Null, format!("request is not JSON: {e}")))?;
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    if !(id.is_u64() || id.is_string()) {
        return Err((
            Value::Null,
            "request needs an \"id\" (number or string)".into(),
        ));
    }
    let Ok(ProbeRequest { args, .. }) = serde_json::from_value::<ProbeRequest>(v) else {
        return Err((id, "request needs \"args\": an array of strings".into()));
    };
    if args.first().map(String::as_str) == Some("serve") {
        return Err((id, "a session cannot start another session".into()));
    }
    match parse(&args) {
        Ok(cmd) => Ok((id, cmd)),
        Err(e) => Err((id, truncate(&e, 500))),
    }
}

fn answer(id: Value, result: ProbeResult) -> String {
    let mut line = serde_json::to_string(&ProbeAnswer { id, result })
        .unwrap_or_else(|_| r#"{"id":null,"result":{"ok":false}}"#.into());
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::{duplex, AsyncWriteExt, BufReader};

    async fn session(requests: &[u8]) -> Vec<Value> {
        let (mut client, server_in) = duplex(1 << 20);
        let (server_out, client_out) = duplex(1 << 20);
        client.write_all(requests).await.unwrap();
        drop(client);
        serve(BufReader::new(server_in), server_out).await;
        let mut text = String::new();
        BufReader::new(client_out)
            .read_to_string(&mut text)
            .await
            .unwrap();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                // Each line is the contract's answer, every field of it kept.
                let typed: ProbeAnswer = serde_json::from_str(l).unwrap();
                assert_eq!(serde_json::to_value(&typed).unwrap(), v, "{l}");
                v
            })
            .collect()
    }

    #[tokio::test]
    async fn answers_each_request_with_its_id() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        let req = format!(
            "{{\"id\":1,\"args\":[\"http\",\"GET\",\"http://127.0.0.1:{port}/health\",\"--timeout-ms\",\"2000\"]}}\n\
             {{\"id\":\"two\",\"args\":[\"wait-tcp\",\"127.0.0.1\",\"{port}\",\"--timeout-ms\",\"2000\"]}}\n"
        );
        let mut answers = session(req.as_bytes()).await;
        answers.sort_by_key(|a| a["id"].is_string());
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0]["id"], json!(1));
        assert_eq!(answers[0]["result"]["status"], json!(200));
        assert_eq!(answers[0]["result"]["body"], json!("ok"));
        assert_eq!(answers[1]["id"], json!("two"));
        assert_eq!(answers[1]["result"]["ok"], json!(true));
    }

    #[tokio::test]
    async fn bad_requests_get_errors_and_the_session_goes_on() {
        let mut long = vec![b'x'; MAX_REQUEST_LINE + 10];
        long.push(b'\n');
        let mut input = Vec::new();
        input.extend_from_slice(b"not json\n");
        input.extend_from_slice(b"{\"args\":[\"wait-tcp\"]}\n");
        input.extend_from_slice(b"{\"id\":3,\"args\":[\"http\",\"PUT\",\"http://x/\"]}\n");
        input.extend_from_slice(b"{\"id\":4,\"args\":[\"serve\"]}\n");
        input.extend_from_slice(b"{\"id\":5,\"args\":[1,2]}\n");
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\n   \n");
        input.extend_from_slice(
            b"{\"id\":6,\"args\":[\"wait-tcp\",\"127.0.0.1\",\"9\",\"--timeout-ms\",\"50\"]}",
        );
        let answers = session(&input).await;
        assert_eq!(answers.len(), 7, "{answers:?}");
        let err = |i: usize| {
            answers[i]["result"]["error"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        assert!(err(0).contains("not JSON"));
        assert!(err(1).contains("\"id\""));
        assert!(err(2).contains("PUT"));
        assert!(err(3).contains("another session"));
        assert!(err(4).contains("strings"));
        assert!(err(5).contains("longer than"));
        // The last line has no newline and still runs (nothing listens on port 9 of loopback).
        assert_eq!(answers[6]["id"], json!(6));
        assert_eq!(answers[6]["result"]["ok"], json!(false));
    }
}
