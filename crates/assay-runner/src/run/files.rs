//! What is copied into a container before it starts, and the checks on its sources.

use super::*;
use crate::plan::{fill_path, BindKind, ContainerSpec, FileSource};
use assay_compose::{MountKind, Project};
use assay_core::{EntryKind, RootErrorKind, SubmissionRoot, WalkLimits};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What each bind source of `project` is, read without following a link: a symlink anywhere
/// below the submission root, or a special file, is [`BindKind::Refused`]. The work dir is the
/// grader's own (0700) and no container can write to it, so what this reads stays true for the
/// whole run.
pub fn bind_kinds(project: &Project) -> BTreeMap<PathBuf, BindKind> {
    let mut out = BTreeMap::new();
    for s in project.services.values() {
        for v in &s.volumes {
            let m = &v.value;
            if m.kind != MountKind::Bind {
                continue;
            }
            let Some(host) = &m.host_path else { continue };
            if out.contains_key(host) {
                continue;
            }
            out.insert(host.clone(), bind_kind(&project.root, host));
        }
    }
    out
}

/// What `host` is, judged by the one rule of the submission ([`SubmissionRoot`]): inside, no
/// link on the way, a regular file or a directory.
fn bind_kind(root: &Path, host: &Path) -> BindKind {
    let Ok(sub) = SubmissionRoot::open(root) else {
        return BindKind::Refused;
    };
    match sub.bind_source(host) {
        Ok(b) if b.kind == EntryKind::Dir => BindKind::Dir,
        Ok(b) => {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::symlink_metadata(&b.real) {
                Ok(m) => BindKind::File {
                    mode: m.permissions().mode() & 0o777,
                },
                Err(_) => BindKind::Refused,
            }
        }
        Err(e) if matches!(e.kind, RootErrorKind::NotFound { .. }) => BindKind::Missing,
        Err(_) => BindKind::Refused,
    }
}

/// The largest file copied into a container (secrets, configs, bound files): the intake's
/// per-file cap, so anything the submission may hold can be copied.
const MAX_COPIED_FILE: u64 = 64 * 1024 * 1024;
/// The most bytes the bound directories of one run may hold together: the intake's cap on a
/// whole submission.
const MAX_COPIED_TOTAL: u64 = 256 * 1024 * 1024;

/// The tar that fills the bind volumes of `filled` (volume, bound directory), rooted at `/`
/// of the filler container: the `i`-th directory's tree under [`fill_path`]`(i)`. `None` when
/// no directory exists (the volumes stay empty, as Docker would create empty directories).
/// Nothing is followed: a symbolic link inside a bound directory is copied as the link it is,
/// so inside the container it points into the container, never to the host.
pub(super) fn bind_volumes_tar(
    root: &Path,
    filled: &[(String, PathBuf)],
) -> Result<Option<Vec<u8>>, RunError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut any = false;
    let mut total = 0u64;
    let sub = SubmissionRoot::open(root).map_err(|e| RunError::Copy {
        what: "the submission".into(),
        why: e.to_string(),
    })?;
    for (i, (_, dir)) in filled.iter().enumerate() {
        if bind_kind(root, dir) != BindKind::Dir {
            continue;
        }
        any = true;
        let fail = |why: String| RunError::Copy {
            what: format!("bind source {}", dir.display()),
            why,
        };
        let base = PathBuf::from(fill_path(i));
        let top = sub.bind_source(dir).map_err(|e| fail(e.to_string()))?.rel;
        let entries = sub
            .walk(dir, WalkLimits::default())
            .map_err(|e| fail(e.to_string()))?;
        for entry in entries {
            let rel = entry.rel.strip_prefix(&top).unwrap_or(&entry.rel);
            total += entry.size;
            if total > MAX_COPIED_TOTAL {
                return Err(fail(format!("holds more than {MAX_COPIED_TOTAL} bytes")));
            }
            let mut header = tar::Header::new_gnu();
            // No set-id bits, whatever the file says (intake already forces 0644/0755).
            header.set_mode(entry.mode & 0o777);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            let path = base.join(rel);
            let res = match entry.kind {
                EntryKind::File => {
                    let content = sub
                        .read(&entry.rel, MAX_COPIED_FILE)
                        .map_err(|e| fail(e.to_string()))?;
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(content.len() as u64);
                    builder.append_data(&mut header, &path, content.as_slice())
                }
                EntryKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, &path, std::io::empty())
                }
            };
            res.map_err(|e| fail(e.to_string()))?;
        }
    }
    if !any {
        return Ok(None);
    }
    builder.into_inner().map(Some).map_err(|e| RunError::Copy {
        what: "bound directories".into(),
        why: e.to_string(),
    })
}

/// The tars of every file to copy into `spec`'s container, each with the directory it is
/// extracted at: one tar at `/`, or, for a read-only root filesystem (where Docker extracts
/// only into volumes, judged by that directory), one per parent directory.
pub(super) fn files_tars(
    root: &Path,
    spec: &ContainerSpec,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut groups: BTreeMap<String, Vec<(PathBuf, &crate::plan::FileCopy)>> = BTreeMap::new();
    for f in &spec.files {
        let target = Path::new(&f.target);
        let (dir, rel) = match (spec.read_only == Some(true), target.parent()) {
            (true, Some(parent)) => (
                parent.to_string_lossy().into_owned(),
                PathBuf::from(target.file_name().unwrap_or_default()),
            ),
            _ => (
                "/".to_string(),
                PathBuf::from(f.target.trim_start_matches('/')),
            ),
        };
        groups.entry(dir).or_default().push((rel, f));
    }
    let mut out = Vec::new();
    for (dir, files) in groups {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, f) in files {
            let content = match &f.source {
                FileSource::Inline(s) => s.clone().into_bytes(),
                FileSource::Host(p) => read_no_follow(root, p).map_err(|why| {
                    Failure::new(format!(
                        "service `{}`: {} ({}): {why}",
                        spec.service,
                        f.what,
                        p.display()
                    ))
                })?,
            };
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(f.mode);
            header.set_uid(f.uid);
            header.set_gid(f.gid);
            header.set_mtime(0);
            builder
                .append_data(&mut header, &path, content.as_slice())
                .map_err(|e| {
                    Failure::new(format!("service `{}`: {}: {e}", spec.service, f.what))
                })?;
        }
        let tar = builder
            .into_inner()
            .map_err(|e| Failure::new(format!("service `{}`: {e}", spec.service)))?;
        out.push((dir, tar));
    }
    Ok(out)
}

