//! Root filesystems for stand-in images: `debootstrap` trees cached under the work dir, and the
//! tar stream that `docker import` turns into an image.

use crate::engine::Engine;
use crate::image_ref::ImageRef;
use crate::images_error::{io_err, ImagesError};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

/// Marks a tree debootstrap finished; a tree without it is redone.
const COMPLETE_MARKER: &str = ".assay-complete";
/// Upper bound of one debootstrap run.
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(1800);
/// Lines of debootstrap output kept for an error message.
const TAIL_LINES: usize = 20;

/// Where debootstrap is, if installed (root's PATH may lack the sbin dirs).
fn find_debootstrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join("debootstrap"))
        .find(|p| p.is_file())
}

/// The cached tree `debootstrap --variant=minbase [--include=..] RELEASE` makes, building it if
/// needed (tens of seconds; progress is reported per phase).
pub async fn tree(
    work_dir: &Path,
    release: &str,
    include: &[&str],
    mirror: &str,
    progress: &dyn Fn(&str),
) -> Result<PathBuf, ImagesError> {
    let mut name = format!("{release}-minbase");
    for pkg in include {
        name.push('-');
        name.push_str(pkg);
    }
    let root = work_dir.join("debootstrap");
    let dir = root.join(&name);
    if dir.join(COMPLETE_MARKER).is_file() {
        progress(&format!("reusing the Debian tree {}", dir.display()));
        return Ok(dir);
    }
    let debootstrap = find_debootstrap().ok_or(ImagesError::DebootstrapMissing)?;
    let partial = root.join(format!("{name}.partial"));
    for stale in [&partial, &dir] {
        if stale.exists() {
            remove_tree(stale)?;
        }
    }
    // One package cache per tree: two debootstraps may run at once.
    let cache = root.join(format!("debs-{name}"));
    std::fs::create_dir_all(&cache).map_err(io_err(&cache))?;
    let mut args: Vec<String> = vec!["--variant=minbase".into()];
    if !include.is_empty() {
        args.push(format!("--include={}", include.join(",")));
    }
    args.push(format!("--cache-dir={}", cache.display()));
    args.push(release.into());
    args.push(partial.display().to_string());
    args.push(mirror.into());
    progress(&format!(
        "debootstrap {} (about a minute; the tree is cached in {})",
        args.join(" "),
        dir.display()
    ));

    // `sh -c 'exec "$@" 2>&1'` merges stderr into stdout without quoting anything.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$@\" 2>&1")
        .arg("sh")
        .arg(&debootstrap)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_err(&debootstrap))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut tail: Vec<String> = Vec::new();
    let mut phases: Vec<String> = Vec::new();
    let started = std::time::Instant::now();
    let mut last_said = started;
    let work = async {
        while let Ok(Some(line)) = lines.next_line().await {
            // "I: Retrieving libc6" is phase "I: Retrieving": the first line of each phase is
            // shown, and otherwise one line every 10 s so a slow step still shows life.
            let phase: String = line
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            let new_phase = !phases.contains(&phase);
            if new_phase || last_said.elapsed() >= Duration::from_secs(10) {
                progress(&format!(
                    "  [{name} {:>3.0} s] {}",
                    started.elapsed().as_secs_f64(),
                    line.chars().take(160).collect::<String>()
                ));
                last_said = std::time::Instant::now();
                if new_phase && phases.len() < 64 {
                    phases.push(phase);
                }
            }
            if tail.len() == TAIL_LINES {
                tail.remove(0);
            }
            tail.push(line.chars().take(500).collect());
        }
        child.wait().await
    };
    let status = match tokio::time::timeout(DEBOOTSTRAP_TIMEOUT, work).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(io_err(&debootstrap)(e)),
        Err(_) => {
            return Err(ImagesError::Debootstrap {
                release: release.into(),
                dir: partial,
                status: format!("no end after {} s", DEBOOTSTRAP_TIMEOUT.as_secs()),
                tail: tail.join("\n"),
            })
        }
    };
    if !status.success() {
        return Err(ImagesError::Debootstrap {
            release: release.into(),
            dir: partial,
            status: status.to_string(),
            tail: tail.join("\n"),
        });
    }
    std::fs::rename(&partial, &dir).map_err(io_err(&dir))?;
    let marker = dir.join(COMPLETE_MARKER);
    std::fs::write(&marker, format!("debootstrap {}\n", args.join(" ")))
        .map_err(io_err(&marker))?;
    progress(&format!(
        "debootstrap of {name} done in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(dir)
}

/// Remove a tree of ours, refusing when something is still mounted inside it (an interrupted
/// debootstrap leaves /proc mounted; deleting through it would be a disaster).
fn remove_tree(dir: &Path) -> Result<(), ImagesError> {
    let prefix = format!("{}/", dir.display());
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix) || *m == dir.display().to_string())
        .collect();
    if !mounts.is_empty() {
        return Err(ImagesError::MountedInsideTree {
            dir: dir.to_path_buf(),
            mounts: mounts.join(", "),
        });
    }
    std::fs::remove_dir_all(dir).map_err(io_err(dir))
}

