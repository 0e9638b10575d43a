//! `assay images`: make sure every image an evaluation needs exists locally.
//!
//! Upstream images (Postgres, Debian) are pulled when a registry answers. With `--offline`, or
//! when pulling fails, they are replaced by **stand-ins** built from Debian packages:
//! `debootstrap --variant=minbase [--include=postgresql-15] bookworm DIR`, streamed into
//! `docker import`, then finished by a tiny build (entrypoint, STOPSIGNAL, labels). The pristine
//! webapp image and the probe image are the host-built binaries copied onto a Debian base of the
//! host's own release, so their libc matches.
//!
//! Everything assay builds carries `dev.assay.managed=true` and `dev.assay.content-hash=<sha256
//! of its inputs>`; stand-ins also carry `dev.assay.stand-in=true`. An image whose hash label
//! matches is left alone, so a second run only inspects.

use crate::engine::{Engine, EngineError};
pub use crate::image_ref::ImageRef;
use crate::images_error::io_err;
pub use crate::images_error::ImagesError;
use crate::labels;
use bollard::query_parameters::BuildImageOptions;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The Debian release the stand-ins are built from.
pub const STAND_IN_RELEASE: &str = "bookworm";
/// The Postgres major version inside the Postgres stand-in (Debian bookworm's).
pub const STAND_IN_POSTGRES_MAJOR: &str = "15";
/// Postgres tags prepared whatever the rubric says (the ones candidates write most).
pub const DEFAULT_POSTGRES_TAGS: &[&str] = &["15", "16", "latest", "16-alpine"];
/// Debian base images candidates commonly use.
pub const DEFAULT_DEBIAN_TAGS: &[&str] = &["bookworm-slim", "bookworm"];
/// Where debootstrap downloads from unless told otherwise.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// Repository of the pristine webapp image when the rubric names none.
pub const DEFAULT_WEBAPP_REPO: &str = "assay/sample-webapp";
/// Repository of the probe image.
pub const PROBE_REPO: &str = "assay/probe";
/// Repository of the tools image: the shell tools a candidate's own command may use
/// (`assay logs grade --command`).
pub const TOOLS_REPO: &str = "assay/tools";
/// Debian packages of the tools image besides `--variant=minbase`, which already has mawk (as
/// `awk`), grep, sed, coreutils (sort, uniq, cut, wc, tail, timeout), util-linux (setsid) and
/// perl-base.
pub const TOOLS_PACKAGES: &[&str] = &["gawk", "perl", "python3"];
/// Bumped whenever the way stand-ins are made changes, so old ones are rebuilt.
const RECIPE_VERSION: &str = "assay-standins-2";
/// The postgres stand-in's entrypoint, baked into the image.
pub const POSTGRES_ENTRYPOINT: &str = include_str!("../standins/postgres-entrypoint.sh");
/// Paths left out of a root filesystem before import (package caches, docs, the cluster the
/// Debian package creates at install time, device nodes Docker provides anyway).
const ROOTFS_EXCLUDES: &[&str] = &[
    "./var/cache/apt/archives/*.deb",
    "./var/lib/apt/lists/*",
    "./dev/*",
    "./proc/*",
    "./sys/*",
    "./usr/share/doc/*",
    "./usr/share/man/*",
    "./usr/share/locale/*",
    "./var/lib/postgresql/15/*",
    "./etc/postgresql/15/*",
];

/// What `ensure_images` needs besides the rubric.
#[derive(Debug, Clone, Default)]
pub struct ImagesOptions {
    /// Never try a registry: build stand-ins straight away.
    pub offline: bool,
    /// The host-built `sample-webapp` binary; `None` = look next to the running executable.
    pub webapp_binary: Option<PathBuf>,
    /// The host-built `assay-probe` binary; `None` = look next to the running executable.
    pub probe_binary: Option<PathBuf>,
    /// Cache directory (debootstrap trees, binary hashes), e.g. `~/.cache/assay`.
    pub work_dir: PathBuf,
    /// The webapp's source dir (with its Dockerfile), used for the online build.
    pub webapp_source: Option<PathBuf>,
    /// Debian mirror for debootstrap; `None` = [`DEFAULT_MIRROR`].
    pub mirror: Option<String>,
    /// Rebuild assay's own images even when their content hash matches (images of others are
    /// never touched). Old images are replaced by tag, so running containers keep theirs.
    pub rebuild: bool,
    /// Where a registry that did not answer this daemon is remembered (and forgotten when one
    /// answers); `None` = remember nothing.
    pub registry_memory: Option<crate::registry_memory::RegistryMemory>,
    /// Trust that memory: while it holds, pull and build online nothing, as with `offline`,
    /// and say so in one note (evaluations). `assay images` leaves it off: it always tries.
    pub skip_remembered_registry: bool,
}

