//! What a normal submission gets: a private copy, an unwrapped top folder, forced modes, and
//! discovery of the files later stages need.

use assay_core::{IntakeLimits, Severity};
use assay_intake::{open, open_in, DiscoverOptions, IntakeError, SourceKind};
use assay_testkit::zipgen::*;
use std::path::{Path, PathBuf};

fn opts() -> DiscoverOptions {
    DiscoverOptions {
        webapp_package: "sample-webapp".into(),
    }
}

fn paths(v: &[&str]) -> Vec<PathBuf> {
    v.iter().map(PathBuf::from).collect()
}

const COMPOSE: &[u8] = b"services:\n  db:\n    image: postgres:16\n";
const WEBAPP_TOML: &[u8] = b"[package]\nname = \"sample-webapp\"\nversion = \"0.1.0\"\n";

#[test]
fn a_zip_of_a_folder_is_unwrapped_and_mac_junk_left_out() {
    let case = Case::new();
    let zip = Zip::new()
        .entry(Entry::dir("candidate/"))
        .file("candidate/compose.yaml", COMPOSE)
        .file("candidate/ANSWERS.md", b"# Q1\n")
        .file("candidate/.DS_Store", b"\0\0\0\x01Bud1")
        .file("__MACOSX/candidate/._compose.yaml", b"\0\x05\x16\x07");
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(ws.kind, SourceKind::Zip);
    assert!(ws.root.path().is_absolute());
    assert_eq!(tree(ws.root.path()), ["ANSWERS.md", "compose.yaml"]);
    assert_eq!(
        ws.discovery.compose_file,
        Some(PathBuf::from("compose.yaml"))
    );
    assert!(
        ws.notes.iter().any(|n| n
            .message
            .contains("unwrapped the single top folder `candidate/`")),
        "{:?}",
        ws.notes
    );
    drop(ws);
    case.assert_clean(&["submission.zip"]);
}

#[test]
fn two_top_folders_or_a_top_level_file_are_not_unwrapped() {
    let case = Case::new();
    let zip = Zip::new()
        .file("a/compose.yaml", COMPOSE)
        .file("README.md", b"# hi");
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(tree(ws.root.path()), ["README.md", "a/", "a/compose.yaml"]);
    assert!(ws.notes.is_empty());
}

#[test]
fn discovery_prefers_compose_yaml_like_docker_compose_and_reports_the_rest() {
    let case = Case::new();
    let zip = Zip::new()
        .file("docker-compose.yml", COMPOSE)
        .file("compose.yaml", COMPOSE)
        .file("compose.yml", COMPOSE)
        .file("old/docker-compose.yaml", COMPOSE)
        .file("docker-compose.override.yml", b"services: {}\n")
        .file("compose.override.yml", b"services: {}\n")
        .file(".env", b"POSTGRES_PASSWORD=x\n");
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    let d = &ws.discovery;
    assert_eq!(d.compose_file, Some(PathBuf::from("compose.yaml")));
    assert_eq!(
        d.other_compose_files,
        paths(&[
            "compose.yml",
            "docker-compose.yml",
            "old/docker-compose.yaml"
        ])
    );
    assert_eq!(
        d.override_files,
        paths(&["compose.override.yml", "docker-compose.override.yml"])
    );
    assert_eq!(d.env_file, Some(PathBuf::from(".env")));
}

#[test]
fn discovery_looks_one_folder_down_and_finds_the_env_beside_the_compose_file() {
    let case = Case::new();
    let zip = Zip::new()
        .file("README.md", b"# My submission\n")
        .file(".env", b"A=root\n")
        .file("deploy/docker-compose.yml", COMPOSE)
        .file("deploy/.env", b"A=deploy\n")
        .file(".devcontainer/compose.yaml", COMPOSE)
        .file("deep/er/compose.yaml", COMPOSE);
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    let d = &ws.discovery;
    assert_eq!(
        d.compose_file,
        Some(PathBuf::from("deploy/docker-compose.yml"))
    );
    assert_eq!(
        d.other_compose_files,
        paths(&[".devcontainer/compose.yaml"])
    );
    assert_eq!(d.env_file, Some(PathBuf::from("deploy/.env")));
    assert_eq!(d.readme, Some(PathBuf::from("README.md")));
    assert_eq!(d.answer_docs, paths(&["README.md"]));
}

