//! Batches: several submissions graded with up to `jobs` in parallel, results in input order.

use crate::evaluate::{evaluate, EvaluateError, Options};
use crate::report::Report;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Evaluates every submission; the i-th result belongs to the i-th path.
pub fn evaluate_all(
    paths: &[PathBuf],
    opts: &Options,
    jobs: usize,
) -> Vec<Result<Report, EvaluateError>> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Report, EvaluateError>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = paths.get(i) else { break };
                let outcome = evaluate(path, opts);
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| {
                    Err(EvaluateError::CouldNotGrade(
                        "evaluation thread ended without a result".into(),
                    ))
                })
        })
        .collect()
}
