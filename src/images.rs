//! `assay images`: make sure every image an evaluation needs exists locally (pulled, or built
//! as stand-ins from Debian packages when offline), and the binaries they are built from; and
//! measure how fast each Postgres image becomes ready alone on this grader (its nominal
//! readiness, `assay_runner::nominal`), so a batch starts knowing it.

use assay_core::Rubric;
use assay_sandbox::images::{default_work_dir, ensure_images, ImagesOptions, ImagesReport};
use assay_sandbox::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Binaries the webapp and probe images are built from.
/// (binary, package, source dir in the checkout)
const BINARIES: [(&str, &str, &str); 2] = [
    ("sample-webapp", "sample-webapp", "sample-webapp"),
    ("assay-probe", "assay-probe", "crates/assay-probe"),
];

/// Why images could not be prepared. Always "could not grade" (exit 3), never the candidate's.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Engine(#[from] assay_sandbox::EngineError),
    #[error("{0}")]
    Images(#[from] assay_sandbox::images::ImagesError),
    #[error("{0}")]
    Binaries(String),
    #[error("{0}")]
    Runner(assay_runner::RunError),
}

/// Finds `sample-webapp` and `assay-probe` next to the running `assay`. Inside a source checkout
/// it first builds them with cargo (same profile, same target dir) when one is missing or older
/// than its sources, so the images always hold the webapp of this source tree. (Not on every
/// run: `cargo build -p` unifies features differently from a workspace build and would relink
/// binaries that are already current.)
pub fn locate_binaries(progress: &dyn Fn(&str)) -> Result<(PathBuf, PathBuf), PrepareError> {
    let exe = std::env::current_exe()
        .map_err(|e| PrepareError::Binaries(format!("cannot locate assay itself: {e}")))?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = |name: &str| dir.join(name);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let checkout = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let outdated = |bin: &str, src: &str| {
        let built = std::fs::metadata(path(bin)).and_then(|m| m.modified()).ok();
        match (built, newest_mtime(&checkout.join(src))) {
            (Some(built), Some(source)) => built < source,
            (None, _) => true,
            (Some(_), None) => false,
        }
    };
    if manifest.is_file() && BINARIES.iter().any(|(bin, _, src)| outdated(bin, src)) {
        let profile = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let target_dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        progress(&format!(
            "cargo build ({profile}) of sample-webapp and assay-probe"
        ));
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.arg("build")
            .arg("--quiet")
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir);
        cmd.arg("--profile").arg(if profile == "debug" {
            "dev"
        } else {
            profile.as_str()
        });
        for (_, package, _) in BINARIES {
            cmd.arg("-p").arg(package);
        }
        let status = cmd
            .status()
            .map_err(|e| PrepareError::Binaries(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(PrepareError::Binaries(format!(
                "building sample-webapp and assay-probe failed ({status})"
            )));
        }
    }
    for (b, package, _) in BINARIES {
        if !path(b).is_file() {
            return Err(PrepareError::Binaries(format!(
                "{} not found next to assay; build it with `cargo build --release -p {package}`",
                path(b).display()
            )));
        }
    }
    Ok((path(BINARIES[0].0), path(BINARIES[1].0)))
}

/// The newest modification time of the sources under `dir` (`Cargo.toml` and `src/`).
fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::fs::metadata(dir.join("Cargo.toml"))
        .and_then(|m| m.modified())
        .ok();
    let mut stack = vec![dir.join("src")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if let Ok(m) = meta.modified() {
                newest = newest.max(Some(m));
            }
        }
    }
    newest
}

/// What image preparation found: the images, and the nominal db readiness of each Postgres
/// image.
#[derive(Debug)]
pub struct Prepared {
    pub report: ImagesReport,
    pub nominal: Vec<NominalLine>,
}

/// The nominal readiness of one Postgres image (several tags may share one image id).
#[derive(Debug)]
pub struct NominalLine {
    pub tags: Vec<String>,
    /// `None` when it could not be measured; the reason is in `warning`.
    pub measured: Option<assay_runner::nominal::Prepared>,
    pub warning: Option<String>,
}

