//! `assay report diff OLD NEW`: what changed between two gradings of the same submissions —
//! verdicts, scores and check statuses. Durations are left out: they differ on every run.
//!
//! Each side is a report folder (a single submission's or a batch's, read as `report merge`
//! reads them), a `report.json`, or a batch's `summary.json` (which knows only the failed
//! checks, so with it a check's change reads as `failed` / `not failed`).

use super::summary::{self, DigestStatus, DigestVerdict, Entry, MergeError, Summary};
use std::collections::BTreeMap;
use std::path::Path;

/// One submission as a side of the diff holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// `pass`, `fail` or `could-not-grade`.
    pub verdict: String,
    pub score: Option<f64>,
    /// Check id → status (`pass`, `fail`, `skipped`, or `failed` / `not failed` when read from
    /// a summary.json). Ids a side does not know are absent.
    pub checks: BTreeMap<String, String>,
    /// Whether `checks` lists every check (a report) or only the failed ones (a summary).
    pub complete: bool,
    /// The verdict before a reviewer's overrides, when `verdict` is the one after them.
    pub before_overrides: Option<String>,
}

/// A side: submissions by name (a repeated name gets ` (2)`, ` (3)` … in batch order).
pub type Side = BTreeMap<String, Graded>;

/// What changed for one submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub submission: String,
    /// `(old, new)`; `None` when the submission is missing on that side.
    pub verdict: (Option<String>, Option<String>),
    pub score: Option<(Option<f64>, Option<f64>)>,
    /// `(id, old, new)`.
    pub checks: Vec<(String, String, String)>,
    /// Each side's verdict before a reviewer's overrides, where it had any.
    pub before_overrides: (Option<String>, Option<String>),
}

impl Change {
    /// The verdict differs (or the submission is on one side only).
    pub fn verdict_changed(&self) -> bool {
        self.verdict.0 != self.verdict.1
    }
}

/// Reads one side of a diff.
pub fn read_side(path: &Path) -> Result<Side, MergeError> {
    let usage = MergeError::Usage;
    let meta = std::fs::metadata(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut found = Vec::new();
        summary::collect_entries(path, &mut found)?;
        if found.is_empty() {
            return Err(usage(format!(
                "{}: no {} or {} in it or its sub-folders",
                path.display(),
                summary::REPORT_FILE,
                summary::ERROR_FILE
            )));
        }
        summary::batch_order(&mut found, |e| e.submission());
        return Ok(named(
            found
                .iter()
                .map(|e| (e.submission().to_string(), of_entry(e))),
        ));
    }
    let value: serde_json::Value = summary::read_json(path)?;
    if value.get("submissions").is_some() {
        let s: Summary = serde_json::from_value(value)
            .map_err(|e| usage(format!("{}: not a summary.json: {e}", path.display())))?;
        return Ok(named(s.submissions.into_iter().map(|r| {
            let checks = r
                .failed_required
                .iter()
                .chain(&r.failed_optional)
                .map(|id| (id.clone(), "failed".to_string()))
                .collect();
            let g = Graded {
                verdict: r.verdict,
                score: r.score,
                checks,
                complete: false,
                before_overrides: r.verdict_before_overrides,
            };
            (r.submission, g)
        })));
    }
    let d: summary::Digest = serde_json::from_value(value).map_err(|e| {
        usage(format!(
            "{}: neither a report.json nor a summary.json: {e}",
            path.display()
        ))
    })?;
    let name = d.submission.clone();
    Ok(named(std::iter::once((name, of_entry(&Entry::Graded(d))))))
}

fn of_entry(e: &Entry) -> Graded {
    match e {
        Entry::Graded(d) => Graded {
            verdict: match d.verdict {
                DigestVerdict::Pass => "pass",
                DigestVerdict::Fail => "fail",
            }
            .into(),
            score: Some(d.score),
            checks: d
                .checks
                .iter()
                .map(|c| {
                    let s = match c.status {
                        DigestStatus::Pass => "pass",
                        DigestStatus::Fail => "fail",
                        DigestStatus::Skipped => "skipped",
                    };
                    // An overridden check reads `fail (credited)`: what assay found, and what
                    // the reviewer made of it.
                    let s = match &c.overridden {
                        Some(o) => format!("{s} ({})", o.action.past()),
                        None => s.to_string(),
                    };
                    (c.id.clone(), s)
                })
                .collect(),
            complete: true,
            before_overrides: d.verdict_before_overrides.map(|v| {
                match v {
                    DigestVerdict::Pass => "pass",
                    DigestVerdict::Fail => "fail",
                }
                .to_string()
            }),
        },
        Entry::CouldNotGrade(_) => Graded {
            verdict: "could-not-grade".into(),
            score: None,
            checks: BTreeMap::new(),
            complete: true,
            before_overrides: None,
        },
    }
}

