//! A batch writes each submission's reports as soon as it is graded, says so on stderr
//! (`[k/N] VERDICT score name … → folder`, with running pass/fail counts), and ends with a
//! table of every submission; the batch summaries agree with the per-submission reports.
//!
//! No timing: one submission's `report.json` is a FIFO made by the test, so writing it blocks
//! that submission's grading thread until the test reads it. Until then the other seven must
//! be graded, written and announced, and the batch summaries (written after the last
//! submission) must not exist.

mod support;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

/// A submission without answers (only the essay-only copies are flagged as similar and
/// rewritten at the end).
const HELD: &str = "s3";

fn batch_of_eight(root: &Path) -> Vec<String> {
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let sources = [
        shared.join("good"),
        shared.join("wrong-host"),
        repo_root().join("tests/fixtures/essay-only"),
        shared.join("no-volume"),
    ];
    (1..=8)
        .map(|n| {
            let dir = root.join(format!("s{n}"));
            copy_dir(&sources[n % sources.len()], &dir);
            dir.to_str().unwrap().to_string()
        })
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn a_batch_writes_each_report_as_its_submission_finishes() {
    let work = tempfile::tempdir().unwrap();
    let subs = batch_of_eight(&work.path().join("subs"));
    let out = work.path().join("out");
    let held = out.join(HELD).join("report.json");
    std::fs::create_dir_all(held.parent().unwrap()).unwrap();
    let made = Command::new("mkfifo").arg(&held).status().expect("mkfifo");
    assert!(made.success());

    let mut args = vec![
        "evaluate".to_string(),
        "--static".into(),
        "--jobs".into(),
        "4".into(),
        "--format".into(),
        "json".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    args.extend(subs);
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(&args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    // Hang guard, not a timing assertion: should the batch wait for the held submission
    // before writing the others (the regression this test is about), the FIFO is released
    // after a long while so the test fails on the order of the lines instead of hanging.
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (released, held) = (released.clone(), held.clone());
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(300));
            if !released.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = std::fs::read(&held);
            }
        });
    }
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut announced = Vec::new();
    // The seven others, while the held one waits on its report.json.
    while announced.len() < 7 {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "stderr ended early"
        );
        let Some(rest) = line.strip_prefix('[') else {
            continue;
        };
        let (count, rest) = rest.split_once("] ").unwrap();
        assert_eq!(count, format!("{}/8", announced.len() + 1), "{line}");
        let name = rest.split_whitespace().nth(2).unwrap().to_string();
        assert_ne!(name, HELD, "the held submission cannot be done: {line}");
        let folder = out.join(&name);
        assert!(
            line.trim_end().contains(&format!("→ {}", folder.display())),
            "{line}"
        );
        for f in ["report.json", "report.md", "report.html", "junit.xml"] {
            assert!(
                folder.join(f).is_file(),
                "{name}/{f} written before its line: {line}"
            );
        }
        announced.push(name);
    }
    assert!(
        !out.join("summary.json").exists() && !out.join("summary.csv").exists(),
        "the summaries come after the last submission"
    );
    // Release the held submission: read what it writes into the FIFO.
    released.store(true, std::sync::atomic::Ordering::SeqCst);
    let held_report = std::fs::read_to_string(&held).unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let printed = stdout_reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "some FAIL: {rest}");
    assert!(rest.starts_with("[8/8] "), "{rest}");
    assert!(
        !rest.contains("graded ·") && !rest.contains('\r'),
        "off a terminal, no bar: {rest}"
    );
    assert!(rest.contains(&format!(" {HELD} in ")), "{rest}");

    // The table: a header and one row per submission, with its verdict and failed checks.
    let table: Vec<&str> = rest
        .lines()
        .skip_while(|l| !l.starts_with("submission "))
        .collect();
    assert_eq!(table.len(), 9, "{rest}");
    for h in ["verdict", "score", "failed required checks", "duration"] {
        assert!(table[0].contains(h), "{}", table[0]);
    }

    // The summaries agree with each submission's report.
    let summary = json(&std::fs::read_to_string(out.join("summary.json")).unwrap());
    let rows = summary["submissions"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    let stdout_reports = json(&printed);
    for row in rows {
        let name = row["submission"].as_str().unwrap();
        let report = if name == HELD {
            json(&held_report)
        } else {
            json(&std::fs::read_to_string(out.join(name).join("report.json")).unwrap())
        };
        assert_eq!(row["verdict"], report["verdict"], "{name}");
        assert_eq!(row["score"], report["score"], "{name}");
        let from_stdout = stdout_reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["submission"] == name)
            .unwrap();
        assert_eq!(
            without_durations(from_stdout),
            without_durations(&report),
            "{name}: the written report is the printed one"
        );
        let shown = table
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in the table: {rest}"));
        assert!(
            shown.contains(&report["verdict"].as_str().unwrap().to_uppercase()),
            "{shown}"
        );
        for id in row["failed_required"].as_array().unwrap() {
            assert!(shown.contains(id.as_str().unwrap()), "{shown}");
        }
    }
}

