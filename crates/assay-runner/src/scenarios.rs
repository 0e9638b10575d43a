//! The `runtime.*` checks: what runs in the main run (up, health, round-trip, persistence,
//! scale) and in the cold-start run, each turned into a [`CheckResult`] with evidence.

use crate::nominal::{self, NominalStore};
use crate::plan::{self, Limits, PlanInputs};
use crate::probe::PgTarget;
use crate::reaper;
use crate::run::abuse::{Meter, Watch};
use crate::run::Progress;
use crate::run::{
    cause_kind, exclusive_start, holding, mentions_own_cause, random_hex, CauseKind, DbReady,
    Failure, Hooks, Readiness, RunError, Stack, StartTicket, Step,
};
use crate::run::{until_cut, Deadline, CUT_GRACE};
use assay_compose::Project;
use assay_core::display::{self, Masker};
use assay_core::{webapp, CheckId, CheckResult, Diagnostic, SkipKind, Status};
use assay_sandbox::Engine;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The credentials Postgres was initialised with (`POSTGRES_USER`, the password, `POSTGRES_DB`).
#[derive(Clone, PartialEq, Eq)]
pub struct DbCredentials {
    pub user: String,
    /// `None` for `POSTGRES_HOST_AUTH_METHOD=trust`.
    pub password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for DbCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbCredentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .finish()
    }
}

/// Which optional scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenarios {
    pub cold_start: bool,
    pub persistence: bool,
    pub scale: bool,
}

impl Default for Scenarios {
    fn default() -> Self {
        Scenarios {
            cold_start: true,
            persistence: true,
            scale: true,
        }
    }
}

/// Everything [`crate::run_checks`] needs besides the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInputs {
    pub db_service: String,
    pub webapp_service: String,
    pub db_credentials: DbCredentials,
    /// The pristine webapp image (`assay_sandbox::images::webapp_image(rubric)`).
    pub webapp_image: String,
    /// The probe image (`assay_sandbox::images::probe_image()`).
    pub probe_image: String,
    /// `rubric.webapp.default_port`.
    pub webapp_default_port: u16,
    /// Deadline of one run (`--timeout`, default `rubric.runtime.timeout_secs`).
    pub timeout: Duration,
    /// `rubric.runtime.cold_start_pause_secs`.
    pub cold_start_pause: Duration,
    pub limits: Limits,
    /// Budgets over all scenario runs of the submission (the rubric's `limits:`).
    pub budget: assay_core::RunBudget,
    /// Where run locks live (`reaper::default_state_dir()`).
    pub state_dir: PathBuf,
    pub scenarios: Scenarios,
    /// Further values to mask in evidence (the db password is always masked).
    pub secrets: Vec<String>,
    /// Start of every run id (`[a-z0-9]`, default `r`); tests use their own to find leaks.
    pub run_prefix: String,
    /// Where the main run says what it is doing (none: silent).
    pub progress: Option<Progress>,
}

impl RunInputs {
    /// Defaults for everything but the services, credentials and images.
    pub fn new(
        db_service: &str,
        webapp_service: &str,
        db_credentials: DbCredentials,
        webapp_image: &str,
        probe_image: &str,
    ) -> RunInputs {
        RunInputs {
            db_service: db_service.into(),
            webapp_service: webapp_service.into(),
            db_credentials,
            webapp_image: webapp_image.into(),
            probe_image: probe_image.into(),
            webapp_default_port: webapp::DEFAULT_PORT,
            timeout: Duration::from_secs(180),
            cold_start_pause: Duration::from_secs(10),
            limits: Limits::default(),
            budget: assay_core::RunBudget::default(),
            state_dir: reaper::default_state_dir(),
            scenarios: Scenarios::default(),
            secrets: Vec::new(),
            run_prefix: "r".into(),
            progress: None,
        }
    }

    /// Says `line` on [`RunInputs::progress`], if any.
    fn say(&self, line: &str) {
        if let Some(p) = &self.progress {
            p.say(line);
        }
    }

    fn plan_inputs(&self, run_id: &str, project: &Project) -> PlanInputs {
        PlanInputs {
            binds: crate::run::bind_kinds(project),
            run_id: run_id.into(),
            db_service: self.db_service.clone(),
            webapp_service: self.webapp_service.clone(),
            webapp_image: self.webapp_image.clone(),
            probe_image: self.probe_image.clone(),
            webapp_default_port: self.webapp_default_port,
            limits: self.limits.clone(),
            budget: self.budget.clone(),
        }
    }

    fn pg_target(&self) -> PgTarget {
        PgTarget {
            host: self.db_service.clone(),
            port: 5432,
            user: self.db_credentials.user.clone(),
            password: self.db_credentials.password.clone().unwrap_or_default(),
            database: self.db_credentials.database.clone(),
        }
    }

    /// The masker for this submission: the db password, every secret-looking environment
    /// value of the project, and the caller's extras.
    pub fn masker(&self, project: &Project) -> Masker {
        let mut secrets = self.secrets.clone();
        secrets.extend(self.db_credentials.password.clone());
        for s in project.services.values() {
            for (k, v) in &s.environment {
                let k = k.to_ascii_uppercase();
                if ["PASSWORD", "SECRET", "TOKEN", "KEY"]
                    .iter()
                    .any(|w| k.contains(w))
                {
                    secrets.extend(v.value.clone());
                }
                if k.ends_with("_URL") {
                    if let Some(pw) = v.value.as_deref().and_then(url_password) {
                        secrets.push(pw);
                    }
                }
            }
        }
        Masker::new(secrets)
    }
}

/// The password part of `scheme://user:password@host`, percent-decoded.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split(['/', '?', '#']).next()?.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    let bytes = pw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&pw[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned()).filter(|s| !s.is_empty())
}

fn blocked(id: CheckId, why: &str) -> CheckResult {
    CheckResult::blocked(id, why)
}

fn not_run(id: CheckId) -> CheckResult {
    CheckResult::skipped(id, SkipKind::NotRun, "not requested")
}

