//! Fixture submissions through the real binary, reports snapshotted with volatile values
//! (durations, version) redacted. Regenerate with `INSTA_UPDATE=always cargo nextest run -p assay`
//! and review the diff.

mod support;
use support::*;

fn json_report(fixture: &str) -> (Option<i32>, serde_json::Value) {
    let path = repo_root().join("tests/fixtures").join(fixture);
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        path.to_str().unwrap(),
    ]);
    (o.status.code(), single_report(&o))
}

fn snapshot(fixture: &str) {
    let (code, v) = json_report(fixture);
    let expected = if v["verdict"] == "pass" { 0 } else { 1 };
    assert_eq!(code, Some(expected), "exit code follows the verdict");
    insta::assert_json_snapshot!(fixture, v, {
        ".duration_ms" => "[duration]",
        ".checks[].duration_ms" => "[duration]",
        ".assay_version" => "[version]",
        ".provenance.rubric_sha256" => "[rubric hash]",
    });
}

#[test]
fn q1_answered_as_an_essay_passes_without_compose() {
    snapshot("essay-only");
}

#[test]
fn kubernetes_manifests_are_found_and_left_to_a_reviewer() {
    snapshot("k8s");
}

#[test]
fn a_submission_with_nothing_fails_on_compose_found_and_essays() {
    snapshot("nothing");
}

#[test]
fn json_report_has_the_grading_spec_shape() {
    let (_, v) = json_report("essay-only");
    assert_eq!(
        v["provenance"]["rubric_sha256"],
        assay::report::provenance::rubric_sha256(&assay::rubric::default_rubric()),
        "the report names the rubric it was graded by"
    );
    assert!(
        v["provenance"].get("images").is_none(),
        "no image ran in a static evaluation"
    );
    for key in [
        "assay_version",
        "submission",
        "verdict",
        "score",
        "max_score",
        "threshold",
        "checks",
        "answers",
        "duration_ms",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(["pass", "fail"].contains(&v["verdict"].as_str().unwrap()));
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 24, "every check id appears once");
    for c in checks {
        for key in [
            "id",
            "title",
            "status",
            "required",
            "points",
            "max_points",
            "evidence",
        ] {
            assert!(c.get(key).is_some(), "check {c} lacks {key}");
        }
        assert!(["pass", "fail", "skipped"].contains(&c["status"].as_str().unwrap()));
        if let Some(loc) = c.get("location") {
            assert!(loc["file"].is_string());
        }
    }
    for a in v["answers"].as_array().unwrap() {
        assert!(a["question"].is_string() && a["file"].is_string() && a["words"].is_u64());
    }
}

#[test]
fn human_report_fits_a_screen_and_names_failures() {
    let path = repo_root().join("tests/fixtures/nothing");
    let o = assay(&["evaluate", "--static", path.to_str().unwrap()]);
    let text = stdout(&o);
    assert!(text.starts_with("FAIL  nothing"), "{text}");
    assert!(text.contains("FAIL compose.found"));
    assert!(!text.contains('\u{1b}'), "NO_COLOR means no escape codes");
    assert!(text.lines().count() < 25, "one screen: {text}");
}