/// In a tree holding the `postgres` user: create the data and init dirs the entrypoint
/// expects, owned by postgres. Does nothing in other trees.
pub fn prepare_postgres_dirs(dir: &Path) -> Result<(), ImagesError> {
    let passwd_path = dir.join("etc/passwd");
    let passwd = std::fs::read_to_string(&passwd_path).map_err(io_err(&passwd_path))?;
    let Some((uid, gid)) = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == "postgres")
            .then(|| Some((f[2].parse::<u32>().ok()?, f[3].parse::<u32>().ok()?)))
            .flatten()
    }) else {
        return Ok(());
    };
    for (rel, owned) in [
        ("var/lib/postgresql/data", true),
        ("docker-entrypoint-initdb.d", false),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(&p).map_err(io_err(&p))?;
        if owned {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).map_err(io_err(&p))?;
        }
    }
    Ok(())
}

/// Stream `tar -C dir -c .` (numeric owners, `excludes` left out) into `docker import`.
pub async fn import(
    engine: &Engine,
    dir: &Path,
    excludes: &[&str],
    image: &ImageRef,
    changes: Vec<String>,
) -> Result<(), ImagesError> {
    let mut cmd = Command::new("tar");
    cmd.arg("-C")
        .arg(dir)
        .arg("--numeric-owner")
        .arg("--exclude")
        .arg(format!("./{COMPLETE_MARKER}"));
    for e in excludes {
        cmd.arg("--exclude").arg(e);
    }
    let mut child = cmd
        .arg("-c")
        .arg(".")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ImagesError::RootfsTar {
            dir: dir.to_path_buf(),
            detail: format!("cannot run tar: {e}"),
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(16 * 1024).read_to_end(&mut buf).await;
        // Drain the rest so tar never blocks on a full pipe.
        let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let stream = tokio_util::io::ReaderStream::with_capacity(stdout, 1 << 20).map(|r| r);
    let imported = engine
        .import_rootfs(&image.repo, &image.tag, changes, stream)
        .await;
    let status = child.wait().await.map_err(|e| ImagesError::RootfsTar {
        dir: dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    let stderr = errors.await.unwrap_or_default();
    // GNU tar: 1 = some file changed while read (harmless here), 2 = fatal.
    if status.code().is_none_or(|c| c >= 2) {
        let _ = engine.remove_image(&image.to_string()).await;
        return Err(ImagesError::RootfsTar {
            dir: dir.to_path_buf(),
            detail: format!("tar {status}: {}", stderr.trim()),
        });
    }
    imported?;
    Ok(())
}

/// A build context from a source directory (its `target/` and `.git/` left out, symlinks
/// stored as links, never followed).
pub fn dir_tar(src: &Path) -> Result<Vec<u8>, ImagesError> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let entries = std::fs::read_dir(src).map_err(io_err(src))?;
    for entry in entries {
        let entry = entry.map_err(io_err(src))?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type().map_err(io_err(&path))?;
        if ft.is_dir() {
            b.append_dir_all(&name, &path).map_err(io_err(&path))?;
        } else {
            b.append_path_with_name(&path, &name)
                .map_err(io_err(&path))?;
        }
    }
    b.into_inner().map_err(io_err(src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_dirs_only_in_trees_with_the_postgres_user() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\n",
        )
        .unwrap();
        prepare_postgres_dirs(t.path()).unwrap();
        assert!(!t.path().join("var/lib/postgresql/data").exists());

        let uid = std::fs::metadata(t.path())
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            format!("root:x:0:0:root:/root:/bin/bash\npostgres:x:{uid}:{uid}::/var/lib/postgresql:/bin/bash\n"),
        )
        .unwrap();
        prepare_postgres_dirs(t.path()).unwrap();
        assert!(t.path().join("var/lib/postgresql/data").is_dir());
        assert!(t.path().join("docker-entrypoint-initdb.d").is_dir());
    }

    #[test]
    fn dir_tar_skips_target_and_keeps_files() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("src")).unwrap();
        std::fs::create_dir_all(t.path().join("target/debug")).unwrap();
        std::fs::write(t.path().join("Dockerfile"), "FROM x\n").unwrap();
        std::fs::write(t.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(t.path().join("target/debug/big"), "x").unwrap();
        let bytes = dir_tar(t.path()).unwrap();
        let mut names: Vec<String> = tar::Archive::new(&bytes[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert!(names.contains(&"Dockerfile".to_string()), "{names:?}");
        assert!(names.contains(&"src/main.rs".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("target")), "{names:?}");
    }

    #[test]
    fn a_tree_with_nothing_mounted_is_removed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("tree");
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        remove_tree(&d).unwrap();
        assert!(!d.exists());
    }
}
