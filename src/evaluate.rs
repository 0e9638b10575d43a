//! The pipeline for one submission, a chain of typed stages: intake → facts (essays, the
//! compose file loaded) → checks (the `requires` column applied) → runtime → verdict → report.

use crate::error::Error;
use crate::report::{self, AnswerSummary, FilesSummary, Report};
use crate::runtime::RuntimeCtx;
use crate::say::Say;
use crate::verdict;
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
    /// A reviewer's overrides (checked against the submissions before grading); each report
    /// gets the ones naming it.
    pub overrides: crate::overrides::Overrides,
    /// Name each phase as it starts (one submission; a batch shows a line per finished
    /// submission instead).
    pub show_phases: bool,
    /// Where progress lines go (the command layer prints them).
    pub say: Say,
}

impl Options {
    /// Names a phase when [`Options::show_phases`] is set.
    fn phase(&self, what: &str) {
        if self.show_phases {
            self.say.line(&format!("{what}…"));
        }
    }
}

/// Evaluates one submission. An error is why it could not be graded at all (never a
/// candidate's FAIL): a usage error, or assay could not grade.
///
/// The pipeline is a chain of typed stages, each taking the previous one's output:
/// `intake` → `facts` → `checks` → `runtime` → `verdict` → `report`.
pub fn evaluate(submission: &Path, opts: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let graded = match intake(submission, opts)? {
        Intake::Unpacked(ws, graded) => runtime(checks(facts(&ws, opts, graded)?))?,
        Intake::Rejected(graded) => graded,
    };
    let judged = verdict(graded, submission, opts)?;
    Ok(report(judged, submission, opts, started))
}

/// What grading has decided so far; each stage adds to it.
#[derive(Default)]
struct Graded {
    results: Vec<CheckResult>,
    notes: Vec<String>,
    answers: Vec<AnswerSummary>,
    files: FilesSummary,
    essay_answers: Vec<assay_essays::Answer>,
    documents_searched: Vec<assay_essays::SearchedDocument>,
    timings: Timings,
    /// The source lines around located failures.
    excerpts: BTreeMap<CheckId, report::SourceExcerpt>,
    provenance: report::Provenance,
}

/// Stage 1's output: the submission unpacked into a private work dir, or refused.
enum Intake {
    Unpacked(Box<assay_intake::Workspace>, Graded),
    /// It broke an intake limit: `intake.unpack` fails, nothing else runs.
    Rejected(Graded),
}

/// Stage 1, intake: unpack or copy the submission under the rubric's limits.
fn intake(submission: &Path, opts: &Options) -> Result<Intake, Error> {
    let rubric = &opts.rubric;
    let discover = assay_intake::DiscoverOptions {
        webapp_package: rubric.webapp.package_name.clone(),
    };
    let mut graded = Graded {
        provenance: report::Provenance {
            rubric_sha256: report::provenance::rubric_sha256(rubric),
            ..Default::default()
        },
        ..Default::default()
    };
    let intake_started = Instant::now();
    opts.phase("intake: unpacking and finding the files");
    let opened = assay_intake::open(submission, &rubric.intake, &discover);
    graded
        .timings
        .stamp_ids(&[CheckId::IntakeUnpack], intake_started);
    match opened {
        Err(e @ assay_intake::IntakeError::Usage { .. }) => Err(Error::usage(e.to_string())),
        Err(e @ assay_intake::IntakeError::Internal { .. }) => {
            Err(Error::could_not_grade(e.to_string()))
        }
        Err(e @ assay_intake::IntakeError::Rejected { .. }) => {
            graded
                .results
                .push(CheckResult::fail(CheckId::IntakeUnpack, e.to_string()));
            block_dependents(&mut graded.results, "not run: intake.unpack failed");
            Ok(Intake::Rejected(graded))
        }
        Ok(ws) => {
            graded.notes.extend(ws.notes.iter().map(|n| n.to_string()));
            graded.results.push(CheckResult::pass(
                CheckId::IntakeUnpack,
                intake_evidence(&ws),
            ));
            Ok(Intake::Unpacked(Box::new(ws), graded))
        }
    }
}

/// Stage 2's output: what the submission holds, graded essays included.
struct Facts<'w> {
    ws: &'w assay_intake::Workspace,
    graded: Graded,
    /// How Q1 is answered.
    orchestration: Orchestration,
    opts: &'w Options,
}

