//! The runtime phase of `assay evaluate`: connect to Docker once per batch, prepare the images,
//! and run each submission's stack in the sandbox (`assay-runner`).

use crate::error::Error;
use crate::say::Say;
use assay_core::{CheckId, CheckResult, Rubric};
use assay_runner::{run_checks, CancellationToken, DbCredentials, RunInputs};
use assay_sandbox::Engine;
use std::time::Duration;

/// What every runtime phase of a batch shares: one async runtime, one engine, one cancel token
/// (Ctrl-C / SIGTERM tear every run down before assay exits).
pub struct RuntimeCtx {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    cancel: CancellationToken,
    /// The engine's version, for every report's provenance.
    docker: Option<crate::report::DockerVersion>,
    /// What every report says about how the images were prepared (the registry not tried
    /// because it did not answer this daemon a moment ago).
    image_notes: Vec<String>,
}

impl std::fmt::Debug for RuntimeCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeCtx")
            .field("endpoint", &self.engine.endpoint())
            .finish()
    }
}

/// Why the runtime phase is not available.
pub enum Unavailable {
    /// The daemon cannot be reached: exit 3 when the rubric requires the runtime checks.
    NoDaemon(String),
    /// Images could not be prepared, or the runtime could not start: always exit 3.
    Fault(String),
}

/// Connects to Docker and makes sure every image exists (progress lines to `say`).
pub fn prepare(rubric: &Rubric, say: &Say) -> Result<RuntimeCtx, Unavailable> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Unavailable::Fault(format!("cannot start the async runtime: {e}")))?;
    let (engine, cancel, docker, image_notes) = rt.block_on(async {
        let engine = Engine::connect().await.map_err(|e| {
            Unavailable::NoDaemon(format!("{e}; use --static for static checks only"))
        })?;
        // Signals are caught before the images are prepared: preparation starts containers
        // too (the db's nominal readiness), which must be removed on Ctrl-C or SIGTERM.
        let cancel = assay_runner::cancel_on_signals();
        let interrupted = cancel.clone();
        let said = say.clone();
        tokio::spawn(async move {
            interrupted.cancelled().await;
            said.line("interrupted: tearing down the running stacks…");
        });
        let progress = |line: &str| say.line(line);
        let prepared = crate::images::prepare(&engine, rubric, false, false, false, &progress)
            .await
            .map_err(|e| match e {
                crate::images::PrepareError::Engine(e) if e.is_unreachable() => {
                    Unavailable::NoDaemon(format!("{e}; use --static for static checks only"))
                }
                crate::images::PrepareError::Runner(e) if e.is_unreachable() => {
                    Unavailable::NoDaemon(format!("{e}; use --static for static checks only"))
                }
                e => Unavailable::Fault(format!("cannot prepare the images: {e}")),
            })?;
        if cancel.is_cancelled() {
            return Err(Unavailable::Fault(
                "interrupted (Ctrl-C or SIGTERM) while preparing the images; nothing was graded"
                    .into(),
            ));
        }
        let docker = engine
            .docker()
            .version()
            .await
            .ok()
            .map(|v| crate::report::DockerVersion {
                version: v.version.unwrap_or_default(),
                api_version: v.api_version.unwrap_or_default(),
            });
        let image_notes = prepared
            .report
            .notes
            .iter()
            .map(|n| format!("images: {n}"))
            .collect();
        Ok::<_, Unavailable>((engine, cancel, docker, image_notes))
    })?;
    Ok(RuntimeCtx {
        rt,
        engine,
        cancel,
        docker,
        image_notes,
    })
}

/// Moves the runner's warnings about how the runtime phase went (graded twice and why, a
/// transient daemon error retried, the db held back without the freezer, a healthcheck
/// raised to the floor) from the checks' details to the report's notes, which every format
/// shows whatever the checks' status.
fn grading_notes(results: &mut [CheckResult]) -> Vec<String> {
    let mut notes = Vec::new();
    for r in results.iter_mut() {
        let (lifted, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut r.details)
            .into_iter()
            .partition(|d| d.severity == assay_core::Severity::Warning);
        r.details = kept;
        notes.extend(lifted.into_iter().map(|d| format!("{}: {d}", r.id)));
    }
    notes
}

