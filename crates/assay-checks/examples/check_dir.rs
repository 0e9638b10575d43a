//! Prints the security policy and the static checks of one submission directory.
//!
//! `cargo run -p assay-checks --example check_dir -- DIR [--repeat N]`: with `--repeat`, loads and
//! checks N times and prints the median time and the peak RSS (a benchmark, not a test).

use assay_checks::{compose_checks, security_policy, CheckContext};
use assay_compose::{load_project, LoadOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: check_dir DIR [--repeat N]");
        std::process::exit(2);
    };
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let root = std::fs::canonicalize(dir).expect("DIR exists");
    let file = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yaml",
        "docker-compose.yml",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|f| root.join(f).is_file())
    .expect("a compose file in DIR");
    let rubric = rubric();
    let dirs: Vec<PathBuf> = if root.join("sample-webapp/Cargo.toml").is_file() {
        vec!["sample-webapp".into()]
    } else {
        vec![]
    };
    let submission = assay_core::SubmissionRoot::open(&root).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let ctx = CheckContext {
        root: &submission,
        rubric: &rubric,
        webapp_dirs: &dirs,
    };
    let run = || {
        let loaded = load_project(&root, &file, &LoadOptions::default());
        let facts = compose_checks(&loaded, &ctx);
        (loaded, facts)
    };
    let (loaded, facts) = run();
    for d in &loaded.diagnostics {
        println!("loader: {d}");
    }
    if let Some(p) = &loaded.project {
        for d in security_policy(p, &submission) {
            println!("policy {:?}: {d}", d.severity);
        }
    }
    for c in &facts.checks {
        let at = c
            .location
            .as_ref()
            .map(|l| format!(" @ {l}"))
            .unwrap_or_default();
        println!(
            "{:<26} {:<7} {}{at}",
            c.id.as_str(),
            c.status.to_string(),
            c.evidence
        );
    }
    println!(
        "db={:?} webapp={:?} credentials={:?}",
        facts.db_service, facts.webapp_service, facts.db_credentials
    );
    if repeat > 0 {
        let mut times: Vec<f64> = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!("load + checks, {repeat} runs: median {:.3} ms, min {:.3} ms, max {:.3} ms; peak RSS {}", times[repeat / 2], times[0], times[repeat - 1], peak_rss());
    }
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The built-in default rubric (`rubrics/default.yaml`), as the product uses it.
fn rubric() -> assay_core::Rubric {
    assay_core::default_rubric()
}
