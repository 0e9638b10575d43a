//! The Docker Engine client: bollard behind one type, every call under its own timeout, one
//! error variant per Docker operation so a failure says what assay was doing.
//!
//! The API version is negotiated at [`Engine::connect`], so daemons as old as API 1.41
//! (Docker 20.10) work with the bollard release we build against.

use assay_core::display;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStatsResponse, ContainerSummary,
    EndpointSettings, ImageInspect, Network, NetworkConnectRequest, NetworkCreateRequest, Volume,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    BuildImageOptions, CreateContainerOptionsBuilder, CreateImageOptions, EventsOptions,
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StatsOptions, StopContainerOptionsBuilder,
    TagImageOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long each kind of Docker call may take before assay gives up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `/_ping` and `/version` at connect time.
    pub connect: Duration,
    /// Inspect, tag, remove, create, start, list, network calls.
    pub quick: Duration,
    /// Stopping a container (on top of the grace period given to the call).
    pub stop: Duration,
    /// A whole exec (create, run to completion, inspect).
    pub exec: Duration,
    /// A whole image pull.
    pub pull: Duration,
    /// A whole `docker import` of a root filesystem.
    pub import: Duration,
    /// A whole image build.
    pub build: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            quick: Duration::from_secs(30),
            stop: Duration::from_secs(30),
            exec: Duration::from_secs(60),
            pull: Duration::from_secs(600),
            import: Duration::from_secs(900),
            build: Duration::from_secs(900),
        }
    }
}

/// Why one Docker call failed: the daemon said no, or it did not answer in time.
#[derive(Debug)]
pub enum CallError {
    Docker(bollard::errors::Error),
    TimedOut(Duration),
    /// A call made directly on the socket (see [`Engine::volume_sizes`]) failed.
    Raw(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Docker(e) => write!(f, "{e}"),
            CallError::TimedOut(d) => write!(f, "no answer from Docker within {} s", d.as_secs()),
            CallError::Raw(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Docker(e) => Some(e),
            CallError::TimedOut(_) | CallError::Raw(_) => None,
        }
    }
}

impl CallError {
    /// The HTTP status the daemon answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code,
                ..
            }) => Some(*status_code),
            _ => None,
        }
    }

    /// True when the daemon said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the daemon answered with a server-side failure that may not happen again
    /// (`OCI runtime pause failed: unable to freeze`, a busy device, a lost race inside the
    /// daemon): worth another try for a call that can safely be repeated. A timeout is not
    /// transient here: a daemon that does not answer is treated as gone.
    pub fn is_transient(&self) -> bool {
        matches!(self.status(), Some(500 | 502 | 503 | 504))
    }

    /// True when the socket itself failed (daemon gone, hung, or never there).
    pub fn is_unreachable(&self) -> bool {
        use bollard::errors::Error as B;
        matches!(
            self,
            CallError::TimedOut(_)
                | CallError::Docker(
                    B::SocketNotFoundError(_)
                        | B::HyperLegacyError { .. }
                        | B::IOError { .. }
                        | B::RequestTimeoutError
                )
        )
    }
}

/// A failed Docker operation. One variant per operation, each naming its object.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Docker is not reachable at {endpoint}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: Option<CallError>,
    },
    #[error("could not negotiate the API version with Docker at {endpoint}: {source}")]
    Version {
        endpoint: String,
        #[source]
        source: CallError,
    },
    #[error("could not inspect image {image}: {source}")]
    InspectImage { image: String, source: CallError },
    #[error("could not tag image {image} as {tag}: {source}")]
    TagImage {
        image: String,
        tag: String,
        source: CallError,
    },
    #[error("could not remove image {image}: {source}")]
    RemoveImage { image: String, source: CallError },
    #[error("could not pull image {image}: {source}")]
    PullImage { image: String, source: CallError },
    #[error("could not import a root filesystem as {image}: {source}")]
    ImportImage { image: String, source: CallError },
    #[error("could not build image {image}: {source}")]
    BuildImage { image: String, source: CallError },
    #[error("could not create container {name}: {source}")]
    CreateContainer { name: String, source: CallError },
    #[error("could not start container {name}: {source}")]
    StartContainer { name: String, source: CallError },
    #[error("could not stop container {name}: {source}")]
    StopContainer { name: String, source: CallError },
    #[error("could not remove container {name}: {source}")]
    RemoveContainer { name: String, source: CallError },
    #[error("could not inspect container {name}: {source}")]
    InspectContainer { name: String, source: CallError },
    #[error("could not copy files into container {name}: {source}")]
    UploadToContainer { name: String, source: CallError },
    #[error("could not read the logs of container {name}: {source}")]
    ContainerLogs { name: String, source: CallError },
    #[error("could not run `{command}` in container {name}: {source}")]
    Exec {
        name: String,
        command: String,
        source: CallError,
    },
    #[error("could not create network {name}: {source}")]
    CreateNetwork { name: String, source: CallError },
    #[error("could not remove network {name}: {source}")]
    RemoveNetwork { name: String, source: CallError },
    #[error("could not create volume {name}: {source}")]
    CreateVolume { name: String, source: CallError },
    #[error("could not remove volume {name}: {source}")]
    RemoveVolume { name: String, source: CallError },
    #[error("could not pause container {name}: {source}")]
    PauseContainer { name: String, source: CallError },
    #[error("could not unpause container {name}: {source}")]
    UnpauseContainer { name: String, source: CallError },
    #[error("could not read {what}: {source}")]
    Usage { what: String, source: CallError },
    #[error("could not list {what} labelled {label}: {source}")]
    List {
        what: &'static str,
        label: String,
        source: CallError,
    },
    #[error("could not connect container {container} to network {network}: {source}")]
    ConnectNetwork {
        network: String,
        container: String,
        source: CallError,
    },
    #[error("could not disconnect container {container} from network {network}: {source}")]
    DisconnectNetwork {
        network: String,
        container: String,
        source: CallError,
    },
    #[error("could not inspect network {name}: {source}")]
    InspectNetwork { name: String, source: CallError },
}

