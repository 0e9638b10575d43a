//! Reviewer overrides through the real binary (`--static`, no Docker): a credited or waived
//! check recomputes the verdict and every report format shows the override, its reason and who
//! made it, with the verdict before it kept; a file that does not fit is a located usage error
//! before anything is graded; `report diff` shows an overridden verdict change.

mod support;
use std::path::{Path, PathBuf};
use support::*;

/// With the essay-only fixture's answers: `wrong-host` fails the required compose.db-host
/// alone; `no-volume` fails the optional compose.db-volume alone and passes.
fn submissions(root: &Path) -> (PathBuf, PathBuf) {
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let (a, b) = (root.join("wrong-host"), root.join("no-volume"));
    for (dir, from) in [(&a, "wrong-host"), (&b, "no-volume")] {
        copy_dir(&shared.join(from), dir);
        std::fs::copy(
            repo_root().join("tests/fixtures/essay-only/ANSWERS.md"),
            dir.join("ANSWERS.md"),
        )
        .unwrap();
    }
    (a, b)
}

/// A reason with terminal escapes and markup, so every format must encode it.
const HOSTILE_REASON: &str = "the host is set by their `.env` \u{1b}[2J<script>alert(1)</script>";

fn overrides_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("reviewed.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `evaluate --static --overrides FILE [--out OUT] SUBMISSION…` with `text` as the file.
fn graded_with(
    work: &Path,
    text: &str,
    out: Option<&Path>,
    subs: &[&Path],
) -> (PathBuf, std::process::Output) {
    let file = overrides_file(work, text);
    let mut args = vec!["--overrides", file.to_str().unwrap()];
    if let Some(out) = out {
        args.extend(["--out", out.to_str().unwrap()]);
    }
    args.extend(subs.iter().map(|p| p.to_str().unwrap()));
    let o = evaluate(&args);
    (file, o)
}

fn evaluate(args: &[&str]) -> std::process::Output {
    let mut all = vec!["evaluate", "--static"];
    all.extend_from_slice(args);
    assay(&all)
}

#[test]
fn a_credited_required_failure_passes_and_every_format_shows_who_and_why() {
    let work = tempfile::tempdir().unwrap();
    let (host, volume) = submissions(&work.path().join("subs"));
    let file = overrides_file(
        work.path(),
        &format!(
            "by: Dana Reviewer\noverrides:\n  - submission: wrong-host\n    check: compose.db-host\n    action: credit\n    reason: \"{}\"\n  - submission: no-volume\n    check: compose.db-volume\n    action: waive\n    reason: state is disposable in this role\n    by: Lee\n",
            HOSTILE_REASON.replace('\u{1b}', "\\x1b")
        ),
    );
    let out = work.path().join("out");
    let o = evaluate(&[
        "--format",
        "json",
        "--overrides",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        host.to_str().unwrap(),
        volume.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "both pass after review: {}",
        stderr(&o)
    );
    let reports = json_reports(&stdout(&o), &stderr(&o));
    let r = reports
        .iter()
        .find(|r| r["submission"] == "wrong-host")
        .unwrap();
    assert_matches_schema(r, "credited report");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["verdict_before_overrides"], "fail");
    assert!(r["score_before_overrides"].as_f64().unwrap() < r["score"].as_f64().unwrap());
    let c = check(r, "compose.db-host");
    assert_eq!(c["status"], "fail", "what assay found is kept");
    assert_eq!(c["points"], c["max_points"]);
    assert_eq!(c["override"]["action"], "credit");
    assert_eq!(c["override"]["by"], "Dana Reviewer", "the file's reviewer");
    assert_eq!(
        c["override"]["reason"], HOSTILE_REASON,
        "JSON keeps the data exact"
    );
    let v = reports
        .iter()
        .find(|r| r["submission"] == "no-volume")
        .unwrap();
    assert_matches_schema(v, "waived report");
    assert_eq!(
        (
            v["verdict"].as_str(),
            v["verdict_before_overrides"].as_str()
        ),
        (Some("pass"), Some("pass"))
    );
    assert_eq!(
        v["score"], 100.0,
        "a waived optional failure leaves the score"
    );
    let w = check(v, "compose.db-volume");
    assert_eq!(
        (w["override"]["by"].as_str(), w["counted"].as_bool()),
        (Some("Lee"), Some(false))
    );

    let read = |f: &str| std::fs::read_to_string(out.join("wrong-host").join(f)).unwrap();
    let md = read("report.md");
    assert!(
        md.starts_with("# assay: PASS (after reviewer overrides; FAIL before them (score "),
        "{md}"
    );
    assert!(
        md.contains("**Reviewer overrides:**")
            && md.contains("| `compose.db-host` | fail | **credited** | Dana Reviewer |"),
        "{md}"
    );
    let html = read("report.html");
    assert!(html.contains("id=\"before-overrides\""), "{html}");
    assert!(html.contains("<tr data-override=\"compose.db-host\"><td><code>compose.db-host</code></td><td>fail</td><td><strong>credited</strong></td><td>Dana Reviewer</td>"), "{html}");
    assert!(!html.contains("<script>"), "the reason is escaped: {html}");
    let junit = read("junit.xml");
    assert!(
        junit.contains("<property name=\"verdict_before_overrides\" value=\"fail\"/>"),
        "{junit}"
    );
    assert!(junit.contains("<property name=\"override\" value=\"credited\"/><property name=\"override_by\" value=\"Dana Reviewer\"/>"), "{junit}");
    assert!(
        !junit.contains("<failure"),
        "nothing fails after review: {junit}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let row = &summary["submissions"].as_array().unwrap()[1];
    assert_eq!(
        (row["submission"].as_str(), row["verdict"].as_str()),
        (Some("wrong-host"), Some("pass"))
    );
    assert_eq!(row["verdict_before_overrides"], "fail");
    assert_eq!(row["failed_required"], serde_json::json!([]));
    assert_eq!(row["overridden"], serde_json::json!(["compose.db-host"]));

    let human = evaluate(&[
        "--overrides",
        file.to_str().unwrap(),
        host.to_str().unwrap(),
        volume.to_str().unwrap(),
    ]);
    let text = stdout(&human);
    assert!(text.starts_with("PASS  wrong-host"), "{text}");
    assert!(
        text.contains("\n  PASS after reviewer overrides; FAIL before them (score "),
        "{text}"
    );
    assert!(
        text.contains("CREDITED compose.db-host (required, assay found fail; "),
        "{text}"
    );
    assert!(
        text.contains("credited by Dana Reviewer: the host is set by their `.env` \\u{1b}[2J"),
        "{text}"
    );
    for (what, t) in [
        ("human", text),
        ("md", md),
        ("html", html),
        ("junit", junit),
    ] {
        let bad: Vec<char> = t
            .chars()
            .filter(|c| *c != '\n' && assay_core::display::must_escape(*c))
            .collect();
        assert!(bad.is_empty(), "{what} shows {bad:?} raw");
    }
}

#[test]
fn report_diff_shows_the_verdict_the_overrides_changed() {
    let work = tempfile::tempdir().unwrap();
    let (host, volume) = submissions(&work.path().join("subs"));
    let file = overrides_file(
        work.path(),
        "overrides:\n  - submission: wrong-host\n    check: compose.db-host\n    action: credit\n    reason: checked by hand\n    by: Dana\n",
    );
    let grade = |out: &str, extra: &[&str]| {
        let out = work.path().join(out);
        let mut args = vec!["--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (h, v) = (host.to_str().unwrap(), volume.to_str().unwrap());
        args.extend([h, v]);
        let o = evaluate(&args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        out
    };
    let before = grade("before", &[]);
    let after = grade("after", &["--overrides", file.to_str().unwrap()]);
    let d = assay(&[
        "report",
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
    ]);
    let text = stdout(&d);
    assert_eq!(d.status.code(), Some(1), "a verdict changed: {text}");
    assert!(
        text.contains("! wrong-host: verdict FAIL -> PASS, score ")
            && text.contains("; new verdict is after reviewer overrides (FAIL before them)"),
        "{text}"
    );
    assert!(
        text.contains("    compose.db-host: fail -> fail (credited)"),
        "{text}"
    );
    assert!(
        !text.contains("no-volume"),
        "the other is unchanged: {text}"
    );
    // The same between the summaries, which list failed checks only.
    let s = assay(&[
        "report",
        "diff",
        before.join("summary.json").to_str().unwrap(),
        after.join("summary.json").to_str().unwrap(),
    ]);
    assert!(
        stdout(&s).contains("    compose.db-host: failed -> not failed"),
        "{}",
        stdout(&s)
    );
    assert!(
        stdout(&s).contains("new verdict is after reviewer overrides"),
        "{}",
        stdout(&s)
    );
}

#[test]
fn a_file_that_does_not_fit_is_a_located_usage_error_before_grading() {
    let work = tempfile::tempdir().unwrap();
    let (host, volume) = submissions(&work.path().join("subs"));
    let out = work.path().join("out");
    let (file, o) = graded_with(
        work.path(),
        "overrides:\n  - submission: wrong-host\n    check: compose.db-hots\n    action: credit\n    reason: fine\n  - submission: wrong-host\n    check: essays.q1\n    action: waive\n    reason: \"\"\n  - submission: carol.zip\n    check: essays.elective\n    action: credit\n    reason: answered in the README\n  - check: runtime.scale\n    action: waive\n    reason: one replica\n",
        Some(&out),
        &[&host, &volume],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let f = file.display().to_string();
    for want in [
        format!("error: {f}:3:12: check: unknown check id `compose.db-hots` (did you mean `compose.db-host`?)"),
        format!("error: {f}:9:13: reason: empty"),
    ] {
        assert!(err.contains(&want), "{want} in {err}");
    }
    assert_eq!(err.lines().count(), 2, "one line per problem: {err}");
    assert!(!err.contains("intake"), "nothing was graded: {err}");
    assert!(!out.exists(), "nothing written");

    // Once the file parses, its submissions are checked against the ones given.
    let (_, o) = graded_with(
        work.path(),
        "overrides:\n  - submission: carol.zip\n    check: essays.elective\n    action: credit\n    reason: answered in the README\n  - check: runtime.scale\n    action: waive\n    reason: one replica\n",
        None,
        &[&host, &volume],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("error: {f}:2:5: submission `carol.zip` is not among the submissions to grade (wrong-host, no-volume)")), "{err}");
    assert!(err.contains(&format!("error: {f}:6:5: runtime.scale names no submission; in a batch every override names one")), "{err}");
    assert!(!err.contains("intake"), "nothing was graded: {err}");

    let missing = evaluate(&["--overrides", "no/such.yaml", host.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no/such.yaml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn overriding_a_check_that_passed_is_an_error_for_that_submission() {
    let work = tempfile::tempdir().unwrap();
    let (host, _) = submissions(&work.path().join("subs"));
    let out = work.path().join("out");
    let (file, o) = graded_with(
        work.path(),
        "by: Dana\noverrides:\n  - check: compose.db-host\n    action: credit\n    reason: checked by hand\n  - check: essays.q1\n    action: waive\n    reason: not asked this year\n",
        Some(&out),
        &[&host],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}:6:5: essays.q1 passed; there is nothing to waive (remove the override)",
            file.display()
        )),
        "{err}"
    );
    assert!(
        !out.join("report.json").exists(),
        "no report with half the overrides"
    );
}
