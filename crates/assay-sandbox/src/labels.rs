//! Docker labels assay puts on what it creates, so `docker ps` reads well and the reaper can
//! find everything by label.

use std::collections::HashMap;

/// On every container, network, volume and image assay creates.
pub const MANAGED: &str = "dev.assay.managed";
/// On images built from Debian packages instead of the upstream image of the same name.
pub const STAND_IN: &str = "dev.assay.stand-in";
/// sha256 of everything an image was built from; equal hash = nothing to do.
pub const CONTENT_HASH: &str = "dev.assay.content-hash";
/// The run a container, network or volume belongs to.
pub const RUN: &str = "dev.assay.run";
/// What an image is for (`postgres`, `debian`, `webapp`, `probe`), or a container
/// (`service`, `probe`).
pub const ROLE: &str = "dev.assay.role";

/// Compose's own labels, so `docker ps` and `docker compose ls` read a run like a compose
/// project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";

/// `dev.assay.managed=true` alone.
pub fn managed() -> HashMap<String, String> {
    HashMap::from([(MANAGED.to_string(), "true".to_string())])
}

/// The labels of one run's containers, networks and volumes.
pub fn for_run(run_id: &str) -> HashMap<String, String> {
    let mut l = managed();
    l.insert(RUN.to_string(), run_id.to_string());
    l
}

/// True when `labels` carry `key=true`.
pub fn is_true(labels: Option<&HashMap<String, String>>, key: &str) -> bool {
    labels.and_then(|l| l.get(key)).is_some_and(|v| v == "true")
}
