//! Test support shared by the crates whose tests need the Docker daemon (assay-sandbox,
//! assay-runner, the `assay` binary): one way to connect or skip, to find the host-built
//! binaries the images are made from, and to prepare the images offline.
//!
//! Skipping follows the project rule: without a daemon a test prints `SKIPPED …` and returns,
//! except under `CI=true`, where a missing daemon fails the test.

use assay_sandbox::{ensure_images, Engine, ImagesOptions, ImagesReport};
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

/// The daemon, or `None` after [`skip`].
pub async fn engine_or_skip(test: &str) -> Option<Engine> {
    match Engine::connect().await {
        Ok(e) => Some(e),
        Err(e) => {
            skip(test, &e);
            None
        }
    }
}

/// Whether the daemon answers, for tests that drive the `assay` binary (no async runtime of
/// their own); `false` after [`skip`].
pub fn docker_or_skip(test: &str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(engine_or_skip(test)).is_some()
}

/// Builds `assay-probe` and `sample-webapp` (debug) and returns their paths (probe, webapp).
pub fn host_binaries() -> (PathBuf, PathBuf) {
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "assay-probe",
            "-p",
            "sample-webapp",
        ])
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p assay-probe -p sample-webapp failed"
    );
    let target = target_dir();
    (
        target.join("debug/assay-probe"),
        target.join("debug/sample-webapp"),
    )
}

/// Cargo's target dir (`CARGO_TARGET_DIR`, else `target/` of the workspace).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The image cache every daemon test shares (debootstrap trees survive between runs).
pub fn cache_dir() -> PathBuf {
    target_dir().join("tmp/assay-images-cache")
}

/// Offline image options over the host binaries and the shared cache.
pub fn image_options() -> ImagesOptions {
    let (probe, webapp) = host_binaries();
    ImagesOptions {
        offline: true,
        webapp_binary: Some(webapp),
        probe_binary: Some(probe),
        work_dir: cache_dir(),
        ..Default::default()
    }
}

/// Offline `ensure_images` with the default rubric, printing its progress (it locks itself, so
/// concurrent test processes wait for one another).
pub async fn prepare_images(engine: &Engine) -> ImagesReport {
    ensure_images(
        engine,
        &assay_core::default_rubric(),
        &image_options(),
        &|line| eprintln!("[images] {line}"),
    )
    .await
    .expect("ensure_images --offline")
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
