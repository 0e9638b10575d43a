//! The plan: a resolved compose project turned into hardened Docker specs. Pure — no daemon, no
//! file system — so every security decision is unit-tested here; [`crate::run`] only executes.
//!
//! What the plan decides, whatever the compose file says:
//! - one `internal: true` network per compose network, named `assay-<run>-<network>`;
//! - one volume per named volume *and* per anonymous volume, named per run, so a killed run's
//!   data is found by label;
//! - generated container names (`container_name` ignored), no published ports;
//! - the webapp service runs the pristine webapp image whatever `build:`/`image:` say;
//! - secrets and configs are copied in through the archive API, never bind-mounted;
//! - binds only inside the submission directory, read-only unless they hold the db's data;
//! - the same hardening on every container (capabilities, no-new-privileges, pids, memory,
//!   CPU, log size, bounded restarts, grace ≤ 10 s);
//! - labels `dev.assay.managed`, `dev.assay.run` and the compose labels; candidate labels in
//!   `dev.assay.*` are stripped.

use assay_compose::{Dependency, Healthcheck, MountKind, Project, Service};
use assay_core::{Diagnostic, Location};
use assay_sandbox::labels;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig, Mount,
    MountTmpfsOptions, MountType, NetworkingConfig, RestartPolicy, RestartPolicyNameEnum,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Capabilities every container keeps (what Postgres's entrypoint needs to prepare its data dir
/// and drop to its own user); everything else is dropped.
pub const KEPT_CAPS: [&str; 5] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];

/// Compose label names (so `docker ps` reads like compose).
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";
/// What a container is for in the run: `service` or `probe`.
pub const ROLE_LABEL: &str = "dev.assay.role";

/// Resource limits applied to every container of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Memory limit; memory+swap is set to the same value (no swap).
    pub memory_bytes: i64,
    pub pids: i64,
    /// CPU quota in billionths of a CPU (`--cpus 1` = 1e9).
    pub nano_cpus: i64,
    /// json-file log driver caps.
    pub log_max_size: String,
    pub log_max_files: u32,
    /// Stop grace period, capped at 10 s whatever `stop_grace_period` says.
    pub stop_grace: Duration,
    /// Restart policies become `on-failure` with at most this many restarts.
    pub max_restarts: i64,
    /// Size cap of every tmpfs mount.
    pub tmpfs_bytes: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 * 1024 * 1024,
            pids: 256,
            nano_cpus: default_nano_cpus(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            log_max_size: "1m".into(),
            log_max_files: 2,
            stop_grace: Duration::from_secs(10),
            max_restarts: 20,
            tmpfs_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The CPU quota of one container on a host with `cpus` CPUs: all but half a CPU, at least
/// one CPU and at most four. A container that spins cannot take the whole host from the
/// grader and the rest of the stack, while Postgres, whose first start runs initdb and its
/// bootstrap backend side by side, is not throttled to one CPU (on a 2-CPU host that cost
/// ~0.2 s per first start: `benches/runtime_phase.sh`). Four keeps concurrent gradings
/// (`--jobs`) on a large host from crowding each other.
pub fn default_nano_cpus(cpus: usize) -> i64 {
    const ONE: i64 = 1_000_000_000;
    let cpus = i64::try_from(cpus).unwrap_or(i64::MAX / ONE);
    (cpus.saturating_mul(ONE) - ONE / 2).clamp(ONE, 4 * ONE)
}

/// What the plan needs besides the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInputs {
    /// Short id of this run (`[a-z0-9]+`), part of every name.
    pub run_id: String,
    /// The Postgres service.
    pub db_service: String,
    /// The webapp service; it runs [`PlanInputs::webapp_image`].
    pub webapp_service: String,
    /// The pristine webapp image, e.g. `assay/sample-webapp:0.1.0`.
    pub webapp_image: String,
    /// The probe image, e.g. `assay/probe:0.1.0`.
    pub probe_image: String,
    /// Port the webapp listens on when its service sets no `PORT`.
    pub webapp_default_port: u16,
    pub limits: Limits,
}

