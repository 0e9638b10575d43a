//! Reviewer overrides: after reading a report, a reviewer credits a check assay failed (an
//! answer the matcher missed, a design the committee accepts) or waives one (a check that does
//! not apply to this hire), each with a reason and a name. The verdict is recomputed with them
//! and the verdict before them is kept ([`crate::verdict::apply_overrides`]).
//!
//! The overrides file is YAML, read like a rubric (`serde-saphyr`: duplicate keys, unknown keys
//! and non-strict booleans are errors, input budgets), then checked as a whole before anything
//! is graded: every problem is listed, each at `file:line:col`.
//!
//! ```yaml
//! by: Dana Smith                 # who decided (default for every override below)
//! overrides:
//!   - submission: alice.zip      # which submission (required in a batch)
//!     check: essays.min-words
//!     action: credit             # credit: counts as passed; waive: left out of the verdict
//!     reason: Q3's 241 words answer it fully; the committee accepts it
//!   - submission: bob.zip
//!     check: compose.pinned-images
//!     action: waive
//!     reason: the team tracks `latest` on purpose
//!     by: Lee Chen               # this override's reviewer
//! ```

use crate::error::{Error, ErrorKind};
use assay_core::CheckId;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::path::Path;

/// What a reviewer does to a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The check counts as passed: its points are given and, when required, it no longer
    /// fails the submission.
    Credit,
    /// The check is left out of the verdict: out of the score, and never failing it.
    Waive,
}

impl Action {
    /// `credited` / `waived`.
    pub fn past(self) -> &'static str {
        match self {
            Action::Credit => "credited",
            Action::Waive => "waived",
        }
    }
}

/// An override as the report shows it on its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub action: Action,
    pub reason: String,
    /// Who decided: the override's `by:`, else the file's, else `git config --global user.name`,
    /// else `$USER`.
    pub by: String,
}

impl Override {
    /// `credited by Dana Smith: reason`.
    pub fn describe(&self) -> String {
        format!("{} by {}: {}", self.action.past(), self.by, self.reason)
    }
}

/// One override of the file, checked: a known check id, a reason, a reviewer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The submission's name as reports show it (`alice.zip`, a folder's name); `None` in a
    /// file for a single submission.
    pub submission: Option<String>,
    pub check: CheckId,
    pub decision: Override,
    /// `file:line:col` of the override, for errors found after grading.
    pub at: String,
}

/// A checked overrides file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub entries: Vec<Entry>,
}

/// The largest overrides file read, and the longest reason and name kept.
const MAX_FILE_BYTES: u64 = 1 << 20;
const MAX_REASON_CHARS: usize = 2000;
const MAX_BY_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    #[serde(default)]
    by: Option<Spanned<String>>,
    overrides: Vec<Spanned<EntryForm>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryForm {
    #[serde(default)]
    submission: Option<Spanned<String>>,
    check: Spanned<String>,
    action: Action,
    reason: Spanned<String>,
    #[serde(default)]
    by: Option<Spanned<String>>,
}

fn at(name: &str, l: &serde_saphyr::Location) -> String {
    format!("{name}:{}:{}", l.line(), l.column())
}

