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
        let v = single_report(&o);
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

/// Unzips the handout into `dir` (files only; every entry is under the handout folder).
fn unzip_into(zip_path: &std::path::Path, dir: &std::path::Path) {
    for (name, text) in read_zip(zip_path) {
        let p = dir.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn self_check(folder: &std::path::Path) -> (Option<i32>, String) {
    let o = std::process::Command::new("sh")
        .arg(folder.join("self-check.sh"))
        .env_remove("DB_PASSWORD")
        .output()
        .unwrap();
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `assay kit` unpacked into a temp dir: the dir (kept alive) and the handout folder.
fn unpacked_kit() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("handout.zip");
    let o = assay(&["kit", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    unzip_into(&out, dir.path());
    let folder = dir.path().join("devops-take-home");
    (dir, folder)
}

#[test]
fn the_handout_readme_is_the_candidates_guide_and_says_how_to_submit() {
    let (_dir, folder) = unpacked_kit();
    let top = std::fs::read_to_string(folder.join("README.md")).unwrap();
    let webapp = std::fs::read_to_string(folder.join("sample-webapp/README.md")).unwrap();
    assert_ne!(top, webapp, "the top README is not a copy of the webapp's");
    assert!(top.starts_with("# DevOps take-home\n"), "{top}");
    for section in [
        "## The task",
        "## Questions",
        "## How to submit",
        "## Check before you send",
        "## What will be checked",
    ] {
        assert!(top.contains(section), "{section} missing");
    }
    for promise in [
        "build: ./sample-webapp",
        "image: sample-webapp",
        "beside that file",
        "offline",
        "`postgres:16`",
        "sh self-check.sh",
        "zip -r submission.zip devops-take-home",
    ] {
        assert!(top.contains(promise), "{promise:?} missing from:\n{top}");
    }
    // The webapp README keeps its own documentation and points up for the questions.
    assert!(webapp.contains("## Configuration"));
    assert!(webapp.contains("one folder up (`../README.md`)"));
    assert!(!webapp.contains("### Q1"), "the questions are in one place");
    // Every path a command in the top README names exists where it says (run from the folder).
    for path in ["sample-webapp/Dockerfile", "self-check.sh"] {
        assert!(folder.join(path).is_file(), "{path}");
    }
    assert!(top.contains("docker build -t sample-webapp ./sample-webapp"));
}

#[test]
fn the_self_check_finds_what_the_grader_would_and_passes_a_complete_folder() {
    let (_dir, folder) = unpacked_kit();

    // The handout as it comes: no answers yet.
    let (code, text) = self_check(&folder);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no compose file here or one folder down"),
        "{text}"
    );
    assert!(text.contains("no ANSWERS.md"), "{text}");

    // A compose file one folder down that forgets its .env and uses an image the grader lacks.
    std::fs::create_dir_all(folder.join("deploy")).unwrap();
    std::fs::write(
        folder.join("deploy/compose.yaml"),
        "services:\n  db:\n    image: postgres:13\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n  webapp:\n    build: ../sample-webapp\n    environment:\n      PGHOST: db\n      PGPASSWORD: ${DB_PASSWORD}\n",
    )
    .unwrap();
    let words = |n: usize| vec!["word"; n].join(" ");
    std::fs::write(
        folder.join("ANSWERS.md"),
        format!("## Q1\n\n{}\n\n## Q3\n\n{}\n", words(260), words(120)),
    )
    .unwrap();
    let (code, text) = self_check(&folder);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("orchestration file: deploy/compose.yaml"),
        "{text}"
    );
    assert!(
        text.contains("${DB_PASSWORD} is used in deploy/compose.yaml but not set in deploy/.env"),
        "{text}"
    );
    assert!(
        text.contains("image postgres:13: the grader runs postgres with one of these tags"),
        "{text}"
    );
    assert!(
        text.contains("ANSWERS.md Q3: 120 words (at least 250)"),
        "{text}"
    );

    // Fixed: .env beside the file, a tag the grader has, a long enough answer.
    std::fs::write(folder.join("deploy/.env"), "DB_PASSWORD=cobalt-fern-8\n").unwrap();
    let compose = std::fs::read_to_string(folder.join("deploy/compose.yaml")).unwrap();
    std::fs::write(
        folder.join("deploy/compose.yaml"),
        compose.replace("postgres:13", "postgres:16"),
    )
    .unwrap();
    std::fs::write(
        folder.join("ANSWERS.md"),
        format!("## Q1\n\n{}\n\n## Q3\n\n{}\n", words(260), words(300)),
    )
    .unwrap();
    let (code, text) = self_check(&folder);
    assert!(
        code == Some(0) || text.contains("docker compose config rejects"),
        "{text}"
    );
    assert!(
        !text.contains("PROBLEM") || text.contains("docker compose config rejects"),
        "{text}"
    );
    // And assay agrees the folder is a submission it can grade statically.
    let v = static_report(&folder);
    for id in [
        "compose.found",
        "compose.webapp-service",
        "compose.db-host",
        "compose.credentials",
    ] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}: {v}");
    }
}
