//! Benchmark: loading the largest awesome-compose sample (by bytes), median of many runs and the
//! process's peak RSS, next to `docker-compose config -q` (v1) on the same file.
//!
//! `cargo bench -p assay-compose --bench load`

use assay_compose::{load_project, LoadOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn largest_sample(corpora: &Path) -> Option<(PathBuf, String)> {
    let mut best: Option<(u64, PathBuf, String)> = None;
    for dir in std::fs::read_dir(corpora.join("awesome-compose"))
        .ok()?
        .flatten()
    {
        for name in ["compose.yaml", "compose.yml"] {
            if let Ok(m) = std::fs::metadata(dir.path().join(name)) {
                if best.as_ref().is_none_or(|(size, _, _)| m.len() > *size) {
                    best = Some((m.len(), dir.path(), name.to_string()));
                }
            }
        }
    }
    best.map(|(_, d, n)| (d, n))
}

fn main() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let Some((dir, name)) = largest_sample(&corpora) else {
        eprintln!("notice: the shared corpora are missing; nothing to benchmark");
        return;
    };
    println!(
        "file: {}/{name} ({} bytes)",
        dir.display(),
        std::fs::metadata(dir.join(&name))
            .map(|m| m.len())
            .unwrap_or(0)
    );
    let rss_before = peak_rss_kib();
    let opts = LoadOptions::default();
    let runs = 2000;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let loaded = load_project(&dir, Path::new(&name), &opts);
        times.push(t.elapsed());
        assert!(!loaded.has_errors());
    }
    println!(
        "assay-compose load_project: median {:?} over {runs} runs; peak RSS {} KiB (before loading: {} KiB)",
        median(times),
        peak_rss_kib().unwrap_or(0),
        rss_before.unwrap_or(0)
    );

    let path = std::env::var("PATH").unwrap_or_default();
    let mut v1 = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", "docker-compose", "-f", &name, "config", "-q"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", &path)
            .output();
        let elapsed = t.elapsed();
        match out {
            Ok(o) if o.status.success() => {
                let rss = String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                v1.push((elapsed, rss));
            }
            _ => {
                println!("docker-compose v1 (or /usr/bin/time) unavailable; no comparison");
                return;
            }
        }
    }
    let rss = v1.last().map(|(_, r)| r.clone()).unwrap_or_default();
    println!(
        "docker-compose config -q (v1): median {:?} over {} runs; peak RSS {rss} KiB",
        median(v1.into_iter().map(|(t, _)| t).collect()),
        10
    );
}
