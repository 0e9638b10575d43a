//! Batches: several submissions graded with up to `jobs` in parallel, results in input order.

use crate::evaluate::{evaluate, EvaluateError, Options};
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
    on_done: &(dyn Fn(usize, &Result<Report, EvaluateError>) + Sync),
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

/// A batch's progress on stderr, one line per finished submission (`[3/8] FAIL  62.5 name …`,
/// with the running pass/fail counts), and a table of every submission at the end. Silent for
/// a single submission, whose report is the output.
///
/// On a terminal the lines scroll above an N/M bar that shows the counts and the time so far
/// (and moves while the first submissions are still being graded); off a terminal (CI logs,
/// pipes) there is no bar and the lines are exactly the same.
pub struct Progress {
    total: usize,
    show: bool,
    counts: Mutex<Counts>,
    bar: Option<indicatif::ProgressBar>,
}

#[derive(Default)]
struct Counts {
    done: usize,
    pass: usize,
    fail: usize,
    could_not_grade: usize,
}

impl Counts {
    /// `3 pass, 1 fail, 0 not graded`.
    fn describe(&self) -> String {
        format!(
            "{} pass, {} fail, {} not graded",
            self.pass, self.fail, self.could_not_grade
        )
    }
}

impl Progress {
    /// The batch's progress: with a bar when stderr is a terminal.
    pub fn new(total: usize, show: bool) -> Progress {
        use std::io::IsTerminal;
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress::with_bar(total, show, bar)
    }

    /// The batch's progress drawn on `bar` (styled here), or as plain lines without one.
    pub fn with_bar(total: usize, show: bool, bar: Option<indicatif::ProgressBar>) -> Progress {
        let bar = bar.filter(|_| show).inspect(|bar| {
            bar.set_length(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} graded · {msg} · {elapsed}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(Counts::default().describe());
        });
        Progress {
            total,
            show,
            counts: Mutex::new(Counts::default()),
            bar,
        }
    }

    /// Submission `name` is graded (and its reports are in `folder`, when written).
    pub fn done(
        &self,
        name: &str,
        outcome: &Result<Report, EvaluateError>,
        folder: Option<&std::path::Path>,
    ) {
        if !self.show {
            return;
        }
        use crate::verdict::Verdict;
        use assay_core::display::terminal_line;
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.done += 1;
        let (verdict, score, secs) = match outcome {
            Ok(r) => {
                if r.verdict == Verdict::Pass {
                    c.pass += 1;
                } else {
                    c.fail += 1;
                }
                (
                    r.verdict.to_string(),
                    format!("{:.1}", r.score),
                    format!(" in {:.1} s", r.duration_ms as f64 / 1000.0),
                )
            }
            Err(EvaluateError::CouldNotGrade(_)) => {
                c.could_not_grade += 1;
                ("ERROR".to_string(), String::new(), String::new())
            }
            Err(EvaluateError::Usage(_)) => {
                c.could_not_grade += 1;
                ("USAGE".to_string(), String::new(), String::new())
            }
        };
        let to = folder
            .map(|f| format!(" → {}", terminal_line(&f.display().to_string())))
            .unwrap_or_default();
        let line = format!(
            "[{}/{}] {verdict:<5} {score:>5}  {}{secs}{to}  ({})",
            c.done,
            self.total,
            terminal_line(name),
            c.describe()
        );
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_position(c.done as u64);
                bar.set_message(c.describe());
            }
            None => eprintln!("{line}"),
        }
    }

    /// The batch's table: submission, verdict, score, failed required checks, duration.
    pub fn finish(&self, reports: &[Report], ungraded: &[crate::report::summary::GradeError]) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.show {
            return;
        }
        eprint!("{}", summary_table(reports, ungraded));
    }

    /// Where the bar stands (`None` without one): graded so far, and its counts.
    pub fn bar_state(&self) -> Option<(u64, String)> {
        self.bar
            .as_ref()
            .map(|b| (b.position(), b.message().to_string()))
    }
}

impl Drop for Progress {
    /// A batch that ends early (an error before its table) leaves no bar on the terminal.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, verdict: crate::verdict::Verdict) -> Report {
        let scored = crate::verdict::score(Vec::new(), &crate::rubric::default_rubric());
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            assay_version: "0.0.0-test".into(),
            submission: name.into(),
            verdict,
            score: 50.0,
            max_score: 100.0,
            threshold: 70.0,
            verdict_before_overrides: None,
            score_before_overrides: None,
            mode: "static".into(),
            checks: scored.checks,
            answers: Vec::new(),
            files: Default::default(),
            notes: Vec::new(),
            similar_answers: Vec::new(),
            documents_searched: Vec::new(),
            essay_answers: Vec::new(),
            duration_ms: 1500,
            provenance: Default::default(),
            source_dir: None,
        }
    }

    #[test]
    fn the_bar_counts_what_finished_and_clears_at_the_end() {
        use crate::verdict::Verdict;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(1),
            indicatif::ProgressDrawTarget::hidden(),
        );
        let p = Progress::with_bar(3, true, Some(bar.clone()));
        assert_eq!(bar.length(), Some(3), "the length is the batch's");
        assert_eq!(
            p.bar_state(),
            Some((0, "0 pass, 0 fail, 0 not graded".into()))
        );
        p.done("a", &Ok(report("a", Verdict::Pass)), None);
        p.done("b", &Ok(report("b", Verdict::Fail)), None);
        p.done("c", &Err(EvaluateError::CouldNotGrade("no".into())), None);
        assert_eq!(
            p.bar_state(),
            Some((3, "1 pass, 1 fail, 1 not graded".into()))
        );
        p.finish(&[report("a", Verdict::Pass)], &[]);
        assert!(bar.is_finished());
    }

    #[test]
    fn no_bar_off_a_terminal_or_for_a_single_submission() {
        let hidden = || {
            Some(indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::hidden(),
            ))
        };
        assert!(Progress::with_bar(1, false, hidden()).bar_state().is_none());
        assert!(Progress::with_bar(2, true, None).bar_state().is_none());
    }
}
