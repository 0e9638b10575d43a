//! The state of one executing run: creating resources and containers, starting services in
//! `depends_on` order, and what the scenarios ask of a running stack.

use super::db_ready::{
    admit_one, ready_after, resume_claim, DbReady, StartTicket, ADMISSION_HOLD_CAP,
};
use super::files::{bind_volumes_tar, files_tars};
use super::readiness::status_text;
use super::*;
use crate::evidence::{Masker, LOG_LINES};
use crate::plan::{Condition, ContainerSpec, RunPlan};
use crate::probe::{PgTarget, Probe, ProbeSession};
use crate::reaper::RunLock;
use assay_core::Diagnostic;
use assay_sandbox::Engine;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What [`Stack::start_services`] may do besides starting things.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Pause the db container right after it starts, for this long (`runtime.cold-start`).
    pub pause_db_for: Option<Duration>,
    /// Start the webapp only once the db's real server is ready (read from the db's log):
    /// the last re-run of a grading whose db stayed late under a load assay does not cause,
    /// when at nominal speed the db is ready within the webapp's connect window — the webapp
    /// then meets the db as it would on an idle grader (see `crate::run_checks`).
    pub hold_webapp_until_db_ready: bool,
}

/// What creating one container gave, shared by whoever asks first and later.
pub(super) type Creation = std::sync::Arc<tokio::sync::OnceCell<Result<(), Failure>>>;

/// One executing run.
pub struct Stack<'e> {
    pub(super) guard: TeardownGuard,
    pub(super) engine: &'e Engine,
    pub plan: RunPlan,
    /// When the run's waits give up ([`Deadline::waits_end`]); moved later by time spent
    /// waiting for admission. Shared with whoever cuts the run at its deadline.
    pub(super) deadline: std::sync::Arc<std::sync::Mutex<Instant>>,
    /// What the run is doing, for the message of a run cut at its deadline.
    pub(super) phase: std::sync::Mutex<&'static str>,
    /// Time this run waited for an admission slot (see [`super::db_ready`]).
    pub(super) queued: std::sync::Mutex<Duration>,
    /// A share of an exclusive start given before the run (see [`Stack::pre_admit`]).
    pub(super) pre_admitted: std::sync::Mutex<Option<StartTicket>>,
    /// The slot `Stack::up` holds while the db starts (given back early by a frozen db).
    pub(super) start_slot: std::sync::Mutex<Option<StartTicket>>,
    /// The db's readiness as last read from its log.
    pub(super) db_ready: std::sync::Mutex<Option<DbReady>>,
    /// The image id of the db container, once it was inspected.
    pub(super) db_image: std::sync::Mutex<Option<String>>,
    pub(super) cancel: CancellationToken,
    pub masker: Masker,
    pub pg: PgTarget,
    pub(super) unpause: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Set when the db was held back without the freezer (see `hold_back_db`).
    pub(super) held_by: std::sync::Mutex<Option<String>>,
    pub(super) probe_started: std::sync::atomic::AtomicBool,
    /// Set once the bound directories are in their run volumes.
    pub(super) bind_fill: tokio::sync::OnceCell<()>,
    /// Where the run says what it is doing ([`Stack::set_progress`]).
    pub(super) progress: std::sync::Mutex<Option<super::Progress>>,
    /// Containers found healthy in this run, each with the start it was found in (container
    /// id and start time): see [`Stack::wait_ready`].
    pub(super) healthy_in: std::sync::Mutex<HashMap<String, (String, String)>>,
    pub(super) probe_session: std::sync::Mutex<Option<std::sync::Arc<ProbeSession>>>,
    /// The probe and every planned service container: created once each (see
    /// [`Stack::created`]); an entry goes when its container is started, so that starting a
    /// service again (the persistence scenario) creates a new container.
    pub(super) creations: std::sync::Mutex<HashMap<String, Creation>>,
}