/// A failed check whose details describe `containers` (state, health log, last log lines).
async fn failed_at(
    stack: &Stack<'_>,
    id: CheckId,
    f: Failure,
    containers: &[(String, String)],
) -> CheckResult {
    let details = stack.details(containers).await;
    failed(id, f, details)
}

fn failed(id: CheckId, f: Failure, details: Vec<Diagnostic>) -> CheckResult {
    let mut all = f.details;
    all.extend(details);
    CheckResult::fail(id, f.evidence)
        .at_opt(f.location)
        .with_details(all)
}

/// Polls `GET /health` on `host` until 200 with the database ok, or the deadline.
async fn healthy(stack: &Stack<'_>, host: &str) -> Step<String> {
    let url = format!(
        "http://{host}:{}{}",
        stack.plan.webapp.port,
        webapp::HEALTH_PATH
    );
    loop {
        let r = stack
            .probe()
            .http("GET", &url, None, stack.probe_limit())
            .await?;
        let last = match r.http_status() {
            Some(200) if webapp::health_says_database_ok(r.body()) => {
                return Ok(Ok(format!(
                    "GET {url} → 200 {}",
                    stack.masker.clean(r.body().trim())
                )))
            }
            Some(s) => format!(
                "GET {url} answered {s}: {}",
                stack.masker.clean(r.body().trim())
            ),
            None => format!(
                "GET {url} failed: {}",
                stack
                    .masker
                    .clean(&r.error().unwrap_or_else(|| "no answer".into()))
            ),
        };
        if Instant::now() >= stack.deadline() {
            return Ok(Err(Failure::new(format!("{last} (deadline reached)"))));
        }
        stack.nap(stack.probe_poll_interval()).await?;
    }
}

/// A nonce stored by the round-trip, for the persistence scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub nonce: String,
    pub id: i64,
}

/// POSTs a fresh nonce, reads it back through the webapp and straight from Postgres.
async fn roundtrip(stack: &Stack<'_>) -> Step<(Stored, String)> {
    let nonce = format!("assay-nonce-{}", random_hex(2));
    let base = format!(
        "http://{}:{}",
        stack.plan.webapp.service, stack.plan.webapp.port
    );
    let notes = format!("{base}{}", webapp::NOTES_PATH);
    let clean = |s: &str| stack.masker.clean(s.trim());
    let limit = stack.probe_limit();
    let post = stack
        .probe()
        .http("POST", &notes, Some(&nonce), limit)
        .await?;
    let id = match post.http_status() {
        Some(201) => webapp::created_note_id(post.body()),
        Some(s) => {
            return Ok(Err(Failure::new(format!(
                "POST {notes} answered {s}: {}",
                clean(post.body())
            ))))
        }
        None => {
            let why = post.error().unwrap_or_default();
            return Ok(Err(Failure::new(format!(
                "POST {notes} failed: {}",
                clean(&why)
            ))));
        }
    };
    let Some(id) = id else {
        let body = clean(post.body());
        return Ok(Err(Failure::new(format!(
            "POST {notes} answered 201 without an id: {body}"
        ))));
    };
    let get = stack
        .probe()
        .http(
            "GET",
            &format!("{base}{}", webapp::note_path(id)),
            None,
            stack.probe_limit(),
        )
        .await?;
    if get.http_status() != Some(200) || get.body() != nonce {
        let status = get
            .http_status()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "no answer".into());
        let what = get.error().unwrap_or_else(|| get.body().to_string());
        return Ok(Err(Failure::new(format!(
            "GET {base}{} did not return the nonce: {status} {}",
            webapp::note_path(id),
            clean(&what)
        ))));
    }
    if let Err(mut f) = read_nonce(stack, &nonce).await? {
        f.evidence = format!(
            "the webapp stored and returned note {id}, but {}",
            f.evidence
        );
        return Ok(Err(f));
    }
    let ev = format!(
        "note {id} POSTed to the webapp, read back through it, and found directly in Postgres \
         ({}, table notes)",
        db_place(&stack.pg)
    );
    Ok(Ok((Stored { nonce, id }, ev)))
}

/// `user@host:port/database` for evidence; user and database come from the candidate's compose
/// file.
fn db_place(pg: &PgTarget) -> String {
    format!(
        "{}@{}:{}/{}",
        display::value(&pg.user),
        pg.host,
        pg.port,
        display::value(&pg.database)
    )
}

/// Looks the nonce up in `notes.body` with the credentials the db was initialised with.
async fn read_nonce(stack: &Stack<'_>, nonce: &str) -> Step {
    let pg = &stack.pg;
    let r = stack
        .probe()
        .pg(pg, Some(nonce), stack.probe_limit())
        .await?;
    let place = db_place(pg);
    match r.nonce_found() {
        Some(true) => Ok(Ok(())),
        Some(false) => Ok(Err(Failure::new(format!(
            "the nonce is not in table notes of {place}: the webapp does not write to the database the db service was initialised with"
        )))),
        None => Ok(Err(Failure::new(format!(
            "reading the nonce from {place} failed: {}",
            stack.masker.clean(&r.error().unwrap_or_else(|| r.answer_text()))
        )))),
    }
}

/// `runtime.persistence`: remove and recreate the db container (volumes kept), read the nonce.
async fn persistence(stack: &Stack<'_>, stored: &Stored) -> Step<String> {
    let Some(db) = stack.plan.service(&stack.plan.db_service).cloned() else {
        return Ok(Err(Failure::new("no db service in the plan")));
    };
    for c in &db.containers {
        stack
            .engine()
            .stop_container(&c.name, c.limits.stop_grace)
            .await?;
        stack.engine().remove_container(&c.name).await?;
    }
    // A db start like any other: admitted, with the slot held until the db is ready, so it
    // does not start beside an exclusive start (the wait moves the deadline).
    let restarted = async {
        for c in &db.containers {
            if let Err(f) = stack.create_and_start(c).await? {
                return Ok(Err(f));
            }
        }
        let readiness = stack.up_readiness(&db.name);
        for c in &db.containers {
            for r in [readiness.clone(), Readiness::Postgres(stack.pg.clone())] {
                if let Err(mut f) = stack.wait_ready(&c.name, &db.name, &r).await? {
                    f.evidence = format!("after the db container was recreated: {}", f.evidence);
                    return Ok(Err(f));
                }
            }
        }
        Ok(Ok(()))
    };
    let restarted: Step = holding(stack.admit().await?, restarted).await;
    if let Err(f) = restarted? {
        return Ok(Err(f));
    }
    match read_nonce(stack, &stored.nonce).await? {
        Ok(()) => Ok(Ok(format!(
            "after removing and recreating the db container (volumes kept), note {} is still in Postgres",
            stored.id
        ))),
        Err(mut f) => {
            if f.evidence.contains("is not in table notes") || f.evidence.contains("does not exist") {
                f.evidence = format!(
                    "after removing and recreating the db container (volumes kept), note {} is gone: the Postgres data is not on a volume",
                    stored.id
                );
            } else {
                f.evidence = format!("after recreating the db container: {}", f.evidence);
            }
            Ok(Err(f))
        }
    }
}

