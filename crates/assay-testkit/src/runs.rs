//! Runs for the runner's daemon tests and their child processes: a run's inputs and a started
//! stack of a hand-built project, with the images the default rubric names.

use assay_runner::{DbCredentials, RunInputs};
use assay_sandbox::images::{probe_image, webapp_image};
use assay_sandbox::Engine;
use std::time::Duration;

/// Run inputs for a db `db` / webapp `webapp` stack with the given credentials.
pub fn inputs(user: &str, password: &str, database: &str) -> RunInputs {
    let r = assay_core::default_rubric();
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
