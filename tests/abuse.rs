//! The sandbox holds against a submission that tries to take the grading host (issue 11): the
//! budgets per submission, the one deadline, abuse as the candidate's finding. The heavy test
//! runs in the `abuse` nextest group, with no other test beside it.

mod support;
use support::*;

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join("tests/fixtures/runtime").join(name)
}

/// `assay evaluate --format json --timeout SECS` of a runtime fixture: the exit code, the
/// report (checked against the schema) and stderr.
fn evaluate(name: &str, timeout: &str) -> (Option<i32>, serde_json::Value, String) {
    let o = assay(&[
        "evaluate",
        "--format",
        "json",
        "--timeout",
        timeout,
        fixture(name).to_str().unwrap(),
    ]);
    let v = single_report(&o);
    assert_matches_schema(&v, name);
    (o.status.code(), v, stderr(&o))
}

/// Every message of `runtime.up`, one per line: evidence and details.
fn up_text(report: &serde_json::Value) -> String {
    let up = check(report, "runtime.up");
    let mut text = up["evidence"].as_str().unwrap_or("").to_string();
    for d in up["details"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(d["message"].as_str().unwrap_or(""));
    }
    text
}

/// Evaluates fixture `name` with a 90 s deadline, asserts it FAILs `runtime.up`, and returns
/// `runtime.up`'s messages and the report's notes as one text.
fn failed_up_text(name: &str) -> String {
    let (code, v, err) = evaluate(name, "90");
    assert_eq!(code, Some(1), "{v}\n{err}");
    let up = check(&v, "runtime.up");
    assert_eq!(up["status"], "fail", "{up}");
    format!(
        "{}\n{}",
        up_text(&v),
        serde_json::to_string(&v["notes"]).unwrap()
    )
}

#[test]
fn a_fork_bomb_a_memory_hog_a_disk_flood_and_a_spinner_fail_runtime_up_each_named() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    // The runs end early (the disk budget crossed, the verdict decided, or a service failed),
    // not at the deadline.
    let text = failed_up_text("abuse");
    assert!(
        text.contains("abused the grading host") || text.contains("limits.disk_bytes"),
        "{text}"
    );
    for (service, sign) in [
        ("forkbomb", "pids limit"),
        ("hog", "memory hog"),
        // Held by its quota: a note (the host load decides how much of it the spinner gets).
        ("spin", "CPU quota"),
        ("flood", "volume `scratch`"),
    ] {
        let named = text.lines().chain(text.split("\",\"")).any(|l| {
            l.contains(sign) && (l.contains(&format!("`{service}`")) || sign.contains("scratch"))
        });
        assert!(named, "{service}: not named with `{sign}`: {text}");
    }
    // The side services ran on their share of the budget, and the report says so.
    assert!(text.contains("side services"), "{text}");
}

#[test]
fn forty_services_of_three_replicas_are_refused_statically_with_the_budget() {
    // A full evaluation (images prepared): the policy refuses before anything runs.
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (code, v, err) = evaluate("many-services", "20");
    assert_eq!(code, Some(1), "{v}\n{err}");
    let sec = check(&v, "compose.security");
    assert_eq!(sec["status"], "fail", "{sec}");
    let text = serde_json::to_string(sec).unwrap();
    assert!(text.contains("limits.services"), "{text}");
    assert!(text.contains("limits.containers"), "{text}");
    assert!(text.contains("40 services"), "{text}");
    // Located: line and file of the service that tips the count over.
    let located = sec["details"].as_array().unwrap().iter().any(|d| {
        d["message"]
            .as_str()
            .unwrap_or("")
            .contains("limits.services")
            && d["location"]["line"].is_number()
    });
    assert!(located, "{text}");
    for c in v["checks"].as_array().unwrap() {
        if c["id"].as_str().unwrap().starts_with("runtime.") {
            assert_ne!(c["status"], "pass", "nothing ran: {c}");
        }
    }
}

#[test]
fn a_one_millisecond_healthcheck_is_raised_to_the_floor_with_a_note() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let (_, v, _) = evaluate("healthcheck-1ms", "120");
    for id in ["runtime.up", "runtime.health", "runtime.roundtrip"] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}: {v}");
    }
    let notes = serde_json::to_string(&v["notes"]).unwrap();
    assert!(notes.contains("raised to 1 s"), "{notes}");
    assert!(notes.contains("side1"), "every service is floored: {notes}");
}

#[test]
fn twelve_memory_hogs_are_held_to_their_share_of_the_memory_budget() {
    if !assay_testkit::docker_or_skip(module_path!()) {
        return;
    }
    let text = failed_up_text("twelve-hogs");
    // The split is stated: twelve side services (in each of the two runs) share what the db
    // and the webapp leave of the budget, far less than 440 MiB each.
    let share = text
        .lines()
        .find(|l| l.contains("side services"))
        .unwrap_or_else(|| panic!("no split stated: {text}"));
    assert!(share.contains("MiB"), "{share}");
    // Each hog hits its share: killed at its limit, named as a memory hog.
    let hogs = (1..=12)
        .filter(|i| {
            text.lines()
                .any(|l| l.contains(&format!("`hog{i}`")) && l.contains("memory hog"))
        })
        .count();
    assert!(hogs >= 1, "no hog named: {text}");
    assert!(
        text.contains("abused the grading host"),
        "the runs stop once the verdict is decided: {text}"
    );
}