#[test]
fn discovery_finds_answers_dockerfiles_manifests_and_the_webapp() {
    let case = Case::new();
    let zip = Zip::new()
        .file("compose.yaml", COMPOSE)
        .file("README.md", b"# Answers\n## Q2\n")
        .file("ANSWERS.md", b"# Q1\n")
        .file("answers/q2.md", b"text")
        .file("question-3.txt", b"text")
        .file("essays/q4.docx", b"PK")
        .file("essays/q5.pdf", b"%PDF")
        .file("essays/q5.html", b"<p>")
        .file("LICENSE.md", b"MIT")
        .file("CHANGELOG.md", b"1.0")
        .file("requirements.txt", b"flask")
        .file(".github/PULL_REQUEST_TEMPLATE.md", b"template")
        .file("webapp/Cargo.toml", WEBAPP_TOML)
        .file("webapp/README.md", b"# The handout")
        .file("webapp/NOTES.md", b"candidate notes")
        .file("webapp/src/main.rs", b"fn main() {}")
        .file("webapp/src/doc.md", b"inner docs")
        .file("webapp/Dockerfile", b"FROM rust")
        .file("db/db.Dockerfile", b"FROM postgres")
        .file("Dockerfile.dev", b"FROM rust")
        .file(
            "k8s/deploy.yaml",
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
        )
        .file("k8s/values.yml", b"replicas: 2\n")
        .file("other/Cargo.toml", b"[package]\nname = \"helper\"\n");
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    let d = &ws.discovery;
    assert_eq!(
        d.answer_docs,
        paths(&[
            "ANSWERS.md",
            "README.md",
            "answers/q2.md",
            "essays/q4.docx",
            "essays/q5.html",
            "essays/q5.pdf",
            "question-3.txt",
            "webapp/NOTES.md",
        ])
    );
    assert_eq!(d.readme, Some(PathBuf::from("README.md")));
    assert_eq!(
        d.dockerfiles,
        paths(&["Dockerfile.dev", "db/db.Dockerfile", "webapp/Dockerfile"])
    );
    assert_eq!(d.k8s_manifests, paths(&["k8s/deploy.yaml"]));
    assert_eq!(d.webapp_dirs, paths(&["webapp"]));
}

#[test]
fn a_submission_that_is_the_webapp_folder_keeps_its_readme_out_of_the_answers() {
    let case = Case::new();
    let zip = Zip::new()
        .file("Cargo.toml", WEBAPP_TOML)
        .file("README.md", b"# The handout")
        .file("src/main.rs", b"fn main() {}")
        .file("compose.yaml", COMPOSE)
        .file("ANSWERS.md", b"# Q1");
    zip.write(&case.path("submission.zip"));
    let ws = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(ws.discovery.webapp_dirs, paths(&["."]));
    assert_eq!(ws.discovery.readme, Some(PathBuf::from("README.md")));
    assert_eq!(ws.discovery.answer_docs, paths(&["ANSWERS.md"]));
}

#[test]
fn a_directory_is_copied_with_links_and_build_output_left_out() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let case = Case::new();
    let src = case.path("candidate");
    let outside = case.path("secret.txt");
    std::fs::write(&outside, b"grader secret").unwrap();
    for dir in ["answers", "target/debug", "node_modules/x", "webapp"] {
        std::fs::create_dir_all(src.join(dir)).unwrap();
    }
    std::fs::write(src.join("compose.yaml"), COMPOSE).unwrap();
    std::fs::write(src.join("answers/q2.md"), b"answer").unwrap();
    std::fs::set_permissions(
        src.join("answers/q2.md"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::write(src.join("target/debug/huge"), b"build output").unwrap();
    std::fs::write(src.join("node_modules/x/index.js"), b"js").unwrap();
    symlink(&outside, src.join("leak.txt")).unwrap();
    symlink("/", src.join("webapp/root")).unwrap();
    let fifo = src.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());

    let ws = open_in(&src, &IntakeLimits::default(), &opts(), &case.work()).unwrap();
    assert_eq!(ws.kind, SourceKind::Directory);
    let work_dir = ws.root.path().parent().unwrap();
    assert_eq!(
        std::fs::metadata(work_dir).unwrap().permissions().mode() & 0o7777,
        0o700,
        "the work dir is the grader's alone"
    );
    assert_eq!(
        tree(ws.root.path()),
        ["answers/", "answers/q2.md", "compose.yaml", "webapp/"]
    );
    assert_eq!(
        std::fs::metadata(ws.root.path().join("answers/q2.md"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );
    let warnings: Vec<&str> = ws
        .notes
        .iter()
        .filter(|n| n.severity == Severity::Warning)
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("`leak.txt`")));
    assert!(warnings.iter().any(|w| w.contains("`webapp/root`")));
    assert!(warnings
        .iter()
        .any(|w| w.contains("`pipe`") && w.contains("not a regular file")));
    assert!(ws.notes.iter().any(|n| n.message.contains("`target/`")));
    drop(ws);
    assert_eq!(std::fs::read(&outside).unwrap(), b"grader secret");
    assert!(
        case.work().read_dir().unwrap().next().is_none(),
        "the temp dir is removed on drop"
    );
}