/// Keys by submission name; a repeated name gets ` (2)`, ` (3)` … in the order given.
fn named(items: impl Iterator<Item = (String, Graded)>) -> Side {
    let mut side = Side::new();
    for (name, g) in items {
        let mut key = name.clone();
        let mut n = 2;
        while side.contains_key(&key) {
            key = format!("{name} ({n})");
            n += 1;
        }
        side.insert(key, g);
    }
    side
}

/// Status of a check as the other side can compare it: a summary knows only `failed`.
fn comparable(status: Option<&String>, complete: bool, other_complete: bool) -> String {
    match (status.map(String::as_str), complete && other_complete) {
        (Some(s), true) => s.to_string(),
        (None, true) => "absent".into(),
        (Some("fail" | "failed"), false) => "failed".into(),
        (Some(_), false) => "not failed".into(),
        (None, false) if complete => "absent".into(),
        (None, false) => "not failed".into(),
    }
}

/// Every submission whose verdict, score or checks differ, in name order.
pub fn diff(old: &Side, new: &Side) -> Vec<Change> {
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut changes = Vec::new();
    for name in names {
        let (o, n) = (old.get(name), new.get(name));
        let mut change = Change {
            submission: name.clone(),
            verdict: (o.map(|g| g.verdict.clone()), n.map(|g| g.verdict.clone())),
            score: None,
            checks: Vec::new(),
            before_overrides: (
                o.and_then(|g| g.before_overrides.clone()),
                n.and_then(|g| g.before_overrides.clone()),
            ),
        };
        if let (Some(o), Some(n)) = (o, n) {
            let same = match (o.score, n.score) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                (a, b) => a.is_none() && b.is_none(),
            };
            if !same {
                change.score = Some((o.score, n.score));
            }
            let ids: std::collections::BTreeSet<&String> =
                o.checks.keys().chain(n.checks.keys()).collect();
            for id in ids {
                let a = comparable(o.checks.get(id), o.complete, n.complete);
                let b = comparable(n.checks.get(id), n.complete, o.complete);
                if a != b {
                    change.checks.push((id.clone(), a, b));
                }
            }
        }
        if change.verdict_changed() || change.score.is_some() || !change.checks.is_empty() {
            changes.push(change);
        }
    }
    changes
}

/// The changes as the terminal shows them (every name and id through the terminal encoder).
pub fn render(changes: &[Change], compared: usize) -> String {
    use assay_core::display::terminal_line;
    use std::fmt::Write as _;
    let shown = |v: &Option<String>| {
        v.as_deref()
            .map_or("(absent)".to_string(), str::to_uppercase)
    };
    let score = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.1}"));
    let mut out = String::new();
    for c in changes {
        let mark = if c.verdict_changed() { "!" } else { "~" };
        let _ = write!(out, "{mark} {}:", terminal_line(&c.submission));
        if c.verdict_changed() {
            let _ = write!(
                out,
                " verdict {} -> {}",
                shown(&c.verdict.0),
                shown(&c.verdict.1)
            );
        } else {
            let _ = write!(out, " verdict {} (unchanged)", shown(&c.verdict.1));
        }
        if let Some((a, b)) = c.score {
            let _ = write!(out, ", score {} -> {}", score(a), score(b));
        }
        let overrides = |side: &str, before: &Option<String>| {
            before.as_ref().map(|b| {
                format!(
                    "{side} verdict is after reviewer overrides ({} before them)",
                    b.to_uppercase()
                )
            })
        };
        let said: Vec<String> = [
            overrides("old", &c.before_overrides.0),
            overrides("new", &c.before_overrides.1),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !said.is_empty() {
            let _ = write!(out, "; {}", said.join("; "));
        }
        out.push('\n');
        for (id, a, b) in &c.checks {
            let _ = writeln!(out, "    {}: {a} -> {b}", terminal_line(id));
        }
    }
    let verdicts = changes.iter().filter(|c| c.verdict_changed()).count();
    let _ = writeln!(
        out,
        "{compared} submissions compared: {verdicts} verdict change(s), {} with other changes (durations not compared)",
        changes.len() - verdicts
    );
    out
}
