//! Attacks on the host through bind mounts (issue 10): a checked bind source swapped for a
//! symlink before a container starts, and files a container writes keeping setuid or
//! world-writable modes on the host.
//!
//! Each test runs the attack for real and proves two things: the attack happened inside the
//! sandbox (positive control, read from inside the run's containers), and nothing of it
//! reached the host (a canary file with a random token, the submission tree, mode bits).

mod support;
use assay_testkit::projects as testkit;

use assay_runner::run::Stack;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

const DATA: &str = "/var/lib/postgresql/data";

/// Every path under `root` with its mode bits and, for files, content (links as their target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in walk(root) {
        let meta = std::fs::symlink_metadata(&e).unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(&e).unwrap().display())
        } else if meta.is_file() {
            format!(
                "{:o} {}",
                meta.permissions().mode(),
                String::from_utf8_lossy(&std::fs::read(&e).unwrap())
            )
        } else {
            format!("{:o} dir", meta.permissions().mode())
        };
        out.insert(e.strip_prefix(root).unwrap().to_path_buf(), what);
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        out.push(p.clone());
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

/// A submission whose db runs `db_script` (a shell script, no Postgres) with `./pgdata` bound
/// at its data dir, and a second service `peek` that starts after it, binds `./pgdata/x` at
/// `/host` read-only and runs `peek_script`.
fn attack_project(root: &Path, db_script: &str, peek_script: &str) -> assay_compose::Project {
    std::fs::create_dir_all(root.join("pgdata/x")).unwrap();
    std::fs::write(root.join("pgdata/x/hello.txt"), "the submission's own copy").unwrap();
    let mut project = testkit::good_project(root);
    let db = project.services.get_mut("db").unwrap();
    db.volumes = vec![testkit::bind(root, "pgdata", DATA)];
    db.healthcheck = None;
    db.entrypoint = Some(testkit::l(vec!["sh".into(), "-c".into(), db_script.into()]));
    let mut peek = testkit::service("peek");
    peek.image = db.image.clone();
    peek.entrypoint = Some(testkit::l(vec![
        "sh".into(),
        "-c".into(),
        peek_script.into(),
    ]));
    let mut ro = testkit::bind(root, "pgdata/x", "/host");
    ro.value.read_only = true;
    peek.volumes = vec![ro];
    testkit::depends(&mut peek, "db", "service_started");
    project.services.insert("peek".into(), peek);
    project.volumes.clear();
    project
}

/// Starts `db`, then `peek`, in the order compose would.
async fn start_db_then_peek(s: &Stack<'_>) {
    for svc in ["db", "peek"] {
        for c in s.plan.service(svc).unwrap().containers.clone() {
            s.create_and_start(&c)
                .await
                .expect("daemon")
                .unwrap_or_else(|f| panic!("{svc} starts: {}", f.evidence));
        }
    }
}

async fn exec(s: &Stack<'_>, container: &str, script: &str) -> String {
    let out = s
        .engine()
        .exec(container, &["sh", "-c", script])
        .await
        .expect("exec");
    format!("{}{}", out.stdout, out.stderr).trim().to_string()
}

