//! The report model and its renderers: `human` (terminal), `json` (grading-spec shape),
//! `markdown`, `junit` and `html`. Candidate text is escaped for each medium by the encoders of
//! [`assay_core::display`].

mod html;
mod human;
mod junit;
mod markdown;

pub use human::{render_human, ColorChoice};

use crate::verdict::{ScoredCheck, Verdict};
use assay_core::display::json_visible;
use serde::Serialize;

/// One written answer as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerSummary {
    pub question: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub words: usize,
    /// What `wc -w` counts on the same extracted text, for the reviewer's comparison.
    pub wc_words: usize,
    /// Why the text was credited to the question: its label, or the evidence that its section
    /// is about the question.
    pub credited_because: String,
}

/// The files intake found, so a reviewer knows what was graded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilesSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compose_file: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_compose_files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_manifests: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answer_documents: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dockerfiles: Vec<String>,
}

/// One submission's report. Serialises to the JSON shape of the grading spec (plus extra
/// fields: `title`, `details`, `skip`, `counted`, `files`, `notes`, `mode`,
/// `documents_searched`, and `credited_because` on each answer).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub assay_version: String,
    pub submission: String,
    pub verdict: Verdict,
    pub score: f64,
    pub max_score: f64,
    pub threshold: f64,
    /// `full` (static + runtime) or `static`.
    pub mode: String,
    pub checks: Vec<ScoredCheck>,
    pub answers: Vec<AnswerSummary>,
    pub files: FilesSummary,
    /// Things the reviewer must know about how the grade was made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// In a batch: answers near-identical to another submission's (flagged in both reports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub similar_answers: Vec<SimilarAnswer>,
    /// Every document searched for answers (or set aside as a copy of the handout): its role,
    /// why, what was credited in it and question-like sections that were not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents_searched: Vec<assay_essays::SearchedDocument>,
    /// The answers with their fingerprints, for batch comparison (not part of the JSON).
    #[serde(skip)]
    pub essay_answers: Vec<assay_essays::Answer>,
    pub duration_ms: u64,
}

/// An answer whose text is near-identical to one in another submission of the same batch.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarAnswer {
    pub question: String,
    pub file: String,
    pub other_submission: String,
    pub other_question: String,
    pub other_file: String,
    /// Estimated Jaccard similarity of word shingles (0-1).
    pub similarity: f64,
}

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Junit,
}

impl Report {
    /// The JSON report; candidate text in it is exact, with every invisible or control
    /// character escaped so the text is safe to print ([`assay_core::display::json_visible`]).
    pub fn to_json(&self) -> String {
        json_visible(&serde_json::to_string_pretty(self).expect("report serialises"))
    }
}

/// Renders several reports in one format (a batch prints a JSON array).
pub fn render(reports: &[Report], format: Format, color: ColorChoice) -> String {
    match format {
        Format::Json if reports.len() == 1 => reports[0].to_json() + "\n",
        Format::Json => {
            json_visible(&serde_json::to_string_pretty(reports).expect("reports serialise")) + "\n"
        }
        Format::Human => reports
            .iter()
            .map(|r| render_human(r, color))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Markdown => reports
            .iter()
            .map(markdown::render_markdown)
            .collect::<Vec<_>>()
            .join("\n---\n\n"),
        Format::Junit => junit::render_junit(reports),
    }
}

/// Writes report.json, report.md, report.html and junit.xml into `dir`.
pub fn write_all(report: &Report, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), report.to_json() + "\n")?;
    std::fs::write(dir.join("report.md"), markdown::render_markdown(report))?;
    std::fs::write(dir.join("report.html"), html::render_html(report))?;
    std::fs::write(
        dir.join("junit.xml"),
        junit::render_junit(std::slice::from_ref(report)),
    )?;
    Ok(())
}

/// Question-like sections that were not credited, as `file:line `heading` reason` lines.
pub(crate) fn not_credited_lines(report: &Report) -> Vec<String> {
    report
        .documents_searched
        .iter()
        .flat_map(|d| &d.not_credited)
        .map(|u| format!("{} `{}` {}", u.location, u.heading, u.reason))
        .collect()
}

/// Checks in the order a reviewer reads them: failures first (required before optional),
/// then skipped, then passes.
pub(crate) fn reading_order(report: &Report) -> Vec<&ScoredCheck> {
    use assay_core::Status;
    let rank = |c: &ScoredCheck| match (c.result.status, c.required) {
        (Status::Fail, true) => 0,
        (Status::Fail, false) => 1,
        (Status::Skipped, _) => 2,
        (Status::Pass, _) => 3,
    };
    let mut v: Vec<&ScoredCheck> = report.checks.iter().collect();
    v.sort_by_key(|c| rank(c));
    v
}
