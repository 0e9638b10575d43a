//! [`SubmissionRoot`]: the one home of the rule "is this path inside the submission", and the
//! only way a room reads a submission's files after intake.
//!
//! Intake unpacks (or copies) a submission into a private work dir and opens a
//! [`SubmissionRoot`] on it; the root travels down the pipeline (compose loader, static checks,
//! runner). Three questions are answered here and nowhere else:
//!
//! 1. **Lexically, where does a written path land?** [`normalize`] cleans a path the way
//!    compose-go's `filepath.Clean` does (see its docs for the exact `..` rule), and
//!    [`lexically_inside`] says whether the clean path stays under the root. A path whose clean
//!    form climbs above the root (`../x`, `a/../../x`, `/etc/x`) is *outside*: it is never
//!    clamped to the root (`../../etc` is refused, not read as `etc`), because the Docker daemon
//!    would not clamp it either.
//! 2. **Where does it really point?** [`SubmissionRoot::resolve`] also follows the symbolic links
//!    on the way, as the kernel and the Docker daemon would, and says [`Resolved::Inside`] or
//!    [`Resolved::Outside`] (with the real target). This classifies what a compose file *asks
//!    for* (the security policy reports "resolves to /etc"); it never opens anything.
//! 3. **Read it, safely.** [`SubmissionRoot::read`], [`SubmissionRoot::bind_source`] and
//!    [`SubmissionRoot::walk`] open every component of the path relative to the root's open
//!    directory with `O_NOFOLLOW` (`openat` one level at a time), so *a symbolic link anywhere on
//!    the path is refused* ([`RootErrorKind::Link`] names it), whether it points inside, outside
//!    or nowhere. The rule is enforced by the open itself, so there is no window between a check
//!    and a use: a path swapped for a link after [`SubmissionRoot::resolve`] said "inside" is
//!    still refused by the read. Reads are capped: a file larger than the cap is refused
//!    ([`RootErrorKind::TooLarge`]), never silently truncated, even when it grows while read.
//!
//! Why `rustix` and per-component `openat` rather than `cap-std` or `openat2`: `cap-std`'s
//! `Dir` follows links that stay inside its sandbox (and `FollowSymlinks::No` only covers the
//! last component), while assay refuses every link; `openat2(RESOLVE_NO_SYMLINKS)` does it in
//! one call but is Linux ≥ 5.6 only and cannot say *which* component was the link. `rustix` is
//! already in the dependency tree (through `tempfile`) and is a thin, safe, well-kept wrapper
//! over the same system calls.

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Most symbolic links [`SubmissionRoot::resolve`] follows for one path (the kernel's limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// Cleans a path lexically, without touching the file system (compose-go's `filepath.Clean`,
/// except that the empty result stays empty, meaning "the base itself"):
///
/// - `.` components, repeated and trailing slashes are dropped (`a/./b/` → `a/b`, `.` → ``);
/// - `..` removes the normal component before it (`a/b/..` → `a`);
/// - `..` at the start of a relative path, where there is nothing to remove, is kept: the path
///   climbs above its base (`a/../..` → `..`, `./x/../../y` → `../y`, `../..` → `../..`);
/// - `..` right after the root of an absolute path is dropped, as the kernel does
///   (`/..` → `/`, `/a/../../b` → `/b`).
///
/// Whether the result is inside the submission is [`lexically_inside`]'s question.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where `path` lands relative to `root`, lexically ([`normalize`], no link followed): the
/// clean path relative to `root` (empty for the root itself), or `None` when it leaves it.
/// `path` is absolute, or relative to `root`; `root` should be absolute and clean.
///
/// This is the rule for callers that must not touch the file system (the runner's pure plan);
/// [`SubmissionRoot::resolve`] adds the links.
pub fn lexically_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let clean = normalize(path);
    if clean.is_absolute() {
        clean.strip_prefix(root).ok().map(Path::to_path_buf)
    } else if matches!(clean.components().next(), Some(Component::ParentDir)) {
        None
    } else {
        Some(clean)
    }
}

/// Where a path points, after following links as the kernel would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the root: the path relative to the (canonical) root; empty for the root itself.
    Inside(PathBuf),
    /// Outside the root: the absolute path it lands on.
    Outside(PathBuf),
}

