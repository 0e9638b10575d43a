//! `config` rendering: the resolved canonical project as YAML or JSON, shaped like
//! `docker compose config` (sorted keys, long syntax, interpolated values).

use crate::model::*;
use crate::ConfigFormat;
use serde_json::{json, Map, Value};

/// Renders the project like `docker compose config`.
pub fn render_config(project: &Project, format: ConfigFormat) -> String {
    let v = to_value(project);
    match format {
        ConfigFormat::Json => {
            assay_core::display::json_visible(&serde_json::to_string_pretty(&v).unwrap_or_default())
                + "\n"
        }
        ConfigFormat::Yaml => {
            let mut out = String::new();
            emit(&v, 0, &mut out, false);
            out
        }
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn opt<T: Clone + Into<Value>>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), v.into());
    }
}

fn str_list(v: &[Located<String>]) -> Value {
    Value::Array(v.iter().map(|x| s(&x.value)).collect())
}

fn str_map(m: &std::collections::BTreeMap<String, Located<String>>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), s(&v.value))).collect())
}

fn opt_map(m: &std::collections::BTreeMap<String, Located<Option<String>>>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), v.value.as_deref().map_or(Value::Null, s)))
            .collect(),
    )
}

/// The project as a JSON value (also what the JSON format prints).
pub(crate) fn to_value(p: &Project) -> Value {
    let mut top = Map::new();
    top.insert("name".into(), s(&p.name));
    let services: Map<String, Value> = p
        .services
        .iter()
        .map(|(k, svc)| (k.clone(), service_value(svc)))
        .collect();
    top.insert("services".into(), Value::Object(services));
    if !p.networks.is_empty() {
        let nets = p
            .networks
            .iter()
            .map(|(k, n)| {
                let mut m = Map::new();
                m.insert("name".into(), s(&n.name));
                opt(&mut m, "driver", n.driver.as_ref().map(|d| s(&d.value)));
                if n.is_external() {
                    m.insert("external".into(), true.into());
                }
                opt(&mut m, "internal", n.internal.as_ref().map(|d| d.value));
                if !n.driver_opts.is_empty() {
                    m.insert("driver_opts".into(), str_map(&n.driver_opts));
                }
                if !n.labels.is_empty() {
                    m.insert("labels".into(), str_map(&n.labels));
                }
                (k.clone(), Value::Object(m))
            })
            .collect();
        top.insert("networks".into(), Value::Object(nets));
    }
    if !p.volumes.is_empty() {
        let vols = p
            .volumes
            .iter()
            .map(|(k, v)| {
                let mut m = Map::new();
                m.insert("name".into(), s(&v.name));
                opt(&mut m, "driver", v.driver.as_ref().map(|d| s(&d.value)));
                if v.is_external() {
                    m.insert("external".into(), true.into());
                }
                if !v.driver_opts.is_empty() {
                    m.insert("driver_opts".into(), str_map(&v.driver_opts));
                }
                if !v.labels.is_empty() {
                    m.insert("labels".into(), str_map(&v.labels));
                }
                (k.clone(), Value::Object(m))
            })
            .collect();
        top.insert("volumes".into(), Value::Object(vols));
    }
    if !p.secrets.is_empty() {
        let defs = p.secrets.iter().map(|(k, d)| {
            (
                k.clone(),
                file_def(&d.name, &d.file, &d.environment, &d.external),
            )
        });
        top.insert("secrets".into(), Value::Object(defs.collect()));
    }
    if !p.configs.is_empty() {
        let defs = p.configs.iter().map(|(k, d)| {
            (
                k.clone(),
                file_def(&d.name, &d.file, &d.environment, &d.external),
            )
        });
        top.insert("configs".into(), Value::Object(defs.collect()));
    }
    Value::Object(top)
}

/// A top-level secret or config.
fn file_def(
    name: &str,
    file: &Option<Located<String>>,
    environment: &Option<Located<String>>,
    external: &Option<Located<bool>>,
) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), s(name));
    opt(&mut m, "file", file.as_ref().map(|f| s(&f.value)));
    opt(
        &mut m,
        "environment",
        environment.as_ref().map(|f| s(&f.value)),
    );
    if external.as_ref().is_some_and(|e| e.value) {
        m.insert("external".into(), true.into());
    }
    Value::Object(m)
}

