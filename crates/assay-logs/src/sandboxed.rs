//! Grading a candidate's own command: it runs in a container of the tools image
//! ([`assay_sandbox::tools_image`]) on logs assay generates itself, and the number it prints is
//! compared with the answer key, seed by seed; a wrong number is named after the trap it equals
//! ([`crate::grade`]).
//!
//! - **Post-hoc** ([`grade_command`]): one container per seed, the log copied in (archive API,
//!   nothing of the host mounted) as `access.log` in the working directory `/work`; the last
//!   number printed is the answer.
//! - **Live** ([`grade_live`]): `/work/access.log` starts empty; assay appends generated lines
//!   to it from a second container, renames it to `access.log.1` half way (a rotation) and goes
//!   on in a new `access.log`. When the appends end, the command's process group gets SIGTERM;
//!   the last number printed by then is the answer. The same appends go to a host file that
//!   [`crate::follow()`] reads at the same time, as a check of both.
//!
//! Every container: no network, no capabilities, no new privileges, read-only root filesystem,
//! a small `/tmp`, memory (no swap), CPU and pids limits, user nobody, a wall-clock limit
//! after which it is stopped (SIGTERM to the process group, SIGKILL after a grace period).
//! Everything carries assay's run labels ([`assay_sandbox::labels::for_run`]) so `assay gc`
//! finds what a killed grader left, and is removed at the end whatever happened.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_sandbox::{labels, Engine, EngineError};
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType};
use serde::Serialize;

use crate::count::Counts;
use crate::follow::{follow, FollowOptions};
use crate::generate::generate;
use crate::grade::{grade, Grade};
use crate::rule::Rule;

/// Where the log (and a `--script`) are, inside the container: the working directory.
pub const WORK_DIR: &str = "/work";
/// The name of a `--script` inside [`WORK_DIR`].
pub const SCRIPT_NAME: &str = "solution";
/// Largest `--script` accepted.
pub const MAX_SCRIPT: usize = 256 * 1024;

/// PID 1 of the candidate's container: starts the command in a session (and so a process group)
/// of its own, and passes a SIGTERM on to that whole group, then waits for it to end.
const WRAPPER: &str = r#"setsid "$@" &
child=$!
trap 'kill -TERM -- -"$child" 2>/dev/null' TERM
wait "$child"; status=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
exit "$status""#;

/// What the candidate gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A command line, run with `bash -c`.
    Command(String),
    /// A script file's bytes, copied in as [`SCRIPT_NAME`] and run as `./solution` (its `#!`
    /// line picks the interpreter; without one, bash runs it).
    Script(Vec<u8>),
}

impl Program {
    /// The container's command after the wrapper.
    fn argv(&self) -> Vec<String> {
        match self {
            Program::Command(c) => vec!["bash".into(), "-c".into(), c.clone()],
            Program::Script(s) if s.starts_with(b"#!") => vec![format!("./{SCRIPT_NAME}")],
            Program::Script(_) => vec!["bash".into(), format!("./{SCRIPT_NAME}")],
        }
    }
}

/// The limits of the candidate's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Memory, swap included (no swap).
    pub memory_bytes: i64,
    /// CPU, in billionths of a CPU.
    pub nano_cpus: i64,
    pub pids: i64,
    /// Wall-clock time of one post-hoc run, from start to exit.
    pub time: Duration,
    /// Size of the writable `/tmp` (for `sort`'s temporary files and the like).
    pub tmp_bytes: u64,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            nano_cpus: 1_000_000_000,
            pids: 64,
            time: Duration::from_secs(60),
            tmp_bytes: 64 << 20,
            grace: Duration::from_secs(3),
        }
    }
}

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct CommandGrading {
    pub rule: Rule,
    pub program: Program,
    /// One generated log per seed (post-hoc); the first seed's log is appended (live).
    pub seeds: Vec<u64>,
    /// Lines of each generated log.
    pub lines: u64,
    pub limits: Limits,
    /// The image the command runs in.
    pub image: String,
}

/// Options of the live run on top of [`CommandGrading`].
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How many appends (the rotation comes after half of them).
    pub appends: usize,
    /// Pause between two appends.
    pub interval: Duration,
    /// Time the command gets after it started before the first append, and after the last
    /// append before it is signalled.
    pub settle: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            appends: 10,
            interval: Duration::from_millis(400),
            settle: Duration::from_secs(2),
        }
    }
}

