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
//! run's deadline: it is the grader's load, not the submission's. A db the cold-start
//! scenario holds back frozen uses no CPU: its stack gives the slot back once the db is
//! frozen and takes one again, at once, when the db resumes ([`resume_claim`]).
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

/// The process's start slots: first come, first served, with an overdraft for a held-back
/// db that resumes ([`resume_claim`]).
fn admission() -> &'static Admission {
    static SLOTS: std::sync::OnceLock<Admission> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| Admission::new(admission_slots()))
}

/// Start slots handed out in the order they were asked for. Unlike a plain semaphore, a slot
/// can be taken at once beyond the limit ([`Admission::claim_now`]): the queue then waits
/// until enough slots are given back to fit under the limit again, so the overdraft is
/// repaid before anyone else starts.
#[derive(Debug)]
struct Admission {
    limit: usize,
    state: std::sync::Mutex<Slots>,
    changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Slots {
    in_use: usize,
    /// Who waits, in order of asking.
    queue: std::collections::VecDeque<u64>,
    next: u64,
}

impl Admission {
    fn new(limit: usize) -> Admission {
        Admission {
            limit,
            state: std::sync::Mutex::new(Slots::default()),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `n` slots are free (at most the limit: all of them) and everyone who asked
    /// earlier was served.
    async fn acquire(&'static self, n: usize) -> Slot {
        let n = n.clamp(1, self.limit);
        let id = {
            let mut s = self.slots();
            let id = s.next;
            s.next += 1;
            s.queue.push_back(id);
            id
        };
        // Leaves the queue if this wait is dropped (cancelled) before it was served.
        let mut queued = Queued {
            admission: self,
            id,
            served: false,
        };
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.slots();
                if s.queue.front() == Some(&id) && s.in_use + n <= self.limit {
                    s.queue.pop_front();
                    s.in_use += n;
                    queued.served = true;
                    drop(s);
                    // The next in line may fit too.
                    self.changed.notify_waiters();
                    return Slot { admission: self, n };
                }
            }
            notified.await;
        }
    }

    /// One slot now, beyond the limit if need be (see [`resume_claim`]).
    fn claim_now(&'static self) -> Slot {
        self.slots().in_use += 1;
        Slot {
            admission: self,
            n: 1,
        }
    }

    fn give_back(&self, n: usize) {
        let mut s = self.slots();
        s.in_use = s.in_use.saturating_sub(n);
        drop(s);
        self.changed.notify_waiters();
    }
}

/// A place in [`Admission`]'s queue; leaves it when dropped unserved.
struct Queued {
    admission: &'static Admission,
    id: u64,
    served: bool,
}

impl Drop for Queued {
    fn drop(&mut self) {
        if !self.served {
            self.admission.slots().queue.retain(|q| *q != self.id);
            self.admission.changed.notify_waiters();
        }
    }
}

/// `n` slots of [`Admission`], given back when dropped.
#[derive(Debug)]
struct Slot {
    admission: &'static Admission,
    n: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.give_back(self.n);
    }
}

/// What lets a stack start: one admission slot, or a share of an [`exclusive_start`]. The
/// slots go back when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct StartTicket(std::sync::Arc<Slot>);

impl StartTicket {
    /// Whether this ticket holds every slot (an exclusive start).
    pub fn is_exclusive(&self) -> bool {
        self.0.n >= self.0.admission.limit
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
        slot = admission().acquire(1) => Ok(StartTicket(std::sync::Arc::new(slot))),
    }
}

/// The slot of a db that was held back (frozen: it used no CPU, so it gave its start slot
/// back while frozen) and resumes now: taken at once, beyond the limit if every slot is in
/// use, because the resume must not wait — the cold-start scenario's pause is the rubric's,
/// not the grader's load. Nobody else starts until the overdraft is repaid, so each resume
/// adds at most one start beyond the limit, for as long as it lasts. A db slowed by that is judged by the
/// re-run rule like any late db.
pub(super) fn resume_claim() -> StartTicket {
    StartTicket(std::sync::Arc::new(admission().claim_now()))
}

/// Takes every admission slot: returns once each stack of this process that is starting now
/// has its db ready (at most [`ADMISSION_HOLD_CAP`] each), and holds new starts back until
/// the ticket and its clones are dropped. Returns how long it waited.
pub async fn exclusive_start(
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(StartTicket, Duration), super::RunError> {
    let asked = std::time::Instant::now();
    tokio::select! {
        _ = cancel.cancelled() => Err(super::RunError::Cancelled),
        slot = admission().acquire(admission_slots()) => {
            Ok((StartTicket(std::sync::Arc::new(slot)), asked.elapsed()))
        }
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

    #[tokio::test]
    async fn a_resumed_db_takes_a_slot_at_once_and_the_queue_waits_until_it_is_repaid() {
        // An admission of its own (the process's is shared by every test).
        let slots: &'static Admission = Box::leak(Box::new(Admission::new(2)));
        let a = slots.acquire(1).await;
        let b = slots.acquire(1).await;
        // Every slot in use: a resume is not held back, it goes beyond the limit.
        let resumed = slots.claim_now();
        assert_eq!(slots.slots().in_use, 3);
        let next = tokio::spawn(async move { slots.acquire(1).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(a);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!next.is_finished(), "the overdraft is repaid first");
        drop(resumed);
        let next = done_soon(next).await.unwrap().unwrap();
        assert_eq!(slots.slots().in_use, 2);
        // A wait that is dropped leaves the queue: the one behind it is served.
        drop(next);
        let all = tokio::spawn(async move { slots.acquire(2).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let behind = tokio::spawn(async move { slots.acquire(1).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        all.abort();
        let _ = all.await;
        assert!(done_soon(behind).await.unwrap().is_ok());
        drop(b);
        assert_eq!(slots.slots().in_use, 0);
        assert!(slots.slots().queue.is_empty());
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
