//! How fast the db became ready, and the admission of stack starts: the two halves of a
//! runtime verdict that does not depend on the grader's load (README, "Runtime verdicts and
//! load").
//!
//! *When the db was ready* is read from the db's own log with the daemon's line times, so it
//! is exact whatever the polling: the official image (and the stand-in) first run a private
//! server on the unix socket for the one-time setup, then the real one; only the real
//! server's "ready to accept connections" counts.
//!
//! *Admission*: at most [`admission_slots`] stacks of this process start at once; a stack's
//! slot is held from its first container start until its db's real server is ready (or it
//! fails, or [`ADMISSION_HOLD_CAP`] passes). Time spent waiting for a slot extends that
//! run's deadline: it is the grader's load, not the submission's.

use std::time::Duration;

const READY: &str = "database system is ready to accept connections";
const SHUT_DOWN: &str = "database system is shut down";
const INIT_BEGIN: &str = "The files belonging to this database system will be owned by user";
const INIT_DONE: &str = "init process complete";

/// Longest a stack holds its admission slot waiting for its db.
pub const ADMISSION_HOLD_CAP: Duration = Duration::from_secs(60);

/// What the log says of the real server, relative to the container's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbReady {
    /// Ready this long after the container started.
    After(Duration),
    /// Not ready when the log was read, this long after the container started, as far as
    /// the log tells (a server that logs elsewhere never says it is).
    NotYet(Duration),
    /// The times could not be read.
    Unknown,
}

/// Reads the real server's readiness from `lines` (`(RFC 3339 time, text)`, the daemon's)
/// of a container started at `started_at` (RFC 3339, from inspect), the log read at `now`.
pub fn ready_after(started_at: &str, lines: &[(String, String)], now: jiff::Timestamp) -> DbReady {
    let Ok(start) = started_at.parse::<jiff::Timestamp>() else {
        return DbReady::Unknown;
    };
    let since = |t: jiff::Timestamp| -> Duration {
        t.duration_since(start).try_into().unwrap_or(Duration::ZERO)
    };
    let not_yet = DbReady::NotYet(since(now));
    let has = |l: &(String, String), m: &str| l.1.contains(m);
    let init_begin = lines.iter().position(|l| has(l, INIT_BEGIN));
    let init_done = lines.iter().rposition(|l| has(l, INIT_DONE));
    let from = match (init_begin, init_done) {
        (Some(_), None) => return not_yet,
        (_, Some(done)) => done + 1,
        (None, None) => 0,
    };
    let Some(at) = lines[from..].iter().position(|l| has(l, READY)) else {
        return not_yet;
    };
    let ready = &lines[from + at];
    if lines[from + at..].iter().any(|l| has(l, SHUT_DOWN)) {
        return not_yet;
    }
    match ready.0.parse::<jiff::Timestamp>() {
        Ok(at) => DbReady::After(since(at)),
        Err(_) => DbReady::Unknown,
    }
}

/// Stacks of this process that may start at once: as many as the host has cores, at least
/// two (a submission's main run and its cold-start run start side by side).
pub fn admission_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// The semaphore behind [`admission_slots`].
pub(super) fn admission() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(admission_slots()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[(&str, &str)]) -> Vec<(String, String)> {
        lines
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect()
    }

    const START: &str = "2026-11-29T07:00:00.000000000Z";

    fn now() -> jiff::Timestamp {
        "2026-11-29T07:00:05Z".parse().unwrap()
    }

    const FIVE: DbReady = DbReady::NotYet(Duration::from_secs(5));

    #[test]
    fn the_private_init_server_does_not_count() {
        let mut lines = log(&[
            ("2026-11-29T07:00:00.100Z", "The files belonging to this database system will be owned by user \"postgres\"."),
            ("2026-11-29T07:00:01.200Z", "2026-11-29 07:00:01.200 UTC [48] LOG:  database system is ready to accept connections"),
        ]);
        assert_eq!(ready_after(START, &lines, now()), FIVE);
        lines.extend(log(&[
            (
                "2026-11-29T07:00:01.900Z",
                "2026-11-29 07:00:01.900 UTC [48] LOG:  database system is shut down",
            ),
            (
                "2026-11-29T07:00:02.000Z",
                "PostgreSQL init process complete; ready for start up.",
            ),
        ]));
        assert_eq!(ready_after(START, &lines, now()), FIVE);
        lines.extend(log(&[(
            "2026-11-29T07:00:02.750Z",
            "2026-11-29 07:00:02.750 UTC [1] LOG:  database system is ready to accept connections",
        )]));
        assert_eq!(
            ready_after(START, &lines, now()),
            DbReady::After(Duration::from_millis(2750))
        );
    }

    #[test]
    fn an_existing_data_directory_starts_the_real_server_at_once() {
        let lines = log(&[
            ("2026-11-29T07:00:00.050Z", "PostgreSQL Database directory appears to contain a database; Skipping initialization"),
            ("2026-11-29T07:00:00.400Z", "LOG:  database system is ready to accept connections"),
        ]);
        assert_eq!(
            ready_after(START, &lines, now()),
            DbReady::After(Duration::from_millis(400))
        );
    }

    #[test]
    fn a_server_that_stopped_or_logs_elsewhere_is_not_ready() {
        let stopped = log(&[
            (
                "2026-11-29T07:00:00.400Z",
                "LOG:  database system is ready to accept connections",
            ),
            (
                "2026-11-29T07:00:03.000Z",
                "LOG:  database system is shut down",
            ),
        ]);
        assert_eq!(ready_after(START, &stopped, now()), FIVE);
        let quiet = log(&[("2026-11-29T07:00:00.050Z", "logging to /var/log/pg.log")]);
        assert_eq!(ready_after(START, &quiet, now()), FIVE);
        let garbled = log(&[(
            "yesterday",
            "LOG:  database system is ready to accept connections",
        )]);
        assert_eq!(ready_after(START, &garbled, now()), DbReady::Unknown);
        assert_eq!(ready_after(START, &[], now()), FIVE);
    }
}