/// How the command's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// It exited by itself.
    Exited,
    /// Live: it was still running when the appends ended and was signalled, as the task says.
    Signalled,
    /// It ran past its time limit and was stopped.
    TimedOut,
    /// The kernel killed it for going over its memory limit.
    OutOfMemory,
}

/// One run of the command on one log.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub seed: u64,
    /// The answer key.
    pub expected: u64,
    /// The number the command printed last, if it printed one.
    pub printed: Option<u64>,
    /// Why no number was taken, when none was.
    pub no_number: Option<String>,
    pub ending: Ending,
    pub exit_code: Option<i64>,
    pub seconds: f64,
    /// The verdict on the printed number.
    pub grade: Option<Grade>,
    pub pass: bool,
    /// The end of what the command printed (stdout, then stderr), raw: escape before showing.
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// Live only: the final number of [`crate::follow()`] on a host copy of the same appends.
    pub follow_count: Option<u64>,
}

/// The verdict on a command over all its runs.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReport {
    pub pass: bool,
    pub runs: Vec<RunResult>,
    /// Findings across runs (a constant answer).
    pub notes: Vec<String>,
}

/// Why a command could not be graded (never the candidate's fault).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("the image {0} is missing; build it with `assay images --offline`")]
    NoImage(String),
    #[error("interrupted")]
    Cancelled,
    #[error("{0}")]
    Io(String),
}

/// The task a candidate gets for `assay logs grade --command` (post-hoc) or `--live`.
pub fn task_text(rule: &Rule, live: bool) -> String {
    let own = if rule.own_networks.is_empty() {
        String::from("our own servers")
    } else {
        let nets: Vec<String> = rule.own_networks.iter().map(ToString::to_string).collect();
        format!("our own servers ({})", nets.join(", "))
    };
    let head = format!(
        "Count the `{} {}` requests in the nginx access log `access.log` (combined format) in \
         your working directory, leaving out {own} and bots. Print the count as the last line of \
         output, a single number.",
        rule.method, rule.path
    );
    let env = "Your command runs with bash in a Debian container without network, as an \
               unprivileged user, with awk (mawk), gawk, grep, sed, sort, uniq, cut, wc, tail, \
               perl and python3; only /tmp is writable.";
    if live {
        format!(
            "{head} The log grows while your command runs: `access.log` is empty when it starts, \
             lines are appended to it, and half way it is rotated (renamed to `access.log.1`, \
             appends go on in a new `access.log`). Count every line appended. When the appends \
             end, your command's process group gets SIGTERM: print the count when that happens \
             (an awk END block, a shell trap) or keep printing the running count; the last \
             number printed is your answer. Output is a pipe, not a terminal: flush it. {env}"
        )
    } else {
        format!("{head} {env}")
    }
}

/// The answer a command printed: the last non-blank line of its standard output, which must
/// hold exactly one whole number (words around it are fine: `count: 1234`).
pub fn last_number(stdout: &str) -> Result<u64, String> {
    let Some(line) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Err("it printed nothing on standard output".into());
    };
    let numbers: Vec<&str> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    let shown = assay_core::display::value(line.trim());
    match numbers.as_slice() {
        [n] => n
            .parse()
            .map_err(|_| format!("the number on its last line is too large: `{shown}`")),
        [] => Err(format!("its last line holds no number: `{shown}`")),
        _ => Err(format!(
            "its last line holds several numbers (print the count alone): `{shown}`"
        )),
    }
}

/// Run the command on one generated log per seed and grade each number.
pub async fn grade_command(
    engine: &Engine,
    g: &CommandGrading,
    cancel: &AtomicBool,
    progress: &dyn Fn(&str),
) -> Result<CommandReport, SandboxError> {
    let run = Run::new(engine, &g.image).await?;
    let result = async {
        run.create_volume().await?;
        let mut runs = Vec::new();
        for (k, &seed) in g.seeds.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(SandboxError::Cancelled);
            }
            progress(&format!(
                "seed {seed}: generating {} lines, running the command",
                g.lines
            ));
            let log = generate(&g.rule, g.lines, seed);
            runs.push(
                run.post_hoc(g, k, seed, log.text, &log.expected, cancel)
                    .await?,
            );
        }
        Ok(runs)
    }
    .await;
    run.clean_up().await;
    Ok(report(result?))
}