/// What one runtime phase gives the report.
pub struct RuntimeOutcome {
    pub results: Vec<CheckResult>,
    pub notes: Vec<String>,
    /// The Docker engine and the images the stack ran.
    pub docker: Option<crate::report::DockerVersion>,
    pub images: Vec<crate::report::ImageProvenance>,
}

/// How one runtime phase runs, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The one deadline, seconds (a `--build-webapp` build included).
    pub timeout_secs: u64,
    /// Build the candidate's own webapp image (`--build-webapp`).
    pub build_webapp: bool,
    /// Name each step of the main run (one submission).
    pub show_phases: bool,
    /// Where the steps and a `--build-webapp` build's output lines go.
    pub say: Say,
}

/// Runs one submission's stack and returns the `runtime.*` results, plus notes for the reviewer.
pub fn run(
    ctx: &RuntimeCtx,
    root: &assay_core::SubmissionRoot,
    project: &assay_compose::Project,
    facts: &assay_checks::ComposeFacts,
    rubric: &Rubric,
    options: RunOptions,
) -> Result<RuntimeOutcome, Error> {
    let RunOptions {
        timeout_secs,
        build_webapp,
        show_phases,
        say,
    } = options;
    let (Some(db), Some(webapp), Some(creds)) = (
        &facts.db_service,
        &facts.webapp_service,
        &facts.db_credentials,
    ) else {
        return Err(Error::could_not_grade(
            "the static checks passed without naming the db and webapp services",
        ));
    };
    let password = creds.password_source.password(root);
    let credentials = DbCredentials {
        user: creds.user.clone(),
        password: password.clone(),
        database: creds.database.clone(),
    };
    let mut notes = ctx.image_notes.clone();
    let mut webapp_image = assay_sandbox::images::webapp_image(rubric).to_string();
    let mut built = None;
    // One wall-clock deadline over the build and the run: a slow build eats into the run.
    let started = std::time::Instant::now();
    if build_webapp {
        let deadline = Duration::from_secs(timeout_secs);
        let build = ctx.rt.block_on(async {
            tokio::time::timeout(
                deadline,
                build_candidate_webapp(&ctx.engine, project, webapp, &say),
            )
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the build took longer than the run's deadline ({timeout_secs} s)"
                ))
            })
        });
        match build {
            Ok(tag) => {
                notes.push(format!(
                    "the webapp ran from the candidate's own build ({tag}), not the pristine image"
                ));
                webapp_image = tag.clone();
                built = Some(tag);
            }
            Err(why) => {
                let mut results = vec![CheckResult::fail(
                    CheckId::RuntimeUp,
                    format!(
                        "the candidate's webapp image did not build (builds run with no network, 512 MiB and 1.5 CPUs per step, within the run's deadline): {}",
                        assay_core::display::evidence(&why)
                    ),
                )];
                for id in CheckId::RuntimeUp.dependents() {
                    results.push(CheckResult::blocked(id, "not run: runtime.up failed"));
                }
                return Ok(RuntimeOutcome {
                    results,
                    notes,
                    docker: ctx.docker.clone(),
                    images: Vec::new(),
                });
            }
        }
    }
    let probe_image = assay_sandbox::images::probe_image().to_string();
    let mut inputs = RunInputs::new(db, webapp, credentials, &webapp_image, &probe_image);
    inputs.timeout = Duration::from_secs(timeout_secs)
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(1));
    inputs.cold_start_pause = Duration::from_secs(rubric.runtime.cold_start_pause_secs);
    inputs.webapp_default_port = rubric.webapp.default_port;
    inputs.budget = rubric.limits.clone();
    inputs.secrets.extend(password);
    if show_phases {
        // One line per step of the main run, with the time since the runtime phase began.
        inputs.progress = Some(assay_runner::Progress::new(move |line: &str| {
            say.line(&format!(
                "  {line} ({:.1} s)",
                started.elapsed().as_secs_f64()
            ))
        }));
    }
    let mut images = Vec::new();
    let results = ctx.rt.block_on(async {
        let db_image = project
            .services
            .get(db.as_str())
            .and_then(|s| s.image.as_ref())
            .map(|i| i.value.clone());
        for (role, reference) in [
            ("db", db_image.clone()),
            ("webapp", Some(webapp_image.clone())),
            ("probe", Some(probe_image.clone())),
        ] {
            if let Some(reference) = reference {
                images.push(image_provenance(&ctx.engine, role, &reference).await);
            }
        }
        if let Some(image) = project.services.get(db.as_str()).and_then(|s| s.image.as_ref()) {
            if assay_sandbox::images::is_stand_in(&ctx.engine, &image.value).await {
                notes.push(format!(
                    "graded with a stand-in for `{}` built from Debian packages (no registry was reachable)",
                    image.value
                ));
            }
        }
        let results = run_checks(&ctx.engine, project, &inputs, ctx.cancel.child_token()).await;
        if let Some(tag) = &built {
            let _ = ctx.engine.remove_image(tag).await;
        }
        results
    });
    match results {
        Ok(mut r) => {
            notes.extend(grading_notes(&mut r));
            Ok(RuntimeOutcome {
                results: r,
                notes,
                docker: ctx.docker.clone(),
                images,
            })
        }
        Err(e) => Err(Error::could_not_grade(e.to_string())),
    }
}

