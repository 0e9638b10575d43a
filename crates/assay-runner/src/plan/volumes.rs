//! Volumes and mounts: one run volume per named and per anonymous volume, binds only inside
//! the submission, tmpfs capped.

use super::*;
use bollard::models::{Mount, MountTmpfsOptions, MountType, MountVolumeOptions};

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
            bind_source: None,
        });
    }
    (vol_names, volumes)
}

/// What a service mounts, and the files its binds of single files copy in. Anonymous volumes
/// and the volumes standing in for binds are added to `volumes`.
///
/// No host path is ever mounted: Docker resolves a bind source
/// again when each container starts, so a container that can write anywhere a later bind
/// points could swap a checked directory for a symlink to the host's `/`. Instead:
/// - a bind of a directory (or of a path that does not exist) becomes a run volume that the
///   run fills with a copy of the directory before any container starts; services binding the
///   same directory share that volume, as they would share the directory;
/// - a bind of a file is copied into the created container at its target (archive API; for a
///   `read_only: true` service see [`read_only_file_dirs`]).
pub(super) fn mounts(
    ctx: &Ctx,
    name: &str,
    s: &Service,
    volumes: &mut Vec<VolumeSpec>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Mount>, Vec<FileCopy>) {
    let project = ctx.project;
    let inputs = ctx.inputs;
    let prefix = &ctx.prefix;
    let base_labels = &ctx.base_labels;
    let vol_names = &ctx.vol_names;
    let mut mounts = Vec::new();
    let mut files = Vec::new();
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
                            bind_source: None,
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
                let shown = m.source.as_deref().unwrap_or("?");
                let Some(host) = &m.host_path else {
                    diags.push(
                        Diagnostic::error("bind mount without a host path").at(v.location.clone()),
                    );
                    continue;
                };
                // The submission's one rule (assay_core::lexically_inside), on an absolute
                // path only: a relative host path is `~/…`, the grader's home, never inside.
                let inside = host.is_absolute()
                    && assay_core::lexically_inside(&project.root, host).is_some();
                if !inside {
                    diags.push(
                        Diagnostic::error(format!(
                            "bind mount source `{shown}` leaves the submission directory"
                        ))
                        .at(v.location.clone()),
                    );
                    continue;
                }
                match inputs.binds.get(host).copied().unwrap_or_default() {
                    BindKind::Refused => diags.push(
                        Diagnostic::error(format!(
                            "bind mount source `{shown}` is a symbolic link or a special file; assay copies only regular files and directories of the submission"
                        ))
                        .at(v.location.clone()),
                    ),
                    BindKind::Dir | BindKind::Missing => {
                        let volume = bind_volume(prefix, base_labels, host, volumes);
                        mounts.push(Mount {
                            target: Some(m.target.clone()),
                            source: Some(volume),
                            typ: Some(MountType::VOLUME),
                            read_only: Some(m.read_only),
                            // The copy of the directory replaces what the image has there, as
                            // the bind would.
                            volume_options: Some(MountVolumeOptions {
                                no_copy: Some(true),
                                ..Default::default()
                            }),
                            ..Default::default()
                        });
                    }
                    BindKind::File { mode } => {
                        files.push(FileCopy {
                            what: format!("bind `{shown}`"),
                            source: FileSource::Host(host.clone()),
                            target: m.target.clone(),
                            mode: mode & 0o777,
                            uid: 0,
                            gid: 0,
                        });
                    }
                }
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
    (mounts, files)
}

/// The run volume standing in for binds of the directory `host` (one per directory, shared by
/// every service that binds it).
fn bind_volume(
    prefix: &str,
    labels: &HashMap<String, String>,
    host: &Path,
    volumes: &mut Vec<VolumeSpec>,
) -> String {
    if let Some(v) = volumes
        .iter()
        .find(|v| v.bind_source.as_deref() == Some(host))
    {
        return v.name.clone();
    }
    let n = volumes.iter().filter(|v| v.bind_source.is_some()).count() + 1;
    let name = format!("{prefix}-bind-{n}");
    volumes.push(VolumeSpec {
        compose_name: None,
        name: name.clone(),
        labels: labels.clone(),
        bind_source: Some(host.to_path_buf()),
    });
    name
}

/// For a `read_only: true` service: the archive API writes into a created container only inside
/// its volumes when the root filesystem is read-only, so the parent directory of every copied
/// file (bound file, secret, config) becomes a run volume. Docker fills an empty volume from
/// the image's directory when the container is created; the files are copied in after, so the
/// image's other files there stay. A file directly under `/` cannot be given this way.
pub(super) fn read_only_file_dirs(
    ctx: &Ctx,
    name: &str,
    s: &Service,
    files: &[FileCopy],
    mounts: &mut Vec<Mount>,
    volumes: &mut Vec<VolumeSpec>,
    diags: &mut Vec<Diagnostic>,
) {
    if !s.read_only.as_ref().is_some_and(|r| r.value) {
        return;
    }
    for f in files {
        let parent = Path::new(&f.target)
            .parent()
            .filter(|p| *p != Path::new("/") && !p.as_os_str().is_empty());
        let Some(parent) = parent else {
            diags.push(
                Diagnostic::error(format!(
                    "service `{name}` is read_only and gets {} at `{}`: assay copies such files into the container, and a read-only root filesystem takes them only inside a volume (not directly under `/`)",
                    f.what, f.target
                ))
                .at(s.location.clone()),
            );
            continue;
        };
        let parent = parent.to_string_lossy().into_owned();
        let covered = mounts.iter().any(|m| {
            m.target
                .as_deref()
                .is_some_and(|t| Path::new(&parent).starts_with(t))
        });
        if covered {
            continue;
        }
        let n = format!(
            "{}-ro-{}-{}",
            ctx.prefix,
            docker_safe(name),
            mounts.len() + 1
        );
        volumes.push(VolumeSpec {
            compose_name: None,
            name: n.clone(),
            labels: ctx.base_labels.clone(),
            bind_source: None,
        });
        mounts.push(Mount {
            target: Some(parent),
            source: Some(n),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        });
    }
}
