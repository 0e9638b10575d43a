//! Time and peak memory of intake on a zip bomb: 1 GiB of zeros, deflated (~1 MiB on disk).
//!
//! Run: `cargo run --release -p assay-intake --example bomb`
//!
//! Each case runs in its own child process so that its peak RSS (getrusage `ru_maxrss`) is its
//! own. Cases: `honest` declares 1 GiB (refused from the declared size), `lying-60MiB` declares
//! 60 MiB (under the 64 MiB per-file cap, so 60 MiB are inflated and written before the lie is
//! caught), `lying-1KiB` declares 1 KiB. Targets: < 2 s and < 100 MiB peak RSS each.

use assay_testkit::zipgen as support;

use assay_core::IntakeLimits;
use assay_intake::{open_in, DiscoverOptions};
use std::process::Command;
use std::time::Instant;

const CASES: [(&str, Option<u32>); 3] = [
    ("honest", None),
    ("lying-60MiB", Some(60 << 20)),
    ("lying-1KiB", Some(1024)),
];

fn main() {
    match std::env::args().nth(1) {
        Some(case) => run_case(&case),
        None => {
            println!(
                "{:<12} {:>10} {:>12} {:>14}  outcome",
                "case", "zip bytes", "elapsed ms", "peak RSS MiB"
            );
            let exe = std::env::current_exe().expect("own path");
            let mut all_ok = true;
            for (name, _) in CASES {
                let out = Command::new(&exe).arg(name).output().expect("run a case");
                let line = String::from_utf8_lossy(&out.stdout);
                print!("{line}");
                all_ok &= out.status.success();
            }
            println!("targets: elapsed < 2000 ms, peak RSS < 100 MiB");
            if !all_ok {
                std::process::exit(1);
            }
        }
    }
}

fn run_case(name: &str) {
    let declared = CASES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .expect("known case");
    let dir = tempfile::tempdir().expect("temp dir");
    let zip = dir.path().join("bomb.zip");
    let zip_bytes = support::write_zero_bomb(&zip, "zeros.bin", 1 << 30, declared);
    let opts = DiscoverOptions {
        webapp_package: "sample-webapp".into(),
    };
    let started = Instant::now();
    let result = open_in(&zip, &IntakeLimits::default(), &opts, dir.path());
    let elapsed = started.elapsed();
    let rss_mib = peak_rss_kib() as f64 / 1024.0;
    let outcome = match &result {
        Ok(_) => "ACCEPTED (wrong!)".to_string(),
        Err(e) => e.to_string(),
    };
    println!(
        "{name:<12} {zip_bytes:>10} {:>12.1} {rss_mib:>14.1}  {outcome}",
        elapsed.as_secs_f64() * 1000.0
    );
    let within = elapsed.as_secs_f64() < 2.0 && rss_mib < 100.0;
    std::process::exit(if result.is_err() && within { 0 } else { 1 });
}

/// Peak resident set size of this process, KiB (Linux `ru_maxrss`).
fn peak_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full `rusage` into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: rc == 0, so the struct was filled in.
    unsafe { usage.assume_init() }.ru_maxrss
}
