//! The machine-readable outputs CI reads: the JSON report against its schema, `--format json`
//! as an array for one submission and many, JUnit as CI systems judge it, and `report merge`
//! against a local batch. Static mode throughout, so no Docker is needed.

mod support;
use std::path::{Path, PathBuf};
use support::*;

/// Every submission fixture of the repo that assay grades as a whole.
fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "tests/fixtures/essay-only",
        "tests/fixtures/k8s",
        "tests/fixtures/nothing",
        "tests/fixtures/two-compose-folders",
        "tests/fixtures/answers/challenges-numbered",
        "tests/fixtures/answers/labelled-five-ways",
        "crates/assay-runner/tests/fixtures/submissions/secrets-alias",
        "examples/good.zip",
        "examples/good",
    ]
    .iter()
    .map(|p| repo_root().join(p))
    .collect();
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&shared)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    assert!(subs.len() >= 7, "the shared submission fixtures: {subs:?}");
    v.extend(subs);
    v
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_fixture_report_matches_the_schema() {
    let all = fixtures();
    let mut args = vec!["evaluate", "--static", "--format", "json"];
    args.extend(all.iter().map(|p| path_str(p)));
    let o = assay(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "graded: {}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let reports = v.as_array().expect("an array");
    assert_eq!(reports.len(), all.len(), "{}", stderr(&o));
    let mut statuses = std::collections::BTreeSet::new();
    for (r, p) in reports.iter().zip(&all) {
        assert_eq!(r["schema_version"], 1, "{}", p.display());
        assert_matches_schema(r, &p.display().to_string());
        for c in r["checks"].as_array().unwrap() {
            statuses.insert(c["status"].as_str().unwrap().to_string());
        }
    }
    // The fixtures cover every status and both verdicts, so every branch of the schema is used.
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    let verdicts: std::collections::BTreeSet<&str> = reports
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        path_str(&repo_root().join("tests/fixtures/essay-only")),
    ]);
    let good = single_report(&o);
    assert_matches_schema(&good, "essay-only");
    type Mutation = fn(&mut serde_json::Value);
    let mutations: [(&str, Mutation); 5] = [
        ("no schema_version", |r| {
            r.as_object_mut().unwrap().remove("schema_version");
        }),
        ("an unknown verdict", |r| r["verdict"] = "maybe".into()),
        ("an unknown check id", |r| {
            r["checks"][0]["id"] = "x.y".into()
        }),
        ("a skipped check without skip", |r| {
            let c = r["checks"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|c| c["status"] == "skipped")
                .unwrap();
            c.as_object_mut().unwrap().remove("skip");
        }),
        ("a field the schema does not know", |r| {
            r["extra"] = 1.into()
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        let caught = std::panic::catch_unwind(|| assert_matches_schema(&bad, what));
        assert!(caught.is_err(), "the schema accepts {what}");
    }
}

/// `jq '.[0].verdict'` reads the verdict whatever the number of submissions (jq itself when it
/// is installed, the same path through serde otherwise).
#[test]
fn first_verdict_reads_the_same_for_one_and_many() {
    let nothing = repo_root().join("tests/fixtures/nothing");
    let essay = repo_root().join("tests/fixtures/essay-only");
    let one = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        path_str(&nothing),
    ]);
    let many = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        path_str(&nothing),
        path_str(&essay),
    ]);
    for o in [&one, &many] {
        let text = stdout(o);
        let verdict = match std::process::Command::new("jq")
            .args(["-r", ".[0].verdict"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(mut child) => {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success());
                String::from_utf8(out.stdout).unwrap().trim().to_string()
            }
            Err(_) => {
                eprintln!("jq not installed: reading .[0].verdict through serde");
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                v[0]["verdict"].as_str().unwrap().to_string()
            }
        };
        assert_eq!(verdict, "fail", "{text}");
    }
}

/// Well-formed XML, or a panic naming the error.
fn assert_well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed XML at {}: {e}\n{xml}",
                reader.buffer_position()
            ),
        }
    }
}

/// The `<testcase …>…</testcase>` (or self-closed) element of `name` in `xml`.
fn testcase<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml
        .find(&format!(" name=\"{name}\" time="))
        .unwrap_or_else(|| panic!("no testcase {name}:\n{xml}"));
    let start = xml[..start].rfind("<testcase").unwrap();
    let rest = &xml[start..];
    let tag_end = rest.find('>').unwrap();
    if rest[..=tag_end].ends_with("/>") {
        return &rest[..=tag_end];
    }
    let end = rest.find("</testcase>").unwrap();
    &rest[..end + "</testcase>".len()]
}

