//! `assay compose config`: print the resolved project, as `docker compose config` does, with
//! every problem located on stderr.

use super::ConfigFormatArg;
use crate::error::Error;
use crate::exit::Exit;
use assay_compose::{load_project, render_config, ConfigFormat, LoadOptions};
use std::path::{Path, PathBuf};

use assay_intake::COMPOSE_FILE_NAMES as COMPOSE_NAMES;

pub(super) fn config(
    path: &Path,
    format: ConfigFormatArg,
    env: &[(String, String)],
) -> Result<Exit, Error> {
    let (root, file) = split(path)?;
    let opts = LoadOptions {
        env_overrides: env.iter().cloned().collect(),
        ..Default::default()
    };
    let loaded = load_project(&root, &file, &opts);
    for d in &loaded.diagnostics {
        eprintln!(
            "{}: {}",
            if d.is_error() { "error" } else { "warning" },
            assay_core::display::terminal(&d.to_string())
        );
    }
    match (&loaded.project, loaded.has_errors()) {
        (Some(project), false) => {
            let fmt = match format {
                ConfigFormatArg::Yaml => ConfigFormat::Yaml,
                ConfigFormatArg::Json => ConfigFormat::Json,
            };
            print!("{}", render_config(project, fmt));
            Ok(Exit::Pass)
        }
        _ => Ok(Exit::Fail),
    }
}

/// The submission root (the folder of the compose file) and the file relative to it.
fn split(path: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let fail = |why: String| Error::input(format!("{}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.is_dir() {
        let root = path.canonicalize().map_err(|e| fail(e.to_string()))?;
        let name = COMPOSE_NAMES
            .iter()
            .find(|n| root.join(n).is_file())
            .ok_or_else(|| fail(format!("no {} here", COMPOSE_NAMES.join(", "))))?;
        Ok((root, PathBuf::from(name)))
    } else {
        let abs = path.canonicalize().map_err(|e| fail(e.to_string()))?;
        let root = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let name = abs
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| fail("not a file".into()))?;
        Ok((root, name))
    }
}
