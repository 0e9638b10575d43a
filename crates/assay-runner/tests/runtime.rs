//! The runner against the real daemon: fixture stacks, each failing exactly what it should.

mod support;
use assay_testkit::projects as testkit;

use assay_core::{CheckId, CheckResult, Status};
use assay_runner::{run_checks, CancellationToken};
use support::*;
use testkit::*;

fn status(results: &[CheckResult], id: CheckId) -> Status {
    results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
        .status
}

fn result(results: &[CheckResult], id: CheckId) -> &CheckResult {
    results.iter().find(|r| r.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_stack_passes_every_runtime_check() {
    let Some(engine) = engine_or_skip("a_correct_stack_passes_every_runtime_check").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = good_project(dir.path());
    let mut inputs = inputs("app", "s3cret-pw", "notes");
    let prefix = run_id("tgood");
    inputs.run_prefix = prefix.clone();
    let results = run_checks(&engine, &project, &inputs, CancellationToken::new())
        .await
        .expect("graded");
    let shown = show(&results);
    eprintln!("{shown}");
    assert_eq!(results.len(), 6, "{shown}");
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{shown}");
    }
    assert!(result(&results, CheckId::RuntimeRoundtrip)
        .evidence
        .contains("found directly in Postgres"));
    assert!(
        leftovers(&engine, &prefix).await.is_empty(),
        "{:?}",
        leftovers(&engine, &prefix).await
    );
}

/// Runs `project` with run ids starting `prefix`; asserts nothing is left behind.
async fn grade(
    engine: &assay_sandbox::Engine,
    project: &assay_compose::Project,
    prefix: &str,
) -> Vec<CheckResult> {
    let mut inputs = inputs("app", "s3cret-pw", "notes");
    inputs.run_prefix = prefix.into();
    let results = run_checks(engine, project, &inputs, CancellationToken::new())
        .await
        .expect("graded");
    eprintln!("{}", show(&results));
    let left = leftovers(engine, prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    results
}

/// Asserts the statuses of all six runtime checks, in report order.
fn expect(results: &[CheckResult], want: [Status; 6]) {
    let ids = [
        CheckId::RuntimeUp,
        CheckId::RuntimeHealth,
        CheckId::RuntimeRoundtrip,
        CheckId::RuntimeColdStart,
        CheckId::RuntimePersistence,
        CheckId::RuntimeScale,
    ];
    let got: Vec<Status> = ids.iter().map(|id| status(results, *id)).collect();
    assert_eq!(got, want.to_vec(), "{}", show(results));
}

use Status::{Fail as F, Pass as P, Skipped as S};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_db_host_fails_up_naming_the_host() {
    let Some(engine) = engine_or_skip("wrong_db_host_fails_up_naming_the_host").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    env(
        project.services.get_mut("webapp").unwrap(),
        "DATABASE_URL",
        "postgres://app:s3cret-pw@localhost:5432/notes",
    );
    let results = grade(&engine, &project, "thost").await;
    expect(&results, [F, S, S, S, S, S]);
    let up = result(&results, CheckId::RuntimeUp);
    assert!(
        up.evidence.contains("service `webapp` exited 1"),
        "{}",
        up.evidence
    );
    assert!(up.evidence.contains("localhost"), "{}", up.evidence);
    assert!(up
        .details
        .iter()
        .any(|d| d.message.contains("last 50 log lines of `webapp`")));
    assert!(up
        .details
        .iter()
        .any(|d| d.message.contains("exit code 1, OOMKilled false")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_up_with_the_password_masked() {
    let Some(engine) = engine_or_skip("wrong_password_fails_up_with_the_password_masked").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    env(
        project.services.get_mut("webapp").unwrap(),
        "DATABASE_URL",
        "postgres://app:Wr0ng%40pw@db:5432/notes",
    );
    let results = grade(&engine, &project, "tpass").await;
    expect(&results, [F, S, S, S, S, S]);
    let up = result(&results, CheckId::RuntimeUp);
    assert!(
        up.evidence.contains("password authentication failed"),
        "{}",
        up.evidence
    );
    let everything = format!("{results:?}");
    for secret in ["Wr0ng@pw", "Wr0ng%40pw", "s3cret-pw"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disjoint_networks_fail_up_naming_the_lookup() {
    let Some(engine) = engine_or_skip("disjoint_networks_fail_up_naming_the_lookup").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    project.networks.insert("front".into(), network("front"));
    project.networks.insert("back".into(), network("back"));
    project.networks.remove("default");
    project.services.get_mut("db").unwrap().networks = [("back".to_string(), attach(&[]))].into();
    project.services.get_mut("webapp").unwrap().networks =
        [("front".to_string(), attach(&[]))].into();
    let results = grade(&engine, &project, "tnets").await;
    expect(&results, [F, S, S, S, S, S]);
    let up = result(&results, CheckId::RuntimeUp);
    assert!(
        up.evidence.contains("service `webapp` exited 1"),
        "{}",
        up.evidence
    );
    assert!(up.evidence.contains("db"), "{}", up.evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_startup_order_fails_cold_start_only() {
    let Some(engine) = engine_or_skip("no_startup_order_fails_cold_start_only").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    project.services.get_mut("db").unwrap().healthcheck = None;
    depends(
        project.services.get_mut("webapp").unwrap(),
        "db",
        "service_started",
    );
    let results = grade(&engine, &project, "torder").await;
    // Without waiting, the webapp races the db's first start: on a busy host it loses even
    // without the pause (runtime.up fails, the scenarios are blocked); otherwise the pause
    // makes it lose. Either way the finding names the webapp giving up on the database.
    let up = result(&results, CheckId::RuntimeUp);
    let cold = result(&results, CheckId::RuntimeColdStart);
    let failing = if up.status == F {
        expect(&results, [F, S, S, S, S, S]);
        up
    } else {
        expect(&results, [P, P, P, F, P, P]);
        assert!(
            cold.evidence.contains("paused for 10 s"),
            "{}",
            cold.evidence
        );
        cold
    };
    assert!(
        failing.evidence.contains("service `webapp` exited 1"),
        "{}",
        failing.evidence
    );
    assert!(
        failing
            .evidence
            .contains("could not connect to the database"),
        "{}",
        failing.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_volume_fails_persistence_only() {
    let Some(engine) = engine_or_skip("no_volume_fails_persistence_only").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    project.services.get_mut("db").unwrap().volumes.clear();
    project.volumes.clear();
    let results = grade(&engine, &project, "tvol").await;
    expect(&results, [P, P, P, P, F, P]);
    let p = result(&results, CheckId::RuntimePersistence);
    assert!(p.evidence.contains("not on a volume"), "{}", p.evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_name_and_fixed_port_fail_scale_only() {
    let Some(engine) = engine_or_skip("container_name_and_fixed_port_fail_scale_only").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    let web = project.services.get_mut("webapp").unwrap();
    web.container_name = Some(assay_compose::Located::new(
        "notes-webapp".into(),
        assay_core::Location::at("compose.yaml", 19, 21),
    ));
    web.ports.push(l(assay_compose::Port {
        published: Some("8080".into()),
        target: 8080,
        protocol: "tcp".into(),
        mode: "ingress".into(),
        ..Default::default()
    }));
    let results = grade(&engine, &project, "tscale").await;
    expect(&results, [P, P, P, P, P, F]);
    let s = result(&results, CheckId::RuntimeScale);
    assert!(
        s.evidence.contains("container_name `notes-webapp`"),
        "{}",
        s.evidence
    );
    assert_eq!(
        s.location,
        Some(assay_core::Location::at("compose.yaml", 19, 21))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_submission_with_secrets_and_aliases_passes() {
    let Some(engine) = engine_or_skip("a_yaml_submission_with_secrets_and_aliases_passes").await
    else {
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions/secrets-alias");
    let loaded = assay_compose::load_project(
        &root,
        std::path::Path::new("compose.yaml"),
        &Default::default(),
    );
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let project = loaded.project.expect("loads");
    let mut i = inputs("notes", "p@ss:w/rd-from-file", "notes");
    let prefix = run_id("tyaml");
    i.run_prefix = prefix.clone();
    let results = run_checks(&engine, &project, &i, CancellationToken::new())
        .await
        .expect("graded");
    let shown = show(&results);
    eprintln!("{shown}");
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{shown}");
    }
    assert!(!shown.contains("p@ss:w/rd"), "{shown}");
    assert!(leftovers(&engine, &prefix).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_assay_did_not_prepare_fails_up_naming_it() {
    let Some(engine) = engine_or_skip("an_image_assay_did_not_prepare_fails_up_naming_it").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut project = good_project(dir.path());
    project.services.get_mut("db").unwrap().image = Some(l("postgres:9.6-never-prepared".into()));
    let results = grade(&engine, &project, "timage").await;
    expect(&results, [F, S, S, S, S, S]);
    let up = result(&results, CheckId::RuntimeUp);
    assert!(
        up.evidence
            .contains("image `postgres:9.6-never-prepared` is not available"),
        "{}",
        up.evidence
    );
    assert_eq!(up.location, Some(loc(2)), "points at the service");
}
