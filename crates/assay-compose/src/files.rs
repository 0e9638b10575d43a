//! The files one load reads. Every read goes through the [`SubmissionRoot`] (inside it, capped,
//! never through a link), stays within the project's budgets (how many files, how many bytes
//! in all) and is recorded; a refused read is one located [`Diagnostic`] for the caller.

use crate::dotenv;
use crate::interpolate::Variables;
use crate::model::Located;
use crate::paths::relative_to;
use crate::yaml::Budget;
use assay_core::{normalize, Diagnostic, Location, RootErrorKind, SubmissionRoot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most distinct files one project may read (compose files, includes, extends, env files).
const MAX_FILES: usize = 64;
/// Most bytes read from all files of one project together (files may be read more than once).
const MAX_BYTES_READ: u64 = 64 * 1024 * 1024;

/// Opens `root` as a [`SubmissionRoot`], or says why it cannot be.
pub(crate) fn open_root(root: &Path) -> Result<SubmissionRoot, Diagnostic> {
    SubmissionRoot::open(root).map_err(|e| {
        Diagnostic::error(format!(
            "cannot open the submission root {}: {}",
            root.display(),
            match e.kind {
                RootErrorKind::NotFound { .. } => "no such file or directory".to_string(),
                RootErrorKind::Io(io) => io_reason(&io),
                _ => e.to_string(),
            }
        ))
    })
}

/// The files of one load: the root they are read through and what was read so far.
pub(crate) struct Files {
    /// The submission root: every file is read through it.
    pub root: SubmissionRoot,
    /// Files read, relative to the root, in the order first read.
    pub paths: Vec<PathBuf>,
    bytes_read: u64,
}

impl Files {
    pub(crate) fn new(root: SubmissionRoot) -> Self {
        Files {
            root,
            paths: Vec::new(),
            bytes_read: 0,
        }
    }

    /// A path for locations: relative to the root, `/`-separated.
    pub(crate) fn rel(&self, abs: &Path) -> String {
        let r = relative_to(&normalize(abs), self.root.path());
        let s = r.to_string_lossy().replace('\\', "/");
        if s.is_empty() {
            ".".into()
        } else {
            s
        }
    }

    /// Reads a file of the submission through the [`SubmissionRoot`]: refuses files outside
    /// the root (also through a link), any link on the way, oversized files, too many files,
    /// and non-UTF-8 text. `at` locates the refusal (the file itself when `None`).
    pub(crate) fn read(&mut self, abs: &Path, at: Option<&Location>) -> Result<String, Diagnostic> {
        let rel = self.rel(abs);
        let here = at.cloned().unwrap_or_else(|| Location::file(rel.clone()));
        let outside = || {
            Diagnostic::error(format!(
                "refusing to read {rel}: it resolves outside the submission directory"
            ))
            .at(here.clone())
            .with_hint("every file a compose project uses must live inside the submission")
            .with_code(assay_core::codes::OUTSIDE_SUBMISSION)
        };
        // Where the path points (links followed) only words the refusal; the read below
        // enforces the rule itself.
        if !self.root.is_inside(abs) {
            return Err(outside());
        }
        let max_bytes = Budget::default().max_bytes as u64;
        let bytes = match self.root.read(abs, max_bytes) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Err(match e.kind {
                    RootErrorKind::Outside => outside(),
                    RootErrorKind::Link { at } => Diagnostic::error(format!(
                        "refusing to read {rel}: {} is a symbolic link, and assay never follows links in a submission",
                        self.rel(&self.root.path().join(at))
                    ))
                    .at(here)
                    .with_hint("put the file itself in the submission instead of a link to it"),
                    RootErrorKind::NotAFile => {
                        Diagnostic::error(format!("{rel} is not a regular file")).at(here)
                    }
                    RootErrorKind::TooLarge { size, cap } => Diagnostic::error(format!(
                        "{rel} is {size} bytes, more than the {cap} bytes allowed"
                    ))
                    .at(here),
                    RootErrorKind::NotFound { .. } => {
                        Diagnostic::error(format!("cannot read {rel}: no such file or directory"))
                            .at(here)
                    }
                    RootErrorKind::Io(io) => {
                        Diagnostic::error(format!("cannot read {rel}: {}", io_reason(&io)))
                            .at(here)
                    }
                    _ => Diagnostic::error(format!("cannot read {rel}: {e}")).at(here),
                });
            }
        };
        let rel_path = PathBuf::from(&rel);
        if !self.paths.contains(&rel_path) {
            if self.paths.len() >= MAX_FILES {
                return Err(Diagnostic::error(format!(
                    "more than {MAX_FILES} files read while loading the project"
                ))
                .at(here));
            }
            self.paths.push(rel_path);
        }
        self.bytes_read += bytes.len() as u64;
        if self.bytes_read > MAX_BYTES_READ {
            return Err(Diagnostic::error(format!(
                "more than {MAX_BYTES_READ} bytes read while loading the project"
            ))
            .at(here));
        }
        String::from_utf8(bytes)
            .map_err(|_| Diagnostic::error(format!("{rel} is not valid UTF-8 text")).at(here))
    }

    /// Reads and parses an env file; `${VAR}` in its values reads `overrides` first, then
    /// `vars`. Each value is located at its line.
    pub(crate) fn read_env_file(
        &mut self,
        abs: &Path,
        at: Option<&Location>,
        overrides: &BTreeMap<String, String>,
        vars: &Variables,
    ) -> Result<Vec<(String, Located<String>)>, Diagnostic> {
        let text = self.read(abs, at)?;
        let rel = self.rel(abs);
        let lookup = |k: &str| overrides.get(k).cloned().or_else(|| vars.get(k));
        match dotenv::parse(&text, &lookup) {
            Ok(entries) => Ok(entries
                .into_iter()
                .map(|e| {
                    (
                        e.key,
                        Located::new(e.value, Location::at(rel.clone(), e.line, 1)),
                    )
                })
                .collect()),
            Err(e) => Err(Diagnostic::error(e.message).at(Location::at(rel, e.line, 1))),
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
