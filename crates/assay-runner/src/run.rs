//! Executes a [`RunPlan`]: networks and volumes → probe → services in `depends_on` order →
//! readiness under one deadline → (probes, by the caller) → teardown.
//!
//! Teardown happens on every path: [`Stack::teardown`] on success, failure, timeout and
//! cancellation (Ctrl-C / SIGTERM through the [`CancellationToken`]); a panic or a dropped
//! future trips the [`TeardownGuard`], which removes the run's resources by label from a fresh
//! runtime on its own thread. A killed process leaves its lock file unlocked, and the next
//! sweep ([`crate::reaper`]) removes what it left.

use crate::evidence::{Masker, LOG_LINES};
use crate::plan::{Condition, ContainerSpec, FileSource, RunPlan};
use crate::probe::{PgTarget, Probe, ProbeSession};
use crate::reaper::{self, GcError, GcReport, LockError, RunLock};
use assay_core::{Diagnostic, Location};
use assay_sandbox::{Engine, EngineError};
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
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

/// How to tell that a container is ready. Every strategy is polled under the run's one
/// deadline; a container that exits (and will not be restarted) fails every strategy but
/// [`Readiness::Exited0`] at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The container is running (`service_started`).
    Running,
    /// Its healthcheck reports `healthy` (`service_healthy`).
    Healthy,
    /// It exited with code 0 (`service_completed_successfully`).
    Exited0,
    /// Something answers HTTP at `http://host:port/path` (any status), asked by the probe.
    Http {
        host: String,
        port: u16,
        path: String,
    },
    /// Postgres accepts the credentials and answers `SELECT 1`, asked by the probe.
    Postgres(PgTarget),
    /// A TCP connection to `host:port` succeeds, from the probe.
    Tcp { host: String, port: u16 },
}

impl Readiness {
    fn describe(&self) -> String {
        match self {
            Readiness::Running => "running".into(),
            Readiness::Healthy => "healthy".into(),
            Readiness::Exited0 => "completed successfully".into(),
            Readiness::Http { host, port, path } => {
                format!("answering HTTP on http://{host}:{port}{path}")
            }
            Readiness::Postgres(t) => {
                format!("accepting Postgres connections on {}:{}", t.host, t.port)
            }
            Readiness::Tcp { host, port } => format!("accepting TCP on {host}:{port}"),
        }
    }

    fn poll_interval(&self) -> Duration {
        match self {
            Readiness::Running | Readiness::Exited0 => Duration::from_millis(100),
            // Each poll may exec the healthcheck: not too often on a small host.
            Readiness::Healthy => Duration::from_millis(200),
            _ => EXEC_POLL_INTERVAL,
        }
    }
}

