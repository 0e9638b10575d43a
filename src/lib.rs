//! assay grades DevOps take-home submissions.
pub mod cli;
