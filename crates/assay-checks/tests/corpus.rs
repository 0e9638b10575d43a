//! The six Postgres samples of awesome-compose, loaded end to end: sensible static findings.
//! Skipped with a notice when the public corpora (`../shared/corpora` beside the checkout) are
//! absent; fails under CI=true.

mod common;
use assay_core::{CheckId, Status};
use common::*;

const SAMPLES: &[&str] = &[
    "gitea-postgres",
    "nextcloud-postgres",
    "nginx-golang-postgres",
    "postgresql-pgadmin",
    "react-rust-postgres",
    "spring-postgres",
];

fn status_line(facts: &assay_checks::ComposeFacts) -> String {
    facts
        .checks
        .iter()
        .map(|c| c.status.to_string().chars().next().unwrap())
        .collect()
}

#[test]
fn postgres_samples_get_sensible_findings() {
    let Some(corpora) = corpora() else { return };
    let mut lines = Vec::new();
    for name in SAMPLES {
        let root = corpora.join("awesome-compose").join(name);
        let (loaded, facts) = run(&root);
        eprintln!(
            "== {name} ({} loader diagnostics)\n{}",
            loaded.diagnostics.len(),
            table(&facts)
        );
        assert!(!loaded.has_errors(), "{name}: {:?}", loaded.diagnostics);
        lines.push(format!("{name}: {}", status_line(&facts)));
        let c = |id| check(&facts, id).clone();
        // Every sample is valid, within the policy, and has a Postgres service; none is the
        // handout webapp.
        assert_eq!(c(CheckId::ComposeValid).status, Status::Pass, "{name}");
        assert_eq!(c(CheckId::ComposeSecurity).status, Status::Pass, "{name}");
        assert_eq!(c(CheckId::ComposeDbService).status, Status::Pass, "{name}");
        assert_eq!(
            c(CheckId::ComposeWebappService).status,
            Status::Fail,
            "{name}"
        );
        match *name {
            "gitea-postgres" | "nextcloud-postgres" => {
                assert_eq!(c(CheckId::ComposeNoInlineSecrets).status, Status::Fail);
                assert!(c(CheckId::ComposeNoInlineSecrets)
                    .evidence
                    .contains("POSTGRES_PASSWORD is a literal"));
                assert_eq!(c(CheckId::ComposeDbVolume).status, Status::Pass);
                assert_eq!(c(CheckId::ComposeHealthcheck).status, Status::Fail);
            }
            "nginx-golang-postgres" => {
                assert_eq!(c(CheckId::ComposeHealthcheck).status, Status::Pass);
                assert_eq!(c(CheckId::ComposeStartupOrder).status, Status::Pass);
                assert_eq!(c(CheckId::ComposeNoInlineSecrets).status, Status::Pass);
                assert_eq!(facts.webapp_service.as_deref(), Some("backend"));
            }
            "postgresql-pgadmin" => {
                assert_eq!(c(CheckId::ComposeDbNotPublished).status, Status::Fail);
                assert_eq!(c(CheckId::ComposeDbVolume).status, Status::Fail);
                assert_eq!(c(CheckId::ComposePinnedImages).status, Status::Fail);
                assert!(c(CheckId::ComposeNoInlineSecrets)
                    .evidence
                    .contains("from $POSTGRES_PW"));
            }
            "react-rust-postgres" => {
                assert!(c(CheckId::ComposeDbHost).evidence.contains("it sets PG_DBNAME, PG_HOST, PG_PASSWORD, PG_USER, which the sample webapp does not read"), "{}", c(CheckId::ComposeDbHost).evidence);
                assert_eq!(c(CheckId::ComposeDbNotPublished).status, Status::Fail);
                assert_eq!(c(CheckId::ComposeStartupOrder).status, Status::Fail);
            }
            "spring-postgres" => {
                assert_eq!(c(CheckId::ComposeScalable).status, Status::Fail);
                assert_eq!(c(CheckId::ComposePinnedImages).status, Status::Fail);
            }
            _ => unreachable!(),
        }
    }
    eprintln!("status per check (valid security db-service webapp-service db-host credentials healthcheck startup-order db-volume no-inline-secrets db-not-published scalable pinned-images):\n{}", lines.join("\n"));
}