/// How the submission answers Q1.
enum Orchestration {
    /// A compose file, chosen among those found, loaded and checked.
    Compose(Box<ComposeChoice>),
    Kubernetes,
    /// No orchestration file; the Q1 essay described.
    Essay(String),
    Missing,
}

/// Stage 2, facts: the answer documents read and graded, the compose file chosen, loaded and
/// checked (the `compose.*` checks need nothing but the loaded project).
fn facts<'w>(
    ws: &'w assay_intake::Workspace,
    opts: &'w Options,
    mut graded: Graded,
) -> Result<Facts<'w>, Error> {
    let d = &ws.discovery;
    let rubric = &opts.rubric;
    graded.files = FilesSummary {
        compose_file: d.compose_file.as_ref().map(|p| slash(p)),
        other_compose_files: d.other_compose_files.iter().map(|p| slash(p)).collect(),
        kubernetes_manifests: d.k8s_manifests.iter().map(|p| slash(p)).collect(),
        answer_documents: d.answer_docs.iter().map(|p| slash(p)).collect(),
        dockerfiles: d.dockerfiles.iter().map(|p| slash(p)).collect(),
    };
    for dir in &d.webapp_dirs {
        let changes = crate::kit::webapp_changes(&ws.root.path().join(dir));
        if !changes.is_empty() {
            graded.notes.push(format!(
                "the webapp source in {}/ differs from the handout ({}); the evaluation runs the pristine webapp",
                slash(dir),
                changes.join(", ")
            ));
        }
    }

    // Essays: Q1 is answered by an orchestration file, or else by an essay.
    let has_orchestration_file = d.compose_file.is_some() || !d.k8s_manifests.is_empty();
    let essay_opts = assay_essays::GradeOptions {
        top_readme: d.readme.clone(),
        // A copy of the handout README the kit ships holds the questions, not answers.
        handout_markdown: crate::kit::handout_readme(rubric).into_iter().collect(),
        extractor: opts.extractor.clone(),
    };
    let essays_started = Instant::now();
    opts.phase("static checks: answers and the compose file");
    let essays = assay_essays::grade_with(
        &ws.root,
        &d.answer_docs,
        rubric,
        has_orchestration_file,
        &essay_opts,
    );
    if let Some(fault) = essays.fault {
        return Err(Error::could_not_grade(format!(
            "cannot read answer documents: {fault}"
        )));
    }
    let q1_essay = q1_essay(&essays.answers, rubric);
    graded.answers = essays.answers.iter().map(answer_summary).collect();
    for diag in essays
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
    {
        graded.notes.push(format!("essays: {diag}"));
    }
    graded.timings.stamp(&essays.checks, essays_started);
    graded.results.extend(essays.checks);
    graded.essay_answers = essays.answers;
    graded.documents_searched = essays.documents;

    let orchestration = if let Some(discovered) = &d.compose_file {
        let ctx = assay_checks::CheckContext {
            root: &ws.root,
            rubric,
            webapp_dirs: &d.webapp_dirs,
        };
        let load = assay_compose::LoadOptions {
            env_overrides: opts.env_overrides.clone(),
            ..Default::default()
        };
        let compose_started = Instant::now();
        let choice = choose_compose_file(&ws.root, discovered, &d.other_compose_files, &load, &ctx);
        graded.timings.stamp(&choice.facts.checks, compose_started);
        graded
            .timings
            .stamp_ids(&[CheckId::ComposeFound], compose_started);
        Orchestration::Compose(Box::new(choice))
    } else if !d.k8s_manifests.is_empty() {
        Orchestration::Kubernetes
    } else if let Some(essay) = q1_essay {
        Orchestration::Essay(essay)
    } else {
        Orchestration::Missing
    };
    Ok(Facts {
        ws,
        graded,
        orchestration,
        opts,
    })
}

/// Stage 3's output: every static result, the `requires` column applied; and the project
/// the runtime phase runs when nothing it requires failed.
struct Checked<'w> {
    ws: &'w assay_intake::Workspace,
    graded: Graded,
    compose: Option<(assay_compose::Loaded, assay_checks::ComposeFacts)>,
    opts: &'w Options,
}

