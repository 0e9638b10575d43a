//! The vocabulary every room of assay speaks.
//!
//! Rooms (intake, compose, essays, sandbox) turn a submission into facts and
//! facts into [`CheckResult`]s; the root crate turns check results into a
//! verdict and a report. This crate holds only the shared types so that the
//! rooms do not depend on each other, and the one [`display`] module through
//! which every foreign string is made safe to show (a terminal, HTML, Markdown,
//! XML, CSV, CI annotations).

mod check;
mod diagnostic;
pub mod display;
mod location;
mod rubric;
pub mod rubric_file;

pub use check::{CheckId, CheckResult, SkipKind, Status};
pub use diagnostic::{codes, Diagnostic, Severity};
pub use location::Location;
pub use rubric::*;
pub use rubric_file::default_rubric;
