//! `assay-probe meter DIR [EVERY_MS]`: the disk meter of a run. The probe container mounts
//! each of the run's volumes read-only under `DIR` (`DIR/0`, `DIR/1`, … in the plan's order);
//! the meter walks them every `EVERY_MS` milliseconds and prints one [`MeterLine`] per pass
//! on stdout, which the runner reads from the container's log. Nothing asks the Docker daemon
//! (its disk-usage call walks every container of the host on some storage drivers), and the
//! walk's cost is the probe container's, inside its limits.
//!
//! Each line also carries how much of the filesystem under the probe's own root is in use
//! (`fs_used`, from `statvfs`): that is the filesystem of the Docker daemon's data root, where
//! every container's writable layer lives. The runner reads its growth as a cheap upper bound
//! of what the run's writable layers can have gained, and asks the daemon for the exact
//! figures only when it grows (the daemon's answer walks whole container filesystems).
//!
//! The walk never follows a symbolic link, stays on the volume's filesystem, counts a file
//! with several hard links once, and counts allocated blocks (a sparse file costs what it
//! holds, not its length). A tree with more than [`ENTRY_CAP`] entries is counted up to the
//! cap and said to be capped: the bytes are then a lower bound.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Entries walked per volume and pass before the pass stops counting.
pub const ENTRY_CAP: u64 = 500_000;

/// The meter's pace when the command line gives none.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(1000);

/// What one pass found in one volume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes allocated on disk (512-byte blocks), each inode once.
    pub bytes: u64,
    /// Directory entries seen.
    pub entries: u64,
    /// The walk stopped at [`ENTRY_CAP`]: `bytes` is a lower bound.
    pub capped: bool,
}

/// One line of the meter's output: `{"meter":1,"pass":N,"volumes":[{"bytes":…,"entries":…,
/// "capped":…},…],"ms":…,"fs_used":…,"fs_first":…}`, the volumes in the order of `DIR`'s
/// numbered entries (`fs_used` and `fs_first` are left out when `statvfs` failed; a meter of
/// an older probe image never prints them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterLine {
    pub pass: u64,
    pub volumes: Vec<Usage>,
    /// How long the pass took.
    pub ms: u64,
    /// Bytes in use on the filesystem of the probe's root ([`fs_used`]).
    pub fs_used: Option<u64>,
    /// The same at the meter's first pass, taken as the meter started: the reference the
    /// runner counts growth from (it reads only the latest lines).
    pub fs_first: Option<u64>,
}

impl MeterLine {
    /// The line as printed.
    pub fn to_json(&self) -> String {
        let volumes: Vec<serde_json::Value> = self
            .volumes
            .iter()
            .map(|u| {
                serde_json::json!({
                    "bytes": u.bytes,
                    "entries": u.entries,
                    "capped": u.capped,
                })
            })
            .collect();
        let mut line = serde_json::json!({
            "meter": 1,
            "pass": self.pass,
            "volumes": volumes,
            "ms": self.ms,
        });
        if let Some(used) = self.fs_used {
            line["fs_used"] = used.into();
        }
        if let Some(first) = self.fs_first {
            line["fs_first"] = first.into();
        }
        line.to_string()
    }

