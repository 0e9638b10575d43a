//! `assay evaluate` with the runtime phase, through the real binary against the real daemon.
//! Skips with a printed notice when Docker is unreachable, except under CI=true.

mod support;
use support::*;

fn full_report(path: &std::path::Path) -> (Option<i32>, serde_json::Value, String) {
    let o = assay(&[
        "evaluate",
        "--format",
        "json",
        "--timeout",
        "240",
        path.to_str().unwrap(),
    ]);
    let v = single_report(&o);
    assert_matches_schema(&v, &path.display().to_string());
    (o.status.code(), v, stderr(&o))
}

#[test]
fn the_bundled_example_passes_every_check_for_real() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (code, v, err) = full_report(&repo_root().join("examples/good.zip"));
    assert_eq!(code, Some(0), "{v}\n{err}");
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
    }
    assert_eq!(v["mode"], "full");
    // Provenance: the engine and every image the stack ran, each with the id Docker knows.
    let p = &v["provenance"];
    assert!(!p["docker"]["version"].as_str().unwrap().is_empty(), "{p}");
    let images = p["images"].as_array().unwrap();
    let roles: Vec<&str> = images.iter().map(|i| i["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["db", "webapp", "probe"], "{p}");
    for i in images {
        // The id names an image the daemon has (by id: another checkout's test run may have
        // re-tagged the reference since, its binaries hashing differently).
        let id = i["id"].as_str().unwrap();
        assert!(id.starts_with("sha256:"), "{i}");
        let o = std::process::Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", id])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), id, "{i}");
    }
    assert!(images[0]["postgres_version"].is_string(), "{p}");
    // One submission: every step of the main run is named on stderr, in order.
    let steps = [
        "assay: runtime: up, health, round-trip, scenarios, teardown",
        "assay:   creating and starting the services (",
        "assay:   waiting for the services to become ready (",
        "assay:   health: GET /health",
        "assay:   round-trip: a note through the webapp",
        "assay:   persistence: the db recreated",
        "assay:   scale: a second webapp replica",
        "assay:   tearing down: the run's containers, networks and volumes (",
    ];
    let mut at = 0;
    for step in steps {
        match err[at..].find(step) {
            Some(i) => at += i + step.len(),
            None => panic!("{step:?} not found in order in:\n{err}"),
        }
    }
}

#[test]
fn a_webapp_pointed_at_localhost_fails_at_runtime_with_the_cause() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let path = repo_root().join("crates/assay-checks/tests/fixtures/submissions/wrong-host");
    let (code, v, err) = full_report(&path);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(check(&v, "compose.db-host")["status"], "fail");
    let health = check(&v, "runtime.health");
    assert_ne!(health["status"], "pass", "{health}");
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        text.contains("localhost"),
        "evidence names the host the webapp tried"
    );
}

#[test]
fn build_webapp_runs_the_candidates_own_image() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    // A candidate Dockerfile that builds offline: it starts from the pristine image `assay
    // images` prepared and adds a label, so the run proves the built image is the one used.
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = evaluate_built(
        dir.path(),
        "FROM assay/sample-webapp:0.1.0\nLABEL candidate=yes\n",
    );
    for id in ["runtime.up", "runtime.health", "runtime.roundtrip"] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}: {v}");
    }
    let notes = serde_json::to_string(&v["notes"]).unwrap();
    assert!(notes.contains("candidate's own build"), "{notes}");
    let left = std::process::Command::new("docker")
        .args(["images", "-q", "assay/candidate-webapp"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "the throw-away image is removed"
    );
}

#[test]
fn a_candidate_build_runs_without_network_within_limits_and_its_text_is_escaped() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Positive: a step that sees only the loopback interface builds (no network at all), and
    // a Dockerfile line that would retitle the terminal reaches stderr escaped.
    let (o, v) = evaluate_built(
        dir.path(),
        "FROM assay/sample-webapp:0.1.0\nRUN test \"$(ls /sys/class/net)\" = lo\nLABEL x=\"\u{1b}]0;pwned\u{7}\"\n",
    );
    assert_eq!(check(&v, "runtime.up")["status"], "pass", "{v}");
    let err = stderr(&o);
    assert!(
        !err.contains('\u{1b}'),
        "raw escape on the terminal: {err:?}"
    );
    assert!(
        err.contains("]0;pwned"),
        "the line is shown, escaped: {err}"
    );

    // A step that allocates without bound is stopped by the memory cap: the candidate's build
    // failure, stated.
    let (o, v) = evaluate_built(
        dir.path(),
        "FROM assay/sample-webapp:0.1.0\nRUN tail /dev/zero\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let up = check(&v, "runtime.up");
    assert_eq!(up["status"], "fail", "{up}");
    assert!(
        up["evidence"].as_str().unwrap().contains("did not build"),
        "{up}"
    );
}