/// A `depends_on` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    fn parse(s: &str) -> Option<Condition> {
        match s {
            "service_started" => Some(Condition::Started),
            "service_healthy" => Some(Condition::Healthy),
            "service_completed_successfully" => Some(Condition::CompletedSuccessfully),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// One network of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The name in the compose file.
    pub compose_name: String,
    /// The Docker name, `assay-<run>-<network>`.
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// Bridge option that gives the bridge no IPv4 address: containers still reach each other,
/// but nothing the host binds (on 0.0.0.0) is reachable through the gateway address, which
/// `internal: true` alone allows (measured on Docker 20.10). The host cannot reach the
/// containers either, which is why probes run from a container inside the networks.
pub const INHIBIT_IPV4: &str = "com.docker.network.bridge.inhibit_ipv4";

impl NetworkSpec {
    /// The create request: bridge, `internal` (no egress), no bridge IPv4 (no host access).
    pub fn create_request(&self) -> bollard::models::NetworkCreateRequest {
        bollard::models::NetworkCreateRequest {
            name: self.name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            attachable: Some(false),
            enable_ipv6: Some(false),
            options: Some(HashMap::from([(
                INHIBIT_IPV4.to_string(),
                "true".to_string(),
            )])),
            labels: Some(self.labels.clone()),
            ..Default::default()
        }
    }
}

/// One volume of the run (named or anonymous in the compose file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The name in the compose file, or `None` for an anonymous volume.
    pub compose_name: Option<String>,
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// A file copied into a container before it starts (secrets, configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    /// What the file is, for messages (`secret db_password`).
    pub what: String,
    /// Where the content comes from.
    pub source: FileSource,
    /// Absolute path inside the container.
    pub target: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// Content of a [`FileCopy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file of the submission (absolute path, lexically inside the submission root; the run
    /// resolves symlinks again before reading).
    Host(PathBuf),
    /// Inline content (`configs.*.content`).
    Inline(String),
}

/// A container attachment to a run network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Docker network name.
    pub network: String,
    pub aliases: Vec<String>,
}

/// Everything to create one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub service: String,
    pub image: String,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub healthcheck: Option<HealthConfig>,
    pub labels: HashMap<String, String>,
    pub mounts: Vec<Mount>,
    pub networks: Vec<Attachment>,
    pub restart_max: Option<i64>,
    pub stop_signal: Option<String>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub files: Vec<FileCopy>,
    /// Host paths of binds; the run re-checks them after resolving symlinks.
    pub bind_sources: Vec<PathBuf>,
    pub limits: Limits,
}

impl ContainerSpec {
    /// The Docker create body: hardening applied, first network attached (the others are
    /// connected before start, which works on every API version).
    pub fn create_body(&self) -> ContainerCreateBody {
        let l = &self.limits;
        let restart = match self.restart_max {
            Some(n) => RestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(n),
            },
            None => RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            },
        };
        let host_config = HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(KEPT_CAPS.iter().map(|c| c.to_string()).collect()),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            pids_limit: Some(l.pids),
            memory: Some(l.memory_bytes),
            memory_swap: Some(l.memory_bytes),
            nano_cpus: Some(l.nano_cpus),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(HashMap::from([
                    ("max-size".to_string(), l.log_max_size.clone()),
                    ("max-file".to_string(), l.log_max_files.to_string()),
                ])),
            }),
            restart_policy: Some(restart),
            mounts: Some(self.mounts.clone()),
            init: self.init,
            readonly_rootfs: self.read_only,
            privileged: Some(false),
            publish_all_ports: Some(false),
            network_mode: Some(
                self.networks
                    .first()
                    .map(|a| a.network.clone())
                    .unwrap_or_else(|| "none".into()),
            ),
            ..Default::default()
        };
        let networking_config = self.networks.first().map(|a| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(a.network.clone(), a.endpoint())])),
        });
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(self.env.clone()),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            user: self.user.clone(),
            working_dir: self.working_dir.clone(),
            hostname: self.hostname.clone(),
            healthcheck: self.healthcheck.clone(),
            labels: Some(self.labels.clone()),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: Some(l.stop_grace.as_secs() as i64),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        }
    }

    /// The same container as replica number `n` (name and compose number label change).
    pub fn replica(&self, n: usize) -> ContainerSpec {
        let mut c = self.clone();
        c.name = replace_suffix(&self.name, n);
        c.labels.insert(COMPOSE_NUMBER.into(), n.to_string());
        c
    }
}

