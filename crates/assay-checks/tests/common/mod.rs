//! Helpers shared by the integration tests: a rubric, loading a fixture, finding a check.
#![allow(dead_code)]

use assay_checks::{compose_checks, CheckContext, ComposeFacts};
use assay_compose::{LoadOptions, Loaded};
use assay_core::*;
use std::path::{Path, PathBuf};

/// The built-in default rubric (`rubrics/default.yaml`), as the product uses it.
pub fn rubric() -> Rubric {
    assay_core::default_rubric()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The first compose file of a directory, as intake would find it.
pub fn compose_file(root: &Path) -> PathBuf {
    for name in [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yaml",
        "docker-compose.yml",
    ] {
        if root.join(name).is_file() {
            return PathBuf::from(name);
        }
    }
    panic!("no compose file in {}", root.display());
}

/// The fixture directory opened as a submission root, as intake would.
pub fn open_root(root: &Path) -> SubmissionRoot {
    SubmissionRoot::open(root).unwrap_or_else(|e| panic!("{e}"))
}

pub fn load(root: &Path) -> Loaded {
    assay_compose::load(
        &open_root(root),
        &compose_file(root),
        &LoadOptions::default(),
    )
}

/// Loads `root` and runs every check, with the webapp dirs intake would discover (`sample-webapp`
/// when present).
pub fn run(root: &Path) -> (Loaded, ComposeFacts) {
    let loaded = load(root);
    let dirs: Vec<PathBuf> = if root.join("sample-webapp/Cargo.toml").is_file() {
        vec![PathBuf::from("sample-webapp")]
    } else {
        Vec::new()
    };
    let rubric = rubric();
    let root = open_root(root);
    let ctx = CheckContext {
        root: &root,
        rubric: &rubric,
        webapp_dirs: &dirs,
    };
    let facts = compose_checks(&loaded, &ctx);
    (loaded, facts)
}

pub fn check(facts: &ComposeFacts, id: CheckId) -> &CheckResult {
    facts
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

/// Writes files (path → content) under `dir`, creating parents.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

/// The shared corpora, or `None` after a printed notice (a failure under `CI=true`).
pub fn corpora() -> Option<PathBuf> {
    assay_testkit::corpora("corpus tests")
}

/// One line per check: `id status evidence @ location`.
pub fn table(facts: &ComposeFacts) -> String {
    facts
        .checks
        .iter()
        .map(|c| {
            let at = c
                .location
                .as_ref()
                .map(|l| format!(" @ {l}"))
                .unwrap_or_default();
            format!(
                "  {:<26} {:<7} {}{at}",
                c.id.as_str(),
                c.status.to_string(),
                c.evidence
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