#[test]
fn junit_fails_the_suite_on_required_failures_only() {
    let base = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    // With the good example's answers, no-volume fails only an optional check and passes;
    // wrong-host fails a required one.
    let work = tempfile::tempdir().unwrap();
    let with_answers = |fixture: &str| {
        let dir = work.path().join(fixture);
        copy_dir(&base.join(fixture), &dir);
        std::fs::copy(
            repo_root().join("examples/good/ANSWERS.md"),
            dir.join("ANSWERS.md"),
        )
        .unwrap();
        dir
    };
    let (no_volume, wrong_host) = (with_answers("no-volume"), with_answers("wrong-host"));
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "junit",
        path_str(&no_volume),
        path_str(&wrong_host),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let xml = stdout(&o);
    assert_well_formed(&xml);
    let suites: Vec<&str> = xml.split("<testsuite ").skip(1).collect();
    assert_eq!(suites.len(), 2);
    let (no_volume, wrong_host) = (suites[0], suites[1]);
    assert!(no_volume.starts_with("name=\"no-volume\""), "{no_volume}");
    assert!(no_volume.contains("failures=\"0\""), "{no_volume}");
    assert!(no_volume.contains("tests=\"25\""), "{no_volume}");
    let volume = testcase(no_volume, "compose.db-volume");
    assert!(!volume.contains("<failure"), "{volume}");
    assert!(
        volume.contains("<property name=\"optional\" value=\"true\"/>")
            && volume.contains("<system-out>optional check failed"),
        "{volume}"
    );
    assert!(
        testcase(no_volume, "verdict").ends_with("/>"),
        "the verdict passes: {no_volume}"
    );
    // Every test case has a time.
    for line in no_volume.lines().filter(|l| l.contains("<testcase")) {
        assert!(line.contains(" time=\""), "{line}");
    }
    assert!(
        wrong_host.contains("failures=\"2\""),
        "the check and the verdict: {wrong_host}"
    );
    let host = testcase(wrong_host, "compose.db-host");
    assert!(host.contains("<failure type=\"required\""), "{host}");
    let verdict = testcase(wrong_host, "verdict");
    assert!(
        verdict.contains("required checks failed: compose.db-host"),
        "{verdict}"
    );
    // Static mode: the runtime checks are skipped, with the reason.
    assert!(testcase(wrong_host, "runtime.up").contains("<skipped message=\"static mode"));
    // A per-check time comes from the step that decided it: the compose checks ran.
    assert!(xml.starts_with("<?xml"), "{xml}");
}