impl Attachment {
    pub fn endpoint(&self) -> EndpointSettings {
        EndpointSettings {
            aliases: Some(self.aliases.clone()),
            ..Default::default()
        }
    }
}

fn replace_suffix(name: &str, n: usize) -> String {
    match name.rsplit_once('-') {
        Some((stem, last)) if last.chars().all(|c| c.is_ascii_digit()) => format!("{stem}-{n}"),
        _ => format!("{name}-{n}"),
    }
}

/// One service of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    pub name: String,
    /// Dependencies that must hold before this service starts.
    pub depends_on: Vec<(String, Condition)>,
    /// Whether the container has a healthcheck (image or compose); `runtime.up` waits for it.
    pub has_healthcheck: bool,
    /// One spec per replica (usually one).
    pub containers: Vec<ContainerSpec>,
    /// Where the service is written, for findings.
    pub location: Location,
}

/// The webapp endpoint the probes talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebappTarget {
    pub service: String,
    pub port: u16,
}

/// A whole run, ready to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub run_id: String,
    /// The submission root (binds and secrets are re-checked against it at run time).
    pub root: PathBuf,
    /// Value of `com.docker.compose.project`.
    pub project_name: String,
    pub networks: Vec<NetworkSpec>,
    pub volumes: Vec<VolumeSpec>,
    /// Services in start order (dependencies first).
    pub services: Vec<ServicePlan>,
    /// The probe container: joins every run network, idles, driven by exec.
    pub probe: ContainerSpec,
    pub webapp: WebappTarget,
    pub db_service: String,
}

impl RunPlan {
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The planned service container named `name` (any replica).
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.services
            .iter()
            .flat_map(|s| s.containers.iter())
            .find(|c| c.name == name)
    }

    /// Labels every resource of this run carries.
    pub fn run_labels(&self) -> HashMap<String, String> {
        let mut l = labels::for_run(&self.run_id);
        l.insert(COMPOSE_PROJECT.into(), self.project_name.clone());
        l
    }
}

/// Keeps `[A-Za-z0-9_.-]`, replaces the rest with `_`, caps the length, so a compose name is
/// always a valid part of a Docker name.
pub fn docker_safe(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// Gives each compose name a unique Docker-safe name under `prefix`.
fn unique_names<'a>(
    prefix: &str,
    names: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut used = BTreeSet::new();
    for n in names {
        let base = format!("{prefix}-{}", docker_safe(n));
        let mut candidate = base.clone();
        let mut i = 2;
        while !used.insert(candidate.clone()) {
            candidate = format!("{base}-{i}");
            i += 1;
        }
        out.insert(n.clone(), candidate);
    }
    out
}

/// Parses a compose (Go) duration: `1m30s`, `500ms`, `10s`, `1h`, `2.5s`. `None` when invalid.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * factor;
    }
    if !total.is_finite() || total > 1e9 {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

/// Whether `path` is lexically inside `root` (both absolute; `..` resolved lexically).
pub fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut norm = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !norm.pop() {
                    return false;
                }
            }
            Component::CurDir => {}
            other => norm.push(other.as_os_str()),
        }
    }
    path.is_absolute() && norm.starts_with(root)
}

/// The Postgres data directory of a service: `PGDATA` or the image default.
fn pg_data_dir(service: &Service) -> String {
    service
        .environment
        .get("PGDATA")
        .and_then(|v| v.value.clone())
        .unwrap_or_else(|| "/var/lib/postgresql/data".into())
}