#[test]
fn out_dir_gets_every_report_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = repo_root().join("tests/fixtures/essay-only");
    let o = assay(&[
        "evaluate",
        "--static",
        "--out",
        dir.path().to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["report.json", "report.md", "report.html", "junit.xml"] {
        let p = dir.path().join(f);
        assert!(p.is_file(), "{f} missing");
    }
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<testcase ").count(),
        25,
        "one per check and the verdict"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# assay: PASS"));
}

#[test]
fn batch_prints_a_json_array_and_flags_copied_essays() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("alice");
    let b = dir.path().join("bob");
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::copy(
            repo_root().join("tests/fixtures/essay-only/ANSWERS.md"),
            d.join("ANSWERS.md"),
        )
        .unwrap();
    }
    let o = assay(&[
        "evaluate",
        "--static",
        "--jobs",
        "2",
        "--format",
        "json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let reports = v.as_array().expect("a batch prints an array");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["submission"], "alice");
    assert_eq!(reports[1]["submission"], "bob");
    for (r, other) in [(&reports[0], "bob"), (&reports[1], "alice")] {
        let sim = r["similar_answers"]
            .as_array()
            .expect("similar answers flagged");
        assert!(
            sim.iter()
                .any(|s| s["other_submission"] == other && s["question"] == "q4"),
            "{r}"
        );
    }
}

/// The candidate-like submissions shared with the checks and runner crates: each fails exactly
/// the static checks its name says.
#[test]
fn shared_submission_fixtures_fail_exactly_their_checks() {
    let base = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let cases: &[(&str, &[&str])] = &[
        ("good", &[]),
        ("wrong-host", &["compose.db-host"]),
        ("wrong-password", &["compose.credentials"]),
        ("disjoint-networks", &["compose.db-host"]),
        (
            "no-startup-order",
            &["compose.healthcheck", "compose.startup-order"],
        ),
        ("no-volume", &["compose.db-volume"]),
        ("container-name-fixed-port", &["compose.scalable"]),
    ];
    for (name, expected) in cases {
        let path = base.join(name);
        let o = assay(&[
            "evaluate",
            "--static",
            "--format",
            "json",
            path.to_str().unwrap(),
        ]);
        let v = single_report(&o);
        let failed: Vec<&str> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail" && c["id"].as_str().unwrap().starts_with("compose."))
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(&failed, expected, "{name}");
        let mut redacted = without_durations(&v);
        redacted["duration_ms"] = "[duration]".into();
        redacted["assay_version"] = "[version]".into();
        // The rubric's hash changes with every rubric change; its own test checks it.
        if redacted["provenance"].is_object() {
            redacted["provenance"]["rubric_sha256"] = "[rubric hash]".into();
        }
        insta::assert_json_snapshot!(format!("submission-{name}"), redacted);
    }
}

#[test]
fn bundled_example_passes_static_grading() {
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        repo_root().join("examples/good.zip").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// Candidate text with terminal escapes, 8-bit CSI, bidi overrides, zero-width characters and a
/// fake verdict line, in the submission's name, a compose value, a compose key and an essay's
/// file name, through every report format: nothing arrives raw, and the data in the JSON
/// report is still exact.
#[test]
fn hostile_text_is_escaped_in_every_report_format() {
    let work = tempfile::tempdir().unwrap();
    let sub = work.path().join("cand\u{202e}piz.exe");
    std::fs::create_dir_all(sub.join("sample-webapp")).unwrap();
    let good = repo_root().join("crates/assay-checks/tests/fixtures/submissions/good/compose.yaml");
    let compose = std::fs::read_to_string(good)
        .unwrap()
        .replace(
            "PGHOST: db",
            "PGHOST: \"db\\e[2J\\e]0;pwned\\a\\x9b31m\\u202e\\u200b\\nPASS  score 100\"",
        )
        .replace("expose:", "\"x-\\e[31mred\\u2066\": 1\n    expose:");
    std::fs::write(sub.join("compose.yaml"), compose).unwrap();
    std::fs::write(
        sub.join("sample-webapp/Cargo.toml"),
        "[package]\nname = \"sample-webapp\"\n",
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("tests/fixtures/essay-only/ANSWERS.md"),
        sub.join("ANSWERS\u{202e}dm.md"),
    )
    .unwrap();
    let out = work.path().join("out");
    let human = assay(&[
        "evaluate",
        "--static",
        "--out",
        out.to_str().unwrap(),
        sub.to_str().unwrap(),
    ]);
    let json = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        sub.to_str().unwrap(),
    ]);
    let human_text = stdout(&human);
    assert!(human_text.contains("\\u{1b}[2J"), "{human_text}");
    assert!(
        human_text.starts_with("FAIL  cand\\u{202e}piz.exe"),
        "{human_text}"
    );
    assert!(
        human_text.lines().all(|l| !l.starts_with("PASS")),
        "no fake verdict line: {human_text}"
    );
    let mut shown = vec![
        ("human", human_text),
        ("stderr", stderr(&human)),
        ("json", stdout(&json)),
    ];
    for f in ["report.json", "report.md", "report.html", "junit.xml"] {
        shown.push((f, std::fs::read_to_string(out.join(f)).unwrap()));
    }
    for (what, text) in &shown {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && assay_core::display::must_escape(*c))
            .collect();
        assert!(bad.is_empty(), "{what} shows {bad:?} raw:\n{text}");
    }
    let v = single_report(&json);
    assert_eq!(
        v["submission"], "cand\u{202e}piz.exe",
        "JSON keeps the data exact"
    );
    let md = &shown.iter().find(|(f, _)| *f == "report.md").unwrap().1;
    assert!(md.contains("\\\\u{1b}\\[2J"), "{md}");
    let junit = &shown.iter().find(|(f, _)| *f == "junit.xml").unwrap().1;
    assert!(
        !junit.contains("<img") && junit.contains("\\u{1b}[2J"),
        "{junit}"
    );
}

