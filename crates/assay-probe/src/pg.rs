//! The Postgres probe: log in with the credentials the database was initialised with and, when
//! a nonce is given, look for it in `notes(id, body)`; otherwise `SELECT 1`.

use crate::{failure, truncate, ProbeResult};
use std::time::Duration;

/// Largest password file read.
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// Where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    None,
    Value(String),
    /// A file whose content (trailing newlines removed) is the password.
    File(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgProbe {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub db: String,
    pub nonce: Option<String>,
    pub timeout: Duration,
}

fn read_secret(secret: &Secret) -> Result<Option<String>, String> {
    use std::io::Read;
    match secret {
        Secret::None => Ok(None),
        Secret::Value(v) => Ok(Some(v.clone())),
        Secret::File(path) => {
            let f = std::fs::File::open(path).map_err(|e| format!("password file {path}: {e}"))?;
            let mut buf = Vec::new();
            f.take(MAX_PASSWORD_FILE + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("password file {path}: {e}"))?;
            if buf.len() as u64 > MAX_PASSWORD_FILE {
                return Err(format!(
                    "password file {path}: larger than {MAX_PASSWORD_FILE} bytes"
                ));
            }
            let text =
                String::from_utf8(buf).map_err(|_| format!("password file {path}: not UTF-8"))?;
            Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
        }
    }
}

/// Describe a tokio-postgres error with its SQLSTATE when the server sent one.
fn describe(e: &tokio_postgres::Error) -> (String, Option<String>) {
    match e.as_db_error() {
        Some(db) => (
            format!("{}: {}", db.severity(), db.message()),
            Some(db.code().code().to_string()),
        ),
        None => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            (msg, None)
        }
    }
}

fn pg_failure(stage: &str, e: &tokio_postgres::Error) -> ProbeResult {
    let (msg, code) = describe(e);
    ProbeResult {
        sqlstate: code,
        ..failure(format!("{stage}: {}", truncate(&msg, 2000)))
    }
}

pub async fn probe(p: &PgProbe) -> ProbeResult {
    let password = match read_secret(&p.password) {
        Ok(pw) => pw,
        Err(e) => return failure(e),
    };
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&p.host)
        .port(p.port)
        .user(&p.user)
        .dbname(&p.db)
        .application_name("assay-probe")
        .connect_timeout(p.timeout);
    if let Some(pw) = &password {
        cfg.password(pw);
    }
    let work = async {
        let (client, connection) = match cfg.connect(tokio_postgres::NoTls).await {
            Ok(c) => c,
            Err(e) => return pg_failure("connect", &e),
        };
        let conn = tokio::spawn(connection);
        let result = match &p.nonce {
            Some(nonce) => {
                match client
                    .query_one("SELECT count(*) FROM notes WHERE body = $1", &[nonce])
                    .await
                {
                    Ok(row) => {
                        let n: i64 = row.get(0);
                        ProbeResult {
                            found: Some(n > 0),
                            rows: Some(u64::try_from(n).unwrap_or(0)),
                            ..ProbeResult::success()
                        }
                    }
                    Err(e) => pg_failure("query notes", &e),
                }
            }
            None => match client.query_one("SELECT 1", &[]).await {
                Ok(_) => ProbeResult::success(),
                Err(e) => pg_failure("SELECT 1", &e),
            },
        };
        drop(client);
        let _ = conn.await;
        result
    };
    match tokio::time::timeout(p.timeout, work).await {
        Ok(v) => v,
        Err(_) => failure(format!(
            "no answer from {}:{} within {} ms",
            p.host,
            p.port,
            p.timeout.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_files_lose_trailing_newlines_only() {
        let dir = std::env::temp_dir().join(format!("assay-probe-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pw");
        std::fs::write(&f, " s3cret \r\n\n").unwrap();
        let got = read_secret(&Secret::File(f.display().to_string())).unwrap();
        assert_eq!(got.as_deref(), Some(" s3cret "));
        std::fs::remove_dir_all(&dir).unwrap();
        let err = read_secret(&Secret::File("/nonexistent/pw".into())).unwrap_err();
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_failure_not_a_crash() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let v = probe(&PgProbe {
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            password: Secret::Value("p".into()),
            db: "d".into(),
            nonce: None,
            timeout: Duration::from_secs(2),
        })
        .await;
        assert!(!v.ok);
        let error = v.error.unwrap_or_default();
        assert!(error.starts_with("connect"), "{error}");
    }
}
