//! The same tree handed in as a folder, a git checkout or a zip gets the same verdict: every
//! fixture submission of the repository is graded (statically) all three ways in one batch and
//! the reports must agree check by check (only intake.unpack's "how" differs).

mod support;
use std::path::{Path, PathBuf};
use support::*;

/// Every fixture folder that is a submission root.
fn fixtures() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    for parent in [
        "crates/assay-checks/tests/fixtures/checks",
        "crates/assay-checks/tests/fixtures/submissions",
        "crates/assay-checks/tests/fixtures/policy",
        "tests/fixtures",
    ] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        out.extend(dirs);
    }
    out.push(root.join("examples/good"));
    out
}

/// Regular files under `dir`, relative, `/`-separated, sorted.
fn files(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            files(&e.path(), &path, out);
        } else if ft.is_file() {
            out.push((path, std::fs::read(e.path()).unwrap()));
        }
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    let mut all = Vec::new();
    files(src, "", &mut all);
    for (rel, bytes) in all {
        let p = dst.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// What must agree between two reports of the same tree.
fn comparable(report: &serde_json::Value) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let evidence = if c["id"] == "intake.unpack" && c["status"] == "pass" {
                serde_json::Value::Null
            } else {
                c["evidence"].clone()
            };
            serde_json::json!({
                "id": c["id"], "status": c["status"], "evidence": evidence,
                "location": c["location"], "details": c["details"],
            })
        })
        .collect();
    // A checkout's copy says it left `.git/` out, and the batch flags its three copies of one
    // answer as near-identical to each other; nothing else may differ.
    let notes: Vec<&serde_json::Value> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            let n = n.as_str().unwrap_or("");
            !n.starts_with("skipped `.git/`") && !n.contains("is near-identical")
        })
        .collect();
    serde_json::json!({
        "verdict": report["verdict"],
        "score": report["score"],
        "checks": checks,
        "answers": report["answers"],
        "notes": notes,
    })
}

/// The first difference between two comparable reports, readable.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    for key in ["verdict", "score", "answers", "notes"] {
        if a[key] != b[key] {
            return Some(format!("{key}: {} vs {}", a[key], b[key]));
        }
    }
    let (ca, cb) = (a["checks"].as_array()?, b["checks"].as_array()?);
    ca.iter()
        .zip(cb)
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("{x}\nvs\n{y}"))
}

#[test]
fn every_fixture_gets_the_same_report_as_a_folder_a_checkout_and_a_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["evaluate", "--static", "--format", "json"]
        .map(String::from)
        .to_vec();
    let fixtures = fixtures();
    for (i, fixture) in fixtures.iter().enumerate() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let folder = tmp.path().join(format!("{i:02}-{name}"));
        copy_tree(fixture, &folder);
        let checkout = tmp.path().join(format!("{i:02}-{name}-git"));
        copy_tree(fixture, &checkout);
        std::fs::create_dir_all(checkout.join(".git")).unwrap();
        write(&checkout.join(".git"), "HEAD", b"ref: refs/heads/main\n");
        let mut all = Vec::new();
        files(fixture, "", &mut all);
        let entries: Vec<(&str, &[u8])> = all
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        let zip = write(
            tmp.path(),
            &format!("{i:02}-{name}.zip"),
            &stored_zip(&entries),
        );
        for p in [folder, checkout, zip] {
            args.push(p.to_string_lossy().into_owned());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = assay(&args);
    let reports: Vec<serde_json::Value> =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    assert_eq!(reports.len(), fixtures.len() * 3, "{}", stderr(&o));
    for (fixture, three) in fixtures.iter().zip(reports.chunks(3)) {
        let shown = fixture.strip_prefix(repo_root()).unwrap().display();
        let folder = comparable(&three[0]);
        for (how, other) in [("git checkout", &three[1]), ("zip", &three[2])] {
            if let Some(d) = first_difference(&folder, &comparable(other)) {
                panic!("{shown}: folder vs {how}: {d}");
            }
        }
    }
}
