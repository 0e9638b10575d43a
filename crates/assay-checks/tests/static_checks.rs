//! Every static check, passing and failing, on fixture submissions loaded end to end.

mod common;
use assay_core::{CheckId, Status};
use common::*;

#[test]
fn print_all() {
    let mut cases: Vec<_> = std::fs::read_dir(fixtures().join("checks")).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    for root in cases {
        let (loaded, facts) = run(&root);
        eprintln!("== {}: {:?} {:?}\n{}", root.file_name().unwrap().to_string_lossy(), loaded.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>(), facts.db_credentials, table(&facts));
    }
}
