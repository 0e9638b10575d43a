//! Nothing is left behind: teardown on drop (panic), on cancel, after `kill -9` via the sweep,
//! and live runs of other processes are never touched.

mod support;
use assay_testkit::projects as testkit;

use assay_runner::reaper::{self, LockState, RunLock, SweepMode};
use assay_runner::{run_checks, CancellationToken, RunError};
use std::io::BufRead;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_swept_and_a_live_one_is_not() {
    let Some(engine) = engine_or_skip("a_killed_run_is_swept_and_a_live_one_is_not").await else {
        return;
    };
    let id = run_id("tkill");
    let mut child = std::process::Command::new(assay_testkit::test_child())
        .args(["hold-run", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.starts_with("READY"))
    })
    .await
    .unwrap();
    assert!(ready, "the child did not set its run up");
    assert!(!leftovers(&engine, &id).await.is_empty());
    assert!(
        reaper::is_live(&reaper::default_state_dir(), &id),
        "the child holds its lock"
    );

    // While the child lives, a sweep leaves its run alone.
    let report = reaper::sweep(&engine, &reaper::default_state_dir(), SweepMode::Dead)
        .await
        .unwrap();
    assert!(report.live_runs.contains(&id), "{report:?}");
    assert!(!leftovers(&engine, &id).await.is_empty());

    // kill -9: no teardown ran; the sweep every run starts with removes everything (its lock
    // file is stale). `assay gc` (SweepMode::All) would too.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !leftovers(&engine, &id).await.is_empty(),
        "nothing removed it yet"
    );
    assert_eq!(
        reaper::lock_state(&reaper::default_state_dir(), &id),
        LockState::Stale
    );
    let report = reaper::sweep(&engine, &reaper::default_state_dir(), SweepMode::Dead)
        .await
        .unwrap();
    // Every other test's run starts with the same sweep, so another process may have taken
    // part of it first; what matters is that nothing is left.
    assert!(!report.live_runs.contains(&id), "{report:?}");
    assert!(
        leftovers(&engine, &id).await.is_empty(),
        "{:?}",
        leftovers(&engine, &id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_in_this_process_keeps_labelled_resources() {
    let Some(engine) = engine_or_skip("a_lock_held_in_this_process_keeps_labelled_resources").await
    else {
        return;
    };
    let id = run_id("tlive");
    let state = reaper::default_state_dir();
    let lock = RunLock::acquire(&state, &id).unwrap();
    // Without owner labels (a run of an older assay) the lock file decides.
    let mut labels = assay_sandbox::labels::for_run(&id);
    labels.retain(|k, _| !k.starts_with("dev.assay.owner."));
    engine
        .create_volume(&format!("assay-{id}-v"), labels.clone())
        .await
        .unwrap();
    let report = reaper::sweep(&engine, &state, SweepMode::Dead)
        .await
        .unwrap();
    assert!(report.live_runs.contains(&id));
    assert_eq!(leftovers(&engine, &id).await.len(), 1);
    // A fresh run without a lock file (another tool's) is left alone by the automatic sweep.
    drop(lock);
    reaper::sweep(&engine, &state, SweepMode::Dead)
        .await
        .unwrap();
    assert_eq!(leftovers(&engine, &id).await.len(), 1);
    // A stale lock file (what a killed process leaves) marks it dead. (The tests never run
    // `SweepMode::All`: it would take other crates' test resources running in parallel.)
    std::fs::write(state.join(format!("{id}.lock")), "").unwrap();
    let report = reaper::sweep(&engine, &state, SweepMode::Dead)
        .await
        .unwrap();
    assert!(report.runs.contains(&id), "{report:?}");
    assert!(leftovers(&engine, &id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_mid_run_still_tears_down() {
    let Some(engine) = engine_or_skip("a_panic_mid_run_still_tears_down").await else {
        return;
    };
    let id = run_id("tpanic");
    let e2 = engine.clone();
    let id2 = id.clone();
    let task = tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let project = testkit::good_project(dir.path());
        let s = stack(&e2, &project, &id2, Duration::from_secs(60), true).await;
        let _keep = &s;
        panic!("a bug in assay while {} runs", s.plan.run_id);
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert!(
        leftovers(&engine, &id).await.is_empty(),
        "{:?}",
        leftovers(&engine, &id).await
    );
    assert!(!reaper::is_live(&reaper::default_state_dir(), &id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_tears_it_down() {
    let Some(engine) = engine_or_skip("cancelling_a_run_tears_it_down").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = testkit::good_project(dir.path());
    let mut i = inputs("app", "s3cret-pw", "notes");
    let prefix = run_id("tcancel");
    i.run_prefix = prefix.clone();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        c.cancel();
    });
    let r = run_checks(&engine, &project, &i, cancel).await;
    assert!(matches!(r, Err(RunError::Cancelled)), "{r:?}");
    assert!(
        leftovers(&engine, &prefix).await.is_empty(),
        "{:?}",
        leftovers(&engine, &prefix).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_tears_down_before_exit() {
    let Some(engine) = engine_or_skip("sigterm_mid_run_tears_down_before_exit").await else {
        return;
    };
    let prefix = run_id("tterm");
    let mut child = std::process::Command::new(assay_testkit::test_child())
        .args(["grade-until-signalled", &prefix])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the child's run exists.
    let mut seen = false;
    for _ in 0..200 {
        if leftovers(&engine, &prefix).await.len() >= 3 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the child never started its run");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stdout = child.stdout.take().unwrap();
    let ended = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("ENDED"))
    })
    .await
    .unwrap();
    child.wait().unwrap();
    assert_eq!(ended.as_deref(), Some("ENDED cancelled"));
    // Torn down by the child itself, before it exited: no sweep needed.
    assert!(
        leftovers(&engine, &prefix).await.is_empty(),
        "{:?}",
        leftovers(&engine, &prefix).await
    );
    let locks = std::fs::read_dir(reaper::default_state_dir()).unwrap();
    let mine: Vec<_> = locks
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(
        mine.is_empty(),
        "a cancelled run removes its lock file: {mine:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_judges_the_owner_process_not_the_lock_files_place() {
    let test = "gc_judges_the_owner_process_not_the_lock_files_place";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    use assay_sandbox::labels;
    // A live run whose lock is under another TMPDIR: its labels name this (live) process.
    let live = run_id("townlive");
    engine
        .create_volume(&format!("assay-{live}-v"), labels::for_run(&live))
        .await
        .unwrap();
    // A dead run: its owner process has exited; its work dir is named like intake's.
    let dead = run_id("towndead");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp
        .path()
        .join(format!("{}x1", assay_core::WORK_DIR_PREFIX));
    std::fs::create_dir_all(work.join("submission")).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let gone = child.id();
    child.wait().unwrap();
    let mut l = labels::for_run(&dead);
    l.insert(labels::OWNER_PID.into(), gone.to_string());
    l.insert(labels::WORK_DIR.into(), work.display().to_string());
    engine
        .create_volume(&format!("assay-{dead}-v"), l)
        .await
        .unwrap();

    // A sweep from a state dir that has never seen either run: the owner labels decide.
    // (`SweepMode::All`, what `assay gc` runs, applies the same owner rule; it is not run
    // here because it would also take unlabelled resources of other tests running now.)
    let elsewhere = tempfile::tempdir().unwrap();
    let report = reaper::sweep(&engine, elsewhere.path(), SweepMode::Dead)
        .await
        .unwrap();
    assert!(report.live_runs.contains(&live), "{report:?}");
    assert_eq!(
        leftovers(&engine, &live).await.len(),
        1,
        "the live run is kept"
    );
    assert!(report.runs.contains(&dead), "{report:?}");
    assert!(leftovers(&engine, &dead).await.is_empty());
    assert!(!work.exists(), "the dead run's work dir goes at once");
    assert!(report.work_dirs >= 1);

    engine
        .remove_volume(&format!("assay-{live}-v"))
        .await
        .unwrap();
}