/// The cache dir `assay images` uses unless told otherwise: `$XDG_CACHE_HOME/assay`, else
/// `$HOME/.cache/assay`, else `<temp dir>/assay-cache`. Call it at the binary's edge only.
pub fn default_work_dir() -> PathBuf {
    let from_env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .map(|p| p.join("assay"))
        .or_else(|| from_env("HOME").map(|h| h.join(".cache/assay")))
        .unwrap_or_else(|| std::env::temp_dir().join("assay-cache"))
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageAction {
    AlreadyPresent,
    Pulled,
    BuiltStandIn,
    Built,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageStatus {
    /// Full reference, e.g. `postgres:16`.
    pub tag: String,
    pub action: ImageAction,
    /// True when the image is assay's stand-in, not the upstream image.
    pub stand_in: bool,
    pub seconds: f64,
}

impl std::fmt::Display for ImageStatus {
    /// One line of the images table: tag, what was done, the time it took, and whether the
    /// image is a stand-in.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<34} {:<16} {:>7.1}s{}",
            self.tag,
            format!("{:?}", self.action),
            self.seconds,
            if self.stand_in { "  (stand-in)" } else { "" }
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImagesReport {
    pub images: Vec<ImageStatus>,
    /// Things the user should know (host not Debian, registry unreachable, ...).
    pub warnings: Vec<String>,
    /// Things a report should say about how its images were made, not problems (the registry
    /// not tried because it did not answer a moment ago).
    pub notes: Vec<String>,
}

impl ImagesReport {
    /// True when nothing was pulled or built.
    pub fn did_nothing(&self) -> bool {
        self.images
            .iter()
            .all(|i| i.action == ImageAction::AlreadyPresent)
    }
}

/// The images one evaluation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    /// `postgres:<tag>` for the default tags and every tag the rubric allows.
    pub postgres: Vec<ImageRef>,
    /// `debian:bookworm-slim` and friends.
    pub debian: Vec<ImageRef>,
    /// The pristine webapp image, `assay/sample-webapp:<version>`.
    pub webapp: ImageRef,
    /// The probe image, `assay/probe:<version>`.
    pub probe: ImageRef,
    /// The tools image, `assay/tools:<version>`.
    pub tools: ImageRef,
}

impl Default for ImagePlan {
    /// The images every evaluation needs, before the rubric adds its own.
    fn default() -> Self {
        ImagePlan {
            postgres: DEFAULT_POSTGRES_TAGS
                .iter()
                .map(|t| ImageRef::new("postgres", t))
                .collect(),
            debian: DEFAULT_DEBIAN_TAGS
                .iter()
                .map(|t| ImageRef::new("debian", t))
                .collect(),
            webapp: ImageRef::new(DEFAULT_WEBAPP_REPO, env!("CARGO_PKG_VERSION")),
            probe: probe_image(),
            tools: tools_image(),
        }
    }
}

impl ImagePlan {
    /// The defaults plus every Postgres tag the rubric allows (invalid tags are skipped) and the
    /// rubric's webapp image name.
    pub fn from_rubric(rubric: &assay_core::Rubric) -> ImagePlan {
        let mut plan = ImagePlan::default();
        for t in &rubric.database.allowed_tags {
            let t = t.trim();
            if is_valid_tag(t) && !plan.postgres.iter().any(|x| x.tag == t) {
                plan.postgres.push(ImageRef::new("postgres", t));
            }
        }
        plan.webapp = webapp_image(rubric);
        plan
    }

    /// Every image reference in the plan.
    pub fn all(&self) -> Vec<ImageRef> {
        let mut v = self.postgres.clone();
        v.extend(self.debian.iter().cloned());
        v.push(self.webapp.clone());
        v.push(self.probe.clone());
        v.push(self.tools.clone());
        v
    }
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && t.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Docker's repository grammar, simplified: lowercase path components of `[a-z0-9]` joined by
/// single `.`, `_` or `-`, separated by `/` (an optional `host[:port]/` first).
fn is_valid_repo(r: &str) -> bool {
    let (host, path) = match r.split_once('/') {
        Some((h, p)) if h.contains(['.', ':']) || h == "localhost" => (Some(h), p),
        _ => (None, r),
    };
    let host_ok = host.is_none_or(|h| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    });
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
            })
            && !c.contains("..")
    };
    r.len() <= 255 && host_ok && path.split('/').all(component_ok)
}

/// The pristine webapp image: the rubric's first webapp image name + assay's version.
pub fn webapp_image(rubric: &assay_core::Rubric) -> ImageRef {
    let repo = rubric
        .webapp
        .images
        .first()
        .map(|s| s.trim())
        .filter(|s| is_valid_repo(s))
        .unwrap_or(DEFAULT_WEBAPP_REPO);
    ImageRef::new(repo, env!("CARGO_PKG_VERSION"))
}

/// The probe image the sandbox runs inside each run's networks.
pub fn probe_image() -> ImageRef {
    ImageRef::new(PROBE_REPO, env!("CARGO_PKG_VERSION"))
}

/// The image candidates' own commands run in: Debian with the usual text tools.
pub fn tools_image() -> ImageRef {
    ImageRef::new(TOOLS_REPO, env!("CARGO_PKG_VERSION"))
}

/// True when `image` exists and carries `dev.assay.stand-in=true`.
pub async fn is_stand_in(engine: &Engine, image: &str) -> bool {
    match engine.inspect_image(image).await {
        Ok(Some(i)) => labels::is_true(
            i.config.as_ref().and_then(|c| c.labels.as_ref()),
            labels::STAND_IN,
        ),
        _ => false,
    }
}

/// What the host runs, from `/etc/os-release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRelease {
    pub id: String,
    pub id_like: Vec<String>,
    pub codename: Option<String>,
}

impl HostRelease {
    /// Parse the text of an os-release file (`KEY=value`, values optionally quoted).
    pub fn parse(text: &str) -> HostRelease {
        let mut map = HashMap::new();
        for line in text.lines().take(200) {
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                map.insert(k.trim().to_string(), v.to_string());
            }
        }
        HostRelease {
            id: map.get("ID").cloned().unwrap_or_else(|| "linux".into()),
            id_like: map
                .get("ID_LIKE")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            codename: map
                .get("VERSION_CODENAME")
                .filter(|s| !s.is_empty())
                .cloned(),
        }
    }

    /// Read `/etc/os-release` (or `/usr/lib/os-release`).
    pub fn detect() -> Option<HostRelease> {
        ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|t| HostRelease::parse(&t))
    }

    pub fn is_debian(&self) -> bool {
        self.id == "debian"
    }

    pub fn is_debian_like(&self) -> bool {
        self.is_debian() || self.id_like.iter().any(|s| s == "debian" || s == "ubuntu")
    }

    /// The Debian release whose libc matches the host's, or why there is none.
    pub fn runtime_release(&self) -> Result<String, String> {
        match (&self.codename, self.is_debian()) {
            (Some(c), true) if is_valid_tag(c) => Ok(c.clone()),
            _ if self.is_debian_like() => Err(format!(
                "host is {} (Debian-like, not Debian): the host-built binaries are put on a Debian \
                 {STAND_IN_RELEASE} base and need a glibc no newer than its 2.36",
                self.id
            )),
            _ => Err(format!(
                "host is {} (not Debian-like): the host-built binaries are put on a Debian \
                 {STAND_IN_RELEASE} base and will only run there if they need no newer glibc \
                 than its 2.36; build the images online or on a Debian host",
                self.id
            )),
        }
    }
}

