//! Hostile db commands are contained by the run's limits, reported with evidence, and the run
//! still tears down.

mod support;
use assay_testkit::projects as testkit;

use assay_core::{CheckId, CheckResult, Status};
use assay_runner::{run_checks, CancellationToken, Scenarios};
use std::time::{Duration, Instant};
use support::*;

async fn run_with_db_command(
    test: &str,
    prefix: &str,
    cmd: &[&str],
) -> Option<(Vec<CheckResult>, Duration)> {
    let engine = engine_or_skip(test).await?;
    let dir = tempfile::tempdir().unwrap();
    let mut project = testkit::good_project(dir.path());
    project.services.get_mut("db").unwrap().command =
        Some(testkit::l(cmd.iter().map(|s| s.to_string()).collect()));
    let mut i = inputs("app", "s3cret-pw", "notes");
    let prefix = run_id(prefix);
    i.run_prefix = prefix.clone();
    i.timeout = Duration::from_secs(25);
    i.scenarios = Scenarios {
        cold_start: false,
        persistence: false,
        scale: false,
    };
    let started = Instant::now();
    let results = run_checks(&engine, &project, &i, CancellationToken::new())
        .await
        .expect("graded");
    let took = started.elapsed();
    eprintln!("{}\n(took {took:?})", show(&results));
    let left = leftovers(&engine, &prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    Some((results, took))
}

fn up(results: &[CheckResult]) -> &CheckResult {
    let up = results.iter().find(|r| r.id == CheckId::RuntimeUp).unwrap();
    assert_eq!(up.status, Status::Fail);
    for r in results.iter().filter(|r| r.id != CheckId::RuntimeUp) {
        assert_eq!(r.status, Status::Skipped, "{}", r.id);
    }
    up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_hog_is_oom_killed_and_reported() {
    let Some((results, _)) = run_with_db_command(
        "a_memory_hog_is_oom_killed_and_reported",
        "toom",
        &["tail", "/dev/zero"],
    )
    .await
    else {
        return;
    };
    let up = up(&results);
    assert!(
        up.evidence.contains(
            "service `db` was killed for exceeding its memory limit (OOMKilled, exit 137)"
        ),
        "{}",
        up.evidence
    );
    assert!(
        up.details
            .iter()
            .any(|d| d.message.contains("OOMKilled true")),
        "{:?}",
        up.details
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_is_held_by_the_pids_limit_and_reported() {
    let Some((results, took)) = run_with_db_command(
        "a_fork_bomb_is_held_by_the_pids_limit_and_reported",
        "tbomb",
        &["bash", "-c", "b() { b | b & }; b; sleep 600"],
    )
    .await
    else {
        return;
    };
    let up = up(&results);
    // Either the abuse watch saw the bomb at the pids limit (the usual headline: the runs are
    // stopped as abuse), or the bomb kept the db from becoming healthy before the watch's next
    // sample and the deadline decided; both fail runtime.up naming the db.
    let abuse = up
        .evidence
        .starts_with("the stack abused the grading host: service `db` ran")
        && up.evidence.contains("its pids limit");
    let unhealthy = up.evidence.starts_with("service `db`")
        && up
            .evidence
            .contains("so service `webapp`, which waits for `db`")
        && up.evidence.contains("healthy before the deadline");
    assert!(abuse || unhealthy, "{}", up.evidence);
    // The deadline held: 25 s plus teardown, not the bomb's pace.
    assert!(took < Duration::from_secs(25 + 40), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_infinity_as_the_db_command_times_out_with_evidence() {
    let Some((results, _)) = run_with_db_command(
        "sleep_infinity_as_the_db_command_times_out_with_evidence",
        "tsleep",
        &["sleep", "infinity"],
    )
    .await
    else {
        return;
    };
    let up = up(&results);
    assert!(
        up.evidence
            .starts_with("service `db` was not healthy before the deadline")
            && up.evidence.contains(
                "so service `webapp`, which waits for `db` (service_healthy), was not started"
            ),
        "{}",
        up.evidence
    );
    assert!(
        up.details
            .iter()
            .any(|d| d.message.contains("status running")),
        "{:?}",
        up.details
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pids_limit_is_enforced_inside_a_run() {
    let Some(engine) = engine_or_skip("the_pids_limit_is_enforced_inside_a_run").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = testkit::good_project(dir.path());
    let id = run_id("tpids");
    let s = stack(&engine, &project, &id, Duration::from_secs(60), false).await;
    // The probe container has the same limits as every container: 256 processes at most.
    let out = engine
        .exec(
            &s.plan.probe.name,
            &[
                "sh",
                "-c",
                "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max",
            ],
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), "256", "{out:?}");
    let info = engine.inspect_container(&s.plan.probe.name).await.unwrap();
    let hc = info.host_config.unwrap();
    assert_eq!(hc.memory, Some(512 * 1024 * 1024));
    assert_eq!(hc.memory_swap, Some(512 * 1024 * 1024));
    assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
    assert!(hc
        .security_opt
        .unwrap()
        .iter()
        .any(|o| o.starts_with("no-new-privileges")));
    s.teardown().await.unwrap();
    assert!(leftovers(&engine, &id).await.is_empty());
}

/// Grades a good project plus a side service `flood` that writes 400 MiB (into a named
/// volume when `volume`, else into its own writable layer), then idles, under a 64 MiB disk
/// budget; returns `runtime.up`'s evidence (the runs left nothing behind).
async fn flood_past_the_budget(test: &str, volume: bool) -> Option<String> {
    let engine = engine_or_skip(test).await?;
    let dir = tempfile::tempdir().unwrap();
    let mut project = testkit::good_project(dir.path());
    let target = if volume { "/scratch/fill" } else { "/fill" };
    let mut flood = testkit::service("flood");
    flood.image = Some(testkit::l(assay_sandbox::images::probe_image().to_string()));
    flood.user = Some(testkit::l("0:0".to_string()));
    flood.command = Some(testkit::l(vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("dd if=/dev/zero of={target} bs=1M count=400 2>/dev/null; exec sleep 600"),
    ]));
    if volume {
        flood
            .volumes
            .push(testkit::named_volume("scratch", "/scratch"));
        project
            .volumes
            .insert("scratch".into(), testkit::volume("scratch"));
    }
    project.services.insert("flood".into(), flood);
    let mut i = inputs("app", "s3cret-pw", "notes");
    let prefix = run_id(if volume { "tflood" } else { "tlayer" });
    i.run_prefix = prefix.clone();
    i.timeout = Duration::from_secs(60);
    i.budget.disk_bytes = 64 << 20;
    i.scenarios = Scenarios {
        cold_start: false,
        persistence: false,
        scale: false,
    };
    let results = run_checks(&engine, &project, &i, CancellationToken::new())
        .await
        .expect("graded");
    eprintln!("{}", show(&results));
    let left = leftovers(&engine, &prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    let up = up(&results);
    assert!(
        up.evidence.contains("over the grading budget of 64 MiB")
            && up.evidence.contains("the runs were stopped"),
        "{}",
        up.evidence
    );
    Some(up.evidence.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writable_layer_flood_past_the_disk_budget_stops_the_runs_naming_the_service() {
    // No volume: no meter walks the layer. The meters' filesystem figure grows by 400 MiB,
    // so the watch asks the daemon for the writable layers' sizes (at the latest when the
    // short run ends) and sees the budget crossed.
    let test = "a_writable_layer_flood_past_the_disk_budget_stops_the_runs_naming_the_service";
    if let Some(evidence) = flood_past_the_budget(test, false).await {
        assert!(
            evidence.contains("service `flood` (writable layers)"),
            "{evidence}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_flood_past_the_disk_budget_stops_the_runs_naming_the_volume() {
    // The disk meter (the probe container's main process) sees the volume grow.
    let test = "a_volume_flood_past_the_disk_budget_stops_the_runs_naming_the_volume";
    if let Some(evidence) = flood_past_the_budget(test, true).await {
        assert!(evidence.contains("volume `scratch`"), "{evidence}");
    }
}