/// Run the command on a growing log (appends, a rotation half way, SIGTERM at the end) and grade
/// its last number.
pub async fn grade_live(
    engine: &Engine,
    g: &CommandGrading,
    live: &LiveOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(&str),
) -> Result<CommandReport, SandboxError> {
    let run = Run::new(engine, &g.image).await?;
    let result = async {
        run.create_volume().await?;
        let seed = *g.seeds.first().unwrap_or(&1);
        run.live(g, live, seed, cancel, progress).await
    }
    .await;
    run.clean_up().await;
    Ok(report(vec![result?]))
}

fn report(runs: Vec<RunResult>) -> CommandReport {
    let pass = !runs.is_empty() && runs.iter().all(|r| r.pass);
    let mut notes = Vec::new();
    let printed: Vec<u64> = runs.iter().filter_map(|r| r.printed).collect();
    let mut expected: Vec<u64> = runs.iter().map(|r| r.expected).collect();
    expected.dedup();
    if !pass
        && runs.len() > 1
        && printed.len() == runs.len()
        && printed.windows(2).all(|w| w[0] == w[1])
        && expected.len() > 1
    {
        notes.push(format!(
            "it printed {} for every log although their answers differ: a number fixed in \
             advance, not counted",
            printed[0]
        ));
    }
    CommandReport { pass, runs, notes }
}

/// The resources of one grading run, removed by [`Run::clean_up`].
struct Run<'a> {
    engine: &'a Engine,
    image: String,
    id: String,
    volume: String,
    containers: std::sync::Mutex<Vec<String>>,
}

