//! `assay report merge` and `assay report diff`: work with reports already written.

use crate::error::Error;
use crate::exit::Exit;
use crate::report::diff;
use crate::report::summary::{self, Entry, MergeError};
use assay_core::display::terminal_line;
use std::path::{Path, PathBuf};

/// `assay report merge DIR… --out OUT`: prints the batch's table (submission, verdict, score)
/// and exits as the batch would have: 0 every submission PASS, 1 a FAIL, 3 one could not be
/// graded.
pub(super) fn merge(dirs: &[PathBuf], out: &Path) -> Result<Exit, Error> {
    let merged = summary::merge(dirs, out).map_err(|e| match e {
        MergeError::Usage(_) => Error::input(e.to_string()),
        MergeError::Write { .. } => Error::write(e.to_string()),
    })?;
    let mut worst = Exit::Pass;
    for p in &merged.items {
        let row = summary::Row::of(p);
        let score = row.score.map(|s| format!("{s:.1}")).unwrap_or_default();
        println!(
            "{:<16} {:>6}  {}",
            row.verdict.to_uppercase(),
            score,
            terminal_line(&row.submission)
        );
        worst = match (&p.entry, worst) {
            (Entry::CouldNotGrade(_), _) | (_, Exit::CouldNotGrade) => Exit::CouldNotGrade,
            (Entry::Graded(d), Exit::Pass) if d.verdict == summary::DigestVerdict::Fail => {
                Exit::Fail
            }
            (_, w) => w,
        };
    }
    eprintln!(
        "merged {} submissions into {} (summary.csv, summary.json, index.html, junit.xml)",
        merged.items.len(),
        out.display()
    );
    Ok(worst)
}

/// `assay report diff OLD NEW`: exit 0 when no verdict changed, 1 when one did (or a
/// submission is on one side only), 2 when an input is not a report.
pub(super) fn diff(old: &Path, new: &Path) -> Result<Exit, Error> {
    let sides = diff::read_side(old).and_then(|o| Ok((o, diff::read_side(new)?)));
    let (o, n) = sides.map_err(|e| Error::input(e.to_string()))?;
    let changes = diff::diff(&o, &n);
    let compared = o
        .keys()
        .chain(n.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    print!("{}", diff::render(&changes, compared));
    Ok(if changes.iter().any(diff::Change::verdict_changed) {
        Exit::Fail
    } else {
        Exit::Pass
    })
}