/// The good submission with `dockerfile` as its webapp's, graded with `--build-webapp`.
fn evaluate_built(
    dir: &std::path::Path,
    dockerfile: &str,
) -> (std::process::Output, serde_json::Value) {
    let src = repo_root().join("crates/assay-checks/tests/fixtures/submissions/good");
    let dst = dir.join("candidate");
    if !dst.exists() {
        copy_dir(&src, &dst);
    }
    std::fs::write(dst.join("sample-webapp/Dockerfile"), dockerfile).unwrap();
    let o = assay(&[
        "evaluate",
        "--build-webapp",
        "--format",
        "json",
        "--timeout",
        "240",
        dst.to_str().unwrap(),
    ]);
    let v = single_report(&o);
    (o, v)
}

#[test]
fn kill_9_mid_run_leaves_nothing_after_the_next_run_sweeps() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    // A private TMPDIR holds this test's run lock files, so it knows its own run id and never
    // touches the runs of tests running beside it.
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let sub = repo_root().join("crates/assay-checks/tests/fixtures/submissions/good");
    let evaluate = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_assay"));
        c.args(["evaluate", "--format", "json", sub.to_str().unwrap()])
            .env("TMPDIR", &tmp)
            .env("NO_COLOR", "1");
        c
    };
    let count = |run: &str, kind: &str| {
        let label = format!("label=dev.assay.run={run}");
        let args: Vec<&str> = match kind {
            "containers" => vec!["ps", "-aq", "--filter", &label],
            "networks" => vec!["network", "ls", "-q", "--filter", &label],
            _ => vec!["volume", "ls", "-q", "--filter", &label],
        };
        let o = std::process::Command::new("docker")
            .args(&args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).lines().count()
    };
    let run_ids = || -> Vec<String> {
        std::fs::read_dir(tmp.join("assay-runs"))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()?
                            .strip_suffix(".lock")
                            .map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut child = evaluate()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut killed_run = None;
    while started.elapsed() < std::time::Duration::from_secs(120) {
        if let Some(run) = run_ids().into_iter().find(|r| count(r, "containers") > 0) {
            killed_run = Some(run);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL: no teardown can run
    child.wait().unwrap();
    let run = killed_run.expect("the run started containers within 120 s");
    assert!(
        count(&run, "containers") > 0,
        "the killed run left its containers (else this test proves nothing)"
    );
    // The next evaluation sweeps dead runs before it starts its own.
    let o = evaluate().output().unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    for r in run_ids().iter().chain(std::iter::once(&run)) {
        for kind in ["containers", "networks", "volumes"] {
            assert_eq!(count(r, kind), 0, "{kind} of run {r} remain");
        }
    }
}

#[test]
fn sigterm_mid_run_tears_down_then_exits_3() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let sub = repo_root().join("crates/assay-checks/tests/fixtures/submissions/good");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["evaluate", "--format", "json", sub.to_str().unwrap()])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runs = tmp.join("assay-runs");
    let started = std::time::Instant::now();
    let run = loop {
        let found = std::fs::read_dir(&runs).ok().and_then(|rd| {
            rd.flatten().find_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".lock")
                    .map(String::from)
            })
        });
        if let Some(run) = found {
            break run;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::thread::sleep(std::time::Duration::from_secs(2)); // let it create containers
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("assay: interrupted: tearing down the running stacks…"),
        "the grader is told why it waits: {err}"
    );
    let label = format!("label=dev.assay.run={run}");
    for args in [
        vec!["ps", "-aq", "--filter", &label],
        vec!["network", "ls", "-q", "--filter", &label],
        vec!["volume", "ls", "-q", "--filter", &label],
    ] {
        let o = std::process::Command::new("docker")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).trim().is_empty(),
            "{args:?} left after SIGTERM"
        );
    }
}

