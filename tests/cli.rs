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
    let v = single_report(&o);
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
    let v = single_report(&o);
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
        vec!["logs", "--help"],
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
    let v = single_report(&o);
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

#[test]
fn logs_kit_generates_counts_and_grades_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let log_s = log.to_str().unwrap();
    let own = ["--own", "10.0.0.0/8"];
    let mut gen = vec![
        "logs", "generate", "--out", log_s, "--lines", "800", "--seed", "3",
    ];
    gen.extend(own);
    let o = assay(&gen);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let key: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("access.log.answer.json")).unwrap())
            .unwrap();
    let expected = key["matched"].as_u64().expect("answer key has matched");

    let mut count = vec!["logs", "count", log_s, "--json"];
    count.extend(own);
    let o = assay(&count);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["matched"].as_u64(), Some(expected), "{v}");

    let right = expected.to_string();
    let mut grade = vec!["logs", "grade", log_s, "--answer", right.as_str()];
    grade.extend(own);
    assert_eq!(assay(&grade).status.code(), Some(0));
    // Counting the bots too is a known mistake: FAIL, and the message names it.
    let with_bots = key["alternatives"]["with_bots"]
        .as_u64()
        .unwrap()
        .to_string();
    let mut grade = vec!["logs", "grade", log_s, "--answer", with_bots.as_str()];
    grade.extend(own);
    let o = assay(&grade);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("bots"), "{}", stdout(&o));

    let o = assay(&["logs", "count", "/no/such/access.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/access.log"), "{}", stderr(&o));
}

/// `assay logs count -` reads the log from a pipe and finds what it finds in the file, line
/// numbers of malformed lines included.
#[test]
fn logs_count_reads_standard_input_like_the_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let log_s = log.to_str().unwrap();
    let gen = [
        "logs",
        "generate",
        "--out",
        log_s,
        "--lines",
        "5000",
        "--seed",
        "12",
        "--own",
        "10.0.0.0/8",
    ];
    assert_eq!(assay(&gen).status.code(), Some(0));
    let o = assay(&["logs", "count", log_s, "--own", "10.0.0.0/8", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let from_file: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["logs", "count", "-", "--own", "10.0.0.0/8", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(&log).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // In pieces, as a pipe delivers them.
        for piece in data.chunks(7919) {
            stdin.write_all(piece).unwrap();
        }
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let from_stdin: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(from_stdin, from_file);
    assert!(from_file["malformed_lines"].as_u64().unwrap() > 0);
}

/// `examples/good.zip` is what a candidate who changed nothing in the handout sends: its
/// `sample-webapp/` must be the current handout (rebuild it with `examples/build-zips.sh`).
#[test]
fn the_bundled_example_carries_the_current_handout_webapp() {
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        "examples/good.zip",
    ]);
    let v = single_report(&o);
    let notes = v["notes"].as_array().expect("notes");
    assert!(
        !notes
            .iter()
            .any(|n| n.as_str().unwrap_or("").contains("differs from the handout")),
        "examples/good.zip holds an old copy of sample-webapp; run examples/build-zips.sh: {notes:?}"
    );
}

/// Ctrl-C (SIGINT) ends `assay logs follow` with its final count and exit 0, as a grader
/// watching a live log expects; it is not killed mid-line.
#[cfg(unix)]
#[test]
fn logs_follow_stops_on_sigint_with_the_final_count() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = "198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] \"GET /api/notes HTTP/1.1\" 200 12 \"-\" \"curl/8.5.0\"\n";
    std::fs::write(&log, line).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["logs", "follow", log.to_str().unwrap(), "--poll-ms", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("matched 1"), "{first}");
    // A second request arrives while it watches.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    assert!(second.starts_with("matched 2"), "{second}");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(
        rest.contains("final: 2 requests to GET /api/notes"),
        "{rest}"
    );
}

#[test]
fn among_compose_files_one_folder_down_the_one_with_postgres_and_the_webapp_is_graded() {
    let v = static_report(&repo_root().join("tests/fixtures/two-compose-folders"));
    let report = &v;
    let found = check(report, "compose.found")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        found.starts_with("stack/docker-compose.yml found (chosen by content among 2 compose files one folder down: it has the Postgres service and the webapp)"),
        "{found}"
    );
    assert!(
        found.contains("merged with stack/docker-compose.override.yml as docker compose does"),
        "{found}"
    );
    assert!(
        found.ends_with("also present, not used: api-mock/compose.yaml (neither a Postgres service nor the webapp)"),
        "{found}"
    );
    for id in [
        "compose.db-service",
        "compose.webapp-service",
        "compose.db-host",
        "compose.credentials",
    ] {
        assert_eq!(check(report, id)["status"], "pass", "{id}: {report}");
    }
    // The password the webapp uses is cited where the override sets it.
    let creds = check(report, "compose.credentials")["evidence"]
        .as_str()
        .unwrap();
    assert!(
        creds
            .contains("PGPASSWORD (from $DB_PASSWORD, set in stack/docker-compose.override.yml:5)"),
        "{creds}"
    );
}

