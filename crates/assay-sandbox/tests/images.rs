//! `ensure_images --offline` against the real daemon: every image of the plan exists, labelled,
//! and a second run does nothing. (Timing: see benches/images.sh; here only printed.)

mod common;

use assay_sandbox::images::{probe_image, webapp_image, ImagePlan};
use assay_sandbox::labels;
use assay_sandbox::{is_stand_in, ImageAction};
use bollard::models::{ContainerCreateBody, HostConfig};
use std::collections::BTreeSet;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_images_exist_labelled_and_a_second_run_does_nothing() {
    let Some(engine) = common::engine_or_skip("offline_images").await else {
        return;
    };
    let rubric = common::rubric();
    let plan = ImagePlan::from_rubric(&rubric);

    let t = Instant::now();
    let first = common::prepare(&engine).await;
    eprintln!("first ensure_images: {:.2} s", t.elapsed().as_secs_f64());
    for s in &first.images {
        eprintln!(
            "  {:<32} {:?} stand_in={} {:.1} s",
            s.tag, s.action, s.stand_in, s.seconds
        );
    }

    let wanted: BTreeSet<String> = plan.all().iter().map(|r| r.to_string()).collect();
    let got: BTreeSet<String> = first.images.iter().map(|s| s.tag.clone()).collect();
    assert!(
        wanted.is_subset(&got),
        "missing from the report: {:?}",
        wanted.difference(&got)
    );
    assert!(
        !got.iter().any(|t| t.contains("bad tag")),
        "an invalid rubric tag was used: {got:?}"
    );
    assert!(
        wanted.contains("postgres:15-alpine"),
        "rubric tags are added to the defaults"
    );

    for status in &first.images {
        let inspect = engine
            .inspect_image(&status.tag)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} does not exist", status.tag));
        let l = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
        if status.stand_in {
            assert!(labels::is_true(l, labels::MANAGED), "{}: {l:?}", status.tag);
            assert!(
                labels::is_true(l, labels::STAND_IN),
                "{}: {l:?}",
                status.tag
            );
            assert!(
                l.unwrap().contains_key(labels::CONTENT_HASH),
                "{}",
                status.tag
            );
        }
        assert_eq!(
            is_stand_in(&engine, &status.tag).await,
            status.stand_in,
            "{}",
            status.tag
        );
    }
    // The webapp and probe images are always assay's own builds (never stand-ins).
    for image in [webapp_image(&rubric), probe_image()] {
        let status = first
            .images
            .iter()
            .find(|s| s.tag == image.to_string())
            .unwrap();
        assert!(!status.stand_in);
        let inspect = engine.inspect_image(&status.tag).await.unwrap().unwrap();
        let l = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
        assert!(labels::is_true(l, labels::MANAGED), "{image}: {l:?}");
    }

    let t = Instant::now();
    let second = common::prepare(&engine).await;
    eprintln!("second ensure_images: {:.3} s", t.elapsed().as_secs_f64());
    assert!(second.did_nothing(), "{:?}", second.images);
    assert!(second
        .images
        .iter()
        .all(|s| s.action == ImageAction::AlreadyPresent));
    let again: BTreeSet<String> = second.images.iter().map(|s| s.tag.clone()).collect();
    assert_eq!(got, again);
}

/// Run `cmd` in a fresh container of `image` until it exits; returns (exit code, logs).
async fn run_to_exit(
    engine: &assay_sandbox::Engine,
    cleanup: &common::Cleanup,
    image: &str,
    env: Vec<String>,
    cmd: Option<Vec<String>>,
) -> (i64, String) {
    let name = common::unique("oneshot");
    cleanup.container(&name);
    engine
        .create_container(
            &name,
            ContainerCreateBody {
                image: Some(image.into()),
                env: Some(env),
                cmd,
                labels: Some(labels::managed()),
                host_config: Some(HostConfig {
                    network_mode: Some("none".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    engine.start_container(&name).await.unwrap();
    let code = common::wait_exit(engine, &name).await;
    (code, engine.logs_tail(&name, 50).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_built_binaries_run_on_their_images() {
    let Some(engine) = common::engine_or_skip("host_built_binaries").await else {
        return;
    };
    common::prepare(&engine).await;
    let cleanup = common::Cleanup::new(&engine);

    // The probe's libc is the image's: it runs and prints its JSON.
    let (code, logs) = run_to_exit(
        &engine,
        &cleanup,
        &probe_image().to_string(),
        vec![],
        Some(vec![
            "assay-probe".into(),
            "wait-tcp".into(),
            "127.0.0.1".into(),
            "9".into(),
            "--timeout-ms".into(),
            "300".into(),
        ]),
    )
    .await;
    assert_eq!(code, 0, "{logs}");
    let line = logs
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{logs}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ok"], false, "{v}");

    // The webapp with no reachable database exits 1 and names the host it tried.
    let (code, logs) = run_to_exit(
        &engine,
        &cleanup,
        &webapp_image(&common::rubric()).to_string(),
        vec![
            "PGHOST=nowhere-db".into(),
            "DB_CONNECT_TIMEOUT_SECS=1".into(),
        ],
        None,
    )
    .await;
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("nowhere-db"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_without_a_registry_falls_back_to_a_stand_in_and_says_why() {
    let Some(engine) = common::engine_or_skip("online_fallback").await else {
        return;
    };
    common::prepare(&engine).await;
    // A Postgres tag no one has: online, assay tries the registry first.
    let tag = format!("assay-test-{}", std::process::id());
    let mut plan = ImagePlan::default();
    plan.postgres
        .push(assay_sandbox::ImageRef::new("postgres", &tag));
    let opts = assay_sandbox::ImagesOptions {
        offline: false,
        ..common::options()
    };
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let result = assay_sandbox::ensure_plan(&engine, &plan, &opts, &|l| {
        eprintln!("[images] {l}");
        lines.lock().unwrap().push(l.to_string());
    })
    .await;
    // Whatever happened, the extra tag goes (only the name: the image keeps its other tags).
    let reference = format!("postgres:{tag}");
    let untag = engine.remove_image(&reference).await;
    let report = result.expect("online ensure_plan");
    untag.expect("untag");

    let status = report
        .images
        .iter()
        .find(|s| s.tag == reference)
        .expect("reported");
    match status.action {
        // This machine has no registry: the pull fails and the stand-in takes the name.
        ImageAction::BuiltStandIn => {
            assert!(status.stand_in);
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| w.contains(&format!("cannot pull {reference}"))),
                "{:?}",
                report.warnings
            );
            assert!(lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l == &format!("pulling {reference}")));
        }
        // A machine with a registry that somehow serves this tag.
        ImageAction::Pulled => assert!(!status.stand_in),
        other => panic!("{reference}: {other:?}"),
    }
    assert!(!is_stand_in(&engine, "assay-no-such-image:never").await);
}
