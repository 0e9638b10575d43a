//! The pipeline for one submission: intake → facts (compose, essays) → checks → verdict → report.

use crate::cli::EvaluateArgs;
use crate::exit::Exit;
use crate::report::{self, AnswerSummary, ColorChoice, FilesSummary, Report};
use crate::verdict::{self, Verdict};
use assay_core::{CheckId, CheckResult, Rubric, SkipKind, Status};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to evaluate, shared by every submission of a batch.
#[derive(Debug, Clone)]
pub struct Options {
    pub rubric: Rubric,
    pub static_only: bool,
    /// Deadline of the runtime phase, seconds.
    pub timeout_secs: u64,
    /// Compose variables set on the command line; they override the submission's `.env`.
    pub env_overrides: BTreeMap<String, String>,
}

/// Why a submission could not be graded at all. Never a candidate's FAIL.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The command line names something that is not a submission (exit 2).
    #[error("{0}")]
    Usage(String),
    /// assay itself could not grade (exit 3).
    #[error("could not grade: {0}")]
    CouldNotGrade(String),
}

impl EvaluateError {
    pub fn exit(&self) -> Exit {
        match self {
            EvaluateError::Usage(_) => Exit::Usage,
            EvaluateError::CouldNotGrade(_) => Exit::CouldNotGrade,
        }
    }
}

