//! Stage: consistency of the resolved project (compose-go `loader/validate.go`), worded as
//! compose-go words it, every problem located: undefined services, networks, volumes, secrets
//! and configs; dependency cycles; a service with neither image nor build.

use crate::model::{MountKind, Project};
use assay_core::{Diagnostic, Location};
use std::collections::BTreeMap;

pub(crate) fn check(project: &Project, diags: &mut Vec<Diagnostic>) {
    let known = |name: &str| {
        project.services.contains_key(name) || project.disabled_services.contains_key(name)
    };
    for (name, svc) in &project.services {
        if svc.image.is_none() && svc.build.is_none() {
            diags.push(
                Diagnostic::error(format!(
                    "service {name:?} has neither an image nor a build context specified"
                ))
                .at(svc.location.clone())
                .with_hint("add `image:` or `build:`"),
            );
        }
        for (dep, d) in &svc.depends_on {
            if !known(dep) {
                let mut diag = Diagnostic::error(format!(
                    "service {name:?} depends on undefined service {dep:?}"
                ))
                .at(d.location.clone());
                if let Some(s) =
                    crate::schema::did_you_mean(dep, project.services.keys().map(String::as_str))
                {
                    diag = diag.with_hint(format!("did you mean {s:?}?"));
                }
                diags.push(diag);
            }
        }
        for (net, sn) in &svc.networks {
            if !project.networks.contains_key(net) {
                let mut diag = Diagnostic::error(format!(
                    "service {name:?} refers to undefined network {net}"
                ))
                .at(sn.location.clone());
                if let Some(s) =
                    crate::schema::did_you_mean(net, project.networks.keys().map(String::as_str))
                {
                    diag = diag.with_hint(format!("did you mean {s:?}?"));
                } else {
                    diag = diag.with_hint("declare it under the top-level `networks:` key");
                }
                diags.push(diag);
            }
        }
        for v in &svc.volumes {
            if v.value.kind != MountKind::Volume {
                continue;
            }
            let Some(src) = &v.value.source else { continue };
            if !project.volumes.contains_key(src) {
                let mut diag =
                    Diagnostic::error(format!("service {name:?} refers to undefined volume {src}"))
                        .at(v.location.clone());
                if let Some(s) =
                    crate::schema::did_you_mean(src, project.volumes.keys().map(String::as_str))
                {
                    diag = diag.with_hint(format!("did you mean {s:?}?"));
                } else {
                    diag = diag.with_hint("declare it under the top-level `volumes:` key, or use ./path for a bind mount");
                }
                diags.push(diag);
            }
        }
        for s in &svc.secrets {
            if !project.secrets.contains_key(&s.value.source) {
                diags.push(
                    Diagnostic::error(format!(
                        "service {name:?} refers to undefined secret {}",
                        s.value.source
                    ))
                    .at(s.location.clone()),
                );
            }
        }
        for c in &svc.configs {
            if !project.configs.contains_key(&c.value.source) {
                diags.push(
                    Diagnostic::error(format!(
                        "service {name:?} refers to undefined config {}",
                        c.value.source
                    ))
                    .at(c.location.clone()),
                );
            }
        }
        if let Some(b) = &svc.build {
            for s in &b.secrets {
                if !project.secrets.contains_key(&s.value.source) {
                    diags.push(
                        Diagnostic::error(format!(
                            "service {name:?} refers to undefined build secret {}",
                            s.value.source
                        ))
                        .at(s.location.clone()),
                    );
                }
            }
        }
        for vf in &svc.volumes_from {
            let target = vf.value.strip_prefix("service:").unwrap_or(&vf.value);
            let target = target.split(':').next().unwrap_or(target);
            if !vf.value.starts_with("container:") && !known(target) {
                diags.push(
                    Diagnostic::error(format!(
                        "service {name:?} depends on undefined service {target:?}"
                    ))
                    .at(vf.location.clone()),
                );
            }
        }
        for (field, value) in [
            ("network_mode", &svc.network_mode),
            ("ipc", &svc.ipc),
            ("pid", &svc.pid),
        ] {
            if let Some(v) = value {
                if let Some(target) = v.value.strip_prefix("service:") {
                    if !known(target) {
                        diags.push(
                            Diagnostic::error(format!("service {name:?} depends on undefined service {target:?} ({field})"))
                                .at(v.location.clone()),
                        );
                    }
                }
            }
        }
    }
    cycles(project, diags);
}

/// Reports every dependency cycle once: `dependency cycle detected: a -> b -> a`.
fn cycles(project: &Project, diags: &mut Vec<Diagnostic>) {
    let mut graph: BTreeMap<&str, Vec<(&str, &Location)>> = BTreeMap::new();
    for (name, svc) in &project.services {
        let edges = graph.entry(name.as_str()).or_default();
        for (dep, d) in &svc.depends_on {
            if project.services.contains_key(dep) {
                edges.push((dep.as_str(), &d.location));
            }
        }
    }
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut seen_cycles: Vec<Vec<&str>> = Vec::new();
    for start in graph.keys().copied().collect::<Vec<_>>() {
        if state.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        // iterative DFS: stack of (node, next edge index)
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some((node, idx)) = stack.last().copied() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if idx >= edges.len() {
                state.insert(node, 2);
                stack.pop();
                continue;
            }
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            let (next, loc) = edges[idx];
            match state.get(next).copied().unwrap_or(0) {
                0 => {
                    state.insert(next, 1);
                    stack.push((next, 0));
                }
                1 => {
                    let pos = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[pos..].iter().map(|(n, _)| *n).collect();
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    if !seen_cycles.contains(&key) {
                        seen_cycles.push(key);
                        cycle.push(next);
                        diags.push(
                            Diagnostic::error(format!(
                                "dependency cycle detected: {}",
                                cycle.join(" -> ")
                            ))
                            .at(loc.clone()),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}