/// Stage 3, checks: `compose.found` decided from the facts, the static results gathered, and
/// every check whose prerequisite failed blocked behind it.
fn checks(facts: Facts<'_>) -> Checked<'_> {
    let Facts {
        ws,
        mut graded,
        orchestration,
        opts,
    } = facts;
    let results = &mut graded.results;
    let mut compose = None;
    match orchestration {
        Orchestration::Compose(choice) => {
            let choice = *choice;
            let file = &choice.file;
            let mut ev = format!("{} found", slash(file));
            if let Some(why) = &choice.why {
                ev.push_str(&format!(" ({why})"));
            }
            let overrides: Vec<String> = choice
                .loaded
                .project
                .iter()
                .flat_map(|p| p.files.iter())
                .filter(|f| {
                    f.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.contains(".override."))
                })
                .map(|f| slash(f))
                .collect();
            if !overrides.is_empty() {
                ev.push_str(&format!(
                    "; merged with {} as docker compose does (its values are cited at its own lines)",
                    overrides.join(", ")
                ));
            }
            if !choice.others.is_empty() {
                ev.push_str(&format!(
                    "; also present, not used: {}",
                    choice.others.join(", ")
                ));
            }
            results
                .push(CheckResult::pass(CheckId::ComposeFound, ev).at(Location::file(slash(file))));
            let mut facts = choice.facts;
            let project_dir = ws.root.path().join(file.parent().unwrap_or(Path::new("")));
            scrub_work_dir(&mut facts.checks, ws.root.path(), &project_dir);
            graded.notes.extend(facts.notes.iter().cloned());
            results.extend(facts.checks.iter().cloned());
            // What the runtime needs that failed blocks it: nothing of the candidate's is run.
            let gates: Vec<&str> = CheckId::RuntimeUp
                .requires()
                .iter()
                .filter(|id| failed(results, **id))
                .map(|id| id.as_str())
                .collect();
            if !gates.is_empty() {
                let reason = format!(
                    "not run: {} failed; nothing of the candidate's is run",
                    gates.join(", ")
                );
                block_dependents(results, &reason);
            }
            compose = Some((choice.loaded, facts));
        }
        Orchestration::Kubernetes => {
            let ev = format!(
                "Kubernetes manifests: {}",
                graded.files.kubernetes_manifests.join(", ")
            );
            results.push(CheckResult::pass(CheckId::ComposeFound, ev));
            let reason = "Kubernetes manifests are graded by a reviewer";
            skip_family(results, "compose", SkipKind::NotApplicable, reason);
            skip_family(results, "runtime", SkipKind::NotApplicable, reason);
            graded.notes.push(
                "Q1 is answered with Kubernetes manifests: a reviewer grades them (listed under files)"
                    .into(),
            );
        }
        Orchestration::Essay(essay) => {
            let ev = format!("no orchestration file; Q1 is answered as an essay: {essay}");
            results.push(CheckResult::pass(CheckId::ComposeFound, ev));
            let reason = "Q1 is answered as an essay: no orchestration file to check";
            skip_family(results, "compose", SkipKind::NotApplicable, reason);
            skip_family(results, "runtime", SkipKind::NotApplicable, reason);
        }
        Orchestration::Missing => {
            results.push(CheckResult::fail(
                CheckId::ComposeFound,
                "no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in the root or one folder down, no Kubernetes manifests, and no Q1 essay",
            ));
            block_dependents(results, "not run: no orchestration file");
        }
    }
    Checked {
        ws,
        graded,
        compose,
        opts,
    }
}

