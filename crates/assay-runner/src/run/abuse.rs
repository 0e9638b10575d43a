//! What a submission's containers do to the host, for every service (not only the db and the
//! webapp), over all scenario runs of one grading together: OOM kills, restarts, pids at the
//! limit, CPU throttled at the quota, bytes written to volumes and writable layers.
//!
//! One [`Watch`] per grading samples every container of its runs every [`SAMPLE_EVERY`]
//! (`list`, one `stats` each, the `oom` events) and once more before each run is torn down
//! (`inspect`: restart counts). Disk has no quota on this kind of host (fuse-overlayfs, local
//! volumes), so it is the one budget enforced by measuring: when the bytes written by all runs
//! together cross `limits.disk_bytes`, the watch stops the runs (their cancel token).
//!
//! The run's volumes are measured by the run's own disk meter: the probe container mounts
//! them read-only and its main process (`assay-probe meter`) walks them every
//! [`crate::plan::METER_EVERY`], printing one line to its log, which the watch reads every
//! [`METER_READ_EVERY`]: a crossing is seen within about two seconds, without asking the
//! daemon. The daemon is asked for writable layers (`list` with sizes) and volumes the meter
//! does not see (an image's own `VOLUME`s, `/system/df`) only when [`Sizing`] says so,
//! because on this kind of host both make it walk every container's whole filesystem (about a
//! second of the daemon's CPU per Postgres container; asked every 10 s, this was a third of a
//! `--jobs 4` batch's CPU). Each meter line carries the use of the daemon's data-root
//! filesystem, where every writable layer lives: the daemon is asked when that use grew by an
//! eighth of the budget beyond the metered volumes' growth (a flood into a writable layer is
//! seen about two seconds after it passes that eighth, plus the daemon's answer: a second or
//! two on this kind of host), at a run's end when it grew so, at least once a minute, and
//! every [`SIZED_EVERY`] while no meter reports it. A service that abuses the host ([`Abuse`]: OOM
//! kills, pids at the limit) has decided the verdict: the runs go on for [`ABUSE_WINDOW`] so
//! the other services show what they do, then stop, so a fork bomb does not load the host for
//! the whole deadline. What the watch saw becomes `runtime.up`'s finding or notes (smaller
//! signs: restarts, CPU held at its quota, half the pids, an eighth of the disk budget).

use super::Failure;
use assay_core::display::{self, human_bytes};
use assay_core::{Diagnostic, RunBudget};
use assay_sandbox::{labels, Engine};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Time between two samples of a grading's containers.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Time between two readings of the runs' disk meters (a log call each).
pub const METER_READ_EVERY: Duration = Duration::from_secs(1);

/// Time between two measurements that make the daemon walk filesystems (writable layers and
/// the volumes the meter does not see) when no meter reports the filesystem's use.
pub const SIZED_EVERY: Duration = Duration::from_secs(10);

/// One part in this many of the disk budget: from there the report notes the stack's disk use,
/// and with a meter reporting the filesystem's use, the daemon is asked again once that use
/// grew, beyond what the grading's metered volumes explain, by as much since its last answer
/// ...
pub const DISK_NOTE_SHARE: u64 = 8;

/// ... but not sooner than this after its last answer (one answer takes the daemon about a
/// second per container on this kind of host) ...
pub const SIZED_GAP: Duration = Duration::from_secs(2);

/// ... and in any case this long after it (space freed by others beside the grading can hide
/// some of its writes from the filesystem's figure).
pub const SIZED_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// A service throttled in at least this share of its CPU periods spins at its quota. A note,
/// not an abuse: the quota already holds it (and a side service's share is small, so a heavy
/// but honest program — a JVM starting — would look the same).
const SPIN_SHARE: f64 = 0.5;
/// ... over at least this many periods (100 ms each: 3 s of running).
const SPIN_PERIODS: u64 = 30;

/// How long the runs go on once a service abused the host, for the others to show.
pub const ABUSE_WINDOW: Duration = Duration::from_secs(6);

/// What one service did, worst of all its containers and samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signs {
    /// Processes of the service the kernel killed at its memory limit (`oom` events).
    pub oom_kills: u32,
    pub restarts: i64,
    pub pids_peak: u64,
    pub pids_limit: u64,
    /// CFS periods run and throttled (cumulative, summed over containers).
    pub periods: u64,
    pub throttled: u64,
    pub memory_peak: u64,
    pub memory_limit: u64,
    /// Bytes in the writable layers of its containers (last sample).
    pub layer_bytes: u64,
}

/// The grading's disk use when it was largest.
#[derive(Debug, Clone, Default, PartialEq)]
struct Disk {
    total: u64,
    /// Who held the bytes at that moment: `service \`x\` (writable layer)` / `volume \`v\``.
    holders: Vec<(String, u64)>,
}

/// A sign that fails `runtime.up`: the service, what it did, the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Abuse {
    pub service: String,
    pub what: String,
}

/// A run's disk meter: the probe container whose log carries the sizes of the run's volumes.
#[derive(Debug, Clone)]
pub struct Meter {
    /// The probe container.
    pub container: String,
    /// The run's volumes in the meter's order (Docker names).
    pub volumes: Vec<String>,
}

/// What the meter of one run said last.
#[derive(Debug, Clone, Default)]
struct MeterReading {
    meter: Option<Meter>,
    /// Bytes per volume (Docker name), from the latest pass.
    bytes: BTreeMap<String, u64>,
    /// Passes read so far (0: the meter has not spoken yet).
    pass: u64,
    /// The latest pass stopped at the meter's entry cap: its bytes are a lower bound.
    capped: bool,
    /// Bytes in use on the daemon's data-root filesystem at the latest pass, and at the
    /// meter's first (taken as the probe started), when reported.
    fs_used: Option<u64>,
    fs_first: Option<u64>,
    /// When a new pass was last read.
    read_at: Option<std::time::Instant>,
    /// The daemon's sized answers of the grading when this run was registered.
    asks_before: u32,
}

