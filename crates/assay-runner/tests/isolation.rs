//! A run's containers reach only their own run: not another run's containers, not the host.

mod support;
use assay_testkit::projects as testkit;

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

async fn ip_of(engine: &assay_sandbox::Engine, container: &str) -> String {
    let info = engine.inspect_container(container).await.unwrap();
    let nets = info.network_settings.unwrap().networks.unwrap();
    nets.values()
        .find_map(|n| n.ip_address.clone().filter(|a| !a.is_empty()))
        .expect("an address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_cannot_reach_another_runs_containers() {
    let Some(engine) = engine_or_skip("a_container_cannot_reach_another_runs_containers").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = testkit::good_project(dir.path());
    let ida = run_id("tisoa");
    let a = stack(&engine, &project, &ida, Duration::from_secs(60), true).await;
    let idb = run_id("tisob");
    let b = stack(&engine, &project, &idb, Duration::from_secs(60), false).await;
    let web_a = a.plan.service("webapp").unwrap().containers[0].name.clone();
    let ip = ip_of(&engine, &web_a).await;
    let limit = Duration::from_secs(4);

    // Control: inside run A, the webapp answers on its address.
    let own = a
        .probe()
        .http("GET", &format!("http://{ip}:8080/health"), None, limit)
        .await
        .unwrap();
    assert_eq!(own.http_status(), Some(200), "{own:?}");

    // From run B: neither A's names nor A's address lead anywhere.
    for url in [
        format!("http://{web_a}:8080/health"),
        "http://webapp:8080/health".to_string(),
        format!("http://{ip}:8080/health"),
    ] {
        let r = b.probe().http("GET", &url, None, limit).await.unwrap();
        assert_eq!(
            r.http_status(),
            None,
            "{url} answered from another run: {r:?}"
        );
        assert!(!r.ok(), "{r:?}");
    }
    a.teardown().await.unwrap();
    b.teardown().await.unwrap();
    assert!(leftovers(&engine, &ida).await.is_empty());
    assert!(leftovers(&engine, &idb).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_cannot_reach_a_host_listener_through_the_gateway() {
    let Some(engine) =
        engine_or_skip("a_container_cannot_reach_a_host_listener_through_the_gateway").await
    else {
        return;
    };
    // A listener on all the host's addresses, counting what it accepts.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (acc, st) = (accepted.clone(), stop.clone());
    let server = std::thread::spawn(move || {
        while !st.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    acc.fetch_add(1, Ordering::Relaxed);
                    let _ = s.read(&mut [0u8; 16]);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    // Control: the listener works (from the host, over loopback).
    std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(accepted.load(Ordering::Relaxed), 1);

    let dir = tempfile::tempdir().unwrap();
    let project = testkit::good_project(dir.path());
    let id = run_id("tgw");
    let s = stack(&engine, &project, &id, Duration::from_secs(60), false).await;
    let net = &s.plan.networks[0].name;
    let gateway = engine
        .network_gateway(net)
        .await
        .unwrap()
        .expect("a gateway address");
    let r = s
        .probe()
        .tcp(&gateway, port, Duration::from_secs(4))
        .await
        .unwrap();
    assert!(
        !r.ok(),
        "the host listener was reachable through {gateway}: {r:?}"
    );
    assert_eq!(
        accepted.load(Ordering::Relaxed),
        1,
        "the listener saw a connection from the run"
    );
    s.teardown().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    assert!(leftovers(&engine, &id).await.is_empty());
}
