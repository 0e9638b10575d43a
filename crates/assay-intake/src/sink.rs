//! Where unpacked bytes go: a fresh directory we own, written with our own caps.
//!
//! Every file is created with `create_new` and `O_NOFOLLOW`, every directory level is created by
//! us (never through an existing link), and permissions are forced to 0644 / 0755 whatever the
//! source said. The [`Budget`] counts the bytes *actually written*, never the sizes an archive
//! declares.

use crate::error::IntakeError;
use assay_core::IntakeLimits;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

pub(crate) const FILE_MODE: u32 = 0o644;
pub(crate) const DIR_MODE: u32 = 0o755;

/// Below this many bytes written, the compression ratio is not checked (small files of repeated
/// text compress very well and are harmless).
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

const CHUNK: usize = 64 * 1024;

/// Entry count and bytes written so far, against the rubric's limits.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: IntakeLimits,
    entries: u64,
    total_bytes: u64,
}

impl Budget {
    pub fn new(limits: &IntakeLimits) -> Self {
        Budget {
            limits: limits.clone(),
            entries: 0,
            total_bytes: 0,
        }
    }

    pub fn limits(&self) -> &IntakeLimits {
        &self.limits
    }

    /// Counts one more entry (file or directory).
    pub fn add_entry(&mut self, entry: &str) -> Result<(), IntakeError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(IntakeError::rejected(
                entry,
                format!("too many entries: the limit is {}", self.limits.max_entries),
            ));
        }
        Ok(())
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Copies `reader` into `out`, stopping as soon as a cap would be passed. `compressed` is
    /// the entry's compressed size when it comes from an archive (for the ratio cap). Read
    /// faults are the submission's (Rejected), write faults are ours (Internal).
    pub fn copy(
        &mut self,
        entry: &str,
        reader: &mut dyn Read,
        out: &mut dyn Write,
        compressed: Option<u64>,
    ) -> Result<u64, IntakeError> {
        let mut buf = vec![0u8; CHUNK];
        let mut written: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(IntakeError::rejected(
                        entry,
                        format!("cannot read its data: {e}"),
                    ))
                }
            };
            let after = written + n as u64;
            if after > self.limits.max_file_bytes {
                return Err(IntakeError::rejected(
                    entry,
                    format!(
                        "larger than the per-file limit of {} (stopped after writing {})",
                        human_bytes(self.limits.max_file_bytes),
                        human_bytes(written)
                    ),
                ));
            }
            if self.total_bytes + n as u64 > self.limits.max_total_bytes {
                return Err(IntakeError::rejected(
                    entry,
                    format!(
                        "the submission is larger than the total limit of {} (stopped after writing {})",
                        human_bytes(self.limits.max_total_bytes),
                        human_bytes(self.total_bytes)
                    ),
                ));
            }
            if let Some(c) = compressed {
                let ratio_cap = c.max(1).saturating_mul(self.limits.max_compression_ratio);
                if after > RATIO_FLOOR_BYTES && after > ratio_cap {
                    return Err(IntakeError::rejected(
                        entry,
                        format!(
                            "compression ratio above {}:1 ({} compressed bytes inflate past {}): a zip bomb",
                            self.limits.max_compression_ratio,
                            c,
                            human_bytes(after)
                        ),
                    ));
                }
            }
            out.write_all(&buf[..n])
                .map_err(|e| IntakeError::internal("writing an unpacked file", e))?;
            written = after;
            self.total_bytes += n as u64;
        }
        Ok(written)
    }
}

/// The private directory tree a submission is written into.
#[derive(Debug)]
pub(crate) struct Tree {
    root: PathBuf,
}

impl Tree {
    /// Creates `root` (0755); its parent must be a fresh directory we own.
    pub fn create(root: PathBuf) -> Result<Self, IntakeError> {
        fs::DirBuilder::new()
            .mode(DIR_MODE)
            .create(&root)
            .and_then(|()| fs::set_permissions(&root, Permissions::from_mode(DIR_MODE)))
            .map_err(|e| IntakeError::internal(format!("creating {}", root.display()), e))?;
        Ok(Tree { root })
    }

