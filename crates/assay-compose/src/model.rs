//! The typed model of a loaded compose project: what grading needs, every value located.
//!
//! The model is the *canonical long form* (as `docker compose config` prints it): short
//! syntaxes (`"8080:80"`, `./data:/var/lib/postgresql/data:ro`, `depends_on: [db]`) are expanded,
//! interpolation is done, `extends`/`include`/override files are merged and profiles applied.
//! Keys that are not modelled are still reachable through [`Service::raw`] and
//! [`Project::raw`], the resolved spanned YAML tree (for allow-list policies).

pub use crate::duration::GoDuration;
use crate::node::Node;
pub use crate::node::Origin;
use assay_core::Location;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A value with the place it was written and how it was produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Located<T> {
    pub value: T,
    pub location: Location,
    #[serde(skip_serializing_if = "Origin::is_literal")]
    pub origin: Origin,
}

impl<T> Located<T> {
    pub fn new(value: T, location: Location) -> Self {
        Located {
            value,
            location,
            origin: Origin::Literal,
        }
    }

    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Applies `f` to the value, keeping location and origin.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located {
            value: f(self.value),
            location: self.location,
            origin: self.origin,
        }
    }
}

/// A whole resolved compose project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Project name (`--project-name`, top-level `name:`, or the compose file's directory name).
    pub name: String,
    /// Absolute path of the submission root; every [`Location::file`] is relative to it.
    pub root: PathBuf,
    /// The project directory (directory of the first compose file), relative to `root`
    /// (empty for the root itself). Relative paths in the project resolve against it.
    pub working_dir: PathBuf,
    /// Services enabled by the active profiles.
    pub services: BTreeMap<String, Service>,
    /// Services present in the file but disabled by profiles (kept for reviewers and checks).
    pub disabled_services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, NetworkDef>,
    pub volumes: BTreeMap<String, VolumeDef>,
    pub secrets: BTreeMap<String, SecretDef>,
    pub configs: BTreeMap<String, ConfigDef>,
    /// Every file read while loading (compose files, overrides, included and extended files,
    /// `.env`, env_files), relative to `root`.
    pub files: Vec<PathBuf>,
    /// The variables interpolation could use (the `.env` plus overrides), each with its place
    /// (`.env` line, or no line for an override).
    pub variables: BTreeMap<String, Located<String>>,
    /// The resolved, merged, interpolated YAML tree of the whole project (before profiles),
    /// for policies that inspect keys the model does not name.
    #[serde(skip)]
    pub raw: Node,
}

/// One service in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    /// Where the service's mapping starts (its key under `services:`).
    pub location: Location,
    pub image: Option<Located<String>>,
    pub build: Option<Build>,
    /// Final environment: `env_file` entries first, then `environment:` over them. A `None`
    /// value is a bare `KEY` (taken from the grader's shell in compose; unset for assay).
    pub environment: BTreeMap<String, Located<Option<String>>>,
    pub env_files: Vec<EnvFileRef>,
    pub ports: Vec<Located<Port>>,
    pub expose: Vec<Located<String>>,
    pub volumes: Vec<Located<VolumeMount>>,
    /// Networks the service joins; `default` when neither `networks` nor `network_mode` is set.
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub depends_on: BTreeMap<String, Located<Dependency>>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<Located<String>>,
    /// Command in exec form (a string command is split like a shell would, as compose does).
    pub command: Option<Located<Vec<String>>>,
    pub entrypoint: Option<Located<Vec<String>>>,
    pub secrets: Vec<Located<FileRef>>,
    pub configs: Vec<Located<FileRef>>,
    pub user: Option<Located<String>>,
    pub working_dir: Option<Located<String>>,
    pub container_name: Option<Located<String>>,
    pub hostname: Option<Located<String>>,
    pub profiles: Vec<Located<String>>,
    pub deploy: Option<Deploy>,
    /// Top-level `scale:` (the legacy form of `deploy.replicas`).
    pub scale: Option<Located<i64>>,
    pub labels: BTreeMap<String, Located<String>>,
    pub init: Option<Located<bool>>,
    pub read_only: Option<Located<bool>>,
    pub tmpfs: Vec<Located<String>>,
    pub platform: Option<Located<String>>,
    pub pull_policy: Option<Located<String>>,
    // --- security-relevant fields (assay-checks' policy refuses or overrides them) ---
    pub privileged: Option<Located<bool>>,
    pub cap_add: Vec<Located<String>>,
    pub cap_drop: Vec<Located<String>>,
    /// Devices in `HOST:CONTAINER[:PERMS]` form (long syntax rendered to it).
    pub devices: Vec<Located<String>>,
    pub device_cgroup_rules: Vec<Located<String>>,
    pub security_opt: Vec<Located<String>>,
    pub sysctls: BTreeMap<String, Located<String>>,
    pub cgroup_parent: Option<Located<String>>,
    pub runtime: Option<Located<String>>,
    pub userns_mode: Option<Located<String>>,
    pub oom_kill_disable: Option<Located<bool>>,
    pub oom_score_adj: Option<Located<i64>>,
    pub network_mode: Option<Located<String>>,
    pub pid: Option<Located<String>>,
    pub ipc: Option<Located<String>>,
    pub uts: Option<Located<String>>,
    pub cgroup: Option<Located<String>>,
    pub volumes_from: Vec<Located<String>>,
    pub external_links: Vec<Located<String>>,
    /// Extra hosts as `HOST=IP` entries (compose's canonical form).
    pub extra_hosts: Vec<Located<String>>,
    pub links: Vec<Located<String>>,
    pub logging: Option<Logging>,
    pub stop_grace_period: Option<Located<GoDuration>>,
    pub stop_signal: Option<Located<String>>,
    pub dns: Vec<Located<String>>,
    /// Keys under `x-*` and anything not modelled stay in `raw`.
    #[serde(skip)]
    pub raw: Node,
}

