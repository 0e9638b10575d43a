//! Findings for CI review screens: GitHub Actions workflow commands (`--format github`) and
//! GitLab's code-quality report (`--format gitlab-codequality`).
//!
//! A finding is a failed check (an error when the check is required, a warning when optional)
//! and every warning-or-worse detail of any check that names its own place. File names are
//! relative to the submission; when the submission was a relative folder on the command line
//! (a CI checkout), they are prefixed with it so they name files of the repository. A finding
//! of a zip's entry has no file on the runner, so its place goes into the message instead.

use super::Report;
use assay_core::display::workflow_command;
use assay_core::{Location, Severity, Status};
use serde::Serialize;

/// How serious a finding is for CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Error,
    Warning,
}

struct Finding {
    level: Level,
    check: String,
    message: String,
    /// The file as the CI checkout names it, with line and column.
    place: Option<(String, Option<u32>, Option<u32>)>,
}

fn findings(r: &Report) -> Vec<Finding> {
    let place_of = |l: &Location| {
        r.source_dir.as_ref().map(|dir| {
            let file = if dir.is_empty() {
                l.file.clone()
            } else {
                format!("{dir}/{}", l.file)
            };
            (file, l.line, l.column)
        })
    };
    // With a file on the runner the annotation stands at it; without one, the submission and
    // the place go into the text.
    let message = |text: &str, l: Option<&Location>| match l {
        Some(_) if r.source_dir.is_some() => text.to_string(),
        Some(l) => format!("{}: {l}: {text}", r.submission),
        None => format!("{}: {text}", r.submission),
    };
    let mut out = Vec::new();
    for c in &r.checks {
        // A failure a reviewer overrode stays visible, as a warning that says so.
        let failed = c.result.status == Status::Fail && !c.is_overridden();
        if c.result.status == Status::Fail {
            let text = match &c.overridden {
                Some(o) => format!("{} ({})", c.result.evidence, o.describe()),
                None => c.result.evidence.clone(),
            };
            out.push(Finding {
                level: if failed && c.required {
                    Level::Error
                } else {
                    Level::Warning
                },
                check: c.result.id.to_string(),
                message: message(&text, c.result.location.as_ref()),
                place: c.result.location.as_ref().and_then(place_of),
            });
        }
        for d in &c.result.details {
            let Some(loc) = &d.location else { continue };
            let level = match d.severity {
                Severity::Error if failed && c.required => Level::Error,
                Severity::Error if failed => Level::Warning,
                Severity::Warning => Level::Warning,
                _ => continue,
            };
            let mut text = d.message.clone();
            if let Some(h) = &d.hint {
                text.push_str(&format!(" (hint: {h})"));
            }
            out.push(Finding {
                level,
                check: c.result.id.to_string(),
                message: message(&text, Some(loc)),
                place: place_of(loc),
            });
        }
    }
    out
}

/// One workflow command a line: `::error file=…,line=…,col=…,title=assay <check>::<message>`.
/// Every value goes through the workflow-command encoder, so candidate text cannot end a
/// property or start a command of its own.
pub fn github(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in findings(r) {
            let title = format!("assay {}", f.check);
            let (line, col);
            let mut props: Vec<(&str, &str)> = Vec::new();
            if let Some((file, l, c)) = &f.place {
                props.push(("file", file));
                line = l.map(|l| l.to_string());
                col = c.map(|c| c.to_string());
                if let Some(l) = &line {
                    props.push(("line", l));
                    if let Some(c) = &col {
                        props.push(("col", c));
                    }
                }
            }
            props.push(("title", &title));
            let name = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            out.push_str(&workflow_command(name, &props, &f.message));
            out.push('\n');
        }
    }
    out
}

/// One issue of GitLab's code-quality report (the subset of the Code Climate format it reads).
#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: IssueLocation,
}

#[derive(Serialize)]
struct IssueLocation {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

/// GitLab's code-quality JSON: the located findings (GitLab shows an issue only at a file of
/// the repository, so findings without one are left to the JUnit report).
pub fn gitlab_codequality(reports: &[Report]) -> String {
    use sha2::Digest as _;
    let mut issues = Vec::new();
    for r in reports {
        for f in findings(r) {
            let Some((path, line, _)) = f.place else {
                continue;
            };
            let begin = line.unwrap_or(1);
            let mut hasher = sha2::Sha256::new();
            for part in [
                f.check.as_str(),
                path.as_str(),
                &begin.to_string(),
                &f.message,
            ] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
            let fingerprint = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            issues.push(Issue {
                description: f.message,
                check_name: f.check,
                fingerprint,
                severity: match f.level {
                    Level::Error => "major",
                    Level::Warning => "minor",
                },
                location: IssueLocation {
                    path,
                    lines: Lines { begin },
                },
            });
        }
    }
    assay_core::display::json_visible(
        &serde_json::to_string_pretty(&issues).expect("issues serialise"),
    ) + "\n"
}