/// When to ask the daemon for the sizes that make it walk filesystems (writable layers, the
/// volumes no meter sees). Every write of a run lands on the daemon's data-root filesystem, so
/// its use, which the meters report every pass at no cost to the daemon, bounds what the
/// writable layers can have gained since the daemon's last answer: the use's growth beyond
/// the growth of the metered volumes, from its lowest point since then (space freed beside
/// the grading starts a new lowest point, keeping what had grown until then, so a free never
/// hides a write before or after it). Before the daemon's first
/// answer the point is the meter's first figure, taken as the probe container started, right
/// after the run's first service (the probe does not delay the db's start): what a service
/// wrote before that moment is not in the growth, only in the daemon's answers. That cannot
/// hide a crossing of the budget — the growth after the moment then reaches the trigger
/// long before — but a smaller total may miss its note. The daemon is asked when
/// that growth reaches a [`DISK_NOTE_SHARE`] of the budget (no sooner than [`SIZED_GAP`]
/// after its last answer), at least every [`SIZED_AT_LEAST_EVERY`], and every [`SIZED_EVERY`]
/// while no meter reports the filesystem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sizing {
    /// When the daemon last answered (`None`: not yet; the watch's start counts then).
    last: Option<std::time::Instant>,
    /// The lowest `(filesystem use, metered bytes)` seen since then.
    low: Option<(u64, u64)>,
    /// Growth counted before the use last fell below `low` (space freed beside the grading
    /// starts a new low, but keeps what had grown until then).
    carried: u64,
    /// The growth at the previous reading.
    previous: u64,
}

impl Sizing {
    /// Whether to ask the daemon now: `fs` is the latest filesystem use with the meters'
    /// first figure, `metered` the metered volumes' bytes now, `since` the time since the
    /// daemon's last answer (or the watch's start).
    fn due(
        &mut self,
        fs: Option<(u64, Option<u64>)>,
        metered: u64,
        since: Duration,
        trigger: u64,
    ) -> bool {
        match self.grown(fs, metered) {
            None => since >= SIZED_EVERY,
            Some(grown) => {
                since >= SIZED_AT_LEAST_EVERY || (grown >= trigger && since >= SIZED_GAP)
            }
        }
    }

    /// How much the filesystem's use grew beyond the metered volumes since the daemon's last
    /// answer (from the lowest point since then); `None` without a filesystem figure. A
    /// metered volume that shrank explains no growth elsewhere: a file deleted in a volume
    /// while a writable layer grows by as much still counts as growth.
    fn grown(&mut self, fs: Option<(u64, Option<u64>)>, metered: u64) -> Option<u64> {
        let (used, first) = fs?;
        let low = match (self.low, first) {
            (Some((u, m)), _) if u <= used => (u, m),
            (Some(_), _) => {
                self.carried = self.previous;
                (used, metered)
            }
            (None, Some(f)) if f <= used => (f, 0),
            (None, _) => (used, metered),
        };
        self.low = Some(low);
        let fs_growth = i128::from(used) - i128::from(low.0);
        let metered_growth = i128::from(metered) - i128::from(low.1);
        let since_low = u64::try_from((fs_growth - metered_growth).max(0)).unwrap_or(u64::MAX);
        self.previous = self.carried.saturating_add(since_low);
        Some(self.previous)
    }

    /// The daemon answered now; `fs_used` and `metered` are the readings it answered for.
    fn answered(&mut self, fs_used: Option<u64>, metered: u64) {
        self.last = Some(std::time::Instant::now());
        self.low = fs_used.map(|u| (u, metered));
        self.carried = 0;
        self.previous = 0;
    }
}

/// The watch over one grading's runs.
#[derive(Debug)]
pub struct Watch {
    budget: RunBudget,
    /// The db and the webapp services.
    essential: Vec<String>,
    /// Cancelled when a budget is crossed: both runs stop and tear down.
    stop: CancellationToken,
    /// Run ids under watch, with when each started (Unix seconds, for the `oom` events).
    runs: Mutex<BTreeMap<String, i64>>,
    /// OOM kills per run and service.
    ooms: Mutex<BTreeMap<(String, String), u32>>,
    /// When the first abuse was seen.
    first_abuse: Mutex<Option<std::time::Instant>>,
    /// Per service, per container name: the latest figures.
    seen: Mutex<BTreeMap<String, BTreeMap<String, Signs>>>,
    disk: Mutex<Disk>,
    crossed: Mutex<Option<Failure>>,
    /// Set when volumes could not be measured (not a local socket, or the call failed).
    unmeasured: Mutex<Option<String>>,
    /// The first run's disk meter that ended without a reading (its probe container), and
    /// how many times the daemon answered sizes while that run lasted.
    silent_meter: Mutex<Option<(String, u32)>>,
    /// How many times the daemon was asked for sizes (writable layers, volumes).
    sized_asks: std::sync::atomic::AtomicU32,
    /// Per run: its disk meter and what it said last.
    meters: Mutex<BTreeMap<String, MeterReading>>,
    /// Volumes the meters do not see (an image's own `VOLUME`s), from the daemon's last disk
    /// usage answer: Docker name → (as shown, bytes).
    unmetered: Mutex<BTreeMap<String, (String, u64)>>,
    /// When to ask the daemon for sizes next.
    sizing: Mutex<Sizing>,
}

