//! Shared helpers of the integration tests.
#![allow(dead_code)]

use assay_compose::{load_project, LoadOptions, Loaded};
use assay_core::Diagnostic;
use std::path::{Path, PathBuf};

/// The shared corpora, or `None` after a printed notice (a failure under `CI=true`).
pub fn corpora() -> Option<PathBuf> {
    assay_testkit::corpora("corpus tests")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn load(root: &Path, file: &str) -> Loaded {
    load_project(root, Path::new(file), &LoadOptions::default())
}

pub fn errors(l: &Loaded) -> Vec<&Diagnostic> {
    l.diagnostics.iter().filter(|d| d.is_error()).collect()
}

/// Every compose file of the awesome-compose corpus: (directory, file name).
pub fn awesome_compose_files(corpora: &Path) -> Vec<(PathBuf, String)> {
    let root = corpora.join("awesome-compose");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("awesome-compose is readable")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        for name in [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yaml",
            "docker-compose.yml",
        ] {
            if dir.join(name).is_file() {
                out.push((dir.clone(), name.to_string()));
            }
        }
    }
    out
}