#[test]
fn pwd_is_the_project_directory_and_reports_never_show_the_work_dir() {
    let path = repo_root().join("crates/assay-checks/tests/fixtures/checks/pwd-binds");
    let v = static_report(&path);
    assert_eq!(check(&v, "compose.security")["status"], "pass", "{v}");
    assert_eq!(
        check(&v, "compose.webapp-service")["evidence"],
        "service `webapp`: its build context `${PWD}/sample-webapp` holds the handout webapp (sample-webapp)"
    );
    let text = v.to_string();
    let work = std::env::temp_dir().to_string_lossy().into_owned();
    assert!(!text.contains(&work), "the work dir leaks: {text}");
    assert!(
        !text.contains(&repo_root().to_string_lossy().into_owned()),
        "{text}"
    );
    // The human report shows the warnings of passing checks.
    let o = assay(&["evaluate", "--static", path.to_str().unwrap()]);
    let human = stdout(&o);
    for line in [
        "warning: compose.valid: compose.yaml: `${PWD}` is read as the project directory (`.`), as when `docker compose up` runs in it",
        "warning: compose.security: compose.yaml:20:9: service `proxy`: bind source `./proxy/nginx.conf` does not exist in the submission",
    ] {
        assert!(human.contains(line), "{line:?} missing from:\n{human}");
    }
}

#[test]
fn a_missing_path_is_a_usage_error_before_any_docker_call() {
    // DOCKER_HOST names a socket that does not exist: any Docker call would end in "Docker is
    // not reachable" and exit 3. Exit 2 naming the path, with no word of Docker, shows that the
    // path was checked first.
    let o = assay_with_env(&["evaluate", "no/such.zip"], &[("DOCKER_HOST", NO_DAEMON)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no/such.zip"), "{err}");
    assert!(err.contains("no such file or directory"), "{err}");
    assert!(!err.to_lowercase().contains("docker"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn in_a_batch_a_missing_path_stops_everything_before_grading() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("reports");
    let o = assay_with_env(
        &[
            "evaluate",
            "examples/good.zip",
            "no/such.zip",
            "--out",
            dest.to_str().unwrap(),
        ],
        &[("DOCKER_HOST", NO_DAEMON)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no/such.zip"), "{err}");
    assert!(!err.to_lowercase().contains("docker"), "{err}");
    assert!(stdout(&o).is_empty(), "nothing graded");
    assert!(!dest.exists(), "no report written");
}

#[test]
fn an_out_path_that_is_a_file_is_a_usage_error_before_grading() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "taken", b"x");
    let o = assay_with_env(
        &[
            "evaluate",
            "examples/good.zip",
            "--out",
            file.join("sub").to_str().unwrap(),
        ],
        &[("DOCKER_HOST", NO_DAEMON)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("--out") && err.contains("is not a folder"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("docker"), "{err}");
}

/// Every argument of every subcommand says what it does, and `evaluate --help` shows the
/// defaults a grader relies on.
#[test]
fn every_argument_has_help_and_defaults_are_shown() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" || a.is_hide_set() {
                continue;
            }
            if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&assay::cmd::Cli::command(), "assay", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:?}");

    let help = stdout(&assay(&["evaluate", "--help"]));
    for shown in [
        "180 in the built-in rubric",
        "[default: human]",
        "[default: 1]",
    ] {
        assert!(help.contains(shown), "{shown} missing from:\n{help}");
    }
    let gc = stdout(&assay(&["gc", "--help"]));
    for said in [
        "containers, networks and volumes",
        "work folder",
        "Never removes images",
    ] {
        assert!(gc.contains(said), "{said} missing from:\n{gc}");
    }
}

#[test]
fn a_tarball_is_refused_before_grading_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("candidate.tar.gz");
    std::fs::write(&tgz, b"\x1f\x8b\x08\x00not really").unwrap();
    let o = assay(&["evaluate", "--static", tgz.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("a tar.gz archive is not unpacked by assay")
            && err.contains("tar -xf")
            && err.contains("grade the folder"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "nothing graded");
}
