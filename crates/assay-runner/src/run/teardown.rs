//! Removing everything a run created.

use super::*;
use crate::reaper::{self, GcReport};

impl Stack<'_> {
    /// Kills and removes every container of the run at once, then removes the rest of the run
    /// by label. Containers are not stopped gracefully: every check has read what it needs
    /// before the teardown, nothing of a run is kept, and a stop grace (up to 10 s per service,
    /// the candidate's to choose) would only let a service run on after its grading. Each
    /// container is removed on its own, all at once; what fails is retried by label below.
    pub async fn teardown(mut self) -> Result<GcReport, RunError> {
        if let Some(h) = self.unpause.lock().ok().and_then(|mut s| s.take()) {
            h.abort();
        }
        let engine = self.engine;
        let label = format!("{}={}", assay_sandbox::labels::RUN, self.plan.run_id);
        if let Ok(listed) = engine.list_containers(&label).await {
            let removals = listed
                .into_iter()
                .filter_map(|c| c.id)
                .map(|id| async move { engine.remove_container(&id).await });
            futures_util::future::join_all(removals).await;
        }
        let mut report = GcReport::default();
        match reaper::remove_run(engine, &self.plan.run_id, &mut report).await {
            Ok(()) if report.errors.is_empty() => self.guard.disarm(),
            Ok(()) => {
                // Partly removed: leave the rest to the next sweep, not to a retry now.
                self.guard.keep_lock_file();
                self.guard.armed = false;
            }
            Err(e) => {
                self.guard.keep_lock_file();
                self.guard.armed = false;
                return Err(e.into());
            }
        }
        Ok(report)
    }
}