/// Reads and checks an overrides file. `default_by` names the reviewer of overrides that name
/// none (and the file names none either). Every problem is returned, each located, as one
/// usage [`Error`] (the file is part of the command line).
pub fn load(path: &Path, default_by: &str) -> Result<Overrides, Error> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::usage(format!("{name}: {e}")))?;
    if !meta.is_file() {
        return Err(Error::usage(format!("{name}: not a file")));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::usage(format!(
            "{name}: larger than {} KiB",
            MAX_FILE_BYTES >> 10
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::usage(format!("{name}: {e}")))?;
    parse(&text, &name, default_by)
}

/// Parses and checks overrides text; `name` is used in the errors (every problem, one usage
/// [`Error`]).
pub fn parse(text: &str, name: &str, default_by: &str) -> Result<Overrides, Error> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: 16,
            max_nodes: 100_000,
            max_total_scalar_bytes: 1024 * 1024,
        },
    };
    let form: FileForm = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        Error::usage(format!(
            "{name}:{}",
            assay_core::rubric_file::located(&e.to_string())
        ))
    })?;
    let mut problems = Vec::new();
    let file_by = match &form.by {
        Some(by) => match reviewer(&by.value) {
            Ok(b) => Some(b),
            Err(why) => {
                problems.push(format!("{}: by: {why}", at(name, &by.referenced)));
                None
            }
        },
        None => None,
    };
    if form.overrides.is_empty() {
        problems.push(format!("{name}: overrides: the list is empty"));
    }
    let mut entries = Vec::new();
    for item in &form.overrides {
        let here = at(name, &item.referenced);
        let e = &item.value;
        let check = match CheckId::parse(e.check.value.trim()) {
            Some(c) => Some(c),
            None => {
                let hint = CheckId::ALL
                    .iter()
                    .map(|c| c.as_str())
                    .min_by_key(|k| assay_core::rubric_file::edit_distance(k, &e.check.value))
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                problems.push(format!(
                    "{}: check: unknown check id `{}`{hint}",
                    at(name, &e.check.referenced),
                    e.check.value
                ));
                None
            }
        };
        // One line in every report (a table cell, a JUnit property): white space runs, line
        // breaks included, become one space.
        let reason = e
            .reason
            .value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let reason = reason.as_str();
        if !reason.chars().any(char::is_alphanumeric) {
            problems.push(format!(
                "{}: reason: empty; say why the check is {} (a reviewer reading the report needs it)",
                at(name, &e.reason.referenced),
                e.action.past()
            ));
        } else if reason.chars().count() > MAX_REASON_CHARS {
            problems.push(format!(
                "{}: reason: longer than {MAX_REASON_CHARS} characters",
                at(name, &e.reason.referenced)
            ));
        }
        let by = match &e.by {
            Some(by) => match reviewer(&by.value) {
                Ok(b) => Some(b),
                Err(why) => {
                    problems.push(format!("{}: by: {why}", at(name, &by.referenced)));
                    None
                }
            },
            None => file_by.clone().or_else(|| reviewer(default_by).ok()),
        };
        let submission = match &e.submission {
            Some(s) if s.value.trim().is_empty() => {
                problems.push(format!("{}: submission: empty", at(name, &s.referenced)));
                None
            }
            Some(s) => Some(s.value.trim().to_string()),
            None => None,
        };
        if let Some(c) = check {
            if let Some(first) = entries
                .iter()
                .find(|x: &&Entry| x.check == c && x.submission == submission)
            {
                problems.push(format!(
                    "{here}: {c}{} is overridden twice (first at {})",
                    submission
                        .as_deref()
                        .map(|s| format!(" of {s}"))
                        .unwrap_or_default(),
                    first.at
                ));
            }
            entries.push(Entry {
                submission,
                check: c,
                decision: Override {
                    action: e.action,
                    reason: reason.to_string(),
                    by: by.unwrap_or_else(|| "unknown".into()),
                },
                at: here,
            });
        }
    }
    if problems.is_empty() {
        Ok(Overrides { entries })
    } else {
        Err(Error::list(ErrorKind::Usage, problems))
    }
}

/// A reviewer's name: one line, not empty, not too long.
fn reviewer(name: &str) -> Result<String, String> {
    let name = name.trim();
    if !name.chars().any(char::is_alphanumeric) {
        Err("empty; name who decided".into())
    } else if name.chars().count() > MAX_BY_CHARS {
        Err(format!("longer than {MAX_BY_CHARS} characters"))
    } else if name.contains(['\n', '\r']) {
        Err("must be one line".into())
    } else {
        Ok(name.to_string())
    }
}

impl Overrides {
    /// Checks the file against the submissions to grade (their report names): each named
    /// submission is one of them, and with several every override names one. Every misfit is
    /// listed in the one usage [`Error`].
    pub fn check_submissions(&self, names: &[String]) -> Result<(), Error> {
        let mut problems = Vec::new();
        for e in &self.entries {
            match &e.submission {
                Some(s) if !names.iter().any(|n| n == s) => problems.push(format!(
                    "{}: submission `{s}` is not among the submissions to grade ({})",
                    e.at,
                    names.join(", ")
                )),
                None if names.len() > 1 => problems.push(format!(
                    "{}: {} names no submission; in a batch every override names one (submission: NAME)",
                    e.at, e.check
                )),
                _ => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::list(ErrorKind::Usage, problems))
        }
    }

    /// The overrides of the submission reported as `name`.
    pub fn for_submission(&self, name: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.submission.as_deref().is_none_or(|s| s == name))
            .collect()
    }
}

/// Who a reviewer is when neither the override nor the file says: `git config --global user.name`'s
/// answer, else `$USER`, else `unknown` (each looked up by the caller: the environment is
/// read at the binary's edge).
pub fn default_reviewer(git_user_name: Option<String>, user: Option<String>) -> String {
    [git_user_name, user]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty() && !s.contains(['\n', '\r']))
        .unwrap_or_else(|| "unknown".into())
}

