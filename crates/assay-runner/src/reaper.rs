//! Cleanup that survives crashes. Every run holds an exclusive `flock` on
//! `<state dir>/<run id>.lock` while it lives; the kernel drops it when the process dies, even
//! on `kill -9`. The sweep removes the containers, networks and volumes of every labelled run
//! whose lock nobody holds, so concurrent live runs are never touched.

use assay_sandbox::{labels, Engine, EngineError};
use std::collections::BTreeMap;
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
    keep_file: bool,
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
        let err = |source| LockError {
            path: path.clone(),
            source,
        };
        if !valid_run_id(run_id) {
            return Err(err(std::io::Error::other("invalid run id")));
        }
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::Error(e) => err(e),
            std::fs::TryLockError::WouldBlock => err(std::io::Error::other("already locked")),
        })?;
        Ok(RunLock {
            path,
            file: Some(file),
            keep_file: false,
        })
    }

    /// On drop, release the lock but leave the file: the run counts as dead (its resources
    /// could not all be removed) and the next sweep takes it.
    pub fn keep_file(&mut self) {
        self.keep_file = true;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove first, then unlock: a sweeper that opens the path afterwards finds no file.
        if !self.keep_file {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.file.take());
    }
}

/// What the state directory says about a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// A live process holds the lock: never touch the run.
    Live,
    /// The lock file exists and nobody holds it: its process died (a run that ends removes
    /// its file).
    Stale,
    /// No lock file: not a run of this state directory (another tool, a wiped /tmp).
    Absent,
}

/// Whether `run_id`'s lock is held, stale or absent.
pub fn lock_state(dir: &Path, run_id: &str) -> LockState {
    if !valid_run_id(run_id) {
        return LockState::Absent;
    }
    let path = dir.join(format!("{run_id}.lock"));
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return LockState::Absent;
    };
    match file.try_lock() {
        Ok(()) => LockState::Stale,
        Err(_) => LockState::Live,
    }
}

/// True when a live process holds the run's lock.
pub fn is_live(dir: &Path, run_id: &str) -> bool {
    lock_state(dir, run_id) == LockState::Live
}

/// Which unlocked runs a sweep removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// `assay gc`: every run nobody holds a lock for.
    All,
    /// Before every run: runs whose lock file is stale, and runs without a lock file whose
    /// containers are older than [`ORPHAN_AGE`] (so resources another tool is creating right
    /// now are left alone).
    Dead,
}

/// Age after which a labelled run without a lock file counts as abandoned.
pub const ORPHAN_AGE: Duration = Duration::from_secs(600);

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Runs whose resources were removed.
    pub runs: Vec<String>,
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    /// Private work dirs of dead runs removed.
    pub work_dirs: usize,
    /// Live runs left alone.
    pub live_runs: Vec<String>,
    /// Removals that failed (the object is left for the next sweep).
    pub errors: Vec<String>,
}

/// Why a sweep could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl GcError {
    pub fn is_unreachable(&self) -> bool {
        match self {
            GcError::Engine(e) => e.is_unreachable(),
        }
    }
}

/// What the labels of a run's resources say.
#[derive(Debug, Clone, Default)]
struct LabelledRun {
    /// Creation time (unix seconds) of the run's oldest container, when it has one.
    oldest: Option<i64>,
    /// The owner process, when the labels name one.
    owner: Option<labels::Owner>,
    /// The run's private work dir, when the labels name one.
    work_dir: Option<PathBuf>,
}

impl LabelledRun {
    fn note(&mut self, l: &std::collections::HashMap<String, String>) {
        if self.owner.is_none() {
            self.owner = labels::Owner::from_labels(l);
        }
        if self.work_dir.is_none() {
            self.work_dir = l.get(labels::WORK_DIR).map(PathBuf::from);
        }
    }
}

/// Every labelled run, from its containers, networks and volumes.
async fn labelled_runs(engine: &Engine) -> Result<BTreeMap<String, LabelledRun>, EngineError> {
    let mut runs: BTreeMap<String, LabelledRun> = BTreeMap::new();
    let managed = format!("{}=true", labels::MANAGED);
    for c in engine.list_containers(&managed).await? {
        let Some(l) = c.labels else { continue };
        if let Some(run) = l.get(labels::RUN).cloned() {
            let r = runs.entry(run).or_default();
            r.oldest = match (r.oldest, c.created) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            r.note(&l);
        }
    }
    for n in engine.list_networks(&managed).await? {
        let Some(l) = n.labels else { continue };
        if let Some(run) = l.get(labels::RUN).cloned() {
            runs.entry(run).or_default().note(&l);
        }
    }
    for v in engine.list_volumes(&managed).await? {
        if let Some(run) = v.labels.get(labels::RUN).cloned() {
            runs.entry(run).or_default().note(&v.labels);
        }
    }
    Ok(runs)
}

/// Removes a dead run's private work dir: only a real directory (no link) whose name has the
/// intake's prefix, so a label cannot make the sweep remove anything else.
fn remove_work_dir(dir: &Path) -> bool {
    let named_ours = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(assay_core::WORK_DIR_PREFIX));
    let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir());
    named_ours && is_dir && dir.is_absolute() && std::fs::remove_dir_all(dir).is_ok()
}

