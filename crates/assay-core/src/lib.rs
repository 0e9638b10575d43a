//! The vocabulary every room of assay speaks.
//!
//! Rooms (intake, compose, essays, sandbox) turn a submission into facts and
//! facts into [`CheckResult`]s; the root crate turns check results into a
//! verdict and a report. This crate holds only the shared types so that the
//! rooms do not depend on each other.

mod check;
mod diagnostic;
mod location;
mod rubric;
pub mod rubric_file;

pub use check::{CheckId, CheckResult, SkipKind, Status};
pub use diagnostic::{codes, Diagnostic, Severity};
pub use location::Location;
pub use rubric::*;
pub use rubric_file::default_rubric;

/// Name prefix of the private work dirs intake creates in the temp dir (the runner labels a
/// run with its work dir, and `assay gc` removes only directories with this prefix).
pub const WORK_DIR_PREFIX: &str = "assay-intake-";