/// `build:` in long form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    pub location: Location,
    /// The context as written (after interpolation), `.` when absent.
    pub context: Located<String>,
    /// The context resolved against the project directory (absolute, lexically normalised), or
    /// `None` for a remote (git/URL) context.
    pub context_path: Option<PathBuf>,
    pub dockerfile: Option<Located<String>>,
    pub dockerfile_inline: Option<Located<String>>,
    pub args: BTreeMap<String, Located<Option<String>>>,
    pub ssh: Vec<Located<String>>,
    pub secrets: Vec<Located<FileRef>>,
    pub additional_contexts: BTreeMap<String, Located<String>>,
    pub target: Option<Located<String>>,
    pub network: Option<Located<String>>,
    pub labels: BTreeMap<String, Located<String>>,
    pub extra_hosts: Vec<Located<String>>,
    pub privileged: Option<Located<bool>>,
    pub tags: Vec<Located<String>>,
    pub platforms: Vec<Located<String>>,
    pub cache_from: Vec<Located<String>>,
    pub cache_to: Vec<Located<String>>,
}

/// One `env_file` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvFileRef {
    /// The path as written.
    pub path: Located<String>,
    /// Resolved path relative to the submission root (lexically normalised; may start with
    /// `..` when it leaves the root).
    pub resolved: PathBuf,
    pub required: bool,
    /// Whether the file existed and was read.
    pub loaded: bool,
}

/// A published or exposed port in long form (short syntax ranges are expanded to one entry each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Port {
    pub name: Option<String>,
    pub host_ip: Option<String>,
    /// Published host port or range (`"8080"`, `"8000-8010"`); `None` = not published.
    pub published: Option<String>,
    pub target: u32,
    /// `tcp` (the default) or `udp`/`sctp`.
    pub protocol: String,
    pub app_protocol: Option<String>,
    /// `ingress` (the default) or `host`.
    pub mode: String,
}

/// Kind of a service volume mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    #[default]
    Volume,
    Bind,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Volume => "volume",
            MountKind::Bind => "bind",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Npipe => "npipe",
            MountKind::Cluster => "cluster",
            MountKind::Image => "image",
        }
    }
}

/// A service volume in long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct VolumeMount {
    pub kind: MountKind,
    /// Volume name, host path as written, or `None` (anonymous volume, tmpfs).
    pub source: Option<String>,
    /// For binds: the host path resolved against the project directory (absolute, lexically
    /// normalised, `~` left as written). Symlinks are not resolved here.
    pub host_path: Option<PathBuf>,
    pub target: String,
    pub read_only: bool,
    /// Bind options: `propagation`, `create_host_path`, `selinux`.
    pub bind_propagation: Option<String>,
    pub bind_create_host_path: Option<bool>,
    pub bind_selinux: Option<String>,
    pub volume_nocopy: Option<bool>,
    pub volume_subpath: Option<String>,
    pub tmpfs_size: Option<String>,
    pub consistency: Option<String>,
}

