//! What can go wrong when a submission is taken in, sorted by whose fault it is.

use std::path::PathBuf;

/// Why [`crate::open`] did not produce a workspace.
///
/// The three variants map to three different outcomes: a usage error (exit 2), the candidate's
/// FAIL on `intake.unpack`, and "assay could not grade" (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The path given to assay is not something it can grade (missing, not a zip or directory).
    #[error("{}: {reason}", path.display())]
    Usage { path: PathBuf, reason: String },

    /// The submission itself is unsafe or malformed: the candidate's FAIL on `intake.unpack`.
    /// `entry` names the archive entry (or file) at fault, escaped for display.
    #[error("entry `{entry}`: {reason}")]
    Rejected { entry: String, reason: String },

    /// Our own I/O failed (temp dir, disk full, …): not the candidate's fault.
    #[error("internal intake error: {context}: {source}")]
    Internal {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl IntakeError {
    pub(crate) fn rejected(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        IntakeError::Rejected {
            entry: entry.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn internal(context: impl Into<String>, source: std::io::Error) -> Self {
        IntakeError::Internal {
            context: context.into(),
            source,
        }
    }

    /// The entry named by a `Rejected` error.
    pub fn rejected_entry(&self) -> Option<&str> {
        match self {
            IntakeError::Rejected { entry, .. } => Some(entry),
            _ => None,
        }
    }
}