/// Prepares every image, then makes sure the nominal readiness of each Postgres image is
/// known (measured [`assay_runner::nominal::FIRST_SAMPLES`] times when it is not). Nothing of
/// this process runs yet, so the samples are taken alone and off any batch's critical path.
/// Progress lines go to `progress`.
///
/// `explicit` is `assay images`: one more readiness sample, and the registry tried whatever
/// the state dir remembers (an evaluation trusts that memory for
/// [`assay_sandbox::registry_memory::REMEMBER_FOR`] and tries no registry that did not answer
/// this daemon within it).
pub async fn prepare(
    engine: &Engine,
    rubric: &Rubric,
    offline: bool,
    rebuild: bool,
    explicit: bool,
    progress: &dyn Fn(&str),
) -> Result<Prepared, PrepareError> {
    let report = ensure(engine, rubric, offline, rebuild, !explicit, progress).await?;
    let nominal = nominal(engine, rubric, explicit, progress).await?;
    Ok(Prepared { report, nominal })
}

/// Measures what [`prepare`] says, one line per distinct Postgres image. A measurement that
/// fails is a warning (an evaluation measures that image when it needs the figure); only a
/// daemon that went away is an error.
async fn nominal(
    engine: &Engine,
    rubric: &Rubric,
    one_more: bool,
    progress: &dyn Fn(&str),
) -> Result<Vec<NominalLine>, PrepareError> {
    use assay_runner::nominal;
    let store = nominal::NominalStore::new(&assay_runner::reaper::default_state_dir());
    // Tags sharing an image id (stand-ins are often one image) are measured once.
    let mut by_id: Vec<(String, Vec<String>)> = Vec::new();
    for tag in assay_sandbox::images::ImagePlan::from_rubric(rubric).postgres {
        let tag = tag.to_string();
        let Some(id) = engine.inspect_image(&tag).await?.and_then(|i| i.id) else {
            continue;
        };
        match by_id.iter_mut().find(|(i, _)| *i == id) {
            Some((_, tags)) => tags.push(tag),
            None => by_id.push((id, vec![tag])),
        }
    }
    let limits = assay_runner::Limits::default();
    let mut lines = Vec::new();
    for (id, tags) in by_id {
        if store.get(&id).is_none() || one_more {
            progress(&format!(
                "measuring how fast {} becomes ready alone (nominal db readiness)",
                tags.join(", ")
            ));
        }
        let line = match nominal::prepare(engine, &store, &id, &limits, "r", one_more).await {
            Ok(measured) => NominalLine {
                tags,
                measured,
                warning: None,
            },
            Err(e) if e.is_unreachable() => return Err(PrepareError::Runner(e)),
            Err(e) => NominalLine {
                warning: Some(format!(
                    "the nominal readiness of {} could not be measured: {e}",
                    tags.join(", ")
                )),
                tags,
                measured: None,
            },
        };
        if let Some(w) = &line.warning {
            progress(&format!("warning: {w}"));
        }
        lines.push(line);
    }
    Ok(lines)
}

/// Makes sure every image of the rubric exists.
async fn ensure(
    engine: &Engine,
    rubric: &Rubric,
    offline: bool,
    rebuild: bool,
    trust_registry_memory: bool,
    progress: &dyn Fn(&str),
) -> Result<ImagesReport, PrepareError> {
    let (webapp, probe) = locate_binaries(progress)?;
    let opts = ImagesOptions {
        offline,
        rebuild,
        registry_memory: Some(assay_sandbox::registry_memory::RegistryMemory::new(
            &assay_runner::reaper::default_state_dir(),
        )),
        skip_remembered_registry: trust_registry_memory,
        webapp_binary: Some(webapp),
        probe_binary: Some(probe),
        work_dir: default_work_dir(),
        webapp_source: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-webapp"))
            .filter(|p| p.join("Dockerfile").is_file()),
        ..Default::default()
    };
    Ok(ensure_images(engine, rubric, &opts, progress).await?)
}
