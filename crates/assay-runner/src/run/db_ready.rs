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
//!
//! *Exclusive start* ([`exclusive_start`]): a grading that must run under nominal conditions
//! (a re-run of a failure the load may have caused, a nominal measurement) takes every slot
//! at once. It waits only for the stacks that are starting now to have their db ready (the
//! slot queue is first come, first served, so no new start overtakes it), then starts its own
//! stacks while no other stack of this process starts; stacks that are already up keep
//! running beside it (after its db is ready a stack is mostly idle: a few probes, a teardown).
//! Its stacks share the ticket and each gives its share back once its own db is ready, so
//! other starts resume as soon as the last of its dbs is.

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
fn admission() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(admission_slots()))
}

/// What lets a stack start: one admission slot, or a share of an [`exclusive_start`]. The
/// slots go back when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct StartTicket(std::sync::Arc<tokio::sync::SemaphorePermit<'static>>);

impl StartTicket {
    /// Whether this ticket holds every slot (an exclusive start).
    pub fn is_exclusive(&self) -> bool {
        self.0.num_permits() >= admission_slots()
    }
}

/// Runs `work` (a db start and the wait for that db) holding `ticket` until it is done, at
/// most [`ADMISSION_HOLD_CAP`]: the rule `Stack::up` follows, for a db started later (the
/// persistence scenario's recreated db).
pub async fn holding<T>(ticket: StartTicket, work: impl std::future::Future<Output = T>) -> T {
    let mut ticket = Some(ticket);
    let mut work = std::pin::pin!(work);
    let cap = tokio::time::sleep(ADMISSION_HOLD_CAP);
    let mut cap = std::pin::pin!(cap);
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = &mut cap, if ticket.is_some() => { ticket.take(); }
        }
    }
}

/// Waits for one admission slot (first come, first served), or for `cancel`.
pub(super) async fn admit_one(
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<StartTicket, super::RunError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(super::RunError::Cancelled),
        p = admission().acquire() => p
            .map(|p| StartTicket(std::sync::Arc::new(p)))
            .map_err(|_| super::RunError::Cancelled),
    }
}

/// Takes every admission slot: returns once each stack of this process that is starting now
/// has its db ready (at most [`ADMISSION_HOLD_CAP`] each), and holds new starts back until
/// the ticket and its clones are dropped. Returns how long it waited.
pub async fn exclusive_start(
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(StartTicket, Duration), super::RunError> {
    let asked = std::time::Instant::now();
    let n = u32::try_from(admission_slots()).unwrap_or(u32::MAX);
    tokio::select! {
        _ = cancel.cancelled() => Err(super::RunError::Cancelled),
        p = admission().acquire_many(n) => p
            .map(|p| (StartTicket(std::sync::Arc::new(p)), asked.elapsed()))
            .map_err(|_| super::RunError::Cancelled),
    }
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

    /// `f`'s output, unless it hangs (what must finish at once gets ten seconds on a busy host).
    async fn done_soon<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_secs(10), f).await.ok()
    }

    #[tokio::test]
    async fn an_exclusive_start_waits_for_starts_in_progress_and_holds_new_ones_back() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let starting = admit_one(&cancel).await.unwrap();
        assert!(!starting.is_exclusive());
        let exclusive = tokio::spawn({
            let cancel = cancel.clone();
            async move { exclusive_start(&cancel).await.map(|(t, _)| t) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Queued behind the exclusive start: a new start does not overtake it.
        let late = tokio::spawn({
            let cancel = cancel.clone();
            async move { admit_one(&cancel).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!exclusive.is_finished(), "a stack is still starting");
        drop(starting);
        let ticket = done_soon(exclusive).await.unwrap().unwrap().unwrap();
        assert!(ticket.is_exclusive());
        // The re-run's two stacks each hold a share; starts resume after the last.
        let (main, cold) = (ticket.clone(), ticket.clone());
        drop(ticket);
        drop(main);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !late.is_finished(),
            "the re-run's cold-start db is not ready yet"
        );
        drop(cold);
        assert!(done_soon(late).await.unwrap().unwrap().is_ok());

        // Waiting for an exclusive start ends on cancel (one test: the slots are the
        // process's).
        let held = admit_one(&cancel).await.unwrap();
        let waiting = tokio::spawn({
            let cancel = cancel.clone();
            async move { exclusive_start(&cancel).await.map(|_| ()) }
        });
        cancel.cancel();
        let r = done_soon(waiting).await.unwrap().unwrap();
        assert!(matches!(r, Err(crate::run::RunError::Cancelled)));
        drop(held);
    }

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