/// sha256 of the parts, each length-prefixed so `["ab","c"]` ≠ `["a","bc"]`.
fn hash_parts(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, remembered in `work_dir/file-hashes.json` by (path, size, mtime) so a
/// second run does not re-read a large binary.
fn file_sha256(path: &Path, work_dir: &Path) -> Result<String, ImagesError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = format!("{}|{}|{}", path.display(), meta.len(), mtime);
    let cache_path = work_dir.join("file-hashes.json");
    let mut cache: HashMap<String, String> = std::fs::read(&cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(h) = cache.get(&key) {
        return Ok(h.clone());
    }
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest = hex(&h.finalize());
    // Keep the cache small: only entries for paths still in use survive.
    let own = format!("{}|", path.display());
    cache.retain(|k, _| !k.starts_with(&own));
    if cache.len() > 64 {
        cache.clear();
    }
    cache.insert(key, digest.clone());
    if let Ok(json) = serde_json::to_vec(&cache) {
        let tmp = cache_path.with_extension("json.tmp");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &cache_path);
        }
    }
    Ok(digest)
}

/// Find a binary the caller did not name: next to the running executable, or one level up
/// (test executables live in `target/<profile>/deps`).
pub fn locate_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    found
}

fn binary_path(given: &Option<PathBuf>, name: &str, package: &str) -> Result<PathBuf, ImagesError> {
    if let Some(p) = given {
        if p.is_file() {
            return Ok(p.clone());
        }
        return Err(ImagesError::MissingBinary {
            name: name.into(),
            package: package.into(),
            searched: p.display().to_string(),
        });
    }
    locate_binary(name).ok_or_else(|| ImagesError::MissingBinary {
        name: name.into(),
        package: package.into(),
        searched: std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "the executable's directory".into()),
    })
}

/// Hold an exclusive lock on `work_dir/images.lock` (released when the file is dropped).
async fn lock_work_dir(
    work_dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<std::fs::File, ImagesError> {
    let path = work_dir.join("images.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => progress(&format!(
            "waiting for another `assay images` using {}",
            work_dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    let locked = path.clone();
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| ImagesError::Io {
            path: locked.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(io_err(&locked))
}

/// The state of one wanted image.
enum Found {
    Missing,
    /// Not built by assay (pulled or the user's own): left alone.
    Foreign,
    /// Built by assay from the same inputs.
    Current {
        stand_in: bool,
    },
    /// Built by assay from other inputs: rebuild (and remove the old image, by id, after).
    Outdated {
        id: Option<String>,
    },
}

/// `rebuild`: treat every image of ours as outdated.
async fn look_up(
    engine: &Engine,
    image: &ImageRef,
    hash: &str,
    rebuild: bool,
) -> Result<Found, EngineError> {
    let Some(inspect) = engine.inspect_image(&image.to_string()).await? else {
        return Ok(Found::Missing);
    };
    let l = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    if !labels::is_true(l, labels::MANAGED) {
        return Ok(Found::Foreign);
    }
    let same = l
        .and_then(|l| l.get(labels::CONTENT_HASH))
        .map(String::as_str)
        == Some(hash);
    if same && !rebuild {
        Ok(Found::Current {
            stand_in: labels::is_true(l, labels::STAND_IN),
        })
    } else {
        Ok(Found::Outdated { id: inspect.id })
    }
}

fn image_labels(role: &str, hash: &str, stand_in: bool) -> HashMap<String, String> {
    let mut l = labels::managed();
    l.insert(labels::CONTENT_HASH.into(), hash.into());
    l.insert(labels::ROLE.into(), role.into());
    // Always set: labels are inherited from the base image, and a webapp built on a stand-in
    // base is not a stand-in.
    l.insert(labels::STAND_IN.into(), stand_in.to_string());
    l
}

/// The Dockerfile `LABEL` changes for `docker import`.
fn label_changes(l: &HashMap<String, String>) -> Vec<String> {
    let mut keys: Vec<_> = l.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| format!("LABEL {k}={}", serde_json::Value::String(l[k].clone())))
        .collect()
}

/// An in-memory tar build context: (path, mode, bytes).
fn context_tar(files: &[(&str, u32, &[u8])]) -> Result<Vec<u8>, ImagesError> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, mode, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, *data)
            .map_err(io_err(Path::new(path)))?;
    }
    b.into_inner().map_err(io_err(Path::new("build context")))
}

fn build_options(image: &ImageRef, labels: HashMap<String, String>) -> BuildImageOptions {
    BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(image.to_string()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    }
}

/// Runs the steps of `ensure_images` and collects their statuses.
struct Preparer<'a> {
    engine: &'a Engine,
    opts: &'a ImagesOptions,
    progress: &'a dyn Fn(&str),
    report: ImagesReport,
    /// Set after the first failed pull: no registry answers, stop trying.
    registry_down: bool,
    /// This daemon's key in [`ImagesOptions::registry_memory`], when there is one.
    daemon: Option<String>,
    /// The memory that set `registry_down` before anything was tried, until it is said.
    remembered: Option<crate::registry_memory::Remembered>,
    /// `registry_down` comes from that memory, not from `--offline` or a failure in this run.
    down_by_memory: bool,
    /// Ids of outdated images of ours that new builds replace.
    replaced: Vec<String>,
}

/// Make sure every image of the rubric's [`ImagePlan`] exists locally. Pulls when online and a
/// registry answers; otherwise builds stand-ins from Debian packages (needs `debootstrap` and
/// root). A second call with nothing changed only inspects.
pub async fn ensure_images(
    engine: &Engine,
    rubric: &assay_core::Rubric,
    opts: &ImagesOptions,
    progress: &dyn Fn(&str),
) -> Result<ImagesReport, ImagesError> {
    ensure_plan(engine, &ImagePlan::from_rubric(rubric), opts, progress).await
}

