//! `assay images`: make sure every image an evaluation needs exists locally (pulled, or built
//! as stand-ins from Debian packages when offline), and the binaries they are built from.

use crate::exit::Exit;
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

/// Prepares every image; progress lines go to `progress`.
pub async fn prepare(
    engine: &Engine,
    rubric: &Rubric,
    offline: bool,
    rebuild: bool,
    progress: &dyn Fn(&str),
) -> Result<ImagesReport, PrepareError> {
    let (webapp, probe) = locate_binaries(progress)?;
    let opts = ImagesOptions {
        offline,
        rebuild,
        webapp_binary: Some(webapp),
        probe_binary: Some(probe),
        work_dir: default_work_dir(),
        webapp_source: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-webapp"))
            .filter(|p| p.join("Dockerfile").is_file()),
        ..Default::default()
    };
    Ok(ensure_images(engine, rubric, &opts, progress).await?)
}

/// `assay images`.
pub fn run(rubric: &Rubric, offline: bool, rebuild: bool) -> Exit {
    crate::runtime::with_engine(|engine| async move {
        let progress = |line: &str| eprintln!("assay images: {line}");
        match prepare(&engine, rubric, offline, rebuild, &progress).await {
            Ok(report) => {
                for w in &report.warnings {
                    eprintln!("warning: {w}");
                }
                for i in &report.images {
                    println!(
                        "{:<34} {:<16} {:>7.1}s{}",
                        i.tag,
                        format!("{:?}", i.action),
                        i.seconds,
                        if i.stand_in { "  (stand-in)" } else { "" }
                    );
                }
                Exit::Pass
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::CouldNotGrade
            }
        }
    })
}