impl Resolved {
    pub fn is_inside(&self) -> bool {
        matches!(self, Resolved::Inside(_))
    }
}

/// What a bind source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// A bind source checked by [`SubmissionRoot::bind_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSource {
    /// Relative to the root (empty for the root itself).
    pub rel: PathBuf,
    /// The real absolute path (the canonical root joined with `rel`; no link on the way).
    pub real: PathBuf,
    pub kind: EntryKind,
}

/// One entry of a tree listed by [`SubmissionRoot::walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative to the root.
    pub rel: PathBuf,
    pub kind: EntryKind,
    /// Bytes, for files (0 for directories).
    pub size: u64,
    /// Permission bits (`0o7777` part of the mode).
    pub mode: u32,
}

/// Bounds on a [`SubmissionRoot::walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    /// Most entries (files and directories) listed.
    pub max_entries: usize,
    /// Deepest level below the walked directory (its own entries are level 1).
    pub max_depth: usize,
}

impl Default for WalkLimits {
    /// The intake limits' defaults: 10 000 entries, 32 levels.
    fn default() -> Self {
        WalkLimits {
            max_entries: 10_000,
            max_depth: 32,
        }
    }
}

/// Why a path of the submission cannot be used: the path as asked (relative to the root when
/// it is under it) and the kind of problem.
#[derive(Debug)]
pub struct RootError {
    pub path: PathBuf,
    pub kind: RootErrorKind,
}

/// The kinds of [`RootError`].
#[derive(Debug)]
pub enum RootErrorKind {
    /// The path leaves the submission (lexically, or through a link when resolved).
    Outside,
    /// A component of the path, or an entry of a walked tree, is a symbolic link (`at`,
    /// relative to the root). Links are never followed, wherever they point.
    Link { at: PathBuf },
    /// The path (or the component `at`) does not exist.
    NotFound { at: PathBuf },
    /// Not a regular file (a directory, a device, a FIFO...).
    NotAFile,
    /// A component `at` that must be a directory is not one.
    NotADirectory { at: PathBuf },
    /// A walked tree holds something other than files and directories.
    Special { at: PathBuf },
    /// The file has more than `cap` bytes (`size` is what was seen: the size, or at least
    /// `cap + 1` when it grew while read).
    TooLarge { size: u64, cap: u64 },
    /// A walk went past [`WalkLimits::max_entries`].
    TooManyEntries { max: usize },
    /// A walk went past [`WalkLimits::max_depth`] at `at`.
    TooDeep { at: PathBuf, max: usize },
    /// The file is not valid UTF-8 ([`SubmissionRoot::read_to_string`]).
    NotUtf8,
    /// Any other failure of the operating system.
    Io(std::io::Error),
}

impl RootError {
    fn new(path: &Path, kind: RootErrorKind) -> Self {
        RootError {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// Whether the path leaves the submission (lexically, or as resolved).
    pub fn is_outside(&self) -> bool {
        matches!(self.kind, RootErrorKind::Outside)
    }
}

fn shown(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = shown(&self.path);
        let here = |at: &Path| {
            if at == self.path {
                String::new()
            } else {
                format!(": `{}`", shown(at))
            }
        };
        match &self.kind {
            RootErrorKind::Outside => write!(f, "`{path}` is outside the submission"),
            RootErrorKind::Link { at } if at == &self.path => write!(
                f,
                "`{path}` is a symbolic link (assay never follows links in a submission)"
            ),
            RootErrorKind::Link { at } => write!(
                f,
                "`{path}` is refused: `{}` is a symbolic link (assay never follows links in a submission)",
                shown(at)
            ),
            RootErrorKind::NotFound { at } if at == &self.path => {
                write!(f, "`{path}` does not exist")
            }
            RootErrorKind::NotFound { at } => {
                write!(f, "`{path}` does not exist{} is missing", here(at))
            }
            RootErrorKind::NotAFile => write!(f, "`{path}` is not a regular file"),
            RootErrorKind::NotADirectory { at } => {
                write!(f, "`{path}`: `{}` is not a directory", shown(at))
            }
            RootErrorKind::Special { at } => write!(
                f,
                "`{path}`: `{}` is not a regular file or a directory",
                shown(at)
            ),
            RootErrorKind::TooLarge { cap, .. } => {
                write!(f, "`{path}` is larger than {cap} bytes")
            }
            RootErrorKind::TooManyEntries { max } => {
                write!(f, "`{path}` holds more than {max} entries")
            }
            RootErrorKind::TooDeep { at, max } => write!(
                f,
                "`{path}`: `{}` is nested more than {max} levels deep",
                shown(at)
            ),
            RootErrorKind::NotUtf8 => write!(f, "`{path}` is not valid UTF-8 text"),
            RootErrorKind::Io(e) => write!(f, "`{path}` cannot be read: {e}"),
        }
    }
}

impl std::error::Error for RootError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            RootErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A submission's private root directory, opened once: see the [module docs](self) for the
/// rule it holds. Cheap to clone (the directory handle is shared).
#[derive(Clone)]
pub struct SubmissionRoot {
    /// Canonical absolute path.
    path: PathBuf,
    /// The path as given (absolute, clean), when it differs from the canonical one (a root
    /// given through a link, e.g. `/tmp` → `/private/tmp`): paths built from it are anchored too.
    given: PathBuf,
    dir: Arc<OwnedFd>,
}

impl fmt::Debug for SubmissionRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SubmissionRoot").field(&self.path).finish()
    }
}