/// Removes every container, network and volume of run `run_id` (whatever its state).
pub async fn remove_run(
    engine: &Engine,
    run_id: &str,
    report: &mut GcReport,
) -> Result<(), GcError> {
    let label = format!("{}={run_id}", labels::RUN);
    let containers = engine.list_containers(&label).await?;
    let removals = containers
        .iter()
        .filter_map(|c| c.id.clone())
        .map(|id| async move { (id.clone(), engine.remove_container(&id).await) });
    for (id, r) in futures_util::future::join_all(removals).await {
        match r {
            Ok(()) => report.containers += 1,
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => report.errors.push(format!("container {id}: {e}")),
        }
    }
    // Networks and volumes only needed the containers gone: remove all of them at once.
    let networks = async {
        let names = engine
            .list_networks(&label)
            .await?
            .into_iter()
            .filter_map(|n| n.name.or(n.id));
        let removals = names.map(|name| async move {
            let r = engine.remove_network(&name).await.map_err(GcError::from);
            (name, r)
        });
        Ok::<_, GcError>(futures_util::future::join_all(removals).await)
    };
    let volumes = async {
        let removals = engine
            .list_volumes(&label)
            .await?
            .into_iter()
            .map(|v| async move {
                let r = remove_volume_retrying(engine, &v.name).await;
                (v.name, r)
            });
        Ok::<_, GcError>(futures_util::future::join_all(removals).await)
    };
    let (networks, volumes) = tokio::join!(networks, volumes);
    for (kind, results) in [("network", networks?), ("volume", volumes?)] {
        for (name, r) in results {
            match r {
                Ok(()) if kind == "network" => report.networks += 1,
                Ok(()) => report.volumes += 1,
                Err(e) if e.is_unreachable() => return Err(e),
                Err(e) => report.errors.push(format!("{kind} {name}: {e}")),
            }
        }
    }
    Ok(())
}

/// A volume can stay busy for a moment after its container went: six tries over ~3 s.
async fn remove_volume_retrying(engine: &Engine, name: &str) -> Result<(), GcError> {
    let mut attempt = 0;
    loop {
        match engine.remove_volume(name).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_unreachable() || attempt == 5 => return Err(e.into()),
            Err(_) => attempt += 1,
        }
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
}

/// Sweeps the resources of unlocked runs (which ones: `mode`), never a live run's.
pub async fn sweep(
    engine: &Engine,
    state_dir: &Path,
    mode: SweepMode,
) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for (run, found) in labelled_runs(engine).await? {
        // The owner's labels decide wherever the run's lock file is (another TMPDIR, another
        // container); the lock file and the age decide only what the labels cannot.
        let by_owner = found
            .owner
            .as_ref()
            .map_or(labels::Liveness::Unknown, labels::Owner::liveness);
        let state = match by_owner {
            labels::Liveness::Live => LockState::Live,
            labels::Liveness::Dead => LockState::Stale,
            labels::Liveness::Unknown => lock_state(state_dir, &run),
        };
        let dead = match (state, mode) {
            (LockState::Live, _) => false,
            (LockState::Stale, _) | (LockState::Absent, SweepMode::All) => true,
            (LockState::Absent, SweepMode::Dead) => found
                .oldest
                .is_some_and(|t| now - t > ORPHAN_AGE.as_secs() as i64),
        };
        if !dead {
            if state == LockState::Live {
                report.live_runs.push(run);
            }
            continue;
        }
        let before = report.errors.len();
        remove_run(engine, &run, &mut report).await?;
        if report.errors.len() == before && valid_run_id(&run) {
            let _ = std::fs::remove_file(state_dir.join(format!("{run}.lock")));
            if let Some(dir) = &found.work_dir {
                if remove_work_dir(dir) {
                    report.work_dirs += 1;
                }
            }
        }
        report.runs.push(run);
    }
    Ok(report)
}

/// `assay gc`: remove every run nobody holds a lock for (default state directory).
pub async fn gc(engine: &Engine) -> Result<GcReport, GcError> {
    sweep(engine, &default_state_dir(), SweepMode::All).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_live_and_a_released_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), "r123").unwrap();
        assert_eq!(lock_state(dir.path(), "r123"), LockState::Live);
        assert!(
            RunLock::acquire(dir.path(), "r123").is_err(),
            "one holder only"
        );
        drop(lock);
        assert!(
            !dir.path().join("r123.lock").exists(),
            "a run that ends removes its file"
        );
        assert_eq!(lock_state(dir.path(), "r123"), LockState::Absent);
    }

    #[test]
    fn a_kept_lock_file_is_stale_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = RunLock::acquire(dir.path(), "r9").unwrap();
        lock.keep_file();
        drop(lock);
        assert_eq!(lock_state(dir.path(), "r9"), LockState::Stale);
    }

    #[test]
    fn a_lock_file_nobody_holds_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.lock"), "").unwrap();
        assert_eq!(lock_state(dir.path(), "old"), LockState::Stale);
    }

    #[test]
    fn hostile_run_ids_never_reach_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RunLock::acquire(dir.path(), "../x").is_err());
        assert_eq!(
            lock_state(dir.path(), "../../etc/passwd"),
            LockState::Absent
        );
    }
}
