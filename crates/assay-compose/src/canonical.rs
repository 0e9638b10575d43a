//! Stage: the merged, validated tree → the typed [`Project`] in canonical long form, then
//! profiles. Short syntaxes are expanded here (ports, volumes, depends_on, networks, healthcheck
//! test, command), `env_file`s are read and merged under `environment`, and compose's boolean
//! and number fields accept the strings compose-go casts (`"yes"`, `"8080"`).

use crate::files::Files;
use crate::interpolate::Variables;
use crate::model::*;
use crate::node::{Node, NodeKind};
use crate::paths::{is_host_path, is_remote, is_windows_path, relative_to, split_volume_spec};
use crate::LoadOptions;
use assay_core::{normalize, Diagnostic, Location};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) fn located_str(n: &Node) -> Option<Located<String>> {
    n.scalar_text()
        .map(|s| Located::new(s, n.location.clone()).with_origin(n.origin.clone()))
}

fn cast_bool(n: &Node) -> Option<bool> {
    match &n.kind {
        NodeKind::Bool(b) => Some(*b),
        NodeKind::Str(s) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Some(true),
            "n" | "no" | "false" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn located_bool(n: &Node) -> Option<Located<bool>> {
    cast_bool(n).map(|b| Located::new(b, n.location.clone()).with_origin(n.origin.clone()))
}

fn cast_int(n: &Node) -> Option<i64> {
    match &n.kind {
        NodeKind::Int(i) => Some(*i),
        NodeKind::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
        NodeKind::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn located_int(n: &Node) -> Option<Located<i64>> {
    cast_int(n).map(|i| Located::new(i, n.location.clone()).with_origin(n.origin.clone()))
}

/// A string or a list of strings.
fn string_list(n: Option<&Node>) -> Vec<Located<String>> {
    match n {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(located_str).collect(),
            _ => located_str(n).into_iter().collect(),
        },
    }
}

/// A `list_or_dict`: `{K: V}` or `["K=V", "K"]`; a null value or bare key is `None`.
fn list_or_dict(n: Option<&Node>, sep: char) -> BTreeMap<String, Located<Option<String>>> {
    let mut out = BTreeMap::new();
    let Some(n) = n else { return out };
    match &n.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                out.insert(
                    k.name.clone(),
                    Located::new(v.scalar_text(), v.location.clone()).with_origin(v.origin.clone()),
                );
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                let Some(text) = item.scalar_text() else {
                    continue;
                };
                let (k, v) = match text.split_once(sep) {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (text, None),
                };
                out.insert(
                    k,
                    Located::new(v, item.location.clone()).with_origin(item.origin.clone()),
                );
            }
        }
        _ => {}
    }
    out
}

fn string_map(n: Option<&Node>) -> BTreeMap<String, Located<String>> {
    list_or_dict(n, '=')
        .into_iter()
        .map(|(k, v)| (k, v.map(|o| o.unwrap_or_default())))
        .collect()
}

fn opt_str(n: &Node, key: &str) -> Option<Located<String>> {
    n.get(key).and_then(located_str)
}

