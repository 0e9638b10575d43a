//! Rubric loading lives in `assay-core` (every room's tests use the real default rubric); this
//! module re-exports it for the CLI and the binary's tests.

pub use assay_core::rubric_file::{default_rubric, load, parse, RubricError, DEFAULT_RUBRIC};
