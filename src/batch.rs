//! Batches: several submissions graded with up to `jobs` in parallel, results in input order.

use crate::evaluate::{evaluate, EvaluateError, Options};
use crate::report::{Report, SimilarAnswer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Evaluates every submission; the i-th result belongs to the i-th path.
pub fn evaluate_all(
    paths: &[PathBuf],
    opts: &Options,
    jobs: usize,
) -> Vec<Result<Report, EvaluateError>> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Report, EvaluateError>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = paths.get(i) else { break };
                let outcome = evaluate(path, opts);
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| {
                    Err(EvaluateError::CouldNotGrade(
                        "evaluation thread ended without a result".into(),
                    ))
                })
        })
        .collect()
}

/// Flags answers that are near-identical across submissions of a batch, in both reports.
pub fn flag_similar_answers(reports: &mut [Report]) {
    let mut found: Vec<(usize, SimilarAnswer)> = Vec::new();
    for i in 0..reports.len() {
        for j in i + 1..reports.len() {
            let (a, b) = (&reports[i], &reports[j]);
            for (x, y, sim) in assay_essays::near_duplicates(&a.essay_answers, &b.essay_answers) {
                let similarity = (sim * 100.0).round() / 100.0;
                found.push((
                    i,
                    similar(&a.essay_answers[x], b, &b.essay_answers[y], similarity),
                ));
                found.push((
                    j,
                    similar(&b.essay_answers[y], a, &a.essay_answers[x], similarity),
                ));
            }
        }
    }
    for (i, s) in found {
        reports[i].notes.push(format!(
            "{} in {} is near-identical (similarity {:.2}) to {} in {} of {}",
            s.question, s.file, s.similarity, s.other_question, s.other_file, s.other_submission
        ));
        reports[i].similar_answers.push(s);
    }
}

fn similar(
    mine: &assay_essays::Answer,
    other: &Report,
    theirs: &assay_essays::Answer,
    similarity: f64,
) -> SimilarAnswer {
    SimilarAnswer {
        question: mine.question.clone(),
        file: mine.file.clone(),
        other_submission: other.submission.clone(),
        other_question: theirs.question.clone(),
        other_file: theirs.file.clone(),
        similarity,
    }
}
