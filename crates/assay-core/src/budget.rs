//! Budgets per submission: what every scenario run of one submission may use *together*
//! (the main run and the cold-start run run side by side), whatever each container's own
//! limits say. The rubric's `limits:` section holds the figures; this module is the one home
//! of the arithmetic: how many containers a project runs, and how memory, pids and CPU are
//! split between them.
//!
//! Why a static split and not a parent cgroup per run: a cgroup parent must be created on the
//! daemon's host, with write access to its cgroup tree and knowledge of its cgroup driver
//! (cgroupfs or systemd, v1 or v2) — none of which the Docker API offers, and none of which a
//! remote daemon, a rootless one or a CI runner's socket gives assay. A static split is plain
//! per-container limits, which every daemon enforces. Its cost: a side service cannot borrow
//! what another left unused. The db and the webapp — programs assay knows — keep the full
//! per-container limits; the candidate's side services share what the budget leaves.
//!
//! Disk cannot be split: fuse-overlayfs and local volumes have no quotas here, so bytes
//! written are *measured* while the stack runs and the run is stopped when the budget is
//! crossed (the runner's watcher).

use serde::{Deserialize, Serialize};

/// The most replicas of one service assay runs, whatever `deploy.replicas` or `scale` ask.
pub const MAX_REPLICAS: usize = 3;

/// Replicas assay runs for a service that asks for `declared` (`deploy.replicas` or `scale`).
pub fn replicas_run(declared: Option<i64>) -> usize {
    declared.unwrap_or(1).clamp(1, MAX_REPLICAS as i64) as usize
}

/// Scenario runs of one submission that run side by side: the main run and the cold-start run.
pub const RUNS: usize = 2;

/// Containers all scenario runs start when each run starts `per_run` service containers: every
/// run, plus the extra webapp replica of the scale scenario (assay's own probe and helper
/// containers are not counted: assay sizes them).
pub fn containers_in_all_runs(per_run: usize) -> usize {
    RUNS * per_run + 1
}

/// The rubric's `limits:`: budgets over all scenario runs of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBudget {
    /// Services one compose file may declare (more is a `compose.security` finding).
    pub services: usize,
    /// Containers of all scenario runs together, replicas included (more is a
    /// `compose.security` finding).
    pub containers: usize,
    /// Memory limits of all those containers, summed (bytes).
    pub memory_bytes: u64,
    /// Pids limits of all those containers, summed.
    pub pids: u64,
    /// CPUs the candidate's side services may use together (the db and the webapp keep the
    /// per-container quota).
    pub side_cpus: f64,
    /// Bytes written to volumes and writable layers by all runs together; measured while
    /// running, the run is stopped when crossed.
    pub disk_bytes: u64,
}

// `side_cpus` is validated finite (never NaN), so equality is reflexive.
impl Eq for RunBudget {}

impl Default for RunBudget {
    fn default() -> Self {
        RunBudget {
            services: 16,
            containers: 48,
            memory_bytes: 6 * GIB,
            pids: 4096,
            side_cpus: 1.0,
            disk_bytes: 2 * GIB,
        }
    }
}

const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

/// The least a side container gets: below this a split is refused (the budget cannot hold the
/// project), rather than handing out limits no program can start under.
pub const SIDE_FLOOR: Share = Share {
    memory_bytes: 32 * MIB,
    pids: 16,
    nano_cpus: 10_000_000,
};

/// Limits of one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub memory_bytes: u64,
    pub pids: u64,
    /// Billionths of a CPU.
    pub nano_cpus: u64,
}

/// How many containers of each kind all scenario runs of a submission start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    /// Containers of the db and the webapp (replicas, every run, and the scale scenario's
    /// extra replica).
    pub essential: usize,
    /// Containers of every other service, every run.
    pub side: usize,
}

impl Census {
    pub fn total(&self) -> usize {
        self.essential + self.side
    }
}

/// Why a budget cannot hold a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun(pub String);