impl EngineError {
    /// The failed call's cause, when there is one.
    pub fn call_error(&self) -> Option<&CallError> {
        use EngineError::*;
        match self {
            Unreachable { source, .. } => source.as_ref(),
            Version { source, .. }
            | InspectImage { source, .. }
            | TagImage { source, .. }
            | RemoveImage { source, .. }
            | PullImage { source, .. }
            | ImportImage { source, .. }
            | BuildImage { source, .. }
            | CreateContainer { source, .. }
            | StartContainer { source, .. }
            | StopContainer { source, .. }
            | RemoveContainer { source, .. }
            | InspectContainer { source, .. }
            | UploadToContainer { source, .. }
            | ContainerLogs { source, .. }
            | Exec { source, .. }
            | CreateNetwork { source, .. }
            | RemoveNetwork { source, .. }
            | CreateVolume { source, .. }
            | RemoveVolume { source, .. }
            | PauseContainer { source, .. }
            | UnpauseContainer { source, .. }
            | List { source, .. }
            | Usage { source, .. }
            | ConnectNetwork { source, .. }
            | DisconnectNetwork { source, .. }
            | InspectNetwork { source, .. } => Some(source),
        }
    }

    /// True when the daemon went away or hung: assay could not grade (exit 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Unreachable { .. })
            || self.call_error().is_some_and(CallError::is_unreachable)
    }

    /// True when the daemon said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.call_error().is_some_and(CallError::is_not_found)
    }
}

/// What an exec printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// True when the output went over the cap and was cut.
    pub truncated: bool,
}

/// A process started by [`Engine::exec_attached`]: its stdin, and its stdout and stderr as
/// Docker frames them.
pub struct AttachedExec {
    /// The exec id (for `inspect_exec`).
    pub id: String,
    pub stdin: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    pub output: std::pin::Pin<
        Box<
            dyn Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Send,
        >,
    >,
}

impl fmt::Debug for AttachedExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachedExec")
            .field("id", &self.id)
            .finish()
    }
}

/// Largest amount of exec or log output kept in memory, per stream.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// A connected Docker daemon.
///
/// The one policy for every call: each has its own timeout ([`Timeouts`]); a call that can
/// safely be repeated (inspect, list, logs, stop, remove, pause, unpause, connect, upload) is
/// tried again after a transient daemon error ([`CallError::is_transient`]) with backoff
/// ([`RETRY_BACKOFF`]), and each retry is written to the engine's [`RetryLog`] so a report can
/// say that the grade needed one. Calls that create or start something are not repeated: a
/// second try could act twice.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    timeouts: Timeouts,
    retries: RetryLog,
}

/// Pauses before the second, third and fourth try of a repeatable call.
pub const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(800),
    Duration::from_millis(2000),
];

/// The transient daemon errors an engine recovered from, one line each
/// (`pause container x: … (tried again after 200 ms)`). Shared by the clones of one engine;
/// [`Engine::with_own_retry_log`] starts a fresh one (one per run).
#[derive(Debug, Clone, Default)]
pub struct RetryLog(Arc<Mutex<Vec<String>>>);

impl RetryLog {
    fn push(&self, line: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line);
        }
    }

    /// Everything recorded so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Whether a call may be tried again after a transient error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    Never,
}

/// Run `fut` under `limit`; a late answer becomes [`CallError::TimedOut`].
async fn timed<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(CallError::Docker),
        Err(_) => Err(CallError::TimedOut(limit)),
    }
}