    /// Creates every level of `components` as a real directory (0755). An existing level must
    /// be a directory, never a link or a file.
    pub fn make_dir(&self, components: &[String]) -> Result<PathBuf, IntakeError> {
        let mut path = self.root.clone();
        for c in components {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_dir() => continue,
                Ok(_) => {
                    return Err(IntakeError::internal(
                        format!("creating directory {}", path.display()),
                        std::io::Error::new(
                            ErrorKind::AlreadyExists,
                            "a non-directory is in the way",
                        ),
                    ))
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(IntakeError::internal(
                        format!("inspecting {}", path.display()),
                        e,
                    ))
                }
            }
            fs::DirBuilder::new()
                .mode(DIR_MODE)
                .create(&path)
                .map_err(|e| {
                    IntakeError::internal(format!("creating directory {}", path.display()), e)
                })?;
            // The umask may have removed bits: force 0755.
            fs::set_permissions(&path, Permissions::from_mode(DIR_MODE)).map_err(|e| {
                IntakeError::internal(format!("setting permissions of {}", path.display()), e)
            })?;
        }
        Ok(path)
    }

    /// Creates a new file (0644) at `components`, its parent directories first. Fails if
    /// anything already exists there; never follows a link.
    pub fn create_file(&self, components: &[String]) -> Result<File, IntakeError> {
        let Some((name, parents)) = components.split_last() else {
            return Err(IntakeError::internal(
                "creating a file",
                std::io::Error::new(ErrorKind::InvalidInput, "empty path"),
            ));
        };
        let mut path = self.make_dir(parents)?;
        path.push(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| IntakeError::internal(format!("creating {}", path.display()), e))?;
        file.set_permissions(Permissions::from_mode(FILE_MODE))
            .map_err(|e| {
                IntakeError::internal(format!("setting permissions of {}", path.display()), e)
            })?;
        Ok(file)
    }
}

/// `1.5 MiB`-style sizes for messages (one home: [`assay_core::display::human_bytes`]).
pub(crate) use assay_core::display::human_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{repeat, Cursor};
    use std::path::Path;

    fn small_limits() -> IntakeLimits {
        IntakeLimits {
            max_file_bytes: 1000,
            max_total_bytes: 1500,
            ..IntakeLimits::default()
        }
    }

    #[test]
    fn the_counting_copy_stops_at_the_per_file_cap_whatever_the_source_claims() {
        let mut budget = Budget::new(&small_limits());
        let mut out = Vec::new();
        let err = budget
            .copy("big", &mut repeat(b'x').take(1 << 30), &mut out, None)
            .unwrap_err();
        assert!(err.to_string().contains("per-file limit"), "{err}");
        assert!(out.len() <= 1000, "wrote {} bytes", out.len());
    }

    #[test]
    fn the_total_cap_counts_every_file() {
        let mut budget = Budget::new(&small_limits());
        let mut out = Vec::new();
        assert_eq!(
            budget
                .copy("a", &mut Cursor::new(vec![1u8; 900]), &mut out, None)
                .unwrap(),
            900
        );
        let err = budget
            .copy("b", &mut Cursor::new(vec![1u8; 900]), &mut out, None)
            .unwrap_err();
        assert!(err.to_string().contains("total limit"), "{err}");
        assert_eq!(err.rejected_entry(), Some("b"));
        assert!(budget.total_bytes() <= 1500);
    }

    #[test]
    fn the_ratio_cap_applies_past_one_mebibyte() {
        let limits = IntakeLimits {
            max_compression_ratio: 100,
            ..IntakeLimits::default()
        };
        let mut budget = Budget::new(&limits);
        let mut sink = std::io::sink();
        // 20 KiB "compressed" may give 1.9 MiB, not more.
        let err = budget
            .copy(
                "bomb",
                &mut repeat(0).take(3 << 20),
                &mut sink,
                Some(20 * 1024),
            )
            .unwrap_err();
        assert!(err.to_string().contains("ratio"), "{err}");
        // Small files are never judged by ratio.
        let mut budget = Budget::new(&limits);
        assert!(budget
            .copy("small", &mut repeat(0).take(1 << 20), &mut sink, Some(10))
            .is_ok());
    }

    #[test]
    fn files_and_dirs_get_forced_modes_and_links_are_never_followed() {
        let parent = tempfile::tempdir().unwrap();
        let tree = Tree::create(parent.path().join("root")).unwrap();
        let root = parent.path().join("root");
        let mut f = tree
            .create_file(&["a".into(), "b".into(), "c.txt".into()])
            .unwrap();
        f.write_all(b"hi").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&root.join("a/b/c.txt")), 0o644);
        assert_eq!(mode(&root.join("a/b")), 0o755);
        // an existing file is never overwritten
        assert!(tree
            .create_file(&["a".into(), "b".into(), "c.txt".into()])
            .is_err());
        // a link planted in the tree is not followed, neither as a file nor as a directory
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("x"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("dirlink")).unwrap();
        assert!(tree.create_file(&["link".into()]).is_err());
        assert!(tree.create_file(&["dirlink".into(), "y".into()]).is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