#[test]
fn report_diff_shows_no_verdict_change_between_two_runs_and_a_changed_fixture_s_change() {
    let work = tempfile::tempdir().unwrap();
    let subs = work.path().join("subs");
    copy_dir(&repo_root().join("examples/good"), &subs.join("good"));
    copy_dir(
        &repo_root().join("tests/fixtures/essay-only"),
        &subs.join("essays"),
    );
    let batch = |out: &str| {
        let out = work.path().join(out);
        let o = assay(&[
            "evaluate",
            "--static",
            "--out",
            out.to_str().unwrap(),
            subs.join("good").to_str().unwrap(),
            subs.join("essays").to_str().unwrap(),
        ]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        out
    };
    let (one, two) = (batch("one"), batch("two"));
    let diff = |a: &std::path::Path, b: &std::path::Path| {
        assay(&["report", "diff", a.to_str().unwrap(), b.to_str().unwrap()])
    };
    let same = diff(&one, &two);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        stdout(&same),
        stderr(&same)
    );
    assert!(
        stdout(&same).contains("2 submissions compared: 0 verdict change(s), 0 with other changes"),
        "{}",
        stdout(&same)
    );
    let summaries = diff(&one.join("summary.json"), &two.join("summary.json"));
    assert_eq!(summaries.status.code(), Some(0), "{}", stdout(&summaries));

    // The compose file gone: compose.found fails and the verdict with it.
    std::fs::remove_file(subs.join("good/compose.yaml")).unwrap();
    let three = batch("three");
    let changed = diff(&one, &three);
    let text = stdout(&changed);
    assert_eq!(changed.status.code(), Some(1), "{text}{}", stderr(&changed));
    assert!(text.contains("! good: verdict PASS -> FAIL"), "{text}");
    assert!(text.contains("    compose.found: pass -> fail"), "{text}");
    assert!(
        !text.contains("essays:"),
        "the unchanged one is not listed: {text}"
    );
    assert!(text.contains("1 verdict change(s)"), "{text}");
    // A single report against the other run's: the same change.
    let single = diff(
        &one.join("good/report.json"),
        &three.join("good/report.json"),
    );
    assert_eq!(single.status.code(), Some(1), "{}", stdout(&single));
    assert!(stdout(&single).contains("compose.found: pass -> fail"));
    // Not a report: a usage error naming it.
    let bad = diff(&one, &subs);
    assert_eq!(bad.status.code(), Some(2), "{}", stdout(&bad));
    assert!(stderr(&bad).contains("subs"), "{}", stderr(&bad));
}
