//! The candidate-like fixture submissions (reused by the lead and the sandbox helper): each fails
//! exactly the checks its name says, and passes the rest.

mod common;
use assay_core::{CheckId, Status};
use common::*;

fn failing(name: &str) -> Vec<CheckId> {
    let (loaded, facts) = run(&fixtures().join("submissions").join(name));
    assert!(
        loaded.diagnostics.is_empty(),
        "{name}: {:?}",
        loaded.diagnostics
    );
    assert_eq!(facts.checks.len(), 13);
    assert!(
        facts.checks.iter().all(|c| c.status != Status::Skipped),
        "{name}:\n{}",
        table(&facts)
    );
    facts
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.id)
        .collect()
}

#[test]
fn each_submission_fails_what_its_name_says() {
    use CheckId::*;
    assert_eq!(failing("good"), []);
    assert_eq!(failing("wrong-host"), [ComposeDbHost]);
    assert_eq!(failing("wrong-password"), [ComposeCredentials]);
    assert_eq!(failing("disjoint-networks"), [ComposeDbHost]);
    assert_eq!(
        failing("no-startup-order"),
        [ComposeHealthcheck, ComposeStartupOrder]
    );
    assert_eq!(failing("no-volume"), [ComposeDbVolume]);
    assert_eq!(failing("container-name-fixed-port"), [ComposeScalable]);
}
