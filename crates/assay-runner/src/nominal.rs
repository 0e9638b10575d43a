//! Nominal db readiness: how long a db image takes, on this grader, to become ready when
//! nothing else runs. A `runtime.up` failure whose cause may be timing is graded again only
//! when the db was later than nominal (README, "Runtime verdicts and load").
//!
//! The figure is kept per image id in the state dir (`nominal-db.json`) as the fastest seen,
//! from assay's own measurements only ([`measure`]: the image with its defaults, [`spec`]);
//! load can only make a start slower, so the minimum is the closest to an idle host. A
//! candidate's run never lowers it: its db's log is the candidate's to write (an init script
//! can print "ready to accept connections"), and a spoofed fast figure would make every later
//! submission's timing failures look late.
//!
//! It is measured when images are prepared ([`prepare`]: `assay images` takes one more sample
//! each time, an evaluation measures an image it does not know yet three times before its
//! first submission), so a batch starts knowing it and no sample is taken in a batch's
//! critical path. Only a db image that preparation did not see (or could not measure) is
//! measured during a batch, under an exclusive start (`run::exclusive_start`).

use crate::plan::{ContainerSpec, Limits, COMPOSE_PROJECT, ROLE_LABEL};
use crate::run::{random_hex, ready_after, DbReady, RunError};
use assay_sandbox::{labels, Engine};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file, in the state dir.
pub const FILE: &str = "nominal-db.json";

/// Held while measuring (in the state dir), so two assay processes do not measure at the
/// same time and slow each other's samples down.
const LOCK_FILE: &str = "nominal-db.lock";

/// Samples taken of an image whose nominal figure is not known yet.
pub const FIRST_SAMPLES: usize = 3;

/// Longest a measurement waits for the db.
pub const MEASURE_CAP: Duration = Duration::from_secs(60);

/// Whether a db was later than nominal: by more than a fifth, plus 300 ms of measuring noise.
/// Tight on purpose: a failure the load may have caused is graded again unless the db was
/// clearly on time (a re-run costs time; a wrong verdict costs a candidate).
pub fn late(ready: Duration, nominal: Duration) -> bool {
    ready > nominal.mul_f64(1.2) + Duration::from_millis(300)
}

/// Whether what a run saw of its db (read after the failure) says the db was late, for a db
/// held back for `held` first (the cold-start pause): ready later than nominal, or not ready
/// yet although it was already due. A db that was not due yet when the stack gave up on it
/// was on time: the stack did not wait.
pub fn db_was_late(seen: DbReady, held: Duration, nominal: Duration) -> bool {
    match seen {
        DbReady::After(d) | DbReady::NotYet(d) => late(d.saturating_sub(held), nominal),
        DbReady::Unknown => true,
    }
}

/// The kept figures: image id → fastest readiness seen, in milliseconds.
#[derive(Debug, Clone)]
pub struct NominalStore {
    path: PathBuf,
}

impl NominalStore {
    pub fn new(state_dir: &Path) -> NominalStore {
        NominalStore {
            path: state_dir.join(FILE),
        }
    }

    fn read(&self) -> BTreeMap<String, u64> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The nominal readiness of `image_id`, if known.
    pub fn get(&self, image_id: &str) -> Option<Duration> {
        self.read()
            .get(image_id)
            .map(|ms| Duration::from_millis(*ms))
    }

    /// Holds the measuring lock (see [`LOCK_FILE`]) until dropped; `None` when the lock file
    /// cannot be opened (measuring then goes ahead unlocked: the figure only gets noisier).
    async fn lock(&self) -> Option<std::fs::File> {
        let dir = self.path.parent()?;
        std::fs::create_dir_all(dir).ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .ok()?;
        tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .ok()?
            .ok()
    }

    /// Keeps `ready` for `image_id` when it is the fastest seen. A failure to write only loses
    /// the figure (it is measured again when needed).
    pub fn observe(&self, image_id: &str, ready: Duration) {
        let mut all = self.read();
        let ms = ready.as_millis().min(u64::MAX as u128) as u64;
        if all.get(image_id).is_some_and(|old| *old <= ms) {
            return;
        }
        all.insert(image_id.to_string(), ms);
        let Some(dir) = self.path.parent() else {
            return;
        };
        let _ = std::fs::create_dir_all(dir);
        let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
            return;
        };
        let body = serde_json::to_vec_pretty(&all).unwrap_or_default();
        if std::io::Write::write_all(&mut tmp, &body).is_ok() {
            let _ = tmp.persist(&self.path);
        }
    }
}

