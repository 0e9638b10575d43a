//! Where a path written in a submission really points: lexical normalisation (as compose-go
//! cleans paths) followed by symlink resolution (as the kernel and the Docker daemon follow them),
//! and whether the result stays inside the submission root.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Most symlinks followed while resolving one path (the kernel's own limit is 40).
const MAX_SYMLINK_HOPS: usize = 40;

/// Where a path resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Inside the root; the path relative to the (canonical) root.
    Inside(PathBuf),
    /// Outside the root; the absolute path after symlink resolution.
    Outside(PathBuf),
    /// Starts with `~`: the grader's home directory.
    Home,
}

impl Resolved {
    pub(crate) fn is_inside(&self) -> bool {
        matches!(self, Resolved::Inside(_))
    }
}

/// Removes `.` and folds `..` without touching the file system (`/..` stays `/`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The canonical form of the submission root (the root itself when it cannot be canonicalised).
pub(crate) fn canonical_root(root: &Path) -> PathBuf {
    root.canonicalize().unwrap_or_else(|_| normalize(root))
}

/// Resolves `path` as the kernel would: every existing symlink along it is followed (bounded),
/// missing components are appended as written. `path` must be absolute.
pub(crate) fn realpath(path: &Path) -> PathBuf {
    let mut pending: Vec<std::ffi::OsString> = normalize(path)
        .components()
        .rev()
        .filter_map(component_name)
        .collect();
    let mut out = PathBuf::from("/");
    let mut hops = 0usize;
    let mut missing = false;
    while let Some(part) = pending.pop() {
        if part == ".." {
            out.pop();
            continue;
        }
        out.push(&part);
        if missing {
            continue;
        }
        match std::fs::symlink_metadata(&out) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                let target = match std::fs::read_link(&out) {
                    Ok(t) if hops <= MAX_SYMLINK_HOPS => t,
                    // A loop or an unreadable link: keep the path as it is; it resolves to nothing.
                    _ => {
                        missing = true;
                        continue;
                    }
                };
                out.pop();
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                for c in target.components().rev().filter_map(component_name) {
                    pending.push(c);
                }
            }
            Ok(_) => {}
            Err(_) => missing = true,
        }
    }
    out
}

fn component_name(c: Component<'_>) -> Option<std::ffi::OsString> {
    match c {
        Component::Normal(s) => Some(s.to_os_string()),
        Component::ParentDir => Some("..".into()),
        Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
    }
}

/// Resolves `written` (absolute, or relative to `base`, itself absolute or relative to `root`)
/// and says whether it stays inside `root` after symlink resolution.
pub(crate) fn resolve(root: &Path, base: &Path, written: &str) -> Resolved {
    if written == "~" || written.starts_with("~/") || written.starts_with('~') {
        return Resolved::Home;
    }
    let root_abs = canonical_root(root);
    let base_abs = if base.is_absolute() {
        base.to_path_buf()
    } else {
        root.join(base)
    };
    let p = Path::new(written);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_abs.join(p)
    };
    classify(root, &root_abs, &abs)
}

/// Like [`resolve`] for a path that is already absolute or relative to `root`.
pub(crate) fn resolve_path(root: &Path, path: &Path) -> Resolved {
    match path.to_str() {
        Some(s) => resolve(root, Path::new(""), s),
        None => Resolved::Outside(path.to_path_buf()),
    }
}

fn classify(root: &Path, root_canon: &Path, abs: &Path) -> Resolved {
    let lexical = normalize(abs);
    // The root may be given through a symlink (/tmp → /private/tmp): resolve the lexical path's
    // part under the given root against the canonical root.
    let anchored = match lexical.strip_prefix(normalize(root)) {
        Ok(rest) => root_canon.join(rest),
        Err(_) => lexical,
    };
    let real = realpath(&anchored);
    match real.strip_prefix(root_canon) {
        Ok(rel) => Resolved::Inside(rel.to_path_buf()),
        Err(_) => Resolved::Outside(real),
    }
}