/// Splits a command line like a POSIX shell (quotes and backslashes), as compose does for a
/// string `command:`/`entrypoint:`.
pub(crate) fn shell_split(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                cur.push(n);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    if n != '\n' {
                        cur.push(n);
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn command(n: Option<&Node>) -> Option<Located<Vec<String>>> {
    let n = n?;
    let v = match &n.kind {
        NodeKind::Null => return None,
        NodeKind::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
        _ => shell_split(&n.scalar_text()?),
    };
    Some(Located::new(v, n.location.clone()).with_origin(n.origin.clone()))
}

/// Normalises a project name as compose does: lower case, only `[a-z0-9_-]`, starting with a
/// letter or digit.
pub(crate) fn normalize_project_name(s: &str) -> String {
    let lowered: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

/// Builds the typed model from the merged tree of one load. Reads `env_file`s through the
/// load's [`Files`]; problems go to the load's diagnostics.
pub(crate) struct Builder<'l> {
    pub files: &'l mut Files,
    pub diags: &'l mut Vec<Diagnostic>,
    pub opts: &'l LoadOptions,
    pub vars: &'l Variables,
    /// Absolute project directory (directory of the main compose file).
    pub project_dir: &'l Path,
}

impl Builder<'_> {
    fn rel(&self, abs: &Path) -> String {
        self.files.rel(abs)
    }

    pub(crate) fn build_project(&mut self, tree: Node) -> Project {
        let dir_name = self
            .project_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = self
            .opts
            .project_name
            .clone()
            .or_else(|| {
                self.vars
                    .get("COMPOSE_PROJECT_NAME")
                    .filter(|s| !s.is_empty())
            })
            .or_else(|| tree.get("name").and_then(Node::scalar_text))
            .map(|n| normalize_project_name(&n))
            .unwrap_or_else(|| normalize_project_name(&dir_name));
        let working_dir = relative_to(self.project_dir, self.files.root.path());

        // active profiles: the caller's, else COMPOSE_PROFILES from the submission's .env
        let active: Vec<String> = if self.opts.profiles.is_empty() {
            self.vars
                .get("COMPOSE_PROFILES")
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            self.opts.profiles.clone()
        };
        let mut services = BTreeMap::new();
        let mut disabled = BTreeMap::new();
        if let Some(entries) = tree.get("services").and_then(Node::as_map) {
            for (key, node) in entries {
                let svc = self.build_service(&key.name, &key.location, node);
                let enabled = svc.profiles.is_empty()
                    || active
                        .iter()
                        .any(|p| p == "*" || svc.profiles.iter().any(|sp| sp.value == *p));
                if enabled {
                    services.insert(key.name.clone(), svc);
                } else {
                    disabled.insert(key.name.clone(), svc);
                }
            }
        }

        let mut networks = BTreeMap::new();
        if let Some(entries) = tree.get("networks").and_then(Node::as_map) {
            for (key, node) in entries {
                networks.insert(
                    key.name.clone(),
                    network_def(&key.name, &key.location, node, &name),
                );
            }
        }
        let uses_default = services
            .values()
            .any(|s: &Service| s.networks.contains_key("default"));
        if uses_default && !networks.contains_key("default") {
            let first_file = self
                .files
                .paths
                .first()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            networks.insert(
                "default".into(),
                NetworkDef::plain(format!("{name}_default"), Location::file(first_file), true),
            );
        }
        let mut volumes = BTreeMap::new();
        if let Some(entries) = tree.get("volumes").and_then(Node::as_map) {
            for (key, node) in entries {
                volumes.insert(
                    key.name.clone(),
                    VolumeDef {
                        name: external_name(node).unwrap_or_else(|| format!("{name}_{}", key.name)),
                        location: key.location.clone(),
                        external: external_flag(node),
                        driver: opt_str(node, "driver"),
                        driver_opts: string_map(node.get("driver_opts")),
                        labels: string_map(node.get("labels")),
                    },
                );
            }
        }
        let mut secrets = BTreeMap::new();
        if let Some(entries) = tree.get("secrets").and_then(Node::as_map) {
            for (key, node) in entries {
                let file = opt_str(node, "file");
                secrets.insert(
                    key.name.clone(),
                    SecretDef {
                        name: external_name(node).unwrap_or_else(|| format!("{name}_{}", key.name)),
                        location: key.location.clone(),
                        file_resolved: file.as_ref().map(|f| self.resolve_rel(&f.value)),
                        file,
                        environment: opt_str(node, "environment"),
                        external: external_flag(node),
                    },
                );
            }
        }
        let mut configs = BTreeMap::new();
        if let Some(entries) = tree.get("configs").and_then(Node::as_map) {
            for (key, node) in entries {
                let file = opt_str(node, "file");
                configs.insert(
                    key.name.clone(),
                    ConfigDef {
                        name: external_name(node).unwrap_or_else(|| format!("{name}_{}", key.name)),
                        location: key.location.clone(),
                        file_resolved: file.as_ref().map(|f| self.resolve_rel(&f.value)),
                        file,
                        environment: opt_str(node, "environment"),
                        content: opt_str(node, "content"),
                        external: external_flag(node),
                    },
                );
            }
        }
        Project {
            name,
            root: self.files.root.path().to_path_buf(),
            working_dir,
            services,
            disabled_services: disabled,
            networks,
            volumes,
            secrets,
            configs,
            files: self.files.paths.clone(),
            variables: self.vars.values.clone(),
            raw: tree,
        }
    }

    /// A path relative to the project directory → relative to the root, lexically normalised.
    fn resolve_rel(&self, p: &str) -> PathBuf {
        let abs = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            normalize(&self.project_dir.join(p))
        };
        relative_to(&abs, self.files.root.path())
    }

    fn build_service(&mut self, name: &str, key_loc: &Location, n: &Node) -> Service {
        let mut env_files = Vec::new();
        let mut environment: BTreeMap<String, Located<Option<String>>> = BTreeMap::new();
        let env_file_items: Vec<Node> = match n.get("env_file") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => items.clone(),
            Some(other) if !other.is_null() => vec![other.clone()],
            _ => Vec::new(),
        };
        for item in env_file_items {
            let (path, required) = match &item.kind {
                NodeKind::Map(_) => (
                    opt_str(&item, "path"),
                    item.get("required").and_then(cast_bool).unwrap_or(true),
                ),
                _ => (located_str(&item), true),
            };
            let Some(path) = path else { continue };
            let abs = normalize(&self.project_dir.join(&path.value));
            let resolved = relative_to(&abs, self.files.root.path());
            let mut loaded = false;
            // A path outside the submission is refused (by `read`) whether or not it exists,
            // so the diagnostic never depends on the grading host's files.
            let outside = self.files.root.lexical(&abs).is_none();
            if outside || abs.is_file() || required {
                if !outside && !abs.exists() {
                    self.diags.push(
                        Diagnostic::error(format!("env file {} not found", self.rel(&abs)))
                            .at(path.location.clone()),
                    );
                } else if let Ok(entries) = self
                    .files
                    .read_env_file(
                        &abs,
                        Some(&path.location),
                        &self.opts.env_overrides,
                        self.vars,
                    )
                    .map_err(|d| self.diags.push(d))
                {
                    loaded = true;
                    let file = self.rel(&abs);
                    for (k, v) in entries {
                        let origin = Origin::EnvFile { file: file.clone() };
                        environment.insert(
                            k,
                            Located {
                                value: Some(v.value),
                                location: v.location,
                                origin,
                            },
                        );
                    }
                }
            }
            env_files.push(EnvFileRef {
                path,
                resolved,
                required,
                loaded,
            });
        }
        for (k, v) in list_or_dict(n.get("environment"), '=') {
            environment.insert(k, v);
        }

        let mut ports = Vec::new();
        if let Some(items) = n.get("ports").and_then(Node::as_seq) {
            for item in items {
                match parse_port(item) {
                    Ok(list) => ports.extend(list.into_iter().map(|p| {
                        Located::new(p, item.location.clone()).with_origin(item.origin.clone())
                    })),
                    Err(msg) => self.diags.push(
                        Diagnostic::error(format!("services.{name}.ports: {msg}"))
                            .at(item.location.clone()),
                    ),
                }
            }
        }
        let mut volumes = Vec::new();
        if let Some(items) = n.get("volumes").and_then(Node::as_seq) {
            for item in items {
                match self.parse_volume(item) {
                    Ok(v) => volumes.push(
                        Located::new(v, item.location.clone()).with_origin(item.origin.clone()),
                    ),
                    Err(msg) => self.diags.push(
                        Diagnostic::error(format!("services.{name}.volumes: {msg}"))
                            .at(item.location.clone()),
                    ),
                }
            }
        }
        let network_mode = opt_str(n, "network_mode");
        let mut networks = BTreeMap::new();
        match n.get("networks") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => {
                for item in items {
                    if let Some(s) = item.scalar_text() {
                        networks.insert(s, ServiceNetwork::at(item.location.clone()));
                    }
                }
            }
            Some(Node {
                kind: NodeKind::Map(entries),
                ..
            }) => {
                for (k, v) in entries {
                    networks.insert(
                        k.name.clone(),
                        ServiceNetwork {
                            location: k.location.clone(),
                            aliases: string_list(v.get("aliases")),
                            ipv4_address: opt_str(v, "ipv4_address"),
                            ipv6_address: opt_str(v, "ipv6_address"),
                            priority: v.get("priority").and_then(cast_int),
                        },
                    );
                }
            }
            _ => {}
        }
        if networks.is_empty() && network_mode.is_none() {
            networks.insert("default".into(), ServiceNetwork::at(key_loc.clone()));
        }
        let mut depends_on = BTreeMap::new();
        match n.get("depends_on") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => {
                for item in items {
                    if let Some(s) = item.scalar_text() {
                        depends_on.insert(
                            s,
                            Located::new(
                                Dependency {
                                    condition: "service_started".into(),
                                    restart: false,
                                    required: true,
                                },
                                item.location.clone(),
                            ),
                        );
                    }
                }
            }
            Some(Node {
                kind: NodeKind::Map(entries),
                ..
            }) => {
                for (k, v) in entries {
                    let dep = Dependency {
                        condition: v
                            .get("condition")
                            .and_then(Node::scalar_text)
                            .unwrap_or_else(|| "service_started".into()),
                        restart: v.get("restart").and_then(cast_bool).unwrap_or(false),
                        required: v.get("required").and_then(cast_bool).unwrap_or(true),
                    };
                    depends_on.insert(k.name.clone(), Located::new(dep, k.location.clone()));
                }
            }
            _ => {}
        }
        // Durations compose reads that the model does not keep are checked all the same.
        if let Some(deploy) = n.get("deploy") {
            for (section, keys) in [
                ("restart_policy", ["delay", "window"]),
                ("update_config", ["delay", "monitor"]),
                ("rollback_config", ["delay", "monitor"]),
            ] {
                if let Some(sec) = deploy.get(section) {
                    let path = format!("services.{name}.deploy.{section}");
                    for key in keys {
                        self.duration(sec, key, &path);
                    }
                }
            }
        }
        let hc_path = format!("services.{name}.healthcheck");
        let healthcheck = n.get("healthcheck").filter(|h| !h.is_null()).map(|h| {
            let test = h.get("test").and_then(|t| {
                let v = match &t.kind {
                    NodeKind::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
                    NodeKind::Null => return None,
                    _ => vec!["CMD-SHELL".to_string(), t.scalar_text()?],
                };
                Some(Located::new(v, t.location.clone()).with_origin(t.origin.clone()))
            });
            let disable = h.get("disable").and_then(cast_bool).unwrap_or(false)
                || test
                    .as_ref()
                    .is_some_and(|t| t.value.first().map(String::as_str) == Some("NONE"));
            Healthcheck {
                location: h.location.clone(),
                test,
                interval: self.duration(h, "interval", &hc_path),
                timeout: self.duration(h, "timeout", &hc_path),
                start_period: self.duration(h, "start_period", &hc_path),
                start_interval: self.duration(h, "start_interval", &hc_path),
                retries: h.get("retries").and_then(located_int),
                disable,
            }
        });
        let file_refs = |key: &str| -> Vec<Located<FileRef>> {
            n.get(key)
                .and_then(Node::as_seq)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            let r = match &i.kind {
                                NodeKind::Map(_) => FileRef {
                                    source: i
                                        .get("source")
                                        .and_then(Node::scalar_text)
                                        .unwrap_or_default(),
                                    target: i.get("target").and_then(Node::scalar_text),
                                    uid: i.get("uid").and_then(Node::scalar_text),
                                    gid: i.get("gid").and_then(Node::scalar_text),
                                    mode: i.get("mode").and_then(Node::scalar_text),
                                },
                                _ => FileRef {
                                    source: i.scalar_text()?,
                                    ..Default::default()
                                },
                            };
                            Some(Located::new(r, i.location.clone()))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let secrets = file_refs("secrets");
        let configs = file_refs("configs");
        let build = n
            .get("build")
            .filter(|b| !b.is_null())
            .map(|b| self.build_of(b));
        let deploy = n.get("deploy").filter(|d| !d.is_null()).map(|d| Deploy {
            location: d.location.clone(),
            mode: opt_str(d, "mode"),
            replicas: d.get("replicas").and_then(located_int),
            restart_policy_condition: d
                .get("restart_policy")
                .and_then(|r| opt_str(r, "condition")),
        });
        let logging = n.get("logging").filter(|d| !d.is_null()).map(|l| Logging {
            location: l.location.clone(),
            driver: opt_str(l, "driver"),
            options: string_map(l.get("options")),
        });
        let devices = n
            .get("devices")
            .and_then(Node::as_seq)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| match &i.kind {
                        NodeKind::Map(_) => {
                            let parts: Vec<String> = ["source", "target", "permissions"]
                                .iter()
                                .filter_map(|k| i.get(k).and_then(Node::scalar_text))
                                .collect();
                            Some(Located::new(parts.join(":"), i.location.clone()))
                        }
                        _ => located_str(i),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let extra_hosts = extra_hosts(n.get("extra_hosts"));
        let sysctls = string_map(n.get("sysctls"));
        Service {
            name: name.to_string(),
            location: key_loc.clone(),
            image: opt_str(n, "image"),
            build,
            environment,
            env_files,
            ports,
            expose: string_list(n.get("expose")),
            volumes,
            networks,
            depends_on,
            healthcheck,
            restart: opt_str(n, "restart"),
            command: command(n.get("command")),
            entrypoint: command(n.get("entrypoint")),
            secrets,
            configs,
            user: opt_str(n, "user"),
            working_dir: opt_str(n, "working_dir"),
            container_name: opt_str(n, "container_name"),
            hostname: opt_str(n, "hostname"),
            profiles: string_list(n.get("profiles")),
            deploy,
            scale: n.get("scale").and_then(located_int),
            labels: string_map(n.get("labels")),
            init: n.get("init").and_then(located_bool),
            read_only: n.get("read_only").and_then(located_bool),
            tmpfs: string_list(n.get("tmpfs")),
            platform: opt_str(n, "platform"),
            pull_policy: opt_str(n, "pull_policy"),
            privileged: n.get("privileged").and_then(located_bool),
            cap_add: string_list(n.get("cap_add")),
            cap_drop: string_list(n.get("cap_drop")),
            devices,
            device_cgroup_rules: string_list(n.get("device_cgroup_rules")),
            security_opt: string_list(n.get("security_opt")),
            sysctls,
            cgroup_parent: opt_str(n, "cgroup_parent"),
            runtime: opt_str(n, "runtime"),
            userns_mode: opt_str(n, "userns_mode"),
            oom_kill_disable: n.get("oom_kill_disable").and_then(located_bool),
            oom_score_adj: n.get("oom_score_adj").and_then(located_int),
            network_mode,
            pid: opt_str(n, "pid"),
            ipc: opt_str(n, "ipc"),
            uts: opt_str(n, "uts"),
            cgroup: opt_str(n, "cgroup"),
            volumes_from: string_list(n.get("volumes_from")),
            external_links: string_list(n.get("external_links")),
            extra_hosts,
            links: string_list(n.get("links")),
            logging,
            stop_grace_period: self.duration(n, "stop_grace_period", &format!("services.{name}")),
            stop_signal: opt_str(n, "stop_signal"),
            dns: string_list(n.get("dns")),
            raw: n.clone(),
        }
    }

    /// The duration under `key` of `n`, parsed as compose-go parses it; an invalid one is an error at
    /// its place, worded as compose-go words it (`time: invalid duration "ten seconds"`). A value
    /// that is not a string is left to the schema's type error.
    fn duration(&mut self, n: &Node, key: &str, path: &str) -> Option<Located<GoDuration>> {
        let v = n.get(key)?;
        let NodeKind::Str(text) = &v.kind else {
            return None;
        };
        match GoDuration::parse(text) {
            Ok(d) => Some(Located::new(d, v.location.clone()).with_origin(v.origin.clone())),
            Err(msg) => {
                self.diags
                    .push(Diagnostic::error(format!("{path}.{key}: {msg}")).at(v.location.clone()));
                None
            }
        }
    }

    fn build_of(&self, b: &Node) -> Build {
        let (context, map) = match &b.kind {
            NodeKind::Map(_) => (
                opt_str(b, "context")
                    .unwrap_or_else(|| Located::new(".".into(), b.location.clone())),
                Some(b),
            ),
            _ => (
                located_str(b).unwrap_or_else(|| Located::new(".".into(), b.location.clone())),
                None,
            ),
        };
        let context_path = if is_remote(&context.value) {
            None
        } else if Path::new(&context.value).is_absolute() {
            Some(normalize(Path::new(&context.value)))
        } else {
            Some(normalize(&self.project_dir.join(&context.value)))
        };
        let get = |k: &str| map.and_then(|m| opt_str(m, k));
        let list = |k: &str| string_list(map.and_then(|m| m.get(k)));
        let build_secrets = map
            .and_then(|m| m.get("secrets"))
            .and_then(Node::as_seq)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| {
                        let source = match &i.kind {
                            NodeKind::Map(_) => i.get("source").and_then(Node::scalar_text)?,
                            _ => i.scalar_text()?,
                        };
                        Some(Located::new(
                            FileRef {
                                source,
                                target: i.get("target").and_then(Node::scalar_text),
                                ..Default::default()
                            },
                            i.location.clone(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Build {
            location: b.location.clone(),
            context,
            context_path,
            dockerfile: get("dockerfile"),
            dockerfile_inline: get("dockerfile_inline"),
            args: list_or_dict(map.and_then(|m| m.get("args")), '='),
            ssh: match map.and_then(|m| m.get("ssh")) {
                Some(
                    s @ Node {
                        kind: NodeKind::Map(_),
                        ..
                    },
                ) => list_or_dict(Some(s), '=')
                    .into_iter()
                    .map(|(k, v)| v.map(|v| v.map_or(k.clone(), |v| format!("{k}={v}"))))
                    .collect(),
                other => string_list(other),
            },
            secrets: build_secrets,
            additional_contexts: string_map(map.and_then(|m| m.get("additional_contexts"))),
            target: get("target"),
            network: get("network"),
            labels: string_map(map.and_then(|m| m.get("labels"))),
            extra_hosts: extra_hosts(map.and_then(|m| m.get("extra_hosts"))),
            privileged: map.and_then(|m| m.get("privileged")).and_then(located_bool),
            tags: list("tags"),
            platforms: list("platforms"),
            cache_from: list("cache_from"),
            cache_to: list("cache_to"),
        }
    }

    fn parse_volume(&self, item: &Node) -> Result<VolumeMount, String> {
        let mut v = VolumeMount::default();
        match &item.kind {
            NodeKind::Map(_) => {
                let kind = item
                    .get("type")
                    .and_then(Node::scalar_text)
                    .unwrap_or_else(|| "volume".into());
                v.kind = match kind.as_str() {
                    "volume" => MountKind::Volume,
                    "bind" => MountKind::Bind,
                    "tmpfs" => MountKind::Tmpfs,
                    "npipe" => MountKind::Npipe,
                    "cluster" => MountKind::Cluster,
                    "image" => MountKind::Image,
                    other => return Err(format!("unknown volume type {other:?}")),
                };
                v.source = item
                    .get("source")
                    .and_then(Node::scalar_text)
                    .filter(|s| !s.is_empty());
                v.target = item
                    .get("target")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default();
                v.read_only = item.get("read_only").and_then(cast_bool).unwrap_or(false);
                v.consistency = item.get("consistency").and_then(Node::scalar_text);
                if let Some(b) = item.get("bind") {
                    v.bind_propagation = b.get("propagation").and_then(Node::scalar_text);
                    v.bind_create_host_path = b.get("create_host_path").and_then(cast_bool);
                    v.bind_selinux = b.get("selinux").and_then(Node::scalar_text);
                }
                if let Some(b) = item.get("volume") {
                    v.volume_nocopy = b.get("nocopy").and_then(cast_bool);
                    v.volume_subpath = b.get("subpath").and_then(Node::scalar_text);
                }
                if let Some(b) = item.get("tmpfs") {
                    v.tmpfs_size = b.get("size").and_then(Node::scalar_text);
                }
                if v.target.is_empty() {
                    return Err("a volume needs a target".into());
                }
            }
            _ => {
                let spec = item
                    .scalar_text()
                    .ok_or("a volume must be a string or a mapping")?;
                let parts = split_volume_spec(&spec);
                match parts.len() {
                    1 => {
                        v.target = parts[0].clone();
                    }
                    2 | 3 => {
                        v.source = Some(parts[0].clone());
                        v.target = parts[1].clone();
                        v.kind = if is_host_path(&parts[0]) {
                            MountKind::Bind
                        } else {
                            MountKind::Volume
                        };
                        if v.kind == MountKind::Bind {
                            v.bind_create_host_path = Some(true);
                        }
                        if let Some(mode) = parts.get(2) {
                            for m in mode.split(',') {
                                match m {
                                    "ro" => v.read_only = true,
                                    "rw" => v.read_only = false,
                                    "z" | "Z" => v.bind_selinux = Some(m.to_string()),
                                    "nocopy" => v.volume_nocopy = Some(true),
                                    "shared" | "rshared" | "slave" | "rslave" | "private"
                                    | "rprivate" => v.bind_propagation = Some(m.to_string()),
                                    "consistent" | "cached" | "delegated" => {
                                        v.consistency = Some(m.to_string())
                                    }
                                    other => {
                                        return Err(format!(
                                            "invalid mode {other:?} in volume {spec:?}"
                                        ))
                                    }
                                }
                            }
                        }
                    }
                    _ => return Err(format!("invalid volume specification {spec:?}")),
                }
                if v.target.is_empty() {
                    return Err(format!(
                        "invalid volume specification {spec:?}: empty target"
                    ));
                }
            }
        }
        // a container path is cleaned (`/data/` and `/data` are the same mount point)
        if v.target.len() > 1 && v.target.ends_with('/') && !is_windows_path(&v.target) {
            v.target = v.target.trim_end_matches('/').to_string();
            if v.target.is_empty() {
                v.target = "/".into();
            }
        }
        if v.kind == MountKind::Bind {
            if let Some(src) = &v.source {
                v.host_path = Some(if src.starts_with('~') || Path::new(src).is_absolute() {
                    normalize(Path::new(src))
                } else {
                    normalize(&self.project_dir.join(src))
                });
            }
        }
        Ok(v)
    }
}

fn extra_hosts(n: Option<&Node>) -> Vec<Located<String>> {
    let Some(n) = n else { return Vec::new() };
    match &n.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .flat_map(|(k, v)| {
                let ips: Vec<String> = match &v.kind {
                    NodeKind::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
                    _ => v.scalar_text().into_iter().collect(),
                };
                ips.into_iter()
                    .map(move |ip| Located::new(format!("{}={ip}", k.name), v.location.clone()))
            })
            .collect(),
        NodeKind::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let t = i.scalar_text()?;
                let canon = match t.find(['=', ':']) {
                    Some(pos) => format!("{}={}", &t[..pos], &t[pos + 1..]),
                    None => t,
                };
                Some(Located::new(canon, i.location.clone()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn external_flag(node: &Node) -> Option<Located<bool>> {
    let e = node.get("external")?;
    match &e.kind {
        NodeKind::Map(_) => Some(Located::new(true, e.location.clone())),
        _ => located_bool(e),
    }
}

fn external_name(node: &Node) -> Option<String> {
    node.get("name").and_then(Node::scalar_text).or_else(|| {
        node.get("external")
            .and_then(|e| e.get("name"))
            .and_then(Node::scalar_text)
    })
}

fn network_def(name: &str, loc: &Location, node: &Node, project: &str) -> NetworkDef {
    NetworkDef {
        name: external_name(node).unwrap_or_else(|| format!("{project}_{name}")),
        location: loc.clone(),
        external: external_flag(node),
        driver: opt_str(node, "driver"),
        driver_opts: string_map(node.get("driver_opts")),
        internal: node.get("internal").and_then(located_bool),
        attachable: node.get("attachable").and_then(located_bool),
        enable_ipv6: node.get("enable_ipv6").and_then(located_bool),
        labels: string_map(node.get("labels")),
        implicit: false,
    }
}

/// Parses one `ports:` entry into long-form ports (a short-syntax range gives several).
fn parse_port(item: &Node) -> Result<Vec<Port>, String> {
    if let NodeKind::Map(_) = item.kind {
        let target = item
            .get("target")
            .and_then(cast_int)
            .ok_or("a port needs a numeric target")?;
        return Ok(vec![Port {
            name: item.get("name").and_then(Node::scalar_text),
            host_ip: item.get("host_ip").and_then(Node::scalar_text),
            published: item.get("published").and_then(Node::scalar_text),
            target: u32::try_from(target).map_err(|_| format!("invalid port {target}"))?,
            protocol: item
                .get("protocol")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| "tcp".into()),
            app_protocol: item.get("app_protocol").and_then(Node::scalar_text),
            mode: item
                .get("mode")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| "ingress".into()),
        }]);
    }
    let spec = item
        .scalar_text()
        .ok_or("a port must be a number, a string or a mapping")?;
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r.to_string(), p.to_string()),
        None => (spec.clone(), "tcp".to_string()),
    };
    // host ip may be an IPv6 address in brackets
    let (host_ip, rest) = if let Some(stripped) = rest.strip_prefix('[') {
        let (ip, after) = stripped
            .split_once(']')
            .ok_or_else(|| format!("invalid port {spec:?}"))?;
        (
            Some(ip.to_string()),
            after.trim_start_matches(':').to_string(),
        )
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (None, [p, t]) => (None, Some(*p), *t),
        (None, [ip, p, t]) => (Some(ip.to_string()), Some(*p), *t),
        (Some(ip), [p, t]) => (Some(ip), Some(*p), *t),
        (Some(ip), [t]) => (Some(ip), None, *t),
        _ => return Err(format!("invalid port {spec:?}")),
    };
    let published = published.filter(|p| !p.is_empty());
    let range = |s: &str| -> Result<(u32, u32), String> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u32 = a
            .trim()
            .parse()
            .map_err(|_| format!("invalid port {spec:?}"))?;
        let b: u32 = b
            .trim()
            .parse()
            .map_err(|_| format!("invalid port {spec:?}"))?;
        if a > b || b > 65535 {
            return Err(format!("invalid port range {s:?}"));
        }
        Ok((a, b))
    };
    let (t0, t1) = range(target)?;
    let mk = |target: u32, published: Option<String>| Port {
        name: None,
        host_ip: ip.clone(),
        published,
        target,
        protocol: protocol.clone(),
        app_protocol: None,
        mode: "ingress".into(),
    };
    match published {
        None => Ok((t0..=t1).map(|t| mk(t, None)).collect()),
        Some(p) => {
            let (p0, p1) = range(p)?;
            if t0 == t1 {
                Ok(vec![mk(t0, Some(p.to_string()))])
            } else if p1 - p0 == t1 - t0 {
                Ok((0..=(t1 - t0))
                    .map(|i| mk(t0 + i, Some((p0 + i).to_string())))
                    .collect())
            } else {
                Err(format!("port ranges don't match in {spec:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(s: &str) -> Vec<(Option<String>, Option<String>, u32, String)> {
        let n = Node::new(NodeKind::Str(s.into()), Location::file("x"));
        parse_port(&n)
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.published, p.target, p.protocol))
            .collect()
    }

    #[test]
    fn short_ports() {
        assert_eq!(port("80"), [(None, None, 80, "tcp".into())]);
        assert_eq!(
            port("8080:80/udp"),
            [(None, Some("8080".into()), 80, "udp".into())]
        );
        assert_eq!(
            port("127.0.0.1:8080:80"),
            [(
                Some("127.0.0.1".into()),
                Some("8080".into()),
                80,
                "tcp".into()
            )]
        );
        assert_eq!(
            port("127.0.0.1::80"),
            [(Some("127.0.0.1".into()), None, 80, "tcp".into())]
        );
        assert_eq!(
            port("[::1]:8080:80"),
            [(Some("::1".into()), Some("8080".into()), 80, "tcp".into())]
        );
        assert_eq!(port("3000-3001:4000-4001").len(), 2);
        assert_eq!(
            port("3000-3001:4000-4001")[1],
            (None, Some("3001".into()), 4001, "tcp".into())
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"sh -c 'echo "hi there"' x\ y"#),
            ["sh", "-c", "echo \"hi there\"", "x y"]
        );
        assert_eq!(shell_split(r#"a "b \" c" ''"#), ["a", "b \" c", ""]);
    }

    #[test]
    fn volume_specs() {
        assert_eq!(
            split_volume_spec("C:\\data:/data:ro"),
            ["C:\\data", "/data", "ro"]
        );
        assert_eq!(split_volume_spec("./a:/b"), ["./a", "/b"]);
    }

    #[test]
    fn project_names() {
        assert_eq!(normalize_project_name("My_App.v2"), "my_appv2");
        assert_eq!(normalize_project_name(".tmpXYZ"), "tmpxyz");
    }
}
