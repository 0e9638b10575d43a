//! The child process of the runner's cleanup tests (spawned through
//! [`assay_testkit::test_child`]), so what they kill or signal is a real separate process:
//!
//! ```text
//! assay-test-child hold-run RUN_ID         set a run up, print `READY <run id>`, wait to be killed
//! assay-test-child grade-until-signalled P grade with the CLI's signal handler (run prefix P),
//!                                          print `ENDED cancelled` or `ENDED otherwise`
//! ```
//!
//! The parent test has prepared the images; this process only connects to the daemon.

use assay_runner::{run_checks, RunError};
use assay_sandbox::Engine;
use assay_testkit::{projects, runs};
use std::time::Duration;

const USAGE: &str =
    "usage: assay-test-child hold-run RUN_ID | assay-test-child grade-until-signalled PREFIX";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, arg] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let engine = Engine::connect().await.expect("the daemon answers");
        let dir = tempfile::tempdir().expect("a temp dir");
        let project = projects::good_project(dir.path());
        match command.as_str() {
            "hold-run" => {
                let s = runs::stack(&engine, &project, arg, Duration::from_secs(120), true).await;
                println!("READY {}", s.plan.run_id);
                tokio::time::sleep(Duration::from_secs(120)).await;
                drop(s);
            }
            "grade-until-signalled" => {
                let mut i = runs::inputs("app", "s3cret-pw", "notes");
                i.run_prefix = arg.clone();
                let cancel = assay_runner::cancel_on_signals();
                let r = run_checks(&engine, &project, &i, cancel).await;
                let how = if matches!(r, Err(RunError::Cancelled)) {
                    "cancelled"
                } else {
                    "otherwise"
                };
                println!("ENDED {how}");
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    });
}