impl PartialEq for SubmissionRoot {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for SubmissionRoot {}

impl SubmissionRoot {
    /// Opens the directory `path` as a submission root (intake does, once the submission is in
    /// its private work dir; tools that read a folder in place, like `assay compose config`,
    /// do too).
    pub fn open(path: &Path) -> Result<Self, RootError> {
        let io = |e: std::io::Error| {
            let kind = match e.kind() {
                std::io::ErrorKind::NotFound => RootErrorKind::NotFound {
                    at: path.to_path_buf(),
                },
                _ => RootErrorKind::Io(e),
            };
            RootError::new(path, kind)
        };
        let canonical = path.canonicalize().map_err(io)?;
        let dir = rustix::fs::open(
            &canonical,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NOTDIR => RootError::new(
                path,
                RootErrorKind::NotADirectory {
                    at: path.to_path_buf(),
                },
            ),
            e => io(e.into()),
        })?;
        let given = std::path::absolute(path)
            .map(|p| normalize(&p))
            .unwrap_or_else(|_| canonical.clone());
        Ok(SubmissionRoot {
            path: canonical,
            given,
            dir: Arc::new(dir),
        })
    }

    /// The canonical absolute path of the root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` (absolute, or relative to the root) relative to the root, lexically: `None` when
    /// it leaves the root. See [`lexically_inside`].
    pub fn lexical(&self, path: &Path) -> Option<PathBuf> {
        lexically_inside(&self.path, path).or_else(|| {
            (path.is_absolute() && self.given != self.path)
                .then(|| lexically_inside(&self.given, path))
                .flatten()
        })
    }

    /// Where `path` (absolute, or relative to the root) really points: lexically cleaned, then
    /// every existing link on the way followed as the kernel would (at most 40; a loop or a
    /// missing component ends the walk, the rest is appended as written). For classifying what
    /// a compose file asks for; to *use* a path, call [`read`](Self::read),
    /// [`bind_source`](Self::bind_source) or [`walk`](Self::walk), which refuse links.
    pub fn resolve(&self, path: &Path) -> Resolved {
        let abs = match self.lexical(path) {
            Some(rel) => self.path.join(rel),
            None if path.is_absolute() => normalize(path),
            None => normalize(&self.path.join(path)),
        };
        let real = realpath(&abs);
        match real.strip_prefix(&self.path) {
            Ok(rel) => Resolved::Inside(rel.to_path_buf()),
            Err(_) => Resolved::Outside(real),
        }
    }

    /// Whether `path` stays inside the root once its links are followed ([`resolve`](Self::resolve)).
    pub fn is_inside(&self, path: &Path) -> bool {
        self.resolve(path).is_inside()
    }