/// A service's attachment to a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceNetwork {
    pub location: Location,
    pub aliases: Vec<Located<String>>,
    pub ipv4_address: Option<Located<String>>,
    pub ipv6_address: Option<Located<String>>,
    pub priority: Option<i64>,
}

impl Service {
    /// The replicas the service asks for: `deploy.replicas`, else the legacy `scale`, else
    /// `None` (one).
    pub fn declared_replicas(&self) -> Option<i64> {
        self.deploy
            .as_ref()
            .and_then(|d| d.replicas.as_ref())
            .map(|r| r.value)
            .or_else(|| self.scale.as_ref().map(|r| r.value))
    }
}

impl ServiceNetwork {
    /// An attachment with no aliases or addresses, written at `location`.
    pub fn at(location: Location) -> Self {
        ServiceNetwork {
            location,
            aliases: Vec::new(),
            ipv4_address: None,
            ipv6_address: None,
            priority: None,
        }
    }
}

/// One `depends_on` entry in long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// `service_started` (short syntax), `service_healthy` or `service_completed_successfully`.
    pub condition: String,
    pub restart: bool,
    pub required: bool,
}

/// A healthcheck.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    pub location: Location,
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` (a string test is turned into this), or `["NONE"]`.
    pub test: Option<Located<Vec<String>>>,
    pub interval: Option<Located<GoDuration>>,
    pub timeout: Option<Located<GoDuration>>,
    pub start_period: Option<Located<GoDuration>>,
    pub start_interval: Option<Located<GoDuration>>,
    pub retries: Option<Located<i64>>,
    pub disable: bool,
}

/// A service's reference to a top-level secret or config, in long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct FileRef {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<String>,
}

/// `deploy:` (the parts grading reads; the rest is in `raw`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deploy {
    pub location: Location,
    pub mode: Option<Located<String>>,
    pub replicas: Option<Located<i64>>,
    pub restart_policy_condition: Option<Located<String>>,
}

/// `logging:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logging {
    pub location: Location,
    pub driver: Option<Located<String>>,
    pub options: BTreeMap<String, Located<String>>,
}

/// A top-level network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkDef {
    pub name: String,
    pub location: Location,
    pub external: Option<Located<bool>>,
    pub driver: Option<Located<String>>,
    pub driver_opts: BTreeMap<String, Located<String>>,
    pub internal: Option<Located<bool>>,
    pub attachable: Option<Located<bool>>,
    pub enable_ipv6: Option<Located<bool>>,
    pub labels: BTreeMap<String, Located<String>>,
    /// Whether the network was implied (the `default` network nobody declared).
    pub implicit: bool,
}

impl NetworkDef {
    /// A network with nothing set but its name and where it is declared (or, `implicit`, the
    /// `default` network nobody declared).
    pub fn plain(name: impl Into<String>, location: Location, implicit: bool) -> NetworkDef {
        NetworkDef {
            name: name.into(),
            location,
            external: None,
            driver: None,
            driver_opts: BTreeMap::new(),
            internal: None,
            attachable: None,
            enable_ipv6: None,
            labels: BTreeMap::new(),
            implicit,
        }
    }

    pub fn is_external(&self) -> bool {
        self.external.as_ref().is_some_and(|e| e.value)
    }
}

/// A top-level volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeDef {
    pub name: String,
    pub location: Location,
    pub external: Option<Located<bool>>,
    pub driver: Option<Located<String>>,
    pub driver_opts: BTreeMap<String, Located<String>>,
    pub labels: BTreeMap<String, Located<String>>,
}

impl VolumeDef {
    pub fn is_external(&self) -> bool {
        self.external.as_ref().is_some_and(|e| e.value)
    }
}

/// A top-level secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretDef {
    pub name: String,
    pub location: Location,
    /// `file:` as written.
    pub file: Option<Located<String>>,
    /// `file:` resolved relative to the submission root (lexically normalised).
    pub file_resolved: Option<PathBuf>,
    /// `environment:` — the name of a variable of the *grader's* environment (a policy concern).
    pub environment: Option<Located<String>>,
    pub external: Option<Located<bool>>,
}

/// A top-level config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigDef {
    pub name: String,
    pub location: Location,
    pub file: Option<Located<String>>,
    pub file_resolved: Option<PathBuf>,
    pub environment: Option<Located<String>>,
    pub content: Option<Located<String>>,
    pub external: Option<Located<bool>>,
}
