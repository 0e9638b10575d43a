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
use bollard::models::{EndpointSettings, HealthConfig, Mount};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

mod container;
mod files;
mod hardening;
mod networks;
mod volumes;

pub use container::{meter_path, METER_DIR, METER_EVERY};
pub use hardening::{default_nano_cpus, KEPT_CAPS};
pub use networks::INHIBIT_IPV4;
use std::time::Duration;

/// The label names a run uses (their one home is [`assay_sandbox::labels`]).
pub use labels::{COMPOSE_NUMBER, COMPOSE_PROJECT, COMPOSE_SERVICE, ROLE as ROLE_LABEL};

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
    /// Budgets over all scenario runs of the submission (the rubric's `limits:`): the
    /// candidate's side services share what the db and the webapp leave
    /// ([`assay_core::budget`]).
    pub budget: assay_core::RunBudget,
    /// What each bind source of the project is (absent = [`BindKind::Missing`]).
    pub binds: BTreeMap<PathBuf, BindKind>,
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

/// One volume of the run (named or anonymous in the compose file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The name in the compose file, or `None` for an anonymous volume.
    pub compose_name: Option<String>,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// For the volume that stands in for a bind of a directory: that directory of the
    /// submission, whose content the run copies in before any container starts (nothing when
    /// it does not exist, as Docker would create it empty).
    pub bind_source: Option<PathBuf>,
}

/// What a bind source is on the host, read by the caller before planning (the plan reads no
/// file). Whatever it is, no host path ever reaches a container: a directory becomes a run
/// volume filled with a copy, a file is copied into the container before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindKind {
    /// Not there: an empty run volume, as Docker would create an empty directory.
    #[default]
    Missing,
    Dir,
    /// A regular file with its permission bits.
    File {
        mode: u32,
    },
    /// A symbolic link or special file on the way: never copied.
    Refused,
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
    pub limits: Limits,
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
    /// What the plan changed from the compose file and the report should say (not findings):
    /// e.g. a healthcheck interval raised to the floor.
    pub notes: Vec<Diagnostic>,
}

impl RunPlan {
    /// The helper container that copies bound directories into their run volumes: the probe
    /// image, never started, no network, each volume of `filled` mounted at `/fill/<i>`
    /// (see [`fill_path`]).
    pub fn bind_filler(&self, filled: &[(String, PathBuf)]) -> ContainerSpec {
        let mut labels = self.run_labels();
        labels.insert(ROLE_LABEL.into(), "fill".into());
        let mounts = filled
            .iter()
            .enumerate()
            .map(|(i, (volume, _))| bollard::models::Mount {
                target: Some(format!("/{}", fill_path(i))),
                source: Some(volume.clone()),
                typ: Some(bollard::models::MountType::VOLUME),
                volume_options: Some(bollard::models::MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        ContainerSpec {
            name: format!("{}-fill", self.project_name),
            service: "assay-fill".into(),
            cmd: Some(vec!["true".into()]),
            labels,
            mounts,
            networks: Vec::new(),
            healthcheck: None,
            read_only: Some(false),
            files: Vec::new(),
            ..self.probe.clone()
        }
    }

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

/// Where the bind filler mounts the `i`-th filled volume (no leading `/`, as in its tar).
pub fn fill_path(i: usize) -> String {
    format!("fill/{i}")
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

/// What every part of the plan reads: the project, the inputs, and the names chosen so far.
struct Ctx<'a> {
    project: &'a Project,
    inputs: &'a PlanInputs,
    /// `assay-<run>`: the start of every name of the run.
    prefix: String,
    /// Labels every resource of the run carries.
    base_labels: HashMap<String, String>,
    /// Compose network → Docker network.
    net_names: BTreeMap<String, String>,
    /// Compose volume → Docker volume.
    vol_names: BTreeMap<String, String>,
}

/// Turns a resolved project into a run plan, or every reason it cannot be run.
pub fn plan(project: &Project, inputs: &PlanInputs) -> Result<RunPlan, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let run = &inputs.run_id;
    let prefix = format!("assay-{run}");
    let project_name = format!("assay-{run}");
    let mut base_labels = labels::for_run(run);
    base_labels.insert(COMPOSE_PROJECT.into(), project_name.clone());
    // The private work dir holding the submission, so a sweep that finds this run dead
    // removes it at once (only a directory named like intake's work dirs).
    if let Some(work) = project.root.parent().filter(|w| {
        w.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(assay_core::WORK_DIR_PREFIX))
    }) {
        base_labels.insert(labels::WORK_DIR.into(), work.to_string_lossy().into_owned());
    }

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
    let mut ctx = Ctx {
        project,
        inputs,
        prefix,
        base_labels,
        net_names: BTreeMap::new(),
        vol_names: BTreeMap::new(),
    };
    let (net_names, networks) = networks::networks(&ctx, &mut diags);
    let (vol_names, mut volumes) = volumes::named_volumes(&ctx, &mut diags);
    ctx.net_names = net_names;
    ctx.vol_names = vol_names;

    let mut services: Vec<ServicePlan> = start_order(project)
        .iter()
        .map(|name| container::service_plan(&ctx, name, &mut volumes, &mut diags))
        .collect();
    split_budget(&mut services, inputs, &mut diags);

    let webapp_port = project
        .services
        .get(&inputs.webapp_service)
        .and_then(|s| s.environment.get(assay_core::webapp::PORT))
        .and_then(|p| p.value.as_deref())
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or(inputs.webapp_default_port);
    let probe = container::probe_spec(&ctx, &networks, &volumes);

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
        notes: diags,
    })
}