/// Why compose itself could not run two replicas of the webapp, if it could not.
fn unscalable(project: &Project, webapp: &str) -> Option<Failure> {
    let s = project.services.get(webapp)?;
    if let Some(n) = &s.container_name {
        let mut f = Failure::new(format!(
            "the webapp has container_name `{}`: a second replica cannot be created (the name is taken)",
            n.value
        ));
        f.location = Some(n.location.clone());
        return Some(f);
    }
    let fixed = s.ports.iter().find(|p| {
        p.value
            .published
            .as_deref()
            .is_some_and(|h| !h.is_empty() && !h.contains('-') && h != "0")
    })?;
    let mut f = Failure::new(format!(
        "the webapp publishes fixed host port {}: a second replica cannot bind it",
        fixed.value.published.clone().unwrap_or_default()
    ));
    f.location = Some(fixed.location.clone());
    Some(f)
}

/// `runtime.scale`: two webapp replicas, each answering `/health` with the database ok.
async fn scale(stack: &Stack<'_>) -> Step<String> {
    let Some(web) = stack.plan.service(&stack.plan.webapp.service).cloned() else {
        return Ok(Err(Failure::new("no webapp service in the plan")));
    };
    let mut replicas = web.containers.clone();
    if replicas.len() < 2 {
        let extra = web.containers[0].replica(2);
        if let Err(f) = stack.create_and_start(&extra).await? {
            return Ok(Err(f));
        }
        replicas.push(extra);
    }
    let mut seen = Vec::new();
    for c in &replicas {
        if let Err(mut f) = healthy(stack, &c.name).await? {
            f.evidence = format!("replica {}: {}", c.name, f.evidence);
            return Ok(Err(f));
        }
        seen.push(c.name.clone());
    }
    Ok(Ok(format!(
        "{} webapp replicas answer /health with the database ok: {}",
        seen.len(),
        seen.join(", ")
    )))
}

/// What one run produced.
struct Outcome {
    results: Vec<CheckResult>,
    up_failed: bool,
    db: DbRun,
    /// What the plan changed from the compose file (notes for `runtime.up`).
    plan_notes: Vec<Diagnostic>,
}

/// What each run of one grading saw of its db.
#[derive(Debug, Clone, Default)]
struct Timings {
    main: Option<DbRun>,
    cold: Option<DbRun>,
}

/// What a run saw of its db and its start, for the re-run decision and the notes.
#[derive(Debug, Clone)]
struct DbRun {
    ready: DbReady,
    image_id: Option<String>,
    queued: Duration,
}

/// Everything that happens inside the main run, in order; each failure blocks what needs it.
async fn main_steps(
    stack: &mut Stack<'_>,
    inputs: &RunInputs,
    project: &Project,
    hooks: &Hooks,
) -> Result<Outcome, RunError> {
    use CheckId::*;
    let mut results = Vec::new();
    let containers = stack.service_containers();
    stack.set_progress(inputs.progress.clone());
    let up = stack.up(hooks).await?;
    let db = DbRun {
        ready: stack.db_ready().await,
        image_id: stack.db_image_id(),
        queued: stack.queued(),
    };
    if let Err(f) = up {
        results.push(failed_at(stack, RuntimeUp, f, &containers).await);
        // What requires runtime.up (`CheckId::requires`); cold-start is its own run, below.
        for id in RuntimeUp.dependents().filter(|id| *id != RuntimeColdStart) {
            results.push(blocked(id, "runtime.up failed"));
        }
        return Ok(Outcome {
            results,
            up_failed: true,
            db,
            plan_notes: stack.plan.notes.clone(),
        });
    }
    let names: Vec<String> = stack.plan.services.iter().map(|s| s.name.clone()).collect();
    results.push(CheckResult::pass(
        RuntimeUp,
        format!("every service became ready: {}", names.join(", ")),
    ));

    inputs.say("health: GET /health on the webapp through the probe");
    let health = healthy(stack, &stack.plan.webapp.service.clone()).await?;
    let health_ok = health.is_ok();
    match health {
        Ok(ev) => results.push(CheckResult::pass(RuntimeHealth, ev)),
        Err(f) => {
            results.push(failed_at(stack, RuntimeHealth, f, &containers).await);
        }
    }
    let stored = if health_ok {
        inputs.say("round-trip: a note through the webapp, read back and found in Postgres");
        match roundtrip(stack).await? {
            Ok((stored, ev)) => {
                results.push(CheckResult::pass(RuntimeRoundtrip, ev));
                Some(stored)
            }
            Err(f) => {
                results.push(failed_at(stack, RuntimeRoundtrip, f, &containers).await);
                None
            }
        }
    } else {
        results.push(RuntimeRoundtrip.blocked_behind_first());
        None
    };

    if !inputs.scenarios.persistence {
        results.push(not_run(RuntimePersistence));
    } else if let Some(stored) = &stored {
        inputs.say("persistence: the db recreated, the note read again");
        match persistence(stack, stored).await? {
            Ok(ev) => results.push(CheckResult::pass(RuntimePersistence, ev)),
            Err(f) => {
                results.push(failed_at(stack, RuntimePersistence, f, &containers).await);
            }
        }
    } else {
        results.push(RuntimePersistence.blocked_behind_first());
    }

    if !inputs.scenarios.scale {
        results.push(not_run(RuntimeScale));
    } else if let Some(f) = unscalable(project, &inputs.webapp_service) {
        results.push(failed(RuntimeScale, f, Vec::new()));
    } else if health_ok {
        inputs.say("scale: a second webapp replica");
        match scale(stack).await? {
            Ok(ev) => results.push(CheckResult::pass(RuntimeScale, ev)),
            Err(f) => {
                let mut all = containers.clone();
                if let Some(web) = stack.plan.service(&stack.plan.webapp.service) {
                    let extra = web.containers[0].replica(2).name;
                    if !all.iter().any(|(_, n)| *n == extra) {
                        all.push((web.name.clone(), extra));
                    }
                }
                results.push(failed_at(stack, RuntimeScale, f, &all).await);
            }
        }
    } else {
        results.push(RuntimeScale.blocked_behind_first());
    }
    Ok(Outcome {
        results,
        up_failed: false,
        db,
        plan_notes: stack.plan.notes.clone(),
    })
}