#[test]
fn a_git_checkout_is_copied_without_its_git_folder() {
    let case = Case::new();
    let src = case.path("repo");
    std::fs::create_dir_all(src.join(".git/objects")).unwrap();
    std::fs::write(
        src.join(".git/config"),
        b"[core]\n\thooksPath = /tmp/evil\n",
    )
    .unwrap();
    std::fs::write(src.join("docker-compose.yml"), COMPOSE).unwrap();
    let ws = open_in(&src, &IntakeLimits::default(), &opts(), &case.work()).unwrap();
    assert_eq!(ws.kind, SourceKind::GitCheckout);
    assert_eq!(tree(ws.root.path()), ["docker-compose.yml"]);
    assert_eq!(
        ws.discovery.compose_file,
        Some(PathBuf::from("docker-compose.yml"))
    );
}

#[test]
fn a_directory_over_the_caps_is_rejected_and_nothing_is_left() {
    let case = Case::new();
    let src = case.path("big");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.bin"), vec![0u8; 5000]).unwrap();
    let limits = IntakeLimits {
        max_file_bytes: 4096,
        ..IntakeLimits::default()
    };
    match open_in(&src, &limits, &opts(), &case.work()) {
        Err(IntakeError::Rejected { entry, reason }) => {
            assert_eq!(entry, "a.bin");
            assert!(reason.contains("per-file limit of 4 KiB"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(case.work().read_dir().unwrap().next().is_none());
}

#[test]
fn usage_errors_are_told_apart_from_rejections() {
    let case = Case::new();
    let missing = case.path("no/such/file.zip");
    let err = open(&missing, &IntakeLimits::default(), &opts()).unwrap_err();
    assert!(matches!(err, IntakeError::Usage { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{}: no such file or directory", missing.display())
    );
    let text = case.path("notes.txt");
    std::fs::write(&text, b"hello").unwrap();
    let err = open(&text, &IntakeLimits::default(), &opts()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("notes.txt: not a .zip file or a directory"),
        "{err}"
    );
    // A zip without the .zip name is still a zip.
    let odd = case.path("submission.bin");
    Zip::new().file("compose.yaml", COMPOSE).write(&odd);
    let ws = open(&odd, &IntakeLimits::default(), &opts()).unwrap();
    assert_eq!(ws.kind, SourceKind::Zip);
    assert!(ws.root.path().join("compose.yaml").is_file());
}

#[test]
fn rejection_messages_are_one_clear_line() {
    let case = Case::new();
    Zip::new()
        .entry(Entry::stored("../evil.txt", b"x"))
        .write(&case.path("submission.zip"));
    let err = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry `../evil.txt`: path traversal: the name contains a `..` component"
    );
}

#[test]
fn a_directory_holding_the_temp_parent_is_not_copied_into_itself() {
    let case = Case::new();
    std::fs::write(case.path("compose.yaml"), COMPOSE).unwrap();
    // The private temp dir is made inside the very folder being copied.
    let ws = open_in(
        case.dir.path(),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(tree(ws.root.path()), ["compose.yaml", "work/"]);
}

/// Archives made by real tools (committed under tests/fixtures/): Info-ZIP's `zip -r` of a
/// folder, and Python's zipfile writing to an unseekable stream (data descriptors).
#[test]
fn archives_from_real_tools_are_taken() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let case = Case::new();
    let ws = open_in(
        &fixtures.join("infozip-folder.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(
        tree(ws.root.path()),
        [
            "answers/",
            "answers/q2.md",
            "compose.yaml",
            "webapp/",
            "webapp/Cargo.toml",
            "webapp/src/",
            "webapp/src/main.rs"
        ]
    );
    assert_eq!(ws.discovery.webapp_dirs, paths(&["webapp"]));
    assert_eq!(ws.discovery.answer_docs, paths(&["answers/q2.md"]));
    assert_eq!(
        std::fs::read_to_string(ws.root.path().join("answers/q2.md")).unwrap(),
        "# Q2\nSome words.\n"
    );

    let ws = open_in(
        &fixtures.join("python-streamed.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    )
    .unwrap();
    assert_eq!(
        tree(ws.root.path()),
        ["ANSWERS.md", "compose.yaml", "docs/"]
    );
    assert_eq!(
        std::fs::read(ws.root.path().join("ANSWERS.md")).unwrap(),
        b"word ".repeat(300)
    );
}

#[test]
fn stale_work_dirs_of_a_killed_run_are_swept_and_fresh_ones_kept() {
    use std::time::{Duration, SystemTime};
    let tmp = tempfile::tempdir().unwrap();
    let stale = tmp
        .path()
        .join(format!("{}stale", assay_intake::WORK_DIR_PREFIX));
    let fresh = tmp
        .path()
        .join(format!("{}fresh", assay_intake::WORK_DIR_PREFIX));
    let other = tmp.path().join("someone-else");
    for d in [&stale, &fresh, &other] {
        std::fs::create_dir_all(d.join("submission")).unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(7 * 3600);
    for d in [&stale, &other] {
        std::fs::File::open(d).unwrap().set_modified(old).unwrap();
    }
    let removed = assay_intake::sweep_stale_work_dirs(tmp.path(), Duration::from_secs(6 * 3600));
    assert_eq!(removed, 1);
    assert!(!stale.exists(), "the killed run's work dir is gone");
    assert!(fresh.exists(), "a work dir in use is kept");
    assert!(other.exists(), "nothing but assay's own dirs is touched");
}

#[test]
fn names_that_collide_without_case_are_ambiguous_in_a_folder_a_checkout_and_a_zip_alike() {
    let layouts: [(&[&str], &str, &str); 3] = [
        (&["README.md", "README.MD"], "README.md", "README.MD"),
        (
            &["docs/Answers.md", "docs/answers.md"],
            "docs/answers.md",
            "docs/Answers.md",
        ),
        (
            &["caf\u{e9}.md", "cafe\u{301}.md"],
            "caf\u{e9}.md",
            "cafe\u{301}.md",
        ),
    ];
    for (files, named, other) in layouts {
        let verdicts: Vec<String> = ["folder", "checkout", "zip"]
            .iter()
            .map(|how| {
                let case = Case::new();
                let src = case.path("candidate");
                let mut zip = Zip::new();
                for f in files {
                    let p = src.join(f);
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, f.as_bytes()).unwrap();
                    zip = zip.file(f, f.as_bytes());
                }
                let input = match *how {
                    "checkout" => {
                        std::fs::create_dir_all(src.join(".git")).unwrap();
                        std::fs::write(src.join(".git/HEAD"), b"ref: refs/heads/main\n").unwrap();
                        src.clone()
                    }
                    "zip" => {
                        zip.write(&case.path("submission.zip"));
                        case.path("submission.zip")
                    }
                    _ => src.clone(),
                };
                match open_in(&input, &IntakeLimits::default(), &opts(), &case.work()) {
                    Err(IntakeError::Rejected { entry, reason }) => {
                        assert!(
                            case.work().read_dir().unwrap().next().is_none(),
                            "{how}: nothing left behind"
                        );
                        format!("{entry}: {reason}")
                    }
                    other => panic!("{how} {files:?}: expected a rejection, got {other:?}"),
                }
            })
            .collect();
        // The zip names the later entry in archive order; the folder names them in sorted
        // order: both name the pair and call it ambiguous.
        for v in &verdicts {
            assert!(
                v.contains("when case and Unicode normalisation are ignored: ambiguous"),
                "{v}"
            );
            assert!(v.contains(named) || v.contains(other), "{v}");
        }
        assert_eq!(verdicts[0], verdicts[1], "folder and checkout agree");
    }
}