/// Stage 4, runtime: the stack run in the sandbox when nothing `runtime.up` requires failed and the
/// sandbox is there; the runtime checks that did not run say why. The source excerpts of
/// located failures are cut here, while the work dir exists.
fn runtime(checked: Checked<'_>) -> Result<Graded, Error> {
    let Checked {
        ws,
        mut graded,
        compose,
        opts,
    } = checked;
    let rubric = &opts.rubric;
    if let Some((loaded, facts)) = &compose {
        let blocked = CheckId::RuntimeUp
            .requires()
            .iter()
            .any(|id| failed(&graded.results, *id));
        if let (false, Some(ctx), Some(project)) = (blocked, &opts.runtime, &loaded.project) {
            let runtime_started = Instant::now();
            opts.phase(&format!(
                "runtime: up, health, round-trip, scenarios, teardown (deadline {} s)",
                opts.timeout_secs
            ));
            let outcome = crate::runtime::run(
                ctx,
                &ws.root,
                project,
                facts,
                rubric,
                crate::runtime::RunOptions {
                    timeout_secs: opts.timeout_secs,
                    build_webapp: opts.build_webapp,
                    show_phases: opts.show_phases,
                    say: opts.say.clone(),
                },
            )?;
            graded.timings.stamp(&outcome.results, runtime_started);
            graded.results.extend(outcome.results);
            graded.notes.extend(outcome.notes);
            graded.provenance.docker = outcome.docker;
            graded.provenance.images = outcome.images;
        }
        if let Some(project) = &loaded.project {
            let masker = submission_masker(&ws.root, project, facts);
            graded.excerpts = report::excerpt::for_failures(&graded.results, &ws.root, &masker);
        }
    }
    // Runtime checks that did not run above.
    let reason = match &opts.runtime_unavailable {
        _ if opts.static_only => STATIC_NOT_RUN.to_string(),
        Some(why) => format!("runtime checks not run: {why}"),
        None => "runtime checks not run".to_string(),
    };
    skip_family(&mut graded.results, "runtime", SkipKind::NotRun, &reason);
    Ok(graded)
}

/// Stage 5's output: the scored checks and what the report carries besides.
struct Judged {
    scored: verdict::Scored,
    graded: Graded,
    name: String,
}

/// Stage 5, verdict: rubric weights and required checks give the score and PASS/FAIL; the
/// reviewer's overrides naming this submission recompute it.
fn verdict(mut graded: Graded, submission: &Path, opts: &Options) -> Result<Judged, Error> {
    let rubric = &opts.rubric;
    if opts.static_only {
        // Left out of the verdict whatever else failed: a static evaluation says nothing about
        // the runtime, so a failed gate must not count them as zero.
        leave_out_runtime(&mut graded.results);
    }
    let mut scored = verdict::score(std::mem::take(&mut graded.results), rubric);
    graded.timings.apply(&mut scored.checks);
    for c in &mut scored.checks {
        c.source = graded.excerpts.remove(&c.result.id);
    }
    let name = display_name(submission);
    verdict::apply_overrides(&mut scored, &opts.overrides.for_submission(&name)).map_err(
        |problems| {
            Error::usage(format!(
                "{name}: the overrides do not fit this grading:\n{}",
                problems.join("\n")
            ))
        },
    )?;
    let not_run = scored
        .checks
        .iter()
        .filter(|c| c.result.skip == Some(SkipKind::NotRun))
        .count();
    if not_run > 0 {
        graded.notes.push(format!(
            "{not_run} of {} checks were not run (listed as skipped) and are left out of the verdict",
            scored.checks.len()
        ));
    }
    Ok(Judged {
        scored,
        graded,
        name,
    })
}

/// Stage 6, report: what every renderer shows.
fn report(judged: Judged, submission: &Path, opts: &Options, started: Instant) -> Report {
    let Judged {
        scored,
        graded,
        name,
    } = judged;
    Report {
        schema_version: report::SCHEMA_VERSION,
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        submission: name,
        verdict: scored.verdict,
        score: scored.score,
        max_score: 100.0,
        threshold: scored.threshold,
        verdict_before_overrides: scored.before_overrides.map(|(v, _)| v),
        score_before_overrides: scored.before_overrides.map(|(_, s)| s),
        mode: if opts.static_only {
            "static".into()
        } else {
            "full".into()
        },
        checks: scored.checks,
        answers: graded.answers,
        files: graded.files,
        notes: graded.notes,
        similar_answers: Vec::new(),
        documents_searched: graded.documents_searched,
        essay_answers: graded.essay_answers,
        duration_ms: started.elapsed().as_millis() as u64,
        provenance: graded.provenance,
        source_dir: relative_dir(submission),
    }
}

/// Whether `id` failed.
fn failed(results: &[CheckResult], id: CheckId) -> bool {
    results
        .iter()
        .any(|r| r.id == id && r.status == Status::Fail)
}

/// The `requires` column ([`CheckId::requires`]) applied, in the one place it is: every check
/// not yet decided whose prerequisite (directly or not) failed or was blocked is `Blocked`
/// with `reason`.
fn block_dependents(results: &mut Vec<CheckResult>, reason: &str) {
    let stopped: Vec<CheckId> = results
        .iter()
        .filter(|r| r.status == Status::Fail || r.skip == Some(SkipKind::Blocked))
        .map(|r| r.id)
        .collect();
    for id in CheckId::ALL {
        let decided = results.iter().any(|r| r.id == *id);
        if !decided && stopped.iter().any(|s| id.needs(*s)) {
            results.push(CheckResult::blocked(*id, reason));
        }
    }
}