/// Evaluates one submission.
pub fn evaluate(submission: &Path, opts: &Options) -> Result<Report, EvaluateError> {
    let started = Instant::now();
    let rubric = &opts.rubric;
    let discover = assay_intake::DiscoverOptions {
        webapp_package: rubric.webapp.package_name.clone(),
    };
    let mut notes = Vec::new();
    let (results, answers, files) = match assay_intake::open(submission, &rubric.intake, &discover)
    {
        Err(e @ assay_intake::IntakeError::Usage { .. }) => {
            return Err(EvaluateError::Usage(e.to_string()))
        }
        Err(e @ assay_intake::IntakeError::Internal { .. }) => {
            return Err(EvaluateError::CouldNotGrade(e.to_string()))
        }
        Err(e @ assay_intake::IntakeError::Rejected { .. }) => {
            let mut results = vec![CheckResult::fail(CheckId::IntakeUnpack, e.to_string())];
            block_all_but(&mut results, CheckId::IntakeUnpack, "intake.unpack failed");
            (results, Vec::new(), FilesSummary::default())
        }
        Ok(ws) => {
            for n in &ws.notes {
                notes.push(n.to_string());
            }
            grade_workspace(&ws, opts, &mut notes)
        }
    };
    let scored = verdict::score(results, rubric);
    let not_run: Vec<&str> = scored
        .checks
        .iter()
        .filter(|c| c.result.skip == Some(SkipKind::NotRun))
        .map(|c| c.result.id.as_str())
        .collect();
    if !not_run.is_empty() {
        notes.push(format!(
            "{} of {} checks were not run and are left out of the verdict: {}",
            not_run.len(),
            scored.checks.len(),
            not_run.join(", ")
        ));
    }
    Ok(Report {
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        submission: display_name(submission),
        verdict: scored.verdict,
        score: scored.score,
        max_score: 100.0,
        threshold: scored.threshold,
        mode: if opts.static_only {
            "static".into()
        } else {
            "full".into()
        },
        checks: scored.checks,
        answers,
        files,
        notes,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Every check not yet decided becomes `Blocked` behind `cause`.
fn block_all_but(results: &mut Vec<CheckResult>, _keep: CheckId, cause: &str) {
    for id in CheckId::ALL {
        if !results.iter().any(|r| r.id == *id) {
            results.push(CheckResult::blocked(*id, format!("not run: {cause}")));
        }
    }
}

/// Grades an unpacked workspace.
fn grade_workspace(
    ws: &assay_intake::Workspace,
    opts: &Options,
    notes: &mut Vec<String>,
) -> (Vec<CheckResult>, Vec<AnswerSummary>, FilesSummary) {
    let d = &ws.discovery;
    let files = FilesSummary {
        compose_file: d.compose_file.as_ref().map(|p| slash(p)),
        other_compose_files: d.other_compose_files.iter().map(|p| slash(p)).collect(),
        kubernetes_manifests: d.k8s_manifests.iter().map(|p| slash(p)).collect(),
        answer_documents: d.answer_docs.iter().map(|p| slash(p)).collect(),
        dockerfiles: d.dockerfiles.iter().map(|p| slash(p)).collect(),
    };
    let mut results = vec![CheckResult::pass(
        CheckId::IntakeUnpack,
        intake_evidence(ws),
    )];
    let answers = Vec::new();

    // Essays (issue 4 lands the real grading).
    for id in [
        CheckId::EssaysQ1,
        CheckId::EssaysElective,
        CheckId::EssaysMinWords,
    ] {
        results.push(CheckResult::skipped(
            id,
            SkipKind::NotRun,
            "not implemented",
        ));
    }

    // Orchestration file.
    if let Some(file) = &d.compose_file {
        let mut ev = format!("{} found", slash(file));
        if !d.other_compose_files.is_empty() {
            ev.push_str(&format!(
                "; also present, not used: {}",
                d.other_compose_files
                    .iter()
                    .map(|p| slash(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        results.push(
            CheckResult::pass(CheckId::ComposeFound, ev)
                .at(assay_core::Location::file(slash(file))),
        );
        for id in CheckId::ALL
            .iter()
            .filter(|c| c.family() == "compose" && **c != CheckId::ComposeFound)
        {
            results.push(CheckResult::skipped(
                *id,
                SkipKind::NotRun,
                "not implemented",
            ));
        }
    } else if !d.k8s_manifests.is_empty() {
        results.push(CheckResult::pass(
            CheckId::ComposeFound,
            format!(
                "Kubernetes manifests: {}",
                files.kubernetes_manifests.join(", ")
            ),
        ));
        for id in CheckId::ALL
            .iter()
            .filter(|c| matches!(c.family(), "compose" | "runtime") && **c != CheckId::ComposeFound)
        {
            results.push(CheckResult::skipped(
                *id,
                SkipKind::NotApplicable,
                "Kubernetes manifests are graded by a reviewer",
            ));
        }
        notes.push("Q1 was answered with Kubernetes manifests: a reviewer grades them; assay lists them under files".into());
    } else {
        results.push(CheckResult::fail(
            CheckId::ComposeFound,
            "no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in the root or one folder down, and no Kubernetes manifests",
        ));
        block_all_but(&mut results, CheckId::ComposeFound, "no orchestration file");
    }

    // Runtime (issue 6 lands the sandbox).
    for id in CheckId::ALL.iter().filter(|c| c.family() == "runtime") {
        if !results.iter().any(|r| r.id == *id) {
            let reason = if opts.static_only {
                "static mode: runtime checks not run"
            } else {
                "not implemented"
            };
            results.push(CheckResult::skipped(*id, SkipKind::NotRun, reason));
        }
    }
    let _ = (
        &opts.env_overrides,
        opts.timeout_secs,
        Status::Pass,
        Verdict::Pass,
    );
    (results, answers, files)
}

fn intake_evidence(ws: &assay_intake::Workspace) -> String {
    format!("{:?} unpacked within limits", ws.kind).to_lowercase()
}

pub(crate) fn slash(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// `assay evaluate`: one submission or a batch, reports to stdout and `--out`.
pub fn run_cli(args: EvaluateArgs, color: ColorChoice) -> Exit {
    let rubric = match crate::cli::load_rubric(args.rubric.as_deref()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let opts = Options {
        timeout_secs: args.timeout.unwrap_or(rubric.runtime.timeout_secs),
        rubric,
        static_only: args.static_only,
        env_overrides: args.env.iter().cloned().collect(),
    };
    let outcomes = crate::batch::evaluate_all(&args.submissions, &opts, args.jobs as usize);
    let mut reports = Vec::new();
    let mut worst = Exit::Pass;
    for (path, outcome) in args.submissions.iter().zip(outcomes) {
        match outcome {
            Ok(r) => {
                if r.verdict == Verdict::Fail && worst == Exit::Pass {
                    worst = Exit::Fail;
                }
                reports.push(r);
            }
            Err(e) => {
                let msg = e.to_string();
                if msg.contains(&path.display().to_string()) {
                    eprintln!("error: {msg}");
                } else {
                    eprintln!("error: {}: {msg}", path.display());
                }
                worst = match (worst, e.exit()) {
                    (Exit::CouldNotGrade, _) | (_, Exit::CouldNotGrade) => Exit::CouldNotGrade,
                    _ => Exit::Usage,
                };
            }
        }
    }
    if let Some(dir) = &args.out {
        let batch = args.submissions.len() > 1;
        let mut used = std::collections::BTreeSet::new();
        for r in &reports {
            let target: PathBuf = if batch {
                dir.join(unique_dir_name(&r.submission, &mut used))
            } else {
                dir.clone()
            };
            if let Err(e) = report::write_all(r, &target) {
                eprintln!("error: cannot write reports to {}: {e}", target.display());
                return Exit::CouldNotGrade;
            }
        }
    }
    print!("{}", report::render(&reports, args.format, color));
    worst
}

fn unique_dir_name(submission: &str, used: &mut std::collections::BTreeSet<String>) -> String {
    let base: String = submission
        .trim_end_matches(".zip")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() || base.starts_with('.') {
        format!("submission{base}")
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}
