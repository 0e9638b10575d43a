//! Shared setup of the daemon tests: connect or skip, build the binaries, prepare the images,
//! and a guard that removes every container, network and volume a test created.

#![allow(dead_code)]

use assay_sandbox::Engine;
use std::sync::Mutex;

#[allow(unused_imports)] // each test binary uses a different subset
pub use assay_testkit::{engine_or_skip, image_options as options, prepare_images as prepare};

/// The built-in default rubric (`rubrics/default.yaml`), as the product uses it.
pub fn rubric() -> assay_core::Rubric {
    assay_core::default_rubric()
}

/// Removes the containers and networks a test created, even when the test panics.
pub struct Cleanup {
    engine: Engine,
    containers: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
    volumes: Mutex<Vec<String>>,
}

impl Cleanup {
    pub fn new(engine: &Engine) -> Self {
        Cleanup {
            engine: engine.clone(),
            containers: Mutex::new(Vec::new()),
            networks: Mutex::new(Vec::new()),
            volumes: Mutex::new(Vec::new()),
        }
    }

    pub fn container(&self, name: &str) {
        self.containers.lock().unwrap().push(name.to_string());
    }

    pub fn network(&self, name: &str) {
        self.networks.lock().unwrap().push(name.to_string());
    }

    pub fn volume(&self, name: &str) {
        self.volumes.lock().unwrap().push(name.to_string());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let containers = std::mem::take(&mut *self.containers.lock().unwrap());
        let networks = std::mem::take(&mut *self.networks.lock().unwrap());
        let volumes = std::mem::take(&mut *self.volumes.lock().unwrap());
        // A fresh runtime on its own thread: Drop may run inside (or after) the test's runtime.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                for c in &containers {
                    if let Err(e) = engine.remove_container(c).await {
                        eprintln!("cleanup: {e}");
                    }
                }
                for n in &networks {
                    if let Err(e) = engine.remove_network(n).await {
                        eprintln!("cleanup: {e}");
                    }
                }
                for v in &volumes {
                    if let Err(e) = engine.remove_volume(v).await {
                        eprintln!("cleanup: {e}");
                    }
                }
            })
        });
        let _ = done.join();
    }
}

/// A name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "assay-test-{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Wait (at most 30 s) until container `name` is no longer running; returns its exit code.
pub async fn wait_exit(engine: &Engine, name: &str) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let state = engine.inspect_container(name).await.unwrap().state.unwrap();
        if state.running != Some(true) {
            return state.exit_code.unwrap_or(-1);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} still running after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
