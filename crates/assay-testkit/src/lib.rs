//! Test support shared by assay's crates, so no test includes another crate's files:
//! - always: [`skip`] (the project rule: a missing dependency prints `SKIPPED …`, and fails the
//!   test under `CI=true`), [`corpora`] (the shared public corpora), [`docgen`] (.docx and PDF
//!   fixtures and bombs for the essays) and [`zipgen`] (hand-built zip archives for intake);
//! - with the `projects` feature: `projects`, hand-built compose projects the runner's tests
//!   plan and run;
//! - with the `daemon` feature (tests that need Docker: assay-sandbox, assay-runner, assay-logs,
//!   the `assay` binary): connect or skip, build the host binaries the images are made from,
//!   prepare the images offline, `runs` (a run's inputs and a started stack), and
//!   `test_child`, the helper binary the runner's cleanup tests kill or signal.

pub mod docgen;
#[cfg(feature = "projects")]
pub mod projects;
#[cfg(feature = "daemon")]
pub mod runs;
pub mod zipgen;

#[cfg(feature = "daemon")]
mod daemon;
#[cfg(feature = "daemon")]
pub use daemon::*;

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/assay-testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Prints why `test` is skipped, or fails it under `CI=true`.
pub fn skip(test: &str, why: &dyn std::fmt::Display) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true and {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// Cargo's target dir (`CARGO_TARGET_DIR`, else `target/` of the workspace).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// `<workspace root>/../shared/corpora` (the public corpora beside the checkout), or `None` after
/// [`skip`] when it is absent (a fresh clone without `shared/`).
pub fn corpora(test: &str) -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/corpora");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(
        test,
        &format!("the shared corpora are not at {}", dir.display()),
    );
    None
}