fn health_config(h: &Healthcheck, diags: &mut Vec<Diagnostic>) -> Option<HealthConfig> {
    if h.disable {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    let mut dur = |v: &Option<assay_compose::Located<String>>| -> Option<i64> {
        let v = v.as_ref()?;
        match parse_duration(&v.value) {
            Some(d) => Some(d.as_nanos().min(i64::MAX as u128) as i64),
            None => {
                diags.push(
                    Diagnostic::error(format!("invalid duration `{}` in healthcheck", v.value))
                        .at(v.location.clone()),
                );
                None
            }
        }
    };
    let interval = dur(&h.interval);
    let timeout = dur(&h.timeout);
    let start_period = dur(&h.start_period);
    let start_interval = dur(&h.start_interval);
    Some(HealthConfig {
        test: h.test.as_ref().map(|t| t.value.clone()),
        interval,
        timeout,
        start_period,
        start_interval,
        retries: h.retries.as_ref().map(|r| r.value.clamp(0, 1000)),
    })
}

/// Services in start order: dependencies first, ties broken by name. Dependencies on services
/// that are not in the project are ignored here (validation reports them). A cycle cannot pass
/// validation; should one reach the plan anyway, its services are appended by name.
pub fn start_order(project: &Project) -> Vec<String> {
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    let mut remaining: BTreeSet<&String> = project.services.keys().collect();
    while !remaining.is_empty() {
        let ready: Vec<&String> = remaining
            .iter()
            .filter(|name| {
                project.services[name.as_str()]
                    .depends_on
                    .keys()
                    .filter(|d| project.services.contains_key(d.as_str()))
                    .all(|d| done.contains(d))
            })
            .copied()
            .collect();
        let batch = if ready.is_empty() {
            remaining.iter().copied().collect()
        } else {
            ready
        };
        for n in batch {
            remaining.remove(n);
            done.insert(n.clone());
            order.push(n.clone());
        }
    }
    order
}

/// Turns a resolved project into a run plan, or every reason it cannot be run.
pub fn plan(project: &Project, inputs: &PlanInputs) -> Result<RunPlan, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let run = &inputs.run_id;
    let prefix = format!("assay-{run}");
    let project_name = format!("assay-{run}");
    let mut base_labels = labels::for_run(run);
    base_labels.insert(COMPOSE_PROJECT.into(), project_name.clone());

    for (role, svc) in [
        ("db", &inputs.db_service),
        ("webapp", &inputs.webapp_service),
    ] {
        if !project.services.contains_key(svc) {
            diags.push(Diagnostic::error(format!(
                "the {role} service `{svc}` is not in the project"
            )));
        }
    }

    // Networks: every declared network that some service uses, plus `default` when used.
    let mut used_networks: BTreeSet<String> = BTreeSet::new();
    for s in project.services.values() {
        if s.network_mode.is_none() {
            used_networks.extend(s.networks.keys().cloned());
        }
    }
    for n in &used_networks {
        match project.networks.get(n) {
            Some(def) if def.is_external() => diags.push(
                Diagnostic::error(format!(
                    "network `{n}` is external; assay only runs networks it creates"
                ))
                .at(def.location.clone()),
            ),
            Some(_) => {}
            None if n == "default" => {}
            None => diags.push(Diagnostic::error(format!("network `{n}` is not declared"))),
        }
    }
    let net_names = unique_names(&prefix, used_networks.iter());
    let networks: Vec<NetworkSpec> = net_names
        .iter()
        .map(|(compose, name)| NetworkSpec {
            compose_name: compose.clone(),
            name: name.clone(),
            labels: base_labels.clone(),
        })
        .collect();

    // Named volumes.
    let mut volumes = Vec::new();
    let mut vol_names = BTreeMap::new();
    for (n, def) in &project.volumes {
        if def.is_external() {
            diags.push(
                Diagnostic::error(format!(
                    "volume `{n}` is external; assay only uses volumes it creates"
                ))
                .at(def.location.clone()),
            );
        }
    }
    for (compose, name) in unique_names(&format!("{prefix}-v"), project.volumes.keys()) {
        vol_names.insert(compose.clone(), name.clone());
        volumes.push(VolumeSpec {
            compose_name: Some(compose),
            name,
            labels: base_labels.clone(),
        });
    }

    let order = start_order(project);
    let mut services = Vec::new();
    for name in &order {
        let s = &project.services[name];
        let cname = format!("{prefix}-{}-1", docker_safe(name));
        let is_webapp = *name == inputs.webapp_service;
        let image = if is_webapp {
            inputs.webapp_image.clone()
        } else {
            match &s.image {
                Some(i) => i.value.clone(),
                None => {
                    diags.push(
                        Diagnostic::error(format!(
                            "service `{name}` has no image; assay builds only the handout webapp"
                        ))
                        .at(s.location.clone()),
                    );
                    String::new()
                }
            }
        };

        let mut labels_map: HashMap<String, String> = s
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("dev.assay.") && !k.starts_with("com.docker.compose."))
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        labels_map.extend(base_labels.clone());
        labels_map.insert(COMPOSE_SERVICE.into(), name.clone());
        labels_map.insert(COMPOSE_NUMBER.into(), "1".into());
        labels_map.insert(ROLE_LABEL.into(), "service".into());

        let env: Vec<String> = s
            .environment
            .iter()
            .filter_map(|(k, v)| v.value.as_ref().map(|v| format!("{k}={v}")))
            .collect();

        // Networks.
        let mut attachments = Vec::new();
        match &s.network_mode {
            Some(m) if m.value == "none" => {}
            Some(m) => diags.push(
                Diagnostic::error(format!("network_mode `{}` is not run by assay", m.value))
                    .at(m.location.clone()),
            ),
            None => {
                for (net, sn) in &s.networks {
                    let Some(docker_net) = net_names.get(net) else {
                        continue;
                    };
                    let mut aliases = vec![name.clone()];
                    for a in &sn.aliases {
                        if !aliases.contains(&a.value) {
                            aliases.push(a.value.clone());
                        }
                    }
                    attachments.push(Attachment {
                        network: docker_net.clone(),
                        aliases,
                    });
                }
            }
        }

        // Mounts.
        let mut mounts = Vec::new();
        let mut bind_sources = Vec::new();
        let data_dir = pg_data_dir(s);
        let mut anon = 0;
        for v in &s.volumes {
            let m = &v.value;
            match m.kind {
                MountKind::Volume => {
                    let source = match &m.source {
                        Some(src) => match vol_names.get(src) {
                            Some(n) => n.clone(),
                            None => {
                                diags.push(
                                    Diagnostic::error(format!("volume `{src}` is not declared"))
                                        .at(v.location.clone()),
                                );
                                continue;
                            }
                        },
                        None => {
                            anon += 1;
                            let n = format!("{prefix}-anon-{}-{anon}", docker_safe(name));
                            volumes.push(VolumeSpec {
                                compose_name: None,
                                name: n.clone(),
                                labels: base_labels.clone(),
                            });
                            n
                        }
                    };
                    mounts.push(Mount {
                        target: Some(m.target.clone()),
                        source: Some(source),
                        typ: Some(MountType::VOLUME),
                        read_only: Some(m.read_only),
                        ..Default::default()
                    });
                }
                MountKind::Bind => {
                    let Some(host) = &m.host_path else {
                        diags.push(
                            Diagnostic::error("bind mount without a host path")
                                .at(v.location.clone()),
                        );
                        continue;
                    };
                    if !lexically_inside(&project.root, host) {
                        diags.push(
                            Diagnostic::error(format!(
                                "bind mount source `{}` leaves the submission directory",
                                m.source.as_deref().unwrap_or("?")
                            ))
                            .at(v.location.clone()),
                        );
                        continue;
                    }
                    let writable = *name == inputs.db_service
                        && m.target.trim_end_matches('/') == data_dir.trim_end_matches('/');
                    bind_sources.push(host.clone());
                    mounts.push(Mount {
                        target: Some(m.target.clone()),
                        source: Some(host.to_string_lossy().into_owned()),
                        typ: Some(MountType::BIND),
                        read_only: Some(m.read_only || !writable),
                        ..Default::default()
                    });
                }
                MountKind::Tmpfs => {
                    mounts.push(Mount {
                        target: Some(m.target.clone()),
                        typ: Some(MountType::TMPFS),
                        tmpfs_options: Some(MountTmpfsOptions {
                            size_bytes: Some(inputs.limits.tmpfs_bytes),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
                other => diags.push(
                    Diagnostic::error(format!(
                        "mount type `{}` is not run by assay",
                        other.as_str()
                    ))
                    .at(v.location.clone()),
                ),
            }
        }
        for t in &s.tmpfs {
            mounts.push(Mount {
                target: Some(t.value.split(':').next().unwrap_or("").to_string()),
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions {
                    size_bytes: Some(inputs.limits.tmpfs_bytes),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }

        // Secrets and configs, copied in.
        let mut files = Vec::new();
        for r in &s.secrets {
            let src = &r.value.source;
            let Some(def) = project.secrets.get(src) else {
                diags.push(
                    Diagnostic::error(format!("secret `{src}` is not declared"))
                        .at(r.location.clone()),
                );
                continue;
            };
            let target = match &r.value.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("/run/secrets/{t}"),
                None => format!("/run/secrets/{src}"),
            };
            match file_source(project, &def.file_resolved, None) {
                Ok(source) => files.push(file_copy(
                    format!("secret {src}"),
                    source,
                    target,
                    &r.value,
                    0o444,
                )),
                Err(msg) => diags.push(
                    Diagnostic::error(format!("secret `{src}`: {msg}")).at(def.location.clone()),
                ),
            }
        }
        for r in &s.configs {
            let src = &r.value.source;
            let Some(def) = project.configs.get(src) else {
                diags.push(
                    Diagnostic::error(format!("config `{src}` is not declared"))
                        .at(r.location.clone()),
                );
                continue;
            };
            let target = match &r.value.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("/{t}"),
                None => format!("/{src}"),
            };
            match file_source(
                project,
                &def.file_resolved,
                def.content.as_ref().map(|c| c.value.clone()),
            ) {
                Ok(source) => files.push(file_copy(
                    format!("config {src}"),
                    source,
                    target,
                    &r.value,
                    0o444,
                )),
                Err(msg) => diags.push(
                    Diagnostic::error(format!("config `{src}`: {msg}")).at(def.location.clone()),
                ),
            }
        }

        let healthcheck = s
            .healthcheck
            .as_ref()
            .and_then(|h| health_config(h, &mut diags));
        let has_healthcheck = healthcheck.as_ref().is_some_and(|h| {
            h.test
                .as_ref()
                .is_some_and(|t| t.first().is_some_and(|f| f != "NONE"))
        }) || (healthcheck.is_none() && image_has_healthcheck(&image));

        let restart_wanted = s
            .restart
            .as_ref()
            .map(|r| r.value.as_str())
            .or_else(|| {
                s.deploy
                    .as_ref()
                    .and_then(|d| d.restart_policy_condition.as_ref())
                    .map(|c| {
                        if c.value == "none" {
                            "no"
                        } else {
                            "on-failure"
                        }
                    })
            })
            .unwrap_or("no");
        let restart_max = match restart_wanted {
            "no" | "" => None,
            other => {
                let asked = other
                    .strip_prefix("on-failure:")
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(inputs.limits.max_restarts);
                Some(asked.clamp(0, inputs.limits.max_restarts))
            }
        };

        let mut limits = inputs.limits.clone();
        if let Some(g) = s
            .stop_grace_period
            .as_ref()
            .and_then(|g| parse_duration(&g.value))
        {
            limits.stop_grace = g.min(inputs.limits.stop_grace);
        }

        let depends_on: Vec<(String, Condition)> = s
            .depends_on
            .iter()
            .filter(|(d, _)| project.services.contains_key(d.as_str()))
            .map(|(d, dep)| (d.clone(), condition_of(&dep.value)))
            .collect();

        let spec = ContainerSpec {
            name: cname,
            service: name.clone(),
            image,
            env,
            cmd: s.command.as_ref().map(|c| c.value.clone()),
            entrypoint: s.entrypoint.as_ref().map(|c| c.value.clone()),
            user: s.user.as_ref().map(|u| u.value.clone()),
            working_dir: s.working_dir.as_ref().map(|u| u.value.clone()),
            hostname: s.hostname.as_ref().map(|u| u.value.clone()),
            healthcheck,
            labels: labels_map,
            mounts,
            networks: attachments,
            restart_max,
            stop_signal: s.stop_signal.as_ref().map(|u| u.value.clone()),
            init: s.init.as_ref().map(|u| u.value),
            read_only: s.read_only.as_ref().map(|u| u.value),
            files,
            bind_sources,
            limits,
        };
        let replicas = replicas_of(s);
        let containers = (1..=replicas).map(|n| spec.replica(n)).collect();
        services.push(ServicePlan {
            name: name.clone(),
            depends_on,
            has_healthcheck,
            containers,
            location: s.location.clone(),
        });
    }

    let webapp_port = project
        .services
        .get(&inputs.webapp_service)
        .and_then(|s| s.environment.get("PORT"))
        .and_then(|p| p.value.as_deref())
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or(inputs.webapp_default_port);

    let mut probe_labels = base_labels.clone();
    probe_labels.insert(ROLE_LABEL.into(), "probe".into());
    let probe = ContainerSpec {
        name: format!("{prefix}-probe"),
        service: "assay-probe".into(),
        image: inputs.probe_image.clone(),
        env: Vec::new(),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        entrypoint: Some(Vec::new()),
        user: None,
        working_dir: None,
        hostname: None,
        healthcheck: Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }),
        labels: probe_labels,
        mounts: Vec::new(),
        networks: networks
            .iter()
            .map(|n| Attachment {
                network: n.name.clone(),
                aliases: Vec::new(),
            })
            .collect(),
        restart_max: None,
        stop_signal: Some("SIGKILL".into()),
        init: None,
        read_only: Some(true),
        files: Vec::new(),
        bind_sources: Vec::new(),
        limits: Limits {
            stop_grace: Duration::from_secs(1),
            ..inputs.limits.clone()
        },
    };

    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(RunPlan {
        run_id: run.clone(),
        root: project.root.clone(),
        project_name,
        networks,
        volumes,
        services,
        probe,
        webapp: WebappTarget {
            service: inputs.webapp_service.clone(),
            port: webapp_port,
        },
        db_service: inputs.db_service.clone(),
    })
}

/// Postgres images (ours and the stand-ins) ship no HEALTHCHECK; the webapp image neither.
/// Only a compose healthcheck counts, so this is false; kept as one place to change.
fn image_has_healthcheck(_image: &str) -> bool {
    false
}

fn condition_of(d: &Dependency) -> Condition {
    Condition::parse(&d.condition).unwrap_or(Condition::Started)
}

/// Replicas asked by `deploy.replicas` or `scale`, between 1 and 3 (assay runs no more).
fn replicas_of(s: &Service) -> usize {
    let asked = s
        .deploy
        .as_ref()
        .and_then(|d| d.replicas.as_ref())
        .map(|r| r.value)
        .or_else(|| s.scale.as_ref().map(|r| r.value))
        .unwrap_or(1);
    asked.clamp(1, 3) as usize
}

fn file_source(
    project: &Project,
    resolved: &Option<PathBuf>,
    content: Option<String>,
) -> Result<FileSource, String> {
    if let Some(c) = content {
        return Ok(FileSource::Inline(c));
    }
    let Some(rel) = resolved else {
        return Err("has no `file:`; assay copies only files of the submission".into());
    };
    let abs = project.root.join(rel);
    if !lexically_inside(&project.root, &abs) {
        return Err(format!(
            "file `{}` leaves the submission directory",
            rel.display()
        ));
    }
    Ok(FileSource::Host(abs))
}

fn file_copy(
    what: String,
    source: FileSource,
    target: String,
    r: &assay_compose::FileRef,
    default_mode: u32,
) -> FileCopy {
    let mode = r
        .mode
        .as_deref()
        .and_then(|m| u32::from_str_radix(m.trim_start_matches("0o"), 8).ok())
        .map(|m| m & 0o777)
        .unwrap_or(default_mode);
    FileCopy {
        what,
        source,
        target,
        mode,
        uid: r.uid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
        gid: r.gid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests;