/// Shows an outside path relative to the root when they share more than `/` (`../outside/x`),
/// absolute otherwise (`/etc/passwd`), so reports do not depend on where the grader unpacked.
pub(crate) fn shown_from_root(root: &Path, real: &Path) -> String {
    let root = canonical_root(root);
    let common = root
        .components()
        .zip(real.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common <= 1 {
        return real.display().to_string();
    }
    let ups = root.components().count() - common;
    let mut rel = PathBuf::new();
    for _ in 0..ups {
        rel.push("..");
    }
    for c in real.components().skip(common) {
        rel.push(c.as_os_str());
    }
    rel.display().to_string()
}

/// Reads a regular file inside `root` (path relative to it), at most `cap` bytes; `Err` says why
/// not (outside the root, missing, not a file, too big).
pub(crate) fn read_inside(root: &Path, rel: &Path, cap: u64) -> Result<String, String> {
    let shown = rel.display().to_string();
    let inside = match resolve_path(root, rel) {
        Resolved::Inside(p) => p,
        Resolved::Outside(_) | Resolved::Home => {
            return Err(format!("`{shown}` is outside the submission"))
        }
    };
    let full = canonical_root(root).join(inside);
    let meta = std::fs::metadata(&full).map_err(|_| format!("`{shown}` does not exist"))?;
    if !meta.is_file() {
        return Err(format!("`{shown}` is not a regular file"));
    }
    if meta.len() > cap {
        return Err(format!("`{shown}` is larger than {cap} bytes"));
    }
    let mut buf = Vec::new();
    std::fs::File::open(&full)
        .and_then(|f| f.take(cap).read_to_end(&mut buf))
        .map_err(|e| format!("`{shown}` cannot be read: {e}"))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Shows a path relative to the root when it is inside, as written otherwise.
pub(crate) fn display_rel(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn relative_paths_stay_inside_or_leave() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("data")).unwrap();
        assert_eq!(
            resolve(root, Path::new(""), "./data"),
            Resolved::Inside(PathBuf::from("data"))
        );
        assert_eq!(
            resolve(root, Path::new(""), "./missing/x"),
            Resolved::Inside(PathBuf::from("missing/x"))
        );
        assert!(matches!(
            resolve(root, Path::new(""), "../.."),
            Resolved::Outside(_)
        ));
        assert!(
            matches!(resolve(root, Path::new(""), "/etc"), Resolved::Outside(p) if p == Path::new("/etc"))
        );
        assert_eq!(resolve(root, Path::new(""), "~/.ssh"), Resolved::Home);
        assert_eq!(
            resolve(root, Path::new("sub"), "../data"),
            Resolved::Inside(PathBuf::from("data"))
        );
    }

    #[test]
    fn symlinks_leaving_the_root_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(
            matches!(resolve(root, Path::new(""), "etc-link/passwd"), Resolved::Outside(p) if p == Path::new("/etc/passwd"))
        );
        assert!(matches!(
            resolve(root, Path::new(""), "up/x"),
            Resolved::Outside(_)
        ));
        // A self-loop resolves to nothing, but stays a path inside the root (bounded, no hang).
        assert!(resolve(root, Path::new(""), "loop/x").is_inside());
        assert!(read_inside(root, Path::new("etc-link/passwd"), 1024)
            .unwrap_err()
            .contains("outside"));
        assert_eq!(
            shown_from_root(root, Path::new("/etc/passwd")),
            "/etc/passwd"
        );
        let sibling = canonical_root(root).parent().unwrap().join("outside/x");
        assert_eq!(shown_from_root(root, &sibling), "../outside/x");
    }

    #[test]
    fn read_inside_caps_size() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "hello").unwrap();
        assert_eq!(
            read_inside(dir.path(), Path::new("f"), 10).unwrap(),
            "hello"
        );
        assert!(read_inside(dir.path(), Path::new("f"), 3)
            .unwrap_err()
            .contains("larger"));
        assert!(read_inside(dir.path(), Path::new("nope"), 3)
            .unwrap_err()
            .contains("does not exist"));
    }
}