/// Owns a run's lock and removes the run's resources if dropped while armed (panic, dropped
/// future). When that removal fails, the lock file is kept (stale) so the next sweep retries.
#[derive(Debug)]
pub struct TeardownGuard {
    run_id: String,
    armed: bool,
    lock: Option<RunLock>,
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

/// Time between two probe-based readiness checks on an open probe session.
pub const SESSION_POLL_INTERVAL: Duration = Duration::from_millis(60);
/// The same when each probe is its own exec.
pub const EXEC_POLL_INTERVAL: Duration = Duration::from_millis(150);

/// Longest a dropped run waits for its emergency teardown.
pub const GUARD_WAIT: Duration = Duration::from_secs(30);

/// A random lowercase hex string of `n` 64-bit words (run ids, nonces). Not for cryptography:
/// it only has to be unguessable by a candidate's stack and unique per run.
pub fn random_hex(words: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..words {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        h.write_usize(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// What [`Stack::start_services`] may do besides starting things.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Pause the db container right after it starts, for this long (`runtime.cold-start`).
    pub pause_db_for: Option<Duration>,
}

/// What creating one container gave, shared by whoever asks first and later.
type Creation = std::sync::Arc<tokio::sync::OnceCell<Result<(), Failure>>>;

/// One executing run.
pub struct Stack<'e> {
    guard: TeardownGuard,
    engine: &'e Engine,
    pub plan: RunPlan,
    pub deadline: Instant,
    cancel: CancellationToken,
    pub masker: Masker,
    pub pg: PgTarget,
    unpause: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    probe_started: std::sync::atomic::AtomicBool,
    probe_session: std::sync::Mutex<Option<std::sync::Arc<ProbeSession>>>,
    /// The probe and every planned service container: created once each (see
    /// [`Stack::created`]); an entry goes when its container is started, so that starting a
    /// service again (the persistence scenario) creates a new container.
    creations: std::sync::Mutex<HashMap<String, Creation>>,
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
            deadline: Instant::now() + timeout,
            plan,
            cancel,
            masker,
            pg,
            unpause: std::sync::Mutex::new(None),
            probe_started: std::sync::atomic::AtomicBool::new(false),
            probe_session: std::sync::Mutex::new(None),
            creations: std::sync::Mutex::new(HashMap::new()),
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

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
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

    /// Creates a container (not started): attaches every network, copies files in.
    /// Candidate problems (missing image, invalid mount, a bind that escapes through a
    /// symlink) are failures; daemon trouble is an error.
    pub async fn create(&self, spec: &ContainerSpec) -> Step {
        if let Err(f) = check_binds(&self.plan.root, spec) {
            return Ok(Err(f));
        }
        let tar = match files_tar(&self.plan.root, spec) {
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
        if let Some(tar) = tar {
            self.engine.upload_tar(&spec.name, "/", tar).await?;
        }
        Ok(Ok(()))
    }

    /// [`Stack::create`], then start.
    pub async fn create_and_start(&self, spec: &ContainerSpec) -> Step {
        let created = self.created(spec).await?;
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
                        f.evidence = format!(
                            "service `{}` was not started: dependency `{dep}` ({}) failed: {}",
                            svc.name,
                            cond.as_str(),
                            f.evidence
                        );
                        f.location = Some(svc.location.clone());
                        return Ok(Err(f));
                    }
                }
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

    async fn hold_back_db(&self, pause: Duration) -> Result<(), RunError> {
        let Some(db) = self
            .plan
            .service(&self.plan.db_service)
            .map(|s| s.containers.clone())
        else {
            return Ok(());
        };
        for c in &db {
            self.engine.pause_container(&c.name).await?;
        }
        let engine = self.engine.clone();
        let names: Vec<String> = db.iter().map(|c| c.name.clone()).collect();
        let task = tokio::spawn(async move {
            tokio::time::sleep(pause).await;
            for n in names {
                let _ = engine.unpause_container(&n).await;
            }
        });
        if let Ok(mut slot) = self.unpause.lock() {
            *slot = Some(task);
        }
        Ok(())
    }

    /// `runtime.up`: start everything, then wait until every service is ready.
    pub async fn up(&self, hooks: &Hooks) -> Step {
        match self.start_services(hooks).await? {
            Ok(()) => self.wait_up().await,
            Err(f) => Ok(Err(f)),
        }
    }

    /// The readiness that `runtime.up` waits for, per service.
    pub fn up_readiness(&self, service: &str) -> Readiness {
        let svc = self.plan.service(service);
        if svc.is_some_and(|s| s.has_healthcheck) {
            return Readiness::Healthy;
        }
        if service == self.plan.webapp.service {
            return Readiness::Http {
                host: service.to_string(),
                port: self.plan.webapp.port,
                path: "/health".into(),
            };
        }
        if service == self.plan.db_service {
            return Readiness::Postgres(self.pg.clone());
        }
        let one_shot = self.plan.services.iter().any(|s| {
            s.depends_on
                .iter()
                .any(|(d, c)| d == service && *c == Condition::CompletedSuccessfully)
        });
        if one_shot {
            Readiness::Exited0
        } else {
            Readiness::Running
        }
    }

    /// `runtime.up`: every service ready before the deadline.
    pub async fn wait_up(&self) -> Step {
        // Every container at once, under the one deadline.
        let waits = self.plan.services.iter().flat_map(|svc| {
            let readiness = self.up_readiness(&svc.name);
            svc.containers.iter().map(move |c| {
                let readiness = readiness.clone();
                async move {
                    let r = self.wait_ready(&c.name, &svc.name, &readiness).await;
                    (svc.location.clone(), r)
                }
            })
        });
        // The first failure ends the wait (the other polls are dropped).
        let mut pending: futures_util::stream::FuturesUnordered<_> = waits.collect();
        while let Some((location, r)) = futures_util::StreamExt::next(&mut pending).await {
            if let Err(mut f) = r? {
                f.location = Some(location);
                return Ok(Err(f));
            }
        }
        Ok(Ok(()))
    }

    /// Polls `container` until it meets `readiness`, it fails for good, or the deadline passes.
    pub async fn wait_ready(&self, container: &str, service: &str, readiness: &Readiness) -> Step {
        let mut last_probe: Option<String> = None;
        loop {
            let info = self.engine.inspect_container(container).await?;
            let st = info.state.clone().unwrap_or_default();
            let status = st.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
            let restarting = st.restarting.unwrap_or(false);
            let exited = matches!(
                status,
                ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD
            );
            let paused = st.paused.unwrap_or(false);
            let health = st
                .health
                .as_ref()
                .and_then(|h| h.status)
                .unwrap_or(HealthStatusEnum::NONE);
            match readiness {
                Readiness::Exited0 if exited && !restarting => {
                    return if st.exit_code == Some(0) {
                        Ok(Ok(()))
                    } else {
                        Ok(Err(self.describe_stop(service, &info).await?))
                    };
                }
                _ if exited && !restarting => {
                    return Ok(Err(self.describe_stop(service, &info).await?));
                }
                // `service_started` holds once the container was started, as in compose: a
                // paused dependency (the cold-start scenario) does not hold its dependents back.
                Readiness::Running
                    if matches!(
                        status,
                        ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::PAUSED
                    ) =>
                {
                    return Ok(Ok(()))
                }
                Readiness::Healthy if health == HealthStatusEnum::HEALTHY => return Ok(Ok(())),
                // Docker runs the check once per interval; running the same test ourselves
                // as soon as the container runs finds readiness up to an interval earlier.
                // A pass means exactly what the candidate's healthcheck means.
                Readiness::Healthy
                    if status == ContainerStateStatusEnum::RUNNING
                        && !paused
                        && self.health_test_passes(container).await =>
                {
                    return Ok(Ok(()));
                }
                // Docker marks a paused container unhealthy at once (streak 0) and keeps the
                // mark until a check passes: only a streak that used up the retries counts.
                Readiness::Healthy
                    if health == HealthStatusEnum::UNHEALTHY
                        && !paused
                        && st
                            .health
                            .as_ref()
                            .and_then(|h| h.failing_streak)
                            .unwrap_or(0)
                            >= self.health_retries(container) =>
                {
                    let mut f = Failure::new(format!("service `{service}` is unhealthy"));
                    if let Some(last) = last_health_output(&info) {
                        f.evidence
                            .push_str(&format!(": {}", self.masker.clean(&last)));
                    }
                    return Ok(Err(f));
                }
                Readiness::Healthy
                    if matches!(health, HealthStatusEnum::NONE | HealthStatusEnum::EMPTY)
                        && status == ContainerStateStatusEnum::RUNNING =>
                {
                    return Ok(Err(Failure::new(format!(
                        "service `{service}` has no healthcheck, so it can never become healthy"
                    ))));
                }
                Readiness::Http { host, port, path }
                    if status == ContainerStateStatusEnum::RUNNING =>
                {
                    let url = format!("http://{host}:{port}{path}");
                    let r = self
                        .probe()
                        .http("GET", &url, None, self.probe_limit())
                        .await?;
                    if r.http_status().is_some() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                Readiness::Postgres(t)
                    if status == ContainerStateStatusEnum::RUNNING && !paused =>
                {
                    let r = self.probe().pg(t, None, self.probe_limit()).await?;
                    if r.ok() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                Readiness::Tcp { host, port }
                    if status == ContainerStateStatusEnum::RUNNING && !paused =>
                {
                    let r = self.probe().tcp(host, *port, self.probe_limit()).await?;
                    if r.ok() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                _ => {}
            }
            if Instant::now() >= self.deadline {
                let mut f = Failure::new(format!(
                    "service `{service}` was not {} before the deadline ({})",
                    readiness.describe(),
                    status_text(&info)
                ));
                if let Some(p) = last_probe {
                    f.evidence
                        .push_str(&format!("; last probe: {}", self.masker.clean(&p)));
                }
                return Ok(Err(f));
            }
            self.nap(self.poll_interval(readiness)).await?;
        }
    }

    /// Runs the planned healthcheck test of `container` once, through exec, under the
    /// check's own timeout (at most 5 s). False when there is no test or it fails.
    async fn health_test_passes(&self, container: &str) -> bool {
        let Some(h) = self
            .plan
            .container(container)
            .and_then(|c| c.healthcheck.clone())
        else {
            return false;
        };
        let Some(test) = h.test.as_ref() else {
            return false;
        };
        let cmd: Vec<&str> = match test.first().map(String::as_str) {
            Some("CMD") => test[1..].iter().map(String::as_str).collect(),
            Some("CMD-SHELL") if test.len() == 2 => vec!["/bin/sh", "-c", test[1].as_str()],
            _ => return false,
        };
        if cmd.is_empty() {
            return false;
        }
        let limit = h
            .timeout
            .filter(|t| *t > 0)
            .map(|t| Duration::from_nanos(t as u64))
            .unwrap_or(Duration::from_secs(30))
            .min(Duration::from_secs(5));
        matches!(
            tokio::time::timeout(limit, self.engine.exec(container, &cmd)).await,
            Ok(Ok(out)) if out.exit_code == Some(0)
        )
    }

    /// The healthcheck retries of a planned container (Docker's default 3).
    fn health_retries(&self, container: &str) -> i64 {
        self.plan
            .container(container)
            .and_then(|c| c.healthcheck.as_ref())
            .and_then(|h| h.retries)
            .filter(|r| *r > 0)
            .unwrap_or(3)
    }

    /// A failure saying how a container ended, with the cause from its last log line.
    async fn describe_stop(
        &self,
        service: &str,
        info: &ContainerInspectResponse,
    ) -> Result<Failure, RunError> {
        let st = info.state.clone().unwrap_or_default();
        let name = info.name.clone().unwrap_or_default();
        let name = name.trim_start_matches('/');
        let mut ev = if st.oom_killed == Some(true) {
            format!("service `{service}` was killed for exceeding its memory limit (OOMKilled, exit {})", st.exit_code.unwrap_or(-1))
        } else {
            format!("service `{service}` exited {}", st.exit_code.unwrap_or(-1))
        };
        let logs = self
            .engine
            .logs_tail(name, LOG_LINES)
            .await
            .unwrap_or_default();
        if let Some(cause) = cause_line(&logs) {
            ev.push_str(": ");
            ev.push_str(&self.masker.clean(&cause));
        }
        Ok(Failure::new(ev))
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

    /// Stops and removes every container at once (the services with their grace ≤ 10 s, the
    /// probe and anything else of the run at once), then removes the rest of the run by label.
    pub async fn teardown(mut self) -> Result<GcReport, RunError> {
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

fn status_text(info: &ContainerInspectResponse) -> String {
    let st = info.state.clone().unwrap_or_default();
    let status = st
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut t = format!("status {status}");
    if matches!(
        st.status,
        Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD)
    ) {
        t.push_str(&format!(", exit code {}", st.exit_code.unwrap_or(-1)));
    }
    t.push_str(&format!(", OOMKilled {}", st.oom_killed.unwrap_or(false)));
    if let Some(n) = info.restart_count.filter(|n| *n > 0) {
        t.push_str(&format!(", restarted {n} times"));
    }
    if let Some(h) = st.health.as_ref().and_then(|h| h.status) {
        t.push_str(&format!(", health {h}"));
    }
    t
}

fn last_health_output(info: &ContainerInspectResponse) -> Option<String> {
    let log = info.state.as_ref()?.health.as_ref()?.log.as_ref()?;
    let last = log.last()?;
    let out = last.output.as_deref()?.trim();
    (!out.is_empty()).then(|| out.lines().last().unwrap_or(out).to_string())
}

/// The line of a log that says why a process stopped: the last non-empty line; for JSON log
/// lines, their message and error fields. Capped at 300 characters.
pub fn cause_line(logs: &str) -> Option<String> {
    let line = logs.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let text = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) if v.is_object() => {
            let parts: Vec<String> = ["msg", "message", "error", "err", "detail"]
                .iter()
                .filter_map(|k| v.get(*k))
                .map(|f| {
                    f.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| f.to_string())
                })
                .collect();
            if parts.is_empty() {
                line.to_string()
            } else {
                parts.join(": ")
            }
        }
        _ => line.to_string(),
    };
    Some(text.chars().take(300).collect())
}

/// Largest secret or config file copied into a container.
const MAX_COPIED_FILE: u64 = 1024 * 1024;

/// Binds re-checked after resolving symlinks: the source must stay inside the submission.
/// A missing source directory is created inside the submission (as Docker would).
fn check_binds(root: &Path, spec: &ContainerSpec) -> Result<(), Failure> {
    let Ok(root) = root.canonicalize() else {
        return if spec.bind_sources.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(
                "the submission directory is gone; binds cannot be checked",
            ))
        };
    };
    for src in &spec.bind_sources {
        if !src.exists() {
            // Create only when the nearest existing ancestor is inside the root.
            let mut anc = src.as_path();
            while !anc.exists() {
                anc = anc.parent().unwrap_or(Path::new("/"));
            }
            let inside = anc.canonicalize().is_ok_and(|a| a.starts_with(&root));
            if !inside || std::fs::create_dir_all(src).is_err() {
                return Err(Failure::new(format!(
                    "service `{}`: bind source {} cannot be created inside the submission",
                    spec.service,
                    src.display()
                )));
            }
        }
        match src.canonicalize() {
            Ok(real) if real.starts_with(&root) => {}
            _ => {
                return Err(Failure::new(format!(
                "service `{}`: bind source {} leaves the submission directory (through a symlink)",
                spec.service,
                src.display()
            )))
            }
        }
    }
    Ok(())
}

/// The tar of every file to copy into `spec`'s container, rooted at `/`.
fn files_tar(root: &Path, spec: &ContainerSpec) -> Result<Option<Vec<u8>>, Failure> {
    if spec.files.is_empty() {
        return Ok(None);
    }
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut builder = tar::Builder::new(Vec::new());
    for f in &spec.files {
        let content = match &f.source {
            FileSource::Inline(s) => s.clone().into_bytes(),
            FileSource::Host(p) => read_inside(&real_root, p).map_err(|why| {
                Failure::new(format!(
                    "service `{}`: {} ({}): {why}",
                    spec.service,
                    f.what,
                    p.display()
                ))
            })?,
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(f.mode);
        header.set_uid(f.uid);
        header.set_gid(f.gid);
        header.set_mtime(0);
        let path = PathBuf::from(f.target.trim_start_matches('/'));
        builder
            .append_data(&mut header, &path, content.as_slice())
            .map_err(|e| Failure::new(format!("service `{}`: {}: {e}", spec.service, f.what)))?;
    }
    builder
        .into_inner()
        .map(Some)
        .map_err(|e| Failure::new(format!("service `{}`: {e}", spec.service)))
}

fn read_inside(real_root: &Path, p: &Path) -> Result<Vec<u8>, String> {
    let real = p.canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(real_root) {
        return Err("leaves the submission directory (through a symlink)".into());
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_COPIED_FILE {
        return Err(format!("is larger than {MAX_COPIED_FILE} bytes"));
    }
    std::fs::read(&real).map_err(|e| e.to_string())
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{FileCopy, Limits};

    #[test]
    fn cause_line_reads_json_logs() {
        let logs = "{\"level\":\"info\",\"msg\":\"starting\"}\n{\"level\":\"error\",\"msg\":\"could not connect to the database\",\"error\":\"localhost:5432: connection refused\"}\n\n";
        assert_eq!(
            cause_line(logs).unwrap(),
            "could not connect to the database: localhost:5432: connection refused"
        );
        assert_eq!(cause_line("plain text\nlast line\n").unwrap(), "last line");
        assert_eq!(cause_line("\n \n"), None);
    }

    #[test]
    fn random_hex_is_hex_and_varies() {
        let a = random_hex(2);
        let b = random_hex(2);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    fn spec_with_file(root: &Path, rel: &str) -> ContainerSpec {
        ContainerSpec {
            name: "c".into(),
            service: "db".into(),
            image: "i".into(),
            env: vec![],
            cmd: None,
            entrypoint: None,
            user: None,
            working_dir: None,
            hostname: None,
            healthcheck: None,
            labels: Default::default(),
            mounts: vec![],
            networks: vec![],
            restart_max: None,
            stop_signal: None,
            init: None,
            read_only: None,
            files: vec![FileCopy {
                what: "secret pw".into(),
                source: FileSource::Host(root.join(rel)),
                target: "/run/secrets/pw".into(),
                mode: 0o444,
                uid: 0,
                gid: 0,
            }],
            bind_sources: vec![],
            limits: Limits::default(),
        }
    }

    #[test]
    fn secrets_are_tarred_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "hunter2").unwrap();
        let tar = files_tar(dir.path(), &spec_with_file(dir.path(), "pw.txt"))
            .unwrap()
            .unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("run/secrets/pw"));
        assert_eq!(e.header().mode().unwrap(), 0o444);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut e, &mut s).unwrap();
        assert_eq!(s, "hunter2");
    }

    #[test]
    fn a_secret_symlinked_out_of_the_submission_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("shadow"), "root:x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("shadow"), dir.path().join("pw.txt"))
            .unwrap();
        let err = files_tar(dir.path(), &spec_with_file(dir.path(), "pw.txt")).unwrap_err();
        assert!(
            err.evidence.contains("leaves the submission directory"),
            "{}",
            err.evidence
        );
    }

    #[test]
    fn a_bind_symlinked_out_of_the_submission_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("data")).unwrap();
        let mut spec = spec_with_file(dir.path(), "x");
        spec.files.clear();
        spec.bind_sources = vec![dir.path().join("data")];
        assert!(check_binds(dir.path(), &spec).is_err());
        spec.bind_sources = vec![dir.path().join("fresh/dir")];
        check_binds(dir.path(), &spec).unwrap();
        assert!(
            dir.path().join("fresh/dir").is_dir(),
            "a missing bind source is created inside"
        );
    }
}
