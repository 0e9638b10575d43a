//! The vocabulary every room of assay speaks.
//!
//! Rooms (intake, compose, essays, sandbox) turn a submission into facts and
//! facts into [`CheckResult`]s; the root crate turns check results into a
//! verdict and a report. This crate holds only the shared types so that the
//! rooms do not depend on each other, and the one [`display`] module through
//! which every foreign string is made safe to show (a terminal, HTML, Markdown,
//! XML, CSV, CI annotations).
//!
//! It also holds the one rule every room applies to a submission's files:
//! [`SubmissionRoot`] (module `submission_root`) says whether a path is inside the submission
//! ([`normalize`], [`lexically_inside`], [`SubmissionRoot::resolve`]) and is the only way to
//! read one (capped, never following a link). Intake opens it; compose, essays, checks and
//! the runner receive it. It lives here because this is the one crate every room depends on.
//!
//! Contracts between the grader and what it runs are written here once too: [`probe`], what
//! `assay-probe` answers and the runner reads; [`webapp`], what the handout webapp reads and
//! serves, which the checks and the runner rely on.

pub mod budget;
mod check;
mod diagnostic;
pub mod display;
mod location;
pub mod probe;
mod rubric;
pub mod rubric_file;
mod submission_root;
pub mod webapp;

pub use budget::RunBudget;
pub use check::{CheckId, CheckResult, SkipKind, Status};
pub use diagnostic::{codes, Diagnostic, Severity};
pub use location::Location;
pub use rubric::*;
pub use rubric_file::default_rubric;
pub use submission_root::{
    lexically_inside, normalize, BindSource, EntryKind, Resolved, RootError, RootErrorKind,
    SubmissionRoot, TreeEntry, WalkLimits,
};

/// Name prefix of the private work dirs intake creates in the temp dir (the runner labels a
/// run with its work dir, and `assay gc` removes only directories with this prefix).
pub const WORK_DIR_PREFIX: &str = "assay-intake-";
