//! Shared setup of the daemon tests: connect or skip, prepare the images once (the sandbox's
//! `ensure_images`, cached and locked), inputs for a run, and leak checks by label.
#![allow(dead_code)]

use assay_sandbox::Engine;

pub use assay_testkit::prepare_images;
// Not every test binary uses both.
#[allow(unused_imports)]
pub use assay_testkit::runs::{inputs, stack};

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
