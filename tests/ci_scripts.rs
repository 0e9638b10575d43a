//! The CI entry scripts run as the CI systems run them, with their variables set: the GitHub
//! Action's (ci/github/assay-action.sh) and the GitLab template's (ci/gitlab/assay-job.sh),
//! against fixture submissions in static mode (no Docker needed).

mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::*;

/// A workspace (the CI checkout) holding copies of fixture submissions under the given names.
/// `fixture` is one of the shared submission fixtures, or a path from the repository root.
fn workspace(subs: &[(&str, &str)]) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let base = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    for (fixture, name) in subs {
        let src = if fixture.contains('/') {
            repo_root().join(fixture)
        } else {
            base.join(fixture)
        };
        copy_dir(&src, &ws.path().join(name));
    }
    ws
}

struct Run {
    /// The runner's temp folder ($RUNNER_TEMP), removed with the run.
    _runner_temp: tempfile::TempDir,
    out: Output,
    summary: String,
    outputs: String,
    reports: PathBuf,
}

/// Runs the Action's entry script in `ws` on `path` as a GitHub runner would.
fn github(ws: &Path, path: &str, reports: Option<&Path>) -> Run {
    let temp = tempfile::tempdir().unwrap();
    let runner_temp = temp.path().to_path_buf();
    let summary = runner_temp.join("step_summary.md");
    let outputs = runner_temp.join("github_output");
    let reports = reports.map_or_else(|| runner_temp.join("assay-reports"), Path::to_path_buf);
    let mut cmd = Command::new("bash");
    match reports.starts_with(&runner_temp) {
        true => cmd.env_remove("ASSAY_REPORTS_DIR"),
        false => cmd.env("ASSAY_REPORTS_DIR", &reports),
    };
    let out = cmd
        .arg(repo_root().join("ci/github/assay-action.sh"))
        .current_dir(ws)
        .env("ASSAY_BIN", env!("CARGO_BIN_EXE_assay"))
        .env("ASSAY_PATH", path)
        .env("ASSAY_STATIC", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_WORKSPACE", ws)
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("ASSAY_RUBRIC")
        .output()
        .unwrap();
    Run {
        _runner_temp: temp,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        out,
        reports,
    }
}

/// The lines of stdout the runner reads as workflow commands: every line starting with `::`,
/// except those inside a `::stop-commands::TOKEN` … `::TOKEN::` region.
fn commands(stdout: &str) -> Vec<String> {
    let mut stopped: Option<String> = None;
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
            continue;
        }
        if line.starts_with("::") {
            out.push(line.to_string());
        }
    }
    assert!(stopped.is_none(), "stop-commands is always ended");
    out
}