/// The container a measurement starts: `image` with its defaults (only the password the
/// image needs to initialise), no network, no volume, the hardening and the default `limits`
/// of a run's containers, and run labels (its run id starts with `run_prefix`, as a run's
/// does) so a sweep takes it if assay dies meanwhile.
pub fn spec(image: &str, limits: &Limits, run_prefix: &str) -> ContainerSpec {
    let run_id = format!("{run_prefix}{}", &random_hex(1)[..10]);
    let mut labels = labels::for_run(&run_id);
    labels.insert(ROLE_LABEL.into(), "nominal".into());
    labels.insert(COMPOSE_PROJECT.into(), format!("assay-{run_id}"));
    ContainerSpec {
        name: format!("assay-{run_id}-nominal"),
        service: "assay-nominal".into(),
        image: image.into(),
        env: vec!["POSTGRES_PASSWORD=assay-nominal".into()],
        cmd: None,
        entrypoint: None,
        user: None,
        working_dir: None,
        hostname: None,
        healthcheck: None,
        labels,
        mounts: Vec::new(),
        networks: Vec::new(),
        restart_max: None,
        stop_signal: None,
        init: None,
        read_only: Some(false),
        files: Vec::new(),
        limits: limits.clone(),
    }
}

/// What [`prepare`] found for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The image id the figure is kept under.
    pub image_id: String,
    /// This call's samples (`None`: the db was not ready within [`MEASURE_CAP`]).
    pub samples: Vec<Option<Duration>>,
    /// The kept figure after them.
    pub nominal: Option<Duration>,
}

/// Makes sure the nominal figure of `image` (a reference or an id) is known: measures it
/// [`FIRST_SAMPLES`] times when it is not, and once more when `one_more` (the kept figure is
/// the fastest, so another sample on a quiet host can only bring it closer to idle). `None`
/// when the image does not exist. The caller makes sure nothing else of this process starts
/// meanwhile (before a batch, or under `run::exclusive_start`); other assay processes measure
/// one at a time (a lock file in the state dir).
pub async fn prepare(
    engine: &Engine,
    store: &NominalStore,
    image: &str,
    limits: &Limits,
    run_prefix: &str,
    one_more: bool,
) -> Result<Option<Prepared>, RunError> {
    let Some(info) = engine.inspect_image(image).await? else {
        return Ok(None);
    };
    let Some(image_id) = info.id else {
        return Ok(None);
    };
    let _lock = store.lock().await;
    let samples = match store.get(&image_id) {
        None => FIRST_SAMPLES,
        Some(_) if one_more => 1,
        Some(_) => 0,
    };
    let mut taken = Vec::new();
    for _ in 0..samples {
        let d = measure(engine, &spec(&image_id, limits, run_prefix)).await?;
        if let Some(d) = d {
            store.observe(&image_id, d);
        }
        taken.push(d);
    }
    Ok(Some(Prepared {
        nominal: store.get(&image_id),
        image_id,
        samples: taken,
    }))
}

/// Starts `spec` ([`spec`]) alone and returns how long its real server took to become
/// ready, or `None` when it did not within [`MEASURE_CAP`]. The container is removed on every
/// path.
pub async fn measure(engine: &Engine, spec: &ContainerSpec) -> Result<Option<Duration>, RunError> {
    engine
        .create_container(&spec.name, spec.create_body())
        .await?;
    let measured = async {
        engine.start_container(&spec.name).await?;
        let until = Instant::now() + MEASURE_CAP;
        while Instant::now() < until {
            let info = engine.inspect_container(&spec.name).await?;
            let st = info.state.clone().unwrap_or_default();
            if st.running != Some(true) {
                return Ok(None);
            }
            if let Some(started) = st.started_at.as_deref() {
                let lines = engine.logs_head_timed(&spec.name).await?;
                if let DbReady::After(d) = ready_after(started, &lines, jiff::Timestamp::now()) {
                    return Ok(Some(d));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, RunError>(None)
    }
    .await;
    let removed = engine.remove_container(&spec.name).await;
    let d = measured?;
    removed?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fastest_figure_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = NominalStore::new(dir.path());
        assert_eq!(store.get("sha256:a"), None);
        store.observe("sha256:a", Duration::from_millis(2400));
        store.observe("sha256:a", Duration::from_millis(5100));
        assert_eq!(store.get("sha256:a"), Some(Duration::from_millis(2400)));
        store.observe("sha256:a", Duration::from_millis(1900));
        assert_eq!(store.get("sha256:a"), Some(Duration::from_millis(1900)));
        assert_eq!(store.get("sha256:b"), None);
    }

    #[test]
    fn lateness_allows_a_fifth_and_some_noise() {
        let n = Duration::from_secs(2);
        assert!(!late(Duration::from_millis(2650), n));
        assert!(late(Duration::from_millis(2800), n));
    }

    #[test]
    fn a_db_not_due_yet_was_not_late() {
        let n = Duration::from_secs(2);
        let s = Duration::from_secs;
        // The webapp gave up at 5 s on a db that needed 2: late (the grader was busy).
        assert!(db_was_late(DbReady::NotYet(s(5)), s(0), n));
        // The cold-start pause of 10 s: at 5.5 s the db was not due; at 16 s it was.
        assert!(!db_was_late(
            DbReady::NotYet(Duration::from_millis(5500)),
            s(10),
            n
        ));
        assert!(db_was_late(DbReady::NotYet(s(16)), s(10), n));
        assert!(!db_was_late(
            DbReady::After(Duration::from_millis(2100)),
            s(0),
            n
        ));
        assert!(db_was_late(DbReady::Unknown, s(0), n));
    }
}
