//! Batches: several submissions graded with up to `jobs` in parallel, results in input order.

use crate::error::Error;
use crate::evaluate::{evaluate, Options};
use crate::report::{Report, SimilarAnswer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Evaluates every submission; the i-th result belongs to the i-th path. `on_done(i, result)`
/// runs as soon as submission `i` is graded (on its grading thread), so its reports can be
/// written and progress shown while the rest of the batch runs.
pub fn evaluate_all(
    paths: &[PathBuf],
    opts: &Options,
    jobs: usize,
    on_done: &(dyn Fn(usize, &Result<Report, Error>) + Sync),
) -> Vec<Result<Report, Error>> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Report, Error>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = paths.get(i) else { break };
                let outcome = evaluate(path, opts);
                on_done(i, &outcome);
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
                    Err(Error::could_not_grade(
                        "evaluation thread ended without a result",
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

/// The end-of-batch table, one row per submission in batch order.
pub fn summary_table(
    reports: &[Report],
    ungraded: &[crate::report::summary::GradeError],
) -> String {
    use assay_core::display::terminal_line;
    let mut rows: Vec<[String; 5]> = reports
        .iter()
        .map(|r| {
            let failed: Vec<&str> = r
                .checks
                .iter()
                .filter(|c| {
                    c.required && c.result.status == assay_core::Status::Fail && !c.is_overridden()
                })
                .map(|c| c.result.id.as_str())
                .collect();
            [
                terminal_line(&r.submission),
                r.verdict.to_string(),
                format!("{:.1}", r.score),
                if failed.is_empty() {
                    "-".into()
                } else {
                    failed.join(", ")
                },
                format!("{:.1} s", r.duration_ms as f64 / 1000.0),
            ]
        })
        .chain(ungraded.iter().map(|e| {
            [
                terminal_line(&e.submission),
                "ERROR".into(),
                "-".into(),
                format!("could not grade: {}", terminal_line(&e.error)),
                "-".into(),
            ]
        }))
        .collect();
    crate::report::summary::batch_order(&mut rows, |r| r[0].as_str());
    let head = [
        "submission",
        "verdict",
        "score",
        "failed required checks",
        "duration",
    ]
    .map(String::from);
    let width = |k: usize| {
        std::iter::once(&head)
            .chain(&rows)
            .map(|r| r[k].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..4).map(width).collect();
    let mut out = String::from("\n");
    for r in std::iter::once(&head).chain(&rows) {
        out.push_str(&format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        ));
    }
    out
}
