//! The runner against the real daemon: fixture stacks, each failing exactly what it should.

#[path = "../src/testkit.rs"]
mod testkit;
mod support;

use assay_core::{CheckId, CheckResult, Status};
use assay_runner::{run_checks, CancellationToken};
use support::*;
use testkit::*;

fn status(results: &[CheckResult], id: CheckId) -> Status {
    results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no {id}")).status
}

fn result(results: &[CheckResult], id: CheckId) -> &CheckResult {
    results.iter().find(|r| r.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_stack_passes_every_runtime_check() {
    let Some(engine) = engine_or_skip("a_correct_stack_passes_every_runtime_check").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let project = good_project(dir.path());
    let mut inputs = inputs("app", "s3cret-pw", "notes");
    inputs.run_prefix = "tgood".into();
    let results = run_checks(&engine, &project, &inputs, CancellationToken::new()).await.expect("graded");
    let shown = show(&results);
    eprintln!("{shown}");
    assert_eq!(results.len(), 6, "{shown}");
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{shown}");
    }
    assert!(result(&results, CheckId::RuntimeRoundtrip).evidence.contains("found directly in Postgres"));
    assert!(leftovers(&engine, "tgood").await.is_empty(), "{:?}", leftovers(&engine, "tgood").await);
    let _ = status;
}
