//! Volumes and mounts: one run volume per named and per anonymous volume, binds only inside
//! the submission, tmpfs capped.

use super::*;
use bollard::models::{Mount, MountTmpfsOptions, MountType};

/// The named volumes of the project, as compose name → Docker name, and their specs.
pub(super) fn named_volumes(
    ctx: &Ctx,
    diags: &mut Vec<Diagnostic>,
) -> (BTreeMap<String, String>, Vec<VolumeSpec>) {
    let project = ctx.project;
    let prefix = &ctx.prefix;
    let base_labels = &ctx.base_labels;
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
    (vol_names, volumes)
}

/// What a service mounts: its mounts, and the host paths of its binds. Anonymous volumes are
/// added to `volumes`.
pub(super) fn mounts(
    ctx: &Ctx,
    name: &str,
    s: &Service,
    volumes: &mut Vec<VolumeSpec>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Mount>, Vec<PathBuf>) {
    let project = ctx.project;
    let inputs = ctx.inputs;
    let prefix = &ctx.prefix;
    let base_labels = &ctx.base_labels;
    let vol_names = &ctx.vol_names;
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
                        Diagnostic::error("bind mount without a host path").at(v.location.clone()),
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
                let writable = name == inputs.db_service
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
    (mounts, bind_sources)
}

/// The Postgres data directory of a service: `PGDATA` or the image default.
fn pg_data_dir(service: &Service) -> String {
    service
        .environment
        .get("PGDATA")
        .and_then(|v| v.value.clone())
        .unwrap_or_else(|| "/var/lib/postgresql/data".into())
}