#[test]
fn the_handout_webapp_packaged_as_an_image_or_a_missing_folder_runs_from_the_pristine_image() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    // `image: sample-webapp` (as the handout's README builds it) and `build: ./sample-webapp`
    // with the folder left out of the submission.
    for (fixture, service) in [
        ("webapp-image-suggested", "notes"),
        ("webapp-build-missing", "webapp"),
    ] {
        let path = repo_root()
            .join("crates/assay-checks/tests/fixtures/checks")
            .join(fixture);
        let (_, v, err) = full_report(&path);
        let w = check(&v, "compose.webapp-service");
        assert_eq!(w["status"], "pass", "{fixture}: {w}\n{err}");
        assert!(
            w["evidence"]
                .as_str()
                .unwrap()
                .starts_with(&format!("service `{service}`")),
            "{w}"
        );
        for id in [
            "runtime.up",
            "runtime.health",
            "runtime.roundtrip",
            "runtime.persistence",
        ] {
            assert_eq!(
                check(&v, id)["status"],
                "pass",
                "{fixture} {id}: {v}\n{err}"
            );
        }
        let notes = v["notes"].to_string();
        assert!(
            notes.contains("assay runs the pristine handout webapp image in its place"),
            "{fixture}: {notes}"
        );
    }
}

/// The headline of `runtime.up` (its evidence) for a runtime fixture graded alone, and the
/// report's notes (where a re-run is said).
fn up_headline(fixture: &str) -> (String, String) {
    let (code, v, err) = full_report(&repo_root().join("tests/fixtures/runtime").join(fixture));
    let report = v;
    assert_eq!(code, Some(1), "{fixture}: {report:#}\n{err}");
    assert_eq!(report["verdict"], "fail", "{fixture}: {report:#}");
    let up = check(&report, "runtime.up");
    assert_eq!(up["status"], "fail", "{fixture}: {up:#}");
    (
        up["evidence"].as_str().unwrap_or_default().to_string(),
        report["notes"].to_string(),
    )
}

#[test]
fn a_crash_looping_db_is_judged_at_once_with_its_own_fatal_line() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (headline, notes) = up_headline("crash-loop");
    assert!(headline.contains("service `db`"), "{headline}");
    assert!(
        headline.contains("FATAL: unrecognized configuration parameter \"shared_bufers\""),
        "{headline}"
    );
    // Not the deadline, and not graded again: a crash is the stack's own.
    assert!(!headline.contains("before the deadline"), "{headline}");
    assert!(!notes.contains("the runtime phase was graded"), "{notes}");
}

#[test]
fn a_webapp_restarting_on_a_wrong_password_is_judged_at_its_first_restart_with_its_own_line() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (headline, notes) = up_headline("wrong-password-restart");
    // The next start meets the same refusal: judged at the first restart, not the third.
    assert!(
        headline.contains(
            "service `webapp` is being restarted for a refusal a restart does not change (restarted once)"
        ),
        "{headline}"
    );
    assert!(
        headline.contains("password authentication failed"),
        "{headline}"
    );
    assert!(!headline.contains("not-the-db-password"), "{headline}");
    assert!(!notes.contains("the runtime phase was graded"), "{notes}");
}

#[test]
fn a_webapp_that_exits_on_bad_configuration_is_judged_at_once() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (headline, _) = up_headline("exit-1");
    assert!(headline.contains("service `webapp` exited 1"), "{headline}");
    assert!(headline.contains("PGPORT"), "{headline}");
}

#[test]
fn a_webapp_looking_for_the_db_in_the_wrong_place_fails_up_naming_it() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (headline, notes) = up_headline("broken-wiring");
    assert!(headline.contains("service `webapp`"), "{headline}");
    assert!(headline.contains("localhost"), "{headline}");
    // Graded again only when the db itself was late (the machine was busy): then the note
    // says how late.
    if notes.contains("the runtime phase was graded") {
        assert!(notes.contains("the db was"), "{notes}");
    }
}
