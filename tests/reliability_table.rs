//! RELIABILITY.md is generated from one table (scripts/reliability.py): every item of the
//! security checklist and every attack of issues 10 and 11 has a row there, so a new checklist
//! item without a row fails here, and so does a proving test that no source defines any more
//! (renamed or removed). Needs python3 (the CI script has it); without it the test is
//! skipped with a notice, except under `CI=true`.

use std::path::Path;
use std::process::{Command, Output};

/// `python3 ARGS` in the repository root, or `None` after a skip notice.
fn python(args: &[&str]) -> Option<Output> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match Command::new("python3")
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(root)
        .output()
    {
        Ok(o) => Some(o),
        Err(e) => {
            assay_testkit::skip(module_path!(), &format!("python3 not runnable: {e}"));
            None
        }
    }
}

fn script(args: &[&str]) -> Option<Output> {
    python(&[&["scripts/reliability.py"], args].concat())
}

#[test]
fn the_scripts_own_examples_hold() {
    let Some(o) = python(&["-m", "doctest", "scripts/reliability.py"]) else {
        return;
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn every_checklist_item_and_every_attack_of_issues_10_and_11_has_a_row() {
    let Some(o) = script(&["--check", "--strict"]) else {
        return;
    };
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("cover checklist items 1-36"), "{out}");

    // The check can fail: a checklist with one item more than the table has rows.
    let dir = tempfile::tempdir().unwrap();
    let checklist = dir.path().join("checklist.md");
    std::fs::write(&checklist, "1. first\n36. last\n37. a new attack\n").unwrap();
    let o = script(&["--check", "--checklist", checklist.to_str().unwrap()]).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("checklist item 37 has no row"), "{err}");
}
