//! Removing everything a run created.

use super::*;
use crate::reaper::{self, GcReport};
use std::collections::HashMap;
use std::time::Duration;

impl Stack<'_> {
    /// Stops and removes every container at once (the services with their grace ≤ 10 s, the
    /// probe and anything else of the run at once), then removes the rest of the run by label.
    pub async fn teardown(self) -> Result<GcReport, RunError> {
        let end = std::time::Instant::now() + Duration::from_secs(3600);
        self.teardown_by(end).await
    }

    /// [`Stack::teardown`] within the run's deadline: no service gets a stop grace that ends
    /// after `end` (past it, containers are killed at once).
    pub async fn teardown_by(mut self, end: std::time::Instant) -> Result<GcReport, RunError> {
        if let Some(h) = self.unpause.lock().ok().and_then(|mut s| s.take()) {
            h.abort();
        }
        let engine = self.engine;
        // The grace of each service, by its compose label: planned containers and replicas
        // the scale scenario added alike. The probe has none (removed at once).
        let graces: HashMap<String, Duration> = self
            .plan
            .services
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.containers.first()?.limits.stop_grace)))
            .collect();
        // Each container is stopped and removed on its own, all at once: the probe and a quick
        // service do not wait for a slow one. What fails here is retried below.
        let label = format!("{}={}", assay_sandbox::labels::RUN, self.plan.run_id);
        if let Ok(listed) = engine.list_containers(&label).await {
            let ends = listed.into_iter().filter_map(|c| {
                let name = c.names?.first()?.trim_start_matches('/').to_string();
                let grace = c
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(crate::plan::COMPOSE_SERVICE))
                    .and_then(|svc| graces.get(svc))
                    .copied();
                let grace =
                    grace.map(|g| g.min(end.saturating_duration_since(std::time::Instant::now())));
                Some(async move {
                    if let Some(grace) = grace {
                        let _ = engine.stop_container(&name, grace).await;
                    }
                    let _ = engine.remove_container(&name).await;
                })
            });
            futures_util::future::join_all(ends).await;
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
