//! Docker labels assay puts on what it creates, so `docker ps` reads well and the reaper can
//! find everything by label.

use std::collections::HashMap;

/// On every container, network, volume and image assay creates.
pub const MANAGED: &str = "dev.assay.managed";
/// On images built from Debian packages instead of the upstream image of the same name.
pub const STAND_IN: &str = "dev.assay.stand-in";
/// sha256 of everything an image was built from; equal hash = nothing to do.
pub const CONTENT_HASH: &str = "dev.assay.content-hash";
/// The run a container, network or volume belongs to.
pub const RUN: &str = "dev.assay.run";
/// What an image is for (`postgres`, `debian`, `webapp`, `probe`), or a container
/// (`service`, `probe`).
pub const ROLE: &str = "dev.assay.role";

/// Compose's own labels, so `docker ps` and `docker compose ls` read a run like a compose
/// project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";

/// `dev.assay.managed=true` alone.
pub fn managed() -> HashMap<String, String> {
    HashMap::from([(MANAGED.to_string(), "true".to_string())])
}

/// The labels of one run's containers, networks and volumes: the run id and its owner (this
/// process), so `assay gc` judges liveness wherever the run's lock file is.
pub fn for_run(run_id: &str) -> HashMap<String, String> {
    let mut l = managed();
    l.insert(RUN.to_string(), run_id.to_string());
    if let Some(o) = Owner::current() {
        o.insert_into(&mut l);
    }
    l
}

/// A random lowercase hex string of `n` 64-bit words (run ids, nonces). Not for cryptography:
/// it only has to be unguessable by a candidate's stack and unique per run.
pub fn random_hex(words: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..words {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        h.write_usize(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// True when `labels` carry `key=true`.
pub fn is_true(labels: Option<&HashMap<String, String>>, key: &str) -> bool {
    labels.and_then(|l| l.get(key)).is_some_and(|v| v == "true")
}

/// Who owns a run's resources: the kernel boot, the PID namespace, the process id and the
/// process's start time (clock ticks since boot, from `/proc/<pid>/stat`). A pid alone can be
/// reused; a pid with its start time cannot, within one boot.
pub const OWNER_BOOT: &str = "dev.assay.owner.boot";
pub const OWNER_PIDNS: &str = "dev.assay.owner.pidns";
pub const OWNER_PID: &str = "dev.assay.owner.pid";
pub const OWNER_START: &str = "dev.assay.owner.start";
/// The private work dir of the run's submission, removed with a dead run's resources.
pub const WORK_DIR: &str = "dev.assay.work-dir";

/// The process that owns a run, as its labels say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub boot: String,
    pub pidns: String,
    pub pid: u32,
    pub start: u64,
}

/// What the labels of a run say about its owner, read from this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The owner process still runs: never touch the run.
    Live,
    /// The owner is gone (its pid is free or reused by another process, or the machine
    /// rebooted since).
    Dead,
    /// Not decidable from here (another PID namespace, another machine sharing the daemon,
    /// or no owner labels): the caller falls back to the run's lock file and its age.
    Unknown,
}

impl Owner {
    /// This process, read once from `/proc`. `None` where `/proc` is not there.
    pub fn current() -> Option<&'static Owner> {
        static CURRENT: std::sync::OnceLock<Option<Owner>> = std::sync::OnceLock::new();
        CURRENT
            .get_or_init(|| {
                let pid = std::process::id();
                Some(Owner {
                    boot: boot_id()?,
                    pidns: pid_namespace("self")?,
                    pid,
                    start: start_time(pid)?,
                })
            })
            .as_ref()
    }

    /// The owner labels of `labels`, when all are there and well formed.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Owner> {
        Some(Owner {
            boot: labels.get(OWNER_BOOT)?.clone(),
            pidns: labels.get(OWNER_PIDNS)?.clone(),
            pid: labels.get(OWNER_PID)?.parse().ok()?,
            start: labels.get(OWNER_START)?.parse().ok()?,
        })
    }

    fn insert_into(&self, labels: &mut HashMap<String, String>) {
        labels.insert(OWNER_BOOT.into(), self.boot.clone());
        labels.insert(OWNER_PIDNS.into(), self.pidns.clone());
        labels.insert(OWNER_PID.into(), self.pid.to_string());
        labels.insert(OWNER_START.into(), self.start.to_string());
    }

    /// Whether this owner still runs, judged from this process.
    pub fn liveness(&self) -> Liveness {
        let Some(me) = Owner::current() else {
            return Liveness::Unknown;
        };
        if self.boot != me.boot {
            // Same daemon, another boot id: either the machine rebooted (every process of
            // the old boot is gone) or the daemon is shared with another machine.
            return if boot_id_is_old(&self.boot) {
                Liveness::Dead
            } else {
                Liveness::Unknown
            };
        }
        if self.pidns != me.pidns {
            return Liveness::Unknown;
        }
        match start_time(self.pid) {
            Some(t) if t == self.start => Liveness::Live,
            _ => Liveness::Dead,
        }
    }
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// A daemon reached through the local socket runs on this machine, so a boot id other than
/// ours belongs to an earlier boot. With `DOCKER_HOST` naming another machine nothing is
/// known.
fn boot_id_is_old(_other: &str) -> bool {
    std::env::var("DOCKER_HOST")
        .map(|h| h.trim().is_empty() || h.starts_with("unix://"))
        .unwrap_or(true)
}

fn pid_namespace(pid: &str) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
    Some(link.to_string_lossy().into_owned())
}

/// Field 22 of `/proc/<pid>/stat` (after the command name, which may hold spaces and parens).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod owner_tests {
    use super::*;

    #[test]
    fn this_process_is_live_and_an_exited_child_is_dead() {
        let me = Owner::current().expect("/proc is there").clone();
        assert_eq!(me.liveness(), Liveness::Live);
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(
            reused.liveness(),
            Liveness::Dead,
            "a reused pid is not the owner"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Owner {
            pid,
            start: 1,
            ..me.clone()
        };
        assert_eq!(gone.liveness(), Liveness::Dead);
        let elsewhere = Owner {
            pidns: "pid:[1]".into(),
            ..me.clone()
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }

    #[test]
    fn random_hex_is_hex_and_varies() {
        let a = random_hex(2);
        let b = random_hex(2);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn run_labels_carry_the_owner_and_read_back() {
        let l = for_run("r1");
        assert_eq!(Owner::from_labels(&l).as_ref(), Owner::current());
        let mut broken = l.clone();
        broken.insert(OWNER_PID.into(), "x".into());
        assert_eq!(Owner::from_labels(&broken), None);
    }
}
