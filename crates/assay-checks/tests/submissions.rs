//! The candidate-like fixture submissions, loaded end to end through the real compose loader.

mod common;
use assay_core::{CheckId, Status};
use common::*;

fn submission(name: &str) -> std::path::PathBuf {
    fixtures().join("submissions").join(name)
}

#[test]
fn print_all() {
    for name in ["good", "wrong-host", "wrong-password", "disjoint-networks", "no-startup-order", "no-volume", "container-name-fixed-port"] {
        let (loaded, facts) = run(&submission(name));
        eprintln!("== {name}: {:?}\n{}", loaded.diagnostics, table(&facts));
    }
}
