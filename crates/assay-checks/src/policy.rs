//! The compose security policy — privileges and kernel settings, host namespaces, host paths and
//! files outside the submission, build secrets and remote contexts, external resources, assay's
//! own labels refused; container names, fixed ports, restarts, grace periods and log drivers
//! overridden by the sandbox (notes) — evaluated on the resolved project: after interpolation, merge keys, `extends`, `include` and
//! override files, so a value from the candidate's `.env` is judged as Docker would see it.
//!
//! An allow-list at heart: every key of a service (and of `build`, `deploy`, networks, volumes,
//! secrets, configs, the top level) must be known to be safe or be handled by a rule below;
//! anything else is a violation "key X is not allowed by the grading policy".
//!
//! Violations are [`assay_core::Severity::Error`] diagnostics (they fail `compose.security`); remarks about
//! things the sandbox overrides anyway (container names, published ports, restart policies,
//! grace periods, log drivers) are [`assay_core::Severity::Info`].
//!
//! Decisions:
//! - Labels in assay's namespace `dev.assay.*` are a violation (not only stripped): a candidate
//!   has no use for them and they are the reaper's identity.
//! - Only enabled services are judged (services disabled by profiles are never started); every
//!   top-level network, volume, secret and config is judged.
//! - `network_mode` other than `none` is a violation (`bridge` too: it is the daemon's default
//!   bridge, not the run's internal network).

use crate::paths::{self, Resolved};
use assay_compose::{MountKind, Node, NodeKind, Project, Service};
use assay_core::display;
use assay_core::{Diagnostic, Location, SubmissionRoot};
use std::net::IpAddr;
use std::path::Path;

/// Service keys that are safe as they are (validated by the loader, harmless to run).
const SAFE_SERVICE_KEYS: &[&str] = &[
    "image",
    "environment",
    "expose",
    "depends_on",
    "healthcheck",
    "command",
    "entrypoint",
    "user",
    "working_dir",
    "hostname",
    "domainname",
    "profiles",
    "scale",
    "init",
    "read_only",
    "tmpfs",
    "platform",
    "pull_policy",
    "stop_signal",
    "dns",
    "dns_opt",
    "dns_search",
    "links",
    "cap_drop",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "cpus",
    "cpu_count",
    "cpu_percent",
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpuset",
    "pids_limit",
    "shm_size",
    "ulimits",
    "stdin_open",
    "tty",
    "attach",
    "annotations",
    "develop",
    "group_add",
    "mac_address",
];

/// Service keys with a rule of their own below.
const HANDLED_SERVICE_KEYS: &[&str] = &[
    "build",
    "volumes",
    "env_file",
    "label_file",
    "extends",
    "network_mode",
    "networks",
    "pid",
    "ipc",
    "uts",
    "cgroup",
    "privileged",
    "cap_add",
    "devices",
    "device_cgroup_rules",
    "security_opt",
    "sysctls",
    "cgroup_parent",
    "runtime",
    "userns_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "volumes_from",
    "external_links",
    "extra_hosts",
    "labels",
    "container_name",
    "ports",
    "restart",
    "stop_grace_period",
    "logging",
    "deploy",
    "secrets",
    "configs",
    "post_start",
    "pre_stop",
];

const TOP_LEVEL_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
];
const BUILD_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "ssh",
    "cache_from",
    "cache_to",
    "additional_contexts",
    "extra_hosts",
    "labels",
    "network",
    "no_cache",
    "pull",
    "platforms",
    "privileged",
    "secrets",
    "shm_size",
    "tags",
    "target",
    "ulimits",
];
const DEPLOY_KEYS: &[&str] = &[
    "replicas",
    "mode",
    "resources",
    "restart_policy",
    "labels",
    "placement",
    "update_config",
    "rollback_config",
    "endpoint_mode",
];
const RESOURCE_KEYS: &[&str] = &["cpus", "memory", "pids"];
const ENDPOINT_KEYS: &[&str] = &[
    "aliases",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "priority",
    "gw_priority",
    "interface_name",
];
const NETWORK_KEYS: &[&str] = &[
    "name",
    "driver",
    "external",
    "internal",
    "attachable",
    "enable_ipv6",
    "enable_ipv4",
    "ipam",
    "labels",
    "driver_opts",
];
const VOLUME_KEYS: &[&str] = &["name", "driver", "external", "labels", "driver_opts"];
const SECRET_KEYS: &[&str] = &[
    "name",
    "file",
    "environment",
    "external",
    "labels",
    "content",
];
const HOOK_KEYS: &[&str] = &[
    "command",
    "user",
    "privileged",
    "working_dir",
    "environment",
];

