//! What the batch summaries and the JUnit file read of a report: its digest, parsed back from
//! `report.json` (module `summary` says why), or why it could not be graded.

use super::{Report, SCHEMA_VERSION};
use assay_core::Location;
use serde::{Deserialize, Serialize};

/// The part of a report the summaries use, read from its JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub schema_version: u32,
    pub assay_version: String,
    pub submission: String,
    pub verdict: DigestVerdict,
    /// The verdict before a reviewer's overrides (`verdict` is the one after them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_before_overrides: Option<DigestVerdict>,
    pub score: f64,
    pub threshold: f64,
    pub mode: String,
    pub checks: Vec<CheckDigest>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestVerdict {
    Pass,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestStatus {
    Pass,
    Fail,
    Skipped,
}

/// One check of a [`Digest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckDigest {
    pub id: String,
    pub title: String,
    pub status: DigestStatus,
    pub required: bool,
    pub evidence: String,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub details: Vec<DiagnosticDigest>,
    #[serde(default)]
    pub duration_ms: u64,
    /// A reviewer credited or waived the check.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub overridden: Option<crate::overrides::Override>,
}

impl CheckDigest {
    /// `compose` for `compose.db-host`.
    pub fn family(&self) -> &str {
        self.id.split_once('.').map_or(self.id.as_str(), |(f, _)| f)
    }

    /// Failed as assay found it and not overridden by a reviewer.
    pub fn failed(&self) -> bool {
        self.status == DigestStatus::Fail && self.overridden.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticDigest {
    pub severity: String,
    pub message: String,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub hint: Option<String>,
}

impl std::fmt::Display for DiagnosticDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// `error.json`: a submission assay could not grade (exit 3), so it has no report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeError {
    pub schema_version: u32,
    pub assay_version: String,
    pub submission: String,
    /// Always `could-not-grade`: tells this file from a report.
    pub outcome: String,
    pub error: String,
}

impl GradeError {
    pub fn new(submission: &str, error: &str) -> Self {
        GradeError {
            schema_version: SCHEMA_VERSION,
            assay_version: env!("CARGO_PKG_VERSION").to_string(),
            submission: submission.to_string(),
            outcome: "could-not-grade".into(),
            error: error.to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        assay_core::display::json_visible(
            &serde_json::to_string_pretty(self).expect("error serialises"),
        ) + "\n"
    }
}

/// One submission of a batch: graded, or not.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Graded(Digest),
    CouldNotGrade(GradeError),
}

impl Entry {
    /// The report as its `report.json` reads.
    pub fn of_report(report: &Report) -> Entry {
        let digest = serde_json::from_str(&report.to_json())
            .expect("a report's JSON holds every field of its digest");
        Entry::Graded(digest)
    }

    pub fn of_reports(reports: &[Report]) -> Vec<Entry> {
        reports.iter().map(Entry::of_report).collect()
    }

    pub fn submission(&self) -> &str {
        match self {
            Entry::Graded(d) => &d.submission,
            Entry::CouldNotGrade(e) => &e.submission,
        }
    }
}