impl<'e> Stack<'e> {
    /// Locks the run, then creates its networks and volumes.
    pub async fn setup(
        engine: &'e Engine,
        plan: RunPlan,
        state_dir: &Path,
        timeout: Duration,
        cancel: CancellationToken,
        masker: Masker,
        pg: PgTarget,
    ) -> Result<Stack<'e>, RunError> {
        let lock = RunLock::acquire(state_dir, &plan.run_id)?;
        let stack = Stack {
            guard: TeardownGuard::new(&plan.run_id, lock),
            engine,
            deadline: std::sync::Arc::new(std::sync::Mutex::new(Instant::now() + timeout)),
            phase: std::sync::Mutex::new("creating the run's networks and volumes"),
            queued: std::sync::Mutex::new(Duration::ZERO),
            pre_admitted: std::sync::Mutex::new(None),
            start_slot: std::sync::Mutex::new(None),
            db_ready: std::sync::Mutex::new(None),
            db_image: std::sync::Mutex::new(None),
            plan,
            cancel,
            masker,
            pg,
            unpause: std::sync::Mutex::new(None),
            held_by: std::sync::Mutex::new(None),
            probe_started: std::sync::atomic::AtomicBool::new(false),
            probe_session: std::sync::Mutex::new(None),
            creations: std::sync::Mutex::new(HashMap::new()),
            bind_fill: tokio::sync::OnceCell::new(),
            progress: std::sync::Mutex::new(None),
            healthy_in: std::sync::Mutex::new(HashMap::new()),
        };
        if let Ok(mut m) = stack.creations.lock() {
            let names = std::iter::once(stack.plan.probe.name.clone()).chain(
                stack
                    .plan
                    .services
                    .iter()
                    .flat_map(|s| s.containers.iter().map(|c| c.name.clone())),
            );
            *m = names.map(|n| (n, Creation::default())).collect();
        }
        match stack.create_resources().await {
            Ok(()) => Ok(stack),
            Err(e) if e.is_unreachable() => {
                stack.abandon();
                Err(e)
            }
            // Dropping the stack tears down what was created.
            Err(e) => Err(e),
        }
    }

    /// Networks and volumes. Containers are created by [`Stack::start_services`]: all at once,
    /// as `docker compose up` creates every container before starting any, with the first
    /// service's start not waiting for the others' creation.
    async fn create_resources(&self) -> Result<(), RunError> {
        let engine = self.engine;
        let nets = self
            .plan
            .networks
            .iter()
            .map(|n| engine.create_network(n.create_request()));
        let vols = self
            .plan
            .volumes
            .iter()
            .map(|v| engine.create_volume(&v.name, v.labels.clone()));
        let (nets, vols) = tokio::join!(
            futures_util::future::join_all(nets),
            futures_util::future::join_all(vols)
        );
        for r in nets {
            r?;
        }
        for r in vols {
            r?;
        }
        Ok(())
    }

    /// The bound directories in their run volumes ([`Stack::fill_bind_volumes`], once per run):
    /// no service starts before; the containers are created meanwhile.
    async fn bind_volumes_filled(&self) -> Result<(), RunError> {
        self.bind_fill
            .get_or_try_init(|| self.fill_bind_volumes())
            .await
            .map(|_| ())
    }

    /// Copies each bound directory of the submission into the run volume standing in for it,
    /// before any service starts: one helper container of the probe image (never started, no
    /// network) mounts them all, and the archive API writes into them. Nothing of the host is
    /// mounted into any container (the daemon resolves a bind source again at each start, when
    /// it may have become a symlink). The helper is removed in the background (the teardown
    /// removes it by label if that fails).
    async fn fill_bind_volumes(&self) -> Result<(), RunError> {
        let filled: Vec<(String, PathBuf)> = self
            .plan
            .volumes
            .iter()
            .filter_map(|v| Some((v.name.clone(), v.bind_source.clone()?)))
            .collect();
        let Some(tar) = bind_volumes_tar(&self.plan.root, &filled)? else {
            return Ok(());
        };
        let spec = self.plan.bind_filler(&filled);
        let engine = self.engine;
        engine
            .create_container(&spec.name, spec.create_body())
            .await?;
        let copied = engine.upload_tar(&spec.name, "/", tar).await;
        let remover = engine.clone();
        let name = spec.name.clone();
        tokio::spawn(async move {
            let _ = remover.remove_container(&name).await;
        });
        copied?;
        Ok(())
    }

    /// Creates the probe and every planned service container that is not created yet, all at
    /// once. A candidate problem in creating one (a missing image, a bind that escapes) is
    /// kept and reported when the service's turn to start comes.
    async fn create_all(&self) -> Result<(), RunError> {
        let specs: Vec<ContainerSpec> = std::iter::once(self.plan.probe.clone())
            .chain(self.plan.services.iter().flat_map(|s| s.containers.clone()))
            .collect();
        let creates = specs.iter().map(|c| self.created(c));
        for r in futures_util::future::join_all(creates).await {
            // A candidate failure waits in its cell for the service's turn.
            let _ = r?;
        }
        Ok(())
    }

    /// Creates `spec`'s container once (later calls wait for and share the first's outcome)
    /// until [`Stack::create_and_start`] has used it.
    async fn created(&self, spec: &ContainerSpec) -> Step {
        let cell = self
            .creations
            .lock()
            .ok()
            .and_then(|m| m.get(&spec.name).cloned());
        match cell {
            Some(cell) => cell
                .get_or_try_init(|| async { self.create(spec).await })
                .await
                .cloned(),
            None => self.create(spec).await,
        }
    }

    /// Gives up on the run without touching the daemon (it stopped answering): the lock file
    /// stays, stale, so the first sweep after the daemon is back removes everything.
    pub fn abandon(mut self) {
        self.guard.keep_lock_file();
        self.guard.armed = false;
    }

    /// Starts the probe container and opens a probe session in it (once;
    /// [`Stack::start_services`] does it alongside the services). Without a session (it could
    /// not be opened, or it ended) each probe is its own exec.
    pub async fn start_probe(&self) -> Result<(), RunError> {
        use std::sync::atomic::Ordering;
        if self.probe_started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if let Err(f) = self.created(&self.plan.probe).await? {
            return Err(RunError::Probe(f.evidence));
        }
        self.engine.start_container(&self.plan.probe.name).await?;
        match ProbeSession::open(self.engine, &self.plan.probe.name).await {
            Ok(session) => {
                if let Ok(mut slot) = self.probe_session.lock() {
                    *slot = Some(std::sync::Arc::new(session));
                }
            }
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(_) => {}
        }
        Ok(())
    }

    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    pub fn probe(&self) -> Probe<'e> {
        Probe {
            engine: self.engine,
            container: self.plan.probe.name.clone(),
            session: self
                .probe_session
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .filter(|s| s.is_alive()),
        }
    }

    /// How long to wait between two readiness checks: probe-based checks follow
    /// [`Stack::probe_poll_interval`].
    pub fn poll_interval(&self, readiness: &Readiness) -> Duration {
        match readiness {
            Readiness::Http { .. } | Readiness::Postgres(_) | Readiness::Tcp { .. } => {
                self.probe_poll_interval()
            }
            r => r.poll_interval(),
        }
    }

    /// Between two polls through the probe: cheap on an open probe session, an exec each
    /// without one.
    pub fn probe_poll_interval(&self) -> Duration {
        let session = self
            .probe_session
            .lock()
            .ok()
            .is_some_and(|s| s.as_ref().is_some_and(|s| s.is_alive()));
        if session {
            SESSION_POLL_INTERVAL
        } else {
            EXEC_POLL_INTERVAL
        }
    }

    /// The shared deadline, for [`super::until_cut`].
    pub fn deadline_cell(&self) -> std::sync::Arc<std::sync::Mutex<Instant>> {
        self.deadline.clone()
    }

    /// Says what the run is doing now (shown when the run is cut at its deadline).
    pub fn set_phase(&self, phase: &'static str) {
        let changed = self.phase.lock().map(|mut p| {
            let changed = *p != phase;
            *p = phase;
            changed
        });
        // The scenarios name themselves.
        if changed.unwrap_or(false) && phase != "running the scenarios" {
            self.say(phase);
        }
    }

    /// Where this run says what it is doing (the main run only: two runs side by side would
    /// interleave).
    pub fn set_progress(&self, progress: Option<super::Progress>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = progress;
        }
    }

    /// Says `line` on the run's progress, if it has one.
    pub fn say(&self, line: &str) {
        let p = self.progress.lock().ok().and_then(|p| p.clone());
        if let Some(p) = p {
            p.say(line);
        }
    }

    /// What the run was doing last.
    pub fn phase(&self) -> &'static str {
        self.phase.lock().map(|p| *p).unwrap_or("running")
    }

    /// The run's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
            .lock()
            .map(|d| *d)
            .unwrap_or_else(|p| *p.into_inner())
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline().saturating_duration_since(Instant::now())
    }

    /// How long this run waited for its admission slot (not counted against the deadline).
    pub fn queued(&self) -> Duration {
        self.queued.lock().map(|q| *q).unwrap_or_default()
    }

    /// The db's readiness, read from its log now (and kept): when its real server became
    /// ready after the container started, or not yet.
    pub async fn db_ready(&self) -> DbReady {
        if let Ok(Some(DbReady::After(d))) = self.db_ready.lock().map(|r| *r) {
            return DbReady::After(d);
        }
        let Some(db) = self.db_container() else {
            return DbReady::Unknown;
        };
        let (r, image) = read_db_ready(self.engine, &db).await;
        if let (Some(id), Ok(mut slot)) = (image, self.db_image.lock()) {
            *slot = Some(id);
        }
        if let Ok(mut slot) = self.db_ready.lock() {
            *slot = Some(r);
        }
        r
    }

    /// The (first) db container's name.
    fn db_container(&self) -> Option<String> {
        self.plan
            .service(&self.plan.db_service)
            .and_then(|s| s.containers.first())
            .map(|c| c.name.clone())
    }

    /// Whether the db's real server was already seen ready (no Docker call).
    pub fn db_ready_known(&self) -> bool {
        matches!(
            self.db_ready.lock().map(|r| *r),
            Ok(Some(DbReady::After(_)))
        )
    }

    /// The image id of the db container (known once [`Stack::db_ready`] read it).
    pub fn db_image_id(&self) -> Option<String> {
        self.db_image.lock().ok().and_then(|i| i.clone())
    }

    /// Lets this run's first start go ahead on `ticket` (a share of an exclusive start that
    /// the caller already waited for) instead of waiting for a slot of its own.
    pub fn pre_admit(&self, ticket: StartTicket) {
        if let Ok(mut t) = self.pre_admitted.lock() {
            *t = Some(ticket);
        }
    }

    /// Waits for an admission slot (or takes the share given by [`Stack::pre_admit`]); the
    /// time waited moves the deadline later. Every start of a db goes through here: hold the
    /// ticket until the db is ready.
    pub async fn admit(&self) -> Result<StartTicket, RunError> {
        if let Some(t) = self.pre_admitted.lock().ok().and_then(|mut t| t.take()) {
            return Ok(t);
        }
        let asked = Instant::now();
        let permit = admit_one(&self.cancel).await?;
        let waited = asked.elapsed();
        if let Ok(mut d) = self.deadline.lock() {
            *d += waited;
        }
        if let Ok(mut q) = self.queued.lock() {
            *q += waited;
        }
        Ok(permit)
    }

    /// Returns once the db's real server is ready, or its container is gone or stopped, or
    /// [`ADMISSION_HOLD_CAP`] passed: what holds an admission slot.
    async fn db_settled(&self) {
        let until = Instant::now() + ADMISSION_HOLD_CAP;
        while Instant::now() < until {
            if let DbReady::After(_) | DbReady::Unknown = self.db_ready().await {
                return;
            }
            if tokio::time::timeout(Duration::from_millis(250), self.cancel.cancelled())
                .await
                .is_ok()
            {
                return;
            }
        }
    }

    /// A probe call's time limit: at most 10 s, never past the deadline (at least 1 s).
    pub fn probe_limit(&self) -> Duration {
        self.remaining()
            .clamp(Duration::from_secs(1), Duration::from_secs(10))
    }

    /// Sleeps `d` unless cancelled.
    pub async fn nap(&self, d: Duration) -> Result<(), RunError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(RunError::Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Creates a container (not started): attaches every network, copies files in (secrets,
    /// configs, bound files). Candidate problems (missing image, invalid mount, a file that
    /// cannot be copied) are failures; daemon trouble is an error.
    pub async fn create(&self, spec: &ContainerSpec) -> Step {
        let tars = match files_tars(&self.plan.root, spec) {
            Ok(t) => t,
            Err(f) => return Ok(Err(f)),
        };
        match self
            .engine
            .create_container(&spec.name, spec.create_body())
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => {
                let msg = match e.call_error().and_then(|c| c.status()) {
                    Some(404) => format!(
                        "service `{}`: image `{}` is not available (assay runs offline: only the images `assay images` prepares can run)",
                        spec.service, spec.image
                    ),
                    _ => format!("service `{}`: {e}", spec.service),
                };
                return Ok(Err(Failure::new(self.masker.clean(&msg))));
            }
        }
        for a in spec.networks.iter().skip(1) {
            self.engine
                .connect_network(&a.network, &spec.name, a.endpoint())
                .await?;
        }
        for (dir, tar) in tars {
            match self.engine.upload_tar(&spec.name, &dir, tar).await {
                Ok(()) => {}
                Err(e) if e.is_unreachable() => return Err(e.into()),
                Err(e) => {
                    let msg = format!(
                        "service `{}`: its files (secrets, configs, bound files) could not be copied in: {e}",
                        spec.service
                    );
                    return Ok(Err(Failure::new(self.masker.clean(&msg))));
                }
            }
        }
        Ok(Ok(()))
    }

    /// [`Stack::create`], then start.
    pub async fn create_and_start(&self, spec: &ContainerSpec) -> Step {
        // Created meanwhile; started only with the bound directories in their volumes.
        let (created, filled) = tokio::join!(self.created(spec), self.bind_volumes_filled());
        filled?;
        let created = created?;
        if let Ok(mut m) = self.creations.lock() {
            m.remove(&spec.name);
        }
        if let Err(f) = created {
            return Ok(Err(f));
        }
        match self.engine.start_container(&spec.name).await {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.is_unreachable() => Err(e.into()),
            Err(e) => Ok(Err(Failure::new(
                self.masker
                    .clean(&format!("service `{}` could not start: {e}", spec.service)),
            ))),
        }
    }

    /// Starts every service in `depends_on` order, honouring each dependency's condition as
    /// compose does (a dependency that fails its condition stops the start).
    ///
    /// The probe container starts once the first service has: the waits between services
    /// (running, healthy, exited) need no probe, and two containers starting at once slow
    /// each other down.
    pub async fn start_services(&self, hooks: &Hooks) -> Step {
        let first_started = tokio::sync::Notify::new();
        let probe = async {
            first_started.notified().await;
            self.start_probe().await
        };
        let chain = async {
            let r = self.start_chain(hooks, &first_started).await;
            // Also when nothing started (the probe is still needed for the evidence).
            first_started.notify_one();
            r
        };
        let (created, probe, services) = tokio::join!(self.create_all(), probe, chain);
        created?;
        probe?;
        services
    }

    async fn start_chain(&self, hooks: &Hooks, first_started: &tokio::sync::Notify) -> Step {
        let services = self.plan.services.clone();
        for (i, svc) in services.iter().enumerate() {
            if i == 1 {
                first_started.notify_one();
            }
            for (dep, cond) in &svc.depends_on {
                let Some(dep_plan) = self.plan.service(dep).cloned() else {
                    continue;
                };
                let readiness = match cond {
                    Condition::Started => Readiness::Running,
                    Condition::Healthy => Readiness::Healthy,
                    Condition::CompletedSuccessfully => Readiness::Exited0,
                };
                for c in &dep_plan.containers {
                    if let Err(mut f) = self.wait_ready(&c.name, &dep_plan.name, &readiness).await?
                    {
                        // The dependency's own failure is the headline; what it held back
                        // follows.
                        f.evidence = format!(
                            "{}; so service `{}`, which waits for `{dep}` ({}), was not started",
                            f.evidence,
                            svc.name,
                            cond.as_str()
                        );
                        f.location = Some(dep_plan.location.clone());
                        return Ok(Err(f));
                    }
                }
            }
            if hooks.hold_webapp_until_db_ready && svc.name == self.plan.webapp.service {
                self.set_phase("holding the webapp until the db is ready");
                self.until_db_ready().await?;
                self.set_phase("creating and starting the services");
            }
            for c in &svc.containers {
                if let Err(mut f) = self.create_and_start(c).await? {
                    f.location = Some(svc.location.clone());
                    return Ok(Err(f));
                }
            }
            if svc.name == self.plan.db_service {
                if let Some(pause) = hooks.pause_db_for {
                    self.hold_back_db(pause).await?;
                }
            }
        }
        Ok(Ok(()))
    }

    /// Returns once the db's real server is ready, its readiness cannot be read, or the
    /// run's waits give up (the webapp is then started and meets whatever the db is).
    async fn until_db_ready(&self) -> Result<(), RunError> {
        loop {
            if let DbReady::After(_) | DbReady::Unknown = self.db_ready().await {
                return Ok(());
            }
            if self.remaining().is_zero() {
                return Ok(());
            }
            self.nap(Duration::from_millis(200)).await?;
        }
    }

    async fn hold_back_db(&self, pause: Duration) -> Result<(), RunError> {
        let Some(db) = self
            .plan
            .service(&self.plan.db_service)
            .map(|s| s.containers.clone())
        else {
            return Ok(());
        };
        // Paused through the freezer when the daemon can (the engine already retried a
        // transient failure); a cgroup v1 freezer cannot freeze tasks stuck in I/O, so a db
        // the freezer refuses is held back by the other means `runtime.cold-start` allows: cut off from
        // every network for the same time, then attached again with its aliases.
        let mut cut_off = Vec::new();
        for c in &db {
            match self.engine.pause_container(&c.name).await {
                Ok(()) => {}
                Err(e) if e.is_unreachable() => return Err(e.into()),
                Err(e) => {
                    for a in &c.networks {
                        self.engine.disconnect_network(&a.network, &c.name).await?;
                    }
                    if let Ok(mut h) = self.held_by.lock() {
                        *h = Some(format!(
                            "the db could not be paused ({e}); it was held back by cutting it off from its networks instead"
                        ));
                    }
                    cut_off.push(c.clone());
                }
            }
        }
        // A frozen db uses no CPU: the run's start slot goes back now, and a slot is taken
        // again at once when the db resumes, held until it is ready (module `db_ready`). A db
        // cut off from its networks runs on (it needs its slot), and a share of an exclusive
        // start is kept: a re-run's db resumes with nothing else of the process starting.
        let gave_back = cut_off.is_empty()
            && self
                .start_slot
                .lock()
                .ok()
                .and_then(|mut s| match s.as_ref() {
                    Some(t) if !t.is_exclusive() => s.take(),
                    _ => None,
                })
                .is_some();
        let resuming = self.db_container().filter(|_| gave_back);
        let engine = self.engine.clone();
        let paused: Vec<String> = db
            .iter()
            .filter(|c| !cut_off.iter().any(|x| x.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        let task = tokio::spawn(async move {
            tokio::time::sleep(pause).await;
            let ticket = resuming.as_ref().map(|_| resume_claim());
            for n in paused {
                let _ = engine.unpause_container(&n).await;
            }
            for c in cut_off {
                for a in &c.networks {
                    let _ = engine
                        .connect_network(&a.network, &c.name, a.endpoint())
                        .await;
                }
            }
            // Held until the db is ready, at most the cap; the teardown ends this task (and
            // gives the slot back) if the run ends first.
            if let (Some(ticket), Some(db)) = (ticket, resuming) {
                let until = Instant::now() + ADMISSION_HOLD_CAP;
                while Instant::now() < until {
                    if !matches!(read_db_ready(&engine, &db).await.0, DbReady::NotYet(_)) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                drop(ticket);
            }
        });
        if let Ok(mut slot) = self.unpause.lock() {
            *slot = Some(task);
        }
        Ok(())
    }

    /// How the db was held back when the freezer refused, for the cold-start finding.
    pub fn held_back_note(&self) -> Option<String> {
        self.held_by.lock().ok().and_then(|h| h.clone())
    }

    /// `runtime.up`: start everything, then wait until every service is ready. The start
    /// waits for an admission slot first, held until the db is ready (module
    /// [`super::db_ready`]).
    pub async fn up(&self, hooks: &Hooks) -> Step {
        self.set_phase("waiting for a start slot");
        let ticket = self.admit().await?;
        self.set_start_slot(Some(ticket));
        let mut work = Box::pin(async {
            self.set_phase("creating and starting the services");
            let r = match self.start_services(hooks).await? {
                Ok(()) => {
                    self.set_phase("waiting for the services to become ready");
                    self.wait_up().await
                }
                Err(f) => Ok(Err(f)),
            };
            self.set_phase("running the scenarios");
            r
        });
        let mut settled = Box::pin(self.db_settled());
        let mut holding = true;
        loop {
            tokio::select! {
                r = &mut work => {
                    self.set_start_slot(None);
                    return r;
                }
                _ = &mut settled, if holding => {
                    holding = false;
                    self.set_start_slot(None);
                }
            }
        }
    }

    /// Keeps `ticket` as the slot of this run's start (`None` gives it back).
    fn set_start_slot(&self, ticket: Option<StartTicket>) {
        if let Ok(mut s) = self.start_slot.lock() {
            *s = ticket;
        }
    }

    /// Evidence details for `containers`: state, exit code, OOMKilled, health log and the last
    /// log lines, all cleaned.
    pub async fn details(&self, containers: &[(String, String)]) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (service, name) in containers {
            let loc = self.plan.service(service).map(|s| s.location.clone());
            let Ok(info) = self.engine.inspect_container(name).await else {
                out.push(Diagnostic::info(format!("service `{service}`: not running (container {name} was not created or is gone)")).at_opt(loc));
                continue;
            };
            let mut msg = format!("service `{service}` ({name}): {}", status_text(&info));
            if let Some(h) = info.state.as_ref().and_then(|s| s.health.as_ref()) {
                let logs: Vec<String> = h
                    .log
                    .iter()
                    .flatten()
                    .rev()
                    .take(3)
                    .map(|r| {
                        format!(
                            "exit {}: {}",
                            r.exit_code.unwrap_or(-1),
                            r.output.as_deref().unwrap_or("").trim()
                        )
                    })
                    .collect();
                if !logs.is_empty() {
                    msg.push_str(&format!(
                        "\nhealth log (latest first):\n{}",
                        self.masker.clean(&logs.join("\n"))
                    ));
                }
            }
            out.push(Diagnostic::info(msg).at_opt(loc.clone()));
            if let Ok(logs) = self.engine.logs_tail(name, LOG_LINES).await {
                out.push(
                    Diagnostic::info(format!(
                        "last {LOG_LINES} log lines of `{service}`:\n{}",
                        self.masker.tail(&logs, LOG_LINES)
                    ))
                    .at_opt(loc),
                );
            }
        }
        out
    }

    /// Every service container of the plan as `(service, container)`.
    pub fn service_containers(&self) -> Vec<(String, String)> {
        self.plan
            .services
            .iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .map(|c| (s.name.clone(), c.name.clone()))
            })
            .collect()
    }
}

/// The readiness of db container `db`, read from its log now, and its image id.
async fn read_db_ready(engine: &Engine, db: &str) -> (DbReady, Option<String>) {
    let Ok(info) = engine.inspect_container(db).await else {
        return (DbReady::NotYet(Duration::ZERO), None);
    };
    let started = info
        .state
        .as_ref()
        .and_then(|s| s.started_at.clone())
        // A container never started carries the zero time.
        .filter(|t| !t.starts_with("0001-"));
    let Some(started) = started else {
        return (DbReady::NotYet(Duration::ZERO), info.image);
    };
    let Ok(lines) = engine.logs_head_timed(db).await else {
        return (DbReady::Unknown, info.image);
    };
    (
        ready_after(&started, &lines, jiff::Timestamp::now()),
        info.image,
    )
}