/// [`ensure_images`] for an explicit plan.
pub async fn ensure_plan(
    engine: &Engine,
    plan: &ImagePlan,
    opts: &ImagesOptions,
    progress: &dyn Fn(&str),
) -> Result<ImagesReport, ImagesError> {
    std::fs::create_dir_all(&opts.work_dir).map_err(io_err(&opts.work_dir))?;
    // One preparer at a time per work dir (parallel evaluations, parallel tests): the others
    // wait, then find the images present.
    let _lock = lock_work_dir(&opts.work_dir, progress).await?;
    let daemon = match &opts.registry_memory {
        Some(_) if !opts.offline => Some(engine.daemon_id().await),
        _ => None,
    };
    let remembered = match (&opts.registry_memory, &daemon) {
        (Some(memory), Some(d)) if opts.skip_remembered_registry => {
            memory.unreachable(d, std::time::SystemTime::now())
        }
        _ => None,
    };
    let mut p = Preparer {
        engine,
        opts,
        progress,
        report: ImagesReport::default(),
        registry_down: opts.offline || remembered.is_some(),
        down_by_memory: !opts.offline && remembered.is_some(),
        daemon,
        remembered,
        replaced: Vec::new(),
    };
    let runtime_release = match HostRelease::detect().map(|h| h.runtime_release()) {
        Some(Ok(r)) => r,
        Some(Err(warning)) => {
            progress(&format!("warning: {warning}"));
            p.report.warnings.push(warning);
            STAND_IN_RELEASE.to_string()
        }
        None => {
            let w = "cannot read /etc/os-release; assuming a Debian bookworm host".to_string();
            progress(&format!("warning: {w}"));
            p.report.warnings.push(w);
            STAND_IN_RELEASE.to_string()
        }
    };
    let runtime_base = ImageRef::new("debian", &format!("{runtime_release}-slim"));

    let mut debian = plan.debian.clone();
    if !debian.contains(&runtime_base) {
        debian.push(runtime_base.clone());
    }
    // The Debian bases by release; the runtime base may be another release than the stand-ins.
    let mut by_release: Vec<(String, Vec<ImageRef>)> = Vec::new();
    for image in debian {
        let release = image.tag.trim_end_matches("-slim").to_string();
        match by_release.iter_mut().find(|(r, _)| *r == release) {
            Some((_, v)) => v.push(image),
            None => by_release.push((release, vec![image])),
        }
    }
    if p.registry_down {
        p.prefetch_trees(&by_release, &plan.postgres, Some(&plan.tools))
            .await?;
    }
    for (release, images) in &by_release {
        p.ensure_debian(release, images).await?;
    }
    p.ensure_postgres(&plan.postgres).await?;
    p.ensure_webapp(&plan.webapp, &runtime_base).await?;
    p.ensure_probe(&plan.probe, &runtime_base).await?;
    p.ensure_tools(&plan.tools).await?;
    p.remove_replaced().await;
    Ok(p.report)
}

/// Only the tools image ([`tools_image`]), for `assay logs grade --command` on a machine where
/// `assay images` has not run: built from Debian packages (there is no upstream image to pull),
/// a second call only inspects.
pub async fn ensure_tools(
    engine: &Engine,
    opts: &ImagesOptions,
    progress: &dyn Fn(&str),
) -> Result<ImagesReport, ImagesError> {
    std::fs::create_dir_all(&opts.work_dir).map_err(io_err(&opts.work_dir))?;
    let _lock = lock_work_dir(&opts.work_dir, progress).await?;
    let mut p = Preparer {
        engine,
        opts,
        progress,
        report: ImagesReport::default(),
        registry_down: true,
        down_by_memory: false,
        daemon: None,
        remembered: None,
        replaced: Vec::new(),
    };
    p.ensure_tools(&tools_image()).await?;
    p.remove_replaced().await;
    Ok(p.report)
}

