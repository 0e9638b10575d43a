//! Cleanup that survives crashes. Every run holds an exclusive `flock` on
//! `<state dir>/<run id>.lock` while it lives; the kernel drops it when the process dies, even
//! on `kill -9`. The sweep removes the containers, networks and volumes of every labelled run
//! whose lock nobody holds, so concurrent live runs are never touched.

use crate::ops::{self, OpError};
use assay_sandbox::{labels, Engine, EngineError};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where run locks live when the caller does not say.
pub fn default_state_dir() -> PathBuf {
    std::env::temp_dir().join("assay-runs")
}

/// The lock a live run holds.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    file: Option<File>,
}

/// Why a run lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("could not lock {}: {source}", path.display())]
pub struct LockError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn valid_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl RunLock {
    /// Creates and locks `<dir>/<run_id>.lock`.
    pub fn acquire(dir: &Path, run_id: &str) -> Result<RunLock, LockError> {
        let path = dir.join(format!("{run_id}.lock"));
        let err = |source| LockError { path: path.clone(), source };
        if !valid_run_id(run_id) {
            return Err(err(std::io::Error::other("invalid run id")));
        }
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(err)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::Error(e) => err(e),
            std::fs::TryLockError::WouldBlock => err(std::io::Error::other("already locked")),
        })?;
        Ok(RunLock { path, file: Some(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove first, then unlock: a sweeper that opens the path afterwards finds no file.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// True when a live process holds the run's lock.
pub fn is_live(dir: &Path, run_id: &str) -> bool {
    if !valid_run_id(run_id) {
        return false;
    }
    let path = dir.join(format!("{run_id}.lock"));
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            false
        }
        Err(_) => true,
    }
}

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Runs whose resources were removed.
    pub runs: Vec<String>,
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    /// Live runs left alone.
    pub live_runs: Vec<String>,
    /// Removals that failed (the object is left for the next sweep).
    pub errors: Vec<String>,
}

/// Why a sweep could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Op(#[from] OpError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl GcError {
    pub fn is_unreachable(&self) -> bool {
        match self {
            GcError::Op(e) => e.is_unreachable(),
            GcError::Engine(e) => e.is_unreachable(),
        }
    }
}

/// Run ids of every labelled container, network and volume.
async fn labelled_runs(engine: &Engine) -> Result<BTreeSet<String>, OpError> {
    let mut runs = BTreeSet::new();
    let managed = format!("{}=true", labels::MANAGED);
    for c in ops::list_containers(engine, &managed).await? {
        runs.extend(c.labels.and_then(|l| l.get(labels::RUN).cloned()));
    }
    for n in ops::list_networks(engine, &managed).await? {
        runs.extend(n.labels.and_then(|l| l.get(labels::RUN).cloned()));
    }
    for v in ops::list_volumes(engine, &managed).await? {
        runs.extend(v.labels.get(labels::RUN).cloned());
    }
    Ok(runs)
}

/// Removes every container, network and volume of run `run_id` (whatever its state).
pub async fn remove_run(engine: &Engine, run_id: &str, report: &mut GcReport) -> Result<(), GcError> {
    let label = format!("{}={run_id}", labels::RUN);
    let containers = ops::list_containers(engine, &label).await?;
    let removals = containers.iter().filter_map(|c| c.id.clone()).map(|id| async move {
        (id.clone(), engine.remove_container(&id).await)
    });
    for (id, r) in futures_util::future::join_all(removals).await {
        match r {
            Ok(()) => report.containers += 1,
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => report.errors.push(format!("container {id}: {e}")),
        }
    }
    for n in ops::list_networks(engine, &label).await? {
        let Some(name) = n.name.or(n.id) else { continue };
        match engine.remove_network(&name).await {
            Ok(()) => report.networks += 1,
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => report.errors.push(format!("network {name}: {e}")),
        }
    }
    for v in ops::list_volumes(engine, &label).await? {
        // A volume can stay busy for a moment after its container went.
        let mut last = None;
        for attempt in 0..3 {
            match ops::remove_volume(engine, &v.name).await {
                Ok(()) => {
                    last = None;
                    report.volumes += 1;
                    break;
                }
                Err(e) if e.is_unreachable() => return Err(e.into()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
        }
        if let Some(e) = last {
            report.errors.push(format!("volume {}: {e}", v.name));
        }
    }
    Ok(())
}

/// Sweeps the resources of every run whose lock in `state_dir` is not held.
pub async fn sweep(engine: &Engine, state_dir: &Path) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    for run in labelled_runs(engine).await? {
        if is_live(state_dir, &run) {
            report.live_runs.push(run);
            continue;
        }
        remove_run(engine, &run, &mut report).await?;
        report.runs.push(run);
    }
    Ok(report)
}

/// `assay gc`: sweep with the default state directory.
pub async fn gc(engine: &Engine) -> Result<GcReport, GcError> {
    sweep(engine, &default_state_dir()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_live_and_a_released_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), "r123").unwrap();
        assert!(is_live(dir.path(), "r123"));
        assert!(RunLock::acquire(dir.path(), "r123").is_err(), "one holder only");
        drop(lock);
        assert!(!dir.path().join("r123.lock").exists());
        assert!(!is_live(dir.path(), "r123"));
    }

    #[test]
    fn a_stale_lock_file_is_not_live_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.lock"), "").unwrap();
        assert!(!is_live(dir.path(), "old"));
        assert!(!dir.path().join("old.lock").exists());
    }

    #[test]
    fn hostile_run_ids_never_reach_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RunLock::acquire(dir.path(), "../x").is_err());
        assert!(!is_live(dir.path(), "../../etc/passwd"));
    }
}