fn service_value(svc: &Service) -> Value {
    let mut m = Map::new();
    opt(&mut m, "image", svc.image.as_ref().map(|i| s(&i.value)));
    if let Some(b) = &svc.build {
        let mut bm = Map::new();
        bm.insert(
            "context".into(),
            s(&b.context_path
                .as_ref()
                .map_or(b.context.value.clone(), |p| {
                    p.to_string_lossy().into_owned()
                })),
        );
        bm.insert(
            "dockerfile".into(),
            s(b.dockerfile
                .as_ref()
                .map_or("Dockerfile", |d| d.value.as_str())),
        );
        opt(&mut bm, "target", b.target.as_ref().map(|d| s(&d.value)));
        if !b.args.is_empty() {
            bm.insert("args".into(), opt_map(&b.args));
        }
        m.insert("build".into(), Value::Object(bm));
    }
    if !svc.environment.is_empty() {
        m.insert("environment".into(), opt_map(&svc.environment));
    }
    if !svc.ports.is_empty() {
        let ports = svc
            .ports
            .iter()
            .map(|p| {
                let p = &p.value;
                let mut pm = Map::new();
                pm.insert("mode".into(), s(&p.mode));
                opt(&mut pm, "host_ip", p.host_ip.as_deref().map(s));
                pm.insert("target".into(), json!(p.target));
                opt(&mut pm, "published", p.published.as_deref().map(s));
                pm.insert("protocol".into(), s(&p.protocol));
                Value::Object(pm)
            })
            .collect();
        m.insert("ports".into(), Value::Array(ports));
    }
    if !svc.expose.is_empty() {
        m.insert("expose".into(), str_list(&svc.expose));
    }
    if !svc.volumes.is_empty() {
        let vols = svc
            .volumes
            .iter()
            .map(|v| {
                let v = &v.value;
                let mut vm = Map::new();
                vm.insert("type".into(), s(v.kind.as_str()));
                let source = v
                    .host_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned())
                    .or_else(|| v.source.clone());
                opt(&mut vm, "source", source.as_deref().map(s));
                vm.insert("target".into(), s(&v.target));
                if v.read_only {
                    vm.insert("read_only".into(), true.into());
                }
                if v.kind == MountKind::Bind {
                    vm.insert(
                        "bind".into(),
                        json!({"create_host_path": v.bind_create_host_path.unwrap_or(false)}),
                    );
                }
                if let Some(nc) = v.volume_nocopy {
                    vm.insert("volume".into(), json!({ "nocopy": nc }));
                }
                Value::Object(vm)
            })
            .collect();
        m.insert("volumes".into(), Value::Array(vols));
    }
    if !svc.networks.is_empty() {
        let nets = svc
            .networks
            .iter()
            .map(|(k, n)| {
                if n.aliases.is_empty() && n.ipv4_address.is_none() && n.ipv6_address.is_none() {
                    (k.clone(), Value::Null)
                } else {
                    let mut nm = Map::new();
                    if !n.aliases.is_empty() {
                        nm.insert("aliases".into(), str_list(&n.aliases));
                    }
                    opt(
                        &mut nm,
                        "ipv4_address",
                        n.ipv4_address.as_ref().map(|a| s(&a.value)),
                    );
                    opt(
                        &mut nm,
                        "ipv6_address",
                        n.ipv6_address.as_ref().map(|a| s(&a.value)),
                    );
                    (k.clone(), Value::Object(nm))
                }
            })
            .collect();
        m.insert("networks".into(), Value::Object(nets));
    }
    opt(
        &mut m,
        "network_mode",
        svc.network_mode.as_ref().map(|v| s(&v.value)),
    );
    if !svc.depends_on.is_empty() {
        let deps = svc
            .depends_on
            .iter()
            .map(|(k, d)| (k.clone(), json!({"condition": d.value.condition, "required": d.value.required, "restart": d.value.restart})))
            .collect();
        m.insert("depends_on".into(), Value::Object(deps));
    }
    if let Some(h) = &svc.healthcheck {
        let mut hm = Map::new();
        opt(
            &mut hm,
            "test",
            h.test
                .as_ref()
                .map(|t| Value::Array(t.value.iter().map(|x| s(x)).collect())),
        );
        for (k, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
            ("start_interval", &h.start_interval),
        ] {
            opt(&mut hm, k, v.as_ref().map(|x| s(x.value.text())));
        }
        opt(&mut hm, "retries", h.retries.as_ref().map(|r| r.value));
        if h.disable {
            hm.insert("disable".into(), true.into());
        }
        m.insert("healthcheck".into(), Value::Object(hm));
    }
    for (k, v) in [
        ("restart", &svc.restart),
        ("user", &svc.user),
        ("working_dir", &svc.working_dir),
        ("container_name", &svc.container_name),
        ("hostname", &svc.hostname),
        ("pid", &svc.pid),
        ("ipc", &svc.ipc),
    ] {
        opt(&mut m, k, v.as_ref().map(|x| s(&x.value)));
    }
    opt(
        &mut m,
        "stop_grace_period",
        svc.stop_grace_period.as_ref().map(|x| s(x.value.text())),
    );
    for (k, v) in [("command", &svc.command), ("entrypoint", &svc.entrypoint)] {
        opt(
            &mut m,
            k,
            v.as_ref()
                .map(|c| Value::Array(c.value.iter().map(|x| s(x)).collect())),
        );
    }
    for (k, v) in [("secrets", &svc.secrets), ("configs", &svc.configs)] {
        if !v.is_empty() {
            let refs = v
                .iter()
                .map(|r| {
                    let mut rm = Map::new();
                    rm.insert("source".into(), s(&r.value.source));
                    opt(&mut rm, "target", r.value.target.as_deref().map(s));
                    Value::Object(rm)
                })
                .collect();
            m.insert(k.into(), Value::Array(refs));
        }
    }
    if !svc.profiles.is_empty() {
        m.insert("profiles".into(), str_list(&svc.profiles));
    }
    if !svc.labels.is_empty() {
        m.insert("labels".into(), str_map(&svc.labels));
    }
    if let Some(p) = &svc.privileged {
        m.insert("privileged".into(), p.value.into());
    }
    for (k, v) in [
        ("cap_add", &svc.cap_add),
        ("cap_drop", &svc.cap_drop),
        ("security_opt", &svc.security_opt),
        ("extra_hosts", &svc.extra_hosts),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), str_list(v));
        }
    }
    if let Some(d) = &svc.deploy {
        let mut dm = Map::new();
        opt(&mut dm, "replicas", d.replicas.as_ref().map(|r| r.value));
        opt(&mut dm, "mode", d.mode.as_ref().map(|r| s(&r.value)));
        m.insert("deploy".into(), Value::Object(dm));
    }
    Value::Object(m)
}

