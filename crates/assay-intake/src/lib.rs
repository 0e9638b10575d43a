//! Intake: safe unpacking of a submission and discovery of its files.
//!
//! [`open`] takes a `.zip`, a directory or a git checkout and produces a [`Workspace`]: a
//! private copy in a fresh temp dir (removed when the workspace drops, and on every error path),
//! opened as the [`SubmissionRoot`] every later stage reads it through, plus the [`Discovery`]
//! of the files later stages need.
//!
//! Nothing the archive declares is trusted:
//! - the zip's skeleton is read by us first ([`layout`](self)): one end record, at the very end,
//!   pointing exactly at the central directory; no prepended, appended or hidden bytes;
//! - every entry is checked before anything is written: names (no traversal, absolute or drive
//!   paths, control characters, over-long names), types (no links, devices, FIFOs, sockets),
//!   encryption, local header = central directory, no overlapping entries, no two names that
//!   are the same file on a case-insensitive or normalising file system;
//! - bytes are streamed through a counting copy that enforces the per-file, total and
//!   compression-ratio caps on what is *actually written*; files are created `create_new`,
//!   `O_NOFOLLOW`, with modes forced to 0644 / 0755.

mod copy;
mod discover;
mod error;
mod layout;
mod name;
mod sink;
mod unpack;

pub use discover::{discover, DiscoverOptions, Discovery, COMPOSE_FILE_NAMES, OVERRIDE_FILE_NAMES};
pub use error::IntakeError;

use assay_core::{Diagnostic, IntakeLimits, SubmissionRoot};
use sink::{Budget, Tree};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// What the submission was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Zip,
    Directory,
    /// A directory with a `.git` (its `.git/` is not copied).
    GitCheckout,
}

/// An unpacked submission in a private temp dir, removed on drop.
#[derive(Debug)]
pub struct Workspace {
    /// The unpacked submission (a folder inside the private temp dir), opened as the
    /// [`SubmissionRoot`] later stages read it through (inside it only, never through a link).
    pub root: SubmissionRoot,
    pub kind: SourceKind,
    pub discovery: Discovery,
    /// Remarks for the reviewer: skipped links and folders, an unwrapped top folder.
    pub notes: Vec<Diagnostic>,
    /// Total bytes written into `root`.
    pub bytes_written: u64,
    _dir: tempfile::TempDir,
}

/// Takes in `submission` with the rubric's `limits` into a fresh temp dir under the system's
/// temp folder.
pub fn open(
    submission: &Path,
    limits: &IntakeLimits,
    opts: &DiscoverOptions,
) -> Result<Workspace, IntakeError> {
    open_in(submission, limits, opts, &std::env::temp_dir())
}

/// What `submission` is, or why it is not something assay grades (a usage error naming the
/// path). Cheap — one `stat` and, for a file not named `.zip`, its first bytes — so a command
/// line can check every path before any image or Docker work.
pub fn source_kind(submission: &Path) -> Result<SourceKind, IntakeError> {
    let usage = |reason: String| IntakeError::Usage {
        path: submission.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(submission).map_err(|e| {
        usage(if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or directory".into()
        } else {
            e.to_string()
        })
    })?;
    if meta.is_dir() {
        if submission.join(".git").symlink_metadata().is_ok() {
            Ok(SourceKind::GitCheckout)
        } else {
            Ok(SourceKind::Directory)
        }
    } else if meta.is_file() {
        if !is_zip_path(submission) && !starts_like_zip(submission) {
            return Err(usage("not a .zip file or a directory".into()));
        }
        Ok(SourceKind::Zip)
    } else {
        Err(usage("not a regular file or a directory".into()))
    }
}

/// [`open`], with the private temp dir created inside `temp_parent`.
pub fn open_in(
    submission: &Path,
    limits: &IntakeLimits,
    opts: &DiscoverOptions,
    temp_parent: &Path,
) -> Result<Workspace, IntakeError> {
    let kind = source_kind(submission)?;

    // 0700: the work dir is the grader's alone (files keep their mode bits, so a shared dir could
    // carry a setuid or world-writable file); no container ever writes into it, and no other
    // user of the host can read a candidate's files.
    let dir = tempfile::Builder::new()
        .prefix(WORK_DIR_PREFIX)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(temp_parent)
        .map_err(|e| {
            IntakeError::internal(
                format!("creating a temp dir in {}", temp_parent.display()),
                e,
            )
        })?;
    // Absolute even when `temp_parent` is relative.
    let root = std::fs::canonicalize(dir.path())
        .map_err(|e| IntakeError::internal("resolving the temp dir", e))?
        .join("submission");
    let tree = Tree::create(root.clone())?;
    let mut budget = Budget::new(limits);
    let mut notes = Vec::new();
    match kind {
        SourceKind::Zip => {
            let usage = |e: std::io::Error| IntakeError::Usage {
                path: submission.to_path_buf(),
                reason: e.to_string(),
            };
            let file = File::open(submission).map_err(usage)?;
            let len = file.metadata().map_err(usage)?.len();
            let shown = assay_core::display::name(
                &submission.file_name().unwrap_or_default().to_string_lossy(),
            );
            unpack::unpack_zip(&file, len, &shown, &tree, &mut budget, &mut notes)?;
        }
        SourceKind::Directory | SourceKind::GitCheckout => {
            copy::copy_dir(submission, dir.path(), &tree, &mut budget, &mut notes)?;
        }
    }
    let discovery = discover(&root, opts)?;
    let root = SubmissionRoot::open(&root).map_err(|e| {
        IntakeError::internal(
            format!("opening {}", root.display()),
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(Workspace {
        root,
        kind,
        discovery,
        notes,
        bytes_written: budget.total_bytes(),
        _dir: dir,
    })
}

fn is_zip_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Zip magic: a local header or an empty archive's end record.
fn starts_like_zip(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && (head == *b"PK\x03\x04" || head == *b"PK\x05\x06")
}

/// Name prefix of the private work dirs intake creates in the temp dir.
pub use assay_core::WORK_DIR_PREFIX;

/// Removes work dirs under `temp_parent` that a killed assay left behind (SIGKILL runs no
/// destructor): only our own prefix, only directories not modified for `max_age`, never
/// following links. Returns how many were removed.
pub fn sweep_stale_work_dirs(temp_parent: &Path, max_age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_parent) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(WORK_DIR_PREFIX) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= max_age);
        if meta.is_dir() && old && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