/// The submission as named on the command line when it is a directory below the current one
/// (`""` for `.`; a path climbing out with `..` excepted): where CI annotations find its files.
fn relative_dir(p: &Path) -> Option<String> {
    let plain = p.is_relative()
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    (plain && p.is_dir()).then(|| {
        slash(p)
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect::<Vec<_>>()
            .join("/")
    })
}

/// How long the step that decided each check took.
#[derive(Debug, Default)]
struct Timings(BTreeMap<CheckId, u64>);

impl Timings {
    /// Every id gets the time since `started`.
    fn stamp_ids(&mut self, ids: &[CheckId], started: Instant) {
        let ms = started.elapsed().as_millis() as u64;
        for id in ids {
            self.0.insert(*id, ms);
        }
    }

    /// Every check in `results` that ran (not skipped) gets the time since `started`.
    fn stamp(&mut self, results: &[CheckResult], started: Instant) {
        let ran: Vec<CheckId> = results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .map(|r| r.id)
            .collect();
        self.stamp_ids(&ran, started);
    }

    fn apply(&self, checks: &mut [verdict::ScoredCheck]) {
        for c in checks {
            if c.result.status != Status::Skipped {
                c.duration_ms = self.0.get(&c.result.id).copied().unwrap_or(0);
            }
        }
    }
}

/// The submission's file or folder name; `.` or `..` by the name of the folder they are.
pub fn display_name(p: &Path) -> String {
    let name = |q: &Path| q.file_name().map(|n| n.to_string_lossy().into_owned());
    name(p)
        .or_else(|| p.canonicalize().ok().and_then(|c| name(&c)))
        .unwrap_or_else(|| p.display().to_string())
}

/// With `--static`: every runtime check is `NotRun` (left out of the score), whatever blocked it.
fn leave_out_runtime(results: &mut [CheckResult]) {
    for r in results.iter_mut().filter(|r| r.id.family() == "runtime") {
        if r.skip != Some(SkipKind::NotApplicable) {
            *r = CheckResult::skipped(r.id, SkipKind::NotRun, STATIC_NOT_RUN);
        }
    }
}

const STATIC_NOT_RUN: &str = "static mode: runtime checks not run";

/// What is masked in everything shown of this submission: the runtime's masker (the db
/// password and every secret-looking value of the project), also for a static evaluation.
fn submission_masker(
    root: &assay_core::SubmissionRoot,
    project: &assay_compose::Project,
    facts: &assay_checks::ComposeFacts,
) -> assay_core::display::Masker {
    let creds = facts.db_credentials.as_ref();
    let credentials = assay_runner::DbCredentials {
        user: creds.map(|c| c.user.clone()).unwrap_or_default(),
        password: creds.and_then(|c| c.password_source.password(root)),
        database: creds.map(|c| c.database.clone()).unwrap_or_default(),
    };
    assay_runner::RunInputs::new(
        facts.db_service.as_deref().unwrap_or_default(),
        facts.webapp_service.as_deref().unwrap_or_default(),
        credentials,
        "",
        "",
    )
    .masker(project)
}

/// The compose file graded, loaded and checked, and why it was chosen.
struct ComposeChoice {
    file: PathBuf,
    loaded: assay_compose::Loaded,
    facts: assay_checks::ComposeFacts,
    /// Why this file and not the one `docker compose` order would take, when content decided.
    why: Option<String>,
    /// The other compose files, each with what it lacks when content decided.
    others: Vec<String>,
}

