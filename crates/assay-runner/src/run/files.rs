//! What is copied into a container before it starts, and the checks on its sources.

use super::*;
use crate::plan::{ContainerSpec, FileSource};
use std::path::{Path, PathBuf};

/// Largest secret or config file copied into a container.
const MAX_COPIED_FILE: u64 = 1024 * 1024;

/// Binds re-checked after resolving symlinks: the source must stay inside the submission.
/// A missing source directory is created inside the submission (as Docker would).
pub(super) fn check_binds(root: &Path, spec: &ContainerSpec) -> Result<(), Failure> {
    let Ok(root) = root.canonicalize() else {
        return if spec.bind_sources.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(
                "the submission directory is gone; binds cannot be checked",
            ))
        };
    };
    for src in &spec.bind_sources {
        if !src.exists() {
            // Create only when the nearest existing ancestor is inside the root.
            let mut anc = src.as_path();
            while !anc.exists() {
                anc = anc.parent().unwrap_or(Path::new("/"));
            }
            let inside = anc.canonicalize().is_ok_and(|a| a.starts_with(&root));
            if !inside || std::fs::create_dir_all(src).is_err() {
                return Err(Failure::new(format!(
                    "service `{}`: bind source {} cannot be created inside the submission",
                    spec.service,
                    src.display()
                )));
            }
        }
        match src.canonicalize() {
            Ok(real) if real.starts_with(&root) => {}
            _ => {
                return Err(Failure::new(format!(
                "service `{}`: bind source {} leaves the submission directory (through a symlink)",
                spec.service,
                src.display()
            )))
            }
        }
    }
    Ok(())
}

/// The tar of every file to copy into `spec`'s container, rooted at `/`.
pub(super) fn files_tar(root: &Path, spec: &ContainerSpec) -> Result<Option<Vec<u8>>, Failure> {
    if spec.files.is_empty() {
        return Ok(None);
    }
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut builder = tar::Builder::new(Vec::new());
    for f in &spec.files {
        let content = match &f.source {
            FileSource::Inline(s) => s.clone().into_bytes(),
            FileSource::Host(p) => read_inside(&real_root, p).map_err(|why| {
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
        let path = PathBuf::from(f.target.trim_start_matches('/'));
        builder
            .append_data(&mut header, &path, content.as_slice())
            .map_err(|e| Failure::new(format!("service `{}`: {}: {e}", spec.service, f.what)))?;
    }
    builder
        .into_inner()
        .map(Some)
        .map_err(|e| Failure::new(format!("service `{}`: {e}", spec.service)))
}

fn read_inside(real_root: &Path, p: &Path) -> Result<Vec<u8>, String> {
    let real = p.canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(real_root) {
        return Err("leaves the submission directory (through a symlink)".into());
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_COPIED_FILE {
        return Err(format!("is larger than {MAX_COPIED_FILE} bytes"));
    }
    std::fs::read(&real).map_err(|e| e.to_string())
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
            bind_sources: vec![],
            limits: Limits::default(),
        }
    }

    #[test]
    fn secrets_are_tarred_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "hunter2").unwrap();
        let tar = files_tar(dir.path(), &spec_with_file(dir.path(), "pw.txt"))
            .unwrap()
            .unwrap();
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
        let err = files_tar(dir.path(), &spec_with_file(dir.path(), "pw.txt")).unwrap_err();
        assert!(
            err.evidence.contains("leaves the submission directory"),
            "{}",
            err.evidence
        );
    }

    #[test]
    fn a_bind_symlinked_out_of_the_submission_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("data")).unwrap();
        let mut spec = spec_with_file(dir.path(), "x");
        spec.files.clear();
        spec.bind_sources = vec![dir.path().join("data")];
        assert!(check_binds(dir.path(), &spec).is_err());
        spec.bind_sources = vec![dir.path().join("fresh/dir")];
        check_binds(dir.path(), &spec).unwrap();
        assert!(
            dir.path().join("fresh/dir").is_dir(),
            "a missing bind source is created inside"
        );
    }
}