fn evaluate_out(out: &Path, subs: &[&PathBuf]) {
    let mut args = vec!["evaluate", "--static", "--out", path_str(out)];
    args.extend(subs.iter().map(|p| path_str(p)));
    let o = assay(&args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
}

/// Removes ` time="…"` attributes (JUnit) and the duration cells (index.html, CSV, JSON).
fn without_times(text: &str, file: &str) -> String {
    match file {
        "junit.xml" => {
            let mut out = String::new();
            let mut rest = text;
            while let Some(i) = rest.find(" time=\"") {
                out.push_str(&rest[..i]);
                let after = &rest[i + 7..];
                rest = &after[after.find('"').unwrap() + 1..];
            }
            out.push_str(rest);
            out
        }
        "index.html" => text
            .lines()
            .map(
                |l| match (l.ends_with("</td></tr>"), l.rfind("<td data-key=")) {
                    (true, Some(i)) => format!("{}</tr>", &l[..i]),
                    _ => l.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n"),
        "summary.csv" => text
            .lines()
            .map(|l| {
                // duration_ms is the 8th of 10 quoted cells.
                let cells: Vec<&str> = l.split("\",\"").collect();
                assert_eq!(cells.len(), 10, "{l}");
                let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
                cells[7] = String::new();
                cells.join("\",\"")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "summary.json" => {
            let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
            for r in v["submissions"].as_array_mut().unwrap() {
                r["duration_ms"] = 0.into();
            }
            serde_json::to_string_pretty(&v).unwrap()
        }
        _ => unreachable!(),
    }
}

#[test]
fn merge_of_two_runs_equals_one_local_batch() {
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let subs: Vec<PathBuf> = [
        shared.join("good"),
        shared.join("wrong-host"),
        repo_root().join("tests/fixtures/essay-only"),
        shared.join("no-volume"),
        repo_root().join("tests/fixtures/nothing"),
        shared.join("wrong-password"),
        repo_root().join("tests/fixtures/k8s"),
        shared.join("container-name-fixed-port"),
    ]
    .into();
    let work = tempfile::tempdir().unwrap();
    let (run1, run2, local, merged) = (
        work.path().join("run1"),
        work.path().join("run2"),
        work.path().join("local"),
        work.path().join("merged"),
    );
    evaluate_out(&run1, &subs[..4].iter().collect::<Vec<_>>());
    evaluate_out(&run2, &subs[4..].iter().collect::<Vec<_>>());
    // The local batch in another order: summaries list submissions by name either way.
    let mut reversed: Vec<&PathBuf> = subs.iter().collect();
    reversed.reverse();
    evaluate_out(&local, &reversed);

    let o = assay(&[
        "report",
        "merge",
        path_str(&run1),
        path_str(&run2),
        "--out",
        path_str(&merged),
    ]);
    assert_eq!(o.status.code(), Some(1), "FAILs among them: {}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 8, "{}", stdout(&o));

    for f in ["summary.csv", "summary.json", "index.html", "junit.xml"] {
        let read = |d: &Path| std::fs::read_to_string(d.join(f)).unwrap();
        let (l, m) = (read(&local), read(&merged));
        assert_eq!(
            without_times(&l, f),
            without_times(&m, f),
            "{f} differs between the local batch and the merge"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["total"], 8);
    assert_eq!(
        summary["pass"].as_u64().unwrap() + summary["fail"].as_u64().unwrap(),
        8
    );
    assert_well_formed(&std::fs::read_to_string(merged.join("junit.xml")).unwrap());

    // Each submission's own reports are there too, under the same folder names; the reports
    // agree but for durations and what only a shared run can know (answers copied between
    // submissions of one batch).
    let comparable = |p: PathBuf| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let mut v = without_durations(&v);
        let notes: Vec<serde_json::Value> = v["notes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !n.as_str().unwrap().contains("near-identical"))
            .collect();
        let obj = v.as_object_mut().unwrap();
        obj.remove("similar_answers");
        obj.insert("notes".into(), notes.into());
        v
    };
    let mut folders = 0;
    for e in std::fs::read_dir(&local).unwrap().flatten() {
        if !e.path().is_dir() {
            continue;
        }
        folders += 1;
        let name = e.file_name();
        for f in ["report.html", "report.md", "junit.xml"] {
            assert!(merged.join(&name).join(f).is_file(), "{name:?}/{f}");
        }
        assert_eq!(
            comparable(local.join(&name).join("report.json")),
            comparable(merged.join(&name).join("report.json")),
            "{name:?}"
        );
    }
    assert_eq!(folders, 8);

    // A folder named twice is merged once.
    let twice = work.path().join("twice");
    let o = assay(&[
        "report",
        "merge",
        path_str(&run1),
        path_str(&run1.join("good")),
        "--out",
        path_str(&twice),
    ]);
    assert_eq!(stdout(&o).lines().count(), 4, "{}", stdout(&o));

    // Merging into a folder that is not empty is refused before anything is written.
    let again = assay(&[
        "report",
        "merge",
        path_str(&run1),
        "--out",
        path_str(&merged),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("must be empty"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn merge_reports_what_could_not_be_graded_as_an_error() {
    let work = tempfile::tempdir().unwrap();
    let graded = work.path().join("job-1");
    evaluate_out(&graded, &[&repo_root().join("tests/fixtures/essay-only")]);
    // What `evaluate --out` writes for a submission assay could not grade (exit 3).
    let failed = work.path().join("job-2");
    std::fs::create_dir_all(&failed).unwrap();
    std::fs::write(
        failed.join("error.json"),
        serde_json::json!({
            "schema_version": 1,
            "assay_version": "0.1.0",
            "submission": "=cmd|' /C calc'!A0.zip",
            "outcome": "could-not-grade",
            "error": "the Docker daemon stopped answering <mid-run>",
        })
        .to_string(),
    )
    .unwrap();
    let out = work.path().join("all");
    let o = assay(&[
        "report",
        "merge",
        path_str(&graded),
        path_str(&failed),
        "--out",
        path_str(&out),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_well_formed(&junit);
    assert!(
        junit.contains("<error type=\"could-not-grade\" message=\"the Docker daemon stopped answering &lt;mid-run&gt;\""),
        "{junit}"
    );
    assert!(junit.contains("errors=\"1\""), "{junit}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        csv.contains("\"'=cmd|' /C calc'!A0.zip\",\"could-not-grade\""),
        "formula guard: {csv}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("&lt;mid-run&gt;") && !html.contains("<mid-run>"));

    // A report of another schema version is refused, naming the file.
    let old = work.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(
        old.join("report.json"),
        r#"{"schema_version": 99, "submission": "x"}"#,
    )
    .unwrap();
    let o = assay(&[
        "report",
        "merge",
        path_str(&old),
        "--out",
        path_str(&work.path().join("o2")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("schema_version 99") && stderr(&o).contains("report.json"),
        "{}",
        stderr(&o)
    );
    // A folder with no report in it.
    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = assay(&[
        "report",
        "merge",
        path_str(&empty),
        "--out",
        path_str(&work.path().join("o3")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no report.json"), "{}", stderr(&o));
}
