//! Why preparing images failed: the one error of `assay images` and of the stand-in builds.

use crate::engine::EngineError;
use std::path::{Path, PathBuf};

/// Why images could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("debootstrap is not installed; install it (`apt-get install debootstrap`) or run `assay images` online")]
    DebootstrapMissing,
    #[error("debootstrap of {release} into {dir} failed ({status}):\n{tail}")]
    Debootstrap {
        release: String,
        dir: PathBuf,
        status: String,
        tail: String,
    },
    #[error("{dir} has file systems mounted inside (a debootstrap was interrupted); unmount them before assay can remove it: {mounts}")]
    MountedInsideTree { dir: PathBuf, mounts: String },
    #[error("could not stream {dir} into `docker import`: {detail}")]
    RootfsTar { dir: PathBuf, detail: String },
    #[error("no `{name}` binary: looked at {searched}; build it with `cargo build -p {package}` or pass its path")]
    MissingBinary {
        name: String,
        package: String,
        searched: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Turn an I/O error into [`ImagesError::Io`] naming `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImagesError + '_ {
    move |source| ImagesError::Io {
        path: path.to_path_buf(),
        source,
    }
}
