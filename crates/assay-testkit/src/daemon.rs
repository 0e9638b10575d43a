//! Support for the tests that need the Docker daemon.

use crate::{skip, target_dir, workspace_root};
use assay_sandbox::{ensure_images, Engine, ImagesOptions, ImagesReport};
use std::path::PathBuf;

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

/// `cargo build --quiet ARGS` (debug) in the workspace; panics when it fails.
fn cargo_build(args: &[&str]) {
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(["build", "--quiet"])
        .args(args)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build {} failed", args.join(" "));
}

/// Builds `assay-probe` and `sample-webapp` (debug) and returns their paths (probe, webapp).
pub fn host_binaries() -> (PathBuf, PathBuf) {
    cargo_build(&["-p", "assay-probe", "-p", "sample-webapp"]);
    let target = target_dir();
    (
        target.join("debug/assay-probe"),
        target.join("debug/sample-webapp"),
    )
}

/// Builds the `assay-test-child` helper (debug) and returns its path: the separate process the
/// runner's cleanup tests set a run up in, then kill or signal (see `src/bin/assay-test-child.rs`).
pub fn test_child() -> PathBuf {
    cargo_build(&[
        "-p",
        "assay-testkit",
        "--features",
        "daemon",
        "--bin",
        "assay-test-child",
    ]);
    target_dir().join("debug/assay-test-child")
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