    /// Reads one printed line back; `None` for anything else (a line of another shape, or a
    /// truncated one).
    pub fn parse(line: &str) -> Option<MeterLine> {
        let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        if v.get("meter")?.as_u64()? != 1 {
            return None;
        }
        let volumes = v
            .get("volumes")?
            .as_array()?
            .iter()
            .map(|u| {
                Some(Usage {
                    bytes: u.get("bytes")?.as_u64()?,
                    entries: u.get("entries")?.as_u64()?,
                    capped: u.get("capped")?.as_bool()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(MeterLine {
            pass: v.get("pass")?.as_u64()?,
            volumes,
            ms: v.get("ms")?.as_u64()?,
            fs_used: match v.get("fs_used") {
                None => None,
                Some(u) => Some(u.as_u64()?),
            },
            fs_first: match v.get("fs_first") {
                None => None,
                Some(u) => Some(u.as_u64()?),
            },
        })
    }
}

/// Bytes in use on the filesystem holding `path` (blocks not free, as `df` counts them with
/// the blocks reserved for root included); `None` when `statvfs` fails.
pub fn fs_used(path: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(path).ok()?;
    st.f_blocks
        .checked_sub(st.f_bfree)?
        .checked_mul(st.f_frsize)
}

/// Walks `root` without following links or leaving its filesystem, up to `cap` entries.
/// Unreadable entries are skipped (a read-only mount of someone else's files may deny some).
pub fn measure(root: &Path, cap: u64) -> Usage {
    let mut usage = Usage::default();
    let Ok(top) = std::fs::symlink_metadata(root) else {
        return usage;
    };
    let dev = top.dev();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut add = |m: &std::fs::Metadata, usage: &mut Usage| {
        if m.nlink() <= 1 || seen.insert(m.ino()) {
            usage.bytes = usage.bytes.saturating_add(m.blocks().saturating_mul(512));
        }
    };
    add(&top, &mut usage);
    if !top.is_dir() {
        return usage;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if usage.entries >= cap {
                usage.capped = true;
                return usage;
            }
            usage.entries += 1;
            let path = entry.path();
            // symlink_metadata: a link is counted as itself, never followed.
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if m.dev() != dev {
                continue;
            }
            add(&m, &mut usage);
            if m.is_dir() {
                stack.push(path);
            }
        }
    }
    usage
}

/// The numbered volumes under `dir` (`0`, `1`, …), in order; stops at the first number missing.
fn volumes(dir: &Path) -> Vec<std::path::PathBuf> {
    (0..)
        .map(|i| dir.join(i.to_string()))
        .take_while(|p| p.exists())
        .collect()
}

/// Prints a [`MeterLine`] for the volumes under `dir` every `every`, forever (the container
/// is killed at teardown). When stdout is gone it goes on sleeping: the meter is the probe
/// container's main process, and the probes exec into that container.
pub fn run(dir: &Path, every: Duration) -> ! {
    let paths = volumes(dir);
    let mut out = std::io::stdout();
    let mut first = None;
    for pass in 1.. {
        let started = Instant::now();
        // First, before the walk: the first pass's figure is the run's reference, taken as
        // the probe starts (right after the run's first service).
        let used = fs_used(Path::new("/"));
        if first.is_none() {
            first = used;
        }
        let line = MeterLine {
            pass,
            volumes: paths.iter().map(|p| measure(p, ENTRY_CAP)).collect(),
            ms: started.elapsed().as_millis() as u64,
            fs_used: used,
            fs_first: first,
        };
        if writeln!(out, "{}", line.to_json())
            .and_then(|_| out.flush())
            .is_err()
        {
            break;
        }
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Parses `meter DIR [EVERY_MS]`'s arguments (after `meter`).
pub fn parse_args(args: &[String]) -> Result<(std::path::PathBuf, Duration), String> {
    match args {
        [dir] => Ok((dir.into(), DEFAULT_EVERY)),
        [dir, ms] => {
            let ms: u64 = ms.parse().map_err(|_| {
                format!("meter: EVERY_MS must be a number of milliseconds, not {ms:?}")
            })?;
            if ms < 100 {
                return Err("meter: EVERY_MS must be at least 100".into());
            }
            Ok((dir.into(), Duration::from_millis(ms)))
        }
        _ => Err("meter: expected DIR [EVERY_MS]".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_counted_by_blocks_links_once_and_symlinks_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("0");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/big"), vec![7u8; 1 << 20]).unwrap();
        std::fs::hard_link(root.join("a/b/big"), root.join("a/twin")).unwrap();
        // A sparse file: long, but holds nothing.
        let sparse = std::fs::File::create(root.join("sparse")).unwrap();
        sparse.set_len(10 << 30).unwrap();
        // A link to a large tree outside: counted as a link, not walked.
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("x"), vec![1u8; 4 << 20]).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        let u = measure(&root, ENTRY_CAP);
        assert!(!u.capped);
        assert_eq!(u.entries, 6, "{u:?}");
        assert!(u.bytes >= 1 << 20, "{u:?}");
        assert!(
            u.bytes < (1 << 20) + (1 << 18),
            "hard link counted once, sparse file empty, link not followed: {u:?}"
        );
    }

    #[test]
    fn a_tree_over_the_cap_is_a_lower_bound() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(d.path().join(i.to_string()), b"x").unwrap();
        }
        let u = measure(d.path(), 5);
        assert!(u.capped);
        assert_eq!(u.entries, 5);
    }

    #[test]
    fn a_missing_volume_measures_nothing() {
        let u = measure(Path::new("/no/such/meter/dir"), ENTRY_CAP);
        assert_eq!(u, Usage::default());
    }

    #[test]
    fn numbered_volumes_in_order_and_lines_read_back() {
        let d = tempfile::tempdir().unwrap();
        for i in [0, 1, 3] {
            std::fs::create_dir(d.path().join(i.to_string())).unwrap();
        }
        let v = volumes(d.path());
        assert_eq!(v, vec![d.path().join("0"), d.path().join("1")]);
        let line = MeterLine {
            pass: 3,
            volumes: v.iter().map(|p| measure(p, ENTRY_CAP)).collect(),
            ms: 2,
            fs_used: Some(7 << 30),
            fs_first: Some(6 << 30),
        };
        assert_eq!(MeterLine::parse(&line.to_json()), Some(line.clone()));
        // An older probe's line, without the filesystem figure.
        let old = MeterLine {
            fs_used: None,
            fs_first: None,
            ..line
        };
        assert!(!old.to_json().contains("fs_used"));
        assert_eq!(MeterLine::parse(&old.to_json()), Some(old));
        assert_eq!(
            MeterLine::parse("{\"meter\":1,\"pass\":1,\"volumes\":[],\"ms\":1,\"fs_used\":\"x\"}"),
            None
        );
        assert_eq!(MeterLine::parse("{\"meter\":2}"), None);
        assert_eq!(
            MeterLine::parse("{\"meter\":1,\"pass\":1,\"volumes\":[{\"bytes\":1}"),
            None
        );
        assert_eq!(MeterLine::parse("hello"), None);
    }

    #[test]
    fn the_filesystem_figure_grows_with_what_is_written_to_it() {
        let d = tempfile::tempdir().unwrap();
        assert!(fs_used(d.path()).expect("statvfs of a temp dir") > 0);
        assert_eq!(fs_used(Path::new("/no/such/meter/dir")), None);
        // Others may write or free on the same filesystem beside the test (Docker removing
        // a volume): a clear growth must show in one of a few tries.
        let grew = (0..5).any(|i| {
            let before = fs_used(d.path()).unwrap();
            let path = d.path().join(format!("grow{i}"));
            let mut f = std::fs::File::create(&path).unwrap();
            std::io::Write::write_all(&mut f, &vec![3u8; 64 << 20]).unwrap();
            f.sync_all().unwrap();
            let after = fs_used(d.path()).unwrap();
            std::fs::remove_file(&path).unwrap();
            after >= before + (32 << 20)
        });
        assert!(grew, "64 MiB written never showed in fs_used");
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(
            parse_args(&["/m".into()]).unwrap(),
            ("/m".into(), DEFAULT_EVERY)
        );
        assert_eq!(
            parse_args(&["/m".into(), "500".into()]).unwrap().1,
            Duration::from_millis(500)
        );
        assert!(parse_args(&["/m".into(), "5".into()]).is_err());
        assert!(parse_args(&["/m".into(), "x".into()]).is_err());
        assert!(parse_args(&[]).is_err());
    }
}