    /// How to show `path` in a report: relative to the root when it is inside (`.` for the
    /// root itself); an outside path relative to the root when they share more than `/`
    /// (`../outside/x`), absolute otherwise (`/etc/passwd`), so reports do not depend on where
    /// the grader unpacked.
    pub fn display(&self, path: &Path) -> String {
        if let Some(rel) = self.lexical(path) {
            return shown(&rel);
        }
        let abs = if path.is_absolute() {
            normalize(path)
        } else {
            normalize(&self.path.join(path))
        };
        let common = self
            .path
            .components()
            .zip(abs.components())
            .take_while(|(a, b)| a == b)
            .count();
        if common <= 1 {
            return abs.display().to_string();
        }
        let mut rel = PathBuf::new();
        for _ in common..self.path.components().count() {
            rel.push("..");
        }
        for c in abs.components().skip(common) {
            rel.push(c.as_os_str());
        }
        rel.display().to_string()
    }

    /// Reads the regular file `path` (absolute, or relative to the root), at most `cap` bytes,
    /// never following a link: refused when it is outside, when any component is a link, when
    /// it is not a regular file, and when it has more than `cap` bytes (also when it grows past
    /// `cap` while read).
    pub fn read(&self, path: &Path, cap: u64) -> Result<Vec<u8>, RootError> {
        let rel = self.inside(path)?;
        let fd = self.open_nofollow(&rel, Want::File)?;
        let err = |kind| RootError::new(&rel, kind);
        let st = rustix::fs::fstat(&fd).map_err(|e| err(RootErrorKind::Io(e.into())))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(err(RootErrorKind::NotAFile));
        }
        let size = st.st_size as u64;
        if size > cap {
            return Err(err(RootErrorKind::TooLarge { size, cap }));
        }
        let mut buf = Vec::with_capacity(size as usize);
        std::fs::File::from(fd)
            .take(cap.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| err(RootErrorKind::Io(e)))?;
        if buf.len() as u64 > cap {
            return Err(err(RootErrorKind::TooLarge {
                size: buf.len() as u64,
                cap,
            }));
        }
        Ok(buf)
    }

    /// [`read`](Self::read), as UTF-8 text (refused when it is not).
    pub fn read_to_string(&self, path: &Path, cap: u64) -> Result<String, RootError> {
        let bytes = self.read(path, cap)?;
        String::from_utf8(bytes).map_err(|_| {
            RootError::new(
                &self.lexical(path).unwrap_or_default(),
                RootErrorKind::NotUtf8,
            )
        })
    }

    /// Checks a bind source (a directory or a file; absolute, or relative to the root) the way
    /// [`read`](Self::read) does: inside, no link on the way, a regular file or a directory.
    /// A missing source is [`RootErrorKind::NotFound`]. The returned path is for naming and
    /// for [`walk`](Self::walk)/[`read`](Self::read), which check again as they open.
    pub fn bind_source(&self, path: &Path) -> Result<BindSource, RootError> {
        let rel = self.inside(path)?;
        let fd = self.open_nofollow(&rel, Want::Any)?;
        let kind = entry_kind(&fd).map_err(|kind| RootError::new(&rel, kind))?;
        Ok(BindSource {
            real: self.path.join(&rel),
            rel,
            kind,
        })
    }

    /// Lists the tree under the directory `path` (absolute, or relative to the root), never
    /// following a link: every directory is opened relative to its parent with `O_NOFOLLOW`.
    /// Entries are relative to the root, in depth-first order sorted by name, a directory before
    /// its contents (`path` itself is not listed). A link or a special file anywhere in the tree
    /// is an error naming it, as is passing `limits`.
    pub fn walk(&self, path: &Path, limits: WalkLimits) -> Result<Vec<TreeEntry>, RootError> {
        let rel = self.inside(path)?;
        let fd = self.open_nofollow(&rel, Want::Dir)?;
        let mut out = Vec::new();
        walk_dir(fd, &rel, &rel, 1, limits, &mut out)?;
        Ok(out)
    }

    /// The path relative to the root, or the error saying it is outside.
    fn inside(&self, path: &Path) -> Result<PathBuf, RootError> {
        self.lexical(path)
            .ok_or_else(|| RootError::new(path, RootErrorKind::Outside))
    }

    /// Opens `rel` (clean, relative to the root) one component at a time with `O_NOFOLLOW`.
    fn open_nofollow(&self, rel: &Path, want: Want) -> Result<OwnedFd, RootError> {
        let names: Vec<&OsStr> = rel.components().map(Component::as_os_str).collect();
        let mut current: Option<OwnedFd> = None;
        let mut at = PathBuf::new();
        for (i, name) in names.iter().enumerate() {
            at.push(name);
            let last = i + 1 == names.len();
            let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
            if !last || want == Want::Dir {
                flags |= OFlags::DIRECTORY;
            } else {
                // A FIFO would block an O_RDONLY open; it is refused after fstat instead.
                flags |= OFlags::NONBLOCK;
            }
            let dir: BorrowedFd<'_> = match &current {
                Some(fd) => fd.as_fd(),
                None => self.dir.as_fd(),
            };
            match rustix::fs::openat(dir, *name, flags, Mode::empty()) {
                Ok(fd) => current = Some(fd),
                Err(e) => return Err(RootError::new(rel, open_error(dir, name, e, &at))),
            }
        }
        match current {
            Some(fd) => Ok(fd),
            // The root itself.
            None if want == Want::File => Err(RootError::new(rel, RootErrorKind::NotAFile)),
            None => rustix::fs::openat(
                self.dir.as_fd(),
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| RootError::new(rel, RootErrorKind::Io(e.into()))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    File,
    Dir,
    Any,
}

/// Why opening `name` in `dir` failed: a link (whatever errno the system chose), or the errno.
fn open_error(dir: BorrowedFd<'_>, name: &OsStr, e: Errno, at: &Path) -> RootErrorKind {
    let is_link = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
    let at = at.to_path_buf();
    match e {
        _ if is_link => RootErrorKind::Link { at },
        Errno::NOENT => RootErrorKind::NotFound { at },
        Errno::NOTDIR => RootErrorKind::NotADirectory { at },
        e => RootErrorKind::Io(e.into()),
    }
}

/// A regular file or a directory; anything else is refused.
fn entry_kind(fd: &OwnedFd) -> Result<EntryKind, RootErrorKind> {
    let st = rustix::fs::fstat(fd).map_err(|e| RootErrorKind::Io(e.into()))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(EntryKind::File),
        FileType::Directory => Ok(EntryKind::Dir),
        _ => Err(RootErrorKind::NotAFile),
    }
}