impl Watch {
    pub fn new(budget: RunBudget, essential: Vec<String>, stop: CancellationToken) -> Watch {
        Watch {
            budget,
            essential,
            stop,
            runs: Mutex::new(BTreeMap::new()),
            ooms: Mutex::new(BTreeMap::new()),
            first_abuse: Mutex::new(None),
            seen: Mutex::new(BTreeMap::new()),
            disk: Mutex::new(Disk::default()),
            crossed: Mutex::new(None),
            unmeasured: Mutex::new(None),
            silent_meter: Mutex::new(None),
            sized_asks: std::sync::atomic::AtomicU32::new(0),
            meters: Mutex::new(BTreeMap::new()),
            unmetered: Mutex::new(BTreeMap::new()),
            sizing: Mutex::new(Sizing::default()),
        }
    }

    /// The token the runs of this grading must obey (cancelled on a crossed budget).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Puts run `run_id` under watch, with its disk meter (none: its volumes are measured by
    /// the daemon only, every [`SIZED_EVERY`]).
    pub fn register(&self, run_id: &str, meter: Option<Meter>) {
        if let Ok(mut m) = self.meters.lock() {
            m.insert(
                run_id.to_string(),
                MeterReading {
                    meter,
                    asks_before: self.sized_asks.load(std::sync::atomic::Ordering::Relaxed),
                    ..Default::default()
                },
            );
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        if let Ok(mut r) = self.runs.lock() {
            // A second early: event times are whole seconds.
            r.insert(run_id.to_string(), now - 1);
        }
    }

    /// The budget crossing that stopped the runs, if any.
    pub fn crossed(&self) -> Option<Failure> {
        self.crossed.lock().ok().and_then(|c| c.clone())
    }

    /// Samples until dropped (the caller selects it against the runs): the meters every
    /// [`METER_READ_EVERY`], the containers every [`SAMPLE_EVERY`], the daemon's sizes when
    /// [`Sizing`] says.
    pub async fn watch(&self, engine: &Engine) {
        let tick = METER_READ_EVERY;
        let sample_every = (SAMPLE_EVERY.as_millis() / tick.as_millis()).max(1) as u32;
        let started = std::time::Instant::now();
        for n in 1u32.. {
            tokio::time::sleep(tick).await;
            if self.stop.is_cancelled() {
                // Stopped: the runs are tearing down; nothing more to learn.
                std::future::pending::<()>().await;
            }
            self.read_meters(engine).await;
            let asked = self.sizes_due(Some(started));
            let sized = asked.is_some();
            if sized || n % sample_every == 0 {
                self.sample(engine, sized).await;
            }
            self.measure_disk(engine, sized).await;
            self.sizes_answered(asked);
            self.stop_after_abuse();
        }
    }

    /// Whether to ask the daemon for sizes now, from the meters' latest readings (read them
    /// first): by [`Sizing::due`] while the watch runs (`started`: when it started), on growth
    /// alone at a run's end (`None`). `Some` holds the readings to give [`Watch::sizes_answered`].
    fn sizes_due(&self, started: Option<std::time::Instant>) -> Option<(Option<u64>, u64)> {
        let (fs, metered) = self.fs_reading();
        let trigger = self.budget.disk_bytes / DISK_NOTE_SHARE;
        let mut s = self.sizing.lock().ok()?;
        let due = match started {
            Some(t) => {
                let since = s.last.unwrap_or(t).elapsed();
                s.due(fs, metered, since, trigger)
            }
            None => s.grown(fs, metered).is_some_and(|g| g >= trigger),
        };
        due.then_some((fs.map(|f| f.0), metered))
    }

    /// The daemon answered the sizes [`Watch::sizes_due`] asked for (nothing when `None`).
    fn sizes_answered(&self, asked: Option<(Option<u64>, u64)>) {
        if asked.is_some() {
            self.sized_asks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let (Some((fs_used, metered)), Ok(mut s)) = (asked, self.sizing.lock()) {
            s.answered(fs_used, metered);
        }
    }

    /// The data-root filesystem's use as the meters last reported it (the latest pass read of
    /// any run: they share the filesystem) with the lowest of their first figures, and the
    /// bytes of the grading's metered volumes now.
    fn fs_reading(&self) -> (Option<(u64, Option<u64>)>, u64) {
        let Ok(m) = self.meters.lock() else {
            return (None, 0);
        };
        // A meter whose passes stopped coming (a walk of a huge volume takes seconds) says
        // nothing of now: without a fresh figure the daemon is asked every SIZED_EVERY.
        let used = m
            .values()
            .filter(|r| r.fs_used.is_some())
            .filter(|r| r.read_at.is_some_and(|t| t.elapsed() < SIZED_EVERY))
            .max_by_key(|r| r.read_at)
            .and_then(|r| r.fs_used);
        let first = m.values().filter_map(|r| r.fs_first).min();
        let metered = m.values().flat_map(|r| r.bytes.values()).sum();
        (used.map(|u| (u, first)), metered)
    }

    /// Reads the latest line of every run's disk meter.
    async fn read_meters(&self, engine: &Engine) {
        let meters: Vec<(String, Meter)> = self
            .meters
            .lock()
            .map(|m| {
                m.iter()
                    .filter_map(|(run, r)| Some((run.clone(), r.meter.clone()?)))
                    .collect()
            })
            .unwrap_or_default();
        let reads = meters.iter().map(|(run, meter)| async move {
            // Two lines: the last one may be cut by the log's own framing.
            let log = engine.logs_tail(&meter.container, 2).await.ok()?;
            let line = log
                .lines()
                .rev()
                .filter_map(assay_probe::meter::MeterLine::parse)
                .find(|l| l.volumes.len() == meter.volumes.len())?;
            Some((run.clone(), line))
        });
        let read = futures_util::future::join_all(reads).await;
        if let Ok(mut m) = self.meters.lock() {
            for (run, line) in read.into_iter().flatten() {
                let Some(r) = m.get_mut(&run) else { continue };
                let Some(meter) = r.meter.as_ref() else {
                    continue;
                };
                if line.pass < r.pass {
                    continue;
                }
                if line.pass > r.pass {
                    r.read_at = Some(std::time::Instant::now());
                }
                r.bytes = meter
                    .volumes
                    .iter()
                    .zip(&line.volumes)
                    .map(|(name, u)| (name.clone(), u.bytes))
                    .collect();
                r.pass = line.pass;
                r.capped = line.volumes.iter().any(|u| u.capped);
                r.fs_used = line.fs_used;
                r.fs_first = line.fs_first;
            }
        }
    }

    /// Once a service abused the host, lets the runs go on for [`ABUSE_WINDOW`], then stops
    /// them: the verdict is decided.
    fn stop_after_abuse(&self) {
        let (abuses, _) = self.verdict();
        let Some(first) = abuses.first() else {
            return;
        };
        let Ok(mut seen) = self.first_abuse.lock() else {
            return;
        };
        let since = *seen.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() < ABUSE_WINDOW {
            return;
        }
        if let Ok(mut c) = self.crossed.lock() {
            if c.is_none() {
                *c = Some(Failure::new(format!(
                    "the stack abused the grading host: {}; the runs were stopped {} s later (the verdict was decided)",
                    first.what,
                    ABUSE_WINDOW.as_secs()
                )));
            }
        }
        self.stop.cancel();
    }

    /// One last look at run `run_id` before its teardown: the disk meter, `inspect` of each
    /// container (OOM kills and restart counts; the periodic samples gave the stats) and the
    /// `oom` events.
    /// Writable layers are measured here only when the filesystem grew enough since the
    /// daemon's last answer ([`Sizing`]; a short run can end before the periodic look asks):
    /// on a naive-diff storage driver (fuse-overlayfs) the daemon walks each container's
    /// whole filesystem for that, seconds per run, and the teardown waits for it.
    pub async fn finish_run(&self, engine: &Engine, run_id: &str) {
        self.read_meters(engine).await;
        let asked = self.sizes_due(None);
        let sized = asked.is_some();
        self.sample_run(engine, run_id, true, sized).await;
        self.measure_disk(engine, sized).await;
        self.sizes_answered(asked);
        let silent = self.meters.lock().ok().and_then(|m| {
            let r = m.get(run_id)?;
            let meter = r.meter.as_ref()?;
            let asks = self
                .sized_asks
                .load(std::sync::atomic::Ordering::Relaxed)
                .saturating_sub(r.asks_before);
            (r.pass == 0 && !meter.volumes.is_empty()).then(|| (meter.container.clone(), asks))
        });
        if let (Some(probe), Ok(mut s)) = (silent, self.silent_meter.lock()) {
            s.get_or_insert(probe);
        }
    }

    /// Samples every container of every run; `sized` adds the writable layers.
    async fn sample(&self, engine: &Engine, sized: bool) {
        let runs: Vec<String> = self
            .runs
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let each = runs
            .iter()
            .map(|r| self.sample_run(engine, r, false, sized));
        futures_util::future::join_all(each).await;
    }

    /// Samples every service container of run `run_id` (errors are skipped: a container may
    /// go away between the list and the stats; the next sample tries again).
    async fn sample_run(&self, engine: &Engine, run_id: &str, inspect: bool, sized: bool) {
        let label = format!("{}={run_id}", labels::RUN);
        let listed = if sized {
            engine.list_containers_sized(&label).await
        } else {
            engine.list_containers(&label).await
        };
        let Ok(listed) = listed else {
            return;
        };
        let containers: Vec<(String, String, u64, bool)> = listed
            .into_iter()
            .filter_map(|c| {
                let service = c.labels.as_ref()?.get(labels::COMPOSE_SERVICE)?.clone();
                let name = c.names?.first()?.trim_start_matches('/').to_string();
                let running = c.state.as_ref().is_some_and(|s| {
                    matches!(
                        s,
                        bollard::models::ContainerSummaryStateEnum::RUNNING
                            | bollard::models::ContainerSummaryStateEnum::PAUSED
                    )
                });
                Some((
                    service,
                    name,
                    c.size_rw.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    running,
                ))
            })
            .collect();
        let reads = containers
            .iter()
            .map(|(service, name, layer, running)| async move {
                let mut s = Signs {
                    layer_bytes: *layer,
                    ..Default::default()
                };
                // The last look before a teardown inspects only: a one-shot `stats` costs the
                // daemon up to half a second per container, and the teardown would wait for it.
                if *running && !inspect {
                    if let Ok(Some(st)) = engine.stats_once(name).await {
                        read_stats(&st, &mut s);
                    }
                }
                if inspect {
                    if let Ok(info) = engine.inspect_container(name).await {
                        s.restarts = info.restart_count.unwrap_or(0);
                        if info.state.as_ref().and_then(|st| st.oom_killed) == Some(true) {
                            s.oom_kills = 1;
                        }
                    }
                }
                (service.clone(), name.clone(), s)
            });
        let read = futures_util::future::join_all(reads).await;
        if let Ok(mut seen) = self.seen.lock() {
            for (service, name, s) in read {
                let slot = seen.entry(service).or_default().entry(name).or_default();
                let layer = slot.layer_bytes;
                merge(slot, &s);
                if !sized {
                    slot.layer_bytes = layer;
                }
            }
        }
        let since = self.runs.lock().ok().and_then(|r| r.get(run_id).copied());
        if let Some(since) = since {
            if let Ok(killed) = engine.oom_events(&label, since).await {
                let mut counts: BTreeMap<(String, String), u32> = BTreeMap::new();
                for service in killed {
                    *counts.entry((run_id.to_string(), service)).or_default() += 1;
                }
                if let Ok(mut ooms) = self.ooms.lock() {
                    for (k, n) in counts {
                        let slot = ooms.entry(k).or_default();
                        *slot = (*slot).max(n);
                    }
                }
            }
        }
    }

    /// Adds up volumes (the meters' latest figures, and the daemon's for the volumes no meter
    /// sees, asked when `ask_daemon`) and writable layers (the last sized sample), and stops
    /// the runs when the disk budget is crossed.
    async fn measure_disk(&self, engine: &Engine, ask_daemon: bool) {
        let runs: BTreeSet<String> = self
            .runs
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let mut holders: Vec<(String, u64)> = Vec::new();
        if let Ok(seen) = self.seen.lock() {
            for (service, containers) in seen.iter() {
                let bytes: u64 = containers.values().map(|s| s.layer_bytes).sum();
                if bytes > 0 {
                    holders.push((
                        format!("service `{}` (writable layers)", display::name(service)),
                        bytes,
                    ));
                }
            }
        }
        let metered: BTreeMap<String, u64> = self
            .meters
            .lock()
            .map(|m| {
                m.values()
                    .flat_map(|r| r.bytes.iter().map(|(n, b)| (n.clone(), *b)))
                    .collect()
            })
            .unwrap_or_default();
        if ask_daemon {
            match volume_sizes(engine).await {
                Ok(Some(sizes)) => {
                    let ours = run_volumes(engine, &runs).await;
                    let others: BTreeMap<String, (String, u64)> = sizes
                        .iter()
                        .filter(|(name, _)| !self.is_metered(name))
                        .filter_map(|(name, bytes)| {
                            Some((name.clone(), (ours.get(name)?.clone(), *bytes)))
                        })
                        .collect();
                    if let Ok(mut u) = self.unmetered.lock() {
                        *u = others;
                    }
                }
                Ok(None) => self.set_unmeasured(
                    "volumes no meter sees were not measured: the daemon is not on a local socket"
                        .into(),
                ),
                Err(e) => {
                    self.set_unmeasured(format!("volumes no meter sees could not be measured: {e}"))
                }
            }
        }
        for (name, bytes) in metered {
            if bytes > 0 {
                let run = self.run_of_volume(&name);
                holders.push((
                    format!(
                        "volume `{}`",
                        display::name(&shown_volume(&name, run.as_deref().unwrap_or("")))
                    ),
                    bytes,
                ));
            }
        }
        if let Ok(u) = self.unmetered.lock() {
            for (shown, bytes) in u.values() {
                if *bytes > 0 {
                    holders.push((shown.clone(), *bytes));
                }
            }
        }
        let total: u64 = holders.iter().map(|(_, b)| b).sum();
        holders.sort_by_key(|h| std::cmp::Reverse(h.1));
        if let Ok(mut d) = self.disk.lock() {
            if total >= d.total {
                *d = Disk {
                    total,
                    holders: holders.clone(),
                };
            }
        }
        if total > self.budget.disk_bytes {
            let top: Vec<String> = holders
                .iter()
                .take(3)
                .map(|(who, b)| format!("{who} {}", human_bytes(*b)))
                .collect();
            let failure = Failure::new(format!(
                "the stack wrote {} to disk, over the grading budget of {} (rubric `limits.disk_bytes`, all scenario runs together): {}; the runs were stopped",
                human_bytes(total),
                human_bytes(self.budget.disk_bytes),
                top.join(", ")
            ));
            if let Ok(mut c) = self.crossed.lock() {
                if c.is_none() {
                    *c = Some(failure);
                }
            }
            self.stop.cancel();
        }
    }

    /// True when a run's meter measures volume `name`.
    fn is_metered(&self, name: &str) -> bool {
        self.run_of_volume(name).is_some()
    }

    /// The run whose meter measures volume `name`.
    fn run_of_volume(&self, name: &str) -> Option<String> {
        let m = self.meters.lock().ok()?;
        m.iter()
            .find(|(_, r)| {
                r.meter
                    .as_ref()
                    .is_some_and(|meter| meter.volumes.iter().any(|v| v == name))
            })
            .map(|(run, _)| run.clone())
    }

    fn set_unmeasured(&self, why: String) {
        if let Ok(mut u) = self.unmeasured.lock() {
            u.get_or_insert(why);
        }
    }

    /// What the watch saw: abuses (each fails `runtime.up`) and notes (smaller signs, and
    /// what could not be measured).
    pub fn verdict(&self) -> (Vec<Abuse>, Vec<Diagnostic>) {
        let mut abuses = Vec::new();
        let mut notes = Vec::new();
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let ooms = self.ooms.lock().map(|o| o.clone()).unwrap_or_default();
        for (service, containers) in &seen {
            let mut all = Signs {
                oom_kills: ooms
                    .iter()
                    .filter(|((_, s), _)| s == service)
                    .map(|(_, n)| n)
                    .sum(),
                ..Default::default()
            };
            for s in containers.values() {
                all.restarts += s.restarts;
                all.pids_peak = all.pids_peak.max(s.pids_peak);
                all.pids_limit = all.pids_limit.max(s.pids_limit);
                all.periods += s.periods;
                all.throttled += s.throttled;
                all.memory_peak = all.memory_peak.max(s.memory_peak);
                all.memory_limit = all.memory_limit.max(s.memory_limit);
            }
            let (a, n) = judge(service, &all, self.essential.contains(service));
            abuses.extend(a);
            notes.extend(n);
        }
        let disk = self.disk.lock().map(|d| d.clone()).unwrap_or_default();
        // Worth a reviewer's eye from an eighth of the budget on (Postgres's first start
        // writes ~40 MiB per run).
        if disk.total * DISK_NOTE_SHARE > self.budget.disk_bytes
            && disk.total <= self.budget.disk_bytes
        {
            let top: Vec<String> = disk
                .holders
                .iter()
                .take(3)
                .map(|(who, b)| format!("{who} {}", human_bytes(*b)))
                .collect();
            notes.push(Diagnostic::info(format!(
                "the stack wrote {} to disk at most (grading budget {}): {}",
                human_bytes(disk.total),
                human_bytes(self.budget.disk_bytes),
                top.join(", ")
            )));
        }
        let capped = self
            .meters
            .lock()
            .map(|m| m.values().any(|r| r.capped))
            .unwrap_or(false);
        if capped {
            notes.push(Diagnostic::info(format!(
                "a volume holds more than {} files and directories: the disk meter counted that many, so its figure is a lower bound",
                assay_probe::meter::ENTRY_CAP
            )));
        }
        // What was measured instead, said as it happened: a grading shorter than the daemon's
        // first sample measured nothing that way.
        let times = |n: u32| match n {
            0 => None,
            1 => Some("once".to_string()),
            n => Some(format!("{n} times")),
        };
        let asked = times(self.sized_asks.load(std::sync::atomic::Ordering::Relaxed));
        if let Some((probe, asks)) = self.silent_meter.lock().ok().and_then(|m| m.clone()) {
            // Only the answers while that run lasted measured it.
            notes.push(Diagnostic::info(match times(asks) {
                Some(t) => format!(
                    "disk budget: a run's disk meter (container {probe}) gave no reading; the daemon was asked for the sizes of volumes and writable layers instead ({t})"
                ),
                None => format!(
                    "disk budget: a run's disk meter (container {probe}) gave no reading, and the grading ended before the daemon was asked for sizes (every {} s without a meter's reading): its disk use was not measured",
                    SIZED_EVERY.as_secs()
                ),
            }));
        }
        if let Some(u) = self.unmeasured.lock().ok().and_then(|u| u.clone()) {
            notes.push(Diagnostic::info(match &asked {
                Some(t) => format!(
                    "disk budget: {u}; writable layers were measured (the daemon was asked {t})"
                ),
                None => format!(
                    "disk budget: {u}; writable layers were not measured either (the grading ended before the daemon was asked)"
                ),
            }));
        }
        (abuses, notes)
    }
}

/// The daemon's volume sizes, shared by every watch of this process: the daemon runs one disk
/// usage operation at a time (a second gets HTTP 500 "already running"), so calls are made
/// one at a time and an answer younger than [`DF_FRESH`] is reused; "already running" (another
/// program asked) is tried again a few times.
async fn volume_sizes(
    engine: &Engine,
) -> Result<
    Option<std::sync::Arc<std::collections::HashMap<String, u64>>>,
    assay_sandbox::EngineError,
> {
    type Sizes = std::sync::Arc<std::collections::HashMap<String, u64>>;
    static LAST: tokio::sync::Mutex<Option<(std::time::Instant, Sizes)>> =
        tokio::sync::Mutex::const_new(None);
    let mut last = LAST.lock().await;
    if let Some((at, sizes)) = last.as_ref() {
        if at.elapsed() < DF_FRESH {
            return Ok(Some(sizes.clone()));
        }
    }
    let mut tries = 0;
    loop {
        match engine.volume_sizes().await {
            Ok(Some(sizes)) => {
                let sizes = std::sync::Arc::new(sizes);
                *last = Some((std::time::Instant::now(), sizes.clone()));
                return Ok(Some(sizes));
            }
            Ok(None) => return Ok(None),
            Err(e) if tries < 5 && e.to_string().contains("already running") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long one disk usage answer is reused.
const DF_FRESH: Duration = Duration::from_secs(1);

/// The names of the volumes the containers of `runs` mount, each as a reviewer reads it
/// (`volume \`data\``: the compose name when the run gave one, else the Docker name).
async fn run_volumes(engine: &Engine, runs: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for run in runs {
        let label = format!("{}={run}", labels::RUN);
        if let Ok(vols) = engine.list_volumes(&label).await {
            for v in vols {
                out.insert(
                    v.name.clone(),
                    format!("volume `{}`", display::name(&shown_volume(&v.name, run))),
                );
            }
        }
        if let Ok(cs) = engine.list_containers(&label).await {
            for c in cs {
                for m in c.mounts.unwrap_or_default() {
                    if let Some(name) = m.name {
                        let shown = format!(
                            "anonymous volume of {}",
                            m.destination.as_deref().unwrap_or("a container")
                        );
                        out.entry(name).or_insert(shown);
                    }
                }
            }
        }
    }
    out
}

/// `assay-<run>-v-<name>` → `<name>` (the plan's naming of a run's volumes).
fn shown_volume(docker_name: &str, run: &str) -> String {
    let rest = docker_name
        .strip_prefix(&format!("assay-{run}-"))
        .unwrap_or(docker_name);
    rest.strip_prefix("v-").unwrap_or(rest).to_string()
}

fn read_stats(st: &bollard::models::ContainerStatsResponse, s: &mut Signs) {
    if let Some(p) = &st.pids_stats {
        s.pids_peak = p.current.unwrap_or(0);
        s.pids_limit = p.limit.unwrap_or(0);
    }
    if let Some(t) = st
        .cpu_stats
        .as_ref()
        .and_then(|c| c.throttling_data.as_ref())
    {
        s.periods = t.periods.unwrap_or(0);
        s.throttled = t.throttled_periods.unwrap_or(0);
    }
    if let Some(m) = &st.memory_stats {
        s.memory_peak = m.max_usage.or(m.usage).unwrap_or(0);
        s.memory_limit = m.limit.unwrap_or(0);
    }
}

/// Keeps the worst of what a container showed: peaks stay peaks; cumulative counters keep the
/// latest (largest) value; the writable layer its latest size.
fn merge(slot: &mut Signs, s: &Signs) {
    slot.restarts = slot.restarts.max(s.restarts);
    slot.pids_peak = slot.pids_peak.max(s.pids_peak);
    slot.pids_limit = slot.pids_limit.max(s.pids_limit);
    slot.periods = slot.periods.max(s.periods);
    slot.throttled = slot.throttled.max(s.throttled);
    slot.memory_peak = slot.memory_peak.max(s.memory_peak);
    slot.memory_limit = slot.memory_limit.max(s.memory_limit);
    slot.layer_bytes = s.layer_bytes;
}

/// The abuses and notes of one service's signs.
fn judge(service: &str, s: &Signs, essential: bool) -> (Vec<Abuse>, Vec<Diagnostic>) {
    let name = format!("`{}`", display::name(service));
    let mut abuses = Vec::new();
    let mut notes = Vec::new();
    let mut abuse = |what: String| {
        abuses.push(Abuse {
            service: service.to_string(),
            what,
        })
    };
    if s.oom_kills > 0 {
        abuse(format!(
            "service {name} ran out of its memory limit of {}: the kernel killed {} of its processes (OOM; a memory hog)",
            human_bytes(s.memory_limit),
            match s.oom_kills {
                1 => "one".to_string(),
                n => n.to_string(),
            }
        ));
    }
    if s.pids_limit > 0 && s.pids_peak >= s.pids_limit {
        abuse(format!(
            "service {name} ran {} processes, its pids limit (a fork bomb, or a leak of processes)",
            s.pids_peak
        ));
    } else if s.pids_limit > 0 && s.pids_peak * 2 > s.pids_limit {
        notes.push(Diagnostic::info(format!(
            "service {name} ran up to {} processes (pids limit {})",
            s.pids_peak, s.pids_limit
        )));
    }
    let share = if s.periods > 0 {
        s.throttled as f64 / s.periods as f64
    } else {
        0.0
    };
    if s.periods >= SPIN_PERIODS && share >= SPIN_SHARE {
        notes.push(Diagnostic::info(format!(
            "service {name} used its whole CPU quota in {:.0} % of {} scheduling periods (it spins{})",
            share * 100.0,
            s.periods,
            if essential { "" } else { "; side services share limits.side_cpus" }
        )));
    } else if s.throttled > 0 && share >= 0.1 {
        notes.push(Diagnostic::info(format!(
            "service {name} was held at its CPU quota in {:.0} % of its scheduling periods",
            share * 100.0
        )));
    }
    if s.restarts > 0 {
        notes.push(Diagnostic::info(format!(
            "service {name} was restarted {} time{}",
            s.restarts,
            if s.restarts == 1 { "" } else { "s" }
        )));
    }
    (abuses, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GI: u64 = 10 << 30;
    const T: u64 = 256 * MIB;

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn notes_of(w: &Watch) -> Vec<String> {
        w.verdict().1.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn a_silent_meter_is_reported_as_measured_only_when_the_daemon_was_asked() {
        let w = Watch::new(RunBudget::default(), Vec::new(), CancellationToken::new());
        *w.silent_meter.lock().unwrap() = Some(("assay-r1-probe".into(), 0));
        // A run shorter than the daemon's first sample: nothing measured its disk.
        let notes = notes_of(&w);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("assay-r1-probe"), "{notes:?}");
        assert!(
            notes[0].contains("its disk use was not measured"),
            "{notes:?}"
        );
        // Answers the grading had, but not while that run lasted, measured nothing of it.
        w.sizes_answered(None);
        w.sizes_answered(Some((Some(1), 0)));
        assert!(notes_of(&w)[0].contains("not measured"));
        *w.silent_meter.lock().unwrap() = Some(("assay-r1-probe".into(), 1));
        let notes = notes_of(&w);
        assert!(
            notes[0].contains(
                "the daemon was asked for the sizes of volumes and writable layers instead (once)"
            ),
            "{notes:?}"
        );
        assert!(!notes[0].contains("not measured"), "{notes:?}");
    }

    #[test]
    fn without_a_filesystem_figure_the_daemon_is_asked_every_sized_every() {
        let mut s = Sizing::default();
        assert!(!s.due(None, 0, SIZED_EVERY - Duration::from_millis(1), T));
        assert!(s.due(None, 0, SIZED_EVERY, T));
    }

    #[test]
    fn the_daemon_is_asked_when_the_filesystem_grows_beyond_the_metered_volumes() {
        let mut s = Sizing::default();
        // The meter's first figure is the reference; nothing grew.
        assert!(!s.due(Some((GI, Some(GI))), 0, at(5), T));
        // 300 MiB more on the filesystem, all of it in a metered volume: explained.
        assert!(!s.due(Some((GI + 300 * MIB, Some(GI))), 300 * MIB, at(6), T));
        // 300 MiB more that no meter explains: a writable layer (or anyone) wrote it.
        assert!(s.due(Some((GI + 600 * MIB, Some(GI))), 300 * MIB, at(7), T));
        // ... but never sooner than SIZED_GAP after the daemon's last answer.
        s.answered(Some(GI + 600 * MIB), 300 * MIB);
        let more = Some((GI + 900 * MIB, Some(GI)));
        assert!(!s.due(more, 300 * MIB, at(1), T));
        assert!(s.due(more, 300 * MIB, SIZED_GAP, T));
        // A quiet grading is measured anyway every SIZED_AT_LEAST_EVERY.
        let mut q = Sizing::default();
        assert!(!q.due(Some((GI, Some(GI))), 0, SIZED_AT_LEAST_EVERY - at(1), T));
        assert!(q.due(Some((GI, Some(GI))), 0, SIZED_AT_LEAST_EVERY, T));
    }

    #[test]
    fn a_flood_before_the_watch_first_reads_counts_from_the_meters_first_figure() {
        // The services wrote 400 MiB into a writable layer before the watch read any line:
        // the latest pass already holds it, the first one (as the probe started) does not.
        let mut s = Sizing::default();
        assert!(s.due(Some((GI + 400 * MIB, Some(GI))), 0, at(3), T));
        // A meter without a first figure: the latest one is the reference.
        let mut o = Sizing::default();
        assert!(!o.due(Some((GI + 400 * MIB, None)), 0, at(3), T));
    }

    #[test]
    fn space_freed_beside_the_grading_does_not_hide_its_writes() {
        let mut s = Sizing::default();
        assert!(!s.due(Some((GI, Some(GI))), 0, at(3), T));
        // Another grading's teardown frees 1 GiB ...
        assert!(!s.due(Some((GI - 1024 * MIB, Some(GI))), 0, at(4), T));
        // ... then this grading writes 300 MiB into a writable layer: counted from the low.
        assert!(s.due(Some((GI - 724 * MIB, Some(GI))), 0, at(5), T));
        // Growth before a free is kept: 200 MiB written, 1 GiB freed beside, 100 MiB more.
        let mut k = Sizing::default();
        assert!(!k.due(Some((GI, Some(GI))), 0, at(3), T));
        assert!(!k.due(Some((GI + 200 * MIB, Some(GI))), 0, at(4), T));
        assert!(!k.due(Some((GI - 824 * MIB, Some(GI))), 0, at(5), T));
        assert!(k.due(Some((GI - 724 * MIB, Some(GI))), 0, at(6), T));
        // An answer starts the count again.
        k.answered(Some(GI - 724 * MIB), 0);
        assert!(!k.due(Some((GI - 700 * MIB, Some(GI))), 0, at(3), T));
        // A metered volume shrinking (a file deleted) is no growth either.
        let mut v = Sizing::default();
        assert!(!v.due(Some((GI, None)), 500 * MIB, at(3), T));
        assert!(!v.due(Some((GI - 400 * MIB, None)), 100 * MIB, at(4), T));
        assert!(!v.due(Some((GI - 300 * MIB, None)), 200 * MIB, at(5), T));
        // But a file deleted in a metered volume while a writable layer grows by as much:
        // the filesystem stands still, the growth is the layer's.
        let mut d = Sizing::default();
        assert!(!d.due(Some((GI, None)), 1024 * MIB, at(3), T));
        assert!(d.due(Some((GI, None)), 0, at(4), T));
    }

    #[test]
    fn a_fork_bomb_and_a_memory_hog_are_abuse() {
        let bomb = Signs {
            pids_peak: 64,
            pids_limit: 64,
            ..Default::default()
        };
        let (a, _) = judge("bomb", &bomb, false);
        assert!(a[0].what.contains("pids limit"), "{a:?}");
        let hog = Signs {
            oom_kills: 2,
            memory_limit: 128 << 20,
            ..Default::default()
        };
        let (a, _) = judge("hog", &hog, false);
        assert!(a[0].what.contains("128 MiB"), "{a:?}");
        assert!(a[0].what.contains("killed 2"), "{a:?}");
    }

    #[test]
    fn a_spinner_is_held_by_its_quota_and_named_in_a_note() {
        let spin = Signs {
            periods: 300,
            throttled: 290,
            ..Default::default()
        };
        let (a, n) = judge("spin", &spin, false);
        assert!(a.is_empty(), "{a:?}");
        assert!(n[0].message.contains("spins"), "{n:?}");
        let burst = Signs {
            periods: 20,
            throttled: 15,
            ..Default::default()
        };
        let (a, n) = judge("db", &burst, true);
        assert!(a.is_empty());
        assert!(n[0].message.contains("held at its CPU quota"), "{n:?}");
    }

    #[test]
    fn a_quiet_service_is_no_abuse_and_small_signs_are_notes() {
        let quiet = Signs {
            pids_peak: 3,
            pids_limit: 256,
            periods: 50,
            throttled: 1,
            ..Default::default()
        };
        assert_eq!(judge("db", &quiet, true), (Vec::new(), Vec::new()));
        let busy = Signs {
            pids_peak: 200,
            pids_limit: 256,
            restarts: 2,
            ..Default::default()
        };
        let (a, n) = judge("web", &busy, true);
        assert!(a.is_empty());
        assert_eq!(n.len(), 2, "{n:?}");
    }

    #[test]
    fn volume_names_lose_the_run_prefix() {
        assert_eq!(shown_volume("assay-r1a2b-data", "r1a2b"), "data");
        assert_eq!(shown_volume("assay-r1a2b-v-scratch", "r1a2b"), "scratch");
        assert_eq!(shown_volume("0123abcd", "r1a2b"), "0123abcd");
    }
}
