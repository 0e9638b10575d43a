//! The pipeline for one submission: intake → facts (compose, essays) → checks → verdict → report.

use crate::cli::EvaluateArgs;
use crate::exit::Exit;
use crate::report::{self, AnswerSummary, ColorChoice, FilesSummary, Report};
use crate::runtime::{RuntimeCtx, Unavailable};
use crate::verdict::{self, Verdict};
use assay_core::{
    CheckId, CheckResult, Location, QuestionKind, Rubric, Severity, SkipKind, Status,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    /// Run the candidate's own webapp build instead of the pristine webapp image.
    pub build_webapp: bool,
    /// The sandbox, when the runtime checks run (`None` with `--static`).
    pub runtime: Option<Arc<RuntimeCtx>>,
    /// Why the runtime checks do not run although `--static` was not given (the rubric made
    /// them optional and Docker is not reachable).
    pub runtime_unavailable: Option<String>,
    /// How answer documents are read: PDF and .docx in a confined child (this binary re-run).
    pub extractor: assay_essays::Extractor,
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
    let mut essay_answers = Vec::new();
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
            block_rest(&mut results, "intake.unpack failed");
            (results, Vec::new(), FilesSummary::default())
        }
        Ok(ws) => {
            for n in &ws.notes {
                notes.push(n.to_string());
            }
            grade_workspace(&ws, opts, &mut notes, &mut essay_answers)?
        }
    };
    let scored = verdict::score(results, rubric);
    let not_run = scored
        .checks
        .iter()
        .filter(|c| c.result.skip == Some(SkipKind::NotRun))
        .count();
    if not_run > 0 {
        notes.push(format!(
            "{not_run} of {} checks were not run (listed as skipped) and are left out of the verdict",
            scored.checks.len()
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
        similar_answers: Vec::new(),
        essay_answers,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Every check not yet decided becomes `Blocked` behind `cause`.
fn block_rest(results: &mut Vec<CheckResult>, cause: &str) {
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
    essay_answers: &mut Vec<assay_essays::Answer>,
) -> Result<(Vec<CheckResult>, Vec<AnswerSummary>, FilesSummary), EvaluateError> {
    let d = &ws.discovery;
    let rubric = &opts.rubric;
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
    for dir in &d.webapp_dirs {
        let changes = crate::kit::webapp_changes(&ws.root.join(dir));
        if !changes.is_empty() {
            notes.push(format!(
                "the webapp source in {}/ differs from the handout ({}); the evaluation runs the pristine webapp",
                slash(dir),
                changes.join(", ")
            ));
        }
    }

    // Essays: Q1 is answered by an orchestration file, or else by an essay.
    let has_orchestration_file = d.compose_file.is_some() || !d.k8s_manifests.is_empty();
    let essays = assay_essays::grade(
        &ws.root,
        &d.answer_docs,
        rubric,
        has_orchestration_file,
        &opts.extractor,
    );
    if let Some(fault) = essays.fault {
        return Err(EvaluateError::CouldNotGrade(format!(
            "cannot read answer documents: {fault}"
        )));
    }
    let q1_essay = q1_essay(&essays.answers, rubric);
    let answers = essays.answers.iter().map(answer_summary).collect();
    for diag in essays
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
    {
        notes.push(format!("essays: {diag}"));
    }
    results.extend(essays.checks);
    *essay_answers = essays.answers;

    // The orchestration file, and the checks that need one.
    if let Some(file) = &d.compose_file {
        let mut ev = format!("{} found", slash(file));
        if !files.other_compose_files.is_empty() {
            ev.push_str(&format!(
                "; also present, not used: {}",
                files.other_compose_files.join(", ")
            ));
        }
        results.push(CheckResult::pass(CheckId::ComposeFound, ev).at(Location::file(slash(file))));
        let load = assay_compose::LoadOptions {
            env_overrides: opts.env_overrides.clone(),
            ..Default::default()
        };
        let loaded = assay_compose::load_project(&ws.root, file, &load);
        let ctx = assay_checks::CheckContext {
            root: &ws.root,
            rubric,
            webapp_dirs: &d.webapp_dirs,
        };
        let facts = assay_checks::compose_checks(&loaded, &ctx);
        let gates: Vec<&str> = facts
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail && is_gate(c.id))
            .map(|c| c.id.as_str())
            .collect();
        if !gates.is_empty() {
            let reason = format!(
                "not run: {} failed; nothing of the candidate's is run",
                gates.join(", ")
            );
            skip_family(&mut results, "runtime", SkipKind::Blocked, &reason);
        } else if let (Some(ctx), Some(project)) = (&opts.runtime, &loaded.project) {
            let (runtime, runtime_notes) = crate::runtime::run(
                ctx,
                &ws.root,
                project,
                &facts,
                rubric,
                opts.timeout_secs,
                opts.build_webapp,
            )?;
            results.extend(runtime);
            notes.extend(runtime_notes);
        }
        results.extend(facts.checks);
    } else if !d.k8s_manifests.is_empty() {
        let ev = format!(
            "Kubernetes manifests: {}",
            files.kubernetes_manifests.join(", ")
        );
        results.push(CheckResult::pass(CheckId::ComposeFound, ev));
        let reason = "Kubernetes manifests are graded by a reviewer";
        skip_family(&mut results, "compose", SkipKind::NotApplicable, reason);
        skip_family(&mut results, "runtime", SkipKind::NotApplicable, reason);
        notes.push(
            "Q1 is answered with Kubernetes manifests: a reviewer grades them (listed under files)"
                .into(),
        );
    } else if let Some(essay) = q1_essay {
        let ev = format!("no orchestration file; Q1 is answered as an essay: {essay}");
        results.push(CheckResult::pass(CheckId::ComposeFound, ev));
        let reason = "Q1 is answered as an essay: no orchestration file to check";
        skip_family(&mut results, "compose", SkipKind::NotApplicable, reason);
        skip_family(&mut results, "runtime", SkipKind::NotApplicable, reason);
    } else {
        results.push(CheckResult::fail(
            CheckId::ComposeFound,
            "no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in the root or one folder down, no Kubernetes manifests, and no Q1 essay",
        ));
        block_rest(&mut results, "no orchestration file");
    }

    // Runtime checks that did not run above.
    let reason = match &opts.runtime_unavailable {
        _ if opts.static_only => "static mode: runtime checks not run".to_string(),
        Some(why) => format!("runtime checks not run: {why}"),
        None => "runtime checks not run".to_string(),
    };
    skip_family(&mut results, "runtime", SkipKind::NotRun, &reason);
    Ok((results, answers, files))
}

/// Checks that must pass before anything of the candidate's runs.
fn is_gate(id: CheckId) -> bool {
    matches!(
        id,
        CheckId::ComposeValid
            | CheckId::ComposeSecurity
            | CheckId::ComposeDbService
            | CheckId::ComposeWebappService
    )
}

/// Adds a skipped result for every check of `family` that has no result yet.
fn skip_family(results: &mut Vec<CheckResult>, family: &str, kind: SkipKind, reason: &str) {
    for id in CheckId::ALL.iter().filter(|c| c.family() == family) {
        if !results.iter().any(|r| r.id == *id) {
            results.push(CheckResult::skipped(*id, kind, reason));
        }
    }
}

/// The Q1 essay that is long enough to stand in for an orchestration file, described.
fn q1_essay(answers: &[assay_essays::Answer], rubric: &Rubric) -> Option<String> {
    let q1 = rubric
        .questions
        .iter()
        .find(|q| q.kind == QuestionKind::Orchestration)?;
    answers
        .iter()
        .find(|a| a.question == q1.id && a.words >= rubric.essays.min_words)
        .map(|a| format!("{} ({} words)", a.file, a.words))
}

fn answer_summary(a: &assay_essays::Answer) -> AnswerSummary {
    AnswerSummary {
        question: a.question.clone(),
        file: a.file.clone(),
        line: a.location.as_ref().and_then(|l| l.line),
        words: a.words,
        wc_words: a.wc_words,
    }
}

fn intake_evidence(ws: &assay_intake::Workspace) -> String {
    let how = match ws.kind {
        assay_intake::SourceKind::Zip => "zip unpacked",
        assay_intake::SourceKind::Directory => "directory copied",
        assay_intake::SourceKind::GitCheckout => "git checkout copied (.git/ left out)",
    };
    format!(
        "{how} within limits: {} KiB written to a private work dir",
        ws.bytes_written.div_ceil(1024)
    )
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
    let parser = match assay_essays::ParserCommand::current_exe([crate::cli::PARSER_SUBCOMMAND]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "error: could not grade: cannot find assay's own executable to read documents: {e}"
            );
            return Exit::CouldNotGrade;
        }
    };
    let (mut runtime, mut runtime_unavailable) = (None, None);
    if !args.static_only {
        match crate::runtime::prepare(&rubric) {
            Ok(ctx) => runtime = Some(Arc::new(ctx)),
            Err(Unavailable::NoDaemon(why)) if !rubric.runtime.required => {
                runtime_unavailable = Some(why)
            }
            Err(Unavailable::NoDaemon(why) | Unavailable::Fault(why)) => {
                eprintln!("error: could not grade: {why}");
                return Exit::CouldNotGrade;
            }
        }
    }
    let opts = Options {
        timeout_secs: args.timeout.unwrap_or(rubric.runtime.timeout_secs),
        rubric,
        static_only: args.static_only,
        env_overrides: args.env.iter().cloned().collect(),
        runtime,
        runtime_unavailable,
        build_webapp: args.build_webapp,
        extractor: assay_essays::Extractor::new(parser),
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
    crate::batch::flag_similar_answers(&mut reports);
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
