//! `assay compose config`: print the resolved project, as `docker compose config` does, with
//! every problem located on stderr.

use crate::cli::ConfigFormatArg;
use crate::exit::Exit;
use assay_compose::{load_project, render_config, ConfigFormat, LoadOptions};
use std::path::{Path, PathBuf};

use assay_intake::COMPOSE_FILE_NAMES as COMPOSE_NAMES;

pub fn run(path: &Path, format: ConfigFormatArg, env: &[(String, String)]) -> Exit {
    let (root, file) = match split(path) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Exit::Usage;
        }
    };
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
            Exit::Pass
        }
        _ => Exit::Fail,
    }
}

/// The submission root (the folder of the compose file) and the file relative to it.
fn split(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        let root = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let name = COMPOSE_NAMES
            .iter()
            .find(|n| root.join(n).is_file())
            .ok_or_else(|| format!("{}: no {} here", path.display(), COMPOSE_NAMES.join(", ")))?;
        Ok((root, PathBuf::from(name)))
    } else {
        let abs = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let root = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let name = abs
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| format!("{}: not a file", path.display()))?;
        Ok((root, name))
    }
}
