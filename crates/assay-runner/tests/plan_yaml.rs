//! The plan of a real compose file (loaded by assay-compose): no daemon needed.

use assay_runner::plan::{FileSource, COMPOSE_SERVICE};
use assay_runner::{plan, Limits, PlanInputs};
use bollard::models::MountType;
use std::path::PathBuf;

fn planned() -> assay_runner::RunPlan {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions/secrets-alias")
        .canonicalize()
        .unwrap();
    let loaded = assay_compose::load_project(&root, "compose.yaml".as_ref(), &Default::default());
    let project = loaded
        .project
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let inputs = PlanInputs {
        run_id: "ry1".into(),
        db_service: "db".into(),
        webapp_service: "webapp".into(),
        webapp_image: "assay/sample-webapp:0.1.0".into(),
        probe_image: "assay/probe:0.1.0".into(),
        webapp_default_port: 8080,
        limits: Limits::default(),
        budget: assay_core::RunBudget::default(),
        binds: assay_runner::run::bind_kinds(&project),
    };
    plan(&project, &inputs).expect("plans")
}

#[test]
fn a_yaml_project_plans_hardened_and_renamed() {
    let p = planned();
    let order: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["db", "webapp"], "dependencies first");
    let db = &p.service("db").unwrap().containers[0];
    assert_eq!(db.name, "assay-ry1-db-1", "container_name is ignored");
    assert_eq!(
        db.labels["dev.assay.managed"], "true",
        "the candidate's label was stripped"
    );
    assert_eq!(db.labels[COMPOSE_SERVICE], "db");
    assert_eq!(db.networks[0].network, "assay-ry1-backend");
    assert_eq!(db.networks[0].aliases, ["db", "database"]);
    assert_eq!(db.mounts[0].typ, Some(MountType::VOLUME));
    assert_eq!(db.mounts[0].source.as_deref(), Some("assay-ry1-v-db-data"));
    let secret = &db.files[0];
    assert_eq!(secret.target, "/run/secrets/db_password");
    match &secret.source {
        FileSource::Host(path) => assert!(path.ends_with("secrets/db_password.txt"), "{path:?}"),
        other => panic!("{other:?}"),
    }
    let web = &p.service("webapp").unwrap().containers[0];
    assert_eq!(
        web.image, "assay/sample-webapp:0.1.0",
        "build: is replaced by the pristine image"
    );
    let body = web.create_body();
    let host = body.host_config.unwrap();
    assert_eq!(
        host.restart_policy.unwrap().maximum_retry_count,
        Some(20),
        "unless-stopped is bounded"
    );
    assert!(host.port_bindings.is_none());
    assert_eq!(p.webapp.port, 8080);
}