fn container(s: &Stack<'_>, svc: &str) -> String {
    s.plan.service(svc).unwrap().containers[0].name.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bind_swapped_for_a_symlink_to_the_host_root_reaches_only_the_copy() {
    let test = "a_bind_swapped_for_a_symlink_to_the_host_root_reaches_only_the_copy";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    // The canary: a file of the host with a random token, where `/host` would show it if the
    // bind followed the symlink to the host's `/`.
    let token = format!("canary-{}", assay_runner::run::random_hex(2));
    let canary_dir = tempfile::tempdir().unwrap();
    let canary = canary_dir.path().join("canary.txt");
    std::fs::write(&canary, &token).unwrap();
    let canary_rel = canary.strip_prefix("/").unwrap().display().to_string();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("submission");
    std::fs::create_dir(&root).unwrap();
    let db_script = format!("rm -rf {DATA}/x; ln -s / {DATA}/x; exec sleep 600");
    let peek_script = format!("sleep 2; cat /host/{canary_rel}; ls /host; exec sleep 600");
    let project = attack_project(&root, &db_script, &peek_script);
    let before = snapshot(&root);

    let prefix = run_id("tswap");
    let s = stack(&engine, &project, &prefix, Duration::from_secs(60), false).await;
    start_db_then_peek(&s).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let db = container(&s, "db");
    let peek = container(&s, "peek");

    // Positive control: the swap happened, inside the run's volume.
    assert_eq!(exec(&s, &db, &format!("readlink {DATA}/x")).await, "/");
    // What `peek` sees at /host is the submission's copy of ./pgdata/x, nothing of the host.
    assert_eq!(
        exec(&s, &peek, "cat /host/hello.txt").await,
        "the submission's own copy"
    );
    let logs = s.engine().logs_tail(&peek, 200).await.unwrap();
    assert!(logs.contains("hello.txt"), "peek ran its script: {logs}");
    assert!(!logs.contains(&token), "the host's canary leaked: {logs}");
    let mounts = exec(&s, &peek, "cat /proc/self/mountinfo").await;
    assert!(
        !mounts.contains(&root.display().to_string()),
        "no host path of the submission is mounted: {mounts}"
    );

    s.teardown().await.expect("teardown");
    assert_eq!(
        snapshot(&root),
        before,
        "the submission on the host is unchanged"
    );
    let left = leftovers(&engine, &prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setuid_root_file_planted_through_a_bind_stays_in_the_run_volume() {
    let test = "a_setuid_root_file_planted_through_a_bind_stays_in_the_run_volume";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("submission");
    std::fs::create_dir(&root).unwrap();
    let db_script = format!("cp /bin/sh {DATA}/s; chmod 4755 {DATA}/s; exec sleep 600");
    let project = attack_project(&root, &db_script, "exec sleep 600");
    let before = snapshot(&root);

    let prefix = run_id("tsuid");
    let s = stack(&engine, &project, &prefix, Duration::from_secs(60), false).await;
    start_db_then_peek(&s).await;
    let db = container(&s, "db");
    // Positive control: the setuid-root shell exists, inside the run's volume.
    let mut planted = String::new();
    for _ in 0..50 {
        planted = exec(&s, &db, &format!("stat -c '%a %u' {DATA}/s")).await;
        if planted == "4755 0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(planted, "4755 0", "the attack ran");

    // Nothing with a set-id bit anywhere under the grader's work dir, and no new file.
    let setid: Vec<PathBuf> = walk(dir.path())
        .into_iter()
        .filter(|p| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.permissions().mode() & 0o6000 != 0)
        })
        .collect();
    assert!(setid.is_empty(), "set-id files on the host: {setid:?}");
    assert_eq!(
        snapshot(&root),
        before,
        "the submission on the host is unchanged"
    );

    s.teardown().await.expect("teardown");
    let left = leftovers(&engine, &prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_service_gets_its_bound_file_and_the_image_files_beside_it() {
    let test = "a_read_only_service_gets_its_bound_file_and_the_image_files_beside_it";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("submission");
    std::fs::create_dir_all(root.join("conf")).unwrap();
    std::fs::write(root.join("conf/extra.conf"), "from the submission").unwrap();
    let mut project = testkit::good_project(&root);
    let mut side = testkit::service("side");
    side.image = project.services["db"].image.clone();
    side.entrypoint = Some(testkit::l(vec!["sleep".into(), "600".into()]));
    side.read_only = Some(testkit::l(true));
    side.volumes = vec![testkit::bind(&root, "conf/extra.conf", "/etc/extra.conf")];
    project.services.insert("side".into(), side);

    let prefix = run_id("trofile");
    let s = stack(&engine, &project, &prefix, Duration::from_secs(60), false).await;
    let spec = s.plan.service("side").unwrap().containers[0].clone();
    s.create_and_start(&spec)
        .await
        .expect("daemon")
        .unwrap_or_else(|f| panic!("side starts: {}", f.evidence));
    assert_eq!(
        exec(&s, &spec.name, "cat /etc/extra.conf").await,
        "from the submission"
    );
    // The image's own files of /etc are still there (Docker filled the volume first).
    assert!(exec(&s, &spec.name, "cat /etc/os-release")
        .await
        .contains("Debian"));
    assert!(
        exec(&s, &spec.name, "touch /usr/x 2>&1; echo $?")
            .await
            .ends_with('1'),
        "the root filesystem stays read-only"
    );
    s.teardown().await.expect("teardown");
    let left = leftovers(&engine, &prefix).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}
