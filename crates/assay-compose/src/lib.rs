//! Compose: load a compose project exactly as Docker Compose does, with every problem located.
//!
//! The stages follow compose-go's `loader/loader.go`, one module each:
//!
//! ```text
//! .env (dotenv)                          variables: the submission's .env + --env overrides only
//! compose file ─ yaml ─────────────────► spanned Node tree (anchors, `<<`, duplicate keys, budgets)
//!              ─ interpolate/template ─► ${VAR:-d} … resolved, origins recorded, unset → warning
//!              ─ loader (extends, include, override file) ─ merge ─► one merged tree
//!              ─ schema ────────────────► unknown keys / wrong types, "did you mean"
//!              ─ canonical ─────────────► typed model (model.rs), long syntax, env_file merged, profiles
//!              ─ consistency ───────────► undefined references, dependency cycles, image-or-build
//! render ───────────────────────────────► `config` output (YAML / JSON)
//! ```
//!
//! Entry points: [`load`] (→ [`Loaded`]: the [`Project`] and every [`Diagnostic`]),
//! [`render_config`], [`load_env_file`]. Nothing is read outside the submission root, nothing
//! from the process environment, and every input is bounded (bytes, nodes, depth, files).
//! Whether a path is inside the submission, and how its files are read, is not decided here:
//! the loader asks [`assay_core::SubmissionRoot`], the one home of that rule.

mod canonical;
mod consistency;
mod dotenv;
mod duration;
mod files;
mod interpolate;
mod loader;
mod merge;
pub mod model;
pub mod node;
mod paths;
mod render;
mod schema;
mod template;
mod yaml;

pub use model::*;
pub use node::{Key, Node, NodeKind};
pub use render::render_config;

use assay_core::{Diagnostic, SubmissionRoot};
use std::collections::BTreeMap;
use std::path::Path;

/// What the caller decides about a load (never read from the process environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--env KEY=VAL` overrides; they win over the submission's `.env`.
    pub env_overrides: BTreeMap<String, String>,
    /// Active profiles (`--profile`); services without profiles are always enabled.
    pub profiles: Vec<String>,
    /// Project name override (`--project-name`).
    pub project_name: Option<String>,
}

/// The outcome of a load: the project when it could be built, and every diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// `None` when an error prevented building the model (YAML syntax, a cycle, ...). With
    /// errors that do not prevent it (an unknown key, an undefined network) the project is
    /// still returned so later checks can look at it.
    pub project: Option<Project>,
    /// Errors and warnings, all located, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Output format of [`render_config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

/// Loads the compose project whose main file is `compose_file` (relative to `root`), as
/// `docker compose -f FILE config` would, collecting every problem. Every file is read through
/// `root` ([`SubmissionRoot`]: inside it, capped, never through a link).
pub fn load(root: &SubmissionRoot, compose_file: &Path, opts: &LoadOptions) -> Loaded {
    loader::load(root, compose_file, opts)
}

/// [`load`] for a directory that is not yet a [`SubmissionRoot`] (a folder read in place, a
/// test fixture): opens it first; a root that cannot be opened is the one diagnostic.
pub fn load_project(root: &Path, compose_file: &Path, opts: &LoadOptions) -> Loaded {
    match files::open_root(root) {
        Ok(root) => loader::load(&root, compose_file, opts),
        Err(d) => Loaded {
            project: None,
            diagnostics: vec![d],
        },
    }
}

/// Parses an env file of the submission (`.env` or an `env_file`) with compose-go's grammar.
/// `file` is relative to `root`; values are located at their line. The first invalid line is
/// the error (compose-go's wording, e.g. `line 7: key cannot contain a space`), located.
pub fn load_env_file(
    root: &Path,
    file: &Path,
) -> Result<BTreeMap<String, Located<String>>, Diagnostic> {
    loader::load_env_file(root, file)
}