impl<'a> Run<'a> {
    async fn new(engine: &'a Engine, image: &str) -> Result<Run<'a>, SandboxError> {
        if engine.inspect_image(image).await?.is_none() {
            return Err(SandboxError::NoImage(image.to_string()));
        }
        let id = format!("logs{}", &assay_sandbox::random_hex(1)[..10]);
        Ok(Run {
            engine,
            image: image.to_string(),
            volume: format!("assay-{id}-work"),
            id,
            containers: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn labels(&self, role: &str) -> HashMap<String, String> {
        let mut l = labels::for_run(&self.id);
        l.insert(labels::ROLE.into(), role.into());
        l
    }

    async fn create_volume(&self) -> Result<(), SandboxError> {
        self.engine
            .create_volume(&self.volume, self.labels("logs-work"))
            .await?;
        Ok(())
    }

    /// A hardened container of the tools image, registered for clean-up.
    async fn create(
        &self,
        suffix: &str,
        role: &str,
        cmd: Vec<String>,
        user: &str,
        volume_read_only: bool,
        limits: &Limits,
    ) -> Result<String, SandboxError> {
        // The writer's batches are copied into its own file system (the archive API cannot
        // write to a read-only root or a tmpfs); the candidate's root stays read-only.
        let writer = role == "logs-writer";
        let name = format!("assay-{}-{suffix}", self.id);
        let tmpfs = HashMap::from([(
            "/tmp".to_string(),
            format!("rw,nosuid,nodev,size={},mode=1777", limits.tmp_bytes),
        )]);
        let host_config = HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            memory: Some(limits.memory_bytes),
            memory_swap: Some(limits.memory_bytes),
            nano_cpus: Some(limits.nano_cpus),
            pids_limit: Some(limits.pids),
            readonly_rootfs: Some(!writer),
            tmpfs: Some(tmpfs),
            privileged: Some(false),
            mounts: Some(vec![Mount {
                typ: Some(MountType::VOLUME),
                source: Some(self.volume.clone()),
                target: Some(WORK_DIR.into()),
                read_only: Some(volume_read_only),
                ..Default::default()
            }]),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(HashMap::from([
                    ("max-size".to_string(), "1m".to_string()),
                    ("max-file".to_string(), "1".to_string()),
                ])),
            }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(cmd),
            user: Some(user.into()),
            working_dir: Some(WORK_DIR.into()),
            env: Some(vec!["HOME=/tmp".into(), "TMPDIR=/tmp".into()]),
            labels: Some(self.labels(role)),
            network_disabled: Some(true),
            stop_signal: Some("SIGTERM".into()),
            stop_timeout: Some(limits.grace.as_secs() as i64),
            host_config: Some(host_config),
            ..Default::default()
        };
        if let Ok(mut c) = self.containers.lock() {
            c.push(name.clone());
        }
        self.engine.create_container(&name, body).await?;
        Ok(name)
    }

    /// The candidate's container: the wrapper as PID 1, the command after it, as nobody.
    async fn candidate(
        &self,
        suffix: &str,
        g: &CommandGrading,
        volume_read_only: bool,
    ) -> Result<String, SandboxError> {
        let mut cmd = vec![
            "bash".to_string(),
            "-c".into(),
            WRAPPER.into(),
            "assay-wrapper".into(),
        ];
        cmd.extend(g.program.argv());
        self.create(
            suffix,
            "candidate-command",
            cmd,
            "65534:65534",
            volume_read_only,
            &g.limits,
        )
        .await
    }

    /// Copy `files` (name, mode, bytes) into [`WORK_DIR`] of container `name`.
    async fn upload(&self, name: &str, files: &[(&str, u32, &[u8])]) -> Result<(), SandboxError> {
        let tar = tar_of(files).map_err(|e| SandboxError::Io(format!("building a tar: {e}")))?;
        self.engine.upload_tar(name, WORK_DIR, tar).await?;
        Ok(())
    }

    /// Wait until `name` exits, `deadline` passes (then it is stopped) or `cancel` is set.
    async fn wait_exit(
        &self,
        name: &str,
        deadline: Instant,
        grace: Duration,
        cancel: &AtomicBool,
    ) -> Result<bool, SandboxError> {
        loop {
            let state = self.engine.inspect_container(name).await?.state;
            if !state.and_then(|s| s.running).unwrap_or(false) {
                return Ok(false);
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(SandboxError::Cancelled);
            }
            if Instant::now() >= deadline {
                self.engine.stop_container(name, grace).await?;
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Exit code, OOM flag and output of an exited container.
    async fn outcome(
        &self,
        name: &str,
    ) -> Result<(Option<i64>, bool, String, String), SandboxError> {
        let state = self.engine.inspect_container(name).await?.state;
        let exit = state.as_ref().and_then(|s| s.exit_code);
        let oom = state.and_then(|s| s.oom_killed).unwrap_or(false);
        let (out, err) = self.engine.logs_tail_split(name, 200).await?;
        Ok((exit, oom, out, err))
    }

    async fn post_hoc(
        &self,
        g: &CommandGrading,
        k: usize,
        seed: u64,
        log: String,
        expected: &Counts,
        cancel: &AtomicBool,
    ) -> Result<RunResult, SandboxError> {
        let name = self.candidate(&format!("cmd-{k}"), g, false).await?;
        let mut files: Vec<(&str, u32, &[u8])> = vec![("access.log", 0o444, log.as_bytes())];
        if let Program::Script(s) = &g.program {
            files.push((SCRIPT_NAME, 0o555, s));
        }
        self.upload(&name, &files).await?;
        drop(log);
        let started = Instant::now();
        self.engine.start_container(&name).await?;
        let timed_out = self
            .wait_exit(&name, started + g.limits.time, g.limits.grace, cancel)
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        let (exit_code, oom, out, err) = self.outcome(&name).await?;
        self.remove(&name).await;
        let ending = if oom {
            Ending::OutOfMemory
        } else if timed_out {
            Ending::TimedOut
        } else {
            Ending::Exited
        };
        Ok(judge(
            seed, expected, ending, exit_code, seconds, out, err, None,
        ))
    }

    async fn live(
        &self,
        g: &CommandGrading,
        live: &LiveOptions,
        seed: u64,
        cancel: &AtomicBool,
        progress: &dyn Fn(&str),
    ) -> Result<RunResult, SandboxError> {
        let log = generate(&g.rule, g.lines, seed);
        let chunks = split_lines(log.text.as_bytes(), live.appends.max(2));
        let rotate_after = chunks.len() / 2;

        // The writer: root in its own container, the volume writable; it only ever runs `sh`
        // with assay's commands.
        let writer_limits = Limits {
            memory_bytes: 128 << 20,
            pids: 16,
            ..g.limits.clone()
        };
        let writer = self
            .create(
                "writer",
                "logs-writer",
                vec!["sleep".into(), "infinity".into()],
                "0:0",
                false,
                &writer_limits,
            )
            .await?;
        let mut files: Vec<(&str, u32, &[u8])> = vec![("access.log", 0o644, b"")];
        if let Program::Script(s) = &g.program {
            files.push((SCRIPT_NAME, 0o555, s));
        }
        self.upload(&writer, &files).await?;
        self.engine.start_container(&writer).await?;

        // The host copy `follow` reads.
        let host = tempfile_dir().map_err(|e| SandboxError::Io(format!("temp dir: {e}")))?;
        let host_log = host.join("access.log");
        std::fs::write(&host_log, b"").map_err(|e| SandboxError::Io(e.to_string()))?;
        let stop_follow = Arc::new(AtomicBool::new(false));
        let follower = {
            let (path, rule, stop) = (host_log.clone(), g.rule.clone(), stop_follow.clone());
            std::thread::spawn(move || {
                let opts = FollowOptions {
                    poll: Duration::from_millis(50),
                    ..Default::default()
                };
                follow(&path, &rule, &opts, &stop, |_| {})
            })
        };

        let result = async {
            let name = self.candidate("live", g, true).await?;
            let started = Instant::now();
            self.engine.start_container(&name).await?;
            tokio::time::sleep(live.settle).await;
            for (i, chunk) in chunks.iter().enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    return Err(SandboxError::Cancelled);
                }
                if i == rotate_after {
                    progress("rotating access.log to access.log.1");
                    self.sh(&writer, "mv /work/access.log /work/access.log.1")
                        .await?;
                    std::fs::rename(&host_log, host.join("access.log.1"))
                        .map_err(|e| SandboxError::Io(e.to_string()))?;
                    tokio::time::sleep(live.interval).await;
                }
                self.append(&writer, chunk).await?;
                append_host(&host_log, chunk).map_err(SandboxError::Io)?;
                tokio::time::sleep(live.interval).await;
            }
            progress(&format!(
                "appended {} lines in {} appends; signalling the command",
                g.lines,
                chunks.len()
            ));
            tokio::time::sleep(live.settle).await;
            let running = self
                .engine
                .inspect_container(&name)
                .await?
                .state
                .and_then(|s| s.running)
                .unwrap_or(false);
            if running {
                // SIGTERM to the wrapper, which passes it to the command's process group.
                self.engine.stop_container(&name, g.limits.grace).await?;
            }
            let seconds = started.elapsed().as_secs_f64();
            let (exit_code, oom, out, err) = self.outcome(&name).await?;
            let ending = if oom {
                Ending::OutOfMemory
            } else if running {
                Ending::Signalled
            } else {
                Ending::Exited
            };
            Ok((ending, exit_code, seconds, out, err))
        }
        .await;
        stop_follow.store(true, Ordering::SeqCst);
        let followed = follower.join().ok().and_then(|r| r.ok());
        let _ = std::fs::remove_dir_all(&host);
        let (ending, exit_code, seconds, out, err) = result?;
        let follow_count = followed.map(|c| c.matched);
        let mut r = judge(
            seed,
            &log.expected,
            ending,
            exit_code,
            seconds,
            out,
            err,
            follow_count,
        );
        if follow_count != Some(log.expected.matched) {
            // assay's own live count disagrees with the key: a bug of ours, never a PASS.
            r.pass = false;
        }
        Ok(r)
    }

    /// Run `script` with `sh -c` in the writer; a failure is an error of the run.
    async fn sh(&self, writer: &str, script: &str) -> Result<(), SandboxError> {
        let out = self.engine.exec(writer, &["sh", "-c", script]).await?;
        if out.exit_code != Some(0) {
            return Err(SandboxError::Io(format!(
                "`{script}` in the writer container failed ({:?}): {}",
                out.exit_code,
                out.stderr.trim()
            )));
        }
        Ok(())
    }

    /// Append `data` to `/work/access.log` through the writer (copied in, then `cat >>`).
    async fn append(&self, writer: &str, data: &[u8]) -> Result<(), SandboxError> {
        let tar = tar_of(&[("batch", 0o600, data)])
            .map_err(|e| SandboxError::Io(format!("building a tar: {e}")))?;
        self.engine.upload_tar(writer, "/var/tmp", tar).await?;
        self.sh(
            writer,
            "cat /var/tmp/batch >> /work/access.log && rm /var/tmp/batch",
        )
        .await
    }

    async fn remove(&self, name: &str) {
        let _ = self.engine.remove_container(name).await;
        if let Ok(mut c) = self.containers.lock() {
            c.retain(|n| n != name);
        }
    }

    /// Remove every container and the volume (best effort; `assay gc` finds leftovers by
    /// their labels).
    async fn clean_up(&self) {
        let names = self
            .containers
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        for n in names {
            let _ = self.engine.remove_container(&n).await;
        }
        let _ = self.engine.remove_volume(&self.volume).await;
    }
}

#[allow(clippy::too_many_arguments)]
fn judge(
    seed: u64,
    expected: &Counts,
    ending: Ending,
    exit_code: Option<i64>,
    seconds: f64,
    stdout: String,
    stderr: String,
    follow_count: Option<u64>,
) -> RunResult {
    let (printed, no_number) = match ending {
        Ending::TimedOut | Ending::OutOfMemory => (None, Some(ending_text(ending).to_string())),
        Ending::Exited | Ending::Signalled => match last_number(&stdout) {
            Ok(n) => (Some(n), None),
            Err(why) => (None, Some(why)),
        },
    };
    let grade = printed.map(|n| grade(n, expected));
    let pass = grade.as_ref().is_some_and(|g| g.pass);
    RunResult {
        seed,
        expected: expected.matched,
        printed,
        no_number,
        ending,
        exit_code,
        seconds,
        grade,
        pass,
        stdout_tail: tail_lines(&stdout, 5),
        stderr_tail: tail_lines(&stderr, 5),
        follow_count,
    }
}

fn ending_text(e: Ending) -> &'static str {
    match e {
        Ending::Exited => "it exited",
        Ending::Signalled => "it was signalled when the appends ended",
        Ending::TimedOut => "it ran past its time limit and was stopped",
        Ending::OutOfMemory => "it went over its memory limit and was killed",
    }
}

fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Cut `data` into about `parts` pieces of whole lines.
fn split_lines(data: &[u8], parts: usize) -> Vec<&[u8]> {
    let target = data.len().div_ceil(parts).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let want = (start + target).min(data.len());
        let end = match memchr::memchr(b'\n', &data[want.saturating_sub(1)..]) {
            Some(i) => want.saturating_sub(1) + i + 1,
            None => data.len(),
        };
        out.push(&data[start..end]);
        start = end;
    }
    out
}

fn append_host(path: &std::path::Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "assay-logs-live-{}",
        &assay_sandbox::random_hex(1)[..12]
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// An in-memory tar of regular files (name, mode, bytes), owned by root.
fn tar_of(files: &[(&str, u32, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, mode, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, name, *data)?;
    }
    b.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_one_number_on_the_last_line() {
        assert_eq!(last_number("12\n1234\n"), Ok(1234));
        assert_eq!(last_number("count: 1234\n\n  \n"), Ok(1234));
        assert_eq!(last_number("1234 requests"), Ok(1234));
        assert!(last_number("").unwrap_err().contains("nothing"));
        assert!(last_number("12\ndone\n").unwrap_err().contains("no number"));
        assert!(last_number("own 3 bots 4\n")
            .unwrap_err()
            .contains("several numbers"));
        assert!(last_number("99999999999999999999999\n")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn lines_are_split_whole() {
        let data = b"a\nbb\nccc\ndddd\ne\n";
        for parts in 1..8 {
            let pieces = split_lines(data, parts);
            assert_eq!(pieces.concat(), data.to_vec());
            assert!(pieces.iter().all(|p| p.ends_with(b"\n")), "{parts}");
        }
        assert_eq!(split_lines(b"x\ny", 5).concat(), b"x\ny".to_vec());
        assert!(split_lines(b"", 3).is_empty());
    }

    #[test]
    fn a_constant_is_named() {
        let run = |seed, expected, printed| RunResult {
            seed,
            expected,
            printed: Some(printed),
            no_number: None,
            ending: Ending::Exited,
            exit_code: Some(0),
            seconds: 0.1,
            grade: None,
            pass: expected == printed,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            follow_count: None,
        };
        let r = report(vec![run(1, 10, 7), run(2, 12, 7)]);
        assert!(!r.pass);
        assert!(
            r.notes[0].contains("printed 7 for every log"),
            "{:?}",
            r.notes
        );
        let ok = report(vec![run(1, 10, 10), run(2, 12, 12)]);
        assert!(ok.pass && ok.notes.is_empty());
    }
}