/// Reads a regular file of the submission, at most [`MAX_COPIED_FILE`] bytes, never following
/// a link ([`SubmissionRoot::read`]).
fn read_no_follow(root: &Path, p: &Path) -> Result<Vec<u8>, String> {
    SubmissionRoot::open(root)
        .and_then(|sub| sub.read(p, MAX_COPIED_FILE))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{FileCopy, Limits};

    fn spec_with_file(root: &Path, rel: &str) -> ContainerSpec {
        ContainerSpec {
            name: "c".into(),
            service: "db".into(),
            image: "i".into(),
            env: vec![],
            cmd: None,
            entrypoint: None,
            user: None,
            working_dir: None,
            hostname: None,
            healthcheck: None,
            labels: Default::default(),
            mounts: vec![],
            networks: vec![],
            restart_max: None,
            stop_signal: None,
            init: None,
            read_only: None,
            files: vec![FileCopy {
                what: "secret pw".into(),
                source: FileSource::Host(root.join(rel)),
                target: "/run/secrets/pw".into(),
                mode: 0o444,
                uid: 0,
                gid: 0,
            }],
            limits: Limits::default(),
        }
    }

    #[test]
    fn secrets_are_tarred_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "hunter2").unwrap();
        let mut spec = spec_with_file(dir.path(), "pw.txt");
        let tars = files_tars(dir.path(), &spec).unwrap();
        assert_eq!(tars.len(), 1);
        assert_eq!(tars[0].0, "/");
        // A read-only root filesystem: extracted at the file's directory (a volume there).
        spec.read_only = Some(true);
        let ro = files_tars(dir.path(), &spec).unwrap();
        assert_eq!(ro[0].0, "/run/secrets");
        let tar = &tars[0].1;
        let mut a = tar::Archive::new(tar.as_slice());
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("run/secrets/pw"));
        assert_eq!(e.header().mode().unwrap(), 0o444);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut e, &mut s).unwrap();
        assert_eq!(s, "hunter2");
    }

    #[test]
    fn a_secret_symlinked_out_of_the_submission_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("shadow"), "root:x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("shadow"), dir.path().join("pw.txt"))
            .unwrap();
        let err = files_tars(dir.path(), &spec_with_file(dir.path(), "pw.txt")).unwrap_err();
        assert!(err.evidence.contains("symbolic link"), "{}", err.evidence);
    }

    #[test]
    fn bind_kinds_never_follow_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/f.conf"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("data"), root.join("inner")).unwrap();
        assert_eq!(bind_kind(root, &root.join("data")), BindKind::Dir);
        assert_eq!(
            bind_kind(root, &root.join("data/f.conf")),
            BindKind::File { mode: 0o644 }
        );
        assert_eq!(bind_kind(root, &root.join("nope/x")), BindKind::Missing);
        assert_eq!(bind_kind(root, &root.join("link")), BindKind::Refused);
        assert_eq!(bind_kind(root, &root.join("link/x")), BindKind::Refused);
        assert_eq!(
            bind_kind(root, &root.join("inner/f.conf")),
            BindKind::Refused
        );
        assert_eq!(bind_kind(root, Path::new("/etc")), BindKind::Refused);
    }

    #[test]
    fn bound_directories_are_tarred_without_following_links_or_set_id_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf/sub")).unwrap();
        std::fs::write(root.join("conf/sub/a.txt"), "hello").unwrap();
        std::fs::write(root.join("conf/s"), "#!/bin/sh").unwrap();
        std::fs::set_permissions(root.join("conf/s"), std::fs::Permissions::from_mode(0o4755))
            .unwrap();
        let filled = vec![
            ("v1".to_string(), root.join("missing")),
            ("v2".to_string(), root.join("conf")),
        ];
        let tar = bind_volumes_tar(root, &filled).unwrap().unwrap();
        let mut entries = std::collections::BTreeMap::new();
        for e in tar::Archive::new(tar.as_slice()).entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            entries.insert(
                e.path().unwrap().to_string_lossy().into_owned(),
                (h.entry_type(), h.mode().unwrap(), h.uid().unwrap()),
            );
        }
        assert_eq!(entries["fill/1/sub/a.txt"].1, 0o644);
        assert_eq!(entries["fill/1/s"].1, 0o755, "set-id bits dropped");
        // A link inside a bound directory (intake never writes one) is refused, not followed.
        std::os::unix::fs::symlink("/", root.join("conf/to-root")).unwrap();
        assert!(bind_volumes_tar(root, &filled).is_err());
        assert!(
            entries.keys().all(|k| k.starts_with("fill/1")),
            "{entries:?}"
        );
        assert!(entries.values().all(|e| e.2 == 0));
        assert!(bind_volumes_tar(root, &filled[..1]).unwrap().is_none());
    }
}
