//! A batch's progress on stderr: a line per finished submission, a bar on a terminal, the
//! table at the end.

use crate::error::{Error, ErrorKind};
use crate::report::Report;
use std::sync::Mutex;

/// A batch's progress on stderr, one line per finished submission (`[3/8] FAIL  62.5 name …`,
/// with the running pass/fail counts), and a table of every submission at the end. Silent for
/// a single submission, whose report is the output.
///
/// On a terminal the lines scroll above an N/M bar that shows the counts and the time so far
/// (and moves while the first submissions are still being graded); off a terminal (CI logs,
/// pipes) there is no bar and the lines are exactly the same.
pub(super) struct Progress {
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
    pub(super) fn new(total: usize, show: bool) -> Progress {
        use std::io::IsTerminal;
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress::with_bar(total, show, bar)
    }

    /// The batch's progress drawn on `bar` (styled here), or as plain lines without one.
    pub(super) fn with_bar(
        total: usize,
        show: bool,
        bar: Option<indicatif::ProgressBar>,
    ) -> Progress {
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
    pub(super) fn done(
        &self,
        name: &str,
        outcome: &Result<Report, Error>,
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
            Err(e) => {
                c.could_not_grade += 1;
                let word = match e.kind() {
                    ErrorKind::Usage | ErrorKind::Input => "USAGE",
                    _ => "ERROR",
                };
                (word.to_string(), String::new(), String::new())
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
    pub(super) fn finish(
        &self,
        reports: &[Report],
        ungraded: &[crate::report::summary::GradeError],
    ) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.show {
            return;
        }
        eprint!("{}", crate::batch::summary_table(reports, ungraded));
    }

    /// Where the bar stands (`None` without one): graded so far, and its counts.
    #[cfg(test)]
    fn bar_state(&self) -> Option<(u64, String)> {
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
        p.done("c", &Err(Error::could_not_grade("no")), None);
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
