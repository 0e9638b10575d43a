//! Times assay's runtime phase on one submission: sweep → up → health → round-trip →
//! teardown, without the extra scenarios. Used by `benches/runtime_phase.sh`.
//!
//! `cargo run -p assay-runner --example runtime_phase -- DIR USER PASSWORD DB [--all]`
//! (`--all` adds the scenarios: cold start concurrently, persistence, scale).

use assay_runner::{run_checks, CancellationToken, DbCredentials, RunInputs, Scenarios};
use std::path::Path;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: runtime_phase DIR USER PASSWORD DB [--all]");
        std::process::exit(2);
    }
    let all = args.iter().any(|a| a == "--all");
    let root = std::fs::canonicalize(&args[0]).expect("submission dir");
    let loaded = assay_compose::load_project(&root, Path::new("compose.yaml"), &Default::default());
    let Some(project) = loaded.project else {
        eprintln!("cannot load: {:?}", loaded.diagnostics);
        std::process::exit(2);
    };
    let engine = assay_sandbox::Engine::connect().await.expect("docker");
    let creds = DbCredentials {
        user: args[1].clone(),
        password: Some(args[2].clone()),
        database: args[3].clone(),
    };
    let version = env!("CARGO_PKG_VERSION");
    let mut inputs = RunInputs::new(
        "db",
        "webapp",
        creds,
        &format!("assay/sample-webapp:{version}"),
        &assay_sandbox::images::probe_image().to_string(),
    );
    inputs.timeout = Duration::from_secs(120);
    inputs.run_prefix = "bench".into();
    if !all {
        inputs.scenarios = Scenarios {
            cold_start: false,
            persistence: false,
            scale: false,
        };
    }
    let started = Instant::now();
    let results = run_checks(&engine, &project, &inputs, CancellationToken::new())
        .await
        .expect("graded");
    let ms = started.elapsed().as_millis();
    for r in &results {
        eprintln!("{} {}: {}", r.id, r.status, r.evidence);
    }
    let ok = results.iter().all(|r| r.status != assay_core::Status::Fail);
    println!("assay_ms={ms} ok={ok}");
}