impl Preparer<'_> {
    fn say(&self, line: &str) {
        (self.progress)(line)
    }

    /// The registry is about to be skipped (offline, remembered down, or already failed):
    /// when the memory decided it, the report's note says so once.
    fn registry_skipped(&mut self) {
        if let Some(r) = self.remembered.take() {
            self.report
                .notes
                .push(r.describe(std::time::SystemTime::now()));
        }
    }

    /// A pull or an online build failed with `why`: remembered for this daemon.
    fn registry_failed(&self, why: &str) {
        if let (Some(memory), Some(daemon)) = (&self.opts.registry_memory, &self.daemon) {
            memory.remember(daemon, why, std::time::SystemTime::now());
        }
    }

    /// A registry answered this daemon: nothing to remember.
    fn registry_answered(&self) {
        if let (Some(memory), Some(daemon)) = (&self.opts.registry_memory, &self.daemon) {
            memory.forget(daemon);
        }
    }

    /// Offline, the stand-ins that will be built need debootstrap trees; build the missing
    /// ones at the same time (each is mostly waiting on downloads and dpkg).
    async fn prefetch_trees(
        &self,
        debian: &[(String, Vec<ImageRef>)],
        postgres: &[ImageRef],
        tools: Option<&ImageRef>,
    ) -> Result<(), ImagesError> {
        let mut wanted: Vec<(String, Vec<&str>)> = Vec::new();
        for (release, images) in debian {
            let (hash, _) = debian_recipe(release);
            if self.needs_build(images, &hash).await? {
                wanted.push((release.clone(), vec![]));
            }
        }
        let recipe = postgres_recipe();
        if self.needs_build(postgres, &recipe.hash).await?
            && !matches!(
                look_up(
                    self.engine,
                    &recipe.rootfs,
                    &recipe.rootfs_hash,
                    self.opts.rebuild
                )
                .await?,
                Found::Current { .. }
            )
        {
            wanted.push((STAND_IN_RELEASE.to_string(), vec![recipe.package.as_str()]));
        }
        if let Some(tools) = tools {
            let (hash, _) = tools_recipe();
            if self.needs_build(std::slice::from_ref(tools), &hash).await? {
                wanted.push((STAND_IN_RELEASE.to_string(), TOOLS_PACKAGES.to_vec()));
            }
        }
        if wanted.len() < 2 {
            return Ok(());
        }
        let mirror = self.opts.mirror.as_deref().unwrap_or(DEFAULT_MIRROR);
        self.say(&format!(
            "building {} Debian trees at the same time",
            wanted.len()
        ));
        let runs = wanted.iter().map(|(release, include)| {
            crate::debootstrap::tree(&self.opts.work_dir, release, include, mirror, self.progress)
        });
        for r in futures_util::future::join_all(runs).await {
            r?;
        }
        Ok(())
    }

    /// Remove the outdated images of ours that lost their last name to a rebuild. Best effort:
    /// an image still named or used by a container stays.
    async fn remove_replaced(&mut self) {
        self.replaced.sort();
        self.replaced.dedup();
        let mut left = std::mem::take(&mut self.replaced);
        // A parent goes only after its children: retry what failed while something went.
        for _ in 0..3 {
            let before = left.len();
            let mut kept = Vec::new();
            for id in left {
                let Ok(Some(inspect)) = self.engine.inspect_image(&id).await else {
                    continue;
                };
                let ours = labels::is_true(
                    inspect.config.as_ref().and_then(|c| c.labels.as_ref()),
                    labels::MANAGED,
                );
                if !ours || inspect.repo_tags.as_ref().is_some_and(|t| !t.is_empty()) {
                    continue;
                }
                match self.engine.remove_image(&id).await {
                    Ok(()) => self.say(&format!("removed the outdated image {id}")),
                    Err(_) => kept.push(id),
                }
            }
            left = kept;
            if left.is_empty() || left.len() == before {
                break;
            }
        }
        for id in left {
            self.say(&format!("kept the outdated image {id} (still in use)"));
        }
    }

    /// True when some image of `images` is missing or outdated.
    async fn needs_build(&self, images: &[ImageRef], hash: &str) -> Result<bool, ImagesError> {
        for image in images {
            if matches!(
                look_up(self.engine, image, hash, self.opts.rebuild).await?,
                Found::Missing | Found::Outdated { .. }
            ) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn push(&mut self, image: &ImageRef, action: ImageAction, stand_in: bool, started: Instant) {
        self.report.images.push(ImageStatus {
            tag: image.to_string(),
            action,
            stand_in,
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    /// Look each image up; returns the ones that need work (missing or outdated). Images that
    /// are already fine are recorded as present.
    async fn triage(
        &mut self,
        images: &[ImageRef],
        hash: &str,
    ) -> Result<Vec<ImageRef>, ImagesError> {
        let mut todo = Vec::new();
        for image in images {
            let started = Instant::now();
            match look_up(self.engine, image, hash, self.opts.rebuild).await? {
                Found::Foreign => self.push(image, ImageAction::AlreadyPresent, false, started),
                Found::Current { stand_in } => {
                    self.push(image, ImageAction::AlreadyPresent, stand_in, started)
                }
                Found::Missing => todo.push(image.clone()),
                Found::Outdated { id } => {
                    self.replaced.extend(id);
                    todo.push(image.clone())
                }
            }
        }
        Ok(todo)
    }

    /// Pull `images` unless offline or the registry already failed; returns those still missing.
    async fn try_pull(&mut self, images: Vec<ImageRef>) -> Vec<ImageRef> {
        let mut left = Vec::new();
        for image in images {
            if self.registry_down {
                self.registry_skipped();
                left.push(image);
                continue;
            }
            let started = Instant::now();
            self.say(&format!("pulling {image}"));
            let progress = self.progress;
            match self
                .engine
                .pull_image(&image.repo, &image.tag, &|l| progress(&format!("  {l}")))
                .await
            {
                Ok(()) => {
                    self.registry_answered();
                    self.push(&image, ImageAction::Pulled, false, started)
                }
                Err(e) => {
                    let w = format!("cannot pull {image} ({e}); building stand-ins instead");
                    self.say(&w);
                    self.report.warnings.push(w);
                    self.registry_failed(&format!("pulling {image}: {e}"));
                    self.registry_down = true;
                    left.push(image);
                }
            }
        }
        left
    }

    /// Import a debootstrapped tree (built if not cached) as `image`, with `changes` applied.
    async fn import_tree(
        &self,
        release: &str,
        include: &[&str],
        image: &ImageRef,
        changes: Vec<String>,
    ) -> Result<(), ImagesError> {
        let mirror = self.opts.mirror.as_deref().unwrap_or(DEFAULT_MIRROR);
        let dir =
            crate::debootstrap::tree(&self.opts.work_dir, release, include, mirror, self.progress)
                .await?;
        crate::debootstrap::prepare_postgres_dirs(&dir)?;
        self.say(&format!("importing {} as {image}", dir.display()));
        let started = Instant::now();
        crate::debootstrap::import(self.engine, &dir, ROOTFS_EXCLUDES, image, changes).await?;
        self.say(&format!(
            "imported {image} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    async fn tag_rest(
        &mut self,
        first: &ImageRef,
        rest: &[ImageRef],
        action: ImageAction,
        stand_in: bool,
    ) -> Result<(), ImagesError> {
        for image in rest {
            let started = Instant::now();
            self.engine
                .tag_image(&first.to_string(), &image.repo, &image.tag)
                .await?;
            self.push(image, action, stand_in, started);
        }
        Ok(())
    }

    async fn ensure_debian(
        &mut self,
        release: &str,
        images: &[ImageRef],
    ) -> Result<(), ImagesError> {
        let (hash, base_changes) = debian_recipe(release);
        let todo = self.triage(images, &hash).await?;
        let todo = self.try_pull(todo).await;
        let Some((first, rest)) = todo.split_first() else {
            return Ok(());
        };
        let started = Instant::now();
        self.say(&format!(
            "building stand-in {first} from Debian {release} packages"
        ));
        let mut changes = label_changes(&image_labels("debian", &hash, true));
        changes.extend(base_changes);
        self.import_tree(release, &[], first, changes).await?;
        self.push(first, ImageAction::BuiltStandIn, true, started);
        self.tag_rest(first, rest, ImageAction::BuiltStandIn, true)
            .await
    }

    async fn ensure_postgres(&mut self, images: &[ImageRef]) -> Result<(), ImagesError> {
        let PostgresRecipe {
            package,
            rootfs,
            rootfs_hash,
            dockerfile,
            hash,
        } = postgres_recipe();
        let major = STAND_IN_POSTGRES_MAJOR;
        let todo = self.triage(images, &hash).await?;
        let todo = self.try_pull(todo).await;
        let Some((first, rest)) = todo.split_first() else {
            return Ok(());
        };
        let started = Instant::now();
        self.say(&format!(
            "building stand-in {first} (PostgreSQL {major} from Debian {STAND_IN_RELEASE} packages)"
        ));
        let rootfs_state = look_up(self.engine, &rootfs, &rootfs_hash, self.opts.rebuild).await?;
        if let Found::Outdated { id } = &rootfs_state {
            self.replaced.extend(id.clone());
        }
        if !matches!(rootfs_state, Found::Current { .. }) {
            let changes = label_changes(&image_labels("stand-in-rootfs", &rootfs_hash, true));
            self.import_tree(STAND_IN_RELEASE, &[&package], &rootfs, changes)
                .await?;
        }
        let ctx = context_tar(&[
            ("Dockerfile", 0o644, dockerfile.as_bytes()),
            (
                "docker-entrypoint.sh",
                0o755,
                POSTGRES_ENTRYPOINT.as_bytes(),
            ),
        ])?;
        self.say(&format!("building {first} on {rootfs}"));
        let progress = self.progress;
        self.engine
            .build_image(
                build_options(first, image_labels("postgres", &hash, true)),
                ctx,
                &|l| progress(&format!("  {l}")),
            )
            .await?;
        self.push(first, ImageAction::BuiltStandIn, true, started);
        self.tag_rest(first, rest, ImageAction::BuiltStandIn, true)
            .await
    }

    /// Copy a host-built binary onto the runtime base.
    async fn build_binary_image(
        &mut self,
        image: &ImageRef,
        base: &ImageRef,
        role: &str,
        binary: &Path,
        dockerfile: &str,
    ) -> Result<(), ImagesError> {
        let base_id = self
            .engine
            .inspect_image(&base.to_string())
            .await?
            .and_then(|i| i.id)
            .unwrap_or_default();
        let bin_hash = file_sha256(binary, &self.opts.work_dir)?;
        let hash = hash_parts(&[
            RECIPE_VERSION.as_bytes(),
            role.as_bytes(),
            bin_hash.as_bytes(),
            base_id.as_bytes(),
            dockerfile.as_bytes(),
        ]);
        let todo = self.triage(std::slice::from_ref(image), &hash).await?;
        if todo.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        self.say(&format!(
            "building {image} from {} on {base}",
            binary.display()
        ));
        let bytes = tokio::fs::read(binary).await.map_err(io_err(binary))?;
        let name = binary
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("binary");
        let ctx = context_tar(&[
            ("Dockerfile", 0o644, dockerfile.as_bytes()),
            (name, 0o755, &bytes),
        ])?;
        drop(bytes);
        let progress = self.progress;
        self.engine
            .build_image(
                build_options(image, image_labels(role, &hash, false)),
                ctx,
                &|l| progress(&format!("  {l}")),
            )
            .await?;
        self.push(image, ImageAction::Built, false, started);
        Ok(())
    }

    async fn ensure_webapp(
        &mut self,
        image: &ImageRef,
        base: &ImageRef,
    ) -> Result<(), ImagesError> {
        if let Some(src) = &self.opts.webapp_source {
            if self.down_by_memory {
                // The image an earlier online build made is still good without a registry;
                // only building it again needs one.
                if self.build_webapp_online(image, src, false).await? {
                    return Ok(());
                }
                self.registry_skipped();
            } else if !self.registry_down {
                match self.build_webapp_online(image, src, true).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(e) => {
                        let w = format!(
                            "cannot build {image} from {} ({e}); using the host-built binary",
                            src.display()
                        );
                        self.say(&w);
                        self.report.warnings.push(w);
                        // Its Dockerfile is the handout's own, which builds: what failed is
                        // reaching the registry for its base images.
                        self.registry_failed(&format!("building {image} online: {e}"));
                    }
                }
            }
        }
        let binary = binary_path(&self.opts.webapp_binary, "sample-webapp", "sample-webapp")?;
        let dockerfile = format!(
            "FROM {base}\n\
             COPY sample-webapp /usr/local/bin/sample-webapp\n\
             ENV PORT=8080\n\
             EXPOSE 8080\n\
             USER 65534:65534\n\
             CMD [\"sample-webapp\"]\n"
        );
        self.build_binary_image(image, base, "webapp", &binary, &dockerfile)
            .await
    }

    /// Online: build the webapp from its own multi-stage Dockerfile. `Ok(false)` = the source
    /// has no Dockerfile, or the image is not current and `may_build` is false.
    async fn build_webapp_online(
        &mut self,
        image: &ImageRef,
        src: &Path,
        may_build: bool,
    ) -> Result<bool, ImagesError> {
        let dockerfile = src.join("Dockerfile");
        if !dockerfile.is_file() {
            return Ok(false);
        }
        let ctx = crate::debootstrap::dir_tar(src)?;
        let hash = hash_parts(&[
            RECIPE_VERSION.as_bytes(),
            b"webapp-online",
            &Sha256::digest(&ctx),
        ]);
        if may_build {
            if self
                .triage(std::slice::from_ref(image), &hash)
                .await?
                .is_empty()
            {
                return Ok(true);
            }
        } else {
            let started = Instant::now();
            let found = look_up(self.engine, image, &hash, self.opts.rebuild).await?;
            if matches!(found, Found::Current { .. }) {
                self.push(image, ImageAction::AlreadyPresent, false, started);
                return Ok(true);
            }
            return Ok(false);
        }
        let started = Instant::now();
        self.say(&format!("building {image} from {}", dockerfile.display()));
        let progress = self.progress;
        let mut opts = build_options(image, image_labels("webapp", &hash, false));
        opts.pull = Some("true".into());
        self.engine
            .build_image(opts, ctx, &|l| progress(&format!("  {l}")))
            .await?;
        self.registry_answered();
        self.push(image, ImageAction::Built, false, started);
        Ok(true)
    }

    /// The tools image: a Debian tree with [`TOOLS_PACKAGES`], imported as is. Not a
    /// stand-in (no upstream image of that name exists), so never pulled.
    async fn ensure_tools(&mut self, image: &ImageRef) -> Result<(), ImagesError> {
        let (hash, base_changes) = tools_recipe();
        let todo = self.triage(std::slice::from_ref(image), &hash).await?;
        if todo.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        self.say(&format!(
            "building {image} from Debian {STAND_IN_RELEASE} packages ({})",
            TOOLS_PACKAGES.join(", ")
        ));
        let mut changes = label_changes(&image_labels("tools", &hash, false));
        changes.extend(base_changes);
        self.import_tree(STAND_IN_RELEASE, TOOLS_PACKAGES, image, changes)
            .await?;
        self.push(image, ImageAction::Built, false, started);
        Ok(())
    }

    async fn ensure_probe(&mut self, image: &ImageRef, base: &ImageRef) -> Result<(), ImagesError> {
        let binary = binary_path(&self.opts.probe_binary, "assay-probe", "assay-probe")?;
        let dockerfile = format!(
            "FROM {base}\n\
             COPY assay-probe /usr/local/bin/assay-probe\n\
             USER 65534:65534\n\
             STOPSIGNAL SIGKILL\n\
             CMD [\"sleep\", \"infinity\"]\n"
        );
        self.build_binary_image(image, base, "probe", &binary, &dockerfile)
            .await
    }
}

/// The content hash of a Debian stand-in and the `docker import` changes besides labels.
fn debian_recipe(release: &str) -> (String, Vec<String>) {
    let base_changes = vec![
        r#"CMD ["bash"]"#.to_string(),
        "ENV LANG=C.UTF-8".to_string(),
    ];
    let hash = hash_parts(&[
        RECIPE_VERSION.as_bytes(),
        b"debian",
        release.as_bytes(),
        ROOTFS_EXCLUDES.join("\n").as_bytes(),
        base_changes.join("\n").as_bytes(),
    ]);
    (hash, base_changes)
}

/// The content hash of the tools image and its `docker import` changes besides labels.
fn tools_recipe() -> (String, Vec<String>) {
    let changes = vec![
        r#"CMD ["bash"]"#.to_string(),
        "ENV LANG=C.UTF-8".to_string(),
        "WORKDIR /work".to_string(),
    ];
    let hash = hash_parts(&[
        RECIPE_VERSION.as_bytes(),
        b"tools",
        STAND_IN_RELEASE.as_bytes(),
        TOOLS_PACKAGES.join(",").as_bytes(),
        ROOTFS_EXCLUDES.join("\n").as_bytes(),
        changes.join("\n").as_bytes(),
    ]);
    (hash, changes)
}

/// Everything the Postgres stand-in is made from.
struct PostgresRecipe {
    package: String,
    rootfs: ImageRef,
    rootfs_hash: String,
    dockerfile: String,
    hash: String,
}

fn postgres_recipe() -> PostgresRecipe {
    let major = STAND_IN_POSTGRES_MAJOR;
    let package = format!("postgresql-{major}");
    let rootfs = ImageRef::new(
        "assay/stand-in-rootfs",
        &format!("{STAND_IN_RELEASE}-{package}"),
    );
    let rootfs_hash = hash_parts(&[
        RECIPE_VERSION.as_bytes(),
        STAND_IN_RELEASE.as_bytes(),
        package.as_bytes(),
        ROOTFS_EXCLUDES.join("\n").as_bytes(),
    ]);
    let dockerfile = postgres_dockerfile(&rootfs, major);
    let hash = hash_parts(&[
        rootfs_hash.as_bytes(),
        dockerfile.as_bytes(),
        POSTGRES_ENTRYPOINT.as_bytes(),
    ]);
    PostgresRecipe {
        package,
        rootfs,
        rootfs_hash,
        dockerfile,
        hash,
    }
}

/// The build on top of the imported Postgres root filesystem.
fn postgres_dockerfile(rootfs: &ImageRef, major: &str) -> String {
    format!(
        "FROM {rootfs}\n\
         COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n\
         ENV PATH=/usr/lib/postgresql/{major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
         PGDATA=/var/lib/postgresql/data LANG=C.UTF-8 PG_MAJOR={major}\n\
         ENTRYPOINT [\"docker-entrypoint.sh\"]\n\
         CMD [\"postgres\"]\n\
         EXPOSE 5432\n\
         STOPSIGNAL SIGINT\n\
         VOLUME /var/lib/postgresql/data\n"
    )
}

/// How a build of a candidate's Dockerfile is confined: no network, memory, CPU and pids limits,
/// and the run's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildLimits {
    /// Memory of each build step's container (memory+swap the same: no swap).
    pub memory_bytes: i32,
    /// CPU quota per 100 ms period, in microseconds (150 000 = 1.5 CPUs).
    pub cpu_quota_us: i32,
}

impl Default for BuildLimits {
    fn default() -> Self {
        BuildLimits {
            memory_bytes: 512 * 1024 * 1024,
            cpu_quota_us: 150_000,
        }
    }
}

/// Builds an image from a local build context (a candidate's own webapp, `--build-webapp`),
/// tagged `tag` and labelled as assay's, so `assay gc` and the caller can remove it.
///
/// Confined like a run: every `RUN` step has no network at all (`--network none`: a step that
/// downloads fails, as the candidate's build failure), its memory and CPU are capped by
/// `limits`, and the caller bounds the whole build by the run's deadline. The build API has no
/// pids limit; the memory cap bounds how many processes a step can fork, and the deadline how
/// long it can try.
pub async fn build_from_context(
    engine: &Engine,
    context: &Path,
    dockerfile: &str,
    tag: &str,
    limits: &BuildLimits,
    progress: &dyn Fn(&str),
) -> Result<(), ImagesError> {
    let tar = crate::debootstrap::dir_tar(context)?;
    let mut l = HashMap::new();
    l.insert(labels::MANAGED.to_string(), "true".to_string());
    l.insert(labels::STAND_IN.to_string(), "false".to_string());
    let mut options = build_options(
        &ImageRef::new(
            tag.split(':').next().unwrap_or(tag),
            tag.split(':').nth(1).unwrap_or("latest"),
        ),
        l,
    );
    options.dockerfile = dockerfile.to_string();
    options.networkmode = Some("none".into());
    options.memory = Some(limits.memory_bytes);
    options.memswap = Some(limits.memory_bytes);
    options.cpuperiod = Some(100_000);
    options.cpuquota = Some(limits.cpu_quota_us);
    options.shmsize = Some(64 * 1024 * 1024);
    engine.build_image(options, tar, progress).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_of_debian_gives_its_codename() {
        let h = HostRelease::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_CODENAME=bookworm\n",
        );
        assert!(h.is_debian());
        assert_eq!(h.runtime_release(), Ok("bookworm".to_string()));
    }

    #[test]
    fn non_debian_hosts_are_named_in_the_warning() {
        let fedora = HostRelease::parse("ID=fedora\nVERSION_CODENAME=\n");
        let err = fedora.runtime_release().unwrap_err();
        assert!(err.contains("fedora (not Debian-like)"), "{err}");
        let ubuntu = HostRelease::parse("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        let err = ubuntu.runtime_release().unwrap_err();
        assert!(err.contains("ubuntu (Debian-like, not Debian)"), "{err}");
    }

    #[test]
    fn hostile_os_release_codename_is_not_used_as_a_tag() {
        let h = HostRelease::parse("ID=debian\nVERSION_CODENAME=../../x y\n");
        assert!(h.runtime_release().is_err());
    }

    /// The default rubric plus a tag no image reference may carry.
    fn fixture_rubric() -> assay_core::Rubric {
        let mut r = assay_core::default_rubric();
        r.database.allowed_tags.push("bad tag!".into());
        r
    }

    #[test]
    fn plan_adds_the_rubric_tags_to_the_defaults_and_skips_invalid_ones() {
        let plan = ImagePlan::from_rubric(&fixture_rubric());
        let pg: Vec<String> = plan.postgres.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            pg,
            [
                "postgres:15",
                "postgres:16",
                "postgres:latest",
                "postgres:16-alpine",
                "postgres:15-alpine"
            ]
        );
        assert_eq!(
            plan.webapp.to_string(),
            format!("assay/sample-webapp:{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(plan.probe.repo, PROBE_REPO);
        assert!(plan
            .all()
            .contains(&ImageRef::new("debian", "bookworm-slim")));
    }

    #[test]
    fn an_invalid_webapp_repo_falls_back_to_the_default() {
        let mut r = fixture_rubric();
        r.webapp.images = vec!["Bad Name!".into()];
        assert_eq!(webapp_image(&r).repo, DEFAULT_WEBAPP_REPO);
        r.webapp.images = vec!["registry.example:5000/team/webapp".into()];
        assert_eq!(webapp_image(&r).repo, "registry.example:5000/team/webapp");
        for bad in ["", "a//b", "-a", "a-", "UPPER", "a..b", "a/ b"] {
            assert!(!is_valid_repo(bad), "{bad:?}");
        }
    }

    #[test]
    fn tags_follow_docker_grammar() {
        assert!(is_valid_tag("16-alpine"));
        assert!(is_valid_tag("latest"));
        assert!(!is_valid_tag(""));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag("a:b"));
        assert!(!is_valid_tag(&"x".repeat(129)));
    }

    #[test]
    fn hash_parts_is_unambiguous() {
        assert_ne!(hash_parts(&[b"ab", b"c"]), hash_parts(&[b"a", b"bc"]));
        assert_eq!(hash_parts(&[b"x"]), hash_parts(&[b"x"]));
    }

    #[test]
    fn label_changes_quote_values() {
        let l = image_labels("postgres", "abc", true);
        let c = label_changes(&l);
        assert!(
            c.contains(&"LABEL dev.assay.managed=\"true\"".to_string()),
            "{c:?}"
        );
        assert!(
            c.contains(&"LABEL dev.assay.stand-in=\"true\"".to_string()),
            "{c:?}"
        );
        assert!(
            c.contains(&"LABEL dev.assay.content-hash=\"abc\"".to_string()),
            "{c:?}"
        );
    }

    #[test]
    fn file_hash_is_cached_by_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bin");
        std::fs::write(&f, b"hello").unwrap();
        let a = file_sha256(&f, dir.path()).unwrap();
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(dir.path().join("file-hashes.json").is_file());
        // Same size, different content and mtime: a new hash.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"world").unwrap();
        let b = file_sha256(&f, dir.path()).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn context_tar_holds_the_files_with_modes() {
        let bytes = context_tar(&[
            ("Dockerfile", 0o644, b"FROM x\n"),
            ("run.sh", 0o755, b"#!/bin/sh\n"),
        ])
        .unwrap();
        let mut ar = tar::Archive::new(&bytes[..]);
        let entries: Vec<(String, u32)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![("Dockerfile".into(), 0o644), ("run.sh".into(), 0o755)]
        );
    }
}