/// Keys that are a violation whenever they carry a value (item 11), with the reason.
const ALWAYS_REJECTED: &[(&str, &str)] = &[
    ("cap_add", "adds Linux capabilities to the container"),
    ("devices", "gives the container host devices"),
    ("device_cgroup_rules", "opens host devices to the container"),
    ("sysctls", "changes kernel parameters"),
    (
        "cgroup_parent",
        "places the container in a host cgroup of its choosing",
    ),
    ("runtime", "selects another container runtime"),
    (
        "userns_mode",
        "changes the user namespace (e.g. to the host's)",
    ),
    ("volumes_from", "mounts another container's volumes"),
    ("external_links", "links to containers outside the project"),
];

/// The static part of the budgets per submission ([`assay_core::budget`]): more services, or
/// more containers in all scenario runs together, than the rubric's `limits:` allow. Located
/// at the service that tips the count over (or the service asking for the most replicas).
pub fn budget_findings(project: &Project, budget: &assay_core::RunBudget) -> Vec<Diagnostic> {
    use assay_core::budget::{containers_in_all_runs, replicas_run, MAX_REPLICAS};
    let mut out = Vec::new();
    let services: Vec<&Service> = project.services.values().collect();
    if services.len() > budget.services {
        let at = &services[budget.services].location;
        out.push(
            Diagnostic::error(format!(
                "the project declares {} services; the grading budget is {} (limits.services): service `{}` is one too many",
                services.len(),
                budget.services,
                display::name(&services[budget.services].name)
            ))
            .at(at.clone())
            .with_hint("run only what the webapp and its database need"),
        );
    }
    let per_run: usize = services
        .iter()
        .map(|s| replicas_run(s.declared_replicas()))
        .sum();
    let all = containers_in_all_runs(per_run);
    if all > budget.containers {
        let widest = services
            .iter()
            .max_by_key(|s| replicas_run(s.declared_replicas()))
            .map(|s| (s.name.clone(), s.location.clone()));
        let mut d = Diagnostic::error(format!(
            "the project runs {per_run} containers per scenario run (replicas included, at most {MAX_REPLICAS} per service), {all} in all the runs that grade it side by side; the grading budget is {} (limits.containers)",
            budget.containers
        ))
        .with_hint("fewer services or replicas");
        if let Some((_, at)) = widest {
            d = d.at(at);
        }
        out.push(d);
    }
    out
}

/// Evaluates the policy; every violation is an [`assay_core::Severity::Error`] diagnostic with its location.
pub fn security_policy(project: &Project, root: &SubmissionRoot) -> Vec<Diagnostic> {
    let mut p = Policy {
        project,
        root,
        out: Vec::new(),
    };
    p.top_level();
    for (name, service) in &project.services {
        p.service(name, service);
    }
    p.networks();
    p.volumes();
    p.secrets_and_configs();
    p.files_read();
    p.out
        .sort_by(|a, b| (a.severity, &a.location).cmp(&(b.severity, &b.location)));
    p.out
}

struct Policy<'a> {
    project: &'a Project,
    root: &'a SubmissionRoot,
    out: Vec<Diagnostic>,
}

/// Whether a raw value is set to something (not null, not empty).
fn has_value(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Null => false,
        NodeKind::Str(s) => !s.is_empty(),
        NodeKind::Seq(v) => !v.is_empty(),
        NodeKind::Map(v) => !v.is_empty(),
        NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => true,
    }
}

/// compose's boolean reading of a raw value (`true`, `yes`, `on`, ... as compose-go casts them).
fn truthy(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Bool(b) => *b,
        NodeKind::Str(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "y" | "on"),
        NodeKind::Int(i) => *i != 0,
        _ => false,
    }
}

