//! Sandbox: the one Docker layer (the Docker Engine API through bollard) and the images an
//! evaluation needs. Plans and runs of a candidate stack are `assay-runner`'s, on this layer.
//!
//! - [`engine`]: the bollard client, every call under its own timeout, typed errors.
//! - [`images`]: `assay images` — make sure every image an evaluation needs exists locally,
//!   pulled when a registry answers, otherwise stand-ins built from Debian packages.
//! - [`labels`]: the Docker labels assay puts on everything it creates.
//! - [`registry_memory`]: per daemon, that no registry answered it, for an hour.

mod debootstrap;
pub mod engine;
mod image_ref;
pub mod images;
mod images_error;
pub mod labels;
pub mod registry_memory;

pub use engine::{AttachedExec, CallError, Engine, EngineError, ExecOutput, Timeouts};
pub use images::{
    default_work_dir, ensure_images, ensure_plan, ensure_tools, is_stand_in, tools_image,
    HostRelease, ImageAction, ImagePlan, ImageRef, ImageStatus, ImagesError, ImagesOptions,
    ImagesReport,
};
pub use labels::random_hex;
