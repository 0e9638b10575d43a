//! Shared setup of the daemon tests: connect or skip, prepare the images once (the sandbox's
//! `ensure_images`, cached and locked), inputs for a run, and leak checks by label.
#![allow(dead_code)]

use assay_runner::{DbCredentials, RunInputs};
use assay_sandbox::images::{probe_image, webapp_image};
use assay_sandbox::Engine;
use std::time::Duration;

pub use assay_testkit::prepare_images;

/// The built-in default rubric (`rubrics/default.yaml`), as the product uses it.
pub fn rubric() -> assay_core::Rubric {
    assay_core::default_rubric()
}

/// The daemon with the images ready, or `None` after printing why the test is skipped.
/// Under `CI=true` a missing daemon fails the test.
pub async fn engine_or_skip(test: &str) -> Option<Engine> {
    let engine = assay_testkit::engine_or_skip(test).await?;
    prepare_images(&engine).await;
    Some(engine)
}

/// Run inputs for a db `db` / webapp `webapp` stack with the given credentials.
pub fn inputs(user: &str, password: &str, database: &str) -> RunInputs {
    let r = rubric();
    let mut i = RunInputs::new(
        "db",
        "webapp",
        DbCredentials {
            user: user.into(),
            password: Some(password.into()),
            database: database.into(),
        },
        &webapp_image(&r).to_string(),
        &probe_image().to_string(),
    );
    i.timeout = Duration::from_secs(90);
    i.cold_start_pause = Duration::from_secs(r.runtime.cold_start_pause_secs);
    i
}

/// Labelled containers, networks and volumes whose run id starts with `prefix`.
pub async fn leftovers(engine: &Engine, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let key = assay_sandbox::labels::RUN;
    for c in engine.list_containers("dev.assay.managed").await.unwrap() {
        let run = c
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .cloned()
            .unwrap_or_default();
        if run.starts_with(prefix) {
            out.push(format!("container {:?}", c.names));
        }
    }
    for n in engine.list_networks("dev.assay.managed").await.unwrap() {
        let run = n
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .cloned()
            .unwrap_or_default();
        if run.starts_with(prefix) {
            out.push(format!("network {:?}", n.name));
        }
    }
    for v in engine.list_volumes("dev.assay.managed").await.unwrap() {
        if v.labels.get(key).is_some_and(|r| r.starts_with(prefix)) {
            out.push(format!("volume {}", v.name));
        }
    }
    out
}

/// Prints a compact view of results (shown when a test fails).
pub fn show(results: &[assay_core::CheckResult]) -> String {
    results
        .iter()
        .map(|r| {
            let mut s = format!("{} {}: {}", r.id, r.status, r.evidence);
            for d in &r.details {
                s.push_str(&format!("\n    {}", d.message.replace('\n', "\n    ")));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A started stack of `project` (networks, probe, services up) with run id `run_id`.
pub async fn stack<'e>(
    engine: &'e Engine,
    project: &assay_compose::Project,
    run_id: &str,
    timeout: Duration,
    start: bool,
) -> assay_runner::run::Stack<'e> {
    use assay_runner::probe::PgTarget;
    let i = inputs("app", "s3cret-pw", "notes");
    let plan_inputs = assay_runner::PlanInputs {
        run_id: run_id.into(),
        db_service: "db".into(),
        webapp_service: "webapp".into(),
        webapp_image: i.webapp_image.clone(),
        probe_image: i.probe_image.clone(),
        webapp_default_port: 8080,
        limits: assay_runner::Limits::default(),
        budget: assay_core::RunBudget::default(),
        binds: assay_runner::run::bind_kinds(project),
    };
    let plan = assay_runner::plan(project, &plan_inputs).expect("plans");
    let pg = PgTarget {
        host: "db".into(),
        port: 5432,
        user: "app".into(),
        password: "s3cret-pw".into(),
        database: "notes".into(),
    };
    let s = assay_runner::run::Stack::setup(
        engine,
        plan,
        &assay_runner::reaper::default_state_dir(),
        timeout,
        assay_runner::CancellationToken::new(),
        assay_runner::evidence::Masker::default(),
        pg,
    )
    .await
    .expect("setup");
    s.start_probe().await.expect("probe starts");
    if start {
        s.up(&Default::default())
            .await
            .expect("daemon")
            .expect("up");
    }
    s
}

/// A run id unique to this process and call, starting with `prefix`.
pub fn run_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
