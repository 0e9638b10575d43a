//! Paths written in a compose file, asked of the submission root. The rule (lexical cleaning,
//! links, inside or outside, link-free capped reads) lives in [`assay_core::SubmissionRoot`];
//! this module only adds compose's `~` (the grader's home directory), which is not a path of
//! the submission at all.

use assay_core::SubmissionRoot;
use std::path::{Path, PathBuf};

/// Where a path written in the project points.
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

impl From<assay_core::Resolved> for Resolved {
    fn from(r: assay_core::Resolved) -> Self {
        match r {
            assay_core::Resolved::Inside(p) => Resolved::Inside(p),
            assay_core::Resolved::Outside(p) => Resolved::Outside(p),
        }
    }
}

/// Resolves `written` (absolute, or relative to `base`, itself absolute or relative to the
/// root) and says whether it stays inside the root after symlink resolution.
pub(crate) fn resolve(root: &SubmissionRoot, base: &Path, written: &str) -> Resolved {
    if written.starts_with('~') {
        return Resolved::Home;
    }
    let base = if base.is_absolute() {
        base.to_path_buf()
    } else {
        root.path().join(base)
    };
    root.resolve(&base.join(written)).into()
}

/// Like [`resolve`] for a path that is already absolute or relative to the root.
pub(crate) fn resolve_path(root: &SubmissionRoot, path: &Path) -> Resolved {
    match path.to_str() {
        Some(s) => resolve(root, Path::new(""), s),
        None => Resolved::Outside(path.to_path_buf()),
    }
}

/// Reads a file of the submission (absolute, or relative to the root) as text, at most `cap`
/// bytes, never through a link; `Err` says why not, naming the path.
pub(crate) fn read_text(root: &SubmissionRoot, path: &Path, cap: u64) -> Result<String, String> {
    root.read(path, cap)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_not_a_path_of_the_submission() {
        let dir = tempfile::tempdir().unwrap();
        let root = SubmissionRoot::open(dir.path()).unwrap();
        assert_eq!(resolve(&root, Path::new(""), "~/.ssh"), Resolved::Home);
        assert_eq!(resolve(&root, Path::new(""), "~"), Resolved::Home);
        assert_eq!(
            resolve(&root, Path::new("sub"), "../data"),
            Resolved::Inside(PathBuf::from("data"))
        );
        assert!(matches!(
            resolve(&root, Path::new(""), "../.."),
            Resolved::Outside(_)
        ));
    }

    #[test]
    fn read_text_names_the_path_in_its_refusals() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "hello").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).unwrap();
        let root = SubmissionRoot::open(dir.path()).unwrap();
        assert_eq!(read_text(&root, Path::new("f"), 10).unwrap(), "hello");
        assert!(read_text(&root, Path::new("f"), 3)
            .unwrap_err()
            .contains("`f` is larger"));
        assert!(read_text(&root, Path::new("nope"), 3)
            .unwrap_err()
            .contains("`nope` does not exist"));
        assert!(read_text(&root, Path::new("etc-link/passwd"), 1024)
            .unwrap_err()
            .contains("`etc-link` is a symbolic link"));
    }
}
