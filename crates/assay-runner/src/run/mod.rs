//! Executes a [`RunPlan`]: networks and volumes → probe → services in `depends_on` order →
//! readiness under one deadline → (probes, by the caller) → teardown.
//!
//! Teardown happens on every path: [`Stack::teardown`] on success, failure, timeout and
//! cancellation (Ctrl-C / SIGTERM through the [`CancellationToken`]); a panic or a dropped
//! future trips the [`TeardownGuard`], which removes the run's resources by label from a fresh
//! runtime on its own thread. A killed process leaves its lock file unlocked, and the next
//! sweep ([`crate::reaper`]) removes what it left.
//!
//! The parts: [`stack`] (the run's state, creating and starting), [`readiness`] (the
//! strategies every wait polls under the one deadline), [`teardown`], [`guard`] (the
//! teardown of a dropped run) and [`files`] (what is copied into containers).

pub mod abuse;
mod cause;
mod db_ready;
mod files;
mod guard;
mod readiness;
mod stack;
mod teardown;

pub use cause::{cause_kind, cause_line, mentions_own_cause, CauseKind};
pub use db_ready::{
    admission_slots, exclusive_start, holding, ready_after, DbReady, StartTicket,
    ADMISSION_HOLD_CAP,
};
pub use files::bind_kinds;
pub use guard::TeardownGuard;
pub use readiness::Readiness;
pub use stack::{Hooks, Stack};

use crate::reaper::{GcError, LockError};
use assay_core::{Diagnostic, Location};
use assay_sandbox::EngineError;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why assay could not grade (the daemon failed, the run was cancelled): never the candidate's
/// fault; the CLI exits 3 (or 130-ish for a cancel, the lead decides).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Gc(#[from] GcError),
    #[error("the probe container could not be created ({0}); run `assay images`")]
    Probe(String),
    #[error("could not copy {what} into its run volume: {why}")]
    Copy { what: String, why: String },
    #[error("the run was cancelled (Ctrl-C or SIGTERM); everything it created was removed")]
    Cancelled,
}

impl RunError {
    /// True when the Docker daemon went away or hung.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RunError::Engine(e) => e.is_unreachable(),
            RunError::Gc(e) => e.is_unreachable(),
            _ => false,
        }
    }
}

/// A candidate problem found while running: a failed check's evidence and details.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub evidence: String,
    pub location: Option<Location>,
    pub details: Vec<Diagnostic>,
}

impl Failure {
    pub fn new(evidence: impl Into<String>) -> Failure {
        Failure {
            evidence: evidence.into(),
            location: None,
            details: Vec::new(),
        }
    }
}

/// A step's outcome: `Err` = could not grade, `Ok(Err)` = the candidate's stack failed.
pub type Step<T = ()> = Result<Result<T, Failure>, RunError>;

/// Time between two probe-based readiness checks on an open probe session.
pub const SESSION_POLL_INTERVAL: Duration = Duration::from_millis(60);
/// The same when each probe is its own exec.
pub const EXEC_POLL_INTERVAL: Duration = Duration::from_millis(150);

/// How one run's deadline is spent: everything — creating, starting, waiting, the scenarios
/// and the teardown — ends within `--timeout`, not only the waiting. Waits give up at
/// [`Deadline::waits_end`] with their own finding; [`CUT_GRACE`] later whatever still runs is
/// cut ([`until_cut`]); the rest is the teardown's reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub timeout: Duration,
}

/// Time a wait that reached the deadline has to write its own finding before the run is cut.
pub const CUT_GRACE: Duration = Duration::from_secs(3);

impl Deadline {
    /// Time kept for the teardown: a quarter of the timeout, at most 15 s (every container is
    /// killed and removed at once; the rest is a few daemon calls, slower on a busy daemon).
    pub fn teardown_reserve(&self) -> Duration {
        (self.timeout / 4).min(Duration::from_secs(15))
    }

    /// Time from the run's start until its waits give up.
    pub fn waits_end(&self) -> Duration {
        self.timeout
            .saturating_sub(self.teardown_reserve() + CUT_GRACE)
            .max(Duration::from_secs(1))
    }
}

/// Runs `fut` until it ends or the (movable) deadline in `cell` plus [`CUT_GRACE`] passes;
/// `None` when it was cut (the future is dropped).
pub async fn until_cut<F: std::future::Future>(
    cell: &std::sync::Mutex<std::time::Instant>,
    fut: F,
) -> Option<F::Output> {
    let cut = || cell.lock().map(|d| *d).unwrap_or_else(|p| *p.into_inner()) + CUT_GRACE;
    let mut fut = std::pin::pin!(fut);
    loop {
        let at = cut();
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep_until(at.into()) => {
                // The deadline may have moved (time queued for admission does not count).
                if std::time::Instant::now() >= cut() {
                    return None;
                }
            }
        }
    }
}

/// Where the main run says what it is doing, one short line per step (the CLI prints them
/// for a single submission): starting, waiting, each scenario, the teardown, a re-run.
#[derive(Clone)]
pub struct Progress(std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl Progress {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(f))
    }

    pub fn say(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl PartialEq for Progress {
    fn eq(&self, other: &Progress) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Progress {}

/// Longest a dropped run waits for its emergency teardown.
pub const GUARD_WAIT: Duration = Duration::from_secs(30);

pub use assay_sandbox::random_hex;

/// A token cancelled on Ctrl-C or SIGTERM, for the CLI to pass to [`crate::run_checks`].
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        t.cancel();
    });
    token
}
