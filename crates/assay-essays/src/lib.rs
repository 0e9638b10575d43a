//! Essays: text out of answer documents, fair word counts, answers matched to questions.
//!
//! The stage between intake and the checks: `grade` reads each answer document the intake
//! discovered (`.md`, `.txt`, `.html`, `.docx`, `.pdf`), finds which text answers which rubric
//! question (headings, labels or file names; see the README's matching rules), counts words by one documented
//! policy ([`count_words`]) and turns the result into the `essays.q1`, `essays.elective` and
//! `essays.min-words` checks. Every problem reading a document is a located diagnostic.
//!
//! PDF and .docx are parsed in a child process under memory, CPU and wall-clock limits (see
//! [`extract::process`]): the caller says how to start it ([`ParserCommand`]; assay re-runs its
//! own binary) and its `main` hands that invocation to [`child_main`].

mod answers;
mod checks;
mod count;
pub mod extract;
mod fingerprint;

pub use count::{count_words, wc_words};
pub use extract::{
    child_main, extract_document, Document, ExtractError, ExtractLimits, Extractor, Format,
    ParserCommand,
};
pub use fingerprint::Fingerprint;

use assay_core::{CheckResult, Diagnostic, Location, Rubric, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One answer attributed to a rubric question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Rubric question id, `q1` … `q5`.
    pub question: String,
    /// Document path relative to the submission root, `/`-separated.
    pub file: String,
    /// Where the answer starts (its heading line); file-only for .docx/.pdf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Words by assay's policy ([`count_words`]).
    pub words: usize,
    /// What `wc -w` says for the same extracted text.
    pub wc_words: usize,
    /// Words of the question's own text found pasted into the answer, not counted.
    pub removed_question_words: usize,
    /// The first ~200 characters of the counted text, for reviewers.
    pub text_excerpt: String,
    /// The counted text (extracted, label heading and pasted question removed).
    #[serde(skip)]
    pub text: String,
    /// MinHash signature for near-duplicate detection across submissions.
    #[serde(skip)]
    pub fingerprint: Fingerprint,
}

impl Answer {
    /// Where the answer is, as findings print it: `file:line:col`, or the file.
    pub fn place(&self) -> String {
        self.location
            .as_ref()
            .map_or_else(|| self.file.clone(), |l| l.to_string())
    }
}

/// What the essays stage found in one submission.
#[derive(Debug, Clone, PartialEq)]
pub struct EssayOutcome {
    /// One answer per question found, in rubric order.
    pub answers: Vec<Answer>,
    /// `essays.q1`, `essays.elective`, `essays.min-words`, in that order.
    pub checks: Vec<CheckResult>,
    /// Encoding fallbacks, unreadable documents, ambiguity — each located.
    pub diagnostics: Vec<Diagnostic>,
    /// assay could not run its document parser for some document (not the candidate's doing):
    /// the outcome is incomplete and must not be graded.
    pub fault: Option<String>,
}

/// Grades the essays of a submission.
///
/// `docs` are the answer documents relative to `root` (from intake discovery; the candidate's
/// README included). `has_orchestration_file` says whether Q1 is answered by a compose file or
/// manifests. `extractor` holds the reading limits and starts the PDF/.docx parser child.
pub fn grade(
    root: &Path,
    docs: &[PathBuf],
    rubric: &Rubric,
    has_orchestration_file: bool,
    extractor: &Extractor,
) -> EssayOutcome {
    let mut diagnostics = Vec::new();
    let mut unread = Vec::new();
    let mut sections = Vec::new();
    let mut fault = None;
    for rel in docs {
        match extract_document(root, rel, extractor) {
            Ok(doc) => {
                diagnostics.extend(doc.diagnostics.iter().cloned());
                sections.extend(answers::sections(&doc, rubric, &mut diagnostics));
            }
            Err(ExtractError::Fault(why)) => {
                fault.get_or_insert(why);
            }
            Err(ExtractError::Document(d)) => {
                if d.severity == Severity::Error {
                    unread.push(d.clone());
                }
                diagnostics.push(d);
            }
        }
    }

    // Measure every section, then keep one answer per question.
    let mut by_question: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    for s in sections {
        let Some(q) = rubric.questions.iter().find(|q| q.id == s.question) else {
            continue;
        };
        by_question
            .entry(q.id.clone())
            .or_default()
            .push(measure(&s, q));
    }
    let mut answers = Vec::new();
    for q in &rubric.questions {
        let Some(mut found) = by_question.remove(&q.id) else {
            continue;
        };
        found.sort_by_key(|a| std::cmp::Reverse(a.words));
        if found.len() > 1 {
            const SHOWN: usize = 5;
            let mut places: Vec<String> = found
                .iter()
                .take(SHOWN)
                .map(|a| format!("{} ({} words)", a.place(), a.words))
                .collect();
            if found.len() > SHOWN {
                places.push(format!("and {} more", found.len() - SHOWN));
            }
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{} is answered in {} places: {}; the longest is counted",
                    q.id,
                    found.len(),
                    places.join(", ")
                ))
                .at_opt(found[0].location.clone()),
            );
        }
        answers.push(found.swap_remove(0));
    }
    let checks = checks::checks(&answers, rubric, has_orchestration_file, &unread);
    EssayOutcome {
        answers,
        checks,
        diagnostics,
        fault,
    }
}

fn measure(s: &answers::Section, q: &assay_core::Question) -> Answer {
    let (text, removed) = answers::strip_question(&answers::strip_list_markers(&s.text), q);
    Answer {
        question: q.id.clone(),
        file: s.file.clone(),
        location: Some(s.location.clone()),
        words: count_words(&text),
        wc_words: wc_words(&text),
        removed_question_words: removed,
        text_excerpt: truncate_chars(&extract::squash_ws(&text), 200),
        fingerprint: Fingerprint::of_text(&text),
        text,
    }
}

/// Pairs of answers (index in `a`, index in `b`, estimated Jaccard similarity) whose texts are
/// near-identical (≥ 0.8 over word 3-shingles) — for flagging in both reports of a batch.
pub fn near_duplicates(a: &[Answer], b: &[Answer]) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if let Some(sim) = x.fingerprint.similarity(&y.fingerprint) {
                if sim >= 0.8 {
                    out.push((i, j, sim));
                }
            }
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