fn walk_dir(
    fd: OwnedFd,
    walked: &Path,
    rel: &Path,
    depth: usize,
    limits: WalkLimits,
    out: &mut Vec<TreeEntry>,
) -> Result<(), RootError> {
    let err = |kind| RootError::new(walked, kind);
    let io = |e: Errno| err(RootErrorKind::Io(e.into()));
    let mut names = Vec::new();
    for entry in Dir::read_from(&fd).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    names.sort();
    let parent = fd.as_fd();
    for name in names {
        let at = rel.join(&name);
        if depth > limits.max_depth {
            return Err(err(RootErrorKind::TooDeep {
                at,
                max: limits.max_depth,
            }));
        }
        if out.len() >= limits.max_entries {
            return Err(err(RootErrorKind::TooManyEntries {
                max: limits.max_entries,
            }));
        }
        let st = rustix::fs::statat(parent, &name, AtFlags::SYMLINK_NOFOLLOW).map_err(io)?;
        let mode = Mode::from_raw_mode(st.st_mode).bits() & 0o7777;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => out.push(TreeEntry {
                rel: at,
                kind: EntryKind::File,
                size: st.st_size as u64,
                mode,
            }),
            FileType::Directory => {
                let sub = rustix::fs::openat(
                    parent,
                    &name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err(open_error(parent, &name, e, &at)))?;
                out.push(TreeEntry {
                    rel: at.clone(),
                    kind: EntryKind::Dir,
                    size: 0,
                    mode,
                });
                walk_dir(sub, walked, &at, depth + 1, limits, out)?;
            }
            FileType::Symlink => return Err(err(RootErrorKind::Link { at })),
            _ => return Err(err(RootErrorKind::Special { at })),
        }
    }
    Ok(())
}

/// Resolves the absolute `path` as the kernel would: every existing link along it is followed
/// (at most [`MAX_SYMLINK_HOPS`]), missing components are appended as written.
fn realpath(path: &Path) -> PathBuf {
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
                pending.extend(target.components().rev().filter_map(component_name));
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

#[cfg(test)]
mod tests;
