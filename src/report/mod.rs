//! The report model and its renderers: `human` (terminal), `json` (`schemas/report.schema.json`),
//! `markdown`, `junit` and `html`. Candidate text is escaped for each medium by the encoders of
//! [`assay_core::display`].

mod annotations;
pub mod diff;
mod digest;
pub use crate::excerpt;
mod html;
mod human;
mod junit;
mod markdown;
pub mod provenance;
pub mod summary;

pub use excerpt::SourceExcerpt;
pub use human::{render_human, ColorChoice};
pub use provenance::{DockerVersion, ImageProvenance, Provenance};

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

/// The version of the JSON report's shape (`schema_version` in every report), described by
/// `schemas/report.schema.json`. Raised when a field is removed or renamed or its meaning
/// changes; a new field is added to the schema under the same version (readers ignore fields
/// they do not know).
pub const SCHEMA_VERSION: u32 = 1;

/// One submission's report. Serialises to the JSON shape `schemas/report.schema.json` describes
/// (the public contract: verdict, score, checks with id/status/evidence/location, plus extra
/// fields: `title`, `details`, `skip`, `counted`, `duration_ms` on each check, `files`, `notes`,
/// `mode`, `documents_searched`, and `credited_because` on each answer).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub assay_version: String,
    pub submission: String,
    pub verdict: Verdict,
    pub score: f64,
    pub max_score: f64,
    pub threshold: f64,
    /// With reviewer overrides: the verdict assay gave before them (`verdict` is the one after
    /// them; the overridden checks carry `override`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict_before_overrides: Option<Verdict>,
    /// With reviewer overrides: the score before them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_before_overrides: Option<f64>,
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
    /// What the report was made with: rubric hash, Docker engine, images.
    pub provenance: Provenance,
    /// The submission folder as named on the command line, when it is a relative directory:
    /// CI annotations name files relative to the checkout, so they are prefixed with it (not
    /// part of the JSON).
    #[serde(skip)]
    pub source_dir: Option<String>,
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
    /// GitHub Actions workflow commands: an `::error`/`::warning` annotation per finding.
    Github,
    /// GitLab's code-quality report (JSON) of the located findings.
    GitlabCodequality,
}

impl Report {
    /// The JSON report; candidate text in it is exact, with every invisible or control
    /// character escaped so the text is safe to print ([`assay_core::display::json_visible`]).
    pub fn to_json(&self) -> String {
        json_visible(&serde_json::to_string_pretty(self).expect("report serialises"))
    }
}

/// Renders several reports in one format. JSON is always an array of reports, one submission
/// or many, so `jq '.[0].verdict'` reads the same for both.
pub fn render(reports: &[Report], format: Format, color: ColorChoice) -> String {
    match format {
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
        Format::Junit => junit::render_junit(&summary::Entry::of_reports(reports)),
        Format::Github => annotations::github(reports),
        Format::GitlabCodequality => annotations::gitlab_codequality(reports),
    }
}

/// JUnit of the reports and of the submissions that could not be graded (an `<error>` each),
/// those last.
pub fn render_junit_with(reports: &[Report], ungraded: &[summary::GradeError]) -> String {
    let mut entries = summary::Entry::of_reports(reports);
    entries.extend(ungraded.iter().cloned().map(summary::Entry::CouldNotGrade));
    junit::render_junit(&entries)
}

/// Writes report.json, report.md, report.html and junit.xml into `dir`.
pub fn write_all(report: &Report, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), report.to_json() + "\n")?;
    std::fs::write(dir.join("report.md"), markdown::render_markdown(report))?;
    std::fs::write(dir.join("report.html"), html::render_html(report))?;
    std::fs::write(
        dir.join("junit.xml"),
        junit::render_junit(&summary::Entry::of_reports(std::slice::from_ref(report))),
    )?;
    Ok(())
}

/// `text` as the renderers show it: runs between a pair of backticks are code spans
/// (`(true, run)`), the rest plain (`(false, run)`). A backtick without a partner is plain text.
/// Evidence names services, variables and files this way (Markdown's convention).
pub(crate) fn code_spans(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        if open > 0 {
            out.push((false, &rest[..open]));
        }
        out.push((true, &rest[open + 1..open + 1 + len]));
        rest = &rest[open + 2 + len..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// The first line of `text` and the rest (a log tail, a health log), when there is a rest.
pub(crate) fn head_and_body(text: &str) -> (&str, Option<&str>) {
    match text.split_once('\n') {
        Some((head, body)) if !body.trim().is_empty() => (head, Some(body)),
        Some((head, _)) => (head, None),
        None => (text, None),
    }
}

/// The failed checks' ids, required (`true`) or optional (`false`), each written by `show`
/// and joined with commas; empty when there is none.
pub(crate) fn failed_list(
    report: &Report,
    required: bool,
    show: impl Fn(&str) -> String,
) -> String {
    report
        .checks
        .iter()
        .filter(|c| {
            c.result.status == assay_core::Status::Fail
                && c.required == required
                && !c.is_overridden()
        })
        .map(|c| show(c.result.id.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failed check that is not required (it lowers the score but decides nothing alone).
pub(crate) fn optional_failure(c: &ScoredCheck) -> bool {
    c.result.status == assay_core::Status::Fail && !c.required
}

/// The checks a reviewer credited or waived, in report order.
pub(crate) fn overridden(report: &Report) -> Vec<&ScoredCheck> {
    report.checks.iter().filter(|c| c.is_overridden()).collect()
}

/// `after reviewer overrides; FAIL before them (score 62.5)`, when a reviewer overrode checks.
pub(crate) fn before_overrides(report: &Report) -> Option<String> {
    let verdict = report.verdict_before_overrides?;
    Some(match report.score_before_overrides {
        Some(s) => format!("after reviewer overrides; {verdict} before them (score {s:.1})"),
        None => format!("after reviewer overrides; {verdict} before them"),
    })
}

/// What assay found for an overridden check: `fail`, `skipped`.
pub(crate) fn found_status(c: &ScoredCheck) -> &'static str {
    match c.result.status {
        assay_core::Status::Pass => "pass",
        assay_core::Status::Fail => "fail",
        assay_core::Status::Skipped => "skipped",
    }
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
/// then the ones a reviewer overrode, then skipped, then passes.
pub(crate) fn reading_order(report: &Report) -> Vec<&ScoredCheck> {
    use assay_core::Status;
    let rank = |c: &ScoredCheck| match (c.result.status, c.required) {
        _ if c.is_overridden() => 2,
        (Status::Fail, true) => 0,
        (Status::Fail, false) => 1,
        (Status::Skipped, _) => 3,
        (Status::Pass, _) => 4,
    };
    let mut v: Vec<&ScoredCheck> = report.checks.iter().collect();
    v.sort_by_key(|c| rank(c));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_pair_backticks_and_leave_a_lone_one_plain() {
        assert_eq!(
            code_spans("service `db` has `x`."),
            vec![
                (false, "service "),
                (true, "db"),
                (false, " has "),
                (true, "x"),
                (false, ".")
            ]
        );
        assert_eq!(
            code_spans("`a` and a ` lone"),
            vec![(true, "a"), (false, " and a ` lone")]
        );
        assert_eq!(code_spans("``"), vec![(true, "")]);
        assert!(code_spans("").is_empty());
    }

    #[test]
    fn the_body_after_the_first_line_is_set_apart() {
        assert_eq!(head_and_body("one"), ("one", None));
        assert_eq!(head_and_body("one\n  \n"), ("one", None));
        assert_eq!(head_and_body("logs:\na\nb"), ("logs:", Some("a\nb")));
    }
}
