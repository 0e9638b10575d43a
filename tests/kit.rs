//! `assay kit`: the handout a candidate unzips and follows.

mod support;
use std::io::Read;
use support::*;

fn read_zip(path: &std::path::Path) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().unwrap().to_string(), s)
        })
        .collect()
}

#[test]
fn kit_holds_the_webapp_and_a_readme_with_the_rubric_questions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("handout.zip");
    let o = assay(&["kit", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = read_zip(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "devops-take-home/README.md",
        "devops-take-home/sample-webapp/Cargo.toml",
        "devops-take-home/sample-webapp/Dockerfile",
        "devops-take-home/sample-webapp/src/main.rs",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(names.iter().all(|n| n.starts_with("devops-take-home/")));
    assert!(
        !names.iter().any(|n| n.contains("/target/")),
        "no build output in the handout"
    );
    let readme = &files
        .iter()
        .find(|(n, _)| n == "devops-take-home/README.md")
        .unwrap()
        .1;
    assert!(
        !readme.contains(assay::kit::QUESTIONS_MARKER),
        "marker replaced"
    );
    let rubric = assay::rubric::default_rubric();
    for q in &rubric.questions {
        assert!(readme.contains(&q.title), "question {} missing", q.id);
    }
    assert!(readme.contains("250 words"));
    // The handout's webapp source is exactly the repository's.
    for (name, text) in &files {
        if let Some(rel) = name.strip_prefix("devops-take-home/sample-webapp/") {
            if rel == "README.md" {
                continue;
            }
            let ours =
                std::fs::read_to_string(repo_root().join("sample-webapp").join(rel)).unwrap();
            assert_eq!(&ours, text, "{rel} differs from sample-webapp/{rel}");
        }
    }
}

#[test]
fn kit_uses_a_custom_rubric_questions() {
    let dir = tempfile::tempdir().unwrap();
    let text = assay::rubric::DEFAULT_RUBRIC.replace(
        "title: A vulnerability",
        "title: A security incident you handled",
    );
    let r = write(dir.path(), "team.yaml", text.as_bytes());
    let out = dir.path().join("handout.zip");
    let o = assay(&[
        "kit",
        "--rubric",
        r.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = read_zip(&out);
    let readme = &files
        .iter()
        .find(|(n, _)| n == "devops-take-home/README.md")
        .unwrap()
        .1;
    assert!(readme.contains("A security incident you handled"));
}

#[test]
fn kit_into_a_missing_folder_is_a_clear_error() {
    let o = assay(&["kit", "--out", "/no/such/dir/handout.zip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/no/such/dir/handout.zip"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_modified_webapp_in_a_submission_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    let web = sub.join("sample-webapp");
    std::fs::create_dir_all(web.join("src")).unwrap();
    for (rel, bytes) in assay::kit::WEBAPP_FILES {
        let p = web.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::copy(
        repo_root().join("tests/fixtures/essay-only/ANSWERS.md"),
        sub.join("ANSWERS.md"),
    )
    .unwrap();
    let run = || {
        let o = assay(&[
            "evaluate",
            "--static",
            "--format",
            "json",
            sub.to_str().unwrap(),
        ]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["notes"].as_array().cloned().unwrap_or_default()
    };
    assert!(
        !run()
            .iter()
            .any(|n| n.as_str().unwrap().contains("differs from the handout")),
        "pristine copy"
    );
    std::fs::write(
        web.join("src/main.rs"),
        "fn main() { /* always healthy */ }",
    )
    .unwrap();
    std::fs::write(web.join("src/extra.rs"), "").unwrap();
    let notes = run();
    let note = notes
        .iter()
        .map(|n| n.as_str().unwrap())
        .find(|n| n.contains("differs from the handout"))
        .expect("reported");
    assert!(
        note.contains("changed src/main.rs") && note.contains("added src/extra.rs"),
        "{note}"
    );
}