/// One image's id, whether it is a stand-in and the PostgreSQL version it runs, from the
/// engine's inspection (an image the engine does not know has no id).
async fn image_provenance(
    engine: &Engine,
    role: &str,
    reference: &str,
) -> crate::report::ImageProvenance {
    let inspect = engine.inspect_image(reference).await.ok().flatten();
    let env: Vec<String> = inspect
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .and_then(|c| c.env.clone())
        .unwrap_or_default();
    let var = |name: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
    };
    crate::report::ImageProvenance {
        role: role.into(),
        reference: reference.into(),
        id: inspect.as_ref().and_then(|i| i.id.clone()),
        stand_in: assay_sandbox::images::is_stand_in(engine, reference).await,
        postgres_version: var("PG_VERSION").or_else(|| var("PG_MAJOR")),
    }
}

/// `--build-webapp`: builds the webapp service's own build context (inside the submission; the
/// security policy has already checked it) into a throw-away image labelled as assay's.
async fn build_candidate_webapp(
    engine: &Engine,
    project: &assay_compose::Project,
    webapp: &str,
    say: &Say,
) -> Result<String, String> {
    let service = project
        .services
        .get(webapp)
        .ok_or_else(|| format!("no service `{webapp}`"))?;
    let build = service
        .build
        .as_ref()
        .ok_or_else(|| format!("service `{webapp}` has no `build:` section"))?;
    let context = build
        .context_path
        .as_ref()
        .ok_or("the build context is remote (git/URL), which is not allowed")?;
    if build.dockerfile_inline.is_some() {
        return Err("`dockerfile_inline` is not supported with --build-webapp".into());
    }
    let dockerfile = build
        .dockerfile
        .as_ref()
        .map(|d| d.value.clone())
        .unwrap_or_else(|| "Dockerfile".into());
    let tag = format!(
        "assay/candidate-webapp:{}-{}",
        std::process::id(),
        &assay_runner::run::random_hex(1)[..12]
    );
    // Build output quotes the candidate's Dockerfile: the engine passes only lines it made
    // safe for a terminal (assay_core::display).
    let progress = |line: &str| say.line(&format!("build: {line}"));
    let limits = assay_sandbox::images::BuildLimits::default();
    assay_sandbox::images::build_from_context(
        engine,
        context,
        &dockerfile,
        &tag,
        &limits,
        &progress,
    )
    .await
    .map_err(|e| assay_core::display::terminal_line(&e.to_string()))?;
    Ok(tag)
}