/// The cold-start run: the db is paused right after it starts; the stack must still converge
/// and round-trip.
async fn cold_steps(
    stack: &mut Stack<'_>,
    pause: Duration,
) -> Result<(CheckResult, DbRun), RunError> {
    let id = CheckId::RuntimeColdStart;
    let containers = stack.service_containers();
    let secs = pause.as_secs();
    let up = stack
        .up(&Hooks {
            pause_db_for: Some(pause),
            ..Hooks::default()
        })
        .await?;
    let step = match up {
        Ok(()) => match healthy(stack, &stack.plan.webapp.service.clone()).await? {
            Ok(_) => roundtrip(stack).await?.map(|_| ()),
            Err(f) => Err(f),
        },
        Err(f) => Err(f),
    };
    let db = DbRun {
        ready: stack.db_ready().await,
        image_id: stack.db_image_id(),
        queued: stack.queued(),
    };
    // Say how the db was really held back: paused, or cut off when the freezer refused.
    let held = if stack.held_back_note().is_some() {
        "cut off from its networks"
    } else {
        "paused"
    };
    let result = match step {
        Ok(()) => CheckResult::pass(
            id,
            format!("with the db {held} for {secs} s right after it started, the stack converged and round-tripped a note"),
        ),
        Err(mut f) => {
            f.evidence = format!("with the db {held} for {secs} s right after it started: {}", f.evidence);
            failed_at(stack, id, f, &containers).await
        }
    };
    let result = match stack.held_back_note() {
        Some(note) => {
            let mut r = result;
            r.details.push(Diagnostic::warning(note));
            r
        }
        None => result,
    };
    Ok((result, db))
}

/// Sets a run up, runs `steps`, and tears down whatever happened. With `ticket` (a share of
/// an exclusive start), the run's start does not wait for a slot of its own.
async fn with_stack<'e, T>(
    engine: &'e Engine,
    project: &Project,
    inputs: &RunInputs,
    cancel: CancellationToken,
    watch: &Watch,
    ticket: Option<StartTicket>,
    steps: impl for<'s> AsyncFnOnce(&'s mut Stack<'e>) -> Result<T, RunError>,
) -> Result<Result<T, Vec<Diagnostic>>, RunError> {
    let run_id = format!("{}{}", inputs.run_prefix, &random_hex(1)[..10]);
    let plan = match plan::plan(project, &inputs.plan_inputs(&run_id, project)) {
        Ok(p) => p,
        Err(d) => return Ok(Err(d)),
    };
    let masker = inputs.masker(project);
    let deadline = Deadline {
        timeout: inputs.timeout,
    };
    let started = Instant::now();
    let setup = Stack::setup(
        engine,
        plan,
        &inputs.state_dir,
        deadline.waits_end(),
        cancel,
        masker,
        inputs.pg_target(),
    );
    // Setup (networks, volumes, copies) is under the one deadline too: a cut setup is
    // dropped, and the run's guard removes what it created.
    let cut_at = started + deadline.waits_end() + CUT_GRACE;
    let mut stack = match tokio::time::timeout_at(cut_at.into(), Box::pin(setup)).await {
        Ok(s) => s?,
        Err(_) => {
            return Ok(Err(vec![Diagnostic::error(format!(
                "{CUT} ({} s, teardown included) while creating its networks and volumes; it was stopped",
                inputs.timeout.as_secs()
            ))]))
        }
    };
    if let Some(t) = ticket {
        stack.pre_admit(t);
    }
    watch.register(
        &stack.plan.run_id,
        Some(Meter {
            container: stack.plan.probe.name.clone(),
            volumes: stack.plan.volumes.iter().map(|v| v.name.clone()).collect(),
        }),
    );
    let cell = stack.deadline_cell();
    // Boxed: a run's steps are a large future.
    let result = match until_cut(&cell, Box::pin(steps(&mut stack))).await {
        Some(Err(e)) if e.is_unreachable() => {
            // Teardown would only hang too; the stale lock file hands the run to the sweep.
            stack.abandon();
            return Err(e);
        }
        Some(other) => other.map(Ok),
        None => Ok(Err(format!(
            "{CUT} ({} s, teardown included) while {}; it was stopped and torn down",
            inputs.timeout.as_secs(),
            stack.phase()
        ))),
    };
    watch.finish_run(engine, &stack.plan.run_id).await;
    stack.say("tearing down: the run's containers, networks and volumes");
    let torn = stack.teardown().await;
    let value = result?;
    torn?;
    Ok(value.map_err(|cut| vec![Diagnostic::error(cut)]))
}

/// `up` (a failed `runtime.up`) and every other runtime check blocked for `why`.
fn up_failed(up: CheckResult, why: &str) -> Vec<CheckResult> {
    use CheckId::*;
    let mut results = vec![up];
    results.extend(RuntimeUp.dependents().map(|id| blocked(id, why)));
    results
}

/// How the finding of a run cut at its deadline starts.
const CUT: &str = "the run reached its deadline";