/// `git config --global user.name`, when git is installed and a name is set. Global only: run
/// inside a candidate's checkout, its own `.git/config` must not name the reviewer.
pub fn git_user_name() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "--global", "user.name"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Overrides {
        parse(text, "o.yaml", "Default Reviewer").unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text, "o.yaml", "Default Reviewer")
            .expect_err("an invalid file")
            .lines()
    }

    #[test]
    fn a_file_with_both_actions_is_read_with_its_reviewers() {
        let o = parse_ok(
            "by: Dana\noverrides:\n  - submission: a.zip\n    check: essays.min-words\n    action: credit\n    reason: long enough\n  - submission: b.zip\n    check: compose.pinned-images\n    action: waive\n    reason: on purpose\n    by: Lee\n",
        );
        assert_eq!(o.entries.len(), 2);
        assert_eq!(o.entries[0].check, CheckId::EssaysMinWords);
        assert_eq!(o.entries[0].decision.action, Action::Credit);
        assert_eq!(o.entries[0].decision.by, "Dana", "the file's reviewer");
        assert_eq!(o.entries[0].at, "o.yaml:3:5");
        assert_eq!(o.entries[1].decision.by, "Lee", "the override's own");
        let folded = parse_ok("overrides:\n  - check: essays.q1\n    action: credit\n    reason: |\n      two\n        lines\n");
        assert_eq!(
            folded.entries[0].decision.reason, "two lines",
            "one line in every report"
        );
        let invisible = errors(
            "overrides:\n  - check: essays.q1\n    action: credit\n    reason: \"\\u200b\\u202e.\"\n    by: \"\\u200b\"\n",
        );
        assert_eq!(
            invisible.len(),
            2,
            "no letter or digit says nothing: {invisible:?}"
        );
        assert!(invisible[0].contains("reason: empty") && invisible[1].contains("by: empty"));
        assert_eq!(o.for_submission("b.zip").len(), 1);
        assert!(o.for_submission("c.zip").is_empty());
    }

    #[test]
    fn without_a_name_in_the_file_the_default_reviewer_decides() {
        let o = parse_ok("overrides:\n  - check: runtime.scale\n    action: waive\n    reason: one replica is fine here\n");
        assert_eq!(o.entries[0].decision.by, "Default Reviewer");
        assert_eq!(o.entries[0].submission, None);
        assert_eq!(o.for_submission("anything").len(), 1);
    }

    #[test]
    fn every_problem_is_listed_with_its_place() {
        let e = errors(
            "overrides:\n  - check: compose.db-hots\n    action: credit\n    reason: fine\n  - check: essays.q1\n    action: waive\n    reason: \"  \"\n  - check: essays.q1\n    action: credit\n    reason: again\n    by: \"\"\n",
        );
        assert_eq!(e.len(), 4, "{e:#?}");
        assert_eq!(
            e[0],
            "o.yaml:2:12: check: unknown check id `compose.db-hots` (did you mean `compose.db-host`?)"
        );
        assert!(e[1].starts_with("o.yaml:7:13: reason: empty"), "{}", e[1]);
        assert!(e[2].starts_with("o.yaml:11:9: by: empty"), "{}", e[2]);
        assert_eq!(
            e[3],
            "o.yaml:8:5: essays.q1 is overridden twice (first at o.yaml:5:5)"
        );
    }

    #[test]
    fn syntax_unknown_keys_and_bad_actions_are_located_yaml_errors() {
        for (text, want) in [
            (
                "overrides:\n  - check: essays.q1\n    action: approve\n    reason: x\n",
                "o.yaml:3:",
            ),
            (
                "overrides:\n  - check: essays.q1\n    action: credit\n    reason: x\n    reasn: y\n",
                "o.yaml:5:",
            ),
            ("overrides:\n  - check: essays.q1\n    action: credit\n", "o.yaml"),
            ("overrides: [\n", "o.yaml"),
            ("by: a\nby: b\noverrides: []\n", "o.yaml:2:"),
        ] {
            let e = errors(text);
            assert_eq!(e.len(), 1, "{text}: {e:?}");
            assert!(e[0].starts_with(want), "{text}: {}", e[0]);
        }
        assert_eq!(
            errors("overrides: []\n"),
            vec!["o.yaml: overrides: the list is empty"]
        );
    }

    #[test]
    fn submissions_are_checked_against_the_ones_graded() {
        let o = parse_ok("overrides:\n  - submission: a.zip\n    check: essays.q1\n    action: credit\n    reason: x\n  - check: essays.elective\n    action: credit\n    reason: y\n");
        let e = o
            .check_submissions(&["b.zip".into(), "c.zip".into()])
            .unwrap_err()
            .lines();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("o.yaml:2:5: submission `a.zip` is not among"));
        assert!(e[1].contains("in a batch every override names one"));
        let single =
            parse_ok("overrides:\n  - check: essays.q1\n    action: credit\n    reason: x\n");
        assert!(single.check_submissions(&["b.zip".into()]).is_ok());
    }

    #[test]
    fn the_default_reviewer_is_git_s_name_then_user_then_unknown() {
        assert_eq!(
            default_reviewer(Some("Dana Smith\n".into()), Some("dana".into())),
            "Dana Smith"
        );
        assert_eq!(
            default_reviewer(Some(" ".into()), Some("dana".into())),
            "dana"
        );
        assert_eq!(default_reviewer(None, None), "unknown");
    }
}
