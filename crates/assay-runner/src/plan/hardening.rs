//! The hardening every container gets, whatever the compose file says: capabilities,
//! no-new-privileges, pids, memory (no swap), CPU, log size, bounded restarts, no published
//! ports, the first network attached at create time.

use super::*;
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, NetworkingConfig, RestartPolicy,
    RestartPolicyNameEnum,
};

/// Capabilities every container keeps (what Postgres's entrypoint needs to prepare its data dir
/// and drop to its own user); everything else is dropped.
pub const KEPT_CAPS: [&str; 5] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 * 1024 * 1024,
            pids: 256,
            nano_cpus: default_nano_cpus(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            log_max_size: "1m".into(),
            log_max_files: 2,
            stop_grace: Duration::from_secs(10),
            max_restarts: 20,
            tmpfs_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The CPU quota of one container on a host with `cpus` CPUs: all but half a CPU, at least
/// one CPU and at most four. A container that spins cannot take the whole host from the
/// grader and the rest of the stack, while Postgres, whose first start runs initdb and its
/// bootstrap backend side by side, is not throttled to one CPU (on a 2-CPU host that cost
/// ~0.2 s per first start: `benches/runtime_phase.sh`). Four keeps concurrent gradings
/// (`--jobs`) on a large host from crowding each other.
pub fn default_nano_cpus(cpus: usize) -> i64 {
    const ONE: i64 = 1_000_000_000;
    let cpus = i64::try_from(cpus).unwrap_or(i64::MAX / ONE);
    (cpus.saturating_mul(ONE) - ONE / 2).clamp(ONE, 4 * ONE)
}

impl ContainerSpec {
    /// The Docker create body: hardening applied, first network attached (the others are
    /// connected before start, which works on every API version).
    pub fn create_body(&self) -> ContainerCreateBody {
        let l = &self.limits;
        let restart = match self.restart_max {
            Some(n) => RestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(n),
            },
            None => RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            },
        };
        let host_config = HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(KEPT_CAPS.iter().map(|c| c.to_string()).collect()),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            pids_limit: Some(l.pids),
            memory: Some(l.memory_bytes),
            memory_swap: Some(l.memory_bytes),
            nano_cpus: Some(l.nano_cpus),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(HashMap::from([
                    ("max-size".to_string(), l.log_max_size.clone()),
                    ("max-file".to_string(), l.log_max_files.to_string()),
                ])),
            }),
            restart_policy: Some(restart),
            mounts: Some(self.mounts.clone()),
            init: self.init,
            readonly_rootfs: self.read_only,
            privileged: Some(false),
            publish_all_ports: Some(false),
            network_mode: Some(
                self.networks
                    .first()
                    .map(|a| a.network.clone())
                    .unwrap_or_else(|| "none".into()),
            ),
            ..Default::default()
        };
        let networking_config = self.networks.first().map(|a| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(a.network.clone(), a.endpoint())])),
        });
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(self.env.clone()),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            user: self.user.clone(),
            working_dir: self.working_dir.clone(),
            hostname: self.hostname.clone(),
            healthcheck: self.healthcheck.clone(),
            labels: Some(self.labels.clone()),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: Some(l.stop_grace.as_secs() as i64),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        }
    }

    /// The same container as replica number `n` (name and compose number label change).
    pub fn replica(&self, n: usize) -> ContainerSpec {
        let mut c = self.clone();
        c.name = replace_suffix(&self.name, n);
        c.labels.insert(COMPOSE_NUMBER.into(), n.to_string());
        c
    }
}