/// `--rerun-failed DIR --out DIR`: only what did not pass (or was never graded) is graded
/// again; a pass's folder is left as it was and the summaries list every submission.
#[test]
fn rerun_failed_grades_again_only_what_did_not_pass() {
    let work = tempfile::tempdir().unwrap();
    let subs = work.path().join("subs");
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    copy_dir(&shared.join("wrong-host"), &subs.join("failing"));
    copy_dir(
        &repo_root().join("tests/fixtures/essay-only"),
        &subs.join("passing"),
    );
    copy_dir(&shared.join("no-volume"), &subs.join("new"));
    let sub = |n: &str| subs.join(n).to_str().unwrap().to_string();
    let out = work.path().join("out");
    let first = assay(&[
        "evaluate",
        "--static",
        "--out",
        out.to_str().unwrap(),
        &sub("failing"),
        &sub("passing"),
    ]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let kept = std::fs::read(out.join("passing/report.json")).unwrap();

    let again = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        "--rerun-failed",
        out.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        &sub("failing"),
        &sub("passing"),
        &sub("new"),
    ]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let graded: Vec<String> = json(&stdout(&again))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["submission"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(graded, ["failing", "new"], "{}", stderr(&again));
    assert!(
        stderr(&again).contains("1 passed in") && stderr(&again).contains(": passing"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(out.join("passing/report.json")).unwrap(),
        kept,
        "a pass is left as it was"
    );
    let summary = json(&std::fs::read_to_string(out.join("summary.json")).unwrap());
    let rows: Vec<(String, String)> = summary["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["submission"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("failing".to_string(), "fail".to_string()),
            ("new".to_string(), "fail".to_string()),
            ("passing".to_string(), "pass".to_string())
        ]
    );

    // Everything passed: nothing to do, exit 0.
    let none = assay(&[
        "evaluate",
        "--static",
        "--rerun-failed",
        out.to_str().unwrap(),
        &sub("passing"),
    ]);
    assert_eq!(none.status.code(), Some(0), "{}", stderr(&none));
    assert!(stderr(&none).contains("nothing to grade again"));
    assert!(stdout(&none).is_empty());
}

/// On a terminal (a pty made by `script`), the same lines scroll above an N/M bar with the
/// running counts. No timing: the middle submission's report.json is a FIFO, so its grading
/// thread waits on it (the other one grades the third) until the test has seen the bar count
/// the other two.
#[test]
fn on_a_terminal_a_bar_counts_the_batch_under_its_lines() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no `script` (util-linux) to run assay on a pty");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let shared = repo_root().join("crates/assay-checks/tests/fixtures/submissions");
    let subs: Vec<String> = ["t1", "t2", "t3"]
        .iter()
        .map(|n| {
            let dir = work.path().join(n);
            copy_dir(&shared.join("no-volume"), &dir);
            dir.to_str().unwrap().to_string()
        })
        .collect();
    let out = work.path().join("out");
    let held = out.join("t2").join("report.json");
    std::fs::create_dir_all(held.parent().unwrap()).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&held)
        .status()
        .unwrap()
        .success());
    let line = format!(
        "'{}' evaluate --static --jobs 2 --out '{}' {} > /dev/null",
        env!("CARGO_BIN_EXE_assay"),
        out.display(),
        subs.iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tty = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = tty.read(&mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut screen = String::new();
    // Hang guard, not a timing assertion: a bar that never shows fails on the text below.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !screen.contains("2/3 graded · 0 pass, 2 fail, 0 not graded")
        && std::time::Instant::now() < deadline
    {
        // The spinner redraws the bar a few times a second: chunks keep coming.
        if let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_secs(1)) {
            screen.push_str(&chunk);
        }
    }
    let held_report = std::fs::read_to_string(&held).unwrap();
    assert!(
        held_report.contains("\"submission\": \"t2\""),
        "{held_report}"
    );
    let status = child.wait().unwrap();
    while let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_secs(5)) {
        screen.push_str(&chunk);
    }
    assert!(
        screen.contains("2/3 graded · 0 pass, 2 fail, 0 not graded"),
        "the bar with its counts: {screen:?}"
    );
    assert_eq!(status.code(), Some(1), "{screen:?}");
    for want in [
        "[1/3] FAIL",
        "[2/3] FAIL",
        "[3/3] FAIL",
        " t2 in ",
        "submission ",
    ] {
        assert!(screen.contains(want), "{want} on the terminal: {screen:?}");
    }
    assert!(!screen.contains("panicked"), "{screen:?}");
}
