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

mod about;
mod answers;
mod checks;
mod count;
pub mod extract;
mod fingerprint;

pub use answers::{DocumentRole, Uncredited};
pub use count::{count_words, wc_words};
pub use extract::{
    child_main, extract_bytes, extract_document, Document, ExtractError, ExtractLimits, Extractor,
    Format, ParserCommand,
};
pub use fingerprint::Fingerprint;

use assay_core::{CheckResult, Diagnostic, Location, Rubric, Severity, SubmissionRoot};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Why this text was credited to the question: its label (`labelled `Q2``) or the evidence
    /// that its section is about the question (keywords matched, similarity).
    pub credited_because: String,
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
    /// Every document searched (or set aside as the handout), in the order given, with its
    /// role, what was credited in it and the question-like sections that were not.
    pub documents: Vec<SearchedDocument>,
}

/// One document the essays stage looked at, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchedDocument {
    /// Path relative to the submission root, `/`-separated.
    pub file: String,
    pub role: DocumentRole,
    /// Why it has this role, and so which bar its sections met.
    pub why: String,
    /// Questions credited to sections of it (before the longest answer per question is chosen).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credited: Vec<String>,
    /// Headings or lines that look like answers' labels but were not credited, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_credited: Vec<Uncredited>,
}

/// What grading needs besides the documents.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The reading limits and the PDF/.docx parser child.
    pub extractor: Extractor,
    /// The submission's own README (relative to the root), read with the README's bar. `None`
    /// with [`grade`] means a README in the root folder, if any.
    pub top_readme: Option<PathBuf>,
    /// The handout's own documents as Markdown (the README with the questions that the hiring
    /// team ships): a document whose text is near-identical to one of them is a copy of the
    /// handout — questions, not answers — and is not searched.
    pub handout_markdown: Vec<String>,
}

impl GradeOptions {
    /// Reading with `extractor`, the README found among the documents, no handout.
    pub fn new(extractor: Extractor) -> Self {
        GradeOptions {
            extractor,
            top_readme: None,
            handout_markdown: Vec::new(),
        }
    }
}

/// Shingle similarity at and above which a document is a copy of a handout document…
const HANDOUT_SIMILARITY: f64 = 0.8;
/// … unless it has this many words more than the handout document (an answer's worth).
const HANDOUT_EXTRA_WORDS: usize = 100;

/// The first README (by name) in the root folder among `docs`.
fn root_readme(docs: &[PathBuf]) -> Option<PathBuf> {
    docs.iter()
        .find(|p| {
            p.components().count() == 1
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.to_ascii_lowercase().starts_with("readme"))
        })
        .cloned()
}

/// Grades the essays of a submission.
///
/// `docs` are the answer documents relative to `root` (from intake discovery; the candidate's
/// README included), read through it: inside it, capped, never through a link.
/// `has_orchestration_file` says whether Q1 is answered by a compose file or manifests.
/// `extractor` holds the reading limits and starts the PDF/.docx parser child.
pub fn grade(
    root: &SubmissionRoot,
    docs: &[PathBuf],
    rubric: &Rubric,
    has_orchestration_file: bool,
    extractor: &Extractor,
) -> EssayOutcome {
    let opts = GradeOptions {
        extractor: extractor.clone(),
        top_readme: root_readme(docs),
        handout_markdown: Vec::new(),
    };
    grade_with(root, docs, rubric, has_orchestration_file, &opts)
}

/// [`grade`] with the submission's README, the handout's documents and extraction limits.
pub fn grade_with(
    root: &SubmissionRoot,
    docs: &[PathBuf],
    rubric: &Rubric,
    has_orchestration_file: bool,
    opts: &GradeOptions,
) -> EssayOutcome {
    let extractor = &opts.extractor;
    let limits = &extractor.limits;
    let mut diagnostics = Vec::new();
    let mut unread = Vec::new();
    let mut sections = Vec::new();
    let mut documents = Vec::new();
    let top_readme = opts.top_readme.as_deref().map(extract::display_path);
    let handouts: Vec<(Fingerprint, usize)> = opts
        .handout_markdown
        .iter()
        .filter_map(|md| {
            extract_bytes("handout", Format::Markdown, md.as_bytes(), limits)
                .ok()
                .map(|d| {
                    let text = d.text();
                    (Fingerprint::of_text(&text), count_words(&text))
                })
        })
        .collect();
    let mut fault = None;
    for rel in docs {
        match extract_document(root, rel, extractor) {
            Ok(doc) => {
                diagnostics.extend(doc.diagnostics.iter().cloned());
                let (mut role, mut why) =
                    answers::document_role(&doc.file, top_readme.as_deref(), rubric);
                let text = doc.text();
                let print = Fingerprint::of_text(&text);
                let words = count_words(&text);
                // Near-identical to a handout document and not longer by more than a few
                // answers' worth: a candidate who wrote answers into the handout's README is read.
                if let Some(sim) = handouts
                    .iter()
                    .filter(|(_, handout_words)| words <= handout_words + HANDOUT_EXTRA_WORDS)
                    .filter_map(|(h, _)| h.similarity(&print))
                    .max_by(f64::total_cmp)
                    .filter(|s| *s >= HANDOUT_SIMILARITY)
                {
                    role = DocumentRole::Handout;
                    why = format!(
                        "a copy of the handout (similarity {sim:.2} to the handout's README): its questions, not answers; not searched"
                    );
                }
                let found =
                    answers::sections(&doc, rubric, role, has_orchestration_file, &mut diagnostics);
                if let Some(n) = found.questions_only {
                    role = DocumentRole::Handout;
                    why = format!(
                        "states {n} questions and answers none: a copy of the questions (a handout), not answers"
                    );
                }
                let mut credited: Vec<String> =
                    found.sections.iter().map(|s| s.question.clone()).collect();
                credited.dedup();
                documents.push(SearchedDocument {
                    file: doc.file.clone(),
                    role,
                    why,
                    credited,
                    not_credited: found.uncredited,
                });
                sections.extend(found.sections);
            }
            Err(ExtractError::Fault(why)) => {
                fault.get_or_insert(why);
            }
            Err(ExtractError::Document(d)) => {
                let file = extract::display_path(rel);
                let (role, why) = answers::document_role(&file, top_readme.as_deref(), rubric);
                documents.push(SearchedDocument {
                    file,
                    role,
                    why: format!("{why}; not read: {}", d.message),
                    credited: Vec::new(),
                    not_credited: Vec::new(),
                });
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
        let answer = measure(&s, q);
        if answer.words == 0 {
            // A label over nothing but the question's own text (or nothing at all).
            if let Some(d) = documents.iter_mut().find(|d| d.file == s.file) {
                d.credited.retain(|c| c != &q.id);
                d.not_credited.push(Uncredited {
                    location: s.location.clone(),
                    heading: s.label.clone(),
                    question: q.id.clone(),
                    reason: format!(
                        "{} but holds no answer text (at most the question's own)",
                        s.credit
                    ),
                });
            }
            continue;
        }
        by_question.entry(q.id.clone()).or_default().push(answer);
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
        documents,
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
        credited_because: s.credit.clone(),
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