impl std::fmt::Display for Overrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RunBudget {
    /// The limits of each side container: what the budget leaves after the essential
    /// containers took `cap` each, split evenly, never above `cap`. `Ok(None)` when there is
    /// no side container.
    pub fn side_share(&self, census: Census, cap: Share) -> Result<Option<Share>, Overrun> {
        if census.total() > self.containers {
            return Err(Overrun(format!(
                "{} containers in all scenario runs together; the budget is {}",
                census.total(),
                self.containers
            )));
        }
        if census.side == 0 {
            return Ok(None);
        }
        let n = census.side as u64;
        let ess = census.essential as u64;
        let left = |budget: u64, each: u64| budget.saturating_sub(ess.saturating_mul(each));
        let memory = (left(self.memory_bytes, cap.memory_bytes) / n).min(cap.memory_bytes);
        let pids = (left(self.pids, cap.pids) / n).min(cap.pids);
        let cpus = ((self.side_cpus.max(0.0) * 1e9) as u64 / n).min(cap.nano_cpus);
        let short = |what: &str, got: String, floor: String| {
            Overrun(format!(
                "{} side-service containers would get {got} of {what} each (below the floor of {floor}): the budget cannot hold them",
                census.side
            ))
        };
        if memory < SIDE_FLOOR.memory_bytes {
            return Err(short(
                "memory",
                format!("{} MiB", memory / MIB),
                format!("{} MiB", SIDE_FLOOR.memory_bytes / MIB),
            ));
        }
        if pids < SIDE_FLOOR.pids {
            return Err(short("pids", pids.to_string(), SIDE_FLOOR.pids.to_string()));
        }
        if cpus < SIDE_FLOOR.nano_cpus {
            return Err(short(
                "CPU",
                format!("{:.3}", cpus as f64 / 1e9),
                format!("{:.2}", SIDE_FLOOR.nano_cpus as f64 / 1e9),
            ));
        }
        Ok(Some(Share {
            memory_bytes: memory,
            pids,
            nano_cpus: cpus,
        }))
    }

    /// The problems of the figures themselves (rubric validation).
    pub fn validate(&self) -> Result<(), String> {
        if self.services == 0 || self.containers < 2 {
            return Err("limits: services must be at least 1 and containers at least 2".into());
        }
        if !(self.side_cpus.is_finite() && self.side_cpus > 0.0) {
            return Err("limits.side_cpus must be a number > 0".into());
        }
        if self.memory_bytes < 256 * MIB || self.pids < 64 || self.disk_bytes < 64 * MIB {
            return Err(
                "limits: memory_bytes must be at least 256 MiB, pids at least 64, disk_bytes at least 64 MiB"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Share = Share {
        memory_bytes: 512 * MIB,
        pids: 256,
        nano_cpus: 1_500_000_000,
    };

    #[test]
    fn replicas_are_capped() {
        assert_eq!(replicas_run(None), 1);
        assert_eq!(replicas_run(Some(0)), 1);
        assert_eq!(replicas_run(Some(2)), 2);
        assert_eq!(replicas_run(Some(999)), 3);
    }

    #[test]
    fn side_services_share_what_the_essentials_leave() {
        let b = RunBudget::default();
        // db + webapp in two runs, plus the scale replica: 5 essential; 2 side services × 2 runs.
        let s = b
            .side_share(
                Census {
                    essential: 5,
                    side: 4,
                },
                CAP,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            s.memory_bytes,
            512 * MIB,
            "capped at the per-container limit"
        );
        assert_eq!(s.pids, 256);
        assert_eq!(s.nano_cpus, 250_000_000, "one CPU split four ways");
        // Many side containers: the sum stays inside the budget.
        let c = Census {
            essential: 5,
            side: 43,
        };
        let s = b.side_share(c, CAP).unwrap().unwrap();
        let sum = 5 * CAP.memory_bytes + 43 * s.memory_bytes;
        assert!(sum <= b.memory_bytes, "{sum}");
        assert!(5 * CAP.pids + 43 * s.pids <= b.pids);
        assert!(43 * s.nano_cpus <= 1_000_000_000);
    }

    #[test]
    fn too_many_containers_or_too_little_left_is_an_overrun() {
        let b = RunBudget::default();
        let e = b
            .side_share(
                Census {
                    essential: 5,
                    side: 235,
                },
                CAP,
            )
            .unwrap_err();
        assert!(e.0.contains("240 containers"), "{e}");
        let tight = RunBudget {
            memory_bytes: 3 * GIB,
            ..RunBudget::default()
        };
        let e = tight
            .side_share(
                Census {
                    essential: 5,
                    side: 40,
                },
                CAP,
            )
            .unwrap_err();
        assert!(e.0.contains("memory"), "{e}");
        assert_eq!(
            b.side_share(
                Census {
                    essential: 4,
                    side: 0
                },
                CAP
            ),
            Ok(None)
        );
    }
}
