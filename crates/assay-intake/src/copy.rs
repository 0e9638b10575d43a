//! Taking in a directory (or git checkout): a copy into the private tree with the same caps as
//! a zip. Links are never followed (skipped with a warning), nor are FIFOs, sockets or devices
//! ever opened; `.git/`, `target/` and `node_modules/` are left out.

use crate::error::IntakeError;
use crate::name::{check_chars, collision_key, MAX_COMPONENT_BYTES, SKIPPED_DIRS};
use crate::sink::{human_bytes, Budget, Tree};
use assay_core::display;
use assay_core::Diagnostic;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// At most this many individual "skipped" warnings; the rest are counted in one line.
const MAX_SKIP_NOTES: usize = 20;

/// Copies the directory `src` into `tree`. `private_dir` (our temp dir) is never copied, even
/// when it lies inside `src`.
pub(crate) fn copy_dir(
    src: &Path,
    private_dir: &Path,
    tree: &Tree,
    budget: &mut Budget,
    notes: &mut Vec<Diagnostic>,
) -> Result<(), IntakeError> {
    let canonical = |p: &Path| {
        fs::canonicalize(p)
            .map_err(|e| IntakeError::internal(format!("resolving {}", p.display()), e))
    };
    let mut copier = Copier {
        tree,
        budget,
        notes,
        skipped: 0,
        private_dir: canonical(private_dir)?,
    };
    copier.walk(&canonical(src)?, &mut Vec::new())?;
    if copier.skipped > MAX_SKIP_NOTES {
        let more = copier.skipped - MAX_SKIP_NOTES;
        copier.notes.push(Diagnostic::warning(format!(
            "and {more} more links or special files skipped"
        )));
    }
    Ok(())
}

struct Copier<'a> {
    tree: &'a Tree,
    budget: &'a mut Budget,
    notes: &'a mut Vec<Diagnostic>,
    skipped: usize,
    private_dir: PathBuf,
}

impl Copier<'_> {
    fn walk(&mut self, dir: &Path, rel: &mut Vec<String>) -> Result<(), IntakeError> {
        let shown_dir = if rel.is_empty() {
            ".".to_string()
        } else {
            display::name(&rel.join("/"))
        };
        let unreadable = |e: std::io::Error| {
            IntakeError::rejected(shown_dir.clone(), format!("cannot read the folder: {e}"))
        };
        let mut names = Vec::new();
        for item in fs::read_dir(dir).map_err(unreadable)? {
            let item = item.map_err(unreadable)?;
            names.push(item.file_name());
            if names.len() as u64 > self.budget.limits().max_entries {
                return Err(IntakeError::rejected(
                    shown_dir,
                    format!(
                        "too many entries: the limit is {}",
                        self.budget.limits().max_entries
                    ),
                ));
            }
        }
        names.sort();
        self.reject_collisions(&names, rel)?;
        for os_name in names {
            let Some(name) = os_name.to_str() else {
                let lossy = os_name.to_string_lossy();
                return Err(IntakeError::rejected(
                    display::name(&lossy),
                    "the name is not valid UTF-8",
                ));
            };
            rel.push(name.to_string());
            let result = self.take(&dir.join(name), rel);
            rel.pop();
            result?;
        }
        Ok(())
    }

    /// Two names of one folder that would be the same file on a case-insensitive or
    /// normalising file system (`README.md` and `README.MD`) are ambiguous, as they are in a
    /// zip: the same tree is rejected however it is handed in. Names the copy leaves out anyway
    /// do not count.
    fn reject_collisions(
        &self,
        names: &[std::ffi::OsString],
        rel: &[String],
    ) -> Result<(), IntakeError> {
        let mut seen: std::collections::HashMap<String, &str> =
            std::collections::HashMap::with_capacity(names.len());
        for name in names.iter().filter_map(|n| n.to_str()) {
            let left_out = SKIPPED_DIRS.contains(&name)
                || name == ".DS_Store"
                || (rel.is_empty() && name == "__MACOSX");
            if left_out {
                continue;
            }
            if let Some(prev) = seen.insert(collision_key(name), name) {
                let path = |n: &str| {
                    let mut p = rel.to_vec();
                    p.push(n.to_string());
                    display::name(&p.join("/"))
                };
                return Err(IntakeError::rejected(
                    path(name),
                    format!(
                        "collides with `{}` when case and Unicode normalisation are ignored: ambiguous",
                        path(prev)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// One directory item at `src`, `rel` being its path in the submission.
    fn take(&mut self, src: &Path, rel: &mut Vec<String>) -> Result<(), IntakeError> {
        let joined = rel.join("/");
        let shown = display::name(&joined);
        let name = rel.last().map(String::as_str).unwrap_or_default();
        let reject = |reason: String| IntakeError::rejected(shown.clone(), reason);
        check_chars(&joined).map_err(reject)?;
        let limits = self.budget.limits().clone();
        if name.len() > MAX_COMPONENT_BYTES {
            return Err(reject(format!(
                "a path component is {} bytes long; the limit is {MAX_COMPONENT_BYTES}",
                name.len()
            )));
        }
        if joined.len() > limits.max_name_bytes {
            return Err(reject(format!(
                "path is {} bytes long; the limit is {}",
                joined.len(),
                limits.max_name_bytes
            )));
        }
        if rel.len() > limits.max_depth {
            return Err(reject(format!(
                "path is {} levels deep; the limit is {}",
                rel.len(),
                limits.max_depth
            )));
        }
        let meta = fs::symlink_metadata(src).map_err(|e| reject(format!("cannot read: {e}")))?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let message = format!("skipped the symbolic link `{shown}` (links are never followed)");
            return self.skip(&shown, message);
        }
        if ft.is_dir() {
            if src == self.private_dir {
                return Ok(());
            }
            if SKIPPED_DIRS.contains(&name) {
                self.notes.push(Diagnostic::info(format!(
                    "skipped `{shown}/` (version control or build output)"
                )));
                return Ok(());
            }
            if rel.len() == 1 && name == "__MACOSX" {
                return Ok(());
            }
            self.budget.add_entry(&shown)?;
            self.tree.make_dir(rel)?;
            return self.walk(src, rel);
        }
        if !ft.is_file() {
            let message = format!("skipped `{shown}`: not a regular file (FIFO, socket or device)");
            return self.skip(&shown, message);
        }
        if name == ".DS_Store" {
            return Ok(());
        }
        self.budget.add_entry(&shown)?;
        if meta.len() > limits.max_file_bytes {
            return Err(reject(format!(
                "{} is larger than the per-file limit of {}",
                human_bytes(meta.len()),
                human_bytes(limits.max_file_bytes)
            )));
        }
        // O_NOFOLLOW: a link swapped in since the check is refused; O_NONBLOCK: a FIFO swapped
        // in cannot hang us.
        let mut input = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(src)
            .map_err(|e| reject(format!("cannot read: {e}")))?;
        let mut out = self.tree.create_file(rel)?;
        self.budget.copy(&shown, &mut input, &mut out, None)?;
        Ok(())
    }

    /// Notes a skipped link or special file; it still counts against the entry cap, so a
    /// folder of a million links cannot keep us busy.
    fn skip(&mut self, shown: &str, message: String) -> Result<(), IntakeError> {
        self.budget.add_entry(shown)?;
        self.skipped += 1;
        if self.skipped <= MAX_SKIP_NOTES {
            self.notes.push(Diagnostic::warning(message));
        }
        Ok(())
    }
}