/// An exec of `cmd` with stdout and stderr attached, and stdin too when `stdin`.
fn exec_options(cmd: &[&str], stdin: bool) -> bollard::exec::CreateExecOptions<String> {
    bollard::exec::CreateExecOptions {
        attach_stdin: Some(stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

/// Drain a progress stream under one deadline, passing each item to `each`.
/// The line of a build's output worth showing, made safe for a terminal: the steps and the
/// result; the per-step chatter stays out. A step quotes the Dockerfile, which may be a
/// candidate's, so escape sequences in it are made visible.
/// Largest `/system/df` answer read (a host with thousands of images and volumes stays well
/// under it).
const DF_CAP: usize = 32 * 1024 * 1024;

/// The volume sizes of a raw HTTP/1.0 `/system/df` answer: `Volumes[]` (API ≤ 1.51) or
/// `VolumeUsage.Items[]` (newer), each `{Name, UsageData: {Size}}`; a size of -1 (not
/// measured) is left out.
fn parse_df(raw: &[u8]) -> Result<HashMap<String, u64>, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!(
            "HTTP {status}: {}",
            display::terminal_line(&String::from_utf8_lossy(&raw[split + 4..]))
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&raw[split + 4..]).map_err(|e| format!("not JSON: {e}"))?;
    let list = v
        .get("Volumes")
        .filter(|l| !l.is_null())
        .or_else(|| v.get("VolumeUsage").and_then(|u| u.get("Items")))
        .and_then(|l| l.as_array())
        .cloned()
        .unwrap_or_default();
    Ok(list
        .iter()
        .filter_map(|vol| {
            let name = vol.get("Name")?.as_str()?.to_string();
            let size = vol.get("UsageData")?.get("Size")?.as_i64()?;
            Some((name, u64::try_from(size).ok()?))
        })
        .collect())
}

fn build_progress_line(raw: &str) -> Option<String> {
    let line = raw.trim_end();
    (line.starts_with("Step ") || line.starts_with("Successfully"))
        .then(|| display::terminal_line(line))
}

async fn drain<T>(
    limit: Duration,
    stream: impl Stream<Item = Result<T, bollard::errors::Error>>,
    mut each: impl FnMut(T),
) -> Result<(), CallError> {
    let work = async {
        futures_util::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            each(item?);
        }
        Ok(())
    };
    timed(limit, work).await
}

impl Engine {
    /// Connect to the daemon named by `DOCKER_HOST` (default: the local socket), check that it
    /// answers, and negotiate the API version.
    pub async fn connect() -> Result<Engine, EngineError> {
        Self::connect_with(Timeouts::default()).await
    }

    /// [`Engine::connect`] with explicit timeouts.
    pub async fn connect_with(timeouts: Timeouts) -> Result<Engine, EngineError> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        Self::connect_to(&endpoint, timeouts).await
    }

    /// Connect to the daemon at `endpoint` (`unix://…`, `tcp://…`, `http://…`).
    pub async fn connect_to(endpoint: &str, timeouts: Timeouts) -> Result<Engine, EngineError> {
        let endpoint = endpoint.to_string();
        let docker =
            Docker::connect_with_host(&endpoint).map_err(|e| EngineError::Unreachable {
                endpoint: endpoint.clone(),
                source: Some(CallError::Docker(e)),
            })?;
        // Our own per-call timeouts rule; bollard's shared one only has to stay out of the way.
        let docker = docker.with_timeout(Duration::from_secs(3600));
        if let Err(e) = timed(timeouts.connect, docker.ping()).await {
            return Err(EngineError::Unreachable {
                endpoint,
                source: Some(e),
            });
        }
        let docker = timed(timeouts.connect, docker.negotiate_version())
            .await
            .map_err(|source| {
                if source.is_unreachable() {
                    EngineError::Unreachable {
                        endpoint: endpoint.clone(),
                        source: Some(source),
                    }
                } else {
                    EngineError::Version {
                        endpoint: endpoint.clone(),
                        source,
                    }
                }
            })?;
        Ok(Engine {
            docker,
            endpoint,
            timeouts,
            retries: RetryLog::default(),
        })
    }

    /// The same daemon with a retry log of its own (one per run, so a batch's runs do not
    /// read each other's retries).
    pub fn with_own_retry_log(&self) -> Engine {
        Engine {
            retries: RetryLog::default(),
            ..self.clone()
        }
    }

    /// The transient errors this engine (and its clones) recovered from.
    pub fn retry_log(&self) -> &RetryLog {
        &self.retries
    }

    /// Runs the call `make` builds under `limit`; when `repeat` allows it, a transient daemon
    /// error is followed by another try after each pause of [`RETRY_BACKOFF`].
    async fn call<T, F, Fut>(
        &self,
        limit: Duration,
        repeat: Repeat,
        what: impl Fn() -> String,
        mut make: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>>,
    {
        let mut pauses = RETRY_BACKOFF.iter();
        loop {
            match timed(limit, make()).await {
                Err(e) if repeat == Repeat::Safe && e.is_transient() => match pauses.next() {
                    Some(pause) => {
                        self.retries.push(format!(
                            "{}: {e} (tried again after {} ms)",
                            what(),
                            pause.as_millis()
                        ));
                        tokio::time::sleep(*pause).await;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    /// Where the daemon is, as the user would write it (`unix:///var/run/docker.sock`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The negotiated API version, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The daemon's ID as `docker info` reports it: the key of what assay remembers per daemon
    /// (a registry that did not answer it). The endpoint when the daemon gives none or the
    /// call fails.
    pub async fn daemon_id(&self) -> String {
        self.call(
            self.timeouts.quick,
            Repeat::Safe,
            || "system info".to_string(),
            || self.docker.info(),
        )
        .await
        .ok()
        .and_then(|i| i.id)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| self.endpoint.clone())
    }

    /// The raw client, for calls this type does not wrap yet. Wrap them in a timeout.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Inspect an image; `Ok(None)` when it does not exist.
    pub async fn inspect_image(&self, image: &str) -> Result<Option<ImageInspect>, EngineError> {
        let what = || format!("inspect image {image}");
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, || {
                self.docker.inspect_image(image)
            })
            .await
        {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(EngineError::InspectImage {
                image: image.to_string(),
                source,
            }),
        }
    }

    /// Give `image` (name or id) the extra name `repo:tag`.
    pub async fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        let opts = TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        timed(
            self.timeouts.quick,
            self.docker.tag_image(image, Some(opts)),
        )
        .await
        .map_err(|source| EngineError::TagImage {
            image: image.to_string(),
            tag: format!("{repo}:{tag}"),
            source,
        })
    }

    /// Remove one image name (the image goes when its last name does).
    pub async fn remove_image(&self, image: &str) -> Result<(), EngineError> {
        let fut = || {
            self.docker.remove_image(
                image,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
        };
        let what = || format!("remove image {image}");
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(EngineError::RemoveImage {
                image: image.to_string(),
                source,
            }),
        }
    }

    /// Pull `repo:tag` from its registry, reporting progress lines (made safe for a terminal).
    pub async fn pull_image(
        &self,
        repo: &str,
        tag: &str,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let opts = CreateImageOptions {
            from_image: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let stream = self.docker.create_image(Some(opts), None, None);
        drain(self.timeouts.pull, stream, |info| {
            if let Some(status) = info.status {
                if info.progress_detail.is_none() || info.id.is_none() {
                    progress(&display::terminal_line(&status));
                }
            }
        })
        .await
        .map_err(|source| EngineError::PullImage {
            image: format!("{repo}:{tag}"),
            source,
        })
    }

    /// `docker import`: turn a stream of a root filesystem's tar into image `repo:tag`, applying
    /// Dockerfile-style `changes` (ENV, ENTRYPOINT, LABEL, ...).
    pub async fn import_rootfs<S>(
        &self,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
        rootfs_tar: S,
    ) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let opts = CreateImageOptions {
            from_src: Some("-".to_string()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            changes,
            ..Default::default()
        };
        let body = bollard::body_try_stream(rootfs_tar);
        let stream = self.docker.create_image(Some(opts), Some(body), None);
        drain(self.timeouts.import, stream, |_| {})
            .await
            .map_err(|source| EngineError::ImportImage {
                image: format!("{repo}:{tag}"),
                source,
            })
    }

    /// Build an image from an in-memory tar build context. Output lines go to `progress`, made
    /// safe for a terminal first: they quote the Dockerfile, which may be a candidate's.
    pub async fn build_image(
        &self,
        options: BuildImageOptions,
        context_tar: Vec<u8>,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let image = options.t.clone().unwrap_or_default();
        let stream = self.docker.build_image(
            options,
            None,
            Some(bollard::body_full(Bytes::from(context_tar))),
        );
        drain(self.timeouts.build, stream, |info| {
            if let Some(line) = info.stream.as_deref().and_then(build_progress_line) {
                progress(&line);
            }
        })
        .await
        .map_err(|source| EngineError::BuildImage { image, source })
    }

    /// Create a container named `name`; returns its id.
    pub async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<String, EngineError> {
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        let what = || format!("create container {name}");
        let fut = || {
            self.docker
                .create_container(Some(opts.clone()), body.clone())
        };
        self.call(self.timeouts.quick, Repeat::Never, what, fut)
            .await
            .map(|r| r.id)
            .map_err(|source| EngineError::CreateContainer {
                name: name.to_string(),
                source,
            })
    }

    pub async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        let fut = || {
            self.docker.start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
        };
        let what = || format!("start container {name}");
        self.call(self.timeouts.quick, Repeat::Never, what, fut)
            .await
            .map_err(|source| EngineError::StartContainer {
                name: name.to_string(),
                source,
            })
    }

    /// Stop with the image's stop signal, then SIGKILL after `grace`.
    pub async fn stop_container(&self, name: &str, grace: Duration) -> Result<(), EngineError> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let opts = StopContainerOptionsBuilder::default().t(secs).build();
        let fut = || self.docker.stop_container(name, Some(opts.clone()));
        let what = || format!("stop container {name}");
        match self
            .call(self.timeouts.stop + grace, Repeat::Safe, what, fut)
            .await
        {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(e) if e.status() == Some(304) || e.is_not_found() => Ok(()),
            Err(source) => Err(EngineError::StopContainer {
                name: name.to_string(),
                source,
            }),
        }
    }

    /// Force-remove a container and its anonymous volumes; a missing container is fine.
    pub async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let fut = || self.docker.remove_container(name, Some(opts.clone()));
        let what = || format!("remove container {name}");
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(EngineError::RemoveContainer {
                name: name.to_string(),
                source,
            }),
        }
    }

    pub async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<ContainerInspectResponse, EngineError> {
        let fut = || {
            self.docker.inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
        };
        let what = || format!("inspect container {name}");
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::InspectContainer {
                name: name.to_string(),
                source,
            })
    }

    /// Copy a tar archive into the (created, possibly not started) container at `path`.
    pub async fn upload_tar(
        &self,
        name: &str,
        path: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        let opts = UploadToContainerOptionsBuilder::default()
            .path(path)
            .build();
        let tar = Bytes::from(tar);
        let fut = || {
            self.docker.upload_to_container(
                name,
                Some(opts.clone()),
                bollard::body_full(tar.clone()),
            )
        };
        let what = || format!("copy files into container {name}");
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::UploadToContainer {
                name: name.to_string(),
                source,
            })
    }

    /// The last `tail` lines of a container's stdout+stderr, capped at [`OUTPUT_CAP`] bytes.
    pub async fn logs_tail(&self, name: &str, tail: usize) -> Result<String, EngineError> {
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&tail.to_string())
            .build();
        let mut out = Vec::new();
        let stream = self.docker.logs(name, Some(opts));
        drain(self.timeouts.quick, stream, |chunk| {
            let bytes = chunk.into_bytes();
            let room = OUTPUT_CAP.saturating_sub(out.len());
            out.extend_from_slice(&bytes[..bytes.len().min(room)]);
        })
        .await
        .map_err(|source| EngineError::ContainerLogs {
            name: name.to_string(),
            source,
        })?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The first [`OUTPUT_CAP`] bytes of a container's log (stdout+stderr), each line with the
    /// daemon's receive time: `(RFC 3339 time, line)`, in order. The times are the daemon's,
    /// so they do not depend on when assay asks (how fast a db became ready is read from
    /// them); reading stops at the cap, however much the container logged.
    pub async fn logs_head_timed(&self, name: &str) -> Result<Vec<(String, String)>, EngineError> {
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail("all")
            .build();
        let mut out = Vec::new();
        let work = async {
            let stream = self.docker.logs(name, Some(opts));
            futures_util::pin_mut!(stream);
            while let Some(chunk) = stream.next().await {
                let bytes = chunk?.into_bytes();
                let room = OUTPUT_CAP.saturating_sub(out.len());
                out.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if out.len() >= OUTPUT_CAP {
                    break;
                }
            }
            Ok::<(), bollard::errors::Error>(())
        };
        timed(self.timeouts.quick, work)
            .await
            .map_err(|source| EngineError::ContainerLogs {
                name: name.to_string(),
                source,
            })?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| {
                let (time, line) = l.split_once(' ').unwrap_or((l, ""));
                (!time.is_empty()).then(|| (time.to_string(), line.to_string()))
            })
            .collect())
    }

    /// The last `tail` lines of a container's stdout and, apart, of its stderr, each capped at
    /// [`OUTPUT_CAP`] bytes (the end is kept: the last lines are what a caller reads).
    pub async fn logs_tail_split(
        &self,
        name: &str,
        tail: usize,
    ) -> Result<(String, String), EngineError> {
        use bollard::container::LogOutput;
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&tail.to_string())
            .build();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let stream = self.docker.logs(name, Some(opts));
        drain(self.timeouts.quick, stream, |chunk| {
            let (buf, bytes) = match chunk {
                LogOutput::StdOut { message } => (&mut out, message),
                LogOutput::StdErr { message } => (&mut err, message),
                _ => return,
            };
            buf.extend_from_slice(&bytes);
            if buf.len() > OUTPUT_CAP {
                buf.drain(..buf.len() - OUTPUT_CAP);
            }
        })
        .await
        .map_err(|source| EngineError::ContainerLogs {
            name: name.to_string(),
            source,
        })?;
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        Ok((text(out), text(err)))
    }

    /// Run `cmd` in a running container and collect its output (capped) and exit code.
    pub async fn exec(&self, name: &str, cmd: &[&str]) -> Result<ExecOutput, EngineError> {
        use bollard::container::LogOutput;
        use bollard::exec::StartExecResults;
        let command = cmd.join(" ");
        let work = async {
            let created = self
                .docker
                .create_exec(name, exec_options(cmd, false))
                .await?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let mut truncated = false;
            if let StartExecResults::Attached { mut output, .. } =
                self.docker.start_exec(&created.id, None).await?
            {
                while let Some(chunk) = output.next().await {
                    let (buf, bytes) = match chunk? {
                        LogOutput::StdOut { message } => (&mut stdout, message),
                        LogOutput::StdErr { message } => (&mut stderr, message),
                        _ => continue,
                    };
                    let room = OUTPUT_CAP.saturating_sub(buf.len());
                    truncated |= bytes.len() > room;
                    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
            }
            let inspected = self.docker.inspect_exec(&created.id).await?;
            Ok(ExecOutput {
                exit_code: inspected.exit_code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                truncated,
            })
        };
        timed(self.timeouts.exec, work)
            .await
            .map_err(|source| EngineError::Exec {
                name: name.to_string(),
                command,
                source,
            })
    }

    /// Starts `cmd` in a running container with stdin attached and returns at once: the
    /// caller writes to [`AttachedExec::stdin`] and reads [`AttachedExec::output`] for as long
    /// as the process lives (no overall limit; only creating and starting it are timed).
    pub async fn exec_attached(
        &self,
        name: &str,
        cmd: &[&str],
    ) -> Result<AttachedExec, EngineError> {
        use bollard::exec::StartExecResults;
        let command = cmd.join(" ");
        let work = async {
            let created = self
                .docker
                .create_exec(name, exec_options(cmd, true))
                .await?;
            match self.docker.start_exec(&created.id, None).await? {
                StartExecResults::Attached { output, input } => Ok(AttachedExec {
                    id: created.id,
                    stdin: input,
                    output,
                }),
                StartExecResults::Detached => {
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 500,
                        message: "the daemon started the exec detached".into(),
                    })
                }
            }
        };
        timed(self.timeouts.quick, work)
            .await
            .map_err(|source| EngineError::Exec {
                name: name.to_string(),
                command,
                source,
            })
    }

    /// Create a network; returns its id.
    pub async fn create_network(
        &self,
        request: NetworkCreateRequest,
    ) -> Result<String, EngineError> {
        let name = request.name.clone();
        let what = || format!("create network {}", request.name);
        let fut = || self.docker.create_network(request.clone());
        self.call(self.timeouts.quick, Repeat::Never, what, fut)
            .await
            .map(|r| r.id)
            .map_err(|source| EngineError::CreateNetwork { name, source })
    }

    /// Remove a network; a missing network is fine.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        let what = || format!("remove network {name}");
        let fut = || self.docker.remove_network(name);
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(EngineError::RemoveNetwork {
                name: name.to_string(),
                source,
            }),
        }
    }

    /// Create a named volume with `labels`.
    pub async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        let what = || format!("create volume {name}");
        let fut = || self.docker.create_volume(req.clone());
        self.call(self.timeouts.quick, Repeat::Never, what, fut)
            .await
            .map(|_| ())
            .map_err(|source| EngineError::CreateVolume {
                name: name.to_string(),
                source,
            })
    }

    /// Remove a volume; a missing volume is fine.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let fut = || {
            self.docker
                .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
        };
        let what = || format!("remove volume {name}");
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(EngineError::RemoveVolume {
                name: name.to_string(),
                source,
            }),
        }
    }

    pub async fn pause_container(&self, name: &str) -> Result<(), EngineError> {
        let what = || format!("pause container {name}");
        let fut = || self.docker.pause_container(name);
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::PauseContainer {
                name: name.to_string(),
                source,
            })
    }

    pub async fn unpause_container(&self, name: &str) -> Result<(), EngineError> {
        let what = || format!("unpause container {name}");
        let fut = || self.docker.unpause_container(name);
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::UnpauseContainer {
                name: name.to_string(),
                source,
            })
    }

    /// Containers (running or not) carrying `label` (`key` or `key=value`).
    pub async fn list_containers(&self, label: &str) -> Result<Vec<ContainerSummary>, EngineError> {
        self.list_containers_with(label, false).await
    }

    /// Containers (running or not) carrying `label`, each with the size of its writable layer
    /// (`SizeRw`: the daemon measures it for these containers only).
    pub async fn list_containers_sized(
        &self,
        label: &str,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        self.list_containers_with(label, true).await
    }

    async fn list_containers_with(
        &self,
        label: &str,
        size: bool,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let opts = ListContainersOptions {
            all: true,
            size,
            filters: Some(label_filter(label)),
            ..Default::default()
        };
        let what = || format!("list containers labelled {label}");
        let fut = || self.docker.list_containers(Some(opts.clone()));
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::List {
                what: "containers",
                label: label.to_string(),
                source,
            })
    }

    /// One sample of a running container's resource use (memory, pids, CPU throttling);
    /// `one-shot`, so the daemon does not wait a second for a second sample. `None` when the
    /// container is gone.
    pub async fn stats_once(
        &self,
        name: &str,
    ) -> Result<Option<ContainerStatsResponse>, EngineError> {
        let opts = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let what = || format!("read the resource use of container {name}");
        let fut = || {
            let mut s = self.docker.stats(name, Some(opts.clone()));
            async move { s.next().await.transpose() }
        };
        match self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
        {
            Ok(s) => Ok(s),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(EngineError::Usage {
                what: format!("the resource use of container {name}"),
                source,
            }),
        }
    }

    /// The OOM kills inside containers carrying `label` since `since` (Unix seconds): one
    /// compose service name (or container name) per kill. Docker reports an `oom` event for any
    /// process of a container the kernel killed at its memory limit, also when the container's
    /// main process survives (`State.OOMKilled` only says the main process died so).
    pub async fn oom_events(&self, label: &str, since: i64) -> Result<Vec<String>, EngineError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(since);
        let mut filters = label_filter(label);
        filters.insert("type".into(), vec!["container".into()]);
        filters.insert("event".into(), vec!["oom".into()]);
        let opts = EventsOptions {
            since: Some(since.to_string()),
            // Past events only: the stream ends at `until`.
            until: Some(now.to_string()),
            filters: Some(filters),
        };
        let what = || format!("read the OOM events of containers labelled {label}");
        let fut = || {
            let events = self.docker.events(Some(opts.clone()));
            async move {
                let all: Vec<_> = events.take(10_000).collect().await;
                all.into_iter().collect::<Result<Vec<_>, _>>()
            }
        };
        let events = self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::Usage {
                what: format!("the OOM events of containers labelled {label}"),
                source,
            })?;
        Ok(events
            .into_iter()
            .filter_map(|e| {
                let attrs = e.actor?.attributes?;
                attrs
                    .get(crate::labels::COMPOSE_SERVICE)
                    .or_else(|| attrs.get("name"))
                    .cloned()
            })
            .collect())
    }

    /// Bytes held by each volume, as the daemon measures them (`/system/df`), or `None` when
    /// the daemon is not on a local socket. bollard's model of this call follows the newest
    /// API, whose volume list has another shape than the 1.41 one this host speaks, so the
    /// call is made directly on the socket and both shapes are read. API 1.41 cannot filter:
    /// the daemon walks every volume of the host, so callers sample it every few seconds.
    pub async fn volume_sizes(&self) -> Result<Option<HashMap<String, u64>>, EngineError> {
        let Some(path) = self.endpoint.strip_prefix("unix://") else {
            return Ok(None);
        };
        let version = self.api_version();
        let request = format!(
            "GET /v{version}/system/df HTTP/1.0\r\nHost: docker\r\nUser-Agent: assay\r\n\r\n"
        );
        let usage_err = |e: String| EngineError::Usage {
            what: "the daemon's disk usage".into(),
            source: CallError::Raw(e),
        };
        let fetch = async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| e.to_string())?;
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut body = Vec::new();
            (&mut stream)
                .take(DF_CAP as u64 + 1)
                .read_to_end(&mut body)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(body)
        };
        let raw = tokio::time::timeout(self.timeouts.quick, fetch)
            .await
            .map_err(|_| usage_err(format!("no answer within {:?}", self.timeouts.quick)))?
            .map_err(usage_err)?;
        if raw.len() > DF_CAP {
            return Err(usage_err(format!("the answer is over {DF_CAP} bytes")));
        }
        parse_df(&raw).map(Some).map_err(usage_err)
    }

    /// Networks carrying `label`.
    pub async fn list_networks(&self, label: &str) -> Result<Vec<Network>, EngineError> {
        let opts = ListNetworksOptions {
            filters: Some(label_filter(label)),
        };
        let what = || format!("list networks labelled {label}");
        let fut = || self.docker.list_networks(Some(opts.clone()));
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::List {
                what: "networks",
                label: label.to_string(),
                source,
            })
    }

    /// Volumes carrying `label`.
    pub async fn list_volumes(&self, label: &str) -> Result<Vec<Volume>, EngineError> {
        let opts = ListVolumesOptions {
            filters: Some(label_filter(label)),
        };
        let what = || format!("list volumes labelled {label}");
        let fut = || self.docker.list_volumes(Some(opts.clone()));
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map(|r| r.volumes.unwrap_or_default())
            .map_err(|source| EngineError::List {
                what: "volumes",
                label: label.to_string(),
                source,
            })
    }

    /// Names of all containers (running or not) carrying `label`.
    pub async fn containers_labelled(&self, label: &str) -> Result<Vec<String>, EngineError> {
        Ok(self
            .list_containers(label)
            .await?
            .into_iter()
            .filter_map(|c| {
                let name = c.names?.into_iter().next()?;
                Some(name.trim_start_matches('/').to_string())
            })
            .collect())
    }

    /// Names of all networks carrying `label`.
    pub async fn networks_labelled(&self, label: &str) -> Result<Vec<String>, EngineError> {
        Ok(self
            .list_networks(label)
            .await?
            .into_iter()
            .filter_map(|n| n.name)
            .collect())
    }

    /// Names of all volumes carrying `label`.
    pub async fn volumes_labelled(&self, label: &str) -> Result<Vec<String>, EngineError> {
        Ok(self
            .list_volumes(label)
            .await?
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    /// Attach a created container to one more network, with `endpoint`'s aliases.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        endpoint: EndpointSettings,
    ) -> Result<(), EngineError> {
        let req = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(endpoint),
        };
        let what = || format!("connect container {container} to network {network}");
        let fut = || self.docker.connect_network(network, req.clone());
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::ConnectNetwork {
                network: network.to_string(),
                container: container.to_string(),
                source,
            })
    }

    /// Detach a container from a network (forcefully, as `docker network disconnect -f`).
    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<(), EngineError> {
        let req = bollard::models::NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        let what = || format!("disconnect container {container} from network {network}");
        let fut = || self.docker.disconnect_network(network, req.clone());
        self.call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::DisconnectNetwork {
                network: network.to_string(),
                container: container.to_string(),
                source,
            })
    }

    /// Gateway address of a network's first IPAM config.
    pub async fn network_gateway(&self, name: &str) -> Result<Option<String>, EngineError> {
        let what = || format!("inspect network {name}");
        let fut = || {
            self.docker.inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
        };
        let net = self
            .call(self.timeouts.quick, Repeat::Safe, what, fut)
            .await
            .map_err(|source| EngineError::InspectNetwork {
                name: name.to_string(),
                source,
            })?;
        Ok(net
            .ipam
            .and_then(|i| i.config)
            .and_then(|c| c.into_iter().find_map(|c| c.gateway)))
    }
}

fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_names_the_endpoint() {
        let e = EngineError::Unreachable {
            endpoint: "unix:///nowhere.sock".into(),
            source: None,
        };
        assert_eq!(
            e.to_string(),
            "Docker is not reachable at unix:///nowhere.sock"
        );
        assert!(e.is_unreachable());
    }

    #[test]
    fn timeouts_count_as_unreachable_and_say_how_long() {
        let e = EngineError::InspectImage {
            image: "postgres:16".into(),
            source: CallError::TimedOut(Duration::from_secs(30)),
        };
        assert!(e.is_unreachable());
        assert!(!e.is_not_found());
        assert_eq!(
            e.to_string(),
            "could not inspect image postgres:16: no answer from Docker within 30 s"
        );
    }

    #[test]
    fn a_404_is_not_found_not_unreachable() {
        let e = EngineError::RemoveNetwork {
            name: "n".into(),
            source: CallError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message: "no such network".into(),
            }),
        };
        assert!(e.is_not_found());
        assert!(!e.is_unreachable());
    }

    #[tokio::test]
    async fn connect_to_a_missing_socket_is_unreachable() {
        let err = Engine::connect_to("unix:///nonexistent/assay-test.sock", Timeouts::default())
            .await
            .expect_err("no daemon there");
        assert!(err.is_unreachable(), "{err:?}");
        assert_eq!(
            err.to_string(),
            "Docker is not reachable at unix:///nonexistent/assay-test.sock"
        );
    }

    #[tokio::test]
    async fn connect_to_a_dead_socket_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let endpoint = format!("unix://{}", path.display());
        let err = Engine::connect_to(&endpoint, Timeouts::default())
            .await
            .expect_err("nobody listens");
        assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("Docker is not reachable at {endpoint}")
        );
    }

    #[test]
    fn disk_usage_answers_of_old_and_new_apis_are_read() {
        let old = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"LayersSize\":0,\"Volumes\":[{\"Name\":\"assay-r1-data\",\"UsageData\":{\"Size\":4096,\"RefCount\":1}},{\"Name\":\"x\",\"UsageData\":{\"Size\":-1,\"RefCount\":0}}]}";
        let sizes = parse_df(old).unwrap();
        assert_eq!(sizes.get("assay-r1-data"), Some(&4096));
        assert!(!sizes.contains_key("x"), "unmeasured volumes are left out");
        let new = b"HTTP/1.1 200 OK\r\n\r\n{\"VolumeUsage\":{\"Items\":[{\"Name\":\"v\",\"UsageData\":{\"Size\":7}}]}}";
        assert_eq!(parse_df(new).unwrap().get("v"), Some(&7));
        let refused =
            b"HTTP/1.0 400 Bad Request\r\n\r\n{\"message\":\"client version 1.41 is too old\"}";
        assert!(parse_df(refused).unwrap_err().contains("HTTP 400"));
        assert!(parse_df(b"garbage").is_err());
    }

    #[test]
    fn build_steps_quoting_a_hostile_dockerfile_reach_the_terminal_escaped() {
        // A RUN line that would clear the screen, retitle the terminal and print a fake verdict.
        let raw = "Step 3/4 : RUN echo \u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}1m\rPASS 100\u{202e}\n";
        assert_eq!(
            build_progress_line(raw).unwrap(),
            "Step 3/4 : RUN echo \\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{9b}1m\\rPASS 100\\u{202e}"
        );
        assert_eq!(
            build_progress_line("Successfully built 0123abcd\n").unwrap(),
            "Successfully built 0123abcd"
        );
        assert_eq!(build_progress_line(" ---> Running in 5f2c\n"), None);
        assert_eq!(build_progress_line("\u{1b}[2JStep 1/1"), None);
    }
}
