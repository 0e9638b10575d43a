//! The probe container, driven through exec: every request to the candidate's stack is made from
//! inside the run's networks by `assay-probe`, which prints one JSON object on stdout. The host
//! never sends traffic to a container address.

use assay_sandbox::{Engine, EngineError};
use serde_json::Value;
use std::time::Duration;

/// The probe binary inside the probe image.
pub const PROBE_BIN: &str = "assay-probe";

/// What one probe command answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReply {
    /// Exit code of the probe command.
    pub exit_code: Option<i64>,
    /// The JSON object it printed (`Null` when it printed none).
    pub json: Value,
    /// stderr, for evidence.
    pub stderr: String,
}

impl ProbeReply {
    /// HTTP status, when the request got an answer.
    pub fn http_status(&self) -> Option<u16> {
        ["status", "status_code", "code"]
            .iter()
            .find_map(|k| self.json.get(*k).and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
    }

    /// HTTP body (or any `body` field).
    pub fn body(&self) -> &str {
        self.json.get("body").and_then(Value::as_str).unwrap_or("")
    }

    /// The error the probe reported, or a description of a missing answer.
    pub fn error(&self) -> Option<String> {
        if let Some(e) = self.json.get("error").filter(|e| !e.is_null()) {
            return Some(
                e.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
            );
        }
        if self.json.is_null() {
            let err = self.stderr.trim();
            return Some(if err.is_empty() {
                format!("the probe printed no JSON (exit {:?})", self.exit_code)
            } else {
                err.lines().last().unwrap_or(err).to_string()
            });
        }
        None
    }

    /// True when the probe says the operation succeeded (`ok: true`, or exit 0 with no error).
    pub fn ok(&self) -> bool {
        match self.json.get("ok").and_then(Value::as_bool) {
            Some(ok) => ok,
            None => self.exit_code == Some(0) && self.error().is_none(),
        }
    }

    /// For `pg --query-nonce`: whether the nonce was found in `notes.body`.
    pub fn nonce_found(&self) -> Option<bool> {
        if let Some(b) = ["found", "nonce_found", "present"]
            .iter()
            .find_map(|k| self.json.get(*k).and_then(Value::as_bool))
        {
            return Some(b);
        }
        ["count", "rows", "matches"]
            .iter()
            .find_map(|k| self.json.get(*k).and_then(Value::as_u64))
            .map(|n| n > 0)
    }
}

/// Parses the last JSON object the probe printed.
pub fn parse_stdout(stdout: &str) -> Value {
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or(Value::Null)
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
        let out = match tokio::time::timeout(limit, self.engine.exec(&self.container, &cmd)).await {
            Ok(r) => r?,
            Err(_) => {
                return Ok(ProbeReply {
                    exit_code: None,
                    json: serde_json::json!({"error": format!("no answer within {} s", limit.as_secs())}),
                    stderr: String::new(),
                })
            }
        };
        Ok(ProbeReply {
            exit_code: out.exit_code,
            json: parse_stdout(&out.stdout),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(json: Value, code: i64) -> ProbeReply {
        ProbeReply {
            exit_code: Some(code),
            json,
            stderr: String::new(),
        }
    }

    #[test]
    fn parses_the_last_json_line() {
        assert_eq!(
            parse_stdout("noise\n{\"a\":1}\n{\"status\":200}\n"),
            json!({"status": 200})
        );
        assert_eq!(parse_stdout("no json"), Value::Null);
        assert_eq!(parse_stdout("{broken"), Value::Null);
    }

    #[test]
    fn http_fields() {
        let r = reply(json!({"status": 201, "body": "{\"id\":7}"}), 0);
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
            json: Value::Null,
            stderr: "exec: not found\n".into(),
        };
        assert_eq!(none.error().as_deref(), Some("exec: not found"));
    }

    #[test]
    fn nonce_lookup_shapes() {
        assert_eq!(reply(json!({"found": true}), 0).nonce_found(), Some(true));
        assert_eq!(reply(json!({"count": 0}), 0).nonce_found(), Some(false));
        assert_eq!(reply(json!({"ok": true}), 0).nonce_found(), None);
    }
}