/// The annotations a report calls for: (errors, warnings).
fn expected_annotations(report: &serde_json::Value) -> (usize, usize) {
    let (mut errors, mut warnings) = (0, 0);
    for c in report["checks"].as_array().unwrap() {
        let failed = c["status"] == "fail";
        let required = c["required"] == true;
        if failed {
            if required {
                errors += 1
            } else {
                warnings += 1
            }
        }
        for d in c["details"].as_array().into_iter().flatten() {
            if d.get("location").is_none() {
                continue;
            }
            match (d["severity"].as_str().unwrap(), failed, required) {
                ("error", true, true) => errors += 1,
                ("error", true, false) | ("warning", _, _) => warnings += 1,
                _ => {}
            }
        }
    }
    (errors, warnings)
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn github_action_script_annotates_summarises_and_keeps_reports() {
    let ws = workspace(&[("wrong-host", "cand")]);
    let run = github(ws.path(), "cand", None);
    let stdout = stdout(&run.out);
    assert_eq!(
        run.out.status.code(),
        Some(1),
        "FAIL: {stdout}\n{}",
        stderr(&run.out)
    );
    for f in [
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
        "assay.log",
    ] {
        assert!(run.reports.join(f).is_file(), "{f} kept for the artifact");
    }
    let report = report_json(&run.reports);
    let (errors, warnings) = expected_annotations(&report);
    assert!(errors >= 1, "wrong-host fails compose.db-host");
    let cmds = commands(&stdout);
    assert_eq!(
        cmds.iter().filter(|c| c.starts_with("::error ")).count(),
        errors,
        "{stdout}"
    );
    assert_eq!(
        cmds.iter().filter(|c| c.starts_with("::warning ")).count(),
        warnings,
        "{stdout}"
    );
    assert_eq!(cmds.len(), errors + warnings, "no other command: {stdout}");
    // The db-host finding stands at the compose file of the checkout, at its line.
    let host = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "compose.db-host")
        .unwrap();
    let line = host["location"]["line"].as_u64().unwrap();
    let annotation = cmds
        .iter()
        .find(|c| c.contains("title=assay compose.db-host"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        annotation.starts_with(&format!("::error file=cand/compose.yaml,line={line},")),
        "{annotation}"
    );
    assert!(ws.path().join("cand/compose.yaml").is_file());

    assert!(run.summary.starts_with("# assay: FAIL"), "{}", run.summary);
    assert!(run.summary.contains("compose.db-host"), "{}", run.summary);
    assert!(run.outputs.contains("verdict=fail\n"), "{}", run.outputs);
    assert!(run.outputs.contains("exit-code=1\n"), "{}", run.outputs);
    assert!(
        run.outputs
            .contains(&format!("reports-dir={}\n", run.reports.display())),
        "{}",
        run.outputs
    );

    // A second run into the same reports dir is refused rather than mixing two runs' reports.
    let again = github(ws.path(), "cand", Some(&run.reports));
    assert_eq!(again.out.status.code(), Some(2), "{}", stderr(&again.out));
}

#[test]
fn a_file_name_holding_a_workflow_command_stays_in_its_annotation() {
    let hostile = [
        "evil%0A::error::pwned",
        "evil\n::error file=x::pwned",
        "a,b:c",
    ];
    let mut names: Vec<(&str, &str)> = vec![("wrong-host", "cand")];
    names.extend(hostile.iter().map(|h| ("wrong-host", *h)));
    let ws = workspace(&names);
    let plain = github(ws.path(), "cand", None);
    let baseline = commands(&stdout(&plain.out));
    for name in hostile {
        let run = github(ws.path(), name, None);
        let stdout = stdout(&run.out);
        assert_eq!(run.out.status.code(), Some(1), "{}", stderr(&run.out));
        let cmds = commands(&stdout);
        assert_eq!(
            cmds.len(),
            baseline.len(),
            "{name:?}: one annotation per finding, no more:\n{stdout}"
        );
        for c in &cmds {
            // `::name props::message`: the properties end at the first `::` after the name.
            let rest = c.strip_prefix("::").unwrap();
            let (head, _message) = rest.split_once("::").unwrap_or_else(|| panic!("{c}"));
            let (level, props) = head.split_once(' ').unwrap_or((head, ""));
            assert!(level == "error" || level == "warning", "{c}");
            if let Some(file) = props.strip_prefix("file=") {
                let file = file.split(',').next().unwrap();
                assert!(
                    file.starts_with("evil%") || file.starts_with("a%2Cb%3Ac/"),
                    "{name:?}: the file property holds the whole name, encoded: {c}"
                );
                assert!(!file.contains(':') && !file.contains(','), "{c}");
            }
        }
        if name.contains('%') {
            assert!(
                stdout.contains("file=evil%250A%3A%3Aerror%3A%3Apwned/compose.yaml"),
                "{stdout}"
            );
        }
        if name.contains('\n') {
            assert!(
                stdout.contains("file=evil%0A%3A%3Aerror file=x%3A%3Apwned/compose.yaml"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn github_action_script_passes_a_good_submission() {
    let ws = workspace(&[("examples/good", "cand")]);
    let run = github(ws.path(), "cand", None);
    let stdout = stdout(&run.out);
    assert_eq!(
        run.out.status.code(),
        Some(0),
        "{stdout}{}",
        stderr(&run.out)
    );
    assert!(
        commands(&stdout).iter().all(|c| !c.starts_with("::error")),
        "{stdout}"
    );
    assert!(run.summary.starts_with("# assay: PASS"), "{}", run.summary);
    assert!(run.outputs.contains("verdict=pass\n"), "{}", run.outputs);
}

#[test]
fn github_action_script_reports_a_usage_error() {
    let ws = workspace(&[]);
    let run = github(ws.path(), "no/such/folder", None);
    assert_eq!(run.out.status.code(), Some(2));
    // The message names the path inside stop-commands: it is shown, never run.
    let stdout = stdout(&run.out);
    assert!(stdout.contains("no/such/folder"), "{stdout}");
    assert!(commands(&stdout).is_empty(), "{stdout}");
    assert!(
        run.summary.starts_with("# assay: usage error"),
        "{}",
        run.summary
    );
    assert!(run.outputs.contains("exit-code=2\n"), "{}", run.outputs);
}

#[test]
fn gitlab_job_script_writes_junit_and_code_quality() {
    // The project checkout is the submission, graded in place (ASSAY_PATH=.).
    let ws = workspace(&[("wrong-host", "")]);
    let out = Command::new("bash")
        .arg(repo_root().join("ci/gitlab/assay-job.sh"))
        .current_dir(ws.path())
        .env("ASSAY_BIN", env!("CARGO_BIN_EXE_assay"))
        .env("ASSAY_PATH", ".")
        .env("ASSAY_STATIC", "true")
        .env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("CI_PROJECT_DIR", ws.path())
        .env_remove("ASSAY_REPORTS_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reports = ws.path().join("assay-reports");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(junit.contains("<failure type=\"required\""), "{junit}");
    let issues: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("gl-code-quality-report.json")).unwrap(),
    )
    .unwrap();
    let issues = issues.as_array().unwrap();
    let host = issues
        .iter()
        .find(|i| i["check_name"] == "compose.db-host")
        .unwrap_or_else(|| panic!("{issues:?}"));
    assert_eq!(host["location"]["path"], "compose.yaml");
    assert!(host["location"]["lines"]["begin"].as_u64().unwrap() > 0);
    assert_eq!(host["severity"], "major");
    assert_eq!(host["fingerprint"].as_str().unwrap().len(), 64);
    let mut fingerprints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), issues.len(), "fingerprints are unique");
    // The reports folder (inside the checkout, where GitLab wants artifacts) was made after
    // grading read the checkout: nothing of it was graded.
    let report = report_json(&reports);
    assert!(
        !report.to_string().contains("assay-reports"),
        "the reports folder was not graded: {report}"
    );
    assert_eq!(
        report["submission"],
        ws.path()
            .canonicalize()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap(),
        "`.` is shown by its folder's name"
    );
    assert!(
        stdout(&out).starts_with("# assay: FAIL"),
        "{}",
        stdout(&out)
    );
}

/// A zip's entries are no files of the runner: the annotation has no `file=` and names the
/// submission and the place in its message instead.
#[test]
fn annotations_of_a_zip_carry_the_place_in_the_message() {
    let src = repo_root().join("crates/assay-checks/tests/fixtures/submissions/wrong-host");
    let compose = std::fs::read(src.join("compose.yaml")).unwrap();
    let env = std::fs::read(src.join(".env")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("cand.zip");
    std::fs::write(
        &zip,
        stored_zip(&[("compose.yaml", &compose), (".env", &env)]),
    )
    .unwrap();
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "github",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    let host = text
        .lines()
        .find(|l| l.contains("title=assay compose.db-host"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(host.starts_with("::error title="), "{host}");
    assert!(host.contains("::cand.zip: compose.yaml:"), "{host}");
    assert!(text.lines().all(|l| !l.contains("file=")), "{text}");
}
