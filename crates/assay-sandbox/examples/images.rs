//! Run `ensure_images` once and print what it did and how long it took.
//!
//! ```text
//! cargo run -p assay-sandbox --example images -- [--offline] --work-dir DIR \
//!     --webapp-binary PATH --probe-binary PATH [--rebuild]
//! ```

use assay_sandbox::images::{ensure_plan, ImagePlan, ImagesOptions};
use assay_sandbox::Engine;
use std::path::PathBuf;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut opts = ImagesOptions {
        work_dir: std::env::temp_dir().join("assay-images"),
        ..Default::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || PathBuf::from(args.next().expect("option needs a value"));
        match a.as_str() {
            "--offline" => opts.offline = true,
            "--rebuild" => opts.rebuild = true,
            "--work-dir" => opts.work_dir = value(),
            "--webapp-binary" => opts.webapp_binary = Some(value()),
            "--probe-binary" => opts.probe_binary = Some(value()),
            "--webapp-source" => opts.webapp_source = Some(value()),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let started = Instant::now();
    let progress = |line: &str| eprintln!("[{:>6.1} s] {line}", started.elapsed().as_secs_f64());
    match ensure_plan(&engine, &ImagePlan::default(), &opts, &progress).await {
        Ok(report) => {
            for s in &report.images {
                println!("{s}");
            }
            for w in &report.warnings {
                println!("warning: {w}");
            }
            println!(
                "total {:.2} s ({})",
                started.elapsed().as_secs_f64(),
                if report.did_nothing() {
                    "nothing to do"
                } else {
                    "built or pulled"
                }
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
