//! Benchmark: what reading through the [`SubmissionRoot`] costs (every component opened with
//! `O_NOFOLLOW`, capped) next to the path-based read it replaced in the compose loader
//! (`canonicalize` + `starts_with` + `metadata` + `fs::read`), on the same files, alternating.
//!
//! `cargo bench -p assay-core --bench root_read`

use assay_core::SubmissionRoot;
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The loader's old read: follow links, check the real path, then read by path again.
fn path_based(root: &Path, rel: &Path, cap: u64) -> Vec<u8> {
    let real = root.join(rel).canonicalize().unwrap();
    assert!(real.starts_with(root));
    let meta = std::fs::metadata(&real).unwrap();
    assert!(meta.is_file() && meta.len() <= cap);
    std::fs::read(&real).unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root_path = dir.path().canonicalize().unwrap();
    let cases = [
        ("compose.yaml", 2 * 1024),
        ("services/web/config/app.env", 512),
        ("a/b/c/d/e/f/g/h/deep.txt", 64 * 1024),
    ];
    for (rel, size) in cases {
        let p = root_path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, vec![b'x'; size]).unwrap();
    }
    let root = SubmissionRoot::open(&root_path).unwrap();
    let cap = 4 * 1024 * 1024;
    let runs = 20_000;
    println!("{runs} alternating reads of each file; median per read");
    println!(
        "{:<38} {:>12} {:>16} {:>7}",
        "file (depth, bytes)", "path-based", "SubmissionRoot", "ratio"
    );
    for (rel, size) in cases {
        let rel = Path::new(rel);
        let (mut old, mut new) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for _ in 0..runs {
            let t = Instant::now();
            let a = path_based(&root_path, rel, cap);
            old.push(t.elapsed());
            let t = Instant::now();
            let b = root.read(rel, cap).unwrap();
            new.push(t.elapsed());
            assert_eq!(a.len(), b.len());
        }
        let (old, new) = (median(old), median(new));
        println!(
            "{:<38} {:>12?} {:>16?} {:>6.2}x",
            format!("{} ({}, {size})", rel.display(), rel.components().count()),
            old,
            new,
            new.as_secs_f64() / old.as_secs_f64()
        );
    }
}