/// Gives the candidate's side services their share of the submission's budget: the db and
/// the webapp keep the per-container limits, every other container gets an even share of what
/// is left over all scenario runs ([`assay_core::budget`]), with a note saying so. A budget
/// that cannot hold the project is an error located at the first side service.
fn split_budget(services: &mut [ServicePlan], inputs: &PlanInputs, diags: &mut Vec<Diagnostic>) {
    use assay_core::budget::{Census, Share, RUNS};
    let essential =
        |s: &ServicePlan| s.name == inputs.db_service || s.name == inputs.webapp_service;
    let count = |side: bool| -> usize {
        services
            .iter()
            .filter(|s| essential(s) != side)
            .map(|s| s.containers.len())
            .sum()
    };
    // Every run, plus the scale scenario's extra webapp replica.
    let census = Census {
        essential: RUNS * count(false) + 1,
        side: RUNS * count(true),
    };
    let l = &inputs.limits;
    let cap = Share {
        memory_bytes: l.memory_bytes.max(0) as u64,
        pids: l.pids.max(0) as u64,
        nano_cpus: l.nano_cpus.max(0) as u64,
    };
    let first_side = services.iter().find(|s| !essential(s));
    let share = match inputs.budget.side_share(census, cap) {
        Ok(Some(share)) => share,
        Ok(None) => return,
        Err(over) => {
            let mut d = Diagnostic::error(format!(
                "the grading budget (rubric `limits:`) cannot hold this project: {over}"
            ));
            if let Some(s) = first_side {
                d = d.at(s.location.clone());
            }
            diags.push(d);
            return;
        }
    };
    let mut names = Vec::new();
    for s in services.iter_mut().filter(|s| !essential(s)) {
        names.push(format!("`{}`", assay_core::display::name(&s.name)));
        for c in &mut s.containers {
            c.limits.memory_bytes = share.memory_bytes as i64;
            c.limits.pids = share.pids as i64;
            c.limits.nano_cpus = share.nano_cpus as i64;
        }
    }
    diags.push(Diagnostic::info(format!(
        "side service{} {} ran with {} of memory, {} pids and {:.2} CPU per container: {} side-service containers in all scenario runs share the submission's budget (rubric `limits:`) once the db and the webapp have theirs",
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        assay_core::display::human_bytes(share.memory_bytes),
        share.pids,
        share.nano_cpus as f64 / 1e9,
        census.side
    )));
}

#[cfg(test)]
mod tests;
