//! One service of the compose file turned into its containers' specs, and the probe's spec.

use super::*;
use assay_compose::{GoDuration, Located};
use std::time::Duration;

/// The plan of service `name`: its containers (one per replica) and what they wait for.
pub(super) fn service_plan(
    ctx: &Ctx,
    name: &String,
    volumes: &mut Vec<VolumeSpec>,
    diags: &mut Vec<Diagnostic>,
) -> ServicePlan {
    let project = ctx.project;
    let inputs = ctx.inputs;
    let prefix = &ctx.prefix;
    let base_labels = &ctx.base_labels;
    let s = &project.services[name];
    let cname = format!("{prefix}-{}-1", docker_safe(name));
    let is_webapp = *name == inputs.webapp_service;
    let image = if is_webapp {
        inputs.webapp_image.clone()
    } else {
        match &s.image {
            Some(i) => i.value.clone(),
            None => {
                diags.push(
                    Diagnostic::error(format!(
                        "service `{name}` has no image; assay builds only the handout webapp"
                    ))
                    .at(s.location.clone()),
                );
                String::new()
            }
        }
    };

    let mut labels_map: HashMap<String, String> = s
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("dev.assay.") && !k.starts_with("com.docker.compose."))
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    labels_map.extend(base_labels.clone());
    labels_map.insert(COMPOSE_SERVICE.into(), name.clone());
    labels_map.insert(COMPOSE_NUMBER.into(), "1".into());
    labels_map.insert(ROLE_LABEL.into(), "service".into());

    let env: Vec<String> = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.value.as_ref().map(|v| format!("{k}={v}")))
        .collect();

    let attachments = networks::attachments(ctx, name, s, diags);
    let (mut mounts, bind_files) = volumes::mounts(ctx, name, s, volumes, diags);
    let mut files = files::copied_files(ctx, s, diags);
    files.extend(bind_files);
    volumes::read_only_file_dirs(ctx, name, s, &files, &mut mounts, volumes, diags);

    let healthcheck = s
        .healthcheck
        .as_ref()
        .and_then(|h| health_config(name, h, diags));
    let has_healthcheck = healthcheck.as_ref().is_some_and(|h| {
        h.test
            .as_ref()
            .is_some_and(|t| t.first().is_some_and(|f| f != "NONE"))
    }) || (healthcheck.is_none() && image_has_healthcheck(&image));

    let restart_wanted = s
        .restart
        .as_ref()
        .map(|r| r.value.as_str())
        .or_else(|| {
            s.deploy
                .as_ref()
                .and_then(|d| d.restart_policy_condition.as_ref())
                .map(|c| {
                    if c.value == "none" {
                        "no"
                    } else {
                        "on-failure"
                    }
                })
        })
        .unwrap_or("no");
    let restart_max = match restart_wanted {
        "no" | "" => None,
        other => {
            let asked = other
                .strip_prefix("on-failure:")
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(inputs.limits.max_restarts);
            Some(asked.clamp(0, inputs.limits.max_restarts))
        }
    };

    let mut limits = inputs.limits.clone();
    if let Some(g) = &s.stop_grace_period {
        limits.stop_grace = g.value.duration().min(inputs.limits.stop_grace);
    }

    let depends_on: Vec<(String, Condition)> = s
        .depends_on
        .iter()
        .filter(|(d, _)| project.services.contains_key(d.as_str()))
        .map(|(d, dep)| (d.clone(), condition_of(&dep.value)))
        .collect();

    let spec = ContainerSpec {
        name: cname,
        service: name.clone(),
        image,
        env,
        cmd: s.command.as_ref().map(|c| c.value.clone()),
        entrypoint: s.entrypoint.as_ref().map(|c| c.value.clone()),
        user: s.user.as_ref().map(|u| u.value.clone()),
        working_dir: s.working_dir.as_ref().map(|u| u.value.clone()),
        hostname: s.hostname.as_ref().map(|u| u.value.clone()),
        healthcheck,
        labels: labels_map,
        mounts,
        networks: attachments,
        restart_max,
        stop_signal: s.stop_signal.as_ref().map(|u| u.value.clone()),
        init: s.init.as_ref().map(|u| u.value),
        read_only: s.read_only.as_ref().map(|u| u.value),
        files,
        limits,
    };
    let replicas = replicas_of(s);
    let containers = (1..=replicas).map(|n| spec.replica(n)).collect();
    ServicePlan {
        name: name.clone(),
        depends_on,
        has_healthcheck,
        containers,
        location: s.location.clone(),
    }
}