/// Every string a raw value holds (a scalar, the items of a sequence, `k=v` for a mapping).
fn strings(n: &Node) -> Vec<(String, Location)> {
    match &n.kind {
        NodeKind::Seq(items) => items
            .iter()
            .filter_map(|i| i.scalar_text().map(|s| (s, i.location.clone())))
            .collect(),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                (
                    format!("{}={}", k.name, v.scalar_text().unwrap_or_default()),
                    k.location.clone(),
                )
            })
            .collect(),
        _ => n
            .scalar_text()
            .map(|s| vec![(s, n.location.clone())])
            .unwrap_or_default(),
    }
}

impl Policy<'_> {
    fn violation(&mut self, at: &Location, message: String, hint: &str) {
        let d = Diagnostic::error(message).at(at.clone());
        self.out.push(if hint.is_empty() {
            d
        } else {
            d.with_hint(hint)
        });
    }

    fn note(&mut self, at: &Location, message: String) {
        self.out.push(Diagnostic::info(message).at(at.clone()));
    }

    fn not_allowed(&mut self, what: &str, key: &assay_compose::Key) {
        self.violation(
            &key.location,
            format!(
                "{what}: key `{}` is not allowed by the grading policy",
                display::value(&key.name)
            ),
            "assay runs only keys it knows to be safe; remove it",
        );
    }

    /// Checks the keys of a raw mapping against an allow-list (`x-*` extensions always pass).
    fn allow_keys(&mut self, what: &str, node: &Node, allowed: &[&[&str]]) {
        for (key, _) in node.as_map().unwrap_or_default() {
            if key.name.starts_with("x-")
                || allowed.iter().any(|list| list.contains(&key.name.as_str()))
            {
                continue;
            }
            self.not_allowed(what, key);
        }
    }

    /// A path written in the project must stay inside the submission after symlink resolution.
    fn path_inside(&mut self, what: &str, written: &str, at: &Location) {
        let base = self.root.path().join(&self.project.working_dir);
        self.check_resolved(what, written, paths::resolve(self.root, &base, written), at);
    }

    fn check_resolved(&mut self, what: &str, written: &str, resolved: Resolved, at: &Location) {
        match resolved {
            Resolved::Inside(_) => {}
            Resolved::Home => self.violation(
                at,
                format!(
                    "{what} `{}` is in the grader's home directory",
                    display::value(written)
                ),
                "use a path inside your submission",
            ),
            Resolved::Outside(real) => {
                let real = self.root.display(&real);
                let shown = if real == written {
                    String::new()
                } else {
                    format!(" (resolves to {real})")
                };
                self.violation(
                    at,
                    format!(
                        "{what} `{}` leaves the submission directory{shown}",
                        display::value(written)
                    ),
                    "use a path inside your submission",
                );
            }
        }
    }

    fn top_level(&mut self) {
        let raw = &self.project.raw;
        self.allow_keys("top level", raw, &[TOP_LEVEL_KEYS]);
        let Some(include) = raw.get("include") else {
            return;
        };
        for item in include.as_seq().unwrap_or_default() {
            let mut paths = Vec::new();
            match item.as_map() {
                Some(_) => {
                    for key in ["path", "env_file", "project_directory"] {
                        if let Some(v) = item.get(key) {
                            paths.extend(strings(v));
                        }
                    }
                }
                None => paths.extend(strings(item)),
            }
            for (p, at) in paths {
                if p.contains("://") || p.starts_with("git@") {
                    self.violation(
                        &at,
                        format!("include `{}` is remote", display::value(&p)),
                        "include files of your submission only",
                    );
                } else {
                    self.path_inside("include", &p, &at);
                }
            }
        }
    }

    fn service(&mut self, name: &str, s: &Service) {
        let what = format!("service `{name}`");
        let from_project = self
            .project
            .raw
            .get("services")
            .and_then(|m| m.get(name))
            .filter(|n| n.as_map().is_some());
        let raw = from_project.unwrap_or(&s.raw);
        self.allow_keys(&what, raw, &[SAFE_SERVICE_KEYS, HANDLED_SERVICE_KEYS]);

        // Item 11: privileges.
        for (key, why) in ALWAYS_REJECTED {
            if let Some((k, v)) = raw.get_entry(key).filter(|(_, v)| has_value(v)) {
                let shown = strings(v)
                    .into_iter()
                    .map(|(s, _)| display::value(&s))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.violation(
                    &k.location,
                    format!("{what}: `{key}` ({shown}) {why}; not allowed by the grading policy"),
                    "remove it",
                );
            }
        }
        for (key, why) in [
            ("privileged", "runs the container with full host privileges"),
            ("oom_kill_disable", "disables the OOM killer"),
        ] {
            if let Some((k, _)) = raw.get_entry(key).filter(|(_, v)| truthy(v)) {
                self.violation(
                    &k.location,
                    format!("{what}: `{key}: true` {why}; not allowed by the grading policy"),
                    "remove it",
                );
            }
        }
        if let Some((k, v)) = raw
            .get_entry("oom_score_adj")
            .filter(|(_, v)| v.scalar_text().is_some_and(|t| t.trim() != "0"))
        {
            self.violation(
                &k.location,
                format!(
                    "{what}: `oom_score_adj: {}` changes the OOM killer's choice; not allowed",
                    display::value(&v.scalar_text().unwrap_or_default())
                ),
                "remove it",
            );
        }
        if let Some(v) = raw.get("security_opt") {
            for (opt, at) in strings(v) {
                self.security_opt(&what, &opt, &at);
            }
        }

        // Item 12: namespaces.
        if let Some(v) = raw.get("network_mode").and_then(Node::scalar_text) {
            if v != "none" {
                let why = match v.as_str() {
                    "host" => "shares the host's network stack".to_string(),
                    "bridge" => {
                        "joins the daemon's default bridge instead of the run's isolated network"
                            .to_string()
                    }
                    m if m.starts_with("container:") => {
                        "joins another container's network namespace".to_string()
                    }
                    m if m.starts_with("service:") => {
                        "joins another service's network namespace".to_string()
                    }
                    _ => "is not a mode the sandbox supports".to_string(),
                };
                let at = raw
                    .get("network_mode")
                    .map_or(&s.location, Node::location)
                    .clone();
                self.violation(
                    &at,
                    format!("{what}: `network_mode: {}` {why}", display::value(&v)),
                    "remove network_mode; services share the project's networks",
                );
            }
        }
        for key in ["pid", "ipc", "uts", "cgroup"] {
            let Some(node) = raw.get(key) else { continue };
            let Some(v) = node.scalar_text() else {
                continue;
            };
            let ok = matches!(v.as_str(), "" | "private" | "shareable" | "none")
                || (v.starts_with("service:") && key != "uts" && key != "cgroup");
            if !ok {
                let why = if v == "host" {
                    "shares the host's namespace"
                } else {
                    "joins a namespace outside the project"
                };
                self.violation(
                    &node.location,
                    format!("{what}: `{key}: {}` {why}; not allowed", display::value(&v)),
                    "remove it",
                );
            }
        }

        // Item 13: volumes.
        for v in &s.volumes {
            self.mount(&what, v);
        }

        // Item 14: files read from the host.
        for e in &s.env_files {
            let resolved = paths::resolve_path(self.root, &e.resolved);
            self.check_resolved(
                &format!("{what}: env_file"),
                &e.path.value,
                resolved,
                &e.path.location,
            );
        }
        if let Some(v) = raw.get("label_file") {
            for (p, at) in strings(v) {
                self.path_inside(&format!("{what}: label_file"), &p, &at);
            }
        }
        if let Some(file) = raw.get("extends").and_then(|e| e.get("file")) {
            if let Some(p) = file.scalar_text() {
                self.path_inside(&format!("{what}: extends.file"), &p, &file.location);
            }
        }

        // Item 15: build.
        if s.build.is_some() {
            self.build(&what, s, raw.get("build"));
        }

        // Item 16: the host's addresses.
        if let Some(v) = raw.get("extra_hosts") {
            for (entry, at) in strings(v) {
                self.extra_host(&what, &entry, &at);
            }
        }

        // Networks: endpoint settings.
        if let Some(nets) = raw.get("networks").and_then(Node::as_map) {
            for (net, cfg) in nets {
                if cfg.as_map().is_some() {
                    self.allow_keys(
                        &format!("{what}: network `{}`", net.name),
                        cfg,
                        &[ENDPOINT_KEYS],
                    );
                }
            }
        }

        // Names, ports, restarts, grace periods, log drivers: overridden by the sandbox (notes,
        // not violations).
        if let Some(c) = &s.container_name {
            self.note(&c.location, format!("{what}: container_name `{}` is not applied; the sandbox names containers per run", display::value(&c.value)));
        }
        for p in s.ports.iter().filter(|p| p.value.published.is_some()) {
            self.note(
                &p.location,
                format!(
                    "{what}: port {} is not published to the host; probes reach containers on their network",
                    p.value.published.as_deref().map_or_else(String::new, |h| format!("{}:{}", display::value(h), p.value.target))
                ),
            );
        }
        if let Some(r) = s.restart.as_ref().filter(|r| r.value != "no") {
            self.note(
                &r.location,
                format!(
                    "{what}: restart `{}` is bounded by the run's deadline",
                    display::value(&r.value)
                ),
            );
        }
        if let Some(g) = &s.stop_grace_period {
            self.note(
                &g.location,
                format!(
                    "{what}: stop_grace_period `{}` is capped at 10 s",
                    display::value(g.value.text())
                ),
            );
        }
        if let Some(d) = s.logging.as_ref().and_then(|l| l.driver.as_ref()) {
            if d.value != "json-file" && d.value != "local" {
                self.note(
                    &d.location,
                    format!(
                        "{what}: logging driver `{}` is replaced by `local` with a size cap",
                        display::value(&d.value)
                    ),
                );
            }
        }

        // Item 19: labels.
        if let Some(l) = raw.get("labels") {
            self.labels(&what, l);
        }
        if let Some(deploy) = raw.get("deploy") {
            self.deploy(&what, deploy);
        }
        for hook in ["post_start", "pre_stop"] {
            for h in raw.get(hook).and_then(Node::as_seq).unwrap_or_default() {
                self.allow_keys(&format!("{what}: {hook}"), h, &[HOOK_KEYS]);
                if let Some((k, _)) = h.get_entry("privileged").filter(|(_, v)| truthy(v)) {
                    self.violation(
                        &k.location,
                        format!("{what}: {hook} hook with `privileged: true`; not allowed"),
                        "remove it",
                    );
                }
            }
        }
    }

    fn security_opt(&mut self, what: &str, opt: &str, at: &Location) {
        let norm = opt.trim().to_ascii_lowercase().replace('=', ":");
        if matches!(
            norm.as_str(),
            "no-new-privileges" | "no-new-privileges:true"
        ) {
            return;
        }
        let why = if norm.ends_with(":unconfined") || norm == "label:disable" {
            "turns off a kernel confinement"
        } else if norm.starts_with("no-new-privileges") {
            "lets processes gain privileges"
        } else {
            "is not an option the grading policy allows"
        };
        self.violation(
            at,
            format!("{what}: security_opt `{}` {why}", display::value(opt)),
            "only `no-new-privileges:true` is allowed",
        );
    }

    fn mount(&mut self, what: &str, v: &assay_compose::Located<assay_compose::VolumeMount>) {
        let m = &v.value;
        match m.kind {
            MountKind::Volume | MountKind::Tmpfs => {}
            MountKind::Bind => {
                let written = m.source.clone().unwrap_or_default();
                let resolved = match &m.host_path {
                    Some(h) if !written.starts_with('~') => paths::resolve_path(self.root, h),
                    _ => paths::resolve(
                        self.root,
                        &self.root.path().join(&self.project.working_dir),
                        &written,
                    ),
                };
                let sock = |p: &Path| {
                    p.ends_with("docker.sock")
                        || p.ends_with("containerd.sock")
                        || p.ends_with("podman.sock")
                };
                if sock(Path::new(&written)) || matches!(&resolved, Resolved::Outside(p) if sock(p))
                {
                    self.violation(
                        &v.location,
                        format!("{what}: bind mount of `{}` gives the container control of the container engine", display::value(&written)),
                        "never mount the Docker socket",
                    );
                } else if resolved.is_inside() {
                    // An absolute source inside the submission came from `${PWD}` (or the like):
                    // shown relative to the submission, never as the grader's work dir.
                    let (missing, shown) = match &resolved {
                        Resolved::Inside(rel) => (
                            !self.root.path().join(rel).exists(),
                            if Path::new(&written).is_absolute() {
                                format!("./{}", rel.display())
                            } else {
                                written.clone()
                            },
                        ),
                        _ => (false, written.clone()),
                    };
                    if missing {
                        self.out.push(
                            Diagnostic::warning(format!(
                                "{what}: bind source `{}` does not exist in the submission (Docker would create an empty folder there)",
                                display::value(&shown)
                            ))
                            .at(v.location.clone()),
                        );
                    }
                    if !m.read_only {
                        self.note(
                            &v.location,
                            format!(
                                "{what}: bind mount `{}` is copied in, not mounted: the container gets a copy (a directory in a run volume) and its writes never reach the host",
                                display::value(&shown)
                            ),
                        );
                    }
                } else {
                    self.check_resolved(
                        &format!("{what}: bind mount"),
                        &written,
                        resolved,
                        &v.location,
                    );
                }
            }
            other => self.violation(
                &v.location,
                format!(
                    "{what}: `{}` mounts are not allowed by the grading policy",
                    other.as_str()
                ),
                "use a named volume or a bind inside your submission",
            ),
        }
    }

    fn build(&mut self, what: &str, s: &Service, raw: Option<&Node>) {
        let Some(b) = &s.build else { return };
        let what = format!("{what}: build");
        if let Some(raw) = raw.filter(|r| r.as_map().is_some()) {
            self.allow_keys(&what, raw, &[BUILD_KEYS]);
        }
        match &b.context_path {
            None => self.violation(
                &b.context.location,
                format!(
                    "{what}: context `{}` is remote (git or URL)",
                    display::value(&b.context.value)
                ),
                "build from a directory of your submission",
            ),
            Some(ctx) => {
                let resolved = paths::resolve_path(self.root, ctx);
                self.check_resolved(
                    &format!("{what}: context"),
                    &b.context.value,
                    resolved,
                    &b.context.location,
                );
                if let Some(d) = &b.dockerfile {
                    let resolved = paths::resolve_path(self.root, &ctx.join(&d.value));
                    self.check_resolved(
                        &format!("{what}: dockerfile"),
                        &d.value,
                        resolved,
                        &d.location,
                    );
                }
            }
        }
        for (list, key, why) in [
            (&b.ssh, "ssh", "forwards the grader's SSH agent or keys"),
            (&b.cache_to, "cache_to", "exports the build cache"),
        ] {
            for item in list {
                self.violation(
                    &item.location,
                    format!(
                        "{what}: `{key}` ({}) {why}; not allowed",
                        display::value(&item.value)
                    ),
                    "remove it",
                );
            }
        }
        for item in &b.secrets {
            self.violation(
                &item.location,
                format!(
                    "{what}: build secret `{}` is not allowed",
                    display::value(&item.value.source)
                ),
                "remove it",
            );
        }
        for (name, item) in &b.additional_contexts {
            self.violation(
                &item.location,
                format!(
                    "{what}: additional context `{}` = `{}` is not allowed",
                    display::value(name),
                    display::value(&item.value)
                ),
                "copy what the build needs into the build context",
            );
        }
        for item in &b.cache_from {
            if item.value.contains("type=") {
                self.violation(
                    &item.location,
                    format!(
                        "{what}: cache_from `{}` reads a cache outside the submission",
                        display::value(&item.value)
                    ),
                    "remove it",
                );
            }
        }
        if let Some(n) = b
            .network
            .as_ref()
            .filter(|n| !matches!(n.value.as_str(), "default" | "none"))
        {
            self.violation(
                &n.location,
                format!(
                    "{what}: `network: {}` is not allowed while building",
                    display::value(&n.value)
                ),
                "remove it",
            );
        }
        if let Some(p) = b.privileged.as_ref().filter(|p| p.value) {
            self.violation(
                &p.location,
                format!("{what}: `privileged: true` is not allowed"),
                "remove it",
            );
        }
        for h in &b.extra_hosts {
            self.extra_host(&what, &h.value, &h.location);
        }
        if let Some(labels) = raw.and_then(|r| r.get("labels")) {
            self.labels(&what, labels);
        }
    }

    fn extra_host(&mut self, what: &str, entry: &str, at: &Location) {
        let (host, addr) = match entry.split_once('=') {
            Some(pair) => pair,
            None => entry.split_once(':').unwrap_or((entry, "")),
        };
        let addr = addr.trim().trim_start_matches('[').trim_end_matches(']');
        let reason = if addr == "host-gateway" {
            Some("names the Docker host")
        } else {
            match addr.parse::<IpAddr>() {
                Ok(ip) if is_host_or_local(ip) => Some("points at the host or a local network"),
                Ok(_) => None,
                Err(_) => Some("is not an IP address"),
            }
        };
        match reason {
            Some(why) => self.violation(
                at,
                format!(
                    "{what}: extra_hosts `{}` → `{}` {why}",
                    display::value(host),
                    display::value(addr)
                ),
                "remove it; services reach each other by service name",
            ),
            None => self.note(
                at,
                format!(
                    "{what}: extra_hosts `{}` has no effect: the run's networks have no egress",
                    display::value(host)
                ),
            ),
        }
    }

    fn labels(&mut self, what: &str, labels: &Node) {
        for (label, at) in strings(labels) {
            let key = label.split('=').next().unwrap_or("");
            if key.starts_with("dev.assay.") || key == "dev.assay" {
                self.violation(
                    &at,
                    format!("{what}: label `{}` is in assay's own namespace `dev.assay.*` (it would be stripped)", display::value(key)),
                    "remove it; those labels identify the grader's own containers",
                );
            } else if key.starts_with("com.docker.compose.") {
                self.note(
                    &at,
                    format!(
                        "{what}: label `{}` is set by the grader and overwritten",
                        display::value(key)
                    ),
                );
            }
        }
    }

    fn deploy(&mut self, what: &str, deploy: &Node) {
        let what = format!("{what}: deploy");
        self.allow_keys(&what, deploy, &[DEPLOY_KEYS]);
        if let Some(l) = deploy.get("labels") {
            self.labels(&what, l);
        }
        let Some(resources) = deploy.get("resources") else {
            return;
        };
        self.allow_keys(
            &format!("{what}.resources"),
            resources,
            &[&["limits", "reservations"]],
        );
        for part in ["limits", "reservations"] {
            if let Some(r) = resources.get(part) {
                self.allow_keys(&format!("{what}.resources.{part}"), r, &[RESOURCE_KEYS]);
            }
        }
    }

    fn networks(&mut self) {
        let raw_networks = self.project.raw.get("networks");
        for (name, n) in &self.project.networks {
            if n.implicit {
                continue;
            }
            let what = format!("network `{name}`");
            if let Some(e) = n.external.as_ref().filter(|e| e.value) {
                self.violation(
                    &e.location,
                    format!("{what} is external: it joins a network outside the project"),
                    "declare the network without `external`",
                );
            }
            if let Some(d) = n.driver.as_ref().filter(|d| d.value != "bridge") {
                self.violation(
                    &d.location,
                    format!(
                        "{what}: driver `{}` is not allowed (only bridge)",
                        display::value(&d.value)
                    ),
                    "remove the driver",
                );
            }
            for (k, v) in &n.driver_opts {
                self.violation(
                    &v.location,
                    format!(
                        "{what}: driver option `{}` is not allowed",
                        display::value(k)
                    ),
                    "remove driver_opts",
                );
            }
            let raw = raw_networks.and_then(|r| r.get(name));
            if let Some(raw) = raw {
                self.allow_keys(&what, raw, &[NETWORK_KEYS]);
                if let Some(d) = raw
                    .get("ipam")
                    .and_then(|i| i.get("driver"))
                    .filter(|d| d.as_str() != Some("default"))
                {
                    self.violation(
                        &d.location,
                        format!("{what}: IPAM driver is not allowed"),
                        "remove it",
                    );
                }
                if let Some(l) = raw.get("labels") {
                    self.labels(&what, l);
                }
                if let Some(n) = raw.get("name").filter(|_| !n.is_external()) {
                    self.note(
                        &n.location,
                        format!("{what}: name is not applied; the sandbox names networks per run"),
                    );
                }
            }
        }
    }

    fn volumes(&mut self) {
        let raw_volumes = self.project.raw.get("volumes");
        for (name, v) in &self.project.volumes {
            let what = format!("volume `{name}`");
            if let Some(e) = v.external.as_ref().filter(|e| e.value) {
                self.violation(
                    &e.location,
                    format!("{what} is external: it mounts a volume outside the project"),
                    "declare the volume without `external`",
                );
            }
            if let Some(d) = v.driver.as_ref().filter(|d| d.value != "local") {
                self.violation(
                    &d.location,
                    format!(
                        "{what}: driver `{}` is not allowed (only local)",
                        display::value(&d.value)
                    ),
                    "remove the driver",
                );
            }
            for (k, o) in &v.driver_opts {
                let why = match k.as_str() {
                    "device" => format!("mounts host path `{}`", display::value(&o.value)),
                    "o" if o.value.split(',').any(|x| x.trim() == "bind") => {
                        "makes the volume a bind mount of the host".into()
                    }
                    "type" => format!("mounts a `{}` file system", display::value(&o.value)),
                    _ => "is not allowed".into(),
                };
                self.violation(
                    &o.location,
                    format!("{what}: driver option `{}` {why}", display::value(k)),
                    "use a plain named volume",
                );
            }
            if let Some(raw) = raw_volumes.and_then(|r| r.get(name)) {
                self.allow_keys(&what, raw, &[VOLUME_KEYS]);
                if let Some(l) = raw.get("labels") {
                    self.labels(&what, l);
                }
            }
        }
    }

    fn secrets_and_configs(&mut self) {
        let defs = self
            .project
            .secrets
            .iter()
            .map(|(name, d)| {
                (
                    "secret",
                    name,
                    &d.file,
                    &d.file_resolved,
                    &d.environment,
                    &d.external,
                )
            })
            .chain(self.project.configs.iter().map(|(name, d)| {
                (
                    "config",
                    name,
                    &d.file,
                    &d.file_resolved,
                    &d.environment,
                    &d.external,
                )
            }))
            .collect::<Vec<_>>();
        for (kind, name, file, resolved, environment, external) in defs {
            let what = format!("{kind} `{name}`");
            if let Some(f) = file {
                let r = match resolved {
                    Some(p) => paths::resolve_path(self.root, p),
                    None => paths::resolve(
                        self.root,
                        &self.root.path().join(&self.project.working_dir),
                        &f.value,
                    ),
                };
                self.check_resolved(&format!("{what}: file"), &f.value, r, &f.location);
            }
            if let Some(e) = environment {
                self.violation(
                    &e.location,
                    format!(
                        "{what}: `environment: {}` reads the grader's environment",
                        display::value(&e.value)
                    ),
                    "use `file:` with a file of your submission",
                );
            }
            if let Some(e) = external.as_ref().filter(|e| e.value) {
                self.violation(
                    &e.location,
                    format!("{what} is external"),
                    "use `file:` with a file of your submission",
                );
            }
            let section = if kind == "secret" {
                "secrets"
            } else {
                "configs"
            };
            if let Some(raw) = self.project.raw.get(section).and_then(|r| r.get(name)) {
                self.allow_keys(&what, raw, &[SECRET_KEYS]);
            }
        }
    }

    /// Every file the loader read (compose files, includes, extends, env files) must be inside.
    fn files_read(&mut self) {
        for f in &self.project.files {
            if let r @ (Resolved::Outside(_) | Resolved::Home) = paths::resolve_path(self.root, f) {
                let at = Location::file(f.display().to_string());
                self.check_resolved("file read by the project", &f.display().to_string(), r, &at);
            }
        }
    }
}

/// Addresses of the host itself or of local networks (where the Docker host and its bridges live).
fn is_host_or_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_host_or_local(IpAddr::V4(v4)))
        }
    }
}