/// Whether a string must be quoted to read back as the same string in YAML.
fn needs_quotes(v: &str) -> bool {
    if v.is_empty() || v.trim() != v {
        return true;
    }
    if !matches!(crate::yaml::resolve_plain(v), crate::node::NodeKind::Str(_)) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
        return true;
    }
    let first = v.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    v.contains(": ")
        || v.contains(" #")
        || v.ends_with(':')
        || v.chars().any(assay_core::display::yaml_escapes)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(st) => {
            if needs_quotes(st) {
                assay_core::display::yaml_quoted(st)
            } else {
                st.clone()
            }
        }
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        _ => String::new(),
    }
}

fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

fn emit(v: &Value, indent: usize, out: &mut String, _in_seq: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, val) in o {
                let key = if needs_quotes(k) {
                    assay_core::display::yaml_quoted(k)
                } else {
                    k.clone()
                };
                if is_scalar(val) {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(val)));
                } else {
                    out.push_str(&format!("{pad}{key}:\n"));
                    emit(val, indent + 2, out, false);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                if is_scalar(item) {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                } else {
                    let mut inner = String::new();
                    emit(item, indent + 2, &mut inner, true);
                    let trimmed = inner.trim_start();
                    out.push_str(&format!("{pad}- {trimmed}"));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}