/// The probe: joins every run network, is driven by exec; read-only, killed at once. Its
/// main process is the run's disk meter (`assay-probe meter`): every run volume is mounted
/// read-only (never copied into) at [`meter_path`]`(i)`, in the plan's order, and measured
/// every second into the container's log, where the abuse watch reads it.
pub(super) fn probe_spec(
    ctx: &Ctx,
    networks: &[NetworkSpec],
    volumes: &[VolumeSpec],
) -> ContainerSpec {
    let inputs = ctx.inputs;
    let prefix = &ctx.prefix;
    let mut probe_labels = ctx.base_labels.clone();
    probe_labels.insert(ROLE_LABEL.into(), "probe".into());
    ContainerSpec {
        name: format!("{prefix}-probe"),
        service: "assay-probe".into(),
        image: inputs.probe_image.clone(),
        env: Vec::new(),
        cmd: Some(vec![
            "assay-probe".into(),
            "meter".into(),
            METER_DIR.into(),
            METER_EVERY.as_millis().to_string(),
        ]),
        entrypoint: Some(Vec::new()),
        user: None,
        working_dir: None,
        hostname: None,
        healthcheck: Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }),
        labels: probe_labels,
        mounts: volumes
            .iter()
            .enumerate()
            .map(|(i, v)| bollard::models::Mount {
                target: Some(meter_path(i)),
                source: Some(v.name.clone()),
                typ: Some(bollard::models::MountType::VOLUME),
                read_only: Some(true),
                volume_options: Some(bollard::models::MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        networks: networks
            .iter()
            .map(|n| Attachment {
                network: n.name.clone(),
                aliases: Vec::new(),
            })
            .collect(),
        restart_max: None,
        stop_signal: Some("SIGKILL".into()),
        init: None,
        read_only: Some(true),
        files: Vec::new(),
        limits: Limits {
            stop_grace: Duration::from_secs(1),
            ..inputs.limits.clone()
        },
    }
}

/// Where the probe container sees the run's volumes (read-only), for its disk meter.
pub const METER_DIR: &str = "/assay-meter";

/// How often the disk meter measures the run's volumes.
pub const METER_EVERY: Duration = Duration::from_secs(1);

/// The mount point of the run's `i`-th volume in the probe container.
pub fn meter_path(i: usize) -> String {
    format!("{METER_DIR}/{i}")
}

/// The shortest healthcheck interval, start interval and timeout a run gets: Docker runs
/// every check as an exec through the daemon, outside the container's limits, so a 1 ms
/// interval would keep the daemon busy for the whole host.
pub const HEALTH_FLOOR: Duration = Duration::from_secs(1);

fn health_config(
    service: &str,
    h: &Healthcheck,
    diags: &mut Vec<Diagnostic>,
) -> Option<HealthConfig> {
    if h.disable {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    // Parsed and checked at load (an invalid duration fails `compose.valid`).
    let dur = |v: &Option<Located<GoDuration>>| v.as_ref().map(|v| v.value.as_nanos_i64());
    let interval = dur(&h.interval);
    let timeout = dur(&h.timeout);
    let start_period = dur(&h.start_period);
    let start_interval = dur(&h.start_interval);
    // Raised to the floor, with a note (not a finding): the check still means what it says.
    let floor = HEALTH_FLOOR.as_nanos() as i64;
    let mut raise = |field: &str, v: Option<i64>, at: &Option<Located<GoDuration>>| {
        match v {
            // Zero means "Docker's default" (30 s), not "as often as possible".
            Some(n) if n > 0 && n < floor => {
                let shown = at.as_ref().map(|l| l.value.text()).unwrap_or_default();
                let mut d = Diagnostic::warning(format!(
                    "service `{service}`: healthcheck {field} `{shown}` was raised to {} s for this run (the daemon runs each check; a shorter {field} would load the whole grading host)",
                    HEALTH_FLOOR.as_secs()
                ));
                if let Some(l) = at {
                    d = d.at(l.location.clone());
                }
                diags.push(d);
                Some(floor)
            }
            other => other,
        }
    };
    let interval = raise("interval", interval, &h.interval);
    let timeout = raise("timeout", timeout, &h.timeout);
    let start_interval = raise("start_interval", start_interval, &h.start_interval);
    Some(HealthConfig {
        test: h.test.as_ref().map(|t| t.value.clone()),
        interval,
        timeout,
        start_period,
        start_interval,
        retries: h.retries.as_ref().map(|r| r.value.clamp(0, 1000)),
    })
}

/// Postgres images (ours and the stand-ins) ship no HEALTHCHECK; the webapp image neither.
/// Only a compose healthcheck counts, so this is false; kept as one place to change.
fn image_has_healthcheck(_image: &str) -> bool {
    false
}

fn condition_of(d: &Dependency) -> Condition {
    Condition::parse(&d.condition).unwrap_or(Condition::Started)
}

/// Replicas asked by `deploy.replicas` or `scale`, between 1 and 3 (assay runs no more; the
/// rule's home is [`assay_core::budget::replicas_run`]).
fn replicas_of(s: &Service) -> usize {
    assay_core::budget::replicas_run(s.declared_replicas())
}
