//! Readiness strategies, polled under the run's one deadline, and how a stop is described.

use super::cause::{cause_kind, cause_line, settled_refusal, CauseKind};
use super::*;
use crate::evidence::LOG_LINES;
use crate::plan::Condition;
use crate::probe::PgTarget;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use std::time::{Duration, Instant};

/// Restarts after which a service restarting for a cause of its own is judged a loop.
pub const RESTART_LOOP: i64 = 3;

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
    pub(super) fn describe(&self) -> String {
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

    pub(super) fn poll_interval(&self) -> Duration {
        match self {
            Readiness::Running | Readiness::Exited0 => Duration::from_millis(100),
            // Each poll may exec the healthcheck: not too often on a small host.
            Readiness::Healthy => Duration::from_millis(200),
            _ => EXEC_POLL_INTERVAL,
        }
    }
}

/// How often assay runs the db's healthcheck itself before the db's log says its real server
/// is ready ([`Stack::wait_ready`]; after, at every poll).
const HEALTH_TEST_BEFORE_DB_READY: Duration = Duration::from_secs(1);

/// How often a container is looked at while a probe call to it is under way.
const STOP_WATCH: Duration = Duration::from_millis(300);

impl Stack<'_> {
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
                path: assay_core::webapp::HEALTH_PATH.into(),
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
                    (svc.name.clone(), svc.location.clone(), r)
                }
            })
        });
        // The first failure ends the wait (the other polls are dropped); its root cause is
        // the headline.
        let mut pending: futures_util::stream::FuturesUnordered<_> = waits.collect();
        while let Some((service, location, r)) = futures_util::StreamExt::next(&mut pending).await {
            if let Err(mut f) = r? {
                f.location = Some(location);
                drop(pending);
                return self.root_cause(&service, f).await;
            }
        }
        Ok(Ok(()))
    }

    /// Polls `container` until it meets `readiness`, it fails for good, or the deadline passes.
    ///
    /// It fails for good as soon as it cannot come up however long the wait: it exited and
    /// will not be restarted, or it crash-loops ([`Stack::crash_loop`]).
    pub async fn wait_ready(&self, container: &str, service: &str, readiness: &Readiness) -> Step {
        let mut last_probe: Option<String> = None;
        let mut judged_restarts = 0;
        // Restarts counted when the db's real server was first seen ready.
        let mut restarts_at_db_ready: Option<i64> = None;
        // When assay last ran the container's healthcheck itself.
        let last_test = std::sync::Mutex::new(None);
        loop {
            let info = self.engine.inspect_container(container).await?;
            let restarts = info.restart_count.unwrap_or(0);
            if restarts_at_db_ready.is_none() && self.db_ready_known() {
                restarts_at_db_ready = Some(restarts);
            }
            let oom_restarting = info
                .state
                .as_ref()
                .is_some_and(|s| s.oom_killed == Some(true) && s.restarting == Some(true));
            if restarts > judged_restarts || oom_restarting {
                judged_restarts = restarts;
                let since_db_ready = restarts_at_db_ready.map_or(0, |at| restarts - at);
                if let Some(f) = self.crash_loop(service, &info, since_db_ready).await? {
                    return Ok(Err(f));
                }
            }
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
                Readiness::Healthy if health == HealthStatusEnum::HEALTHY => {
                    self.found_healthy(container, &info);
                    return Ok(Ok(()));
                }
                // Found healthy earlier in this run (a dependency before its dependents
                // started) and neither restarted nor recreated since: the same start of the
                // same container, which Docker does not call unhealthy.
                Readiness::Healthy
                    if status == ContainerStateStatusEnum::RUNNING
                        && !paused
                        && health != HealthStatusEnum::UNHEALTHY
                        && self.healthy_before(container, &info) =>
                {
                    return Ok(Ok(()));
                }
                // Docker runs the check once per interval; running the same test ourselves
                // as soon as the container runs finds readiness up to an interval earlier.
                // A pass means exactly what the candidate's healthcheck means.
                Readiness::Healthy
                    if status == ContainerStateStatusEnum::RUNNING
                        && !paused
                        && self.health_test_due(container, &last_test).await
                        && self.health_test_passes(container).await =>
                {
                    self.found_healthy(container, &info);
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
                    let probe = self.probe();
                    let attempt = probe.http("GET", &url, None, self.probe_limit());
                    let Some(r) = self.while_running(container, attempt).await? else {
                        continue;
                    };
                    if r.http_status().is_some() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                Readiness::Postgres(t)
                    if status == ContainerStateStatusEnum::RUNNING && !paused =>
                {
                    let probe = self.probe();
                    let attempt = probe.pg(t, None, self.probe_limit());
                    let Some(r) = self.while_running(container, attempt).await? else {
                        continue;
                    };
                    if r.ok() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                Readiness::Tcp { host, port }
                    if status == ContainerStateStatusEnum::RUNNING && !paused =>
                {
                    let probe = self.probe();
                    let attempt = probe.tcp(host, *port, self.probe_limit());
                    let Some(r) = self.while_running(container, attempt).await? else {
                        continue;
                    };
                    if r.ok() {
                        return Ok(Ok(()));
                    }
                    last_probe = r.error();
                }
                _ => {}
            }
            if Instant::now() >= self.deadline() {
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

    /// `attempt` (a probe call, up to 10 s), given up when `container` stops running first
    /// (`None`): a connection to a container that just exited can hang until the call's time
    /// limit, and the exit is the finding.
    async fn while_running<T, E>(
        &self,
        container: &str,
        attempt: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Option<T>, RunError>
    where
        RunError: From<E>,
    {
        let stopped = async {
            loop {
                tokio::time::sleep(STOP_WATCH).await;
                let running = self
                    .engine
                    .inspect_container(container)
                    .await
                    .ok()
                    .and_then(|i| i.state)
                    .is_some_and(|s| s.running == Some(true) && s.restarting != Some(true));
                if !running {
                    return;
                }
            }
        };
        tokio::select! {
            r = attempt => Ok(Some(r?)),
            _ = stopped => Ok(None),
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

    /// Whether to run `container`'s healthcheck now (see [`Stack::wait_ready`]); if so,
    /// `last_test` becomes now. The db's is run at each poll once its log says the real
    /// server is ready (or the log cannot tell), and at most once a second before: each run
    /// is an exec (processes in the container, work for the daemon) that takes CPU from the
    /// one-time setup, which the test can rarely pass during. Docker's own checks run as
    /// configured, and their status is read at each poll, so a healthcheck that passes
    /// earlier still counts.
    async fn health_test_due(
        &self,
        container: &str,
        last_test: &std::sync::Mutex<Option<Instant>>,
    ) -> bool {
        let is_db = self
            .plan
            .service(&self.plan.db_service)
            .is_some_and(|s| s.containers.iter().any(|c| c.name == container));
        let due = !is_db
            || !matches!(self.db_ready().await, DbReady::NotYet(_))
            || last_test.lock().map_or(true, |t| {
                t.is_none_or(|t: Instant| t.elapsed() >= HEALTH_TEST_BEFORE_DB_READY)
            });
        if due {
            if let Ok(mut t) = last_test.lock() {
                *t = Some(Instant::now());
            }
        }
        due
    }

    /// Which start of `container` `info` shows: its id and start time (a restart changes the
    /// time, a recreation the id).
    fn start_of(info: &ContainerInspectResponse) -> Option<(String, String)> {
        let id = info.id.clone()?;
        let started = info.state.as_ref()?.started_at.clone()?;
        Some((id, started))
    }

    /// Remembers that `container`, in the start `info` shows, was found healthy.
    fn found_healthy(&self, container: &str, info: &ContainerInspectResponse) {
        if let (Some(start), Ok(mut m)) = (Self::start_of(info), self.healthy_in.lock()) {
            m.insert(container.to_string(), start);
        }
    }

    /// Whether `container` was found healthy in the start `info` shows.
    fn healthy_before(&self, container: &str, info: &ContainerInspectResponse) -> bool {
        let Some(start) = Self::start_of(info) else {
            return false;
        };
        self.healthy_in
            .lock()
            .is_ok_and(|m| m.get(container) == Some(&start))
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

    /// Whether a container that Docker restarts will never come up: it was OOM-killed; it is
    /// the db and crashed (Postgres does not exit at start unless it cannot run: a bad
    /// setting, a data directory it refuses); or it restarts for a refusal the db's
    /// configuration settles (a wrong password, no pg_hba.conf entry: [`settled_refusal`]),
    /// judged at its first restart since the next start meets the same refusal; or it
    /// restarted [`RESTART_LOOP`] times for another cause of its own (a missing role another
    /// service may still create, a crash). A service restarting because the db is
    /// not up yet ([`CauseKind::Timing`]) is waiting the compose way — until it restarted
    /// twice more after the db's real server was ready (`since_db_ready`): then it is looking
    /// in the wrong place.
    async fn crash_loop(
        &self,
        service: &str,
        info: &ContainerInspectResponse,
        since_db_ready: i64,
    ) -> Result<Option<Failure>, RunError> {
        let st = info.state.clone().unwrap_or_default();
        let restarts = info.restart_count.unwrap_or(0);
        let oom = st.oom_killed == Some(true);
        let name = info.name.clone().unwrap_or_default();
        let logs = self
            .engine
            .logs_tail(name.trim_start_matches('/'), LOG_LINES)
            .await
            .unwrap_or_default();
        let cause = cause_line(&logs);
        let is_db = service == self.plan.db_service;
        let timing = cause.as_deref().map(cause_kind) == Some(CauseKind::Timing);
        let times = match restarts {
            1 => "once".to_string(),
            n => format!("{n} times"),
        };
        let mut ev = if oom {
            format!("service `{service}` was killed for exceeding its memory limit (OOMKilled, exit {}) and is being restarted (restarted {times})", st.exit_code.unwrap_or(-1))
        } else if is_db && restarts >= 1 {
            format!("service `{service}` crashed and is being restarted (restarted {times})")
        } else if restarts >= 1 && cause.as_deref().is_some_and(settled_refusal) {
            format!("service `{service}` is being restarted for a refusal a restart does not change (restarted {times})")
        } else if restarts >= RESTART_LOOP && !timing {
            format!("service `{service}` restarts in a loop (restarted {times})")
        } else if restarts >= RESTART_LOOP && since_db_ready >= 2 {
            format!("service `{service}` restarts in a loop (restarted {times}, {since_db_ready} of them after the db was ready to accept connections)")
        } else {
            return Ok(None);
        };
        if let Some(cause) = cause {
            ev.push_str(": ");
            ev.push_str(&self.masker.clean(&cause));
        }
        Ok(Some(Failure::new(ev)))
    }

    /// The failure to headline when `failure` of `service` may be timing but the db itself
    /// crashed or stopped: the db's, which is the root cause, with `service`'s kept as a
    /// detail. Otherwise `failure` as it is.
    pub(super) async fn root_cause(&self, service: &str, failure: Failure) -> Step {
        let db = self.plan.db_service.clone();
        if service == db || cause_kind(&failure.evidence) != CauseKind::Timing {
            return Ok(Err(failure));
        }
        let Some(containers) = self.plan.service(&db).map(|s| s.containers.clone()) else {
            return Ok(Err(failure));
        };
        for c in containers {
            let Ok(info) = self.engine.inspect_container(&c.name).await else {
                continue;
            };
            let st = info.state.clone().unwrap_or_default();
            let stopped = matches!(
                st.status,
                Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD)
            );
            let crashed = match self.crash_loop(&db, &info, 0).await? {
                Some(f) => Some(f),
                None if stopped => Some(self.describe_stop(&db, &info).await?),
                None => None,
            };
            if let Some(mut root) = crashed {
                root.location = self.plan.service(&db).map(|s| s.location.clone());
                root.details.push(assay_core::Diagnostic::info(format!(
                    "then: {}",
                    failure.evidence
                )));
                return Ok(Err(root));
            }
        }
        Ok(Err(failure))
    }

    /// A failure saying how a container ended, with the cause from its last log line.
    pub(super) async fn describe_stop(
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
}

pub(super) fn status_text(info: &ContainerInspectResponse) -> String {
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
