//! Evidence for reviewers from container output. Making it safe to show (secrets masked raw
//! and URL-encoded, control and bidi characters escaped, capped) is
//! [`assay_core::display::Masker`]'s job; it is re-exported here for the run's callers.

pub use assay_core::display::{Masker, EVIDENCE_CAP};

/// Lines of each container's log kept as evidence.
pub const LOG_LINES: usize = 50;
