//! Docker calls the engine does not wrap (volumes, network connect, pause, listings), each under
//! its own timeout, failing with the operation and object named.

use assay_sandbox::{CallError, Engine};
use bollard::models::{
    ContainerSummary, EndpointSettings, Network, NetworkConnectRequest, Volume, VolumeCreateRequest,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// One failed Docker operation outside the engine's own set.
#[derive(Debug, thiserror::Error)]
#[error("could not {op}: {source}")]
pub struct OpError {
    pub op: String,
    #[source]
    pub source: CallError,
}

impl OpError {
    pub fn is_unreachable(&self) -> bool {
        self.source.is_unreachable()
    }
}

async fn timed<T>(
    engine: &Engine,
    op: impl FnOnce() -> String,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, OpError> {
    let limit = engine.timeouts().quick;
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(OpError {
            op: op(),
            source: CallError::Docker(e),
        }),
        Err(_) => Err(OpError {
            op: op(),
            source: CallError::TimedOut(limit),
        }),
    }
}

pub async fn create_volume(
    engine: &Engine,
    name: &str,
    labels: &HashMap<String, String>,
) -> Result<(), OpError> {
    let req = VolumeCreateRequest {
        name: Some(name.to_string()),
        labels: Some(labels.clone()),
        ..Default::default()
    };
    timed(
        engine,
        || format!("create volume {name}"),
        engine.docker().create_volume(req),
    )
    .await
    .map(|_| ())
}

/// Removes a volume; a missing one is fine.
pub async fn remove_volume(engine: &Engine, name: &str) -> Result<(), OpError> {
    let fut = engine
        .docker()
        .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>);
    match timed(engine, || format!("remove volume {name}"), fut).await {
        Err(e) if e.source.is_not_found() => Ok(()),
        other => other,
    }
}

pub async fn connect_network(
    engine: &Engine,
    network: &str,
    container: &str,
    endpoint: EndpointSettings,
) -> Result<(), OpError> {
    let req = NetworkConnectRequest {
        container: container.to_string(),
        endpoint_config: Some(endpoint),
    };
    timed(
        engine,
        || format!("connect container {container} to network {network}"),
        engine.docker().connect_network(network, req),
    )
    .await
}

pub async fn pause(engine: &Engine, container: &str) -> Result<(), OpError> {
    timed(
        engine,
        || format!("pause container {container}"),
        engine.docker().pause_container(container),
    )
    .await
}

pub async fn unpause(engine: &Engine, container: &str) -> Result<(), OpError> {
    timed(
        engine,
        || format!("unpause container {container}"),
        engine.docker().unpause_container(container),
    )
    .await
}

fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

/// Containers (running or not) carrying `label` (`key` or `key=value`).
pub async fn list_containers(
    engine: &Engine,
    label: &str,
) -> Result<Vec<ContainerSummary>, OpError> {
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&label_filter(label))
        .build();
    timed(
        engine,
        || format!("list containers labelled {label}"),
        engine.docker().list_containers(Some(opts)),
    )
    .await
}

pub async fn list_networks(engine: &Engine, label: &str) -> Result<Vec<Network>, OpError> {
    let opts = ListNetworksOptionsBuilder::default()
        .filters(&label_filter(label))
        .build();
    timed(
        engine,
        || format!("list networks labelled {label}"),
        engine.docker().list_networks(Some(opts)),
    )
    .await
}

pub async fn list_volumes(engine: &Engine, label: &str) -> Result<Vec<Volume>, OpError> {
    let opts = ListVolumesOptionsBuilder::default()
        .filters(&label_filter(label))
        .build();
    timed(
        engine,
        || format!("list volumes labelled {label}"),
        engine.docker().list_volumes(Some(opts)),
    )
    .await
    .map(|r| r.volumes.unwrap_or_default())
}

/// Gateway address of a network's first IPAM config (for isolation tests).
pub async fn network_gateway(engine: &Engine, name: &str) -> Result<Option<String>, OpError> {
    let fut = engine.docker().inspect_network(
        name,
        None::<bollard::query_parameters::InspectNetworkOptions>,
    );
    let net = timed(engine, || format!("inspect network {name}"), fut).await?;
    Ok(net
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().find_map(|c| c.gateway)))
}

/// The default per-call limit, for callers that wrap raw calls.
pub fn quick(engine: &Engine) -> Duration {
    engine.timeouts().quick
}