/// Which compose file to grade. One in the root is what `docker compose up` uses there, so it
/// wins. With none in the root and several one folder down, the folder a candidate meant is
/// the one whose file holds the Postgres service and the webapp: every candidate is loaded and
/// checked, the most complete wins (ties keep discovery's order).
fn choose_compose_file(
    root: &assay_core::SubmissionRoot,
    discovered: &Path,
    others: &[PathBuf],
    load: &assay_compose::LoadOptions,
    ctx: &assay_checks::CheckContext,
) -> ComposeChoice {
    let graded = |file: &Path| {
        let loaded = assay_compose::load(root, file, load);
        let facts = assay_checks::compose_checks(&loaded, ctx);
        (loaded, facts)
    };
    let one_down = |f: &Path| {
        f.components().count() == 2
            && !f
                .parent()
                .and_then(|p| p.to_str())
                .is_some_and(|p| p.starts_with('.'))
    };
    let rivals: Vec<&PathBuf> = others.iter().filter(|f| one_down(f)).collect();
    let (loaded, facts) = graded(discovered);
    if !one_down(discovered) || rivals.is_empty() {
        return ComposeChoice {
            file: discovered.to_path_buf(),
            loaded,
            facts,
            why: None,
            others: others.iter().map(|f| slash(f)).collect(),
        };
    }
    let mut all = vec![(discovered.to_path_buf(), loaded, facts)];
    for f in rivals {
        let (l, c) = graded(f);
        all.push((f.clone(), l, c));
    }
    let best = (0..all.len())
        .max_by_key(|&i| (content_score(&all[i].2), std::cmp::Reverse(i)))
        .unwrap_or(0);
    let (file, loaded, facts) = all.remove(best);
    let mut described: Vec<String> = all
        .iter()
        .map(|(f, _, c)| format!("{} ({})", slash(f), content_words(c)))
        .collect();
    described.extend(others.iter().filter(|f| !one_down(f)).map(|f| slash(f)));
    let why = format!(
        "chosen by content among {} compose files one folder down: {}",
        all.len() + 1,
        content_words(&facts)
    );
    ComposeChoice {
        file,
        loaded,
        facts,
        why: Some(why),
        others: described,
    }
}

fn passed(facts: &assay_checks::ComposeFacts, id: CheckId) -> bool {
    facts
        .checks
        .iter()
        .any(|c| c.id == id && c.status == Status::Pass)
}

/// valid 1, a Postgres service 2, the handout webapp 2 (a service standing in for it 1).
fn content_score(facts: &assay_checks::ComposeFacts) -> u8 {
    u8::from(passed(facts, CheckId::ComposeValid))
        + 2 * u8::from(facts.db_service.is_some())
        + if passed(facts, CheckId::ComposeWebappService) {
            2
        } else {
            u8::from(facts.webapp_service.is_some())
        }
}

/// `it has the Postgres service and the webapp`, `no Postgres service, not valid`, ….
fn content_words(facts: &assay_checks::ComposeFacts) -> String {
    let db = facts.db_service.is_some();
    let webapp = passed(facts, CheckId::ComposeWebappService);
    let mut words = match (db, webapp) {
        (true, true) => "it has the Postgres service and the webapp".to_string(),
        (true, false) => "a Postgres service but not the webapp".to_string(),
        (false, true) => "the webapp but no Postgres service".to_string(),
        (false, false) => "neither a Postgres service nor the webapp".to_string(),
    };
    if !passed(facts, CheckId::ComposeValid) {
        words.push_str("; not valid");
    }
    words
}

/// Reports never show the grader's private work dir: the project directory reads `${PWD}`
/// (what the candidate wrote, since `${PWD}` is the only way a compose value names it), any
/// other path under the submission root reads relative to it.
fn scrub_work_dir(results: &mut [CheckResult], root: &Path, project_dir: &Path) {
    let forms = |p: &Path| {
        let mut v = vec![p.to_string_lossy().into_owned()];
        if let Ok(c) = p.canonicalize() {
            v.push(c.to_string_lossy().into_owned());
        }
        // `root.join("")` ends in a `/`: compare without it.
        for s in &mut v {
            while s.len() > 1 && s.ends_with('/') {
                s.pop();
            }
        }
        v.retain(|s| s.len() > 1);
        v
    };
    let dirs = forms(project_dir);
    let roots = forms(root);
    let scrub = |text: &mut String| {
        for d in &dirs {
            if text.contains(d.as_str()) {
                *text = text.replace(d.as_str(), "${PWD}");
            }
        }
        for r in &roots {
            if text.contains(r.as_str()) {
                *text = text.replace(&format!("{r}/"), "").replace(r.as_str(), ".");
            }
        }
    };
    for r in results {
        scrub(&mut r.evidence);
        for d in &mut r.details {
            scrub(&mut d.message);
            if let Some(h) = &mut d.hint {
                scrub(h);
            }
        }
    }
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
        credited_because: a.credited_because.clone(),
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
