//! The runtime phase of `assay evaluate`: connect to Docker once per batch, prepare the images,
//! and run each submission's stack in the sandbox (`assay-runner`).

use crate::evaluate::EvaluateError;
use assay_core::{CheckResult, Rubric};
use assay_runner::{run_checks, CancellationToken, DbCredentials, RunInputs};
use assay_sandbox::Engine;
use std::path::Path;
use std::time::Duration;

/// What every runtime phase of a batch shares: one async runtime, one engine, one cancel token
/// (Ctrl-C / SIGTERM tear every run down before assay exits).
pub struct RuntimeCtx {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    cancel: CancellationToken,
}

impl std::fmt::Debug for RuntimeCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeCtx").field("endpoint", &self.engine.endpoint()).finish()
    }
}

/// Why the runtime phase is not available.
pub enum Unavailable {
    /// The daemon cannot be reached: exit 3 when the rubric requires the runtime checks.
    NoDaemon(String),
    /// Images could not be prepared, or the runtime could not start: always exit 3.
    Fault(String),
}

/// Connects to Docker and makes sure every image exists (progress on stderr).
pub fn prepare(rubric: &Rubric) -> Result<RuntimeCtx, Unavailable> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Unavailable::Fault(format!("cannot start the async runtime: {e}")))?;
    let (engine, cancel) = rt.block_on(async {
        let engine = Engine::connect()
            .await
            .map_err(|e| Unavailable::NoDaemon(format!("{e}; use --static for static checks only")))?;
        let progress = |line: &str| eprintln!("assay: {line}");
        crate::images::prepare(&engine, rubric, false, false, &progress).await.map_err(|e| match e {
            crate::images::PrepareError::Engine(e) if e.is_unreachable() => {
                Unavailable::NoDaemon(format!("{e}; use --static for static checks only"))
            }
            e => Unavailable::Fault(format!("cannot prepare the images: {e}")),
        })?;
        Ok::<_, Unavailable>((engine, assay_runner::cancel_on_signals()))
    })?;
    Ok(RuntimeCtx { rt, engine, cancel })
}

/// Runs one submission's stack and returns the `runtime.*` results, plus notes for the reviewer.
pub fn run(
    ctx: &RuntimeCtx,
    root: &Path,
    project: &assay_compose::Project,
    facts: &assay_checks::ComposeFacts,
    rubric: &Rubric,
    timeout_secs: u64,
) -> Result<(Vec<CheckResult>, Vec<String>), EvaluateError> {
    let (Some(db), Some(webapp), Some(creds)) = (&facts.db_service, &facts.webapp_service, &facts.db_credentials) else {
        return Err(EvaluateError::CouldNotGrade("the static checks passed without naming the db and webapp services".into()));
    };
    let password = creds.password_source.password(root);
    let credentials = DbCredentials { user: creds.user.clone(), password: password.clone(), database: creds.database.clone() };
    let webapp_image = assay_sandbox::images::webapp_image(rubric).to_string();
    let probe_image = assay_sandbox::images::probe_image().to_string();
    let mut inputs = RunInputs::new(db, webapp, credentials, &webapp_image, &probe_image);
    inputs.timeout = Duration::from_secs(timeout_secs);
    inputs.cold_start_pause = Duration::from_secs(rubric.runtime.cold_start_pause_secs);
    inputs.webapp_default_port = rubric.webapp.default_port;
    inputs.secrets.extend(password);
    let mut notes = Vec::new();
    let results = ctx.rt.block_on(async {
        if let Some(image) = project.services.get(db.as_str()).and_then(|s| s.image.as_ref()) {
            if assay_sandbox::images::is_stand_in(&ctx.engine, &image.value).await {
                notes.push(format!(
                    "graded with a stand-in for `{}` built from Debian packages (no registry was reachable)",
                    image.value
                ));
            }
        }
        run_checks(&ctx.engine, project, &inputs, ctx.cancel.child_token()).await
    });
    match results {
        Ok(r) => Ok((r, notes)),
        Err(e) => Err(EvaluateError::CouldNotGrade(e.to_string())),
    }
}

/// `assay gc`: sweep what dead runs left behind.
pub fn gc() -> crate::exit::Exit {
    use crate::exit::Exit;
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::CouldNotGrade;
        }
    };
    rt.block_on(async {
        let engine = match Engine::connect().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::CouldNotGrade;
            }
        };
        match assay_runner::gc(&engine).await {
            Ok(r) => {
                println!(
                    "removed {} containers, {} networks, {} volumes of {} dead runs{}",
                    r.containers,
                    r.networks,
                    r.volumes,
                    r.runs.len(),
                    if r.live_runs.is_empty() { String::new() } else { format!("; {} live runs left alone", r.live_runs.len()) }
                );
                for e in &r.errors {
                    eprintln!("warning: {e}");
                }
                if r.errors.is_empty() { Exit::Pass } else { Exit::CouldNotGrade }
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::CouldNotGrade
            }
        }
    })
}
