//! The engine's wrappers against the real daemon: label sweeps (what `assay gc` builds on),
//! exec output caps and exit codes, pause, and typed not-found errors.

mod common;

use assay_sandbox::engine::OUTPUT_CAP;
use assay_sandbox::images::probe_image;
use assay_sandbox::{labels, EngineError};
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_labelled_with_a_run_is_found_and_removed_by_label() {
    let Some(engine) = common::engine_or_skip("label_sweep").await else {
        return;
    };
    common::prepare(&engine).await;
    let cleanup = common::Cleanup::new(&engine);
    let run = common::unique("run");
    let run_label = format!("{}={run}", labels::RUN);
    let (net, vol, ctr) = (
        format!("{run}-net"),
        format!("{run}-vol"),
        format!("{run}-ctr"),
    );
    cleanup.network(&net);
    cleanup.container(&ctr);
    cleanup.volume(&vol);

    engine
        .create_network(NetworkCreateRequest {
            name: net.clone(),
            internal: Some(true),
            labels: Some(labels::for_run(&run)),
            ..Default::default()
        })
        .await
        .unwrap();
    engine
        .create_volume(&vol, labels::for_run(&run))
        .await
        .unwrap();
    engine
        .create_container(
            &ctr,
            ContainerCreateBody {
                image: Some(probe_image().to_string()),
                labels: Some(labels::for_run(&run)),
                host_config: Some(HostConfig {
                    network_mode: Some(net.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    engine.start_container(&ctr).await.unwrap();

    assert_eq!(
        engine.containers_labelled(&run_label).await.unwrap(),
        vec![ctr.clone()]
    );
    assert_eq!(
        engine.networks_labelled(&run_label).await.unwrap(),
        vec![net.clone()]
    );
    assert_eq!(
        engine.volumes_labelled(&run_label).await.unwrap(),
        vec![vol.clone()]
    );

    // Exec: exit codes, and output capped however much a process prints.
    let out = engine
        .exec(&ctr, &["sh", "-c", "echo hi; echo oops >&2; exit 7"])
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (Some(7), "hi\n", "oops\n")
    );
    let flood = engine
        .exec(&ctr, &["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"])
        .await
        .unwrap();
    assert_eq!(flood.stdout.len(), OUTPUT_CAP);
    assert!(flood.truncated);

    engine.pause_container(&ctr).await.unwrap();
    let state = engine.inspect_container(&ctr).await.unwrap().state.unwrap();
    assert_eq!(state.paused, Some(true));
    engine.unpause_container(&ctr).await.unwrap();

    engine.remove_container(&ctr).await.unwrap();
    engine.remove_network(&net).await.unwrap();
    engine.remove_volume(&vol).await.unwrap();
    assert!(engine
        .containers_labelled(&run_label)
        .await
        .unwrap()
        .is_empty());
    assert!(engine
        .networks_labelled(&run_label)
        .await
        .unwrap()
        .is_empty());
    assert!(engine
        .volumes_labelled(&run_label)
        .await
        .unwrap()
        .is_empty());

    // Removing what is gone is fine; inspecting it is a typed not-found.
    engine.remove_container(&ctr).await.unwrap();
    engine.remove_network(&net).await.unwrap();
    engine.remove_volume(&vol).await.unwrap();
    let err = engine.inspect_container(&ctr).await.unwrap_err();
    assert!(
        matches!(err, EngineError::InspectContainer { .. }),
        "{err:?}"
    );
    assert!(err.is_not_found() && !err.is_unreachable(), "{err:?}");
    assert!(engine
        .inspect_image("assay-no-such-image:never")
        .await
        .unwrap()
        .is_none());
}
