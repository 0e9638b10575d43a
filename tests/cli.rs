//! The real binary, end to end: exit codes, error lines, report shapes.

mod support;
use support::*;

#[test]
fn missing_submission_is_a_usage_error_on_one_line() {
    let o = assay(&["evaluate", "--static", "/no/such/file"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains("/no/such/file"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn garbage_named_zip_is_a_fail_verdict_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "candidate.zip",
        b"this is not a zip at all, just bytes \x00\x01\x02",
    );
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json report");
    assert_eq!(v["verdict"], "fail");
    let unpack = check(&v, "intake.unpack");
    assert_eq!(unpack["status"], "fail");
    assert!(unpack["evidence"].as_str().unwrap().len() > 10, "{unpack}");
    let blocked = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "skipped")
        .count();
    assert_eq!(blocked, 23, "everything behind intake.unpack is skipped");
}

#[test]
fn traversal_entry_fails_intake_naming_the_entry_and_writes_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let zip = stored_zip(&[("ok.txt", b"fine"), ("../evil.txt", b"evil")]);
    let p = write(dir.path(), "evil.zip", &zip);
    let before = listing(dir.path());
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let unpack = check(&v, "intake.unpack");
    assert_eq!(unpack["status"], "fail");
    assert!(
        unpack["evidence"].as_str().unwrap().contains("../evil.txt"),
        "{unpack}"
    );
    assert_eq!(listing(dir.path()), before, "nothing new beside the zip");
    assert!(!dir.path().parent().unwrap().join("evil.txt").exists());
}

#[test]
fn every_subcommand_help_has_an_example() {
    for args in [
        vec!["--help"],
        vec!["evaluate", "--help"],
        vec!["compose", "config", "--help"],
    ] {
        let o = assay(&args);
        assert_eq!(o.status.code(), Some(0));
        let text = stdout(&o);
        assert!(text.contains("Example"), "{args:?}: {text}");
    }
}

#[test]
fn bad_flag_is_a_usage_error() {
    let o = assay(&["evaluate", "--jobs", "0", "x.zip"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn invalid_rubric_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = assay::rubric::DEFAULT_RUBRIC.replace("min_words: 250", "min_wrds: 250");
    let r = write(dir.path(), "rubric.yaml", text.as_bytes());
    let o = assay(&[
        "evaluate",
        "--static",
        "--rubric",
        r.to_str().unwrap(),
        "examples/good.zip",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("min_wrds"), "{}", stderr(&o));
}

/// A socket path no daemon listens on.
const NO_DAEMON: &str = "unix:///nonexistent/assay-test.sock";

#[test]
fn without_a_daemon_evaluate_says_so_and_exits_3() {
    let o = assay_with_env(
        &["evaluate", "examples/good.zip"],
        &[("DOCKER_HOST", NO_DAEMON)],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Docker is not reachable at unix:///nonexistent/assay-test.sock"),
        "{err}"
    );
    assert!(err.contains("--static"), "{err}");
    assert!(stdout(&o).is_empty(), "no report: nothing was graded");
}

#[test]
fn without_a_daemon_an_optional_runtime_grades_statically() {
    let dir = tempfile::tempdir().unwrap();
    let text = assay::rubric::DEFAULT_RUBRIC.replace(
        "  required: true\n  cold_start_pause_secs",
        "  required: false\n  cold_start_pause_secs",
    );
    assert_ne!(text, assay::rubric::DEFAULT_RUBRIC);
    let r = write(dir.path(), "rubric.yaml", text.as_bytes());
    let o = assay_with_env(
        &[
            "evaluate",
            "--format",
            "json",
            "--rubric",
            r.to_str().unwrap(),
            "examples/good.zip",
        ],
        &[("DOCKER_HOST", NO_DAEMON)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let up = check(&v, "runtime.up");
    assert_eq!(up["status"], "skipped");
    assert!(
        up["evidence"]
            .as_str()
            .unwrap()
            .contains("Docker is not reachable"),
        "{up}"
    );
}
