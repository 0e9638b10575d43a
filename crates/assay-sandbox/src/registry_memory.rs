//! What assay remembers about registries: that none answered a given Docker daemon, for a
//! while ([`REMEMBER_FOR`], one hour). An evaluation that finds its images present then goes
//! straight to the stand-ins and the host-built webapp instead of retrying a pull or an online
//! build that cannot help, and says so in one line, not an error.
//!
//! Kept per daemon (keyed by the ID `docker info` reports: another daemon, or the same host
//! after its daemon was reset, may well reach a registry) in one small JSON file of the state
//! directory. The file is a cache: a missing, unreadable or corrupt one means "nothing
//! remembered", and a write that fails only loses the memory. `assay images` always tries the
//! registry again and updates the memory with what it found.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an unreachable registry is remembered.
pub const REMEMBER_FOR: Duration = Duration::from_secs(3600);
/// The file in the state directory.
pub const FILE: &str = "registry-unreachable.json";
/// The largest memory file read (anything bigger is not assay's and is ignored).
const MAX_BYTES: u64 = 1 << 20;

/// The memory file of one state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMemory {
    path: PathBuf,
    ttl: Duration,
}

/// One daemon's record: since when no registry answered it, and the error that said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    since_unix: u64,
    why: String,
}

/// What is remembered about a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// When the registry was last found unreachable.
    pub since: SystemTime,
    /// Until when it is taken as unreachable without trying.
    pub until: SystemTime,
    /// The error of that attempt.
    pub why: String,
}

impl Remembered {
    /// One line for the report: `the registry did not answer this Docker daemon 12 min ago
    /// (…); not tried again until 1 h after that: stand-ins and the host-built webapp used`.
    pub fn describe(&self, now: SystemTime) -> String {
        let ago = now.duration_since(self.since).unwrap_or_default().as_secs() / 60;
        let left = self.until.duration_since(now).unwrap_or_default().as_secs() / 60;
        format!(
            "no registry answered this Docker daemon {ago} min ago ({}); not tried again for {left} min more (`assay images` tries it now): the images present (stand-ins, the host-built webapp) were used",
            self.why
        )
    }
}

impl RegistryMemory {
    /// The memory kept in `state_dir`, for [`REMEMBER_FOR`].
    pub fn new(state_dir: &Path) -> RegistryMemory {
        RegistryMemory::with_ttl(state_dir, REMEMBER_FOR)
    }

    /// The memory kept in `state_dir`, for `ttl`.
    pub fn with_ttl(state_dir: &Path, ttl: Duration) -> RegistryMemory {
        RegistryMemory {
            path: state_dir.join(FILE),
            ttl,
        }
    }

    /// The file it lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> BTreeMap<String, Record> {
        let fits = std::fs::metadata(&self.path).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES);
        fits.then(|| std::fs::read(&self.path).ok())
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write(&self, all: &BTreeMap<String, Record>) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let Ok(json) = serde_json::to_vec_pretty(all) else {
            return;
        };
        // Written beside and renamed over, so a reader never sees half a file.
        let tmp = dir.join(format!(".{FILE}.{}", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// What is remembered about `daemon` at `now`: `None` when nothing is, or it expired (or
    /// lies in the future: a clock set back does not make the memory last longer).
    pub fn unreachable(&self, daemon: &str, now: SystemTime) -> Option<Remembered> {
        let r = self.read().remove(daemon)?;
        let since = UNIX_EPOCH + Duration::from_secs(r.since_unix);
        let until = since + self.ttl;
        (since <= now && now < until).then_some(Remembered {
            since,
            until,
            why: r.why,
        })
    }

    /// Remembers that no registry answered `daemon` at `now`. Expired records of other daemons
    /// are dropped on the way.
    pub fn remember(&self, daemon: &str, why: &str, now: SystemTime) {
        let now_unix = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut all = self.read();
        all.retain(|_, r| now_unix.saturating_sub(r.since_unix) < self.ttl.as_secs());
        all.insert(
            daemon.to_string(),
            Record {
                since_unix: now_unix,
                why: why.chars().take(500).collect(),
            },
        );
        self.write(&all);
    }

    /// Forgets `daemon` (a registry answered it).
    pub fn forget(&self, daemon: &str) {
        let mut all = self.read();
        if all.remove(daemon).is_some() {
            self.write(&all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn an_unreachable_registry_is_remembered_for_an_hour_then_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let m = RegistryMemory::new(dir.path());
        assert_eq!(m.unreachable("daemon-a", at(0)), None);
        m.remember(
            "daemon-a",
            "dial tcp: lookup registry-1.docker.io: no such host",
            at(0),
        );
        let r = m
            .unreachable("daemon-a", at(59 * 60))
            .expect("still remembered");
        assert_eq!(r.since, at(0));
        assert_eq!(r.until, at(3600));
        assert!(r.why.contains("no such host"));
        assert!(
            r.describe(at(12 * 60))
                .starts_with("no registry answered this Docker daemon 12 min ago (dial tcp"),
            "{}",
            r.describe(at(12 * 60))
        );
        assert_eq!(
            m.unreachable("daemon-a", at(3600)),
            None,
            "expired at the hour"
        );
        assert_eq!(
            m.unreachable("daemon-a", at(0) - Duration::from_secs(60)),
            None,
            "a record from the future (clock set back) is not trusted"
        );
    }

    #[test]
    fn each_daemon_has_its_own_memory() {
        let dir = tempfile::tempdir().unwrap();
        let m = RegistryMemory::new(dir.path());
        m.remember("daemon-a", "timeout", at(0));
        assert!(m.unreachable("daemon-a", at(10)).is_some());
        assert_eq!(m.unreachable("daemon-b", at(10)), None);
        m.remember("daemon-b", "refused", at(20));
        m.forget("daemon-a");
        assert_eq!(
            m.unreachable("daemon-a", at(30)),
            None,
            "a registry answered a"
        );
        assert_eq!(m.unreachable("daemon-b", at(30)).unwrap().why, "refused");
        // An expired record of another daemon is dropped when one is written.
        m.remember("daemon-c", "timeout", at(20 + 3600));
        let text = std::fs::read_to_string(m.path()).unwrap();
        assert!(
            !text.contains("daemon-b") && text.contains("daemon-c"),
            "{text}"
        );
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let m = RegistryMemory::new(dir.path());
        for junk in [
            &b"{not json"[..],
            b"[1, 2, 3]",
            b"{\"daemon-a\": {\"since_unix\": \"yesterday\"}}",
            b"\xff\xfe\x00",
        ] {
            std::fs::write(m.path(), junk).unwrap();
            assert_eq!(m.unreachable("daemon-a", at(0)), None);
        }
        m.remember("daemon-a", "timeout", at(0));
        assert!(
            m.unreachable("daemon-a", at(1)).is_some(),
            "rewritten whole"
        );
        // A folder where the file should be: nothing remembered, nothing panics.
        let odd = tempfile::tempdir().unwrap();
        std::fs::create_dir(odd.path().join(FILE)).unwrap();
        let m = RegistryMemory::new(odd.path());
        m.remember("daemon-a", "timeout", at(0));
        assert_eq!(m.unreachable("daemon-a", at(1)), None);
    }
}
