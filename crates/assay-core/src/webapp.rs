//! The handout webapp's contract, as its README tells candidates: the variables it reads, their
//! defaults, and the HTTP API assay drives. The checks read a webapp service's environment with
//! these rules, the runner probes these paths, and a test holds the sample webapp itself to them
//! (this crate's `tests/webapp_contract.rs`). The webapp cannot use this module — the handout
//! ships its folder alone — so that test is what keeps the two in step.
//!
//! - It listens on `0.0.0.0:$PORT` ([`DEFAULT_PORT`] when unset).
//! - Database: [`DATABASE_URL`] (`postgres://user:pass@host:port/db`) when set; otherwise
//!   [`PGHOST`] (required), [`PGPORT`] ([`DEFAULT_PG_PORT`]), [`PGUSER`] ([`DEFAULT_PG_USER`]),
//!   [`PGPASSWORD`] or [`PGPASSWORD_FILE`], [`PGDATABASE`] (defaults to the user). An empty
//!   variable counts as unset.
//! - `GET /health` → 200 `{"status":"ok","database":"ok"}`, or 503 with the error;
//!   `POST /notes` (a text body of at most [`MAX_NOTE_BYTES`]) → 201 `{"id":N}`;
//!   `GET /notes/{id}` → 200 with the text, or 404.

/// The listening port's variable.
pub const PORT: &str = "PORT";
/// The port the webapp listens on when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 8080;
/// Seconds the webapp keeps trying to reach the database at start (default
/// [`DEFAULT_DB_CONNECT_TIMEOUT_SECS`]).
pub const DB_CONNECT_TIMEOUT_SECS: &str = "DB_CONNECT_TIMEOUT_SECS";
/// How long the webapp tries to reach the database when `DB_CONNECT_TIMEOUT_SECS` is unset.
pub const DEFAULT_DB_CONNECT_TIMEOUT_SECS: u64 = 5;

pub const DATABASE_URL: &str = "DATABASE_URL";
pub const PGHOST: &str = "PGHOST";
pub const PGPORT: &str = "PGPORT";
pub const PGUSER: &str = "PGUSER";
pub const PGPASSWORD: &str = "PGPASSWORD";
pub const PGPASSWORD_FILE: &str = "PGPASSWORD_FILE";
pub const PGDATABASE: &str = "PGDATABASE";

/// Every variable the webapp reads to reach its database: `DATABASE_URL` first, which, when set,
/// makes it ignore the others.
pub const DB_VARS: [&str; 7] = [
    DATABASE_URL,
    PGHOST,
    PGPORT,
    PGUSER,
    PGPASSWORD,
    PGPASSWORD_FILE,
    PGDATABASE,
];

/// Postgres port when neither `PGPORT` nor the URL gives one.
pub const DEFAULT_PG_PORT: u16 = 5432;
/// Postgres user when neither `PGUSER` nor the URL gives one (the database defaults to the user).
pub const DEFAULT_PG_USER: &str = "postgres";

/// The readiness endpoint.
pub const HEALTH_PATH: &str = "/health";
/// Where notes are created (`POST`); one note is read at `/notes/{id}` ([`note_path`]).
pub const NOTES_PATH: &str = "/notes";
/// Largest note body `POST /notes` accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 4096;

/// The path of note `id`.
pub fn note_path(id: i64) -> String {
    format!("{NOTES_PATH}/{id}")
}

/// Whether a `GET /health` body says the database is reachable (`"database": "ok"`).
pub fn health_says_database_ok(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("database")?.as_str().map(|d| d == "ok"))
        .unwrap_or(false)
}

/// The id in a `POST /notes` answer (`{"id": N}`).
pub fn created_note_id(body: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("id")?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_bodies() {
        assert!(health_says_database_ok(
            r#"{"status":"ok","database":"ok"}"#
        ));
        assert!(!health_says_database_ok(
            r#"{"status":"error","database":"connection refused"}"#
        ));
        assert!(!health_says_database_ok("ok"));
        assert!(!health_says_database_ok(r#"{"database":true}"#));
    }

    #[test]
    fn note_ids_and_paths() {
        assert_eq!(created_note_id(r#"{"id":7}"#), Some(7));
        assert_eq!(created_note_id(r#"{"id":"7"}"#), None);
        assert_eq!(created_note_id("7"), None);
        assert_eq!(note_path(7), "/notes/7");
    }
}
