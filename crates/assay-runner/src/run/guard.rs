//! The teardown of a run whose future was dropped or panicked.

use super::*;
use crate::reaper::{self, GcReport, RunLock};
use assay_sandbox::Engine;
use std::time::Duration;

/// Owns a run's lock and removes the run's resources if dropped while armed (panic, dropped
/// future). When that removal fails, the lock file is kept (stale) so the next sweep retries.
#[derive(Debug)]
pub struct TeardownGuard {
    pub(super) run_id: String,
    pub(super) armed: bool,
    pub(super) lock: Option<RunLock>,
}

impl TeardownGuard {
    pub fn new(run_id: &str, lock: RunLock) -> TeardownGuard {
        TeardownGuard {
            run_id: run_id.to_string(),
            armed: true,
            lock: Some(lock),
        }
    }

    /// The run was torn down: release the lock and remove its file.
    pub fn disarm(&mut self) {
        self.armed = false;
        self.lock = None;
    }

    /// Teardown failed: keep the lock file so the next sweep finds the run dead.
    pub fn keep_lock_file(&mut self) {
        if let Some(l) = self.lock.as_mut() {
            l.keep_file();
        }
    }
}

impl Drop for TeardownGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let run_id = self.run_id.clone();
        // A fresh runtime on its own thread: the current one may be shutting down or be the
        // thread we are on (a runtime cannot block inside itself). Short timeouts, and at most
        // GUARD_WAIT in all: a hung daemon must not hang the process; the kept lock file
        // lets the next sweep finish the job.
        let (done, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = done.send(false);
                return;
            };
            let ok = rt.block_on(async {
                let timeouts = assay_sandbox::Timeouts {
                    connect: Duration::from_secs(2),
                    quick: Duration::from_secs(5),
                    ..Default::default()
                };
                let Ok(engine) = Engine::connect_with(timeouts).await else {
                    return false;
                };
                let mut report = GcReport::default();
                reaper::remove_run(&engine, &run_id, &mut report)
                    .await
                    .is_ok()
                    && report.errors.is_empty()
            });
            let _ = done.send(ok);
        });
        if !wait.recv_timeout(GUARD_WAIT).unwrap_or(false) {
            self.keep_lock_file();
        }
    }
}