/// Turns what the watch saw into `runtime.up`'s finding: a service that abused the host fails
/// it (the service, what it did and the figure; the first abuse heads the evidence), and
/// smaller signs become notes for the reviewer.
fn judge_abuse(up: &mut CheckResult, watch: &Watch) {
    let (abuses, notes) = watch.verdict();
    if let Some(first) = abuses.first() {
        let more = match abuses.len() {
            1 => String::new(),
            n => format!(
                " (and {} more abuse{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        let evidence = format!("the stack abused the grading host: {}{more}", first.what);
        if up.status == Status::Pass {
            up.status = Status::Fail;
            up.evidence = evidence;
        } else {
            up.details.insert(0, Diagnostic::error(evidence));
        }
        up.details
            .extend(abuses.iter().map(|a| Diagnostic::error(a.what.clone())));
    }
    up.details.extend(notes.into_iter().map(as_note));
}

/// A sign the watch saw, as a note every report format shows (the report lifts warnings of
/// the runtime checks into its notes).
fn as_note(d: Diagnostic) -> Diagnostic {
    Diagnostic::warning(d.message)
}

/// Whether a `runtime.up` failure may come from the grader's load rather than the stack: the
/// database was not reachable yet ([`CauseKind::Timing`], read from the evidence and the first
/// detail). A deadline that passed is not re-run (it is generous: 180 s by default, and a
/// second one would double it). A wrong password, a missing database, an OOM kill or a crash
/// are the stack's own.
fn may_be_timing(up: &CheckResult) -> bool {
    let timing = |t: &str| cause_kind(t) == CauseKind::Timing;
    timing(&up.evidence)
        || (up.details.first().is_some_and(|d| timing(&d.message))
            && !mentions_own_cause(&up.evidence))
}

/// Runs the candidate's stack and returns one result per `runtime.*` check, in report order.
///
/// The verdict must not depend on how busy the grader is (README, "Runtime verdicts and
/// load"): stack starts are admitted a few at a time (module `run::db_ready`); when
/// `runtime.up` or `runtime.cold-start` fails in a way the grader's load can cause
/// ([`may_be_timing`]) and that run's db became ready later than nominal for its image
/// ([`nominal`], known from image preparation), the whole runtime phase is graded again
/// under an exclusive start ([`exclusive_start`]): it waits only for the stacks starting now
/// to have their db ready, and no other stack of this process starts until its own dbs are
/// ready; stacks that are already up keep running beside it. The re-run has a deadline of its
/// own (time spent waiting for that turn does not count); the last grading is the verdict and
/// the notes say so. Gradings without a suspect failure never wait for another's.
pub async fn run_checks(
    engine: &Engine,
    project: &Project,
    inputs: &RunInputs,
    cancel: CancellationToken,
) -> Result<Vec<CheckResult>, RunError> {
    let engine = engine.with_own_retry_log();
    let store = NominalStore::new(&inputs.state_dir);
    let (first, timings) = Box::pin(grade_once(
        &engine,
        project,
        inputs,
        cancel.clone(),
        None,
        Hooks::default(),
    ))
    .await?;
    // The failures the load may have caused, with the db run and the hold that belong to it.
    let pause = inputs.cold_start_pause;
    let suspects = suspects(&first, &timings, pause);
    if suspects.is_empty() {
        return Ok(with_run_notes(
            first,
            Vec::new(),
            &engine,
            &store,
            timings.main.as_ref(),
        ));
    }
    let mut notes = Vec::new();
    let image = suspects.iter().find_map(|(_, db, _)| db.image_id.clone());
    let mut nominal = image.as_deref().and_then(|id| store.get(id));
    if let (None, Some(id)) = (nominal, image.as_deref()) {
        // An image that preparation did not measure (or could not): measured now, under an
        // exclusive start so that nothing else of this process starts beside the samples.
        let (gate, waited) = exclusive_start(&cancel).await?;
        let prepared = Box::pin(nominal::prepare(
            &engine,
            &store,
            id,
            &inputs.limits,
            &inputs.run_prefix,
            false,
        ))
        .await?;
        drop(gate);
        nominal = prepared.as_ref().and_then(|p| p.nominal);
        let taken = prepared.map_or(0, |p| p.samples.len());
        notes.push(format!(
            "the nominal readiness of the db image was not known yet (image preparation measures it): {taken} samples were taken now, after waiting {:.1} s for the stacks starting then ({})",
            waited.as_secs_f64(),
            nominal.map_or_else(
                || "the db did not become ready alone".to_string(),
                |n| format!("{:.1} s", n.as_secs_f64())
            )
        ));
    }
    // Graded again when a suspect's db was late, or when nominal is not known.
    let late = late_suspects(&first, &timings, pause, nominal);
    if late.is_empty() {
        let mut first = first;
        for (id, db, held) in &suspects {
            if let Some(r) = first.iter_mut().find(|r| r.id == *id) {
                r.details.push(Diagnostic::warning(format!(
                    "{id} was not graded again: {}, so the failure is not the grader's load",
                    lateness(db.ready, *held, nominal)
                )));
            }
        }
        return Ok(with_run_notes(
            first,
            notes,
            &engine,
            &store,
            timings.main.as_ref(),
        ));
    }
    // Graded again under an exclusive start; something outside assay may still load the
    // host, so a run whose db is late again is graded once more, up to MAX_GRADINGS in all.
    let suspect_ids: Vec<CheckId> = suspects.iter().map(|(id, _, _)| *id).collect();
    let mut reasons = vec![late.join("; ")];
    let mut waits = Vec::new();
    let mut graded = 1;
    // The last re-run after a late db again: the load is not assay's own, so the webapp meets
    // the db as it would at nominal speed, when that is decidable (see `pace_webapp`).
    let window = webapp_connect_window(project, inputs);
    let mut paced = None;
    let (last, last_timings) = loop {
        inputs.say(&format!(
            "graded again (a failure the grader's load can cause, with the db later than nominal): waiting for the stacks starting now (grading {} of at most {MAX_GRADINGS})",
            graded + 1
        ));
        let (gate, waited) = exclusive_start(&cancel).await?;
        waits.push(format!("{:.1} s", waited.as_secs_f64()));
        let last_try = graded + 1 == MAX_GRADINGS;
        let up_suspect = suspect_ids.contains(&CheckId::RuntimeUp);
        let hold = last_try
            && up_suspect
            && graded > 1
            && pace_webapp(nominal, window)
            && db_starts_as_its_image(project, inputs);
        if hold {
            inputs.say(
                "this run starts the webapp once the db is ready, as an idle grader would meet it",
            );
            paced = Some(format!(
                "the last run started the webapp once the db was ready: at nominal speed the db is ready {:.1} s after it starts, within the webapp's {} s connect window (DB_CONNECT_TIMEOUT_SECS), so on an idle grader the webapp meets a ready db",
                nominal.unwrap_or_default().as_secs_f64(),
                window.as_secs()
            ));
        }
        let (results, t) = Box::pin(grade_once(
            &engine,
            project,
            inputs,
            cancel.clone(),
            Some(gate),
            Hooks {
                hold_webapp_until_db_ready: hold,
                ..Hooks::default()
            },
        ))
        .await?;
        graded += 1;
        let again = late_suspects(&results, &t, pause, nominal);
        if again.is_empty() || graded >= MAX_GRADINGS {
            break (results, t);
        }
        reasons.push(again.join("; "));
    };
    let outcome: Vec<String> = suspect_ids
        .iter()
        .map(|id| {
            let st = last
                .iter()
                .find(|r| r.id == *id)
                .map(|r| r.status.to_string())
                .unwrap_or_default();
            format!("{id} {st}")
        })
        .collect();
    let times = match graded {
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    notes.push(format!(
        "the runtime phase was graded {times}: a run failed in a way the grader's load can cause, with the db later than nominal ({}); graded again with no other stack of this assay starting until its dbs were ready (after waiting {} for the stacks starting then to have their db ready, not counted against the deadline){}: {}. The last run is the verdict.",
        reasons.join(" | "),
        waits.join(", "),
        paced.map(|p| format!("; {p}")).unwrap_or_default(),
        outcome.join(", ")
    ));
    Ok(with_run_notes(
        last,
        notes,
        &engine,
        &store,
        last_timings.main.as_ref(),
    ))
}

/// The failures of `results` the load may have caused ([`may_be_timing`]), each with what its
/// run saw of its db and how long that db was held back first.
fn suspects(
    results: &[CheckResult],
    timings: &Timings,
    pause: Duration,
) -> Vec<(CheckId, DbRun, Duration)> {
    [
        (CheckId::RuntimeUp, timings.main.as_ref(), Duration::ZERO),
        (CheckId::RuntimeColdStart, timings.cold.as_ref(), pause),
    ]
    .into_iter()
    .filter_map(|(id, db, held)| {
        let r = results.iter().find(|r| r.id == id)?;
        let db = db?.clone();
        (r.status == Status::Fail && may_be_timing(r)).then_some((id, db, held))
    })
    .collect()
}

/// Most gradings of one submission's runtime phase (the first and its re-runs).
const MAX_GRADINGS: usize = 3;

/// How long the handout webapp tries to connect to the database at start: its
/// `DB_CONNECT_TIMEOUT_SECS` as the compose file sets it, else its default of 5 s.
fn webapp_connect_window(project: &Project, inputs: &RunInputs) -> Duration {
    let secs = project
        .services
        .get(&inputs.webapp_service)
        .and_then(|s| {
            s.environment
                .get(assay_core::webapp::DB_CONNECT_TIMEOUT_SECS)
        })
        .and_then(|v| v.value.as_deref())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(assay_core::webapp::DEFAULT_DB_CONNECT_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// True when the db service starts as its image does — no entrypoint of its own, no init
/// scripts, a command that is at most `postgres` with server settings — so that its readiness
/// on an idle grader is the image's nominal one. A db that sleeps, waits or runs scripts
/// first is slow by its own design, which holding the webapp must not excuse.
fn db_starts_as_its_image(project: &Project, inputs: &RunInputs) -> bool {
    let Some(db) = project.services.get(&inputs.db_service) else {
        return false;
    };
    if db.entrypoint.is_some() {
        return false;
    }
    if db.volumes.iter().any(|m| {
        m.value
            .target
            .trim_end_matches('/')
            .starts_with("/docker-entrypoint-initdb.d")
    }) {
        return false;
    }
    let Some(cmd) = db.command.as_ref() else {
        return true;
    };
    let mut args = cmd.value.iter();
    if args.next().map(String::as_str) != Some("postgres") {
        return false;
    }
    while let Some(a) = args.next() {
        let setting = if a == "-c" {
            args.next().map(String::as_str)
        } else {
            a.strip_prefix("-c").or_else(|| a.strip_prefix("--"))
        };
        if !setting.is_some_and(|kv| kv.contains('=')) {
            return false;
        }
    }
    true
}

/// The margin by which nominal readiness must beat the webapp's connect window for the
/// outcome at nominal speed to count as decided (the webapp's own start takes a moment).
const PACE_MARGIN: Duration = Duration::from_secs(1);

/// True when, at nominal speed, the db is ready well within the webapp's connect window: a
/// webapp started beside it meets a ready db on an idle grader, so holding the webapp until
/// the db is ready reproduces that outcome on a loaded one. When nominal is near or past the
/// window the idle outcome is not decided by holding anything, and the run is left as it is.
fn pace_webapp(nominal: Option<Duration>, window: Duration) -> bool {
    nominal.is_some_and(|n| n + PACE_MARGIN <= window)
}

/// The failures of `results` the load may have caused whose db was late (or whose nominal is
/// unknown), each described: what failed, and how its db compared with nominal.
fn late_suspects(
    results: &[CheckResult],
    timings: &Timings,
    pause: Duration,
    nominal: Option<Duration>,
) -> Vec<String> {
    suspects(results, timings, pause)
        .into_iter()
        .filter(|(_, db, held)| nominal.is_none_or(|n| nominal::db_was_late(db.ready, *held, n)))
        .filter_map(|(id, db, held)| {
            let r = results.iter().find(|r| r.id == id)?;
            Some(format!(
                "{id} ({}; {})",
                r.evidence,
                lateness(db.ready, held, nominal)
            ))
        })
        .collect()
}

/// How a run's db compared with nominal, in words.
fn lateness(seen: DbReady, held: Duration, nominal: Option<Duration>) -> String {
    let held_note = if held.is_zero() {
        String::new()
    } else {
        format!(" (held back {} s first)", held.as_secs())
    };
    let n = nominal
        .map(|n| format!("nominal for its image here is {:.1} s", n.as_secs_f64()))
        .unwrap_or_else(|| "its nominal time could not be measured".into());
    match seen {
        DbReady::After(d) => format!(
            "the db was ready {:.1} s after it started{held_note}; {n}",
            d.as_secs_f64()
        ),
        DbReady::NotYet(d) => format!(
            "the db was not ready yet {:.1} s after it started{held_note}; {n}",
            d.as_secs_f64()
        ),
        DbReady::Unknown => format!("the db's readiness could not be read from its log; {n}"),
    }
}

/// Adds to `runtime.up` what a reviewer should know of how the run went on this grader: how
/// it was graded (`grading`: re-runs and why, or why not; warnings, which the report lifts
/// into its notes), each transient daemon error it recovered from, time it waited to start,
/// and a db slower than nominal.
fn with_run_notes(
    mut results: Vec<CheckResult>,
    grading: Vec<String>,
    engine: &Engine,
    store: &NominalStore,
    db: Option<&DbRun>,
) -> Vec<CheckResult> {
    let Some(up) = results.iter_mut().find(|r| r.id == CheckId::RuntimeUp) else {
        return results;
    };
    up.details
        .extend(grading.into_iter().map(Diagnostic::warning));
    for l in engine.retry_log().lines() {
        up.details.push(Diagnostic::warning(format!(
            "a transient Docker error was retried: {l}"
        )));
    }
    if let Some(db) = db {
        if db.queued >= Duration::from_secs(1) {
            up.details.push(Diagnostic::info(format!(
                "the stack waited {:.1} s for a start slot (at most {} stacks start at once on this grader); that time is not counted against the deadline",
                db.queued.as_secs_f64(),
                crate::run::admission_slots()
            )));
        }
        let nominal = db.image_id.as_deref().and_then(|id| store.get(id));
        if let (DbReady::After(r), Some(n)) = (db.ready, nominal) {
            if nominal::late(r, n) {
                up.details.push(Diagnostic::info(format!(
                    "the db became ready {:.1} s after it started; nominal for its image on this grader is {:.1} s, measured with no other stack starting beside the db",
                    r.as_secs_f64(),
                    n.as_secs_f64()
                )));
            }
        }
    }
    results
}

/// One grading of the runtime phase: the main run and the cold-start run side by side.
///
/// With `gate` (an exclusive start), both runs start on shares of it; it is released once
/// each has its db ready.
async fn grade_once(
    engine: &Engine,
    project: &Project,
    inputs: &RunInputs,
    cancel: CancellationToken,
    gate: Option<StartTicket>,
    main_hooks: Hooks,
) -> Result<(Vec<CheckResult>, Timings), RunError> {
    use CheckId::*;
    let main_gate = gate.clone();
    let cold_gate = gate.filter(|_| inputs.scenarios.cold_start);
    // The sweep only touches dead runs, so it runs alongside this one.
    let sweep = reaper::sweep(engine, &inputs.state_dir, reaper::SweepMode::Dead);
    // Both runs obey the watch: a crossed budget stops them (module `run::abuse`).
    let watch = Watch::new(
        inputs.budget.clone(),
        vec![inputs.db_service.clone(), inputs.webapp_service.clone()],
        cancel.child_token(),
    );
    let stop = watch.stop_token();
    let cold_cancel = stop.child_token();
    let main = async {
        let r = with_stack(
            engine,
            project,
            inputs,
            stop.clone(),
            &watch,
            main_gate,
            async |s: &mut Stack<'_>| main_steps(s, inputs, project, &main_hooks).await,
        )
        .await;
        if !matches!(&r, Ok(Ok(o)) if !o.up_failed) {
            cold_cancel.cancel();
        }
        r
    };
    let cold = async {
        if !inputs.scenarios.cold_start {
            return Ok(Ok((not_run(RuntimeColdStart), None)));
        }
        let pause = inputs.cold_start_pause;
        with_stack(
            engine,
            project,
            inputs,
            cold_cancel.clone(),
            &watch,
            cold_gate,
            async |s: &mut Stack<'_>| cold_steps(s, pause).await.map(|(r, d)| (r, Some(d))),
        )
        .await
    };
    // Boxed: a run's future is large, and both live side by side; the watch samples them
    // until both are torn down.
    let runs = async { tokio::join!(sweep, Box::pin(main), Box::pin(cold)) };
    let (swept, main, cold) = tokio::select! {
        r = runs => r,
        _ = Box::pin(watch.watch(engine)) => unreachable!("the watch samples until the runs end"),
    };
    if let Err(e) = swept {
        if e.is_unreachable() {
            return Err(e.into());
        }
    }
    if cancel.is_cancelled() {
        return Err(RunError::Cancelled);
    }
    if let Some(crossed) = watch.crossed() {
        let (abuses, notes) = watch.verdict();
        let mut details: Vec<Diagnostic> = abuses
            .iter()
            .map(|a| Diagnostic::error(a.what.clone()))
            .collect();
        details.extend(notes.into_iter().map(as_note));
        // What the plan changed (the budget's split, floors) holds for the stopped runs too.
        if let Ok(p) = plan::plan(project, &inputs.plan_inputs("notes", project)) {
            details.extend(p.notes);
        }
        let results = up_failed(
            failed(RuntimeUp, crossed, details),
            "the runs were stopped: a grading budget was crossed",
        );
        return Ok((results, Timings::default()));
    }
    let outcome = match main? {
        Ok(o) => o,
        Err(diags) => {
            let first = diags
                .first()
                .map(|d| display::terminal_line(&d.to_string()))
                .unwrap_or_default();
            let evidence = if first.starts_with(CUT) {
                first
            } else {
                format!("the project cannot be run: {first}")
            };
            let results = up_failed(
                CheckResult::fail(RuntimeUp, evidence).with_details(diags),
                "runtime.up failed",
            );
            return Ok((results, Timings::default()));
        }
    };
    let (cold, cold_db) = if outcome.up_failed {
        (RuntimeColdStart.blocked_behind_first(), None)
    } else {
        match cold {
            Ok(Ok(r)) => r,
            // The plan was accepted for the main run, so this is the run cut at its deadline.
            Ok(Err(d)) => {
                let why = d.first().map(|d| d.message.clone()).unwrap_or_default();
                (
                    CheckResult::fail(RuntimeColdStart, why).with_details(d),
                    None,
                )
            }
            Err(RunError::Cancelled) => (RuntimeColdStart.blocked_behind_first(), None),
            Err(e) => return Err(e),
        }
    };
    let mut results = outcome.results;
    if let Some(up) = results.iter_mut().find(|r| r.id == RuntimeUp) {
        up.details.extend(outcome.plan_notes);
        judge_abuse(up, &watch);
    }
    results.push(cold);
    results.sort_by_key(|r| r.id);
    Ok((
        results,
        Timings {
            main: Some(outcome.db),
            cold: cold_db,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_inputs() -> RunInputs {
        RunInputs::new(
            "db",
            "webapp",
            DbCredentials {
                user: "app".into(),
                password: None,
                database: "notes".into(),
            },
            "w",
            "p",
        )
    }

    #[test]
    fn the_webapp_is_held_only_when_nominal_speed_decides_the_race() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert!(pace_webapp(Some(ms(3600)), s(5)));
        assert!(pace_webapp(Some(s(4)), s(5)));
        assert!(!pace_webapp(Some(ms(4200)), s(5)), "too close to call");
        assert!(!pace_webapp(Some(s(7)), s(5)), "fails at nominal speed too");
        assert!(!pace_webapp(None, s(5)), "nominal unknown");
        assert!(pace_webapp(Some(s(7)), s(30)));
    }

    #[test]
    fn only_a_db_that_starts_as_its_image_may_have_the_webapp_held() {
        let dir = tempfile::tempdir().unwrap();
        let i = test_inputs();
        let with = |f: &dyn Fn(&mut assay_compose::Service)| {
            let mut p = crate::testkit::good_project(dir.path());
            f(p.services.get_mut("db").unwrap());
            db_starts_as_its_image(&p, &i)
        };
        let cmd = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            move |s: &mut assay_compose::Service| s.command = Some(crate::testkit::l(args.clone()))
        };
        assert!(with(&|_| {}));
        assert!(with(&cmd(&[
            "postgres",
            "-c",
            "shared_buffers=64MB",
            "-cfsync=off",
            "--max_connections=50"
        ])));
        assert!(!with(&cmd(&[
            "sh",
            "-c",
            "sleep 7; exec docker-entrypoint.sh postgres"
        ])));
        assert!(!with(&cmd(&["postgres", "-c"])));
        assert!(!with(&cmd(&["postgres", "--single"])));
        assert!(!with(
            &|s| s.entrypoint = Some(crate::testkit::l(vec!["/slow.sh".into()]))
        ));
        assert!(!with(&|s| s.volumes.push(crate::testkit::named_volume(
            "init",
            "/docker-entrypoint-initdb.d/"
        ))));
    }

    #[test]
    fn the_webapp_connect_window_is_its_env_or_five_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let mut project = crate::testkit::good_project(dir.path());
        let i = test_inputs();
        assert_eq!(webapp_connect_window(&project, &i), Duration::from_secs(5));
        fn web(p: &mut Project) -> &mut assay_compose::Service {
            p.services.get_mut("webapp").unwrap()
        }
        crate::testkit::env(web(&mut project), "DB_CONNECT_TIMEOUT_SECS", " 30 ");
        assert_eq!(webapp_connect_window(&project, &i), Duration::from_secs(30));
        crate::testkit::env(web(&mut project), "DB_CONNECT_TIMEOUT_SECS", "soon");
        assert_eq!(webapp_connect_window(&project, &i), Duration::from_secs(5));
    }

    #[test]
    fn only_failures_the_load_can_cause_are_graded_again() {
        let up = |e: &str| CheckResult::fail(CheckId::RuntimeUp, e);
        assert!(may_be_timing(&up("service `webapp` exited 1: could not connect to the database at db:5432 within 5 s: error connecting to server: Connection refused (os error 111)")));
        assert!(may_be_timing(&up(
            "service `web` exited 1: FATAL:  the database system is starting up"
        )));
        assert!(!may_be_timing(&up("service `webapp` exited 1: could not connect to the database at db:5432 within 5 s: password authentication failed for user \"app\"")));
        assert!(!may_be_timing(&up(
            "service `db` was killed for exceeding its memory limit (OOMKilled, exit 137)"
        )));
        assert!(!may_be_timing(&up(
            "service `db` was not healthy before the deadline (180 s)"
        )));
    }

    #[test]
    fn url_passwords_are_decoded() {
        assert_eq!(
            url_password("postgres://app:p%40ss@db:5432/notes").as_deref(),
            Some("p@ss")
        );
        assert_eq!(url_password("postgres://app@db/notes"), None);
        assert_eq!(url_password("not a url"), None);
        assert_eq!(url_password("postgres://a:b%4@db").as_deref(), Some("b%4"));
    }

    #[test]
    fn masker_covers_env_secrets_and_urls() {
        let root = std::path::Path::new("/s");
        let mut p = crate::testkit::good_project(root);
        crate::testkit::env(
            p.services.get_mut("webapp").unwrap(),
            "API_TOKEN",
            "tok-123",
        );
        let inputs = RunInputs::new(
            "db",
            "webapp",
            DbCredentials {
                user: "app".into(),
                password: Some("pw-x".into()),
                database: "notes".into(),
            },
            "w",
            "p",
        );
        let m = inputs.masker(&p);
        let out = m.clean("s3cret-pw tok-123 pw-x");
        assert_eq!(out, "**** **** ****");
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = DbCredentials {
            user: "u".into(),
            password: Some("hunter2".into()),
            database: "d".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
