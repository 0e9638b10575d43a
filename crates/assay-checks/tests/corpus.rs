//! The six Postgres samples of awesome-compose, loaded end to end: sensible static findings.

mod common;
use assay_core::{CheckId, Status};
use common::*;

const SAMPLES: &[&str] = &["gitea-postgres", "nextcloud-postgres", "nginx-golang-postgres", "postgresql-pgadmin", "react-rust-postgres", "spring-postgres"];

#[test]
fn postgres_samples_get_sensible_findings() {
    let Some(corpora) = corpora() else { return };
    for name in SAMPLES {
        let root = corpora.join("awesome-compose").join(name);
        let (loaded, facts) = run(&root);
        eprintln!("== {name} ({} loader diagnostics)\n{}", loaded.diagnostics.len(), table(&facts));
    }
}
